#include "mcts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rng.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define NASX_MCTS_AVX2 1
#include <immintrin.h>
#endif

namespace nasx::mcts {
namespace {

// parallel_for counts work items in an int.
constexpr std::int64_t kMaxWorkItems = std::int64_t{1} << 30;

CoreError invalid(const std::string& message) { return CoreError("invalid_argument", message); }

std::string at(const char* name, std::size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

// The random option of slot `slot` in rollout r of a prefix whose stream starts at `state0`: output
// number n = r·2^16 + slot + 1 of mulberry32 (lib/util/rng.ts's generator: output n mixes
// state0 + n·0x6d2b79f5), the high 32 bits of n folded in by xor; then the option by multiply-shift,
// floor(u·k / 2^32). Draws are addressed by (rollout, slot) rather than taken in turn, so rollouts are
// independent of each other and of which slots the gates skip.
inline int draw_option(std::uint32_t state0, std::int64_t r, int slot, int k) {
  const std::uint64_t n = (static_cast<std::uint64_t>(r) << 16) + static_cast<std::uint64_t>(slot) + 1;
  const std::uint32_t x = (state0 + static_cast<std::uint32_t>(n) * 0x6d2b79f5u) ^ (static_cast<std::uint32_t>(n >> 32) * 0x9e3779b9u);
  std::uint32_t t = (x ^ (x >> 15)) * (x | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  t ^= t >> 14;
  return static_cast<int>((static_cast<std::uint64_t>(t) * static_cast<std::uint32_t>(k)) >> 32);
}

// Layout derived from a checked structure, shared read-only by all rollouts.
struct Layout {
  int slots = 0;
  int gates = 0;
  std::int64_t features = 0;
  std::vector<std::int64_t> offset;     // first feature of each slot
  std::vector<std::int64_t> gate_flags; // offset of each gate's flags in gate_allowed (-1: never open)
};

Layout layout_of(const DecisionStructure& s) {
  Layout l;
  l.slots = static_cast<int>(s.slot_options.size());
  l.gates = static_cast<int>(s.gate_slot.size());
  l.offset.resize(static_cast<std::size_t>(l.slots));
  for (int i = 0; i < l.slots; ++i) {
    l.offset[static_cast<std::size_t>(i)] = l.features;
    l.features += s.slot_options[static_cast<std::size_t>(i)];
  }
  l.gate_flags.assign(static_cast<std::size_t>(l.gates), -1);
  std::int64_t flags = 0;
  for (int g = 1; g < l.gates; ++g) {
    const int slot = s.gate_slot[static_cast<std::size_t>(g)];
    if (slot < 0) continue;
    l.gate_flags[static_cast<std::size_t>(g)] = flags;
    flags += s.slot_options[static_cast<std::size_t>(slot)];
  }
  return l;
}

// The state of one walk through the slots: which gates are open, what each slot chose (-1: absent),
// the features chosen so far (for the pairwise terms) and the value so far.
struct Walk {
  std::vector<std::uint8_t> open;
  std::vector<int> chosen;
  std::vector<const double*> active;  // per chosen feature f: row f of the pairwise weights
  int active_count = 0;
  double value = 0;
  int slot = 0;        // the next slot to visit
  int next_gate = 1;   // the next gate to decide
};

class Walker {
 public:
  // Without a surrogate (g == nullptr) the walk only follows the structure; values stay 0.
  Walker(const DecisionStructure& s, const Surrogate* g, const Layout& l)
      : s_(s), g_(g), l_(l), pairwise_(g && !g->pairwise.empty() ? g->pairwise.data() : nullptr) {}

  Walk start() const {
    Walk w;
    w.open.assign(static_cast<std::size_t>(l_.gates), 0);
    w.open[0] = 1;
    w.chosen.assign(static_cast<std::size_t>(l_.slots), -1);
    w.active.assign(static_cast<std::size_t>(l_.slots), nullptr);
    w.value = g_ ? g_->bias : 0.0;
    w.next_gate = 1;
    // Gates that can never open come first (their slot is -1) and stay closed.
    while (w.next_gate < l_.gates && s_.gate_slot[static_cast<std::size_t>(w.next_gate)] < 0) ++w.next_gate;
    return w;
  }

  // Advances past absent slots; true when w.slot is a present slot (a decision is due), false at the end.
  bool to_decision(Walk& w) const {
    while (w.slot < l_.slots) {
      if (w.open[static_cast<std::size_t>(s_.slot_gate[static_cast<std::size_t>(w.slot)])]) return true;
      w.chosen[static_cast<std::size_t>(w.slot)] = -1;
      close_gates(w);
    }
    return false;
  }

  int options(const Walk& w) const { return s_.slot_options[static_cast<std::size_t>(w.slot)]; }

  // Takes option c at the present slot w.slot and moves on.
  void decide(Walk& w, int c) const {
    const std::size_t slot = static_cast<std::size_t>(w.slot);
    w.chosen[slot] = c;
    if (g_) {
      // The slot's terms are summed apart from the running value, so that the slots' sums can
      // overlap in the pipeline; the order is fixed (lib/strategies/mcts-rollout.ts sums alike).
      const std::int64_t f = l_.offset[slot] + c;
      double t = g_->linear[static_cast<std::size_t>(f)];
      if (pairwise_) {
        const double* const* rows = w.active.data();
        for (int i = 0; i < w.active_count; ++i) t += rows[i][f];
        w.active[static_cast<std::size_t>(w.active_count)] = pairwise_ + f * l_.features;
      }
      ++w.active_count;
      w.value += t;
    }
    close_gates(w);
  }

 private:
  // Decides the gates tested at w.slot (now decided or absent) and moves to the next slot.
  void close_gates(Walk& w) const {
    const int slot = w.slot;
    const int c = w.chosen[static_cast<std::size_t>(slot)];
    while (w.next_gate < l_.gates && s_.gate_slot[static_cast<std::size_t>(w.next_gate)] == slot) {
      const std::size_t g = static_cast<std::size_t>(w.next_gate);
      w.open[g] = w.open[static_cast<std::size_t>(s_.gate_parent[g])] && c >= 0 &&
                  s_.gate_allowed[static_cast<std::size_t>(l_.gate_flags[g] + c)];
      ++w.next_gate;
    }
    ++w.slot;
  }

  const DecisionStructure& s_;
  const Surrogate* g_;
  const Layout& l_;
  const double* pairwise_;
};

// Keeps the k best distinct sequences, best first; among equal values the one inserted first stays first.
class TopK {
 public:
  explicit TopK(int k) : k_(static_cast<std::size_t>(k)) { items_.reserve(k_ + 1); }
  bool wants(double value) const { return k_ > 0 && (items_.size() < k_ || value > items_.back().value); }

  void insert(Sequence s) {
    if (!wants(s.value)) return;
    const std::size_t pos = position(s.value, s.decisions);
    if (pos == kDuplicate) return;
    items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(s));
    if (items_.size() > k_) items_.pop_back();
  }

  // insert(Sequence{decisions of w, value}) without allocating once the list is full: the evicted
  // entry's buffer takes the new decisions.
  void insert(const Walk& w, double value) {
    if (!wants(value)) return;
    thread_local std::vector<int> decisions;
    decisions.clear();
    for (const int c : w.chosen)
      if (c >= 0) decisions.push_back(c);
    const std::size_t pos = position(value, decisions);
    if (pos == kDuplicate) return;
    if (items_.size() < k_) items_.emplace_back();
    Sequence& slot = items_.back();  // the new entry, or the one it evicts
    slot.decisions.assign(decisions.begin(), decisions.end());
    slot.value = value;
    std::rotate(items_.begin() + static_cast<std::ptrdiff_t>(pos), items_.end() - 1, items_.end());
  }

  std::vector<Sequence>& items() { return items_; }

 private:
  static constexpr std::size_t kDuplicate = ~std::size_t{0};

  // Where a sequence of this value goes (after the entries of equal value), or kDuplicate.
  std::size_t position(double value, const std::vector<int>& decisions) const {
    std::size_t pos = items_.size();
    while (pos > 0 && items_[pos - 1].value < value) --pos;
    // An identical sequence has an identical value, so it can only sit among the equal values.
    for (std::size_t i = pos; i-- > 0 && items_[i].value == value;)
      if (items_[i].decisions == decisions) return kDuplicate;
    return pos;
  }

  std::size_t k_;
  std::vector<Sequence> items_;
};

// What one chunk of rollouts from one prefix found.
struct ChunkResult {
  std::vector<std::int64_t> visits;
  std::vector<double> sum;
  std::vector<double> max;
  std::vector<Sequence> best;
};

// The walk after a prefix (checked), stopped at the next decision or at the end.
Walk replay(const Walker& walker, const std::vector<int>& prefix) {
  Walk w = walker.start();
  for (const int c : prefix) {
    walker.to_decision(w);
    walker.decide(w, c);
  }
  walker.to_decision(w);
  return w;
}

// Raw views of a checked structure and surrogate, for the rollout loop.
struct Tables {
  int slots = 0;
  int gates = 0;
  std::int64_t features = 0;
  const int* options = nullptr;
  const int* slot_gate = nullptr;
  const std::int64_t* offset = nullptr;
  const int* gate_parent = nullptr;
  const int* gate_slot = nullptr;
  const std::int64_t* gate_flags = nullptr;
  const std::uint8_t* allowed = nullptr;
  const double* linear = nullptr;
  const double* pairwise = nullptr;
};

Tables tables_of(const DecisionStructure& s, const Surrogate& g, const Layout& l) {
  Tables t;
  t.slots = l.slots;
  t.gates = l.gates;
  t.features = l.features;
  t.options = s.slot_options.data();
  t.slot_gate = s.slot_gate.data();
  t.offset = l.offset.data();
  t.gate_parent = s.gate_parent.data();
  t.gate_slot = s.gate_slot.data();
  t.gate_flags = l.gate_flags.data();
  t.allowed = s.gate_allowed.data();
  t.linear = g.linear.data();
  t.pairwise = g.pairwise.empty() ? nullptr : g.pairwise.data();
  return t;
}

// Rollouts [begin, end) from `start` (stopped at a decision), added to res and top. The same steps as
// Walker::decide and close_gates, specialised for structures with and without gates and surrogates
// with and without pairwise terms: this loop is where the time goes.
template <bool Gates, bool Pairs>
void run_chunk(const Tables& t, const Walk& start, const double* base, std::uint32_t state0, std::int64_t begin, std::int64_t end,
               ChunkResult& res, TopK& top) {
  const int s0 = start.slot;
  const int k0 = t.options[s0];
  Walk w = start;
  int* chosen = w.chosen.data();
  std::uint8_t* open = w.open.data();
  const double** rows = w.active.data();
  int first = static_cast<int>(begin % k0) - 1;  // rollout r takes option r mod k0 first
  for (std::int64_t r = begin; r < end; ++r) {
    if (++first == k0) first = 0;
    double v = start.value;
    const int na0 = start.active_count;
    int na = na0;
    int g = start.next_gate;
    for (int s = s0; s < t.slots; ++s) {
      int c = -1;
      if (!Gates || open[t.slot_gate[s]]) {
        const int k = t.options[s];
        c = s == s0 ? first : (k == 1 ? 0 : draw_option(state0, r, s, k));
        const std::int64_t f = t.offset[s] + c;
        double term = base[f];  // the linear weight and the pairs with the prefix
        if (Pairs) {
          for (int i = na0; i < na; ++i) term += rows[i][f];
          rows[na] = t.pairwise + f * t.features;
        }
        ++na;
        v += term;
      }
      chosen[s] = c;
      if (Gates) {
        for (; g < t.gates && t.gate_slot[g] == s; ++g) open[g] = open[t.gate_parent[g]] && c >= 0 && t.allowed[t.gate_flags[g] + c];
      }
    }
    const std::size_t j = static_cast<std::size_t>(first);
    ++res.visits[j];
    res.sum[j] += v;
    if (v > res.max[j]) res.max[j] = v;
    if (top.wants(v)) top.insert(w, v);
  }
}

#if NASX_MCTS_AVX2
// Four doubles at base[index[i]] (the masked form, whose source operand is defined).
__attribute__((target("avx2"))) inline __m256d gather(const double* base, __m128i index) {
  return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, index, _mm256_castsi256_pd(_mm256_set1_epi64x(-1)), 8);
}

// run_chunk<false, Pairs> for eight rollouts at a time (AVX2): draws, options and features in 32-bit
// lanes, values in two vectors of four doubles, each lane adding the same terms in the same order as
// the scalar loop — so the results are identical. The remainder of the chunk runs scalar.
template <bool Pairs>
__attribute__((target("avx2"))) void run_chunk_avx2(const Tables& t, const Walk& start, const double* base, std::uint32_t state0,
                                                    std::int64_t begin, std::int64_t end, ChunkResult& res, TopK& top) {
  constexpr int kLanes = 8;
  static_assert(kChunk % kLanes == 0, "blocks of 8 rollouts must not straddle 2^16 rollouts");
  const int s0 = start.slot;
  const int k0 = t.options[s0];
  const int slots = t.slots;
  Walk w = start;
  std::vector<std::int32_t> row_of(static_cast<std::size_t>(slots) * kLanes);  // per rollout slot: f·F (its pairwise row)
  std::vector<std::int32_t> chosen(static_cast<std::size_t>(slots) * kLanes);
  const __m256i lane_shift = _mm256_setr_epi32(0, 1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16);
  const __m256i one = _mm256_set1_epi32(1), sixty_one = _mm256_set1_epi32(61);
  const __m256i features = _mm256_set1_epi32(static_cast<int>(t.features));
  alignas(32) std::int32_t firsts[kLanes];
  alignas(32) double values[kLanes];
  // The first option of each lane's rollout, (r + j) mod k0, advanced by 8 per block.
  const __m256i k0v = _mm256_set1_epi32(k0);
  __m256i first = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(begin % k0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i step = _mm256_set1_epi32(kLanes);
  std::int64_t r = begin;
  for (; r + kLanes <= end; r += kLanes) {
    for (__m256i over = _mm256_cmpgt_epi32(first, _mm256_sub_epi32(k0v, one)); _mm256_movemask_epi8(over) != 0;
         over = _mm256_cmpgt_epi32(first, _mm256_sub_epi32(k0v, one)))
      first = _mm256_sub_epi32(first, _mm256_and_si256(over, k0v));
    _mm256_store_si256(reinterpret_cast<__m256i*>(firsts), first);
    first = _mm256_add_epi32(first, step);
    // n = (r + j)·2^16 + slot + 1: its low 32 bits per lane, before the slot is added, and its bits
    // above 32, the same for the 8 lanes (blocks start at multiples of 8, chunks at multiples of 1024).
    const __m256i low = _mm256_add_epi32(_mm256_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(r) << 16)), lane_shift);
    const __m256i folded = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(r) >> 16) * 0x9e3779b9u));
    __m256d v0 = _mm256_set1_pd(start.value), v1 = v0;
    for (int s = s0; s < slots; ++s) {
      const int k = t.options[s];
      __m256i c;
      if (s == s0) {
        c = _mm256_load_si256(reinterpret_cast<const __m256i*>(firsts));
      } else if (k == 1) {
        c = _mm256_setzero_si256();
      } else {
        const __m256i n = _mm256_add_epi32(low, _mm256_set1_epi32(s + 1));
        const __m256i x = _mm256_xor_si256(_mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(state0)), _mm256_mullo_epi32(n, _mm256_set1_epi32(0x6d2b79f5))), folded);
        __m256i u = _mm256_mullo_epi32(_mm256_xor_si256(x, _mm256_srli_epi32(x, 15)), _mm256_or_si256(x, one));
        u = _mm256_xor_si256(u, _mm256_add_epi32(u, _mm256_mullo_epi32(_mm256_xor_si256(u, _mm256_srli_epi32(u, 7)), _mm256_or_si256(u, sixty_one))));
        u = _mm256_xor_si256(u, _mm256_srli_epi32(u, 14));
        // floor(u·k / 2^32): the high halves of the 64-bit products, even and odd lanes.
        const __m256i kv = _mm256_set1_epi32(k);
        const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(u, kv), 32);
        const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(u, 32), kv);
        c = _mm256_blend_epi32(even, odd, 0xAA);
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(chosen.data() + static_cast<std::size_t>(s) * kLanes), c);
      const __m256i f = _mm256_add_epi32(c, _mm256_set1_epi32(static_cast<int>(t.offset[s])));
      const __m128i f0 = _mm256_castsi256_si128(f), f1 = _mm256_extracti128_si256(f, 1);
      __m256d t0 = gather(base, f0), t1 = gather(base, f1);
      if (Pairs) {
        for (int q = s0; q < s; ++q) {
          const __m256i row = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_of.data() + static_cast<std::size_t>(q) * kLanes));
          const __m256i idx = _mm256_add_epi32(row, f);
          t0 = _mm256_add_pd(t0, gather(t.pairwise, _mm256_castsi256_si128(idx)));
          t1 = _mm256_add_pd(t1, gather(t.pairwise, _mm256_extracti128_si256(idx, 1)));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(row_of.data() + static_cast<std::size_t>(s) * kLanes), _mm256_mullo_epi32(f, features));
      }
      v0 = _mm256_add_pd(v0, t0);
      v1 = _mm256_add_pd(v1, t1);
    }
    _mm256_store_pd(values, v0);
    _mm256_store_pd(values + 4, v1);
    for (int j = 0; j < kLanes; ++j) {
      const double v = values[j];
      const std::size_t fj = static_cast<std::size_t>(firsts[j]);
      ++res.visits[fj];
      res.sum[fj] += v;
      if (v > res.max[fj]) res.max[fj] = v;
      if (top.wants(v)) {
        for (int s = s0; s < slots; ++s) w.chosen[static_cast<std::size_t>(s)] = chosen[static_cast<std::size_t>(s) * kLanes + j];
        top.insert(w, v);
      }
    }
  }
  if (r < end) run_chunk<false, Pairs>(t, start, base, state0, r, end, res, top);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

}  // namespace

