#include "proxies.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <new>

#include "loss.h"
#include "memory.h"
#include "network.h"
#include "parallel.h"
#include "rng.h"

namespace nasx {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxProxyBatch = 256;  // the Jacobian correlation and activation kernels are batch × batch

double finite_or_nan(double v) { return std::isfinite(v) ? v : kNaN; }

// The one minibatch every candidate is scored on: the first samples of a seeded shuffle.
struct Minibatch {
  int count = 0;
  std::vector<float> x, targets;
  std::vector<std::int32_t> labels;
};

Minibatch take_minibatch(const TrainData& d, int batch, std::uint64_t seed) {
  Minibatch m;
  const std::int64_t n = d.train.count;
  m.count = static_cast<int>(std::min<std::int64_t>(batch, n));
  std::vector<std::int64_t> idx(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  Rng rng(derive_seed(seed, 0x9B0C));
  for (int i = 0; i < m.count; ++i) std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i))))]);
  const std::int64_t in = d.input.size();
  m.x.resize(static_cast<size_t>(m.count * in));
  if (d.task == Task::Classification) m.labels.resize(static_cast<size_t>(m.count));
  else m.targets.resize(static_cast<size_t>(m.count) * static_cast<size_t>(d.output_size));
  for (int j = 0; j < m.count; ++j) {
    const std::int64_t src = idx[static_cast<size_t>(j)];
    std::copy_n(d.train.x + src * in, in, m.x.data() + j * in);
    if (d.task == Task::Classification) m.labels[static_cast<size_t>(j)] = d.train.labels[src];
    else std::copy_n(d.train.targets + src * d.output_size, d.output_size, m.targets.data() + static_cast<std::int64_t>(j) * d.output_size);
  }
  return m;
}

// The proxies of one network on one batch (the network is left with its parameters, as given).
class ProxyPass {
 public:
  ProxyPass(const ProxyBatch& batch, std::uint64_t seed) : batch_(batch), seed_(seed) {}

  ProxyScores run(Network& net, Team* team, Backend& backend) {
    out_.synflow = synflow(net, team);
    loss_proxies(net, team);
    out_.naswot = naswot(net, team, backend);
    out_.jacov = jacov(net, team);
    return out_;
  }

 private:
  // Σ |W|·∂R/∂|W| over weight tensors, all-ones input, inference-mode batch norm at its initial statistics.
  double synflow(Network& net, Team* team) {
    std::vector<float> saved = net.params();
    for (float& p : net.params()) p = std::fabs(p);
    const std::vector<float> ones(static_cast<size_t>(net.plan().input.size()), 1.0f);
    net.forward(ones.data(), 1, false, nullptr, team);
    const std::vector<float> dout(static_cast<size_t>(net.plan().output_size), 1.0f);
    net.backward(dout.data(), nullptr, team);
    double s = 0;
    for (const TensorInfo& t : net.plan().params) {
      if (t.fan_in == 0) continue;
      for (std::int64_t i = 0; i < t.size; ++i) s += static_cast<double>(net.params()[t.offset + i]) * net.grads()[t.offset + i];
    }
    net.params() = std::move(saved);
    return finite_or_nan(s);
  }

