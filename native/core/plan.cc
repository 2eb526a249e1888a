#include "plan.h"

#include <sstream>

namespace nasx {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::Dense: return "dense";
    case OpKind::Conv2d: return "conv2d";
    case OpKind::DepthwiseConv2d: return "depthwise_conv2d";
    case OpKind::MaxPool: return "max_pool";
    case OpKind::AvgPool: return "avg_pool";
    case OpKind::GlobalAvgPool: return "global_avg_pool";
    case OpKind::BatchNorm: return "batch_norm";
    case OpKind::Dropout: return "dropout";
    case OpKind::Activation: return "activation";
    case OpKind::Flatten: return "flatten";
    case OpKind::Add: return "add";
  }
  return "unknown";
}

const char* activation_name(ActivationKind a) {
  switch (a) {
    case ActivationKind::Identity: return "identity";
    case ActivationKind::Relu: return "relu";
    case ActivationKind::Gelu: return "gelu";
    case ActivationKind::Tanh: return "tanh";
    case ActivationKind::Sigmoid: return "sigmoid";
  }
  return "unknown";
}

namespace {

constexpr std::int64_t kMaxParams = 256LL * 1024 * 1024;  // 1 GiB of float32 weights
constexpr int kMaxNodes = 4096;

[[noreturn]] void fail(const NodeSpec& n, const std::string& what) {
  throw invalid_arch(n.name + " (" + op_name(n.op) + "): " + what);
}

void check_kernel_stride(const NodeSpec& n, bool conv) {
  if (conv) {
    if (n.kernel != 1 && n.kernel != 3 && n.kernel != 5)
      fail(n, "kernel must be 1, 3 or 5 but got " + std::to_string(n.kernel));
  } else if (n.kernel < 1 || n.kernel > 7) {
    fail(n, "kernel must be an integer between 1 and 7 but got " + std::to_string(n.kernel));
  }
  if (n.stride != 1 && n.stride != 2) fail(n, "stride must be 1 or 2 but got " + std::to_string(n.stride));
}

int out_dim(int in, int stride) { return (in + stride - 1) / stride; }

class Planner {
 public:
  Planner(Shape input, int output_size) {
    plan_.input = input;
    plan_.output_size = output_size;
  }

  int add_param(const std::string& name, std::vector<int> shape, bool decay, int fan_in) {
    return add_tensor(plan_.params, plan_.param_count, name, std::move(shape), decay, fan_in);
  }
  int add_state(const std::string& name, std::vector<int> shape) {
    return add_tensor(plan_.state, plan_.state_count, name, std::move(shape), false, 0);
  }

  Shape shape_of(int index) const { return index < 0 ? plan_.input : plan_.nodes[static_cast<size_t>(index)].out; }