std::int64_t feature_count(const DecisionStructure& s) {
  std::int64_t f = 0;
  for (const int k : s.slot_options) f += k;
  return f;
}

void check_structure(const DecisionStructure& s) {
  const std::size_t slots = s.slot_options.size();
  if (slots > static_cast<std::size_t>(kMaxSlots))
    throw invalid("structure.slotOptions must have at most " + std::to_string(kMaxSlots) + " slots but has " + std::to_string(slots));
  for (std::size_t i = 0; i < slots; ++i) {
    const int k = s.slot_options[i];
    if (k < 1 || k > kMaxOptions)
      throw invalid(at("structure.slotOptions", i) + " must be an integer between 1 and " + std::to_string(kMaxOptions) + " but got " +
                    std::to_string(k));
  }
  if (s.slot_gate.size() != slots)
    throw invalid("structure.slotGate must have one entry per slot (" + std::to_string(slots) + ") but has " +
                  std::to_string(s.slot_gate.size()));
  const std::size_t gates = s.gate_slot.size();
  if (gates < 1 || gates > static_cast<std::size_t>(kMaxGates))
    throw invalid("structure.gateSlot must have between 1 and " + std::to_string(kMaxGates) + " gates but has " + std::to_string(gates));
  if (s.gate_parent.size() != gates)
    throw invalid("structure.gateParent must have one entry per gate (" + std::to_string(gates) + ") but has " +
                  std::to_string(s.gate_parent.size()));
  if (s.gate_parent[0] != -1 || s.gate_slot[0] != -1)
    throw invalid("gate 0 must be the root (structure.gateParent[0] = structure.gateSlot[0] = -1) but got parent " +
                  std::to_string(s.gate_parent[0]) + " and slot " + std::to_string(s.gate_slot[0]));
  std::int64_t flags = 0;
  for (std::size_t g = 1; g < gates; ++g) {
    const int parent = s.gate_parent[g];
    const int slot = s.gate_slot[g];
    if (parent < 0 || static_cast<std::size_t>(parent) >= g)
      throw invalid(at("structure.gateParent", g) + " must be an earlier gate, between 0 and " + std::to_string(g - 1) + ", but got " +
                    std::to_string(parent));
    if (slot < -1 || slot >= static_cast<int>(slots))
      throw invalid(at("structure.gateSlot", g) + " must be a slot between 0 and " + std::to_string(static_cast<int>(slots) - 1) +
                    " (or -1 for a gate that never opens) but got " + std::to_string(slot));
    if (slot < s.gate_slot[g - 1])
      throw invalid("gates must be ordered by slot, but structure.gateSlot[" + std::to_string(g) + "] = " + std::to_string(slot) +
                    " comes after structure.gateSlot[" + std::to_string(g - 1) + "] = " + std::to_string(s.gate_slot[g - 1]));
    const int parent_slot = s.gate_slot[static_cast<std::size_t>(parent)];
    if (slot >= 0 && parent_slot >= slot)
      throw invalid("a gate must test a later slot than its parent, but gate " + std::to_string(g) + " tests slot " + std::to_string(slot) +
                    " and its parent " + std::to_string(parent) + " tests slot " + std::to_string(parent_slot));
    if (slot >= 0) flags += s.slot_options[static_cast<std::size_t>(slot)];
  }
  if (static_cast<std::int64_t>(s.gate_allowed.size()) != flags)
    throw invalid("structure.gateAllowed must have one flag per option of each gate's slot (" + std::to_string(flags) + ") but has " +
                  std::to_string(s.gate_allowed.size()));
  for (std::size_t i = 0; i < s.gate_allowed.size(); ++i)
    if (s.gate_allowed[i] > 1)
      throw invalid(at("structure.gateAllowed", i) + " must be 0 or 1 but got " + std::to_string(s.gate_allowed[i]));
  for (std::size_t i = 0; i < slots; ++i) {
    const int g = s.slot_gate[i];
    if (g < 0 || static_cast<std::size_t>(g) >= gates)
      throw invalid(at("structure.slotGate", i) + " must be a gate between 0 and " + std::to_string(gates - 1) + " but got " +
                    std::to_string(g));
    if (s.gate_slot[static_cast<std::size_t>(g)] >= static_cast<int>(i))
      throw invalid("a slot must come after the slot its gate tests, but slot " + std::to_string(i) + " has gate " + std::to_string(g) +
                    ", which tests slot " + std::to_string(s.gate_slot[static_cast<std::size_t>(g)]));
  }
  if (feature_count(s) > kMaxFeatures)
    throw invalid("the structure must have at most " + std::to_string(kMaxFeatures) + " options in all but has " +
                  std::to_string(feature_count(s)));
}

