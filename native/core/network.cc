#include "network.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace nasx {

namespace {

constexpr std::int64_t kColBudget = 1 << 21;  // floats of im2col buffer per chunk (8 MiB)

void add_into(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

void sum_rows(const float* dy, std::int64_t rows, int cols, float* out) {
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * cols;
    for (int c = 0; c < cols; ++c) acc[static_cast<size_t>(c)] += row[c];
  }
  for (int c = 0; c < cols; ++c) out[c] = static_cast<float>(acc[static_cast<size_t>(c)]);
}

}  // namespace

namespace {

// Kernels index a batch's tensor (and im2col rows, GEMM operands) with 32-bit ints.
constexpr std::int64_t kMaxTensorElements = (std::int64_t{1} << 31) - 1;

// Records the first tensor past the kernels' index range.
void note_elements(NetworkLayout& l, const PlannedNode& n, const char* what, std::int64_t elements, int max_batch) {
  if (elements <= kMaxTensorElements || !l.too_large.empty()) return;
  l.too_large = n.spec.name + " (" + op_name(n.spec.op) + "): " + what + " holds " + std::to_string(elements) + " values at a batch of " +
                std::to_string(max_batch) + "; at most " + std::to_string(kMaxTensorElements) +
                " are supported (use a smaller batch size or layer)";
}

// im2col floats per sample of a convolution.
std::int64_t col_row_floats(const PlannedNode& n) {
  return static_cast<std::int64_t>(n.out.h) * n.out.w * n.spec.kernel * n.spec.kernel * n.in_shapes[0].c;
}

// Samples per im2col chunk: as many as fit kColBudget floats, at least one, at most the batch.
std::int64_t conv_chunk_samples(const PlannedNode& n, std::int64_t batch) {
  const std::int64_t chunk = std::max<std::int64_t>(1, kColBudget / std::max<std::int64_t>(1, col_row_floats(n)));
  return std::min<std::int64_t>(chunk, batch);
}

}  // namespace

void NetworkLayout::check_indices() const {
  if (!too_large.empty()) throw invalid_arch(too_large);
}

std::int64_t NetworkLayout::bytes() const {
  std::int64_t floats = 2 * params + state + 2 * col + scratch;  // parameters and their gradients
  std::int64_t ints = 0;
  for (const Node& n : nodes) {
    floats += 2 * n.out + n.aux + n.stats;
    ints += n.argmax;
  }
  return floats * static_cast<std::int64_t>(sizeof(float)) + ints * static_cast<std::int64_t>(sizeof(int));
}

NetworkLayout layout_network(const Plan& plan, int max_batch) {
  const std::int64_t batch = max_batch < 1 ? 1 : max_batch;
  NetworkLayout l;
  l.params = plan.param_count;
  l.state = plan.state_count;
  l.nodes.resize(plan.nodes.size());
  std::int64_t col = 0, scratch = plan.input.size() * batch;
  if (!plan.nodes.empty()) note_elements(l, plan.nodes[0], "its input", scratch, max_batch);
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlannedNode& n = plan.nodes[i];
    NetworkLayout::Node& b = l.nodes[i];
    b.out = n.out.size() * batch;
    note_elements(l, n, "its output", b.out, max_batch);
    const Shape in = n.in_shapes[0];
    scratch = std::max(scratch, in.size() * batch);
    switch (n.spec.op) {
      case OpKind::BatchNorm:
        b.aux = b.out;
        b.stats = in.c;
        break;
      case OpKind::Dropout: b.aux = b.out; break;
      case OpKind::MaxPool: b.argmax = b.out; break;
      case OpKind::Conv2d:
        if (!(n.spec.kernel == 1 && n.spec.stride == 1)) {
          const std::int64_t rows = conv_chunk_samples(n, batch) * col_row_floats(n);
          note_elements(l, n, "its im2col buffer", rows, max_batch);
          col = std::max(col, rows);
        }
        break;
      default: break;
    }
  }
  l.col = col;
  l.scratch = scratch;
  return l;
}

