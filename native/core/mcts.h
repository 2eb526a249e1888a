// Monte Carlo tree search rollouts over a search space's decision sequence: from a decision prefix,
// complete the sequence at random many times and score each completion with a surrogate model.
// No Node headers; the binding (native/binding/mcts_binding.cc) converts JS values to these structs.
//
// Decision structure. A space's decisions are the slots of its max-expanded tree, in pre-order
// (every conditional field present, every repeat at its largest count). A slot is present in an
// architecture when its gate is open; only present slots take a decision. Gates form a tree:
//   gate 0 is always open;
//   gate g >= 1 is open when its parent gate is open, its slot is present, and the option chosen at
//   its slot is allowed (gate_allowed holds, per gate in order, one flag per option of its slot);
//   a gate whose slot is -1 is never open (a condition that can never hold).
// A repeat's copy c is gated on the count slot (allowed: the counts above c); a conditional field on
// the slots it tests (one gate per condition, chained). Fixed-layout spaces (nb201: 6 slots of 5
// options) need gate 0 only. Gates are ordered by slot, and a gate's slot comes before every slot it
// gates, so one pass over the slots decides presence.
//
// Surrogate. value = bias + sum over present slots s of linear[f_s]
//                         + sum over present slots s < t of pairwise[f_s * F + f_t]
// where f_s = (first feature of slot s) + (option chosen at s), F = the total options over slots
// (the one-hot layout of DslSpace.encode), and pairwise is F×F row-major or empty.
//
// Random draws. Prefix p's rollouts draw from mulberry32 (the generator of lib/util/rng.ts) started at
// the state derive_seed(seed, p) folded to 32 bits; slot s of rollout r takes output number
// n = r·2^16 + s + 1 of that stream (the bits of n above 32 folded in by xor) and maps it to one of
// k options by multiply-shift, floor(u·k / 2^32). Addressing draws by (rollout, slot) makes rollouts
// independent, so lib/strategies/mcts-rollout.ts reproduces every result exactly. The first decision
// after the prefix is stratified instead (rollout r takes option r mod k), so every first child gets
// the same share of rollouts.
//
// Determinism. Rollouts run in chunks of kChunk; each chunk's sums are added in order, then the chunks'
// in chunk order, and the best sequences are merged in chunk order (ties: the earlier rollout first).
// So results depend on the seed only — not on the number of threads or their timing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parallel.h"
#include "spec.h"

namespace nasx::mcts {

constexpr int kMaxSlots = 1 << 16;
constexpr int kMaxGates = 1 << 16;
constexpr int kMaxOptions = 10000;
constexpr std::int64_t kMaxFeatures = 1 << 24;
constexpr std::int64_t kMaxPairwiseFeatures = 4096;
constexpr std::int64_t kMaxRollouts = std::int64_t{1} << 30;
constexpr int kMaxTopK = 1024;
constexpr int kChunk = 1024;

struct DecisionStructure {
  std::vector<int> slot_options;  // options per slot (>= 1)
  std::vector<int> slot_gate;     // the gate each slot needs open
  std::vector<int> gate_parent;   // per gate; gate 0: -1
  std::vector<int> gate_slot;     // per gate; gate 0: -1; -1 for g >= 1 means never open
  std::vector<std::uint8_t> gate_allowed;  // per gate g >= 1 with a slot: slot_options[gate_slot[g]] flags
};

struct Surrogate {
  double bias = 0;
  std::vector<double> linear;    // F
  std::vector<double> pairwise;  // F*F or empty
};

struct RolloutOptions {
  std::int64_t rollouts = 4096;  // per prefix
  std::uint64_t seed = 0;
  int top_k = 8;                 // best distinct completed sequences kept per prefix
  bool vectorize = true;         // use the AVX2 loop where it applies (same results; off for tests)
};

struct Sequence {
  std::vector<int> decisions;
  double value = 0;
};

struct PrefixStats {
  int options = 0;                   // options of the next decision; 0 when the prefix is complete
  std::int64_t rollouts = 0;         // rollouts run (0 for a complete prefix: its one value is exact)
  std::vector<std::int64_t> visits;  // per option of the next decision
  std::vector<double> mean;          // mean value of the rollouts through each option; NaN if none
  std::vector<double> max;           // best value through each option; -infinity if none
  std::vector<Sequence> best;        // up to top_k distinct completions, best first (ties: first found)
};

// Throw CoreError("invalid_argument", "Expected ... for structure.slotGate[3] but received 5").
void check_structure(const DecisionStructure& s);
void check_surrogate(const DecisionStructure& s, const Surrogate& g);
// `name` names the prefix in messages, e.g. "prefixes[2]".
void check_prefix(const DecisionStructure& s, const std::vector<int>& prefix, const std::string& name);
void check_options(const RolloutOptions& o);

// Total options over the slots (the surrogate's feature count).
std::int64_t feature_count(const DecisionStructure& s);

// The surrogate value of a complete decision sequence (checked).
double sequence_value(const DecisionStructure& s, const Surrogate& g, const std::vector<int>& decisions);

// Runs options.rollouts rollouts from every prefix, spread over the team. Checks every input first.
std::vector<PrefixStats> run_rollouts(const DecisionStructure& s, const Surrogate& g, const std::vector<std::vector<int>>& prefixes,
                                      const RolloutOptions& options, Team& team);

}  // namespace nasx::mcts
