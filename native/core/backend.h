// The device backend interface: the heavy kernels a network needs, chosen per backend. The network
// plan, the layers' bookkeeping and the training loop are shared by every backend. CPU is the only
// backend so far; a CUDA backend implements the same interface.
#pragma once

#include <cstdint>

#include "parallel.h"
#include "spec.h"

namespace nasx {

struct ConvShape {
  int batch, in_h, in_w, channels;
  int kernel, stride;
  int out_h, out_w, pad_top, pad_left;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Row-major C = alpha·op(A)·op(B) + beta·C (see cpu/kernels.h for the exact contract).
  virtual void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc, Team* team) = 0;
  virtual ConvShape conv_shape(int batch, int in_h, int in_w, int channels, int kernel, int stride) = 0;
  virtual void im2col(const ConvShape& g, const float* x, float* col, Team* team) = 0;
  virtual void col2im(const ConvShape& g, const float* col, float* dx, Team* team) = 0;
  virtual void depthwise_forward(const ConvShape& g, const float* x, const float* w, const float* bias, float* y,
                                 Team* team) = 0;
  virtual void depthwise_backward(const ConvShape& g, const float* x, const float* w, const float* dy, float* dx,
                                  float* dw, float* dbias, Team* team) = 0;
  virtual void max_pool_forward(const ConvShape& g, const float* x, float* y, int* argmax, Team* team) = 0;
  virtual void max_pool_backward(const ConvShape& g, const float* dy, const int* argmax, float* dx, Team* team) = 0;
  virtual void avg_pool_forward(const ConvShape& g, const float* x, float* y, Team* team) = 0;
  virtual void avg_pool_backward(const ConvShape& g, const float* dy, float* dx, Team* team) = 0;
  // y = f(x); dx += f'(x)·dy (given x and y = f(x)).
  virtual void activation_forward(ActivationKind a, const float* x, float* y, std::int64_t n, Team* team) = 0;
  virtual void activation_backward(ActivationKind a, const float* x, const float* y, const float* dy, float* dx,
                                   std::int64_t n, Team* team) = 0;
  // y[r][c] += bias[c].
  virtual void add_bias(float* y, const float* bias, std::int64_t rows, int cols, Team* team) = 0;
  // The most scratch memory a GEMM of this size may hold on the calling thread (bytes), and freeing
  // that thread's scratch, so that memory budgets can count it and candidates do not inherit it.
  virtual std::int64_t gemm_workspace_bytes(int m, int n, int k) const = 0;
  virtual void release_workspace() = 0;
};

// The CPU backend (GEMM micro-kernels with runtime ISA dispatch).
Backend& cpu_backend();

}  // namespace nasx
