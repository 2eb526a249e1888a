#include "loss.h"

#include <algorithm>
#include <cmath>

namespace nasx {

LossResult softmax_cross_entropy(const float* logits, const std::int32_t* labels, int batch, int classes, float* dlogits) {
  LossResult r;
  double total = 0.0;
  const float inv_batch = 1.0f / static_cast<float>(batch);
  for (int b = 0; b < batch; ++b) {
    const float* z = logits + static_cast<std::int64_t>(b) * classes;
    int arg = 0;
    float mx = z[0];
    for (int c = 1; c < classes; ++c)
      if (z[c] > mx) { mx = z[c]; arg = c; }
    double sum = 0.0;
    for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c] - mx));
    const int label = labels[b];
    const double log_sum = std::log(sum) + mx;
    total += log_sum - z[label];
    if (arg == label && std::isfinite(mx)) ++r.correct;
    if (dlogits) {
      float* d = dlogits + static_cast<std::int64_t>(b) * classes;
      for (int c = 0; c < classes; ++c) {
        const float p = static_cast<float>(std::exp(static_cast<double>(z[c]) - log_sum));
        d[c] = (p - (c == label ? 1.0f : 0.0f)) * inv_batch;
      }
    }
  }
  r.loss = total / batch;
  return r;
}

LossResult mean_squared_error(const float* out, const float* targets, int batch, int outputs, float* dout) {
  LossResult r;
  const std::int64_t n = static_cast<std::int64_t>(batch) * outputs;
  double total = 0.0;
  const float scale = 2.0f / static_cast<float>(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const float d = out[i] - targets[i];
    total += static_cast<double>(d) * d;
    if (dout) dout[i] = scale * d;
  }
  r.loss = total / static_cast<double>(n);
  return r;
}

}  // namespace nasx
