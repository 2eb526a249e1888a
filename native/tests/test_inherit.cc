// Tests of weight inheritance without Node: every function-preserving change (widening dense and conv
// layers, with and without batch norm and through a flatten; inserting identity layers after ReLU;
// embedding a kernel in a larger one; a new residual block) gives a child whose inference outputs
// equal the parent's within 1e-5 on random inputs, with "trained" parents (random weights and
// batch-norm statistics). Changes that cannot preserve the function say so and why. Run under ASan/UBSan.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "core/inherit.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/plan.h"
#include "core/rng.h"
#include "specs.h"

using namespace nasx;
using namespace nasx::testing;

namespace {

NodeSpec named(NodeSpec n, const std::string& name, std::vector<int> inputs = {}) {
  n.name = name;
  n.inputs = std::move(inputs);
  return n;
}
NodeSpec bn(const std::string& name) { return named(node(OpKind::BatchNorm), name); }
NodeSpec relu(const std::string& name) { return named(act(ActivationKind::Relu), name); }
NodeSpec dropout(const std::string& name) {
  NodeSpec n = named(node(OpKind::Dropout), name);
  n.rate = 0.3f;
  return n;
}

// A parent that looks trained: random weights, biases, batch-norm scales, shifts and running statistics.
void randomise(Network& net, std::uint64_t seed) {
  SerialTeam team;
  net.init_params(seed, &team);
  Rng rng(seed + 11);
  const Plan& plan = net.plan();
  for (const TensorInfo& t : plan.params)
    if (t.fan_in == 0)
      for (std::int64_t i = 0; i < t.size; ++i) net.params()[static_cast<size_t>(t.offset + i)] = static_cast<float>(0.5 + rng.uniform() - 0.5 * (t.name.find("beta") != std::string::npos || t.name.find("bias") != std::string::npos));
  for (const TensorInfo& t : plan.state) {
    const bool var = t.name.find("running_var") != std::string::npos;
    for (std::int64_t i = 0; i < t.size; ++i)
      net.state()[static_cast<size_t>(t.offset + i)] = static_cast<float>(var ? 0.5 + 1.5 * rng.uniform() : rng.normal() * 0.3);
  }
}

std::vector<float> outputs(Network& net, const std::vector<float>& x, int n) {
  SerialTeam team;
  const float* y = net.forward(x.data(), n, false, nullptr, &team);
  return std::vector<float>(y, y + static_cast<size_t>(n) * static_cast<size_t>(net.plan().output_size));
}

struct Outcome {
  InheritReport report;
  double max_diff = 0;
  std::vector<float> parent_params, child_params;
};

Outcome inherit(const std::vector<NodeSpec>& parent_nodes, const std::vector<NodeSpec>& child_nodes, Shape input, int outputs_n = 3) {
  Network parent(build_plan(parent_nodes, input, outputs_n), 16, cpu_backend());
  randomise(parent, 5);
  Network child(build_plan(child_nodes, input, outputs_n), 16, cpu_backend());
  SerialTeam team;
  child.init_params(9, &team);
  Outcome o;
  o.report = inherit_weights(parent.plan(), parent.params(), parent.state(), child.plan(), child.params(), child.state(), 3);
  Rng rng(21);
  const int n = 16;
  std::vector<float> x(static_cast<size_t>(n * input.size()));
  for (float& v : x) v = static_cast<float>(rng.normal());
  const std::vector<float> a = outputs(parent, x, n), b = outputs(child, x, n);
  for (size_t i = 0; i < a.size(); ++i) o.max_diff = std::max(o.max_diff, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(static_cast<double>(a[i]))));
  o.parent_params = parent.params();
  o.child_params = child.params();
  return o;
}

std::string how(const InheritReport& r, const std::string& tensor) {
  for (const InheritedTensor& t : r.params)
    if (t.name == tensor) return t.how;
  for (const InheritedTensor& t : r.state)
    if (t.name == tensor) return t.how;
  return "(no such tensor)";
}

void expect_preserving(const Outcome& o, const char* what) {
  CHECK_MSG(o.report.function_preserving, std::string(what) + ": " + o.report.reason);
  CHECK_MSG(o.max_diff <= 1e-5, std::string(what) + ": max relative difference " + std::to_string(o.max_diff));
}

std::vector<NodeSpec> mlp(const std::vector<int>& widths, bool batch_norm, bool with_dropout = false) {
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string p = "layers[" + std::to_string(i) + "]";
    nodes.push_back(named(dense(widths[i]), p));
    if (batch_norm) nodes.push_back(bn(p + ".bn"));
    nodes.push_back(relu(p + ".relu"));
    if (with_dropout) nodes.push_back(dropout(p + ".dropout"));
  }
  nodes.push_back(named(dense(3), "output"));
  return nodes;
}

void test_same_architecture_copies() {
  const Outcome o = inherit(mlp({16, 8}, true), mlp({16, 8}, true), Shape{1, 1, 6});
  expect_preserving(o, "same architecture");
  CHECK(o.child_params == o.parent_params);
  for (const InheritedTensor& t : o.report.params) CHECK_MSG(t.how == "copy" && t.from == t.name, t.name + ": " + t.how);
  for (const InheritedTensor& t : o.report.state) CHECK_MSG(t.how == "copy", t.name + ": " + t.how);
}

