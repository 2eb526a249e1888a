// Tests for native/core/mcts without Node: rollout statistics against exact enumeration, top-k
// completions, conditional (gated) structures, determinism across thread counts, and the messages of
// bad inputs. Run under ASan/UBSan in CI. Standalone: exits non-zero on failure.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "check.h"
#include "core/mcts.h"
#include "core/parallel.h"
#include "core/rng.h"

using namespace nasx;
using namespace nasx::mcts;

namespace {

// `slots` slots of `options` options each, no gates (the nb201 layout for 6 × 5).
DecisionStructure fixed(int slots, int options) {
  DecisionStructure s;
  s.slot_options.assign(static_cast<size_t>(slots), options);
  s.slot_gate.assign(static_cast<size_t>(slots), 0);
  s.gate_parent = {-1};
  s.gate_slot = {-1};
  return s;
}

// A variable-length structure: slot 0 is a count (0, 1 or 2 copies); each copy has a width (3 options)
// and a flag (2 options); slot 5 (3 options) is present only when copy 0's flag is 1 — so copy 1 needs
// count >= 2, and slot 5 needs count >= 1 and the flag.
//   slots: 0 count | 1 width0 2 flag0 | 3 width1 4 flag1 | 5 extra
DecisionStructure gated() {
  DecisionStructure s;
  s.slot_options = {3, 3, 2, 3, 2, 3};
  s.gate_parent = {-1, 0, 0, 1};
  s.gate_slot = {-1, 0, 0, 2};
  // gate 1: count option >= 1 (copy 0); gate 2: count option >= 2 (copy 1); gate 3: gate 1 and flag0 == 1.
  s.gate_allowed = {0, 1, 1, /**/ 0, 0, 1, /**/ 0, 1};
  s.slot_gate = {0, 1, 1, 2, 2, 3};
  return s;
}

Surrogate random_surrogate(const DecisionStructure& s, std::uint64_t seed, bool pairwise) {
  Rng rng(seed);
  const std::int64_t f = feature_count(s);
  Surrogate g;
  g.bias = 0.25;
  for (std::int64_t i = 0; i < f; ++i) g.linear.push_back(rng.uniform() * 2 - 1);
  if (pairwise)
    for (std::int64_t i = 0; i < f * f; ++i) g.pairwise.push_back(rng.uniform() - 0.5);
  return g;
}

// Every complete sequence under `prefix`, found with one-rollout calls that report the next options.
void enumerate(const DecisionStructure& s, const Surrogate& g, std::vector<int>& prefix, std::vector<Sequence>& out) {
  SerialTeam team;
  RolloutOptions o;
  o.rollouts = 1;
  o.top_k = 1;
  const PrefixStats r = run_rollouts(s, g, {prefix}, o, team)[0];
  if (r.options == 0) {
    out.push_back(r.best.at(0));
    return;
  }
  for (int c = 0; c < r.options; ++c) {
    prefix.push_back(c);
    enumerate(s, g, prefix, out);
    prefix.pop_back();
  }
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const CoreError& e) {
    return e.code() + ": " + e.what();
  }
  return "";
}

bool same(const std::vector<PrefixStats>& a, const std::vector<PrefixStats>& b) {
  if (a.size() != b.size()) return false;
  for (size_t p = 0; p < a.size(); ++p) {
    if (a[p].options != b[p].options || a[p].visits != b[p].visits || a[p].best.size() != b[p].best.size()) return false;
    for (size_t j = 0; j < a[p].mean.size(); ++j) {
      // Bitwise equality (NaN for unvisited options compares via isnan).
      if (!(a[p].mean[j] == b[p].mean[j] || (std::isnan(a[p].mean[j]) && std::isnan(b[p].mean[j])))) return false;
      if (a[p].max[j] != b[p].max[j]) return false;
    }
    for (size_t i = 0; i < a[p].best.size(); ++i)
      if (a[p].best[i].decisions != b[p].best[i].decisions || a[p].best[i].value != b[p].best[i].value) return false;
  }
  return true;
}

