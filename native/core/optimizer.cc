#include "optimizer.h"

#include "simd.h"
#include "spec.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace nasx {

NASX_VECTOR_CLONES void optimizer_update(const OptimizerConfig& cfg, float lr, std::int64_t step, bool decay, float* p, const float* g,
                      float* m, float* v, std::int64_t n) {
  const float wd = decay ? cfg.weight_decay : 0.0f;
  if (cfg.kind == OptimizerKind::Sgd) {
    const float mu = cfg.momentum;
    for (std::int64_t i = 0; i < n; ++i) {
      const float gi = g[i] + wd * p[i];
      m[i] = mu * m[i] + gi;
      p[i] -= lr * (cfg.nesterov ? gi + mu * m[i] : m[i]);
    }
    return;
  }
  const float b1 = cfg.beta1, b2 = cfg.beta2;
  const double t = static_cast<double>(step < 1 ? 1 : step);
  const float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
  const float c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(b2), t));
  const float step_size = lr / c1;
  const float inv_sqrt_c2 = 1.0f / std::sqrt(c2);
  const float shrink = 1.0f - lr * wd;
  for (std::int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    p[i] *= shrink;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + cfg.eps);
  }
}

float cosine_lr(float base, std::int64_t step, std::int64_t total, std::int64_t warmup) {
  if (warmup > 0 && step < warmup) return base * static_cast<float>(step + 1) / static_cast<float>(warmup);
  const std::int64_t span = total - warmup;
  if (span <= 0) return base;
  double progress = static_cast<double>(step - warmup) / static_cast<double>(span);
  if (progress > 1.0) progress = 1.0;
  return static_cast<float>(base * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress)));
}

Optimizer::Optimizer(const OptimizerConfig& cfg, const Plan& plan)
    : cfg_(cfg), tensors_(plan.params), m_(static_cast<size_t>(plan.param_count), 0.0f),
      v_(cfg.kind == OptimizerKind::AdamW ? static_cast<size_t>(plan.param_count) : 0, 0.0f) {}

void Optimizer::restore(std::int64_t steps, const std::vector<float>& m, const std::vector<float>& v) {
  if (steps < 0 || m.size() != m_.size() || v.size() != v_.size())
    throw CoreError("invalid_argument", "the optimizer state has " + std::to_string(m.size()) + " + " + std::to_string(v.size()) +
                                            " moment values at step " + std::to_string(steps) + " but this network's " +
                                            (cfg_.kind == OptimizerKind::AdamW ? "AdamW" : "SGD") + " optimizer needs " +
                                            std::to_string(m_.size()) + " + " + std::to_string(v_.size()));
  t_ = steps;
  m_ = m;
  v_ = v;
}

void Optimizer::step(std::vector<float>& params, const std::vector<float>& grads, float lr, Team* team) {
  ++t_;
  constexpr std::int64_t kChunk = 16384;
  auto update = [&](const TensorInfo& t, std::int64_t begin, std::int64_t end) {
    const std::int64_t o = t.offset + begin;
    optimizer_update(cfg_, lr, t_, t.decay, params.data() + o, grads.data() + o, m_.data() + o,
                     v_.empty() ? nullptr : v_.data() + o, end - begin);
  };
  for (const TensorInfo& t : tensors_) {
    if (team == nullptr || team->size() == 1 || t.size <= kChunk) {
      update(t, 0, t.size);
      continue;
    }
    const int chunks = static_cast<int>((t.size + kChunk - 1) / kChunk);
    team->parallel_for(chunks, [&](int c) {
      const std::int64_t begin = static_cast<std::int64_t>(c) * kChunk;
      update(t, begin, std::min<std::int64_t>(t.size, begin + kChunk));
    });
  }
}

}  // namespace nasx
