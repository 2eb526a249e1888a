#include "inherit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "network.h"
#include "rng.h"
#include "spec.h"

namespace nasx {
namespace {

constexpr int kNone = -2;  // no parent tensor corresponds (-1 is the parent's input)

// A layer group: the nodes whose names share the part up to the first "]" ("layers[3]",
// "nodes[7]"), or the whole name ("output").
struct Group {
  std::string name;
  std::vector<int> nodes;
  std::string signature;  // every node's name suffix and op
  OpKind first = OpKind::Dense;
  int width = 0, kernel = 0;
  bool identity_able = false;  // its first layer can start as the identity (as many outputs as inputs, stride 1)
};

std::string group_of(const std::string& n) {
  const size_t b = n.find(']');
  return b == std::string::npos ? n : n.substr(0, b + 1);
}
std::string suffix_of(const std::string& n) {
  const size_t b = n.find(']');
  return b == std::string::npos ? std::string() : n.substr(b + 1);
}

std::vector<Group> groups_of(const Plan& plan) {
  std::vector<Group> out;
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const NodeSpec& s = plan.nodes[i].spec;
    const std::string g = group_of(s.name);
    if (out.empty() || out.back().name != g) {
      Group fresh;
      fresh.name = g;
      fresh.first = s.op;
      out.push_back(fresh);
    }
    Group& grp = out.back();
    grp.nodes.push_back(static_cast<int>(i));
    grp.signature += suffix_of(s.name) + ":" + op_name(s.op) + ";";
    if (grp.width == 0 && (s.op == OpKind::Dense || s.op == OpKind::Conv2d)) {
      grp.width = s.op == OpKind::Dense ? s.units : s.filters;
      grp.kernel = s.kernel;
      const Shape in = plan.nodes[i].in_shapes[0];
      grp.identity_able = s.op == OpKind::Dense ? in.size() == s.units : in.c == s.filters && s.stride == 1;
    }
  }
  return out;
}

// child node index -> parent node index (or -1): groups aligned as sequences (an inserted or removed
// layer costs 1, or 1.2 when it cannot start as the identity; a changed one costs less the more it
// agrees; among equal alignments the inserted layers come as late as possible), then nodes matched by
// name suffix and op.
std::vector<int> match_nodes(const Plan& parent, const Plan& child, std::vector<bool>& child_group_new, std::vector<int>& node_group) {
  const std::vector<Group> pg = groups_of(parent), cg = groups_of(child);
  const size_t n = pg.size(), m = cg.size();
  const double inf = std::numeric_limits<double>::infinity();
  auto match_cost = [&](const Group& a, const Group& b) {
    if (a.first != b.first) return inf;
    double c = a.signature == b.signature ? 0.0 : 0.5;
    if (a.width != b.width) c += 0.25;
    if (a.kernel != b.kernel) c += 0.1;
    return c;
  };
  std::vector<double> d((n + 1) * (m + 1), 0.0);
  auto at = [&](size_t i, size_t j) -> double& { return d[i * (m + 1) + j]; };
  for (size_t i = 0; i <= n; ++i) at(i, 0) = static_cast<double>(i);
  auto insert_cost = [&](size_t j) { return cg[j].identity_able ? 1.0 : 1.2; };
  for (size_t j = 1; j <= m; ++j) at(0, j) = at(0, j - 1) + insert_cost(j - 1);
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      at(i, j) = std::min({at(i - 1, j - 1) + match_cost(pg[i - 1], cg[j - 1]), at(i - 1, j) + 1.0, at(i, j - 1) + insert_cost(j - 1)});
  std::vector<int> group_match(m, -1);
  for (size_t i = n, j = m; i > 0 && j > 0;) {
    if (at(i, j) == at(i, j - 1) + insert_cost(j - 1)) {
      --j;
    } else if (at(i, j) == at(i - 1, j - 1) + match_cost(pg[i - 1], cg[j - 1])) {
      group_match[j - 1] = static_cast<int>(i - 1);
      --i;
      --j;
    } else {
      --i;
    }
  }
  std::vector<int> match(child.nodes.size(), -1);
  child_group_new.assign(m, false);
  node_group.assign(child.nodes.size(), 0);
  for (size_t j = 0; j < m; ++j) {
    for (int c : cg[j].nodes) node_group[static_cast<size_t>(c)] = static_cast<int>(j);
    if (group_match[j] < 0) {
      child_group_new[j] = true;
      continue;
    }
    for (int c : cg[j].nodes) {
      const NodeSpec& cs = child.nodes[static_cast<size_t>(c)].spec;
      for (int p : pg[static_cast<size_t>(group_match[j])].nodes) {
        const NodeSpec& ps = parent.nodes[static_cast<size_t>(p)].spec;
        if (ps.op == cs.op && suffix_of(ps.name) == suffix_of(cs.name)) {
          match[static_cast<size_t>(c)] = p;
          break;
        }
      }
    }
  }
  return match;
}

// How a child tensor's channels correspond to a parent tensor's.
struct Corr {
  int pnode = kNone;          // the parent node whose output this is (-1: the parent's input)
  int h = 1, w = 1;           // the child tensor's spatial size (before a flatten, for flattened ones)
  int ph = 1, pw = 1, pc = 0; // the parent tensor's (likewise)
  std::vector<int> src;       // per child channel: the parent channel it copies, or -1
  std::vector<float> scale;   // per child channel: what a consumer multiplies its inherited weights by
  bool exact = false;         // equal to the parent tensor's values (through src), in inference mode
  bool nonneg = false;        // every value is ≥ 0 (ReLU outputs)
  bool zero = false;          // every value is 0 (a zero-initialised branch)
};

class Mapper {
 public:
  Mapper(const Plan& parent, const std::vector<float>& pp, const std::vector<float>& ps, const Plan& child, std::vector<float>& cp,
         std::vector<float>& cs, std::uint64_t seed)
      : P_(parent), pp_(pp), ps_(ps), C_(child), cp_(cp), cs_(cs), seed_(seed) {}

