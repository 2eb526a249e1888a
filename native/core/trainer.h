// Batched candidate evaluation: K different networks trained concurrently on one shared, shuffled
// data stream, each with its own result and status.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inherit.h"
#include "optimizer.h"
#include "plan.h"
#include "spec.h"

namespace nasx {

struct DataSplit {
  const float* x = nullptr;              // count × input.size(), NHWC per sample
  const std::int32_t* labels = nullptr;  // classification
  const float* targets = nullptr;        // regression: count × output_size
  std::int64_t count = 0;
};

struct TrainData {
  Shape input;
  Task task = Task::Classification;
  int output_size = 0;
  DataSplit train, validation, test;
};

struct TrainOptions {
  int epochs = 1;                  // 0: evaluate the initialised (or inherited) network without training
  int batch_size = 128;
  OptimizerConfig optimizer;
  float warmup_fraction = 0.05f;   // of all steps; the learning rate follows a cosine decay after it
  std::uint64_t seed = 0;
  int threads = 0;                 // 0: every hardware thread
  double data_fraction = 1.0;      // fraction of the training split used (a seeded subset)
  int resolution = 0;              // 0: native; else the input height is resampled to this (width in proportion)
  bool keep_weights = false;       // copy the trained parameters and state into the results
  bool keep_state = false;         // return each trained candidate's TrainingState (to resume it later)
  int schedule_epochs = 0;         // the learning-rate schedule's length in epochs (0: epochs); a run to be
                                   // continued later is scheduled over the epochs it may reach
  std::int64_t max_memory = 0;     // bytes the engine's running candidates may hold (process-wide); 0: default_memory_budget()
};

// Everything training needs to continue a candidate exactly where it stopped: continuing a state
// saved after epoch e to epoch E gives the same weights, bit for bit, as training E epochs straight
// (same seed, data, batch size and schedule_epochs).
struct TrainingState {
  int epochs_done = 0;
  std::int64_t steps = 0;                 // optimizer steps taken (AdamW's bias correction, the schedule's position)
  std::uint64_t dropout_rng[2] = {0, 1};  // the dropout generator
  std::vector<float> params, state;       // parameters, batch-norm running statistics
  std::vector<float> m, v;                // optimizer moments (v empty for SGD)
  std::int64_t bytes() const {
    return static_cast<std::int64_t>((params.size() + state.size() + m.size() + v.size()) * sizeof(float));
  }
};

// A trained network whose weights a candidate inherits (see inherit.h).
struct ParentWeights {
  Plan plan;
  std::vector<float> params, state;
};

// One architecture to train, optionally with its own optimizer settings (joint architecture and
// hyper-parameter search); otherwise TrainOptions::optimizer applies. With `resume`, training
// continues from that state (epochs_done + 1 … epochs) instead of starting from initialisation.
// With `parent`, it starts from the parent's weights mapped onto it (its other tensors initialised
// as usual) and a fresh optimizer state: moments zero, the learning-rate schedule from its start.
struct Candidate {
  std::vector<NodeSpec> nodes;
  bool own_optimizer = false;
  OptimizerConfig optimizer;
  std::shared_ptr<const TrainingState> resume;
  std::shared_ptr<const ParentWeights> parent;
};

enum class CandidateStatus { Ok, Diverged, Invalid, OutOfMemory, Failed, Cancelled };
const char* status_name(CandidateStatus s);

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, val_accuracy = 0, seconds = 0;
};

struct CandidateResult {
  CandidateStatus status = CandidateStatus::Ok;
  std::string error;
  std::int64_t params = 0, flops = 0;
  std::int64_t memory_bytes = 0;        // the estimated peak memory of training it (0 if never planned)
  Shape input;                          // the input shape the network was trained on (after resampling)
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0, samples_per_second = 0;
  double started = 0;                   // seconds from the job's start to this candidate's start (after admission)
  std::int64_t samples_seen = 0;
  std::vector<EpochRecord> epochs;
  std::vector<TensorInfo> tensors, state_tensors;  // when keep_weights
  std::vector<float> weights, state;
  std::shared_ptr<TrainingState> training_state;   // when keep_state and the candidate trained
  std::shared_ptr<InheritReport> inheritance;      // when it had a parent and was planned
};

struct ProgressEvent {
  enum class Kind { Step, Epoch } kind = Kind::Epoch;
  int candidate = 0;
  int epoch = 0;          // 1-based
  int epochs = 0;
  std::int64_t step = 0;  // steps done in this epoch
  std::int64_t steps = 0; // steps per epoch
  double train_loss = 0, val_loss = 0, val_accuracy = 0, seconds = 0;
};
using ProgressFn = std::function<void(const ProgressEvent&)>;

class Network;
class Team;

// The initialisation a training under `seed` starts from (the proxies score the same one).
void init_for_training(Network& net, std::uint64_t seed, const Team* team = nullptr);

// Maps `parent`'s weights onto `net` (initialised by init_for_training) as a training with that
// parent and `seed` does.
InheritReport inherit_for_training(Network& net, const ParentWeights& parent, std::uint64_t seed);

// Runs one candidate's work, turning what it throws into `fail(status, error)`: Cancelled is
// `Cancelled`, std::bad_alloc `OutOfMemory` (the error from `oom_error`), a CoreError `Invalid` when
// its code is invalid_arch and `Failed` otherwise, anything else `Failed`. Never throws.
void run_candidate(const std::function<void()>& attempt, const std::function<void(CandidateStatus, const std::string&)>& fail,
                   const std::function<std::string()>& oom_error);

// Checks options and data; throws CoreError("invalid_argument", ...) on a bad value.
void check_train_inputs(const TrainData& data, const TrainOptions& options);

// Trains every architecture. A candidate that cannot be planned is `Invalid`, one whose estimated
// memory exceeds the budget (or whose allocation fails) is `OutOfMemory`, one whose loss stops being
// finite is `Diverged`, one that throws is `Failed`; none of these affects the others. Candidates are
// admitted while the memory they are estimated to need fits the budget, and wait otherwise. When
// `cancel` becomes true, work stops within one chunk of a kernel and unfinished candidates are
// `Cancelled`. `progress` is called from worker threads. Nothing thrown escapes a thread; a system
// refusing threads is CoreError("threads", ...).
std::vector<CandidateResult> train_candidates(const std::vector<Candidate>& candidates, const TrainData& data,
                                              const TrainOptions& options, const std::atomic<bool>* cancel,
                                              const ProgressFn& progress);

// The input shape a network sees after resampling to `resolution` rows (0: unchanged).
Shape resampled_shape(Shape in, int resolution);

// Area resampling of NHWC images (box filter; exact for integer factors), with its weights computed once.
class Resampler {
 public:
  Resampler(Shape in, int out_h, int out_w);
  void apply(const float* x, std::int64_t count, float* out) const;

 private:
  Shape in_;
  int out_h_, out_w_;
  std::vector<std::vector<std::pair<int, float>>> wy_, wx_;
};

// Area resampling of NHWC images to out_h × out_w.
void resample_images(const float* x, std::int64_t count, Shape in, int out_h, int out_w, float* out);

}  // namespace nasx
