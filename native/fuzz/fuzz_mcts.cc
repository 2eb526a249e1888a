// libFuzzer: MCTS rollouts over a hostile decision structure, surrogate and prefixes. The checks the
// binding runs before any work (check_structure, check_surrogate, check_prefix) must refuse whatever
// run_rollouts cannot take; whatever they accept must run.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/mcts.h"
#include "core/parallel.h"
#include "decode.h"

using namespace nasx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(data, size);
  mcts::DecisionStructure s;
  const int slots = in.next() % 64;
  const int gates = in.next() % 32;
  for (int i = 0; i < slots; ++i) s.slot_options.push_back(fuzz::size(in.next()) % 16);
  for (int i = 0; i < slots; ++i) s.slot_gate.push_back(static_cast<int>(in.next() % 34) - 1);
  for (int g = 0; g < gates; ++g) s.gate_parent.push_back(static_cast<int>(in.next() % 34) - 1);
  for (int g = 0; g < gates; ++g) s.gate_slot.push_back(static_cast<int>(in.next() % 66) - 1);
  const int allowed = in.next();
  for (int i = 0; i < allowed; ++i) s.gate_allowed.push_back(in.next() & 1);
  mcts::Surrogate g;
  const std::uint8_t b = in.next();
  g.bias = b == 255 ? std::numeric_limits<double>::quiet_NaN() : (b - 128) / 16.0;
  const int linear = in.next();
  for (int i = 0; i < linear; ++i) g.linear.push_back((in.next() - 128) / 32.0);
  if (in.next() & 1) {
    const int pairwise = in.next() % 200;
    for (int i = 0; i < pairwise; ++i) g.pairwise.push_back((in.next() - 128) / 64.0);
  }
  std::vector<std::vector<int>> prefixes(in.next() % 4);
  for (auto& p : prefixes) {
    const int len = in.next() % 8;
    for (int i = 0; i < len; ++i) p.push_back(static_cast<int>(in.next() % 18) - 1);
  }
  mcts::RolloutOptions o;
  o.rollouts = 1 + in.next() % 64;
  o.top_k = in.next() % 5;
  o.seed = in.next();
  o.vectorize = in.next() & 1;
  try {
    mcts::check_structure(s);
    mcts::check_surrogate(s, g);
    for (const auto& p : prefixes) mcts::check_prefix(s, p, "prefix");
  } catch (const CoreError&) {
    return 0;
  }
  SerialTeam team;
  const std::vector<mcts::PrefixStats> r = mcts::run_rollouts(s, g, prefixes, o, team);
  if (r.size() != prefixes.size()) __builtin_trap();
  return 0;
}