  InheritReport run() {
    std::vector<bool> group_new;
    std::vector<int> node_group;
    match_ = match_nodes(P_, C_, group_new, node_group);
    for (const TensorInfo& t : C_.params) report_.params.push_back({t.name, "", "fresh"});
    for (const TensorInfo& t : C_.state) report_.state.push_back({t.name, "", "fresh"});
    plan_zero_branches(group_new, node_group);
    corr_.resize(C_.nodes.size());
    for (size_t i = 0; i < C_.nodes.size(); ++i) corr_[i] = visit(static_cast<int>(i));
    const Corr out = corr_.empty() ? start(-1) : corr_.back();
    bool identity = out.src.size() == static_cast<size_t>(out.pc) && !P_.nodes.empty() && out.pnode == static_cast<int>(P_.nodes.size()) - 1;
    for (size_t j = 0; identity && j < out.src.size(); ++j) identity = out.src[j] == static_cast<int>(j) && out.scale[j] == 1.0f;
    report_.function_preserving = out.exact && identity;
    if (!report_.function_preserving && report_.reason.empty()) report_.reason = "the outputs do not correspond to the parent's";
    if (report_.function_preserving) report_.reason.clear();
    return report_;
  }

 private:
  void lose(const std::string& why) {
    if (report_.reason.empty()) report_.reason = why;
  }

  // A parent tensor, looking through dropout (the identity in inference mode).
  int through_dropout(int q) const {
    while (q >= 0 && P_.nodes[static_cast<size_t>(q)].spec.op == OpKind::Dropout) q = P_.nodes[static_cast<size_t>(q)].spec.inputs[0];
    return q;
  }

  Shape parent_shape(int pnode) const { return pnode == -1 ? P_.input : P_.nodes[static_cast<size_t>(pnode)].out; }