void test_statistics_match_enumeration() {
  const DecisionStructure s = fixed(4, 5);
  const Surrogate g = random_surrogate(s, 1, true);
  std::vector<Sequence> all;
  std::vector<int> prefix = {2};
  enumerate(s, g, prefix, all);
  CHECK(all.size() == 125);
  // Exact per-first-child mean, max and variance under prefix [2].
  std::vector<double> mean(5, 0), max(5, -1e300), sq(5, 0);
  for (const Sequence& q : all) {
    const size_t j = static_cast<size_t>(q.decisions[1]);
    mean[j] += q.value / 25;
    sq[j] += q.value * q.value / 25;
    max[j] = std::max(max[j], q.value);
    CHECK(std::fabs(q.value - sequence_value(s, g, q.decisions)) < 1e-12);
  }
  ThreadTeam team(3);
  RolloutOptions o;
  o.rollouts = 20000;
  o.seed = 5;
  o.top_k = 10;
  const PrefixStats r = run_rollouts(s, g, {{2}}, o, team)[0];
  CHECK(r.options == 5);
  CHECK(r.rollouts == 20000);
  for (size_t j = 0; j < 5; ++j) {
    CHECK(r.visits[j] == 4000);  // stratified: each first child gets rollouts r with r mod 5 = j
    const double sd = std::sqrt(std::max(0.0, sq[j] - mean[j] * mean[j]));
    CHECK_MSG(std::fabs(r.mean[j] - mean[j]) < 5 * sd / std::sqrt(4000.0) + 1e-12,
              "child " + std::to_string(j) + ": " + std::to_string(r.mean[j]) + " vs " + std::to_string(mean[j]));
    CHECK(r.max[j] == max[j]);  // 160 draws per leaf on average: every leaf is seen
  }
  // Top 10 = the 10 best leaves, best first.
  std::sort(all.begin(), all.end(), [](const Sequence& a, const Sequence& b) { return a.value > b.value; });
  CHECK(r.best.size() == 10);
  for (size_t i = 0; i < r.best.size(); ++i) {
    CHECK(r.best[i].decisions == all[i].decisions);
    CHECK(r.best[i].value == all[i].value);
  }
}

void test_deterministic_across_threads() {
  const DecisionStructure s = fixed(6, 5);
  const Surrogate g = random_surrogate(s, 2, true);
  RolloutOptions o;
  o.rollouts = 5000;  // not a multiple of the chunk size
  o.seed = 42;
  o.top_k = 16;
  const std::vector<std::vector<int>> prefixes = {{}, {1, 2}, {4, 4, 4, 4, 4}, {0, 1, 2, 3, 4, 0}};
  SerialTeam serial;
  const auto a = run_rollouts(s, g, prefixes, o, serial);
  for (int threads : {2, 3, 8}) {
    ThreadTeam team(threads);
    CHECK_MSG(same(a, run_rollouts(s, g, prefixes, o, team)), std::to_string(threads) + " threads");
  }
  // The AVX2 loop (where the CPU has it) and the scalar loop agree bit for bit, pairwise or not.
  RolloutOptions scalar = o;
  scalar.vectorize = false;
  CHECK(same(a, run_rollouts(s, g, prefixes, scalar, serial)));
  Surrogate linear = g;
  linear.pairwise.clear();
  CHECK(same(run_rollouts(s, linear, prefixes, o, serial), run_rollouts(s, linear, prefixes, scalar, serial)));
  o.seed = 43;
  CHECK(!same(a, run_rollouts(s, g, prefixes, o, serial)));
  // A complete prefix: no rollouts, its own value as the one best sequence.
  CHECK(a[3].options == 0 && a[3].rollouts == 0 && a[3].visits.empty());
  CHECK(a[3].best.size() == 1 && a[3].best[0].decisions == prefixes[3]);
  CHECK(a[3].best[0].value == sequence_value(s, g, prefixes[3]));
  // One decision left: 5 leaves, all found, in order of value.
  CHECK(a[2].options == 5 && a[2].best.size() == 5);
  for (size_t i = 1; i < a[2].best.size(); ++i) CHECK(a[2].best[i - 1].value >= a[2].best[i].value);
  // Every best sequence is complete and starts with its prefix.
  for (size_t p = 0; p < prefixes.size(); ++p)
    for (const Sequence& q : a[p].best) {
      CHECK(q.decisions.size() == 6);
      CHECK(std::equal(prefixes[p].begin(), prefixes[p].end(), q.decisions.begin()));
    }
}