void test_widening_dense() {
  expect_preserving(inherit(mlp({16, 8}, false), mlp({27, 8}, false), Shape{1, 1, 6}), "dense 16 → 27");
  expect_preserving(inherit(mlp({16, 8}, false), mlp({40, 19}, false), Shape{1, 1, 6}), "dense 16, 8 → 40, 19");
  const Outcome o = inherit(mlp({16, 8}, true), mlp({33, 8}, true), Shape{1, 1, 6});
  expect_preserving(o, "dense with batch norm 16 → 33");
  CHECK(how(o.report, "layers[0].weight") == "widen");
  CHECK(how(o.report, "layers[0].bn.running_var") == "widen");
  CHECK(how(o.report, "layers[1].weight") == "widen");  // its inputs: replicated units' shares
  CHECK(how(o.report, "output.weight") == "copy");
  // Dropout in the parent and not in the child (the identity in inference mode).
  expect_preserving(inherit(mlp({16, 8}, false, true), mlp({20, 8}, false), Shape{1, 1, 6}), "parent with dropout");
}

void test_deepening_dense() {
  // layers[1] (16 units after a 16-unit ReLU layer) is new: the identity; the rest shifts by one.
  std::vector<NodeSpec> child = mlp({16, 16, 8}, false);
  Outcome o = inherit(mlp({16, 8}, false), child, Shape{1, 1, 6});
  expect_preserving(o, "dense deepened");
  CHECK(how(o.report, "layers[1].weight") == "identity");
  CHECK(how(o.report, "layers[2].weight") == "copy");
  for (const InheritedTensor& t : o.report.params)
    if (t.name == "layers[2].weight") CHECK(t.from == "layers[1].weight");
  // With batch norm: the new batch norm passes its input through too.
  o = inherit(mlp({16, 8}, true), mlp({16, 16, 8}, true), Shape{1, 1, 6});
  expect_preserving(o, "dense with batch norm deepened");
  CHECK(how(o.report, "layers[1].bn.gamma") == "identity");
  // Deepened and widened at once.
  expect_preserving(inherit(mlp({16, 8}, true), mlp({24, 24, 8}, true), Shape{1, 1, 6}), "deepened and widened");
  // A new tanh layer cannot be the identity: inherited, but not function-preserving, with the reason.
  child = mlp({16, 16, 8}, false);
  child[3].activation = ActivationKind::Tanh;
  child[3].name = "layers[1].tanh";
  o = inherit(mlp({16, 8}, false), child, Shape{1, 1, 6});
  CHECK(!o.report.function_preserving);
  CHECK_MSG(o.report.reason.find("layers[1].tanh") != std::string::npos, o.report.reason);
  CHECK(how(o.report, "layers[1].weight") == "identity");
}

void test_shrinking_keeps_the_largest_units() {
  const Outcome o = inherit(mlp({16, 8}, false), mlp({10, 8}, false), Shape{1, 1, 6});
  CHECK(!o.report.function_preserving);
  CHECK_MSG(o.report.reason.find("narrower") != std::string::npos, o.report.reason);
  CHECK(how(o.report, "layers[0].weight") == "shrink");
  // The child's 10 units are the parent's 10 of largest incoming weight norm, in order.
  std::vector<std::pair<double, int>> norms;
  for (int j = 0; j < 16; ++j) {
    double s = 0;
    for (int i = 0; i < 6; ++i) s += o.parent_params[static_cast<size_t>(i * 16 + j)] * o.parent_params[static_cast<size_t>(i * 16 + j)];
    norms.push_back({-s, j});
  }
  std::sort(norms.begin(), norms.end());
  std::vector<int> kept;
  for (int k = 0; k < 10; ++k) kept.push_back(norms[static_cast<size_t>(k)].second);
  std::sort(kept.begin(), kept.end());
  bool same = true;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 10; ++j)
      same = same && o.child_params[static_cast<size_t>(i * 10 + j)] == o.parent_params[static_cast<size_t>(i * 16 + kept[static_cast<size_t>(j)])];
  CHECK(same);
}

std::vector<NodeSpec> cnn(int f0, int k1, bool flatten, bool batch_norm, int f1 = 6) {
  std::vector<NodeSpec> nodes;
  nodes.push_back(named(conv(f0, 3, 1), "layers[0]"));
  if (batch_norm) nodes.push_back(bn("layers[0].bn"));
  nodes.push_back(relu("layers[0].relu"));
  nodes.push_back(named(conv(f1, k1, 2), "layers[1]"));
  nodes.push_back(relu("layers[1].relu"));
  nodes.push_back(named(node(flatten ? OpKind::Flatten : OpKind::GlobalAvgPool), "layers[2]"));
  nodes.push_back(named(dense(3), "output"));
  return nodes;
}