void check_surrogate(const DecisionStructure& s, const Surrogate& g) {
  const std::int64_t f = feature_count(s);
  if (!std::isfinite(g.bias)) throw invalid("surrogate.bias must be a finite number");
  if (static_cast<std::int64_t>(g.linear.size()) != f)
    throw invalid("surrogate.linear must have one weight per option of every slot (" + std::to_string(f) + ") but has " +
                  std::to_string(g.linear.size()));
  for (std::size_t i = 0; i < g.linear.size(); ++i)
    if (!std::isfinite(g.linear[i])) throw invalid(at("surrogate.linear", i) + " must be a finite number");
  if (!g.pairwise.empty()) {
    if (f > kMaxPairwiseFeatures)
      throw invalid("surrogate.pairwise must be empty for a structure of more than " + std::to_string(kMaxPairwiseFeatures) +
                    " options (this one has " + std::to_string(f) + ")");
    if (static_cast<std::int64_t>(g.pairwise.size()) != f * f)
      throw invalid("surrogate.pairwise must be empty or have " + std::to_string(f) + "×" + std::to_string(f) + " = " +
                    std::to_string(f * f) + " weights but has " + std::to_string(g.pairwise.size()));
    for (std::size_t i = 0; i < g.pairwise.size(); ++i)
      if (!std::isfinite(g.pairwise[i])) throw invalid(at("surrogate.pairwise", i) + " must be a finite number");
  }
}

