// Tests of what keeps the engine from taking its host down, without Node: the memory estimate is an
// upper bound on what training really allocates (measured by counting every heap allocation of this
// program), candidates over the budget are refused before allocating, cancellation stops parallel
// loops and queued candidates, epoch orders are not allocated up front, and sizes past the kernels'
// 32-bit indices are rejected. Run under ASan/UBSan in CI.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "check.h"
#include "specs.h"
#include "core/data_store.h"
#include "core/memory.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/plan.h"
#include "core/trainer.h"

// --- a counting heap --------------------------------------------------------------------------------
// Every operator new of this program goes through here: live bytes and their peak since the last reset.

namespace {

std::atomic<std::int64_t> g_live{0};
std::atomic<std::int64_t> g_peak{0};

constexpr std::size_t kHeader = 64;  // keeps any alignment up to 64 and stores the size

void* counted_alloc(std::size_t size, std::size_t align) {
  if (align < kHeader) align = kHeader;
  void* raw = std::aligned_alloc(align, ((size + align + align - 1) / align) * align);
  if (raw == nullptr) throw std::bad_alloc();
  auto* base = static_cast<unsigned char*>(raw);
  unsigned char* user = base + align;
  reinterpret_cast<std::size_t*>(user)[-1] = size;
  reinterpret_cast<std::size_t*>(user)[-2] = align;
  const std::int64_t now = g_live.fetch_add(static_cast<std::int64_t>(size)) + static_cast<std::int64_t>(size);
  std::int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  return user;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  auto* user = static_cast<unsigned char*>(p);
  const std::size_t size = reinterpret_cast<std::size_t*>(user)[-1];
  const std::size_t align = reinterpret_cast<std::size_t*>(user)[-2];
  g_live.fetch_sub(static_cast<std::int64_t>(size));
  std::free(user - align);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, kHeader); }
void* operator new[](std::size_t n) { return counted_alloc(n, kHeader); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, kHeader);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, kHeader);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

using namespace nasx;
using namespace nasx::testing;