  // A new residual branch (an Add in a layer the parent lacks, with one input that does not come from
  // new layers) starts at zero: its last batch norm's scale and shift are zero, or, without one, its
  // last layer's weights. A branch ending in ReLU is left fresh (at exactly zero it would get no gradient).
  void plan_zero_branches(const std::vector<bool>& group_new, const std::vector<int>& node_group) {
    zero_.assign(C_.nodes.size(), false);
    for (size_t a = 0; a < C_.nodes.size(); ++a) {
      const PlannedNode& add = C_.nodes[a];
      if (add.spec.op != OpKind::Add || match_[a] >= 0) continue;
      std::vector<int> ends;
      size_t skips = 0;
      for (int in : add.spec.inputs) {
        int q = in, target = -1;
        bool relu = false;
        while (q >= 0) {
          const PlannedNode& n = C_.nodes[static_cast<size_t>(q)];
          const bool new_node = match_[static_cast<size_t>(q)] < 0 && group_new[static_cast<size_t>(node_group[static_cast<size_t>(q)])];
          if (n.spec.op == OpKind::BatchNorm && new_node) {
            target = q;
            break;
          }
          if ((n.spec.op == OpKind::Dense || n.spec.op == OpKind::Conv2d) && new_node &&
              n.spec.name.find(".projection") == std::string::npos) {
            target = q;
            break;
          }
          if (n.spec.op == OpKind::Activation) {
            const ActivationKind k = n.spec.activation;
            if (k == ActivationKind::Relu) relu = true;
            if (k == ActivationKind::Sigmoid) break;
          } else if (n.spec.op != OpKind::Dropout) {
            break;
          }
          q = n.spec.inputs[0];
        }
        if (target >= 0 && !relu) ends.push_back(target);
        else if (target < 0) ++skips;
      }
      if (skips >= 1 && ends.size() + skips == add.spec.inputs.size())
        for (int e : ends) zero_[static_cast<size_t>(e)] = true;
    }
  }

  Corr start(int input) {
    if (input >= 0) return corr_[static_cast<size_t>(input)];
    Corr c;
    c.pnode = -1;
    c.h = C_.input.h;
    c.w = C_.input.w;
    c.ph = P_.input.h;
    c.pw = P_.input.w;
    c.pc = P_.input.c;
    c.src.resize(static_cast<size_t>(C_.input.c));
    for (int i = 0; i < C_.input.c; ++i) c.src[static_cast<size_t>(i)] = i < P_.input.c ? i : -1;
    c.scale.assign(c.src.size(), 1.0f);
    c.exact = C_.input == P_.input;
    if (!c.exact) lose("the input shapes differ (" + P_.input.str() + " and " + C_.input.str() + ")");
    return c;
  }

  // Ties a child tensor's correspondence to the parent node `p` that produced it. Channels that do
  // not exist in that tensor correspond to none (when the input did not follow the parent's, the
  // channel map can name channels of another tensor).
  void rebase(Corr& c, int p) const {
    c.pnode = p;
    const Shape s = parent_shape(p);
    c.ph = s.h;
    c.pw = s.w;
    if (c.pc != s.c) c.exact = false;
    c.pc = s.c;
    for (size_t i = 0; i < c.src.size(); ++i) {
      if (c.src[i] >= c.pc) {
        c.src[i] = -1;
        c.scale[i] = 1.0f;
        c.exact = false;
      }
    }
  }

  float* ctensor(const PlannedNode& n, size_t k) { return cp_.data() + C_.params[static_cast<size_t>(n.params[k])].offset; }
  const float* ptensor(const PlannedNode& n, size_t k) const { return pp_.data() + P_.params[static_cast<size_t>(n.params[k])].offset; }
  void note(const PlannedNode& cn, size_t k, const PlannedNode* pn, size_t pk, const std::string& how) {
    InheritedTensor& r = report_.params[static_cast<size_t>(cn.params[k])];
    r.from = pn ? P_.params[static_cast<size_t>(pn->params[pk])].name : "";
    r.how = how;
  }
  void note_state(const PlannedNode& cn, size_t k, const PlannedNode* pn, const std::string& how) {
    InheritedTensor& r = report_.state[static_cast<size_t>(cn.state[k])];
    r.from = pn ? P_.state[static_cast<size_t>(pn->state[k])].name : "";
    r.how = how;
  }