void check_prefix(const DecisionStructure& s, const std::vector<int>& prefix, const std::string& name) {
  const Layout l = layout_of(s);
  const Walker walker(s, nullptr, l);
  Walk w = walker.start();
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (!walker.to_decision(w))
      throw invalid(name + " must have at most " + std::to_string(i) + " decisions (the sequence is complete after them) but has " +
                    std::to_string(prefix.size()));
    const int k = walker.options(w);
    if (prefix[i] < 0 || prefix[i] >= k)
      throw invalid(name + "[" + std::to_string(i) + "] must be an option between 0 and " + std::to_string(k - 1) + " but got " +
                    std::to_string(prefix[i]));
    walker.decide(w, prefix[i]);
  }
}

void check_options(const RolloutOptions& o) {
  if (o.rollouts < 1 || o.rollouts > kMaxRollouts)
    throw invalid("options.rollouts must be an integer between 1 and " + std::to_string(kMaxRollouts) + " but got " +
                  std::to_string(o.rollouts));
  if (o.top_k < 0 || o.top_k > kMaxTopK)
    throw invalid("options.topK must be an integer between 0 and " + std::to_string(kMaxTopK) + " but got " + std::to_string(o.top_k));
}

double sequence_value(const DecisionStructure& s, const Surrogate& g, const std::vector<int>& decisions) {
  check_structure(s);
  check_surrogate(s, g);
  check_prefix(s, decisions, "decisions");
  const Layout l = layout_of(s);
  const Walker walker(s, &g, l);
  const Walk w = replay(walker, decisions);
  if (w.slot < l.slots)
    throw invalid("decisions must be a complete sequence but has " + std::to_string(decisions.size()) +
                  " decisions and the next slot has " + std::to_string(walker.options(w)) + " options");
  return w.value;
}

