// Element-wise kernels: activations, their derivatives, bias addition. Each loop is specialised per
// activation (no branch per element) so that it vectorises, and compiled for several instruction sets.
// Large tensors are split into fixed chunks over the team (element-wise, so results do not depend on
// the team's size).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/simd.h"
#include "kernels.h"

namespace nasx::cpu {
namespace {

constexpr std::int64_t kChunk = 32768;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

template <typename F>
void chunked(std::int64_t n, Team* team, F&& body) {
  if (team == nullptr || team->size() == 1 || n <= kChunk) {
    body(0, n);
    return;
  }
  const int chunks = static_cast<int>((n + kChunk - 1) / kChunk);
  team->parallel_for(chunks, [&](int c) {
    const std::int64_t begin = static_cast<std::int64_t>(c) * kChunk;
    body(begin, std::min(n, begin + kChunk));
  });
}

NASX_VECTOR_CLONES void relu_forward(const float* x, float* y, std::int64_t n) {
  // `x < 0 ? 0 : x` rather than `x > 0 ? x : 0`: NaN passes through, so divergence stays visible.
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}
NASX_VECTOR_CLONES void relu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}
void gelu_forward(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}
void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    dx[i] += dy[i] * (0.5f * (1.0f + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v));
  }
}
void tanh_forward(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
NASX_VECTOR_CLONES void tanh_backward(const float* y, const float* dy, float* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}
void sigmoid_forward(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
NASX_VECTOR_CLONES void sigmoid_backward(const float* y, const float* dy, float* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}
NASX_VECTOR_CLONES void copy_forward(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];
}
NASX_VECTOR_CLONES void accumulate(const float* dy, float* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i];
}
NASX_VECTOR_CLONES void bias_rows(float* y, const float* bias, std::int64_t rows, int cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    for (int c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

}  // namespace

void activation_forward(Activation a, const float* x, float* y, std::int64_t n, Team* team) {
  chunked(n, team, [&](std::int64_t b, std::int64_t e) {
    switch (a) {
      case Activation::Relu: relu_forward(x + b, y + b, e - b); break;
      case Activation::Gelu: gelu_forward(x + b, y + b, e - b); break;
      case Activation::Tanh: tanh_forward(x + b, y + b, e - b); break;
      case Activation::Sigmoid: sigmoid_forward(x + b, y + b, e - b); break;
      case Activation::Identity: copy_forward(x + b, y + b, e - b); break;
    }
  });
}

void activation_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, std::int64_t n,
                         Team* team) {
  chunked(n, team, [&](std::int64_t b, std::int64_t e) {
    switch (a) {
      case Activation::Relu: relu_backward(x + b, dy + b, dx + b, e - b); break;
      case Activation::Gelu: gelu_backward(x + b, dy + b, dx + b, e - b); break;
      case Activation::Tanh: tanh_backward(y + b, dy + b, dx + b, e - b); break;
      case Activation::Sigmoid: sigmoid_backward(y + b, dy + b, dx + b, e - b); break;
      case Activation::Identity: accumulate(dy + b, dx + b, e - b); break;
    }
  });
}

void add_bias(float* y, const float* bias, std::int64_t rows, int cols, Team* team) {
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, kChunk / std::max(1, cols));
  chunked(rows, rows_per_chunk >= rows ? nullptr : team, [&](std::int64_t b, std::int64_t e) {
    bias_rows(y + b * cols, bias, e - b, cols);
  });
}

}  // namespace nasx::cpu
