// libFuzzer: architecture → plan → network. Any graph of nodes is planned or refused with a
// CoreError; a plan that lays out within a small memory bound is built, initialised, run forward
// (training and inference) and backward on a small batch. Crashes, sanitizer reports and escaping
// exceptions of another type are findings.
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/plan.h"
#include "decode.h"

using namespace nasx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(data, size);
  const Shape input{fuzz::size(in.next()), fuzz::size(in.next()), fuzz::size(in.next())};
  const int outputs = fuzz::size(in.next());
  const int batch = fuzz::dim(in.next(), 4);
  const std::vector<NodeSpec> nodes = fuzz::nodes(in, 48);
  Plan plan;
  try {
    plan = build_plan(nodes, input, outputs);
  } catch (const CoreError&) {
    return 0;
  }
  // What the planner accepted is consistent.
  if (plan.nodes.empty() || plan.nodes.back().out.size() != outputs || plan.param_count < 0 || plan.flops < 0) __builtin_trap();
  const NetworkLayout layout = layout_network(plan, batch);
  try {
    layout.check_indices();
  } catch (const CoreError&) {
    return 0;
  }
  if (layout.bytes() < 0) __builtin_trap();
  if (layout.bytes() > (std::int64_t{8} << 20)) return 0;  // plans this big are the memory budget's to refuse
  Network net(std::move(plan), batch, cpu_backend());
  net.init_params(7);
  const Plan& p = net.plan();
  std::vector<float> x(static_cast<std::size_t>(batch * p.input.size()));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.7f);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = i % p.output_size;
  std::vector<float> dout(static_cast<std::size_t>(batch) * static_cast<std::size_t>(p.output_size));
  std::vector<float> dx(x.size());
  Rng rng(3);
  SerialTeam team;
  const float* y = net.forward(x.data(), batch, true, &rng, &team);
  if (p.output_size >= 2) softmax_cross_entropy(y, labels.data(), batch, p.output_size, dout.data());
  else mean_squared_error(y, x.data(), batch, 1, dout.data());
  net.backward(dout.data(), dx.data(), &team);
  net.forward(x.data(), batch, false, nullptr, &team);
  return 0;
}