  Corr visit(int i) {
    const PlannedNode& cn = C_.nodes[static_cast<size_t>(i)];
    const int p = match_[static_cast<size_t>(i)];
    const PlannedNode* pn = p >= 0 ? &P_.nodes[static_cast<size_t>(p)] : nullptr;
    if (cn.spec.op == OpKind::Add) return visit_add(cn, pn, p);
    Corr in = start(cn.spec.inputs[0]);
    const bool follows = pn && in.pnode != kNone && through_dropout(pn->spec.inputs[0]) == through_dropout(in.pnode);
    switch (cn.spec.op) {
      case OpKind::Dense:
      case OpKind::Conv2d:
        if (zero_[static_cast<size_t>(i)]) return zero_layer(cn);
        if (pn) return inherit_layer(cn, *pn, p, in, follows);
        return new_layer(cn, in);
      case OpKind::DepthwiseConv2d:
        if (pn) return inherit_depthwise(cn, *pn, p, in, follows);
        lose(cn.spec.name + " is new");
        return unrelated(cn);
      case OpKind::BatchNorm:
        return batch_norm(cn, pn, p, in, follows, zero_[static_cast<size_t>(i)]);
      case OpKind::Activation: {
        const ActivationKind k = cn.spec.activation;
        Corr out = in;
        if (pn) {
          rebase(out, p);
          out.exact = in.exact && follows && pn->spec.activation == k;
          if (in.exact && !out.exact) lose(cn.spec.name + " differs from the parent's " + pn->spec.name);
        } else {
          out.exact = in.exact && (k == ActivationKind::Identity || (k == ActivationKind::Relu && in.nonneg));
          if (in.exact && !out.exact) lose("the new " + cn.spec.name + " changes its input (identity only after ReLU outputs)");
        }
        out.nonneg = k == ActivationKind::Relu || k == ActivationKind::Sigmoid || (k == ActivationKind::Identity && in.nonneg);
        out.zero = in.zero && k != ActivationKind::Sigmoid;
        return out;
      }
      case OpKind::Dropout:
        return in;  // the identity in inference mode: the values stay those of the input's parent tensor
      case OpKind::MaxPool:
      case OpKind::AvgPool:
      case OpKind::GlobalAvgPool: {
        Corr out = in;
        out.h = cn.out.h;
        out.w = cn.out.w;
        const bool same = pn && follows && pn->spec.kernel == cn.spec.kernel && pn->spec.stride == cn.spec.stride;
        if (pn) rebase(out, p);
        else {
          out.ph = cn.out.h;
          out.pw = cn.out.w;
        }
        out.exact = in.exact && same;
        if (in.exact && !same) lose(cn.spec.name + " pools differently from the parent");
        return out;
      }
      case OpKind::Flatten: {
        Corr out = in;  // keeps the channel structure: a dense consumer maps (y, x, channel)
        if (pn) {
          out.pnode = p;
          out.exact = in.exact && follows;
        } else {
          out.exact = false;
          lose(cn.spec.name + " is new");
        }
        return out;
      }
      case OpKind::Add:
        break;
    }
    return unrelated(cn);
  }

  Corr unrelated(const PlannedNode& cn) const {
    Corr c;
    c.h = cn.out.h;
    c.w = cn.out.w;
    c.src.assign(static_cast<size_t>(cn.out.c), -1);
    c.scale.assign(c.src.size(), 1.0f);
    return c;
  }

  Corr visit_add(const PlannedNode& cn, const PlannedNode* pn, int p) {
    std::vector<Corr> ins;
    for (int in : cn.spec.inputs) ins.push_back(start(in));
    std::vector<const Corr*> live;
    for (const Corr& c : ins)
      if (!c.zero) live.push_back(&c);
    if (live.empty()) return ins[0];
    Corr out = *live[0];
    if (!pn) {
      out.exact = live.size() == 1 && live[0]->exact;
      if (live[0]->exact && !out.exact) lose("the new " + cn.spec.name + " adds a branch that does not start at zero");
      out.nonneg = live.size() == 1 && live[0]->nonneg;
      return out;
    }
    rebase(out, p);
    bool exact = live.size() == ins.size() && pn->spec.inputs.size() == ins.size();
    for (size_t k = 0; exact && k < ins.size(); ++k)
      exact = ins[k].exact && through_dropout(ins[k].pnode) == through_dropout(pn->spec.inputs[k]) && ins[k].src == ins[0].src && ins[k].scale == ins[0].scale;
    if (!exact && ins[0].exact) lose(cn.spec.name + "'s inputs do not correspond to the parent's");
    out.exact = exact;
    out.nonneg = false;
    return out;
  }

