// libFuzzer: weight inheritance between two arbitrary graphs. The bytes give a parent and a child
// (nodes named like the TypeScript lowering names them, so that layers align); both are planned and
// built, the parent's weights and batch-norm statistics randomised, and inherit_weights maps them.
// Findings: a crash, a sanitizer report, an exception other than CoreError, vectors resized, or a
// report that claims the child preserves the parent's function when its inference outputs differ.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/inherit.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/plan.h"
#include "core/rng.h"
#include "decode.h"

using namespace nasx;

namespace {

const char* const kSuffixes[] = {"", ".bn", ".relu", ".residual[0]", ".residual[1]", ".add", ".tanh", ".dropout"};

void name_nodes(std::vector<NodeSpec>& nodes, const std::uint8_t* data, std::size_t size, std::size_t salt) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::uint8_t b = size ? data[(i * 13 + salt) % size] : 0;
    nodes[i].name = i + 1 == nodes.size() ? "output" : "layers[" + std::to_string(b % 6) + "]" + kSuffixes[(b / 6) % 8];
  }
}

bool small(const Plan& p) {
  const NetworkLayout layout = layout_network(p, 4);
  try {
    layout.check_indices();
  } catch (const CoreError&) {
    return false;
  }
  return layout.bytes() >= 0 && layout.bytes() <= (std::int64_t{4} << 20);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(data, size);
  const Shape input{fuzz::dim(in.next(), 6), fuzz::dim(in.next(), 6), fuzz::dim(in.next(), 4)};
  const Shape child_input = (in.next() & 7) == 0 ? Shape{input.h + 1, input.w, input.c} : input;
  const int outputs = fuzz::dim(in.next(), 5);
  const std::size_t split = in.next();
  std::vector<NodeSpec> all = fuzz::nodes(in, 32);
  const std::size_t k = all.empty() ? 0 : split % (all.size() + 1);
  std::vector<NodeSpec> parent_nodes(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
  std::vector<NodeSpec> child_nodes(all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
  // Both end in the output head, as lowered architectures do.
  NodeSpec head;
  head.op = OpKind::Dense;
  head.units = outputs;
  parent_nodes.push_back(head);
  child_nodes.push_back(head);
  name_nodes(parent_nodes, data, size, 1);
  name_nodes(child_nodes, data, size, 5);
  Plan pp, cp;
  try {
    pp = build_plan(parent_nodes, input, outputs);
    cp = build_plan(child_nodes, child_input, outputs);
  } catch (const CoreError&) {
    return 0;
  }
  if (!small(pp) || !small(cp)) return 0;
  Network parent(std::move(pp), 4, cpu_backend());
  Network child(std::move(cp), 4, cpu_backend());
  parent.init_params(3);
  child.init_params(5);
  Rng rng(11);
  for (const TensorInfo& t : parent.plan().params)
    if (t.fan_in == 0)
      for (std::int64_t i = 0; i < t.size; ++i) parent.params()[static_cast<std::size_t>(t.offset + i)] = static_cast<float>(rng.uniform() + 0.5);
  for (const TensorInfo& t : parent.plan().state)
    for (std::int64_t i = 0; i < t.size; ++i) parent.state()[static_cast<std::size_t>(t.offset + i)] = static_cast<float>(rng.uniform() + 0.5);
  const std::size_t np = child.params().size(), ns = child.state().size();
  InheritReport report;
  try {
    report = inherit_weights(parent.plan(), parent.params(), parent.state(), child.plan(), child.params(), child.state(), 9);
  } catch (const CoreError&) {
    __builtin_trap();  // every pair of valid plans maps
  }
  if (child.params().size() != np || child.state().size() != ns) __builtin_trap();
  if (report.params.size() != child.plan().params.size() || report.state.size() != child.plan().state.size()) __builtin_trap();
  if (!report.function_preserving) return 0;
  // The claim: equal inference outputs on the same input.
  const int batch = 4;
  std::vector<float> x(static_cast<std::size_t>(batch * input.size()));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.37f);
  SerialTeam team;
  const float* a = parent.forward(x.data(), batch, false, nullptr, &team);
  std::vector<float> ya(a, a + batch * outputs);
  const float* b = child.forward(x.data(), batch, false, nullptr, &team);
  for (int i = 0; i < batch * outputs; ++i) {
    if (!std::isfinite(ya[static_cast<std::size_t>(i)]) || std::fabs(ya[static_cast<std::size_t>(i)]) > 1e6f) return 0;
    if (std::fabs(ya[static_cast<std::size_t>(i)] - b[i]) > 1e-3f * std::max(1.0f, std::fabs(ya[static_cast<std::size_t>(i)]))) __builtin_trap();
  }
  return 0;
}