std::int64_t network_gemm_workspace_bytes(const Plan& plan, int batch, const Backend& backend) {
  std::int64_t most = 0;
  auto gemm = [&](std::int64_t m, std::int64_t n, std::int64_t k) {
    most = std::max(most, backend.gemm_workspace_bytes(static_cast<int>(m), static_cast<int>(n), static_cast<int>(k)));
  };
  for (const PlannedNode& n : plan.nodes) {
    const Shape in = n.in_shapes[0];
    if (n.spec.op == OpKind::Dense) {
      gemm(batch, n.spec.units, in.size());
      gemm(in.size(), n.spec.units, batch);
      gemm(batch, in.size(), n.spec.units);
    } else if (n.spec.op == OpKind::Conv2d) {
      const std::int64_t hw = static_cast<std::int64_t>(n.out.h) * n.out.w;
      const std::int64_t kkc = static_cast<std::int64_t>(n.spec.kernel) * n.spec.kernel * in.c;
      // im2col chunks hold at most the whole batch.
      const std::int64_t rows = hw * batch;
      gemm(rows, n.spec.filters, kkc);
      gemm(kkc, n.spec.filters, rows);
      gemm(rows, kkc, n.spec.filters);
    }
  }
  return most;
}

Network::Network(Plan plan, int max_batch, Backend& backend)
    : plan_(std::move(plan)), max_batch_(max_batch < 1 ? 1 : max_batch), backend_(backend) {
  const NetworkLayout l = layout_network(plan_, max_batch_);
  l.check_indices();
  params_.assign(static_cast<size_t>(l.params), 0.0f);
  grads_.assign(static_cast<size_t>(l.params), 0.0f);
  state_.assign(static_cast<size_t>(l.state), 0.0f);
  buf_.resize(plan_.nodes.size());
  for (size_t i = 0; i < plan_.nodes.size(); ++i) {
    const NetworkLayout::Node& n = l.nodes[i];
    buf_[i].out.allocate(n.out);
    buf_[i].grad.allocate(n.out);
    buf_[i].aux.allocate(n.aux);
    buf_[i].stats.allocate(n.stats);
    buf_[i].argmax.allocate(n.argmax);
  }
  col_.allocate(l.col);
  dcol_.allocate(l.col);
  scratch_.allocate(l.scratch);
  // Reset running variances to 1.
  for (const PlannedNode& n : plan_.nodes) {
    if (n.spec.op == OpKind::BatchNorm) {
      const TensorInfo& var = plan_.state[static_cast<size_t>(n.state[1])];
      std::fill_n(state_.begin() + var.offset, var.size, 1.0f);
    }
  }
}

void Network::init_params(std::uint64_t seed, const Team* team) {
  for (size_t t = 0; t < plan_.params.size(); ++t) {
    const TensorInfo& info = plan_.params[t];
    float* p = params_.data() + info.offset;
    if (info.fan_in > 0) {
      Rng rng(derive_seed(seed, 0x1417, t));
      const float limit = std::sqrt(6.0f / static_cast<float>(info.fan_in));
      for (std::int64_t i = 0; i < info.size; ++i) {
        if (team && (i & 0xFFFFF) == 0) team->check_cancel();
        p[i] = (2.0f * rng.uniform_f() - 1.0f) * limit;
      }
    } else {
      const bool is_gamma = info.name.size() >= 6 && info.name.compare(info.name.size() - 6, 6, ".gamma") == 0;
      std::fill_n(p, info.size, is_gamma ? 1.0f : 0.0f);
    }
  }
  for (const PlannedNode& n : plan_.nodes) {
    if (n.spec.op != OpKind::BatchNorm) continue;
    const TensorInfo& mean = plan_.state[static_cast<size_t>(n.state[0])];
    const TensorInfo& var = plan_.state[static_cast<size_t>(n.state[1])];
    std::fill_n(state_.begin() + mean.offset, mean.size, 0.0f);
    std::fill_n(state_.begin() + var.offset, var.size, 1.0f);
  }
}

const float* Network::out_of(int index, const float* x) const {
  return index < 0 ? x : buf_[static_cast<size_t>(index)].out.data();
}

float* Network::grad_of(int index, float* dx) { return index < 0 ? dx : buf_[static_cast<size_t>(index)].grad.data(); }

int Network::conv_chunk(const PlannedNode& n, int batch) const { return static_cast<int>(conv_chunk_samples(n, batch)); }

