// libFuzzer: the batched trainer with hostile data, options and candidates. Data of any shape and
// values (NaN and infinities included), any options the binding could pass, a small memory budget, a
// cancel flag raised mid-way: train_candidates answers with per-candidate statuses or a CoreError.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/data_store.h"
#include "core/trainer.h"
#include "decode.h"

using namespace nasx;

namespace {

float value(std::uint8_t b) {
  switch (b) {
    case 255: return std::numeric_limits<float>::quiet_NaN();
    case 254: return std::numeric_limits<float>::infinity();
    case 253: return -std::numeric_limits<float>::infinity();
    case 252: return 3.0e38f;
    default: return (static_cast<float>(b) - 126.0f) / 32.0f;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(data, size);
  TrainData view;
  view.input = Shape{fuzz::dim(in.next(), 6), fuzz::dim(in.next(), 6), fuzz::dim(in.next(), 3)};
  view.task = in.next() & 1 ? Task::Regression : Task::Classification;
  view.output_size = fuzz::size(in.next());
  const int count = fuzz::dim(in.next(), 48);
  const int val_count = static_cast<int>(in.next()) % 16;
  TrainOptions o;
  o.epochs = fuzz::size(in.next());
  o.batch_size = fuzz::size(in.next());
  o.optimizer.kind = in.next() & 1 ? OptimizerKind::Sgd : OptimizerKind::AdamW;
  o.optimizer.lr = std::ldexp(1.0f, static_cast<int>(in.next() % 40) - 30);
  o.data_fraction = static_cast<double>(in.next()) / 200.0;
  o.resolution = fuzz::size(in.next());
  o.threads = static_cast<int>(in.next()) % 4;
  o.warmup_fraction = static_cast<float>(in.next() % 5) / 4.0f;
  o.keep_weights = in.next() & 1;
  o.max_memory = std::int64_t{1} << (16 + in.next() % 12);  // 64 KiB … 128 MiB
  const int cancel_after = in.next() % 8;                    // progress events before cancelling (0: never)
  // Keep the work per input small.
  if (o.epochs > 3 || view.output_size > 64) return 0;

  const std::int64_t features = view.input.size();
  const int outs = view.output_size > 0 ? view.output_size : 1;
  std::vector<float> x(static_cast<std::size_t>(count * features));
  for (float& v : x) v = value(in.next());
  std::vector<std::int32_t> labels(static_cast<std::size_t>(count));
  for (auto& l : labels) l = static_cast<std::int32_t>(in.next()) % (outs + 1) - (in.next() == 0 ? 1 : 0);
  std::vector<float> targets(static_cast<std::size_t>(count) * static_cast<std::size_t>(outs));
  for (float& t : targets) t = value(in.next());
  view.train = DataSplit{x.data(), labels.data(), targets.data(), count};
  if (val_count > 0) view.validation = DataSplit{x.data(), labels.data(), targets.data(), std::min(val_count, count)};

  std::vector<Candidate> candidates(1 + in.next() % 3);
  for (Candidate& c : candidates) c.nodes = fuzz::nodes(in, 12);

  try {
    check_train_inputs(view, o);
  } catch (const CoreError&) {
    return 0;
  }
  const auto store = DataStore::copy(view);
  std::atomic<bool> cancel{false};
  std::atomic<int> events{0};
  try {
    const std::vector<CandidateResult> r = train_candidates(candidates, store->data(), o, &cancel, [&](const ProgressEvent&) {
      if (cancel_after > 0 && events.fetch_add(1) + 1 >= cancel_after) cancel.store(true);
    });
    if (r.size() != candidates.size()) __builtin_trap();
    for (const CandidateResult& c : r) {
      if (c.status == CandidateStatus::Ok && c.memory_bytes > o.max_memory) __builtin_trap();
      if (c.status == CandidateStatus::Ok && view.validation.count > 0 && !std::isfinite(c.val_loss)) __builtin_trap();
    }
  } catch (const CoreError&) {
  }
  return 0;
}
