// Prints sgemm throughput for the GEMMs of an MLP 784-256-10 at batch 128 (forward and both backward
// products) and a square case, on 1 and 2 threads, next to the measured FMA peak of the same run.
//   bench_gemm [isa] [seconds-per-case]      isa: avx512 | avx2 | portable (default: the dispatched one)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "cpu/kernels.h"

namespace {

using namespace nasx::cpu;

struct Shape {
  const char* name;
  bool ta, tb;
  int m, n, k;
};

// Median GFLOP/s over several timed batches of calls, each batch long enough to dwarf timer noise.
double time_gemm(const Shape& s, nasx::Team* team, double seconds) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(s.m) * s.k), b(static_cast<std::size_t>(s.k) * s.n),
      c(static_cast<std::size_t>(s.m) * s.n);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  const int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  auto call = [&] { sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n, team); };

  using Clock = std::chrono::steady_clock;
  const double flops = 2.0 * s.m * s.n * s.k;
  // Calibrate the number of calls per batch to ~1/7 of the budget.
  call();
  int calls = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt > seconds / 7 || calls > (1 << 24)) break;
    calls *= 2;
  }
  std::vector<double> rates;
  for (int batch = 0; batch < 5; ++batch) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    rates.push_back(flops * calls / dt * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && !force_gemm_isa(argv[1])) {
    std::fprintf(stderr, "bench_gemm: ISA '%s' is not available on this CPU (use avx512, avx2 or portable)\n", argv[1]);
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0.7;

  const Shape shapes[] = {
      {"MLP fwd   X·W      128x256x784", false, false, 128, 256, 784},
      {"MLP dW    Xt·dY    784x256x128", true, false, 784, 256, 128},
      {"MLP dX    dY·Wt    128x784x256", false, true, 128, 784, 256},
      {"MLP out   H·W2     128x10x256 ", false, false, 128, 10, 256},
      {"MLP out dW Ht·dY2  256x10x128 ", true, false, 256, 10, 128},
      {"MLP out dH dY2·W2t 128x256x10 ", false, true, 128, 256, 10},
      {"square             1024^3     ", false, false, 1024, 1024, 1024},
  };

  const double peak1 = measure_fma_peak_gflops(1, 0.5);
  const double peak2 = measure_fma_peak_gflops(2, 0.5);
  std::printf("sgemm micro-kernel: %s\n", gemm_isa());
  std::printf("FMA peak (register-only loop): 1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s\n", peak1, peak2);
  std::printf("%-32s %12s %8s %12s %8s %8s\n", "shape (m x n x k)", "1T GFLOP/s", "of peak", "2T GFLOP/s", "of peak",
              "speedup");
  nasx::ThreadTeam team2(2);
  for (const Shape& s : shapes) {
    const double g1 = time_gemm(s, nullptr, seconds);
    const double g2 = time_gemm(s, &team2, seconds);
    std::printf("%-32s %12.1f %7.0f%% %12.1f %7.0f%% %7.2fx\n", s.name, g1, 100.0 * g1 / peak1, g2, 100.0 * g2 / peak2,
                g2 / g1);
  }
  return 0;
}
