#include "trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "loss.h"
#include "memory.h"
#include "network.h"
#include "parallel.h"
#include "rng.h"

namespace nasx {

const char* status_name(CandidateStatus s) {
  switch (s) {
    case CandidateStatus::Ok: return "ok";
    case CandidateStatus::Diverged: return "diverged";
    case CandidateStatus::Invalid: return "invalid";
    case CandidateStatus::OutOfMemory: return "oom";
    case CandidateStatus::Failed: return "failed";
    case CandidateStatus::Cancelled: return "cancelled";
  }
  return "failed";
}

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void bad_argument(const std::string& message) { throw CoreError("invalid_argument", message); }

void check_split(const char* name, const DataSplit& s, const TrainData& d, bool required) {
  if (s.count < 0) bad_argument(std::string(name) + ".count must be >= 0");
  if (s.count == 0) {
    if (required) bad_argument(std::string(name) + " split is empty");
    return;
  }
  if (!s.x) bad_argument(std::string(name) + ".x is missing");
  if (d.task == Task::Classification) {
    if (!s.labels) bad_argument(std::string(name) + ".y (labels) is missing");
    for (std::int64_t i = 0; i < s.count; ++i) {
      if (s.labels[i] < 0 || s.labels[i] >= d.output_size) {
        std::ostringstream os;
        os << name << ".y[" << i << "] must be a class index between 0 and " << d.output_size - 1 << " but got " << s.labels[i];
        bad_argument(os.str());
      }
    }
  } else if (!s.targets) {
    bad_argument(std::string(name) + ".y (targets) is missing");
  }
}

// 1D area-resampling weights: for each output index, the (input index, weight) pairs it averages.
std::vector<std::vector<std::pair<int, float>>> area_weights(int in, int out) {
  std::vector<std::vector<std::pair<int, float>>> w(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    for (int i = static_cast<int>(std::floor(lo)); i < static_cast<int>(std::ceil(hi)) && i < in; ++i) {
      const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (overlap > 1e-12) w[static_cast<size_t>(o)].push_back({i, static_cast<float>(overlap / scale)});
    }
  }
  return w;
}

struct Evaluation {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

// Everything a job's candidates share: the data as the engine was given it, the training subset, the
// input shape after resampling, and the memory limit.
struct JobContext {
  const TrainData& data;
  const TrainOptions& options;
  Shape input;                        // what the networks see (after resampling)
  std::unique_ptr<Resampler> resampler;  // null when the data is used at its own resolution
  std::vector<std::int32_t> subset;   // training samples used, sorted; reshuffled per epoch
  std::int64_t memory_limit = 0;
  Clock::time_point start;
  const std::atomic<bool>* cancel;
  const ProgressFn& progress;
};

// The peak bytes one candidate's training holds: the network's buffers, the optimizer's moments, GEMM
// scratch, the minibatch buffers, its epoch permutation and, when kept, the copy of its weights.
std::int64_t candidate_bytes(const Plan& plan, const NetworkLayout& layout, const OptimizerConfig& cfg, const JobContext& job,
                             const Backend& backend) {
  const TrainOptions& o = job.options;
  const TrainData& d = job.data;
  const std::int64_t bs = o.batch_size;
  constexpr std::int64_t f = sizeof(float);
  std::int64_t bytes = layout.bytes();
  bytes += Optimizer::state_floats(cfg, plan) * f;
  bytes += network_gemm_workspace_bytes(plan, o.batch_size, backend);
  bytes += bs * d.input.size() * f;                                 // gathered minibatch
  if (job.resampler) bytes += bs * job.input.size() * f;            // its resampled copy
  bytes += bs * (d.task == Task::Classification ? 4 : d.output_size * f) + bs * d.output_size * f;  // targets, d(loss)/d(output)
  bytes += static_cast<std::int64_t>(job.subset.size()) * 4;        // this epoch's order
  if (o.keep_weights) bytes += (plan.param_count + plan.state_count) * f;
  if (o.keep_state) bytes += (plan.param_count + plan.state_count + Optimizer::state_floats(cfg, plan)) * f;
  return bytes + (std::int64_t{1} << 20);                           // bookkeeping: epochs, tensor lists, thread stacks touched
}

class CandidateRun {
 public:
  CandidateRun(int index, const Candidate& candidate, const JobContext& job, CandidateResult& result)
      : index_(index), arch_(candidate.nodes), resume_(candidate.resume.get()), parent_(candidate.parent.get()), opt_cfg_(candidate.own_optimizer ? candidate.optimizer : job.options.optimizer),
        job_(job), d_(job.data), o_(job.options), r_(result) {}