  // grad_norm, snip and fisher from one training-mode pass of the loss.
  void loss_proxies(Network& net, Team* team) {
    const int b = batch_.count;
    const int out = net.plan().output_size;
    Rng dropout(derive_seed(seed_, 0xD209));
    const float* y = net.forward(batch_.x, b, true, &dropout, team);
    std::vector<float> dout(static_cast<size_t>(b) * static_cast<size_t>(out));
    if (batch_.task == Task::Classification) softmax_cross_entropy(y, batch_.labels, b, out, dout.data());
    else mean_squared_error(y, batch_.targets, b, out, dout.data());
    net.backward(dout.data(), nullptr, team);
    double grad_norm = 0, snip = 0;
    for (const TensorInfo& t : net.plan().params) {
      if (t.fan_in == 0) continue;
      double sq = 0;
      for (std::int64_t i = 0; i < t.size; ++i) {
        const double g = net.grads()[t.offset + i];
        sq += g * g;
        snip += std::fabs(g * net.params()[t.offset + i]);
      }
      grad_norm += std::sqrt(sq);
    }
    double fisher = 0;
    const Plan& plan = net.plan();
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const PlannedNode& n = plan.nodes[i];
      if (n.spec.op != OpKind::Activation) continue;
      team->check_cancel();
      const float* a = net.node_output(i);
      const float* g = net.node_grad(i);
      const std::int64_t hw = static_cast<std::int64_t>(n.out.h) * n.out.w;
      const int ch = n.out.c;
      std::vector<double> per(static_cast<size_t>(ch));
      for (int s = 0; s < b; ++s) {
        std::fill(per.begin(), per.end(), 0.0);
        const std::int64_t base = static_cast<std::int64_t>(s) * n.out.size();
        for (std::int64_t p = 0; p < hw; ++p)
          for (int c = 0; c < ch; ++c) per[static_cast<size_t>(c)] += static_cast<double>(a[base + p * ch + c]) * g[base + p * ch + c];
        for (double v : per) fisher += 0.5 * v * v / b;
      }
    }
    out_.grad_norm = finite_or_nan(grad_norm);
    out_.snip = finite_or_nan(snip);
    out_.fisher = finite_or_nan(fisher);
  }

  // log |det K| of the samples' activation-pattern agreement counts, from the training-mode pass.
  double naswot(Network& net, Team* team, Backend& backend) {
    const int b = batch_.count;
    std::vector<double> k(static_cast<size_t>(b) * static_cast<size_t>(b), 0.0);
    const Plan& plan = net.plan();
    std::vector<float> codes, inverse, prod(static_cast<size_t>(b) * static_cast<size_t>(b));
    bool any = false;
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const PlannedNode& n = plan.nodes[i];
      if (n.spec.op != OpKind::Activation) continue;
      team->check_cancel();
      any = true;
      const std::int64_t units = n.out.size();
      const float* x = net.node_input(i);
      codes.resize(static_cast<size_t>(b * units));
      inverse.resize(codes.size());
      for (size_t j = 0; j < codes.size(); ++j) {
        codes[j] = x[j] > 0.0f ? 1.0f : 0.0f;
        inverse[j] = 1.0f - codes[j];
      }
      // K += C·Cᵀ + (1 − C)(1 − C)ᵀ: the number of units whose pattern two samples share.
      for (const std::vector<float>* m : {&codes, &inverse}) {
        backend.gemm(false, true, b, b, static_cast<int>(units), 1.0f, m->data(), static_cast<int>(units), m->data(), static_cast<int>(units),
                     0.0f, prod.data(), b, team);
        for (size_t j = 0; j < k.size(); ++j) k[j] += prod[j];
      }
    }
    if (!any) return kNaN;
    return finite_or_nan(log_abs_determinant(std::move(k), b));
  }

  // −Σ (log(λ + k) + 1/(λ + k)) over the eigenvalues of the correlation of the samples' input Jacobians.
  double jacov(Network& net, Team* team) {
    const int b = batch_.count;
    if (b < 2) return kNaN;
    const std::int64_t in = net.plan().input.size();
    const std::vector<float> ones(static_cast<size_t>(b) * static_cast<size_t>(net.plan().output_size), 1.0f);
    std::vector<float> dx(static_cast<size_t>(b * in));
    net.backward(ones.data(), dx.data(), team);  // on the training-mode pass of loss_proxies
    // Centre each sample's Jacobian, then the dot products, in double: the score's 1/(λ + 1e-5) terms
    // magnify the rounding of near-singular correlations.
    std::vector<double> z(dx.size());
    std::vector<double> norm(static_cast<size_t>(b));
    for (int p = 0; p < b; ++p) {
      const float* row = dx.data() + static_cast<std::int64_t>(p) * in;
      double m = 0;
      for (std::int64_t j = 0; j < in; ++j) m += row[j];
      m /= static_cast<double>(in);
      double v = 0;
      for (std::int64_t j = 0; j < in; ++j) {
        const double c = row[j] - m;
        z[static_cast<size_t>(p * in + j)] = c;
        v += c * c;
      }
      norm[static_cast<size_t>(p)] = std::sqrt(v);
    }
    std::vector<double> corr(static_cast<size_t>(b) * static_cast<size_t>(b));
    for (int p = 0; p < b; ++p) {
      team->check_cancel();
      const double* zp = z.data() + static_cast<std::int64_t>(p) * in;
      for (int q = 0; q <= p; ++q) {
        const double* zq = z.data() + static_cast<std::int64_t>(q) * in;
        double dot = 0;
        for (std::int64_t j = 0; j < in; ++j) dot += zp[j] * zq[j];
        corr[static_cast<size_t>(p * b + q)] = corr[static_cast<size_t>(q * b + p)] = dot / (norm[static_cast<size_t>(p)] * norm[static_cast<size_t>(q)]);
      }
    }
    for (double c : corr)
      if (!std::isfinite(c)) return kNaN;
    constexpr double k = 1e-5;
    double s = 0;
    for (double l : symmetric_eigenvalues(std::move(corr), b)) s += std::log(std::max(l, 0.0) + k) + 1.0 / (std::max(l, 0.0) + k);
    return finite_or_nan(-s);
  }

  const ProxyBatch& batch_;
  std::uint64_t seed_;
  ProxyScores out_;
};