  // The units a layer of `cout` outputs takes from the parent's `pout`: all of them in order, more by
  // replication (each replica's consumers get a share that sums to one, perturbed so that replicas
  // do not stay identical in training), or fewer: those of largest incoming weight norm.
  void choose_units(int cout, int pout, const std::vector<double>& norms, int node, std::vector<int>& g, std::vector<float>& scale) {
    g.resize(static_cast<size_t>(cout));
    scale.assign(static_cast<size_t>(cout), 1.0f);
    if (cout <= pout) {
      if (cout == pout) {
        std::iota(g.begin(), g.end(), 0);
        return;
      }
      std::vector<int> order(static_cast<size_t>(pout));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return norms[static_cast<size_t>(a)] > norms[static_cast<size_t>(b)]; });
      order.resize(static_cast<size_t>(cout));
      std::sort(order.begin(), order.end());
      g = order;
      return;
    }
    Rng rng(derive_seed(seed_, 0x1A4E, static_cast<std::uint64_t>(node)));
    for (int j = 0; j < cout; ++j) g[static_cast<size_t>(j)] = j < pout ? j : static_cast<int>(rng.below(static_cast<std::uint64_t>(pout)));
    std::vector<std::vector<int>> replicas(static_cast<size_t>(pout));
    for (int j = 0; j < cout; ++j) replicas[static_cast<size_t>(g[static_cast<size_t>(j)])].push_back(j);
    for (const std::vector<int>& r : replicas) {
      if (r.size() < 2) continue;
      std::vector<double> u(r.size());
      double mean = 0;
      for (double& x : u) mean += (x = rng.uniform());
      mean /= static_cast<double>(u.size());
      for (size_t k = 0; k < r.size(); ++k)
        scale[static_cast<size_t>(r[k])] = static_cast<float>((1.0 + 0.1 * (u[k] - mean)) / static_cast<double>(r.size()));
    }
  }

  // A dense or conv layer with a parent counterpart.
  Corr inherit_layer(const PlannedNode& cn, const PlannedNode& pn, int p, const Corr& in, bool follows) {
    const bool dense = cn.spec.op == OpKind::Dense;
    const Shape cin_shape = cn.in_shapes[0], pin_shape = pn.in_shapes[0];
    const int cout = dense ? cn.spec.units : cn.spec.filters, pout = dense ? pn.spec.units : pn.spec.filters;
    const int kc = dense ? 1 : cn.spec.kernel, kp = dense ? 1 : pn.spec.kernel;
    const std::int64_t cin = dense ? cin_shape.size() : cin_shape.c, pin = dense ? pin_shape.size() : pin_shape.c;
    const float* pw = ptensor(pn, 0);
    float* cw = ctensor(cn, 0);
    // Where each child input comes from in the parent's input, and its weight share.
    std::vector<std::int64_t> src(static_cast<size_t>(cin), -1);
    std::vector<float> share(static_cast<size_t>(cin), 1.0f);
    bool mapped = follows && static_cast<std::int64_t>(in.src.size()) > 0;
    if (mapped && dense) mapped = in.h * in.w * static_cast<std::int64_t>(in.src.size()) == cin && in.h == in.ph && in.w == in.pw &&
                                  static_cast<std::int64_t>(in.ph) * in.pw * in.pc == pin;
    if (mapped && !dense) mapped = static_cast<std::int64_t>(in.src.size()) == cin && in.pc == pin;
    bool widened_in = false;
    if (mapped) {
      const std::int64_t c = static_cast<std::int64_t>(in.src.size());
      for (std::int64_t i = 0; i < cin; ++i) {
        const std::int64_t ch = i % c, pos = i / c;
        const int s = in.src[static_cast<size_t>(ch)];
        if (s >= 0 && s < in.pc) src[static_cast<size_t>(i)] = pos * in.pc + s;
        share[static_cast<size_t>(i)] = in.scale[static_cast<size_t>(ch)];
        if (share[static_cast<size_t>(i)] != 1.0f) widened_in = true;
      }
    } else {
      for (std::int64_t i = 0; i < std::min(cin, pin); ++i) src[static_cast<size_t>(i)] = i;
    }
    // Output units: norms of the parent's incoming weights per unit decide a shrink.
    std::vector<double> norms(static_cast<size_t>(pout), 0.0);
    const std::int64_t prows = static_cast<std::int64_t>(kp) * kp * pin;
    for (std::int64_t r = 0; r < prows; ++r)
      for (int j = 0; j < pout; ++j) norms[static_cast<size_t>(j)] += static_cast<double>(pw[r * pout + j]) * pw[r * pout + j];
    std::vector<int> g;
    std::vector<float> out_scale;
    choose_units(cout, pout, norms, static_cast<int>(&cn - C_.nodes.data()), g, out_scale);
    const int off = (kc - kp) / 2;
    for (int ky = 0; ky < kc; ++ky) {
      for (int kx = 0; kx < kc; ++kx) {
        const int py = ky - off, px = kx - off;
        const bool inside = py >= 0 && py < kp && px >= 0 && px < kp;
        for (std::int64_t i = 0; i < cin; ++i) {
          float* row = cw + ((static_cast<std::int64_t>(ky) * kc + kx) * cin + i) * cout;
          const std::int64_t s = src[static_cast<size_t>(i)];
          if (s < 0 || s >= pin) {
            // An input the parent lacks: ignored (zero) when the rest corresponds, else freshly initialised.
            if (mapped) std::fill_n(row, cout, 0.0f);
            continue;
          }
          if (!inside) {
            std::fill_n(row, cout, 0.0f);
            continue;
          }
          const float* prow = pw + ((static_cast<std::int64_t>(py) * kp + px) * pin + s) * pout;
          const float f = share[static_cast<size_t>(i)];
          for (int j = 0; j < cout; ++j) row[j] = prow[g[static_cast<size_t>(j)]] * f;
        }
      }
    }
    std::string how;
    auto add = [&how](const char* h) { how += how.empty() ? h : std::string("+") + h; };
    if (!mapped) add("partial");
    if (cout > pout || widened_in) add("widen");
    if (cout < pout) add("shrink");
    if (kc > kp) add("kernel-embed");
    if (kc < kp) add("kernel-crop");
    if (how.empty()) add("copy");
    note(cn, 0, &pn, 0, how);
    const bool cbias = cn.spec.bias, pbias = pn.spec.bias;
    bool bias_ok = true;
    if (cbias) {
      float* cb = ctensor(cn, 1);
      if (pbias) {
        const float* pb = ptensor(pn, 1);
        for (int j = 0; j < cout; ++j) cb[j] = pb[g[static_cast<size_t>(j)]];
        note(cn, 1, &pn, 1, cout > pout ? "widen" : cout < pout ? "shrink" : "copy");
      } else {
        std::fill_n(cb, cout, 0.0f);
        note(cn, 1, nullptr, 0, "zero");
      }
    } else if (pbias) {
      const float* pb = ptensor(pn, 1);
      for (int j = 0; j < pout; ++j) bias_ok = bias_ok && pb[j] == 0.0f;
    }
    Corr out;
    rebase(out, p);
    out.h = cn.out.h;
    out.w = cn.out.w;
    out.src = g;
    out.scale = out_scale;
    const bool same_op = kc >= kp && (dense || cn.spec.stride == pn.spec.stride);
    out.exact = in.exact && mapped && cout >= pout && bias_ok && same_op;
    if (in.exact && !out.exact) {
      if (!mapped) lose(cn.spec.name + "'s inputs do not correspond to the parent's " + pn.spec.name + "'s");
      else if (cout < pout) lose(cn.spec.name + " is narrower than the parent's (" + std::to_string(cout) + " < " + std::to_string(pout) + ")");
      else if (!bias_ok) lose(cn.spec.name + " has no bias where the parent's has one");
      else if (kc < kp) lose(cn.spec.name + "'s kernel is cropped from " + std::to_string(kp) + " to " + std::to_string(kc));
      else lose(cn.spec.name + "'s stride differs from the parent's");
    }
    return out;
  }

  Corr inherit_depthwise(const PlannedNode& cn, const PlannedNode& pn, int p, const Corr& in, bool follows) {
    const int c = cn.out.c, pc = pn.out.c, kc = cn.spec.kernel, kp = pn.spec.kernel, off = (kc - kp) / 2;
    const bool mapped = follows && static_cast<int>(in.src.size()) == c && in.pc == pc;
    const float* pw = ptensor(pn, 0);
    float* cw = ctensor(cn, 0);
    std::vector<int> src(static_cast<size_t>(c), -1);
    for (int i = 0; i < c; ++i) src[static_cast<size_t>(i)] = mapped ? in.src[static_cast<size_t>(i)] : (i < pc ? i : -1);
    for (int ky = 0; ky < kc; ++ky)
      for (int kx = 0; kx < kc; ++kx) {
        const int py = ky - off, px = kx - off;
        const bool inside = py >= 0 && py < kp && px >= 0 && px < kp;
        for (int i = 0; i < c; ++i) {
          const int s = src[static_cast<size_t>(i)];
          if (s < 0) continue;
          cw[(ky * kc + kx) * c + i] = inside ? pw[(py * kp + px) * pc + s] : 0.0f;
        }
      }
    note(cn, 0, &pn, 0, std::string(mapped ? "" : "partial+") + (kc > kp ? "kernel-embed" : kc < kp ? "kernel-crop" : c == pc ? "copy" : "widen"));
    if (cn.spec.bias && pn.spec.bias) {
      const float* pb = ptensor(pn, 1);
      float* cb = ctensor(cn, 1);
      for (int i = 0; i < c; ++i)
        if (src[static_cast<size_t>(i)] >= 0) cb[i] = pb[src[static_cast<size_t>(i)]];
      note(cn, 1, &pn, 1, c == pc ? "copy" : "widen");
    }
    Corr out = in;
    rebase(out, p);
    out.h = cn.out.h;
    out.w = cn.out.w;
    if (!mapped) out.src = src;
    out.exact = in.exact && mapped && kc >= kp && cn.spec.stride == pn.spec.stride && cn.spec.bias == pn.spec.bias;
    if (in.exact && !out.exact) lose(cn.spec.name + " does not correspond to the parent's " + pn.spec.name);
    out.nonneg = out.zero = false;
    return out;
  }

  Corr batch_norm(const PlannedNode& cn, const PlannedNode* pn, int p, const Corr& in, bool follows, bool zero) {
    const int c = cn.out.c;
    float* gamma = ctensor(cn, 0);
    float* beta = ctensor(cn, 1);
    float* mean = cs_.data() + C_.state[static_cast<size_t>(cn.state[0])].offset;
    float* var = cs_.data() + C_.state[static_cast<size_t>(cn.state[1])].offset;
    Corr out = in;
    if (zero) {
      // The end of a new residual branch: scale and shift zero, so that the branch adds nothing.
      std::fill_n(gamma, c, 0.0f);
      std::fill_n(beta, c, 0.0f);
      std::fill_n(mean, c, 0.0f);
      std::fill_n(var, c, 1.0f);
      note(cn, 0, nullptr, 0, "zero");
      note(cn, 1, nullptr, 0, "zero");
      out = unrelated(cn);
      out.zero = out.exact = true;
      return out;
    }
    if (!pn) {
      // A new batch norm passes its input through (inference mode): var + ε = 1.
      std::fill_n(gamma, c, 1.0f);
      std::fill_n(beta, c, 0.0f);
      std::fill_n(mean, c, 0.0f);
      std::fill_n(var, c, 1.0f - kBatchNormEpsilon);
      note(cn, 0, nullptr, 0, "identity");
      note(cn, 1, nullptr, 0, "identity");
      note_state(cn, 0, nullptr, "identity");
      note_state(cn, 1, nullptr, "identity");
      return out;
    }
    const int pc = pn->out.c;
    const bool mapped = follows && static_cast<int>(in.src.size()) == c && in.pc == pc;
    const float* pg = ptensor(*pn, 0);
    const float* pb = ptensor(*pn, 1);
    const float* pm = ps_.data() + P_.state[static_cast<size_t>(pn->state[0])].offset;
    const float* pv = ps_.data() + P_.state[static_cast<size_t>(pn->state[1])].offset;
    for (int i = 0; i < c; ++i) {
      const int s = mapped ? in.src[static_cast<size_t>(i)] : (i < pc ? i : -1);
      if (s < 0) continue;
      gamma[i] = pg[s];
      beta[i] = pb[s];
      mean[i] = pm[s];
      var[i] = pv[s];
    }
    const std::string how = !mapped ? "partial" : c > pc ? "widen" : c < pc ? "shrink" : "copy";
    note(cn, 0, pn, 0, how);
    note(cn, 1, pn, 1, how);
    note_state(cn, 0, pn, how);
    note_state(cn, 1, pn, how);
    rebase(out, p);
    out.exact = in.exact && mapped;
    if (in.exact && !out.exact) lose(cn.spec.name + "'s channels do not correspond to the parent's");
    out.nonneg = out.zero = false;
    return out;
  }

  // A layer the parent lacks: the identity where its shape allows (Net2DeeperNet), else fresh.
  Corr new_layer(const PlannedNode& cn, const Corr& in) {
    const bool dense = cn.spec.op == OpKind::Dense;
    const std::int64_t cin = dense ? cn.in_shapes[0].size() : cn.in_shapes[0].c;
    const int cout = dense ? cn.spec.units : cn.spec.filters;
    const bool identity = cin == cout && (dense || cn.spec.stride == 1);
    if (!identity) {
      lose("the new " + cn.spec.name + " cannot start as the identity (" + std::to_string(cin) + " inputs, " + std::to_string(cout) +
           " outputs" + (dense || cn.spec.stride == 1 ? "" : ", stride 2") + ")");
      return unrelated(cn);
    }
    const int k = dense ? 1 : cn.spec.kernel, centre = k / 2;
    float* w = ctensor(cn, 0);
    std::fill_n(w, static_cast<std::int64_t>(k) * k * cin * cout, 0.0f);
    for (int i = 0; i < cout; ++i) w[((static_cast<std::int64_t>(centre) * k + centre) * cin + i) * cout + i] = 1.0f;
    note(cn, 0, nullptr, 0, "identity");
    if (cn.spec.bias) {
      std::fill_n(ctensor(cn, 1), cout, 0.0f);
      note(cn, 1, nullptr, 0, "identity");
    }
    Corr out = in;
    out.h = cn.out.h;
    out.w = cn.out.w;
    return out;
  }

  Corr zero_layer(const PlannedNode& cn) {
    const TensorInfo& t = C_.params[static_cast<size_t>(cn.params[0])];
    std::fill_n(ctensor(cn, 0), t.size, 0.0f);
    note(cn, 0, nullptr, 0, "zero");
    if (cn.spec.bias) {
      std::fill_n(ctensor(cn, 1), C_.params[static_cast<size_t>(cn.params[1])].size, 0.0f);
      note(cn, 1, nullptr, 0, "zero");
    }
    Corr out = unrelated(cn);
    out.zero = out.exact = true;
    return out;
  }

  const Plan& P_;
  const std::vector<float>& pp_;
  const std::vector<float>& ps_;
  const Plan& C_;
  std::vector<float>& cp_;
  std::vector<float>& cs_;
  std::uint64_t seed_;
  std::vector<int> match_;
  std::vector<bool> zero_;
  std::vector<Corr> corr_;
  InheritReport report_;
};

}  // namespace

InheritReport inherit_weights(const Plan& parent, const std::vector<float>& parent_params, const std::vector<float>& parent_state,
                              const Plan& child, std::vector<float>& child_params, std::vector<float>& child_state, std::uint64_t seed) {
  auto check = [](const char* what, size_t got, std::int64_t want) {
    if (static_cast<std::int64_t>(got) != want)
      throw CoreError("invalid_argument", std::string("the ") + what + " hold " + std::to_string(got) + " values but its network has " +
                                              std::to_string(want));
  };
  check("parent's parameters", parent_params.size(), parent.param_count);
  check("parent's batch-norm statistics", parent_state.size(), parent.state_count);
  check("child's parameters", child_params.size(), child.param_count);
  check("child's batch-norm statistics", child_state.size(), child.state_count);
  return Mapper(parent, parent_params, parent_state, child, child_params, child_state, seed).run();
}

}  // namespace nasx