  // Plans one node whose inputs are already resolved to indices in the plan.
  void place(NodeSpec spec) {
    PlannedNode node;
    for (int i : spec.inputs) node.in_shapes.push_back(shape_of(i));
    const Shape in = node.in_shapes.empty() ? plan_.input : node.in_shapes[0];
    const NodeSpec& n = spec;
    const std::string& p = n.name;
    if (n.op != OpKind::Add && n.inputs.size() != 1)
      fail(n, "takes exactly 1 input but got " + std::to_string(n.inputs.size()));
    switch (n.op) {
      case OpKind::Dense: {
        if (n.units < 1) fail(n, "units must be a positive integer but got " + std::to_string(n.units));
        const std::int64_t fan_in = in.size();
        if (fan_in * n.units > kMaxParams) fail(n, "has too many weights (" + std::to_string(fan_in * n.units) + ")");
        node.out = Shape{1, 1, n.units};
        node.params.push_back(add_param(p + ".weight", {static_cast<int>(fan_in), n.units}, true, static_cast<int>(fan_in)));
        if (n.bias) node.params.push_back(add_param(p + ".bias", {n.units}, false, 0));
        node.flops = 2 * fan_in * n.units;
        break;
      }
      case OpKind::Conv2d: {
        if (n.filters < 1) fail(n, "filters must be a positive integer but got " + std::to_string(n.filters));
        check_kernel_stride(n, true);
        node.out = Shape{out_dim(in.h, n.stride), out_dim(in.w, n.stride), n.filters};
        const int fan_in = n.kernel * n.kernel * in.c;
        node.params.push_back(add_param(p + ".weight", {n.kernel, n.kernel, in.c, n.filters}, true, fan_in));
        if (n.bias) node.params.push_back(add_param(p + ".bias", {n.filters}, false, 0));
        node.flops = 2LL * node.out.h * node.out.w * n.filters * fan_in;
        break;
      }
      case OpKind::DepthwiseConv2d: {
        check_kernel_stride(n, true);
        node.out = Shape{out_dim(in.h, n.stride), out_dim(in.w, n.stride), in.c};
        node.params.push_back(add_param(p + ".weight", {n.kernel, n.kernel, in.c}, true, n.kernel * n.kernel));
        if (n.bias) node.params.push_back(add_param(p + ".bias", {in.c}, false, 0));
        node.flops = 2LL * node.out.size() * n.kernel * n.kernel;
        break;
      }
      case OpKind::MaxPool:
      case OpKind::AvgPool:
        check_kernel_stride(n, false);
        node.out = Shape{out_dim(in.h, n.stride), out_dim(in.w, n.stride), in.c};
        node.flops = node.out.size() * n.kernel * n.kernel;
        break;
      case OpKind::GlobalAvgPool:
        node.out = Shape{1, 1, in.c};
        node.flops = in.size();
        break;
      case OpKind::BatchNorm:
        node.out = in;
        node.params.push_back(add_param(p + ".gamma", {in.c}, false, 0));
        node.params.push_back(add_param(p + ".beta", {in.c}, false, 0));
        node.state.push_back(add_state(p + ".running_mean", {in.c}));
        node.state.push_back(add_state(p + ".running_var", {in.c}));
        node.flops = 2 * in.size();
        break;
      case OpKind::Dropout:
        if (!(n.rate >= 0.0f && n.rate < 1.0f)) {
          std::ostringstream os;
          os << "rate must be a number in [0, 1) but got " << n.rate;
          fail(n, os.str());
        }
        node.out = in;
        break;
      case OpKind::Activation:
        node.out = in;
        node.flops = in.size();
        break;
      case OpKind::Flatten:
        node.out = Shape{1, 1, static_cast<int>(in.size())};
        break;
      case OpKind::Add: {
        if (n.inputs.size() < 2) fail(n, "needs at least 2 inputs but got " + std::to_string(n.inputs.size()));
        for (size_t i = 1; i < node.in_shapes.size(); ++i) {
          if (node.in_shapes[i] != in)
            fail(n, "inputs must have equal shapes but got " + in.str() + " and " + node.in_shapes[i].str());
        }
        node.out = in;
        node.flops = in.size() * static_cast<std::int64_t>(n.inputs.size() - 1);
        break;
      }
    }
    if (node.out.size() > kMaxSampleValues) fail(n, "output " + node.out.str() + " is too large");
    node.spec = std::move(spec);
    plan_.flops += node.flops;
    plan_.nodes.push_back(std::move(node));
  }