  // Never throws: every failure becomes the candidate's status.
  void run(Team* team, Backend& backend) {
    r_.input = job_.input;
    run_candidate([&] { attempt(team, backend); }, [this](CandidateStatus s, const std::string& e) { fail(s, e); },
                  [this] {
                    return "ran out of memory while training (estimated " + format_bytes(r_.memory_bytes) + ", memory budget " +
                           format_bytes(job_.memory_limit) + ")";
                  });
    r_.seconds = std::chrono::duration<double>(Clock::now() - job_.start).count();
    r_.samples_per_second = r_.seconds > 0 ? static_cast<double>(r_.samples_seen) / r_.seconds : 0.0;
    backend.release_workspace();
  }

 private:
  bool cancelled() const { return job_.cancel && job_.cancel->load(std::memory_order_relaxed); }

  void fail(CandidateStatus status, const std::string& error) {
    r_.status = status;
    r_.error = error;
  }

  void attempt(Team* team, Backend& backend) {
    if (cancelled()) throw Cancelled();  // a queued candidate allocates nothing once cancelled
    Plan plan = build_plan(arch_, job_.input, d_.output_size);
    r_.params = plan.param_count;
    r_.flops = plan.flops;
    const NetworkLayout layout = layout_network(plan, o_.batch_size);
    r_.memory_bytes = candidate_bytes(plan, layout, opt_cfg_, job_, backend);
    if (r_.memory_bytes > job_.memory_limit) {
      fail(CandidateStatus::OutOfMemory,
           "needs an estimated " + format_bytes(r_.memory_bytes) + " (" + std::to_string(r_.memory_bytes) + " bytes) to train at batch size " +
               std::to_string(o_.batch_size) + ", more than the memory budget of " + format_bytes(job_.memory_limit) + " (" +
               std::to_string(job_.memory_limit) + " bytes; maxMemory)");
      return;
    }
    layout.check_indices();
    // Wait until the engine's running work leaves room for this candidate.
    if (!MemoryAccount::global().acquire(r_.memory_bytes, job_.memory_limit, job_.cancel)) throw Cancelled();
    MemoryReservation held(r_.memory_bytes);
    r_.started = std::chrono::duration<double>(Clock::now() - job_.start).count();
    Network net(std::move(plan), o_.batch_size, backend);
    train(net, team);
    if (o_.keep_weights && r_.status == CandidateStatus::Ok) {
      r_.tensors = net.plan().params;
      r_.state_tensors = net.plan().state;
      r_.weights = net.params();
      r_.state = net.state();
    }
  }

  // The network's input for `count` samples starting at `x` (resampled into rbuf_ when needed).
  const float* network_input(const float* x, std::int64_t count) {
    if (!job_.resampler) return x;
    job_.resampler->apply(x, count, rbuf_.data());
    return rbuf_.data();
  }

