// Element-wise kernels: activations, their derivatives, bias addition. Each loop is specialised per
// activation (no branch per element) so that it vectorises, and compiled for several instruction sets; gelu,
// tanh and the sigmoid use the branch-free approximations of vmath.h rather than libm, which does not vectorise.
// Large tensors are split into fixed chunks over the team (element-wise, so results do not depend on
// the team's size).
#include <algorithm>
#include <cstdint>

#include "../core/simd.h"
#include "kernels.h"
#include "vmath.h"

// The same bits from every clone: no a·b + c of these loops (or of the vmath code inlined into them) is fused,
// including in the AVX-512 clone, which could.
NASX_VMATH_NO_CONTRACT

namespace nasx::cpu {
namespace {

constexpr std::int64_t kChunk = 32768;

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

// Each loop is vmath::generate over a lambda: y[i] = ..., or dx[i] = dx[i] + ... for the backward passes.
NASX_VECTOR_CLONES void relu_forward(const float* x, float* y, std::int64_t n) {
  // `x < 0 ? 0 : x` rather than `x > 0 ? x : 0`: NaN passes through, so divergence stays visible.
  vmath::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return x[i] < 0.0f ? 0.0f : x[i]; });
}
NASX_VECTOR_CLONES void relu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
  vmath::generate(dx, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA {
    return dx[i] + vmath::detail::select(x[i] > 0.0f, dy[i], 0.0f);
  });
}
NASX_VECTOR_CLONES void gelu_forward(const float* x, float* y, std::int64_t n) {
  vmath::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vmath::gelu(x[i]); });
}
NASX_VECTOR_CLONES void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
  vmath::generate(dx, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA {
    return dx[i] + dy[i] * vmath::gelu_derivative(x[i]);
  });
}
NASX_VECTOR_CLONES void tanh_forward(const float* x, float* y, std::int64_t n) {
  vmath::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vmath::tanh(x[i]); });
}
NASX_VECTOR_CLONES void tanh_backward(const float* y, const float* dy, float* dx, std::int64_t n) {
  vmath::generate(dx, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return dx[i] + dy[i] * (1.0f - y[i] * y[i]); });
}
NASX_VECTOR_CLONES void sigmoid_forward(const float* x, float* y, std::int64_t n) {
  vmath::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vmath::sigmoid(x[i]); });
}
NASX_VECTOR_CLONES void sigmoid_backward(const float* y, const float* dy, float* dx, std::int64_t n) {
  vmath::generate(dx, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return dx[i] + dy[i] * y[i] * (1.0f - y[i]); });
}
NASX_VECTOR_CLONES void copy_forward(const float* x, float* y, std::int64_t n) {
  vmath::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return x[i]; });
}
NASX_VECTOR_CLONES void accumulate(const float* dy, float* dx, std::int64_t n) {
  vmath::generate(dx, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return dx[i] + dy[i]; });
}
NASX_VECTOR_CLONES void bias_rows(float* y, const float* bias, std::int64_t rows, int cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    vmath::generate(row, cols, [&](std::int64_t c) NASX_VMATH_INLINE_LAMBDA { return row[c] + bias[c]; });
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