void test_gated_structure() {
  const DecisionStructure s = gated();
  const Surrogate g = random_surrogate(s, 3, true);
  std::vector<Sequence> all;
  std::vector<int> prefix;
  enumerate(s, g, prefix, all);
  // The sequences the gates allow, listed by hand: count 0; count 1 with the extra only when flag0 = 1;
  // count 2 likewise.
  std::set<std::vector<int>> expected;
  expected.insert({0});
  for (int w0 = 0; w0 < 3; ++w0) {
    expected.insert({1, w0, 0});
    for (int e = 0; e < 3; ++e) expected.insert({1, w0, 1, e});
    for (int f0 = 0; f0 < 2; ++f0)
      for (int w1 = 0; w1 < 3; ++w1)
        for (int f1 = 0; f1 < 2; ++f1) {
          if (f0 == 0) expected.insert({2, w0, f0, w1, f1});
          else
            for (int e = 0; e < 3; ++e) expected.insert({2, w0, f0, w1, f1, e});
        }
  }
  std::set<std::vector<int>> found;
  for (const Sequence& q : all) found.insert(q.decisions);
  CHECK(found == expected);
  CHECK(all.size() == expected.size());

  // Rollouts from the root see every leaf and find them all as the top-k.
  SerialTeam team;
  RolloutOptions o;
  o.rollouts = 60000;
  o.seed = 9;
  o.top_k = static_cast<int>(expected.size()) + 5;
  const PrefixStats r = run_rollouts(s, g, {{}}, o, team)[0];
  CHECK(r.options == 3);
  CHECK(r.visits[0] == 20000 && r.visits[1] == 20000 && r.visits[2] == 20000);
  CHECK(r.best.size() == expected.size());
  std::set<std::vector<int>> best;
  for (const Sequence& q : r.best) {
    best.insert(q.decisions);
    CHECK(q.value == sequence_value(s, g, q.decisions));
  }
  CHECK(best == expected);
  // The count-0 child has a single leaf: its mean is that leaf's value.
  CHECK(std::fabs(r.mean[0] - sequence_value(s, g, {0})) < 1e-9);
  CHECK(r.max[0] == sequence_value(s, g, {0}));
  // Sequence length follows the gates: count 1 with flag 0 is complete after 3 decisions.
  const PrefixStats done = run_rollouts(s, g, {{1, 2, 0}}, o, team)[0];
  CHECK(done.options == 0 && done.best.size() == 1);
  const PrefixStats extra = run_rollouts(s, g, {{1, 2, 1}}, o, team)[0];
  CHECK(extra.options == 3);
}

void test_never_open_gate() {
  // Slot 1 sits behind a gate that never opens (a condition on a constant that does not hold).
  DecisionStructure s;
  s.slot_options = {2, 4, 3};
  s.gate_parent = {-1, 0};
  s.gate_slot = {-1, -1};
  s.slot_gate = {0, 1, 0};
  const Surrogate g = random_surrogate(s, 4, false);
  std::vector<Sequence> all;
  std::vector<int> prefix;
  enumerate(s, g, prefix, all);
  CHECK(all.size() == 6);
  for (const Sequence& q : all) CHECK(q.decisions.size() == 2);
}

