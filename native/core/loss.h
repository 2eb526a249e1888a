// Losses: softmax cross-entropy (classification) and mean squared error (regression).
#pragma once

#include <cstdint>

namespace nasx {

struct LossResult {
  double loss = 0.0;      // mean over the batch
  int correct = 0;        // classification: samples whose arg-max logit is the label
};

// Mean softmax cross-entropy of `logits` (batch × classes) against integer labels. When dlogits is not
// null it receives d(mean loss)/d(logits). Labels must be in [0, classes).
LossResult softmax_cross_entropy(const float* logits, const std::int32_t* labels, int batch, int classes, float* dlogits);

// Mean squared error over all batch × outputs values; dout (optional) receives its gradient.
LossResult mean_squared_error(const float* out, const float* targets, int batch, int outputs, float* dout);

}  // namespace nasx