  // A 1×1 convolution (or dense layer, for flat tensors) mapping `from` onto shape `to`, for residual adds.
  int place_projection(const NodeSpec& add, int from, Shape to, int which) {
    const Shape s = shape_of(from);
    NodeSpec proj;
    proj.name = add.name + ".projection" + (which > 1 ? std::to_string(which) : "");
    proj.inputs = {from};
    proj.bias = false;
    if (to.h == 1 && to.w == 1) {
      proj.op = OpKind::Dense;
      proj.units = to.c;
    } else {
      proj.op = OpKind::Conv2d;
      proj.filters = to.c;
      proj.kernel = 1;
      proj.stride = 0;
      for (int st = 1; st <= 2; ++st)
        if (out_dim(s.h, st) == to.h && out_dim(s.w, st) == to.w) { proj.stride = st; break; }
      if (proj.stride == 0)
        fail(add, "cannot project input of shape " + s.str() + " onto " + to.str() + " (at most a stride-2 downsampling)");
    }
    place(std::move(proj));
    return static_cast<int>(plan_.nodes.size()) - 1;
  }

  Plan take() { return std::move(plan_); }
  size_t size() const { return plan_.nodes.size(); }

 private:
  static int add_tensor(std::vector<TensorInfo>& list, std::int64_t& count, const std::string& name,
                        std::vector<int> shape, bool decay, int fan_in) {
    TensorInfo t;
    t.name = name;
    t.size = 1;
    for (int d : shape) t.size *= d;
    t.shape = std::move(shape);
    t.offset = count;
    t.decay = decay;
    t.fan_in = fan_in;
    count += t.size;
    if (count > kMaxParams) throw invalid_arch("the network has more than " + std::to_string(kMaxParams) + " parameters");
    list.push_back(std::move(t));
    return static_cast<int>(list.size()) - 1;
  }

  Plan plan_;
};

}  // namespace

Plan build_plan(const std::vector<NodeSpec>& nodes, Shape input, int output_size) {
  if (input.h < 1 || input.w < 1 || input.c < 1) throw invalid_arch("input shape must be positive but got " + input.str());
  if (input.size() > kMaxSampleValues)
    throw invalid_arch("the input shape " + input.str() + " has " + std::to_string(input.size()) + " values per sample; at most " +
                       std::to_string(kMaxSampleValues) + " are supported");
  if (output_size < 1) throw invalid_arch("output size must be positive but got " + std::to_string(output_size));
  if (nodes.empty()) throw invalid_arch("the network has no layers");
  if (nodes.size() > static_cast<size_t>(kMaxNodes))
    throw invalid_arch("the network has " + std::to_string(nodes.size()) + " layers; at most " + std::to_string(kMaxNodes) + " are supported");

  Planner planner(input, output_size);
  std::vector<int> where(nodes.size(), -1);  // user node index -> plan index
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeSpec spec = nodes[i];
    if (spec.name.empty()) spec.name = "nodes[" + std::to_string(i) + "]";
    if (spec.inputs.empty()) spec.inputs.push_back(static_cast<int>(i) - 1);
    for (int& in : spec.inputs) {
      if (in < -1 || in >= static_cast<int>(i))
        fail(spec, "inputs must refer to earlier layers (-1 for the network input, at most " + std::to_string(static_cast<int>(i) - 1) +
                       ") but got " + std::to_string(in));
      in = in < 0 ? -1 : where[static_cast<size_t>(in)];
    }
    if (spec.op == OpKind::Add && spec.project && spec.inputs.size() >= 2) {
      const Shape target = planner.shape_of(spec.inputs[0]);
      for (size_t k = 1; k < spec.inputs.size(); ++k) {
        if (planner.shape_of(spec.inputs[k]) != target)
          spec.inputs[k] = planner.place_projection(spec, spec.inputs[k], target, static_cast<int>(k));
      }
    }
    planner.place(std::move(spec));
    where[i] = static_cast<int>(planner.size()) - 1;
  }
  Plan plan = planner.take();
  const PlannedNode& last = plan.nodes.back();
  if (last.out.size() != output_size) {
    throw invalid_arch(last.spec.name + " (" + op_name(last.spec.op) + "): the network's output must have " +
                       std::to_string(output_size) + " values per sample but has " + std::to_string(last.out.size()) +
                       " (shape " + last.out.str() + ")");
  }
  return plan;
}

}  // namespace nasx
