// Prints the time of one forward and one backward pass of each activation over 128x256 floats (an MLP layer
// at batch 128) on one thread: the kernels of cpu/elementwise.cc next to plain loops over scalar libm
// (std::erf, std::exp, std::tanh) measured in the same run, as ratios, and each against relu's kernel.
//   bench_activations [--seconds S]   (default 0.5 s per case)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cpu/kernels.h"

namespace {

using namespace nasx::cpu;

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// The peers: one plain loop per pass, libm per element.
void plain_forward(Activation a, const float* x, float* y, std::int64_t n) {
  switch (a) {
    case Activation::Relu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case Activation::Gelu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
      break;
    case Activation::Tanh:
      for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case Activation::Sigmoid:
      for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case Activation::Identity:
      for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];
      break;
  }
}

void plain_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, std::int64_t n) {
  switch (a) {
    case Activation::Relu:
      for (std::int64_t i = 0; i < n; ++i) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case Activation::Gelu:
      for (std::int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        dx[i] += dy[i] * (0.5f * (1.0f + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v));
      }
      break;
    case Activation::Tanh:
      for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
      break;
    case Activation::Sigmoid:
      for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
      break;
    case Activation::Identity:
      for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i];
      break;
  }
}

// Microseconds per call of fn: the best of 9 timed batches of back-to-back calls, each batch ~1/10 of the
// budget (best, not median: on a shared machine the least disturbed batch is the one that measures the code).
double time_us(const std::function<void()>& fn, double seconds) {
  using Clock = std::chrono::steady_clock;
  fn();
  int calls = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) fn();
    if (std::chrono::duration<double>(Clock::now() - t0).count() > seconds / 10 || calls > (1 << 24)) break;
    calls *= 2;
  }
  double best = 1e300;
  for (int batch = 0; batch < 9; ++batch) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / calls);
  }
  return best * 1e6;
}

// The clone that NASX_VECTOR_CLONES dispatches to on this CPU.
const char* vector_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__SANITIZE_ADDRESS__)
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "baseline x86-64";
#else
  return "baseline";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_activations [--seconds S]\n");
      return 2;
    }
  }

  const std::int64_t n = 128 * 256;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  std::vector<float> x(n), y(n), dy(n), dx(n, 0.0f);
  for (float& v : x) v = dist(rng);
  for (float& v : dy) v = dist(rng) * 0.25f;

  struct Case {
    const char* name;
    Activation activation;
  };
  const Case cases[] = {{"relu", Activation::Relu},
                        {"gelu", Activation::Gelu},
                        {"tanh", Activation::Tanh},
                        {"sigmoid", Activation::Sigmoid}};
  std::printf("activation forward + backward, 128x256 floats, 1 thread; kernels dispatched to %s\n", vector_isa());
  std::printf("%-8s %16s %12s %14s %14s %14s\n", "", "plain libm us", "kernel us", "plain/kernel", "plain/relu",
              "kernel/relu");
  double relu_kernel = 0.0;
  for (const Case& c : cases) {
    const Activation a = c.activation;
    const double plain = time_us(
        [&] {
          plain_forward(a, x.data(), y.data(), n);
          plain_backward(a, x.data(), y.data(), dy.data(), dx.data(), n);
        },
        seconds);
    const double kernel = time_us(
        [&] {
          activation_forward(a, x.data(), y.data(), n);
          activation_backward(a, x.data(), y.data(), dy.data(), dx.data(), n);
        },
        seconds);
    if (a == Activation::Relu) relu_kernel = kernel;
    std::printf("%-8s %16.1f %12.1f %13.1fx %13.1fx %13.1fx\n", c.name, plain, kernel, plain / kernel,
                plain / relu_kernel, kernel / relu_kernel);
  }
  return 0;
}