  Evaluation evaluate(Network& net, const DataSplit& s, Team* team) {
    Evaluation e;
    if (s.count == 0) return e;
    const int bs = net.max_batch();
    const std::int64_t in = d_.input.size();
    double loss = 0.0;
    std::int64_t correct = 0;
    for (std::int64_t start = 0; start < s.count; start += bs) {
      team->check_cancel();
      const int n = static_cast<int>(std::min<std::int64_t>(bs, s.count - start));
      // Samples are contiguous in the split: at their own resolution the network reads them in place.
      const float* out = net.forward(network_input(s.x + start * in, n), n, false, nullptr, team);
      LossResult r = d_.task == Task::Classification
                         ? softmax_cross_entropy(out, s.labels + start, n, d_.output_size, nullptr)
                         : mean_squared_error(out, s.targets + start * d_.output_size, n, d_.output_size, nullptr);
      loss += r.loss * n;
      correct += r.correct;
    }
    e.loss = loss / static_cast<double>(s.count);
    if (d_.task == Task::Classification) e.accuracy = static_cast<double>(correct) / static_cast<double>(s.count);
    return e;
  }

  // Puts a saved state back, after checking that it belongs to this network and these options.
  int restore(const TrainingState& st, Network& net, Optimizer& opt, Rng& dropout_rng, std::int64_t steps_per_epoch) {
    const Plan& plan = net.plan();
    auto bad = [](const std::string& why) { throw CoreError("invalid_argument", "cannot resume: " + why); };
    if (st.params.size() != static_cast<size_t>(plan.param_count) || st.state.size() != static_cast<size_t>(plan.state_count))
      bad("the state has " + std::to_string(st.params.size()) + " parameters and " + std::to_string(st.state.size()) +
          " statistics but the network has " + std::to_string(plan.param_count) + " and " + std::to_string(plan.state_count));
    if (st.epochs_done < 1 || st.epochs_done >= o_.epochs)
      bad("the state is after epoch " + std::to_string(st.epochs_done) + ", which must be at least 1 and below epochs (" +
          std::to_string(o_.epochs) + ")");
    if (st.steps != st.epochs_done * steps_per_epoch)
      bad("the state took " + std::to_string(st.steps) + " steps in " + std::to_string(st.epochs_done) + " epochs, but this run takes " +
          std::to_string(steps_per_epoch) + " per epoch (same batch size and data fraction are needed)");
    opt.restore(st.steps, st.m, st.v);
    net.params() = st.params;
    net.state() = st.state;
    dropout_rng.set_state(st.dropout_rng);
    return st.epochs_done;
  }