const float* Network::forward(const float* x, int batch, bool training, Rng* rng, Team* team) {
  if (batch < 1 || batch > max_batch_) throw CoreError("engine", "batch size out of range");
  last_input_ = x;
  last_batch_ = batch;
  last_training_ = training;
  for (size_t i = 0; i < plan_.nodes.size(); ++i) {
    if (team) team->check_cancel();
    forward_node(i, x, batch, training, rng, team);
  }
  return buf_.back().out.data();
}

void Network::conv_forward(const PlannedNode& n, const float* in, float* y, int batch, Team* team) {
  const Shape s = n.in_shapes[0];
  const int k = n.spec.kernel;
  const int f = n.spec.filters;
  const float* w = params_.data() + plan_.params[static_cast<size_t>(n.params[0])].offset;
  const std::int64_t rows_per_sample = static_cast<std::int64_t>(n.out.h) * n.out.w;
  if (k == 1 && n.spec.stride == 1) {
    backend_.gemm(false, false, static_cast<int>(batch * rows_per_sample), f, s.c, 1.0f, in, s.c, w, f, 0.0f, y, f, team);
  } else {
    const int kkc = k * k * s.c;
    const int chunk = conv_chunk(n, batch);
    for (int b0 = 0; b0 < batch; b0 += chunk) {
      const int nb = std::min(chunk, batch - b0);
      const ConvShape g = backend_.conv_shape(nb, s.h, s.w, s.c, k, n.spec.stride);
      backend_.im2col(g, in + static_cast<std::int64_t>(b0) * s.size(), col_.data(), team);
      backend_.gemm(false, false, static_cast<int>(nb * rows_per_sample), f, kkc, 1.0f, col_.data(), kkc, w, f, 0.0f,
                    y + b0 * rows_per_sample * f, f, team);
    }
  }
  if (n.spec.bias) backend_.add_bias(y, params_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset, batch * rows_per_sample, f, team);
}