void test_errors() {
  SerialTeam team;
  RolloutOptions o;
  const DecisionStructure ok = fixed(3, 4);
  const Surrogate g = random_surrogate(ok, 5, true);
  auto run = [&](const DecisionStructure& s, const Surrogate& sg, const std::vector<std::vector<int>>& prefixes, const RolloutOptions& opt) {
    return error_of([&] { run_rollouts(s, sg, prefixes, opt, team); });
  };
  DecisionStructure s = ok;
  s.slot_options[1] = 0;
  CHECK(run(s, g, {}, o) == "invalid_argument: structure.slotOptions[1] must be an integer between 1 and 10000 but got 0");
  s = ok;
  s.slot_gate.pop_back();
  CHECK(run(s, g, {}, o) == "invalid_argument: structure.slotGate must have one entry per slot (3) but has 2");
  s = ok;
  s.slot_gate[2] = 1;
  CHECK(run(s, g, {}, o) == "invalid_argument: structure.slotGate[2] must be a gate between 0 and 0 but got 1");
  s = ok;
  s.gate_slot = {};
  s.gate_parent = {};
  CHECK(run(s, g, {}, o) == "invalid_argument: structure.gateSlot must have between 1 and 65536 gates but has 0");
  s = gated();
  s.gate_parent[2] = 2;
  CHECK(run(s, random_surrogate(s, 1, false), {}, o) ==
        "invalid_argument: structure.gateParent[2] must be an earlier gate, between 0 and 1, but got 2");
  s = gated();
  s.gate_slot[3] = 0;
  CHECK(run(s, random_surrogate(s, 1, false), {}, o) ==
        "invalid_argument: a gate must test a later slot than its parent, but gate 3 tests slot 0 and its parent 1 tests slot 0");
  s = gated();
  s.gate_slot = {-1, 0, 2, 0};
  s.gate_parent = {-1, 0, 0, 0};
  CHECK(run(s, random_surrogate(s, 1, false), {}, o) ==
        "invalid_argument: gates must be ordered by slot, but structure.gateSlot[3] = 0 comes after structure.gateSlot[2] = 2");
  s = gated();
  s.slot_gate[1] = 3;
  CHECK(run(s, random_surrogate(s, 1, false), {}, o) ==
        "invalid_argument: a slot must come after the slot its gate tests, but slot 1 has gate 3, which tests slot 2");
  s = gated();
  s.gate_allowed.pop_back();
  CHECK(run(s, random_surrogate(s, 1, false), {}, o) ==
        "invalid_argument: structure.gateAllowed must have one flag per option of each gate's slot (8) but has 7");
  Surrogate bad = g;
  bad.linear.pop_back();
  CHECK(run(ok, bad, {}, o) == "invalid_argument: surrogate.linear must have one weight per option of every slot (12) but has 11");
  bad = g;
  bad.pairwise.resize(10);
  CHECK(run(ok, bad, {}, o) == "invalid_argument: surrogate.pairwise must be empty or have 12×12 = 144 weights but has 10");
  bad = g;
  bad.linear[3] = std::nan("");
  CHECK(run(ok, bad, {}, o) == "invalid_argument: surrogate.linear[3] must be a finite number");
  CHECK(run(ok, g, {{0}, {1, 4}}, o) == "invalid_argument: prefixes[1][1] must be an option between 0 and 3 but got 4");
  CHECK(run(ok, g, {{0, 1, 2, 3}}, o) ==
        "invalid_argument: prefixes[0] must have at most 3 decisions (the sequence is complete after them) but has 4");
  RolloutOptions bad_o;
  bad_o.rollouts = 0;
  CHECK(run(ok, g, {}, bad_o) == "invalid_argument: options.rollouts must be an integer between 1 and 1073741824 but got 0");
  bad_o = o;
  bad_o.top_k = 2000;
  CHECK(run(ok, g, {}, bad_o) == "invalid_argument: options.topK must be an integer between 0 and 1024 but got 2000");
  CHECK(error_of([&] { sequence_value(ok, g, {1, 2}); }) ==
        "invalid_argument: decisions must be a complete sequence but has 2 decisions and the next slot has 4 options");
  // No prefixes: nothing to do.
  CHECK(run_rollouts(ok, g, {}, o, team).empty());
}

}  // namespace

int main() {
  test_statistics_match_enumeration();
  test_deterministic_across_threads();
  test_gated_structure();
  test_never_open_gate();
  test_errors();
  return nasx::testing::summary("test_mcts");
}
