// Measured FMA peak: the yardstick the GEMM benchmark reports its efficiency against. It uses the
// widest vector unit the CPU has (not the GEMM's forced choice), so a ratio always reads as "share of
// what this machine can do".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gemm_kernels.h"
#include "kernels.h"

#if NASX_GEMM_X86
#include <immintrin.h>
#endif

namespace nasx::cpu {

namespace {

// acc = acc * kMul + kAdd converges to 1: no overflow, no denormals, and the compiler cannot fold the
// chain because floating-point FMAs do not reassociate.
constexpr float kMul = 0.999999f;
constexpr float kAdd = 1e-6f;
// Independent accumulators: more than FMA latency × FMA pipes on current x86 cores (4-5 cycles × 2).
constexpr int kChains = 12;

using FmaLoop = double (*)(long iterations, float* sink);  // returns flops done

#if NASX_GEMM_X86
__attribute__((target("avx512f,avx2,fma"))) double fma_loop_avx512(long iterations, float* sink) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 mul = _mm512_set1_ps(kMul), add = _mm512_set1_ps(kAdd);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  }
  __m512 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm512_add_ps(total, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return 2.0 * 16 * kChains * static_cast<double>(iterations);
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iterations, float* sink) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(kMul), add = _mm256_set1_ps(kAdd);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  __m256 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm256_add_ps(total, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return 2.0 * 8 * kChains * static_cast<double>(iterations);
}
#endif

// Multiply-add in plain C++ (two flops per lane whether or not the compiler fuses them).
double fma_loop_portable(long iterations, float* sink) {
  constexpr int kLanes = 4;
  float acc[kChains][kLanes];
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < kLanes; ++l) acc[i][l] = static_cast<float>(i + l);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      for (int l = 0; l < kLanes; ++l) acc[i][l] = acc[i][l] * kMul + kAdd;
  float total = 0.0f;
  for (auto& chain : acc)
    for (float v : chain) total += v;
  *sink += total;
  return 2.0 * kLanes * kChains * static_cast<double>(iterations);
}

FmaLoop best_fma_loop() {
#if NASX_GEMM_X86
  if (detail::cpu_supports("avx512")) return &fma_loop_avx512;
  if (detail::cpu_supports("avx2")) return &fma_loop_avx2;
#endif
  return &fma_loop_portable;
}

}  // namespace

double measure_fma_peak_gflops(int threads, double seconds, const std::atomic<bool>* cancel) {
  threads = std::max(1, threads);
  seconds = std::max(1e-3, seconds);
  const FmaLoop loop = best_fma_loop();
  using Clock = std::chrono::steady_clock;

  // The run is cut into short slices of wall time. Every thread adds its flops to the slice in which
  // each batch of FMAs ends; a slice's rate is the sum over threads divided by its length, and the
  // result is the best slice. On a machine shared with other work, the best slice is the one the OS
  // left alone; and if it runs the threads one after another instead of side by side, no slice sees
  // more than one thread's worth. Batches are ~20 µs, so misattribution at slice edges is negligible.
  const double slice_s = std::min(0.02, seconds / 4);
  const int slices = std::max(1, static_cast<int>(seconds / slice_s));
  const auto to_clock = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  std::vector<std::vector<double>> flops(static_cast<std::size_t>(threads),
                                         std::vector<double>(static_cast<std::size_t>(slices), 0.0));
  std::vector<float> sinks(static_cast<std::size_t>(threads), 0.0f);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, abandon{false};
  const auto stop = [&] { return abandon.load(std::memory_order_relaxed) || (cancel && cancel->load(std::memory_order_relaxed)); };
  Clock::time_point timed_from;

  auto worker = [&](int index) {
    const auto slot = static_cast<std::size_t>(index);
    float* sink = &sinks[slot];
    loop(1000, sink);
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    // Untimed warm-up, so that the cores reach their vector clock.
    while (Clock::now() < timed_from && !stop()) loop(1000, sink);
    while (!stop()) {
      const double done = loop(5000, sink);
      const double at = std::chrono::duration<double>(Clock::now() - timed_from).count();
      const int slice = static_cast<int>(at / slice_s);
      if (slice >= slices) break;
      flops[slot][static_cast<std::size_t>(slice)] += done;
    }
  };

  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<std::size_t>(threads - 1));
  try {
    for (int i = 1; i < threads; ++i) helpers.push_back(start_thread([&worker, i] { worker(i); }, i, threads));
  } catch (...) {
    abandon.store(true);
    go.store(true, std::memory_order_release);
    for (auto& t : helpers) t.join();
    throw;
  }
  while (ready.load() < threads - 1) std::this_thread::yield();
  timed_from = Clock::now() + to_clock(std::min(0.05, seconds * 0.25));
  go.store(true, std::memory_order_release);
  worker(0);
  for (auto& t : helpers) t.join();

  double best = 0.0;
  for (int s = 0; s < slices; ++s) {
    double total = 0.0;
    for (const auto& per_thread : flops) total += per_thread[static_cast<std::size_t>(s)];
    best = std::max(best, total / slice_s);
  }
  return best * 1e-9;
}

}  // namespace nasx::cpu