void Network::forward_node(size_t i, const float* x, int batch, bool training, Rng* rng, Team* team) {
  const PlannedNode& n = plan_.nodes[i];
  Buffers& b = buf_[i];
  const float* in = out_of(n.spec.inputs[0], x);
  const Shape s = n.in_shapes[0];
  float* y = b.out.data();
  const std::int64_t in_total = s.size() * batch;
  const std::int64_t out_total = n.out.size() * batch;
  switch (n.spec.op) {
    case OpKind::Dense: {
      const int fan_in = static_cast<int>(s.size());
      const float* w = params_.data() + plan_.params[static_cast<size_t>(n.params[0])].offset;
      backend_.gemm(false, false, batch, n.spec.units, fan_in, 1.0f, in, fan_in, w, n.spec.units, 0.0f, y, n.spec.units, team);
      if (n.spec.bias) backend_.add_bias(y, params_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset, batch, n.spec.units, team);
      break;
    }
    case OpKind::Conv2d: conv_forward(n, in, y, batch, team); break;
    case OpKind::DepthwiseConv2d: {
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      const float* w = params_.data() + plan_.params[static_cast<size_t>(n.params[0])].offset;
      const float* bias = n.spec.bias ? params_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset : nullptr;
      backend_.depthwise_forward(g, in, w, bias, y, team);
      break;
    }
    case OpKind::MaxPool: {
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      backend_.max_pool_forward(g, in, y, b.argmax.data(), team);
      break;
    }
    case OpKind::AvgPool: {
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      backend_.avg_pool_forward(g, in, y, team);
      break;
    }
    case OpKind::GlobalAvgPool: {
      const int hw = s.h * s.w;
      const float inv = 1.0f / static_cast<float>(hw);
      for (int bi = 0; bi < batch; ++bi) {
        float* yo = y + static_cast<std::int64_t>(bi) * s.c;
        std::fill_n(yo, s.c, 0.0f);
        const float* xi = in + static_cast<std::int64_t>(bi) * s.size();
        for (int p = 0; p < hw; ++p)
          for (int c = 0; c < s.c; ++c) yo[c] += xi[static_cast<std::int64_t>(p) * s.c + c];
        for (int c = 0; c < s.c; ++c) yo[c] *= inv;
      }
      break;
    }
    case OpKind::BatchNorm: {
      const int c = s.c;
      const std::int64_t rows = in_total / c;
      const float* gamma = params_.data() + plan_.params[static_cast<size_t>(n.params[0])].offset;
      const float* beta = params_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset;
      float* rmean = state_.data() + plan_.state[static_cast<size_t>(n.state[0])].offset;
      float* rvar = state_.data() + plan_.state[static_cast<size_t>(n.state[1])].offset;
      if (training) {
        std::vector<double> mean(static_cast<size_t>(c), 0.0), var(static_cast<size_t>(c), 0.0);
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) mean[static_cast<size_t>(k)] += in[r * c + k];
        for (int k = 0; k < c; ++k) mean[static_cast<size_t>(k)] /= static_cast<double>(rows);
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) {
            const double d = in[r * c + k] - mean[static_cast<size_t>(k)];
            var[static_cast<size_t>(k)] += d * d;
          }
        std::vector<float> m(static_cast<size_t>(c)), inv(static_cast<size_t>(c));
        for (int k = 0; k < c; ++k) {
          const double v = var[static_cast<size_t>(k)] / static_cast<double>(rows);
          m[static_cast<size_t>(k)] = static_cast<float>(mean[static_cast<size_t>(k)]);
          inv[static_cast<size_t>(k)] = static_cast<float>(1.0 / std::sqrt(v + kBatchNormEpsilon));
          b.stats[static_cast<size_t>(k)] = inv[static_cast<size_t>(k)];
          const double unbiased = rows > 1 ? var[static_cast<size_t>(k)] / static_cast<double>(rows - 1) : v;
          rmean[k] = (1.0f - kBatchNormMomentum) * rmean[k] + kBatchNormMomentum * m[static_cast<size_t>(k)];
          rvar[k] = (1.0f - kBatchNormMomentum) * rvar[k] + kBatchNormMomentum * static_cast<float>(unbiased);
        }
        float* xhat = b.aux.data();
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) {
            const float h = (in[r * c + k] - m[static_cast<size_t>(k)]) * inv[static_cast<size_t>(k)];
            xhat[r * c + k] = h;
            y[r * c + k] = gamma[k] * h + beta[k];
          }
      } else {
        std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
        for (int k = 0; k < c; ++k) {
          scale[static_cast<size_t>(k)] = gamma[k] / std::sqrt(rvar[k] + kBatchNormEpsilon);
          shift[static_cast<size_t>(k)] = beta[k] - rmean[k] * scale[static_cast<size_t>(k)];
        }
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) y[r * c + k] = in[r * c + k] * scale[static_cast<size_t>(k)] + shift[static_cast<size_t>(k)];
      }
      break;
    }
    case OpKind::Dropout: {
      const float rate = n.spec.rate;
      if (!training || rate <= 0.0f || rng == nullptr) {
        std::copy_n(in, in_total, y);
        std::fill_n(b.aux.data(), in_total, 1.0f);
      } else {
        const float keep = 1.0f / (1.0f - rate);
        float* mask = b.aux.data();
        for (std::int64_t j = 0; j < in_total; ++j) {
          mask[j] = rng->uniform_f() < rate ? 0.0f : keep;
          y[j] = in[j] * mask[j];
        }
      }
      break;
    }
    case OpKind::Activation: backend_.activation_forward(n.spec.activation, in, y, in_total, team); break;
    case OpKind::Flatten: std::copy_n(in, in_total, y); break;
    case OpKind::Add: {
      std::copy_n(in, out_total, y);
      for (size_t k = 1; k < n.spec.inputs.size(); ++k) add_into(y, out_of(n.spec.inputs[k], x), out_total);
      break;
    }
  }
}

void Network::backward(const float* dout, float* dx, Team* team) {
  if (last_input_ == nullptr) throw CoreError("engine", "backward called before forward");
  const int batch = last_batch_;
  for (size_t i = 0; i < buf_.size(); ++i) {
    if (team) team->check_cancel();
    std::fill_n(buf_[i].grad.data(), plan_.nodes[i].out.size() * batch, 0.0f);
  }
  if (dx) std::fill_n(dx, plan_.input.size() * batch, 0.0f);
  std::copy_n(dout, plan_.output_size * static_cast<std::int64_t>(batch), buf_.back().grad.data());
  for (size_t i = plan_.nodes.size(); i-- > 0;) {
    if (team) team->check_cancel();
    backward_node(i, last_input_, batch, dx, team);
  }
}

