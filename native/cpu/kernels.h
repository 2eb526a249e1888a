// CPU kernels used by the network layers. All tensors are row-major float32; images are NHWC.
#pragma once

#include <atomic>
#include <cstdint>

#include "../core/parallel.h"

namespace nasx::cpu {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n]   (row-major; lda/ldb/ldc are row strides)
// op(A) = A (an m×k matrix, lda >= k) or, when trans_a, A^T where A is k×m (lda >= m); likewise B.
// beta == 0 means C is overwritten (its previous contents, even NaN, are ignored).
// Work is split over `team` (nullptr: the calling thread only) in a fixed partition that depends
// only on m, n, k, so results are bitwise identical for every team size.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc, Team* team = nullptr);

// The most floats of packed-operand scratch sgemm may hold on the calling thread for an m×n×k product
// (an upper bound over both operands being packed), and freeing the calling thread's scratch.
std::int64_t sgemm_workspace_floats(int m, int n, int k);
void release_gemm_scratch();

// The instruction set the GEMM micro-kernel dispatched to at run time: "avx512", "avx2" or "portable".
const char* gemm_isa();

// Forces a given ISA ("avx512", "avx2", "portable"; for tests and benchmarks). Returns false if the
// CPU lacks it, and leaves the choice unchanged.
bool force_gemm_isa(const char* isa);

// Measured peak of a register-only FMA loop, in GFLOP/s, on `threads` threads (for benchmarks); stops
// early once *cancel is set. Throws CoreError("threads", ...) when the system refuses a thread.
double measure_fma_peak_gflops(int threads, double seconds, const std::atomic<bool>* cancel = nullptr);

// "Same" padding in the TensorFlow/ONNX SAME_UPPER convention:
//   out = ceil(in / stride), pad_total = max((out - 1) * stride + kernel - in, 0), pad_before = pad_total / 2.
struct ConvGeometry {
  int batch, in_h, in_w, channels;   // input NHWC
  int kernel, stride;                // square kernel
  int out_h, out_w, pad_top, pad_left;
};
ConvGeometry same_geometry(int batch, int in_h, int in_w, int channels, int kernel, int stride);

// im2col for NHWC: col[(b*out_h + oy)*out_w + ox][(ky*kernel + kx)*channels + c] (zero outside the image).
// col has batch*out_h*out_w rows of kernel*kernel*channels floats.
void im2col_nhwc(const ConvGeometry& g, const float* x, float* col, Team* team = nullptr);
// The adjoint of im2col: dx (NHWC) = sum of the col entries that read each input position. dx is overwritten.
void col2im_nhwc(const ConvGeometry& g, const float* col, float* dx, Team* team = nullptr);

// Depthwise convolution, NHWC, weights [kernel][kernel][channels] (channel multiplier 1).
// y is overwritten with conv(x) + bias (bias may be nullptr).
void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y,
                       Team* team = nullptr);
// Gradients: dx overwritten (unless nullptr), dw and dbias accumulated into (+=) (dbias may be nullptr).
void depthwise_backward(const ConvGeometry& g, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* dbias, Team* team = nullptr);

// Max / average pooling, NHWC, square window `kernel`, stride `stride`, same padding (padding cells are
// ignored: a max never picks them, an average divides by the number of real cells in the window).
// argmax (for max pooling) receives, for each output, the flat NHWC index of the chosen input.
void max_pool_forward(const ConvGeometry& g, const float* x, float* y, int* argmax, Team* team = nullptr);
// The backward passes overwrite dx.
void max_pool_backward(const ConvGeometry& g, const float* dy, const int* argmax, float* dx, Team* team = nullptr);
void avg_pool_forward(const ConvGeometry& g, const float* x, float* y, Team* team = nullptr);
void avg_pool_backward(const ConvGeometry& g, const float* dy, float* dx, Team* team = nullptr);

// Element-wise kernels. Activations: y = f(x); the backward pass accumulates dx += f'(x)·dy (tanh and
// sigmoid use y, the others x).
enum class Activation { Identity, Relu, Gelu, Tanh, Sigmoid };
void activation_forward(Activation a, const float* x, float* y, std::int64_t n, Team* team = nullptr);
void activation_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, std::int64_t n,
                         Team* team = nullptr);
// y[r][c] += bias[c] for rows × cols.
void add_bias(float* y, const float* bias, std::int64_t rows, int cols, Team* team = nullptr);

}  // namespace nasx::cpu