class ProxyRun {
 public:
  ProxyRun(const Candidate& c, const TrainData& d, const ProxyOptions& o, const Minibatch& mb, std::int64_t limit,
           const std::atomic<bool>* cancel, ProxyResult& r)
      : c_(c), d_(d), o_(o), mb_(mb), limit_(limit), cancel_(cancel), r_(r) {}

  void run(Team* team, Backend& backend) {
    const auto start = Clock::now();
    run_candidate([&] { attempt(team, backend); }, [this](CandidateStatus s, const std::string& e) { fail(s, e); },
                  [this] { return "ran out of memory while scoring (estimated " + format_bytes(r_.memory_bytes) + ")"; });
    r_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    backend.release_workspace();
  }

 private:
  void fail(CandidateStatus s, const std::string& why) {
    r_.status = s;
    r_.error = why;
    r_.scores = ProxyScores{kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  }

  void attempt(Team* team, Backend& backend) {
    if (cancel_ && cancel_->load()) throw Cancelled();
    Plan plan = build_plan(c_.nodes, d_.input, d_.output_size);
    r_.params = plan.param_count;
    r_.flops = plan.flops;
    const int b = mb_.count;
    const NetworkLayout layout = layout_network(plan, b);
    const std::int64_t in = d_.input.size();
    r_.memory_bytes = layout.bytes() + plan.param_count * 4 + network_gemm_workspace_bytes(plan, b, backend) +
                      static_cast<std::int64_t>(b) * in * 4 * 2 + static_cast<std::int64_t>(b) * b * 8 * 4 + (std::int64_t{1} << 20);
    if (r_.memory_bytes > limit_) {
      fail(CandidateStatus::OutOfMemory, "needs an estimated " + format_bytes(r_.memory_bytes) + " (" + std::to_string(r_.memory_bytes) +
                                             " bytes) to score, more than the memory budget of " + format_bytes(limit_) + " (" +
                                             std::to_string(limit_) + " bytes; maxMemory)");
      return;
    }
    layout.check_indices();
    if (!MemoryAccount::global().acquire(r_.memory_bytes, limit_, cancel_)) throw Cancelled();
    MemoryReservation held(r_.memory_bytes);
    Network net(std::move(plan), b, backend);
    init_for_training(net, o_.seed, team);
    const ProxyBatch batch{mb_.x.data(), mb_.labels.data(), mb_.targets.data(), mb_.count, d_.task};
    r_.scores = network_proxies(net, batch, o_.seed, team, backend);
  }

  const Candidate& c_;
  const TrainData& d_;
  const ProxyOptions& o_;
  const Minibatch& mb_;
  std::int64_t limit_;
  const std::atomic<bool>* cancel_;
  ProxyResult& r_;
};

}  // namespace