void Network::dense_backward(const PlannedNode& n, const float* in, const float* dy, float* din, int batch, Team* team) {
  const int fan_in = static_cast<int>(n.in_shapes[0].size());
  const int units = n.spec.units;
  const TensorInfo& wt = plan_.params[static_cast<size_t>(n.params[0])];
  backend_.gemm(true, false, fan_in, units, batch, 1.0f, in, fan_in, dy, units, 0.0f, grads_.data() + wt.offset, units, team);
  if (n.spec.bias) sum_rows(dy, batch, units, grads_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset);
  if (din) backend_.gemm(false, true, batch, fan_in, units, 1.0f, dy, units, params_.data() + wt.offset, units, 1.0f, din, fan_in, team);
}

void Network::conv_backward(const PlannedNode& n, const float* in, const float* dy, float* din, int batch, Team* team) {
  const Shape s = n.in_shapes[0];
  const int k = n.spec.kernel;
  const int f = n.spec.filters;
  const TensorInfo& wt = plan_.params[static_cast<size_t>(n.params[0])];
  const float* w = params_.data() + wt.offset;
  float* dw = grads_.data() + wt.offset;
  const std::int64_t rows_per_sample = static_cast<std::int64_t>(n.out.h) * n.out.w;
  if (n.spec.bias) sum_rows(dy, batch * rows_per_sample, f, grads_.data() + plan_.params[static_cast<size_t>(n.params[1])].offset);
  if (k == 1 && n.spec.stride == 1) {
    const int rows = static_cast<int>(batch * rows_per_sample);
    backend_.gemm(true, false, s.c, f, rows, 1.0f, in, s.c, dy, f, 0.0f, dw, f, team);
    if (din) backend_.gemm(false, true, rows, s.c, f, 1.0f, dy, f, w, f, 1.0f, din, s.c, team);
    return;
  }
  const int kkc = k * k * s.c;
  const int chunk = conv_chunk(n, batch);
  for (int b0 = 0; b0 < batch; b0 += chunk) {
    const int nb = std::min(chunk, batch - b0);
    const int rows = static_cast<int>(nb * rows_per_sample);
    const ConvShape g = backend_.conv_shape(nb, s.h, s.w, s.c, k, n.spec.stride);
    const float* dyc = dy + b0 * rows_per_sample * f;
    backend_.im2col(g, in + static_cast<std::int64_t>(b0) * s.size(), col_.data(), team);
    backend_.gemm(true, false, kkc, f, rows, 1.0f, col_.data(), kkc, dyc, f, b0 == 0 ? 0.0f : 1.0f, dw, f, team);
    if (din) {
      backend_.gemm(false, true, rows, kkc, f, 1.0f, dyc, f, w, f, 0.0f, dcol_.data(), kkc, team);
      backend_.col2im(g, dcol_.data(), scratch_.data(), team);
      add_into(din + static_cast<std::int64_t>(b0) * s.size(), scratch_.data(), nb * s.size());
    }
  }
}