  void train(Network& net, Team* team) {
    Optimizer opt(opt_cfg_, net.plan());
    Rng dropout_rng(derive_seed(o_.seed, 0xD209));
    const std::int64_t in = d_.input.size();
    const int bs = o_.batch_size;
    const int out = d_.output_size;
    std::vector<float> xbuf(static_cast<size_t>(bs * in));
    if (job_.resampler) rbuf_.assign(static_cast<size_t>(bs * job_.input.size()), 0.0f);
    std::vector<std::int32_t> lbuf(static_cast<size_t>(bs));
    std::vector<float> tbuf(d_.task == Task::Regression ? static_cast<size_t>(bs * out) : 0);
    std::vector<float> dout(static_cast<size_t>(bs * out));
    std::vector<std::int32_t> idx;
    const std::int64_t n = static_cast<std::int64_t>(job_.subset.size());
    const std::int64_t steps_per_epoch = (n + bs - 1) / bs;
    // The schedule spans the epochs the run may reach, so that continuing it later follows the same
    // learning rates as one straight run.
    const std::int64_t total = steps_per_epoch * std::max(o_.epochs, o_.schedule_epochs);
    const std::int64_t warmup = static_cast<std::int64_t>(std::floor(o_.warmup_fraction * static_cast<double>(total)));
    const std::int64_t report_every = std::max<std::int64_t>(1, steps_per_epoch / 20);
    int first_epoch = 0;
    if (resume_) first_epoch = restore(*resume_, net, opt, dropout_rng, steps_per_epoch);
    else init_for_training(net, o_.seed, team);
    if (parent_ && !resume_) r_.inheritance = std::make_shared<InheritReport>(inherit_for_training(net, *parent_, o_.seed));
    std::int64_t global = first_epoch * steps_per_epoch;
    for (int epoch = first_epoch; epoch < o_.epochs; ++epoch) {
      // Each epoch's order comes from (seed, epoch) when the epoch starts, not all epochs up front.
      idx = job_.subset;
      Rng order_rng(derive_seed(o_.seed, 0x5EED, static_cast<std::uint64_t>(epoch)));
      for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[static_cast<size_t>(order_rng.below(i))]);
      double loss_sum = 0.0;
      std::int64_t seen = 0;
      for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++global) {
        team->check_cancel();
        const std::int64_t begin = s * bs;
        const int b = static_cast<int>(std::min<std::int64_t>(bs, n - begin));
        for (int j = 0; j < b; ++j) {
          const std::int64_t src = idx[static_cast<size_t>(begin + j)];
          std::copy_n(d_.train.x + src * in, in, xbuf.data() + j * in);
          if (d_.task == Task::Classification) lbuf[static_cast<size_t>(j)] = d_.train.labels[src];
          else std::copy_n(d_.train.targets + src * out, out, tbuf.data() + j * out);
        }
        const float* y = net.forward(network_input(xbuf.data(), b), b, true, &dropout_rng, team);
        const LossResult lr = d_.task == Task::Classification
                                  ? softmax_cross_entropy(y, lbuf.data(), b, out, dout.data())
                                  : mean_squared_error(y, tbuf.data(), b, out, dout.data());
        if (!std::isfinite(lr.loss)) {
          std::ostringstream os;
          os << "training loss became " << lr.loss << " at epoch " << epoch + 1 << ", step " << s + 1;
          r_.status = CandidateStatus::Diverged;
          r_.error = os.str();
          r_.train_loss = lr.loss;
          return;
        }
        net.backward(dout.data(), nullptr, team);
        opt.step(net.params(), net.grads(), cosine_lr(opt_cfg_.lr, global, total, warmup), team);
        loss_sum += lr.loss * b;
        seen += b;
        r_.samples_seen += b;
        if (job_.progress && (s + 1) % report_every == 0 && s + 1 < steps_per_epoch) {
          ProgressEvent ev;
          ev.kind = ProgressEvent::Kind::Step;
          ev.candidate = index_;
          ev.epoch = epoch + 1;
          ev.epochs = o_.epochs;
          ev.step = s + 1;
          ev.steps = steps_per_epoch;
          ev.train_loss = loss_sum / static_cast<double>(seen);
          ev.seconds = std::chrono::duration<double>(Clock::now() - job_.start).count();
          job_.progress(ev);
        }
      }
      const Evaluation val = evaluate(net, d_.validation, team);
      EpochRecord rec;
      rec.epoch = epoch + 1;
      rec.train_loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0.0;
      rec.val_loss = val.loss;
      rec.val_accuracy = val.accuracy;
      rec.seconds = std::chrono::duration<double>(Clock::now() - job_.start).count();
      r_.epochs.push_back(rec);
      r_.train_loss = rec.train_loss;
      r_.val_loss = val.loss;
      r_.val_accuracy = val.accuracy;
      if (d_.validation.count > 0 && !std::isfinite(val.loss)) {
        r_.status = CandidateStatus::Diverged;
        r_.error = "validation loss became non-finite at epoch " + std::to_string(epoch + 1);
        return;
      }
      if (job_.progress) {
        ProgressEvent ev;
        ev.kind = ProgressEvent::Kind::Epoch;
        ev.candidate = index_;
        ev.epoch = epoch + 1;
        ev.epochs = o_.epochs;
        ev.step = steps_per_epoch;
        ev.steps = steps_per_epoch;
        ev.train_loss = rec.train_loss;
        ev.val_loss = rec.val_loss;
        ev.val_accuracy = rec.val_accuracy;
        ev.seconds = rec.seconds;
        job_.progress(ev);
      }
    }
    if (o_.epochs == 0) {
      // epochs 0: the network as initialised (or inherited), evaluated untrained.
      const Evaluation val = evaluate(net, d_.validation, team);
      r_.val_loss = val.loss;
      r_.val_accuracy = val.accuracy;
      if (d_.validation.count > 0 && !std::isfinite(val.loss)) {
        r_.status = CandidateStatus::Diverged;
        r_.error = "validation loss is non-finite before training";
        return;
      }
    }
    const Evaluation test = evaluate(net, d_.test, team);
    r_.test_loss = test.loss;
    r_.test_accuracy = test.accuracy;
    if (o_.keep_state) {
      auto st = std::make_shared<TrainingState>();
      st->epochs_done = o_.epochs;
      st->steps = opt.steps();
      dropout_rng.get_state(st->dropout_rng);
      st->params = net.params();
      st->state = net.state();
      st->m = opt.first_moment();
      st->v = opt.second_moment();
      r_.training_state = std::move(st);
    }
  }