void test_conv_changes() {
  const Shape in{7, 7, 2};
  expect_preserving(inherit(cnn(4, 3, false, false), cnn(7, 3, false, false), in), "conv 4 → 7 filters, global pooling");
  expect_preserving(inherit(cnn(4, 3, true, true), cnn(9, 3, true, true), in), "conv 4 → 9 filters with batch norm, flatten");
  expect_preserving(inherit(cnn(4, 3, true, false), cnn(4, 3, true, false, 11), in), "the conv before a flatten widened 6 → 11");
  Outcome o = inherit(cnn(4, 3, false, false), cnn(4, 5, false, false), in);
  expect_preserving(o, "kernel 3 → 5");
  CHECK(how(o.report, "layers[1].weight") == "kernel-embed");
  o = inherit(cnn(4, 5, false, false), cnn(4, 3, false, false), in);
  CHECK(!o.report.function_preserving);
  CHECK(how(o.report, "layers[1].weight") == "kernel-crop");
  // A new 3×3 conv of 4 filters after layers[0]: the identity (centre tap).
  std::vector<NodeSpec> deeper = cnn(4, 3, false, true);
  deeper.insert(deeper.begin() + 3, {named(conv(4, 3, 1), "layers[1]"), bn("layers[1].bn"), relu("layers[1].relu")});
  for (size_t i = 6; i < deeper.size(); ++i) {
    std::string& name = deeper[i].name;
    if (name.rfind("layers[1]", 0) == 0) name.replace(0, 9, "layers[2]");
    else if (name.rfind("layers[2]", 0) == 0) name.replace(0, 9, "layers[3]");
  }
  o = inherit(cnn(4, 3, false, true), deeper, in);
  expect_preserving(o, "conv deepened");
  CHECK(how(o.report, "layers[1].weight") == "identity");
  CHECK(how(o.report, "layers[2].weight") == "copy");
}

void test_new_residual_block() {
  const Shape in{6, 6, 2};
  std::vector<NodeSpec> parent = {named(conv(4, 3, 1), "layers[0]"), relu("layers[0].relu"), named(node(OpKind::GlobalAvgPool), "layers[1]"),
                                  named(dense(3), "output")};
  for (bool with_bn : {false, true}) {
    // layers[1] is a new residual block; its branch ends without ReLU, so it can start at zero.
    std::vector<NodeSpec> child = {named(conv(4, 3, 1), "layers[0]"), relu("layers[0].relu"),
                                   named(conv(4, 3, 1), "layers[1].residual[0]"), relu("layers[1].residual[0].relu"),
                                   named(conv(4, 3, 1), "layers[1].residual[1]")};
    if (with_bn) child.push_back(bn("layers[1].residual[1].bn"));
    const int last = static_cast<int>(child.size()) - 1;
    child.push_back(named(node(OpKind::Add), "layers[1].add", {last, 1}));
    child.push_back(named(node(OpKind::GlobalAvgPool), "layers[2]"));
    child.push_back(named(dense(3), "output"));
    const Outcome o = inherit(parent, child, in);
    expect_preserving(o, with_bn ? "new residual block ending in batch norm" : "new residual block");
    CHECK(how(o.report, with_bn ? "layers[1].residual[1].bn.gamma" : "layers[1].residual[1].weight") == "zero");
    CHECK(how(o.report, "layers[1].residual[0].weight") == "identity");  // a new 4 → 4 conv
    CHECK(how(o.report, "output.weight") == "copy");
  }
  // A branch ending in ReLU would get no gradient at zero: left fresh, and the report says why not.
  std::vector<NodeSpec> child = {named(conv(4, 3, 1), "layers[0]"), relu("layers[0].relu"), named(conv(4, 3, 1), "layers[1].residual[0]"),
                                 relu("layers[1].residual[0].relu"), named(node(OpKind::Add), "layers[1].add", {3, 1}),
                                 named(node(OpKind::GlobalAvgPool), "layers[2]"), named(dense(3), "output")};
  const Outcome o = inherit(parent, child, in);
  CHECK(!o.report.function_preserving);
  CHECK_MSG(o.report.reason.find("layers[1].add") != std::string::npos, o.report.reason);
}

void test_bad_sizes_throw() {
  const Plan p = build_plan(mlp({4}, false), Shape{1, 1, 3}, 3);
  std::vector<float> pp(static_cast<size_t>(p.param_count)), ps, cp(static_cast<size_t>(p.param_count)), cs;
  std::vector<float> short_params(3);
  bool threw = false;
  try {
    inherit_weights(p, short_params, ps, p, cp, cs, 0);
  } catch (const CoreError& e) {
    threw = e.code() == "invalid_argument" && std::string(e.what()).find("parent's parameters hold 3 values") != std::string::npos;
  }
  CHECK(threw);
  CHECK(inherit_weights(p, pp, ps, p, cp, cs, 0).function_preserving);
}

}  // namespace

int main() {
  test_same_architecture_copies();
  test_widening_dense();
  test_deepening_dense();
  test_shrinking_keeps_the_largest_units();
  test_conv_changes();
  test_new_residual_block();
  test_bad_sizes_throw();
  return summary("test_inherit");
}
