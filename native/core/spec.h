// Plain data structures exchanged between the binding, the planner and the trainer.
// Nothing here knows about Node.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nasx {

enum class OpKind {
  Dense,
  Conv2d,
  DepthwiseConv2d,
  MaxPool,
  AvgPool,
  GlobalAvgPool,
  BatchNorm,
  Dropout,
  Activation,
  Flatten,
  Add,
};

enum class ActivationKind { Identity, Relu, Gelu, Tanh, Sigmoid };

// One node of a network graph, in topological order. The graph's input is node -1.
struct NodeSpec {
  OpKind op = OpKind::Dense;
  std::string name;          // shown in error messages, e.g. "layers[2]"
  std::vector<int> inputs;   // earlier node indices, -1 for the network input; empty = the previous node
  int units = 0;             // dense: output features
  int filters = 0;           // conv2d: output channels
  int kernel = 0;            // conv2d, depthwise, pooling: square window size
  int stride = 1;            // conv2d, depthwise, pooling
  bool bias = true;          // dense, conv2d, depthwise
  ActivationKind activation = ActivationKind::Identity;  // activation nodes
  float rate = 0.0f;         // dropout probability
  bool project = false;      // add: project inputs whose shape differs from the first input's
};

// Per-sample tensor shape; flat vectors are 1×1×c.
struct Shape {
  int h = 1, w = 1, c = 1;
  // h·w·c, saturating at INT64_MAX (an over-large shape is refused by whoever checks the size).
  std::int64_t size() const {
    if (h < 0 || w < 0 || c < 0) return -1;
    const std::int64_t hw = static_cast<std::int64_t>(h) * w;  // below 2^62
    if (c != 0 && hw > INT64_MAX / c) return INT64_MAX;
    return hw * c;
  }
  bool operator==(const Shape& o) const { return h == o.h && w == o.w && c == o.c; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const { return "[" + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) + "]"; }
};

enum class Task { Classification, Regression };

// Errors raised by core. `code` is a short stable identifier that the binding maps to NasxError codes.
class CoreError : public std::runtime_error {
 public:
  CoreError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

inline CoreError invalid_arch(const std::string& message) { return CoreError("invalid_arch", message); }

}  // namespace nasx