  int index_;
  const std::vector<NodeSpec>& arch_;
  const TrainingState* resume_;
  const ParentWeights* parent_;
  OptimizerConfig opt_cfg_;
  const JobContext& job_;
  const TrainData& d_;
  const TrainOptions& o_;
  CandidateResult& r_;
  std::vector<float> rbuf_;  // resampled minibatch
};

}  // namespace

void init_for_training(Network& net, std::uint64_t seed, const Team* team) { net.init_params(derive_seed(seed, 0xA7C1), team); }

InheritReport inherit_for_training(Network& net, const ParentWeights& parent, std::uint64_t seed) {
  return inherit_weights(parent.plan, parent.params, parent.state, net.plan(), net.params(), net.state(), derive_seed(seed, 0x1A4F));
}

void run_candidate(const std::function<void()>& attempt, const std::function<void(CandidateStatus, const std::string&)>& fail,
                   const std::function<std::string()>& oom_error) {
  try {
    attempt();
  } catch (const Cancelled&) {
    fail(CandidateStatus::Cancelled, "cancelled");
  } catch (const std::bad_alloc&) {
    fail(CandidateStatus::OutOfMemory, oom_error());
  } catch (const CoreError& e) {
    fail(e.code() == "invalid_arch" ? CandidateStatus::Invalid : CandidateStatus::Failed, e.what());
  } catch (const std::exception& e) {
    fail(CandidateStatus::Failed, e.what());
  } catch (...) {
    fail(CandidateStatus::Failed, "unknown error");
  }
}

void check_train_inputs(const TrainData& d, const TrainOptions& o) {
  if (o.epochs < 0) bad_argument("epochs must be >= 0 but got " + std::to_string(o.epochs));
  if (o.batch_size < 1) bad_argument("batchSize must be >= 1 but got " + std::to_string(o.batch_size));
  if (!(o.data_fraction > 0.0 && o.data_fraction <= 1.0)) bad_argument("dataFraction must be in (0, 1]");
  if (!(o.optimizer.lr > 0.0f) || !std::isfinite(o.optimizer.lr)) bad_argument("lr must be a positive number");
  if (o.resolution < 0) bad_argument("resolution must be >= 0");
  if (o.max_memory < 0) bad_argument("maxMemory must be >= 0");
  if (o.schedule_epochs != 0 && o.schedule_epochs < o.epochs)
    bad_argument("scheduleEpochs must be 0 or at least epochs (" + std::to_string(o.epochs) + ") but got " + std::to_string(o.schedule_epochs));
  if (d.input.h >= 1 && d.input.w >= 1 && d.input.c >= 1 && o.resolution > 0) {
    const Shape r = resampled_shape(d.input, std::min(o.resolution, 1 << 24));
    if (o.resolution > (1 << 24) || r.size() > kMaxSampleValues)
      bad_argument("resolution " + std::to_string(o.resolution) + " would make each sample " + r.str() + "; at most " +
                   std::to_string(kMaxSampleValues) + " values per sample are supported");
  }
  if (o.threads < 0) bad_argument("threads must be >= 0");
  if (d.input.h < 1 || d.input.w < 1 || d.input.c < 1) bad_argument("input shape must be positive but got " + d.input.str());
  if (d.output_size < 1) bad_argument("outputSize must be >= 1");
  if (d.task == Task::Classification && d.output_size < 2) bad_argument("classification needs at least 2 classes");
  check_split("train", d.train, d, true);
  check_split("validation", d.validation, d, false);
  check_split("test", d.test, d, false);
}