std::vector<PrefixStats> run_rollouts(const DecisionStructure& s, const Surrogate& g, const std::vector<std::vector<int>>& prefixes,
                                      const RolloutOptions& options, Team& team) {
  check_structure(s);
  check_surrogate(s, g);
  check_options(options);
  for (std::size_t p = 0; p < prefixes.size(); ++p) check_prefix(s, prefixes[p], at("prefixes", p));

  const Layout l = layout_of(s);
  const Walker walker(s, &g, l);
  const std::size_t n = prefixes.size();
  std::vector<Walk> starts;
  starts.reserve(n);
  std::vector<PrefixStats> out(n);
  // Work items: (prefix, chunk); complete prefixes have none.
  std::vector<std::pair<std::size_t, std::int64_t>> items;
  std::vector<std::size_t> first_item(n + 1, 0);
  const std::int64_t chunks = (options.rollouts + kChunk - 1) / kChunk;
  for (std::size_t p = 0; p < n; ++p) {
    starts.push_back(replay(walker, prefixes[p]));
    const Walk& w = starts.back();
    first_item[p] = items.size();
    PrefixStats& r = out[p];
    if (w.slot == l.slots) {
      if (options.top_k > 0) r.best.push_back(Sequence{prefixes[p], w.value});
      continue;
    }
    r.options = walker.options(w);
    r.rollouts = options.rollouts;
    if (static_cast<std::int64_t>(items.size()) + chunks > kMaxWorkItems)
      throw invalid("prefixes × options.rollouts must be at most " + std::to_string(kMaxWorkItems * kChunk) + " rollouts in one call");
    for (std::int64_t c = 0; c < chunks; ++c) items.emplace_back(p, c);
  }
  first_item[n] = items.size();

  std::vector<std::uint32_t> state0(n);
  for (std::size_t p = 0; p < n; ++p) {
    const std::uint64_t d = derive_seed(options.seed, p);
    state0[p] = static_cast<std::uint32_t>(d) ^ static_cast<std::uint32_t>(d >> 32);
  }
  // Per prefix and feature f of a slot after it: linear[f] plus the pairs of f with the prefix's
  // features, in order — the start of every rollout's term for f, summed once.
  std::vector<std::vector<double>> bases(n);
  for (std::size_t p = 0; p < n; ++p) {
    const Walk& w = starts[p];
    if (w.slot == l.slots) continue;
    bases[p].assign(g.linear.begin(), g.linear.end());
    if (g.pairwise.empty()) continue;
    for (std::int64_t f = l.offset[static_cast<std::size_t>(w.slot)]; f < l.features; ++f) {
      double b = g.linear[static_cast<std::size_t>(f)];
      for (int i = 0; i < w.active_count; ++i) b += w.active[static_cast<std::size_t>(i)][f];
      bases[p][static_cast<std::size_t>(f)] = b;
    }
  }
  const Tables tables = tables_of(s, g, l);
  const bool gates = l.gates > 1;
  const bool pairs = !g.pairwise.empty();
  std::vector<ChunkResult> results(items.size());
  team.parallel_for(static_cast<int>(items.size()), [&](int i) {
    const auto [p, c] = items[static_cast<std::size_t>(i)];
    const std::int64_t begin = c * kChunk;
    const std::int64_t end = std::min(options.rollouts, begin + kChunk);
    ChunkResult& res = results[static_cast<std::size_t>(i)];
    const std::size_t k0 = static_cast<std::size_t>(tables.options[starts[p].slot]);
    const double* base = bases[p].data();
    res.visits.assign(k0, 0);
    res.sum.assign(k0, 0.0);
    res.max.assign(k0, -std::numeric_limits<double>::infinity());
    TopK top(options.top_k);
#if NASX_MCTS_AVX2
    // The gather indices (f·F + f) must fit in 32 bits: true for any surrogate that passes the checks.
    if (!gates && options.vectorize && has_avx2()) {
      if (pairs) run_chunk_avx2<true>(tables, starts[p], base, state0[p], begin, end, res, top);
      else run_chunk_avx2<false>(tables, starts[p], base, state0[p], begin, end, res, top);
      res.best = std::move(top.items());
      return;
    }
#endif
    if (gates && pairs) run_chunk<true, true>(tables, starts[p], base, state0[p], begin, end, res, top);
    else if (gates) run_chunk<true, false>(tables, starts[p], base, state0[p], begin, end, res, top);
    else if (pairs) run_chunk<false, true>(tables, starts[p], base, state0[p], begin, end, res, top);
    else run_chunk<false, false>(tables, starts[p], base, state0[p], begin, end, res, top);
    res.best = std::move(top.items());
  });

  for (std::size_t p = 0; p < n; ++p) {
    PrefixStats& r = out[p];
    if (first_item[p] == first_item[p + 1]) continue;
    const std::size_t k = static_cast<std::size_t>(r.options);
    r.visits.assign(k, 0);
    r.max.assign(k, -std::numeric_limits<double>::infinity());
    std::vector<double> sum(k, 0.0);
    TopK top(options.top_k);
    for (std::size_t i = first_item[p]; i < first_item[p + 1]; ++i) {
      ChunkResult& c = results[i];
      for (std::size_t j = 0; j < k; ++j) {
        r.visits[j] += c.visits[j];
        sum[j] += c.sum[j];
        if (c.max[j] > r.max[j]) r.max[j] = c.max[j];
      }
      for (Sequence& seq : c.best) top.insert(std::move(seq));
    }
    r.mean.resize(k);
    for (std::size_t j = 0; j < k; ++j)
      r.mean[j] = r.visits[j] > 0 ? sum[j] / static_cast<double>(r.visits[j]) : std::numeric_limits<double>::quiet_NaN();
    r.best = std::move(top.items());
  }
  return out;
}

}  // namespace nasx::mcts