ProxyScores network_proxies(Network& net, const ProxyBatch& batch, std::uint64_t seed, Team* team, Backend& backend) {
  if (batch.count < 1) throw CoreError("invalid_argument", "the proxies need at least one sample");
  return ProxyPass(batch, seed).run(net, team, backend);
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, int n) {
  // Householder reduction to tridiagonal form (diagonal d, off-diagonal e), then the implicit QL
  // iteration with Wilkinson-style shifts: O(n³) once, where cyclic Jacobi needs several sweeps.
  auto at = [&](int r, int c) -> double& { return a[static_cast<size_t>(r) * static_cast<size_t>(n) + static_cast<size_t>(c)]; };
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n), 0.0);
  for (int i = n - 1; i > 0; --i) {
    const int l = i - 1;
    double h = 0;
    if (l > 0) {
      double scale = 0;
      for (int k = 0; k <= l; ++k) scale += std::fabs(at(i, k));
      if (scale == 0) {
        e[static_cast<size_t>(i)] = at(i, l);
      } else {
        for (int k = 0; k <= l; ++k) {
          at(i, k) /= scale;
          h += at(i, k) * at(i, k);
        }
        double f = at(i, l);
        double g = f >= 0 ? -std::sqrt(h) : std::sqrt(h);
        e[static_cast<size_t>(i)] = scale * g;
        h -= f * g;
        at(i, l) = f - g;
        f = 0;
        for (int j = 0; j <= l; ++j) {
          g = 0;
          for (int k = 0; k <= j; ++k) g += at(j, k) * at(i, k);
          for (int k = j + 1; k <= l; ++k) g += at(k, j) * at(i, k);
          e[static_cast<size_t>(j)] = g / h;
          f += e[static_cast<size_t>(j)] * at(i, j);
        }
        const double hh = f / (h + h);
        for (int j = 0; j <= l; ++j) {
          f = at(i, j);
          g = e[static_cast<size_t>(j)] - hh * f;
          e[static_cast<size_t>(j)] = g;
          for (int k = 0; k <= j; ++k) at(j, k) -= f * e[static_cast<size_t>(k)] + g * at(i, k);
        }
      }
    } else {
      e[static_cast<size_t>(i)] = at(i, l);
    }
  }
  for (int i = 0; i < n; ++i) d[static_cast<size_t>(i)] = at(i, i);
  for (int i = 1; i < n; ++i) e[static_cast<size_t>(i - 1)] = e[static_cast<size_t>(i)];
  if (n > 0) e[static_cast<size_t>(n - 1)] = 0;
  for (int l = 0; l < n; ++l) {
    for (int iter = 0; iter < 60; ++iter) {
      int m = l;
      for (; m < n - 1; ++m) {
        const double dd = std::fabs(d[static_cast<size_t>(m)]) + std::fabs(d[static_cast<size_t>(m + 1)]);
        if (std::fabs(e[static_cast<size_t>(m)]) <= 1e-15 * dd) break;
      }
      if (m == l) break;
      double g = (d[static_cast<size_t>(l + 1)] - d[static_cast<size_t>(l)]) / (2 * e[static_cast<size_t>(l)]);
      double r = std::hypot(g, 1.0);
      g = d[static_cast<size_t>(m)] - d[static_cast<size_t>(l)] + e[static_cast<size_t>(l)] / (g + (g >= 0 ? std::fabs(r) : -std::fabs(r)));
      double s = 1, c = 1, p = 0;
      bool underflow = false;
      for (int i = m - 1; i >= l; --i) {
        const double f = s * e[static_cast<size_t>(i)];
        const double b = c * e[static_cast<size_t>(i)];
        r = std::hypot(f, g);
        e[static_cast<size_t>(i + 1)] = r;
        if (r == 0) {
          d[static_cast<size_t>(i + 1)] -= p;
          e[static_cast<size_t>(m)] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[static_cast<size_t>(i + 1)] - p;
        r = (d[static_cast<size_t>(i)] - g) * s + 2 * c * b;
        p = s * r;
        d[static_cast<size_t>(i + 1)] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[static_cast<size_t>(l)] -= p;
      e[static_cast<size_t>(l)] = g;
      e[static_cast<size_t>(m)] = 0;
    }
  }
  std::sort(d.begin(), d.end());
  return d;
}

double log_abs_determinant(std::vector<double> a, int n) {
  double log_det = 0;
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(a[static_cast<size_t>(r * n + c)]) > std::fabs(a[static_cast<size_t>(pivot * n + c)])) pivot = r;
    const double d = a[static_cast<size_t>(pivot * n + c)];
    if (d == 0) return -std::numeric_limits<double>::infinity();
    if (pivot != c)
      for (int k = 0; k < n; ++k) std::swap(a[static_cast<size_t>(c * n + k)], a[static_cast<size_t>(pivot * n + k)]);
    log_det += std::log(std::fabs(d));
    for (int r = c + 1; r < n; ++r) {
      const double f = a[static_cast<size_t>(r * n + c)] / d;
      if (f == 0) continue;
      for (int k = c; k < n; ++k) a[static_cast<size_t>(r * n + k)] -= f * a[static_cast<size_t>(c * n + k)];
    }
  }
  return log_det;
}

std::vector<ProxyResult> score_proxies(const std::vector<Candidate>& candidates, const TrainData& data, const ProxyOptions& options,
                                       const std::atomic<bool>* cancel) {
  if (options.batch_size < 1 || options.batch_size > kMaxProxyBatch)
    throw CoreError("invalid_argument", "batchSize must be between 1 and " + std::to_string(kMaxProxyBatch) + " but got " +
                                            std::to_string(options.batch_size));
  if (options.threads < 0) throw CoreError("invalid_argument", "threads must be >= 0");
  if (options.max_memory < 0) throw CoreError("invalid_argument", "maxMemory must be >= 0");
  TrainOptions as_training;
  as_training.batch_size = options.batch_size;
  check_train_inputs(data, as_training);
  const Minibatch mb = take_minibatch(data, options.batch_size, options.seed);
  const std::int64_t limit = options.max_memory > 0 ? options.max_memory : default_memory_budget();
  std::vector<ProxyResult> results(candidates.size());
  for_each_on_workers(static_cast<int>(candidates.size()), options.threads, cancel, [&](int i, Team* team) {
    ProxyRun(candidates[static_cast<size_t>(i)], data, options, mb, limit, cancel, results[static_cast<size_t>(i)]).run(team, cpu_backend());
  });
  return results;
}

}  // namespace nasx
