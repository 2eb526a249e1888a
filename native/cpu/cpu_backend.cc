// Adapts the CPU kernels to core's Backend interface.
#include "../core/backend.h"
#include "kernels.h"

namespace nasx {
namespace {

cpu::ConvGeometry geometry(const ConvShape& s) {
  return cpu::ConvGeometry{s.batch, s.in_h, s.in_w, s.channels, s.kernel, s.stride, s.out_h, s.out_w, s.pad_top, s.pad_left};
}

cpu::Activation activation(ActivationKind a) {
  switch (a) {
    case ActivationKind::Relu: return cpu::Activation::Relu;
    case ActivationKind::Gelu: return cpu::Activation::Gelu;
    case ActivationKind::Tanh: return cpu::Activation::Tanh;
    case ActivationKind::Sigmoid: return cpu::Activation::Sigmoid;
    case ActivationKind::Identity: break;
  }
  return cpu::Activation::Identity;
}

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
            float beta, float* c, int ldc, Team* team) override {
    cpu::sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, team);
  }
  ConvShape conv_shape(int batch, int in_h, int in_w, int channels, int kernel, int stride) override {
    const cpu::ConvGeometry g = cpu::same_geometry(batch, in_h, in_w, channels, kernel, stride);
    return ConvShape{g.batch, g.in_h, g.in_w, g.channels, g.kernel, g.stride, g.out_h, g.out_w, g.pad_top, g.pad_left};
  }
  void im2col(const ConvShape& g, const float* x, float* col, Team* team) override {
    cpu::im2col_nhwc(geometry(g), x, col, team);
  }
  void col2im(const ConvShape& g, const float* col, float* dx, Team* team) override {
    cpu::col2im_nhwc(geometry(g), col, dx, team);
  }
  void depthwise_forward(const ConvShape& g, const float* x, const float* w, const float* bias, float* y,
                         Team* team) override {
    cpu::depthwise_forward(geometry(g), x, w, bias, y, team);
  }
  void depthwise_backward(const ConvShape& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                          float* dbias, Team* team) override {
    cpu::depthwise_backward(geometry(g), x, w, dy, dx, dw, dbias, team);
  }
  void max_pool_forward(const ConvShape& g, const float* x, float* y, int* argmax, Team* team) override {
    cpu::max_pool_forward(geometry(g), x, y, argmax, team);
  }
  void max_pool_backward(const ConvShape& g, const float* dy, const int* argmax, float* dx, Team* team) override {
    cpu::max_pool_backward(geometry(g), dy, argmax, dx, team);
  }
  void avg_pool_forward(const ConvShape& g, const float* x, float* y, Team* team) override {
    cpu::avg_pool_forward(geometry(g), x, y, team);
  }
  void avg_pool_backward(const ConvShape& g, const float* dy, float* dx, Team* team) override {
    cpu::avg_pool_backward(geometry(g), dy, dx, team);
  }
  void activation_forward(ActivationKind a, const float* x, float* y, std::int64_t n, Team* team) override {
    cpu::activation_forward(activation(a), x, y, n, team);
  }
  void activation_backward(ActivationKind a, const float* x, const float* y, const float* dy, float* dx, std::int64_t n,
                           Team* team) override {
    cpu::activation_backward(activation(a), x, y, dy, dx, n, team);
  }
  void add_bias(float* y, const float* bias, std::int64_t rows, int cols, Team* team) override {
    cpu::add_bias(y, bias, rows, cols, team);
  }
  std::int64_t gemm_workspace_bytes(int m, int n, int k) const override {
    return cpu::sgemm_workspace_floats(m, n, k) * static_cast<std::int64_t>(sizeof(float));
  }
  void release_workspace() override { cpu::release_gemm_scratch(); }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace nasx