void Network::backward_node(size_t i, const float* x, int batch, float* dx, Team* team) {
  const PlannedNode& n = plan_.nodes[i];
  Buffers& b = buf_[i];
  const int src = n.spec.inputs[0];
  const float* in = out_of(src, x);
  float* din = grad_of(src, dx);
  const Shape s = n.in_shapes[0];
  const float* dy = b.grad.data();
  const std::int64_t in_total = s.size() * batch;
  switch (n.spec.op) {
    case OpKind::Dense: dense_backward(n, in, dy, din, batch, team); break;
    case OpKind::Conv2d: conv_backward(n, in, dy, din, batch, team); break;
    case OpKind::DepthwiseConv2d: {
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      const TensorInfo& wt = plan_.params[static_cast<size_t>(n.params[0])];
      float* dw = grads_.data() + wt.offset;
      std::fill_n(dw, wt.size, 0.0f);
      float* db = nullptr;
      if (n.spec.bias) {
        const TensorInfo& bt = plan_.params[static_cast<size_t>(n.params[1])];
        db = grads_.data() + bt.offset;
        std::fill_n(db, bt.size, 0.0f);
      }
      backend_.depthwise_backward(g, in, params_.data() + wt.offset, dy, din ? scratch_.data() : nullptr, dw, db, team);
      if (din) add_into(din, scratch_.data(), in_total);
      break;
    }
    case OpKind::MaxPool: {
      if (!din) break;
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      backend_.max_pool_backward(g, dy, b.argmax.data(), scratch_.data(), team);
      add_into(din, scratch_.data(), in_total);
      break;
    }
    case OpKind::AvgPool: {
      if (!din) break;
      const ConvShape g = backend_.conv_shape(batch, s.h, s.w, s.c, n.spec.kernel, n.spec.stride);
      backend_.avg_pool_backward(g, dy, scratch_.data(), team);
      add_into(din, scratch_.data(), in_total);
      break;
    }
    case OpKind::GlobalAvgPool: {
      if (!din) break;
      const int hw = s.h * s.w;
      const float inv = 1.0f / static_cast<float>(hw);
      for (int bi = 0; bi < batch; ++bi) {
        const float* g = dy + static_cast<std::int64_t>(bi) * s.c;
        float* d = din + static_cast<std::int64_t>(bi) * s.size();
        for (int p = 0; p < hw; ++p)
          for (int c = 0; c < s.c; ++c) d[static_cast<std::int64_t>(p) * s.c + c] += g[c] * inv;
      }
      break;
    }
    case OpKind::BatchNorm: {
      const int c = s.c;
      const std::int64_t rows = in_total / c;
      const TensorInfo& gt = plan_.params[static_cast<size_t>(n.params[0])];
      const TensorInfo& bt = plan_.params[static_cast<size_t>(n.params[1])];
      const float* gamma = params_.data() + gt.offset;
      float* dgamma = grads_.data() + gt.offset;
      float* dbeta = grads_.data() + bt.offset;
      if (!last_training_) {
        // Inference-mode statistics are constants: y = scale·x + shift.
        const float* rvar = state_.data() + plan_.state[static_cast<size_t>(n.state[1])].offset;
        const float* rmean = state_.data() + plan_.state[static_cast<size_t>(n.state[0])].offset;
        std::vector<double> sg(static_cast<size_t>(c), 0.0), sb(static_cast<size_t>(c), 0.0);
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) {
            const float inv = 1.0f / std::sqrt(rvar[k] + kBatchNormEpsilon);
            sg[static_cast<size_t>(k)] += dy[r * c + k] * (in[r * c + k] - rmean[k]) * inv;
            sb[static_cast<size_t>(k)] += dy[r * c + k];
            if (din) din[r * c + k] += dy[r * c + k] * gamma[k] * inv;
          }
        for (int k = 0; k < c; ++k) {
          dgamma[k] = static_cast<float>(sg[static_cast<size_t>(k)]);
          dbeta[k] = static_cast<float>(sb[static_cast<size_t>(k)]);
        }
        break;
      }
      const float* xhat = b.aux.data();
      std::vector<double> sg(static_cast<size_t>(c), 0.0), sb(static_cast<size_t>(c), 0.0);
      for (std::int64_t r = 0; r < rows; ++r)
        for (int k = 0; k < c; ++k) {
          sg[static_cast<size_t>(k)] += dy[r * c + k] * xhat[r * c + k];
          sb[static_cast<size_t>(k)] += dy[r * c + k];
        }
      for (int k = 0; k < c; ++k) {
        dgamma[k] = static_cast<float>(sg[static_cast<size_t>(k)]);
        dbeta[k] = static_cast<float>(sb[static_cast<size_t>(k)]);
      }
      if (din) {
        const float inv_rows = 1.0f / static_cast<float>(rows);
        for (std::int64_t r = 0; r < rows; ++r)
          for (int k = 0; k < c; ++k) {
            const float scale = gamma[k] * b.stats[static_cast<size_t>(k)] * inv_rows;
            din[r * c + k] += scale * (static_cast<float>(rows) * dy[r * c + k] - dbeta[k] - xhat[r * c + k] * dgamma[k]);
          }
      }
      break;
    }
    case OpKind::Dropout:
      if (din) {
        const float* mask = b.aux.data();
        for (std::int64_t j = 0; j < in_total; ++j) din[j] += dy[j] * mask[j];
      }
      break;
    case OpKind::Activation:
      if (din) backend_.activation_backward(n.spec.activation, in, b.out.data(), dy, din, in_total, team);
      break;
    case OpKind::Flatten:
      if (din) add_into(din, dy, in_total);
      break;
    case OpKind::Add:
      for (int src_k : n.spec.inputs) {
        float* d = grad_of(src_k, dx);
        if (d) add_into(d, dy, n.out.size() * batch);
      }
      break;
  }
}

}  // namespace nasx
