// Tests of the zero-cost proxies without Node: the linear algebra they rest on, each proxy against a
// direct computation on a small network, synflow's invariance to rescaling ReLU layers, and that the
// batched scores are deterministic whatever the threads and the other candidates. Run under ASan/UBSan.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/plan.h"
#include "core/proxies.h"
#include "core/rng.h"
#include "specs.h"

using namespace nasx;
using namespace nasx::testing;

namespace {

bool close(double a, double b, double tol = 1e-6) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

void test_linear_algebra() {
  // [[2,1,0],[1,2,1],[0,1,2]]: eigenvalues 2 − √2, 2, 2 + √2; determinant 4.
  const std::vector<double> a = {2, 1, 0, 1, 2, 1, 0, 1, 2};
  const std::vector<double> e = symmetric_eigenvalues(a, 3);
  CHECK(close(e[0], 2 - std::sqrt(2.0), 1e-9) && close(e[1], 2, 1e-9) && close(e[2], 2 + std::sqrt(2.0), 1e-9));
  CHECK(close(log_abs_determinant(a, 3), std::log(4.0), 1e-12));
  CHECK(close(log_abs_determinant({0, 3, 2, 0}, 2), std::log(6.0), 1e-12));  // needs a pivot swap
  CHECK(log_abs_determinant({1, 2, 2, 4}, 2) == -std::numeric_limits<double>::infinity());
  // A random symmetric 40×40 matrix: the eigenvalues sum to the trace and multiply to the determinant.
  Rng rng(7);
  const int n = 40;
  std::vector<double> m(static_cast<size_t>(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) m[static_cast<size_t>(i * n + j)] = m[static_cast<size_t>(j * n + i)] = rng.normal() + (i == j ? 8.0 : 0.0);
  double trace = 0, log_prod = 0;
  for (int i = 0; i < n; ++i) trace += m[static_cast<size_t>(i * n + i)];
  const std::vector<double> ev = symmetric_eigenvalues(m, n);
  double sum = 0;
  for (double l : ev) sum += l, log_prod += std::log(std::fabs(l));
  CHECK_MSG(close(sum, trace, 1e-9), std::to_string(sum) + " vs " + std::to_string(trace));
  CHECK_MSG(close(log_prod, log_abs_determinant(m, n), 1e-9), std::to_string(log_prod));
  CHECK(std::is_sorted(ev.begin(), ev.end()));
}

struct Data {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  TrainData view;
};

Data data(int n, int features, int classes) {
  Data d;
  Rng rng(3);
  d.x.resize(static_cast<size_t>(n * features));
  d.y.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    d.y[static_cast<size_t>(i)] = i % classes;
    for (int j = 0; j < features; ++j) d.x[static_cast<size_t>(i * features + j)] = static_cast<float>(rng.normal() + (j % classes == i % classes));
  }
  d.view.input = Shape{1, 1, features};
  d.view.output_size = classes;
  d.view.train = DataSplit{d.x.data(), d.y.data(), nullptr, n};
  return d;
}

void test_against_direct_computation() {
  // 6 → 5 (ReLU) → 3, on 8 samples: every proxy recomputed here from the network's own passes.
  const Data d = data(8, 6, 3);
  NodeSpec hidden = dense(5);
  hidden.bias = false;
  Plan plan = build_plan({hidden, act(ActivationKind::Relu), dense(3)}, d.view.input, 3);
  Network net(std::move(plan), 8, cpu_backend());
  net.init_params(11);
  SerialTeam team;
  const ProxyBatch batch{d.x.data(), d.y.data(), nullptr, 8, Task::Classification};
  const std::vector<float> params = net.params();
  const ProxyScores p = network_proxies(net, batch, 0, &team, cpu_backend());
  CHECK(net.params() == params);

  Network ref(build_plan({hidden, act(ActivationKind::Relu), dense(3)}, d.view.input, 3), 8, cpu_backend());
  ref.params() = params;
  const Plan& rp = ref.plan();
  // grad_norm, snip and fisher: one training-mode pass of the cross-entropy.
  const float* y = ref.forward(d.x.data(), 8, true, nullptr, &team);
  std::vector<float> dout(24);
  softmax_cross_entropy(y, d.y.data(), 8, 3, dout.data());
  ref.backward(dout.data(), nullptr, &team);
  double grad_norm = 0, snip = 0;
  for (const TensorInfo& t : rp.params) {
    if (t.fan_in == 0) continue;
    double sq = 0;
    for (std::int64_t i = 0; i < t.size; ++i) {
      sq += static_cast<double>(ref.grads()[t.offset + i]) * ref.grads()[t.offset + i];
      snip += std::fabs(static_cast<double>(ref.grads()[t.offset + i]) * params[t.offset + i]);
    }
    grad_norm += std::sqrt(sq);
  }
  double fisher = 0;
  for (int s = 0; s < 8; ++s)
    for (int c = 0; c < 5; ++c) {
      const double v = static_cast<double>(ref.node_output(1)[s * 5 + c]) * ref.node_grad(1)[s * 5 + c];
      fisher += 0.5 * v * v / 8;
    }
  CHECK_MSG(close(p.grad_norm, grad_norm), std::to_string(p.grad_norm) + " vs " + std::to_string(grad_norm));
  CHECK_MSG(close(p.snip, snip), std::to_string(p.snip) + " vs " + std::to_string(snip));
  CHECK_MSG(close(p.fisher, fisher), std::to_string(p.fisher) + " vs " + std::to_string(fisher));
  // naswot: log det of the pattern-agreement counts of the ReLU's inputs.
  std::vector<double> k(64, 0.0);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b)
      for (int u = 0; u < 5; ++u) k[static_cast<size_t>(a * 8 + b)] += (ref.node_input(1)[a * 5 + u] > 0) == (ref.node_input(1)[b * 5 + u] > 0);
  const double naswot = log_abs_determinant(k, 8);
  CHECK_MSG(std::isnan(p.naswot) ? !std::isfinite(naswot) : close(p.naswot, naswot), std::to_string(p.naswot) + " vs " + std::to_string(naswot));
  // jacov: the input Jacobians of Σ outputs, their correlation's eigenvalues.
  std::vector<float> ones(24, 1.0f), dx(48);
  ref.backward(ones.data(), dx.data(), &team);
  std::vector<double> corr(64);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      double ma = 0, mb = 0;
      for (int j = 0; j < 6; ++j) ma += dx[static_cast<size_t>(a * 6 + j)] / 6.0, mb += dx[static_cast<size_t>(b * 6 + j)] / 6.0;
      double c = 0, va = 0, vb = 0;
      for (int j = 0; j < 6; ++j) {
        const double pa = dx[static_cast<size_t>(a * 6 + j)] - ma, pb = dx[static_cast<size_t>(b * 6 + j)] - mb;
        c += pa * pb;
        va += pa * pa;
        vb += pb * pb;
      }
      corr[static_cast<size_t>(a * 8 + b)] = c / std::sqrt(va * vb);
    }
  double jacov = 0;
  for (double l : symmetric_eigenvalues(corr, 8)) jacov -= std::log(std::max(l, 0.0) + 1e-5) + 1 / (std::max(l, 0.0) + 1e-5);
  CHECK_MSG(close(p.jacov, jacov, 1e-5), std::to_string(p.jacov) + " vs " + std::to_string(jacov));
  // synflow: |θ|, one all-ones sample, Σ θ·∂(Σ y)/∂θ over the weights.
  for (float& v : ref.params()) v = std::fabs(v);
  const std::vector<float> one(6, 1.0f), dy(3, 1.0f);
  ref.forward(one.data(), 1, false, nullptr, &team);
  ref.backward(dy.data(), nullptr, &team);
  double synflow = 0;
  for (const TensorInfo& t : rp.params)
    if (t.fan_in > 0)
      for (std::int64_t i = 0; i < t.size; ++i) synflow += static_cast<double>(ref.params()[t.offset + i]) * ref.grads()[t.offset + i];
  CHECK_MSG(close(p.synflow, synflow), std::to_string(p.synflow) + " vs " + std::to_string(synflow));
}

