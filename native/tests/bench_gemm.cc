// Prints sgemm throughput for the GEMMs of an MLP 784-256-10 at batch 128 (forward and both backward
// products) and a square case, on 1 and 2 threads, next to the measured FMA peak of the same run.
//   bench_gemm [--isa avx512|avx2|portable] [--seconds S]   (defaults: the dispatched ISA, 0.7 s per case)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
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

struct Timing {
  double gflops, us_per_call;
};

// Best of several timed batches of back-to-back calls, each long enough to dwarf timer noise. Best, not
// median: on a shared machine the least disturbed batch is the one that measures the code.
Timing time_gemm(const Shape& s, nasx::Team* team, double seconds) {
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
  // Calibrate the number of calls per batch to ~1/10 of the budget.
  call();
  int calls = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt > seconds / 10 || calls > (1 << 24)) break;
    calls *= 2;
  }
  std::vector<double> per_call;
  for (int batch = 0; batch < 9; ++batch) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    per_call.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / calls);
  }
  std::sort(per_call.begin(), per_call.end());
  const double t = per_call.front();
  return {flops / t * 1e-9, t * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.7;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--isa" && i + 1 < argc) {
      if (!force_gemm_isa(argv[++i])) {
        std::fprintf(stderr, "bench_gemm: ISA '%s' is not available on this CPU (use avx512, avx2 or portable)\n",
                     argv[i]);
        return 2;
      }
    } else if (flag == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_gemm [--isa avx512|avx2|portable] [--seconds S]\n");
      return 2;
    }
  }

  const Shape shapes[] = {
      {"MLP fwd   X·W      128x256x784", false, false, 128, 256, 784},
      {"MLP dW    Xt·dY    784x256x128", true, false, 784, 256, 128},
      {"MLP dX    dY·Wt    128x784x256", false, true, 128, 784, 256},
      {"MLP out   H·W2     128x10x256 ", false, false, 128, 10, 256},
      {"MLP out dW Ht·dY2  256x10x128 ", true, false, 256, 10, 128},
      {"MLP out dH dY2·W2t 128x256x10 ", false, true, 128, 256, 10},
      {"square             1024^3     ", false, false, 1024, 1024, 1024},
  };

  // Likewise the best of a few short peak measurements.
  double peak1 = 0.0, peak2 = 0.0;
  for (int i = 0; i < 5; ++i) {
    peak1 = std::max(peak1, measure_fma_peak_gflops(1, 0.1));
    peak2 = std::max(peak2, measure_fma_peak_gflops(2, 0.1));
  }
  std::printf("sgemm micro-kernel: %s\n", gemm_isa());
  std::printf("FMA peak (register-only loop): 1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s\n", peak1, peak2);
  std::printf("%-32s %11s %8s %8s %11s %8s %8s %8s\n", "shape (m x n x k)", "1T GFLOP/s", "of peak", "us/call",
              "2T GFLOP/s", "of peak", "us/call", "speedup");
  nasx::ThreadTeam team2(2);
  for (const Shape& s : shapes) {
    const Timing t1 = time_gemm(s, nullptr, seconds);
    const Timing t2 = time_gemm(s, &team2, seconds);
    std::printf("%-32s %11.1f %7.0f%% %8.1f %11.1f %7.0f%% %8.1f %7.2fx\n", s.name, t1.gflops,
                100.0 * t1.gflops / peak1, t1.us_per_call, t2.gflops, 100.0 * t2.gflops / peak2, t2.us_per_call,
                t2.gflops / t1.gflops);
  }
  return 0;
}