namespace {


// Images h×w×c with two classes, in a store the trainer can read.
std::shared_ptr<const DataStore> images(int count, Shape shape, int classes) {
  std::vector<float> x(static_cast<size_t>(count * shape.size()));
  std::vector<std::int32_t> y(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    y[static_cast<size_t>(i)] = i % classes;
    for (std::int64_t j = 0; j < shape.size(); ++j)
      x[static_cast<size_t>(i * shape.size() + j)] = std::sin(0.37f * static_cast<float>(i * 7 + j)) + (i % classes ? 0.5f : -0.5f);
  }
  TrainData view;
  view.input = shape;
  view.output_size = classes;
  view.train = DataSplit{x.data(), y.data(), nullptr, count};
  view.validation = DataSplit{x.data(), y.data(), nullptr, count / 2};
  view.test = DataSplit{x.data(), y.data(), nullptr, count / 4};
  return DataStore::copy(view);
}

// Peak heap growth while `fn` runs, above what was live when it started.
template <typename Fn>
std::int64_t peak_growth(Fn&& fn) {
  const std::int64_t base = g_live.load();
  g_peak.store(base);
  fn();
  return g_peak.load() - base;
}

void test_estimate_is_an_upper_bound() {
  struct Case {
    const char* name;
    std::vector<NodeSpec> nodes;
    Shape input;
    int resolution;
    bool keep;
    OptimizerKind optimizer;
  };
  NodeSpec bn = node(OpKind::BatchNorm);
  NodeSpec drop = node(OpKind::Dropout);
  drop.rate = 0.25f;
  NodeSpec pool = node(OpKind::MaxPool);
  pool.kernel = 2;
  pool.stride = 2;
  NodeSpec dw = node(OpKind::DepthwiseConv2d);
  dw.kernel = 3;
  NodeSpec add = node(OpKind::Add);
  add.inputs = {3, 2};
  add.project = true;
  std::vector<Case> cases = {
      {"mlp", {dense(256), bn, act(ActivationKind::Relu), drop, dense(128), act(ActivationKind::Gelu), dense(3)}, Shape{1, 1, 48}, 0, false,
       OptimizerKind::AdamW},
      {"cnn",
       {conv(8, 3, 1), act(ActivationKind::Relu), pool, conv(16, 3, 2), add, dw, bn, node(OpKind::GlobalAvgPool), dense(3)},
       Shape{12, 12, 2},
       0,
       true,
       OptimizerKind::Sgd},
      {"cnn resampled", {conv(8, 5, 1), pool, conv(8, 1, 1), node(OpKind::Flatten), dense(3)}, Shape{12, 12, 1}, 6, true, OptimizerKind::AdamW},
  };
  for (const Case& c : cases) {
    auto store = images(300, c.input, 3);
    TrainOptions o;
    o.epochs = 2;
    o.batch_size = 40;
    o.threads = 1;
    o.resolution = c.resolution;
    o.keep_weights = c.keep;
    o.optimizer.kind = c.optimizer;
    Candidate cand;
    cand.nodes = c.nodes;
    std::vector<CandidateResult> r;
    const std::int64_t grew = peak_growth([&] { r = train_candidates({cand}, store->data(), o, nullptr, nullptr); });
    CHECK_MSG(r[0].status == CandidateStatus::Ok, std::string(c.name) + ": " + r[0].error);
    // The job's own bookkeeping (the training subset, the results) comes on top of the candidate's estimate.
    const std::int64_t job = 300 * 4 + (64 << 10);
    CHECK_MSG(grew <= r[0].memory_bytes + job, std::string(c.name) + ": allocated " + std::to_string(grew) + " bytes, estimated " +
                                                  std::to_string(r[0].memory_bytes));
    CHECK_MSG(grew * 4 >= r[0].memory_bytes - (1 << 20), std::string(c.name) + ": the estimate " + std::to_string(r[0].memory_bytes) +
                                                             " is far above the " + std::to_string(grew) + " bytes allocated");
    std::printf("%s: allocated %lld bytes at the peak, estimated %lld (%.2f)\n", c.name, static_cast<long long>(grew),
                static_cast<long long>(r[0].memory_bytes), static_cast<double>(grew) / static_cast<double>(r[0].memory_bytes));
  }
}

void test_budget_refuses_before_allocating() {
  auto store = images(64, Shape{1, 1, 16}, 2);
  TrainOptions o;
  o.batch_size = 4096;
  o.max_memory = std::int64_t{8} << 20;
  Candidate small, big;
  small.nodes = {dense(8), dense(2)};
  big.nodes = {dense(4096), act(ActivationKind::Relu), dense(2)};
  std::vector<CandidateResult> r;
  const std::int64_t grew = peak_growth([&] { r = train_candidates({big, small}, store->data(), o, nullptr, nullptr); });
  CHECK(r[0].status == CandidateStatus::OutOfMemory);
  CHECK_MSG(r[0].error.rfind("needs an estimated ", 0) == 0 && r[0].error.find("more than the memory budget of 8.0 MiB (8388608 bytes; maxMemory)") != std::string::npos,
            r[0].error);
  CHECK(r[0].memory_bytes > o.max_memory);
  CHECK(r[1].status == CandidateStatus::Ok);
  CHECK_MSG(grew < o.max_memory, "allocated " + std::to_string(grew));
  CHECK(MemoryAccount::global().held() == 0);
}

void test_cancel() {
  // A raised flag skips every chunk of a parallel loop and throws Cancelled, for either kind of team.
  std::atomic<bool> flag{true};
  for (int size : {1, 3}) {
    std::unique_ptr<Team> team = make_team(size);
    team->set_cancel(&flag);
    std::atomic<int> ran{0};
    bool cancelled = false;
    try {
      team->parallel_for(64, [&](int) { ran.fetch_add(1); });
    } catch (const Cancelled&) {
      cancelled = true;
    }
    CHECK(cancelled && ran.load() == 0);
  }
  // Queued candidates see the flag before they allocate anything.
  auto store = images(200, Shape{1, 1, 8}, 2);
  TrainOptions o;
  Candidate c;
  c.nodes = {dense(64), dense(2)};
  std::vector<CandidateResult> r;
  const std::int64_t grew = peak_growth([&] { r = train_candidates({c, c, c}, store->data(), o, &flag, nullptr); });
  for (const CandidateResult& x : r) CHECK(x.status == CandidateStatus::Cancelled && x.memory_bytes == 0);
  CHECK_MSG(grew < (1 << 20), "allocated " + std::to_string(grew));

  // A huge number of epochs allocates nothing per epoch up front; cancelled from the progress callback.
  std::atomic<bool> stop{false};
  o.epochs = 100000;
  o.batch_size = 50;
  o.threads = 1;
  const std::int64_t huge = peak_growth([&] {
    r = train_candidates({c}, store->data(), o, &stop, [&](const ProgressEvent& e) {
      if (e.kind == ProgressEvent::Kind::Epoch && e.epoch == 3) stop.store(true);
    });
  });
  CHECK(r[0].status == CandidateStatus::Cancelled);
  CHECK(r[0].epochs.size() == 3);
  CHECK_MSG(huge < r[0].memory_bytes + (1 << 20), "allocated " + std::to_string(huge));
}

void test_index_limits() {
  // A batch whose tensor passes 2^31 - 1 values is refused at layout, naming the node.
  Plan plan = build_plan({conv(4096, 3, 1), node(OpKind::GlobalAvgPool), dense(2)}, Shape{8, 8, 1}, 2);
  std::string error;
  try {
    layout_network(plan, 65536).check_indices();
  } catch (const CoreError& e) {
    error = e.what();
  }
  CHECK_MSG(error == "nodes[0] (conv2d): its output holds 17179869184 values at a batch of 65536; at most 2147483647 are supported "
                     "(use a smaller batch size or layer)",
            error);
  // An input shape whose per-sample size does not fit is refused by the planner.
  error.clear();
  try {
    build_plan({node(OpKind::Flatten), dense(2)}, Shape{2048, 2048, 512}, 2);
  } catch (const CoreError& e) {
    error = e.what();
  }
  CHECK_MSG(error == "the input shape [2048,2048,512] has 2147483648 values per sample; at most 67108864 are supported", error);
}

void test_data_store_owns_its_copy() {
  std::vector<float> x = {1, 2, 3, 4};
  std::vector<std::int32_t> y = {0, 1};
  TrainData view;
  view.input = Shape{1, 1, 2};
  view.output_size = 2;
  view.train = DataSplit{x.data(), y.data(), nullptr, 2};
  auto store = DataStore::copy(view);
  x.assign(4, -1.0f);
  y.assign(2, 7);
  CHECK(store->data().train.x[3] == 4.0f && store->data().train.labels[1] == 1);
  CHECK(store->bytes() == 2 * (2 * 4 + 4));
}

}  // namespace

int main() {
  test_estimate_is_an_upper_bound();
  test_budget_refuses_before_allocating();
  test_cancel();
  test_index_limits();
  test_data_store_owns_its_copy();
  return nasx::testing::summary("boundary");
}