std::vector<CandidateResult> train_candidates(const std::vector<Candidate>& archs, const TrainData& data,
                                              const TrainOptions& options, const std::atomic<bool>* cancel,
                                              const ProgressFn& progress) {
  check_train_inputs(data, options);
  JobContext job{data, options, resampled_shape(data.input, options.resolution), nullptr, {}, 0, Clock::now(), cancel, progress};
  if (job.input != data.input) job.resampler = std::make_unique<Resampler>(data.input, job.input.h, job.input.w);
  job.memory_limit = options.max_memory > 0 ? options.max_memory : default_memory_budget();

  // The shared data stream: a seeded subset of the training split, reshuffled every epoch.
  job.subset.resize(static_cast<size_t>(data.train.count));
  std::iota(job.subset.begin(), job.subset.end(), 0);
  if (options.data_fraction < 1.0) {
    Rng rng(derive_seed(options.seed, 0xF4AC));
    auto& subset = job.subset;
    for (size_t i = subset.size(); i > 1; --i) std::swap(subset[i - 1], subset[static_cast<size_t>(rng.below(i))]);
    const auto keep = static_cast<size_t>(std::max<double>(1.0, std::ceil(options.data_fraction * static_cast<double>(subset.size()))));
    subset.resize(keep);
    subset.shrink_to_fit();
    std::sort(subset.begin(), subset.end());
  }

  const int k = static_cast<int>(archs.size());
  std::vector<CandidateResult> results(static_cast<size_t>(k));
  if (k == 0) return results;
  for_each_on_workers(k, options.threads, cancel, [&](int i, Team* team) {
    CandidateRun run(i, archs[static_cast<size_t>(i)], job, results[static_cast<size_t>(i)]);
    run.run(team, cpu_backend());
  });
  return results;
}

Shape resampled_shape(Shape in, int resolution) {
  if (resolution <= 0 || resolution == in.h) return in;
  const double w = std::round(static_cast<double>(in.w) * resolution / in.h);
  const int out_w = static_cast<int>(std::clamp(w, 1.0, static_cast<double>(1 << 30)));
  return Shape{resolution, out_w, in.c};
}

Resampler::Resampler(Shape in, int out_h, int out_w)
    : in_(in), out_h_(out_h), out_w_(out_w), wy_(area_weights(in.h, out_h)), wx_(area_weights(in.w, out_w)) {}

void Resampler::apply(const float* x, std::int64_t count, float* out) const {
  const int c = in_.c;
  for (std::int64_t n = 0; n < count; ++n) {
    const float* src = x + n * in_.size();
    float* dst = out + n * static_cast<std::int64_t>(out_h_) * out_w_ * c;
    for (int oy = 0; oy < out_h_; ++oy)
      for (int ox = 0; ox < out_w_; ++ox) {
        float* o = dst + (static_cast<std::int64_t>(oy) * out_w_ + ox) * c;
        std::fill_n(o, c, 0.0f);
        for (const auto& [iy, fy] : wy_[static_cast<size_t>(oy)])
          for (const auto& [ix, fx] : wx_[static_cast<size_t>(ox)]) {
            const float* s = src + (static_cast<std::int64_t>(iy) * in_.w + ix) * c;
            const float f = fy * fx;
            for (int ch = 0; ch < c; ++ch) o[ch] += f * s[ch];
          }
      }
  }
}

void resample_images(const float* x, std::int64_t count, Shape in, int out_h, int out_w, float* out) {
  Resampler(in, out_h, out_w).apply(x, count, out);
}

}  // namespace nasx
