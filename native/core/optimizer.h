// Optimizers (SGD with momentum and weight decay, AdamW) and the learning-rate schedule.
#pragma once

#include <cstdint>
#include <vector>

#include "parallel.h"
#include "plan.h"

namespace nasx {

enum class OptimizerKind { Sgd, AdamW };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::AdamW;
  float lr = 1e-3f;
  float momentum = 0.9f;       // SGD
  bool nesterov = false;       // SGD
  float weight_decay = 0.0f;   // SGD: L2 added to the gradient; AdamW: decoupled decay
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // AdamW
};

// One update of n values, in place. `step` counts from 1 (AdamW's bias correction). For SGD `m` is the
// momentum buffer and `v` unused; for AdamW `m` and `v` are the first and second moments.
//   SGD:   g' = g + wd·p;  m = μ·m + g';  p -= lr·(nesterov ? g' + μ·m : m)
//   AdamW: p -= lr·wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p -= lr·m̂ / (√v̂ + ε)
void optimizer_update(const OptimizerConfig& cfg, float lr, std::int64_t step, bool decay, float* p, const float* g,
                      float* m, float* v, std::int64_t n);

// Cosine schedule with linear warm-up: step counts from 0;
// lr(step) = base·(step+1)/warmup during warm-up, then base·½(1 + cos(π·(step − warmup)/(total − warmup))).
float cosine_lr(float base, std::int64_t step, std::int64_t total, std::int64_t warmup);

// Optimizer state for a whole network (one flat vector of parameters, with per-tensor decay flags).
class Optimizer {
 public:
  Optimizer(const OptimizerConfig& cfg, const Plan& plan);
  // Floats of optimizer state for a plan: one moment for SGD, two for AdamW.
  static std::int64_t state_floats(const OptimizerConfig& cfg, const Plan& plan) {
    return plan.param_count * (cfg.kind == OptimizerKind::AdamW ? 2 : 1);
  }
  // Updates every tensor; large tensors are split into fixed chunks over `team` (element-wise, so the
  // result does not depend on the team's size).
  void step(std::vector<float>& params, const std::vector<float>& grads, float lr, Team* team = nullptr);
  std::int64_t steps() const { return t_; }
  // The moments (m; v for AdamW, empty for SGD) and the step count, to save and to resume from.
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  // Throws CoreError("invalid_argument", ...) when the sizes do not match this optimizer's.
  void restore(std::int64_t steps, const std::vector<float>& m, const std::vector<float>& v);

 private:
  OptimizerConfig cfg_;
  std::vector<TensorInfo> tensors_;
  std::vector<float> m_, v_;
  std::int64_t t_ = 0;
};

}  // namespace nasx
