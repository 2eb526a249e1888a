// A network plan: the validated, shape-checked form of a graph of NodeSpecs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec.h"

namespace nasx {

// One named tensor in the flat parameter (or state) vector of a network.
struct TensorInfo {
  std::string name;            // e.g. "layers[0].weight"
  std::vector<int> shape;      // dense weight [in, out]; conv weight [k, k, cin, cout]; depthwise [k, k, c]
  std::int64_t offset = 0;     // into the flat vector
  std::int64_t size = 0;
  bool decay = false;          // weight decay applies (weights, not biases or norm parameters)
  int fan_in = 0;              // for initialisation; 0 = not a weight
};

struct PlannedNode {
  NodeSpec spec;               // inputs resolved to concrete indices (-1 = network input)
  std::vector<Shape> in_shapes;
  Shape out;
  std::vector<int> params;     // indices into Plan::params
  std::vector<int> state;      // indices into Plan::state (batch norm running mean and variance)
  std::int64_t flops = 0;      // forward FLOPs per sample
};

struct Plan {
  Shape input;
  int output_size = 0;
  std::vector<PlannedNode> nodes;
  std::vector<TensorInfo> params;
  std::vector<TensorInfo> state;
  std::int64_t param_count = 0;
  std::int64_t state_count = 0;
  std::int64_t flops = 0;      // forward FLOPs per sample (2 per multiply-add)
};

// The most values one sample of any tensor (the input included) may have.
constexpr std::int64_t kMaxSampleValues = 64LL * 1024 * 1024;

// Checks and shapes a graph. Throws CoreError("invalid_arch", ...) naming the node and field at fault.
Plan build_plan(const std::vector<NodeSpec>& nodes, Shape input, int output_size);

const char* op_name(OpKind op);
const char* activation_name(ActivationKind a);

}  // namespace nasx