void test_synflow_rescaling() {
  // Bias-free ReLU layers: multiplying one layer's weights by 4 and the next's by 1/4 keeps synflow.
  const Data d = data(4, 6, 3);
  auto layer = [](int units) {
    NodeSpec n = dense(units);
    n.bias = false;
    return n;
  };
  Network net(build_plan({layer(7), act(ActivationKind::Relu), layer(5), act(ActivationKind::Relu), layer(3)}, d.view.input, 3), 4, cpu_backend());
  net.init_params(5);
  SerialTeam team;
  const ProxyBatch batch{d.x.data(), d.y.data(), nullptr, 4, Task::Classification};
  const double before = network_proxies(net, batch, 0, &team, cpu_backend()).synflow;
  const auto& t = net.plan().params;
  for (std::int64_t i = 0; i < t[0].size; ++i) net.params()[t[0].offset + i] *= 4.0f;
  for (std::int64_t i = 0; i < t[1].size; ++i) net.params()[t[1].offset + i] *= 0.25f;
  const double after = network_proxies(net, batch, 0, &team, cpu_backend()).synflow;
  CHECK_MSG(close(before, after, 1e-5), std::to_string(before) + " vs " + std::to_string(after));
}

void test_batched_scores_are_deterministic() {
  const Data d = data(200, 16, 4);
  Candidate a, b, c, bad;
  a.nodes = {dense(32), act(ActivationKind::Relu), dense(4)};
  b.nodes = {dense(16), node(OpKind::BatchNorm), act(ActivationKind::Tanh), dense(8), act(ActivationKind::Relu), dense(4)};
  c.nodes = {dense(64), act(ActivationKind::Gelu), dense(4)};
  bad.nodes = {dense(0)};
  ProxyOptions o;
  o.batch_size = 32;
  o.seed = 9;
  o.threads = 1;
  const auto alone = score_proxies({b}, d.view, o, nullptr);
  o.threads = 2;
  const auto batch = score_proxies({a, b, bad, c}, d.view, o, nullptr);
  CHECK(batch[2].status == CandidateStatus::Invalid && std::isnan(batch[2].scores.snip));
  CHECK(batch[1].status == CandidateStatus::Ok);
  const ProxyScores& s1 = batch[1].scores;
  const ProxyScores& s0 = alone[0].scores;
  CHECK(s1.grad_norm == s0.grad_norm && s1.snip == s0.snip && s1.fisher == s0.fisher && s1.synflow == s0.synflow && s1.jacov == s0.jacov &&
        s1.naswot == s0.naswot);
  for (const ProxyResult& r : {batch[0], batch[1], batch[3]}) {
    const ProxyScores& s = r.scores;
    CHECK(std::isfinite(s.grad_norm) && s.grad_norm > 0 && std::isfinite(s.snip) && std::isfinite(s.fisher) && std::isfinite(s.synflow) &&
          std::isfinite(s.jacov) && std::isfinite(s.naswot));
    CHECK(r.params > 0 && r.memory_bytes > 0);
  }
  o.batch_size = 0;
  bool threw = false;
  try {
    score_proxies({a}, d.view, o, nullptr);
  } catch (const CoreError& e) {
    threw = std::string(e.what()) == "batchSize must be between 1 and 256 but got 0";
  }
  CHECK(threw);
}

}  // namespace

int main() {
  test_linear_algebra();
  test_against_direct_computation();
  test_synflow_rescaling();
  test_batched_scores_are_deterministic();
  return nasx::testing::summary("proxies");
}
