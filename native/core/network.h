// A network built from a plan: parameters, activations and the forward and backward passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "plan.h"
#include "rng.h"

namespace nasx {

constexpr float kBatchNormEpsilon = 1e-5f;
constexpr float kBatchNormMomentum = 0.1f;  // running = (1 - m)·running + m·batch statistic

// Floats (and ints) every buffer of a network needs for batches of max_batch samples: what the
// constructor allocates, so that the memory a candidate needs is known before it is allocated.
struct NetworkLayout {
  struct Node {
    std::int64_t out = 0;      // output and output gradient, each
    std::int64_t aux = 0;      // batch norm x̂, dropout mask
    std::int64_t stats = 0;    // batch norm per-channel inverse std
    std::int64_t argmax = 0;   // max pooling (ints)
  };
  std::vector<Node> nodes;
  std::int64_t params = 0, state = 0;
  std::int64_t col = 0;        // im2col buffer, and as much again for its gradient
  std::int64_t scratch = 0;
  std::string too_large;       // the first tensor past the kernels' 32-bit indices, if any
  std::int64_t bytes() const;
  // Throws CoreError("invalid_arch", ...) naming the node and the size when a tensor is too large.
  void check_indices() const;
};

// Lays out a plan's buffers for batches of max_batch samples (never throws: check_indices() tells
// whether the kernels can index them), so that memory is known before anything is allocated.
NetworkLayout layout_network(const Plan& plan, int max_batch);

// The largest scratch any GEMM of the network's forward and backward passes asks `backend` for.
std::int64_t network_gemm_workspace_bytes(const Plan& plan, int batch, const Backend& backend);

// A buffer left uninitialised when allocated: every kernel writes its part of an activation, gradient
// or scratch buffer before reading it, so building a network touches no memory, and its pages are
// first faulted in by the training step (where cancellation is checked), not by the constructor.
template <typename T>
class UninitBuffer {
 public:
  void allocate(std::int64_t n) {
    data_.reset(n > 0 ? new T[static_cast<std::size_t>(n)] : nullptr);
    size_ = n > 0 ? n : 0;
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T* begin() { return data_.get(); }
  std::int64_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }

 private:
  std::unique_ptr<T[]> data_;
  std::int64_t size_ = 0;
};

class Network {
 public:
  // Buffers are sized for batches of at most max_batch samples (see layout_network).
  Network(Plan plan, int max_batch, Backend& backend);

  const Plan& plan() const { return plan_; }
  int max_batch() const { return max_batch_; }
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  std::vector<float>& grads() { return grads_; }
  std::vector<float>& state() { return state_; }
  const std::vector<float>& state() const { return state_; }

  // He-uniform weights (limit sqrt(6 / fan_in)), zero biases, unit batch-norm scale; a stream per tensor.
  // When `team` is given, its cancel flag is checked every million values.
  void init_params(std::uint64_t seed, const Team* team = nullptr);

  // Runs the network on `batch` samples (batch ≤ max_batch). Training mode uses batch statistics (and
  // updates the running ones) and dropout drawn from `rng`; inference mode uses running statistics and
  // no dropout. Returns the output, batch × output_size, valid until the next call.
  const float* forward(const float* x, int batch, bool training, Rng* rng, Team* team);

  // After forward (and backward): node i's output, what it read, and d(loss)/d(its output); each holds
  // batch × that tensor's per-sample size values, valid until the next pass (for proxies).
  const float* node_output(size_t i) const { return buf_[i].out.data(); }
  const float* node_input(size_t i) const { return out_of(plan_.nodes[i].spec.inputs[0], last_input_); }
  const float* node_grad(size_t i) const { return buf_[i].grad.data(); }

  // Back-propagates d(loss)/d(output) of the last forward pass. Overwrites grads(); when dx is not null,
  // writes d(loss)/d(input) there (batch × input size).
  void backward(const float* dout, float* dx, Team* team);

 private:
  struct Buffers {
    UninitBuffer<float> out, grad;
    UninitBuffer<float> aux;     // batch norm: x̂ ; dropout: mask
    UninitBuffer<float> stats;   // batch norm: per-channel inverse std of the last training batch
    UninitBuffer<int> argmax;    // max pooling
  };
  const float* out_of(int index, const float* x) const;
  float* grad_of(int index, float* dx);
  void forward_node(size_t i, const float* x, int batch, bool training, Rng* rng, Team* team);
  void backward_node(size_t i, const float* x, int batch, float* dx, Team* team);
  void dense_backward(const PlannedNode& n, const float* in, const float* dy, float* din, int batch, Team* team);
  void conv_forward(const PlannedNode& n, const float* in, float* y, int batch, Team* team);
  void conv_backward(const PlannedNode& n, const float* in, const float* dy, float* din, int batch, Team* team);
  int conv_chunk(const PlannedNode& n, int batch) const;

  Plan plan_;
  int max_batch_;
  Backend& backend_;
  std::vector<float> params_, grads_, state_;
  std::vector<Buffers> buf_;
  UninitBuffer<float> col_, dcol_, scratch_;
  const float* last_input_ = nullptr;
  int last_batch_ = 0;
  bool last_training_ = false;
  std::vector<bool> needs_grad_;
};

}  // namespace nasx
