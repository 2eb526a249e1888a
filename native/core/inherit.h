// Weight inheritance: maps a trained parent network's parameters and batch-norm statistics onto a
// child architecture, preserving the parent's function where the change allows it (Net2Net).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan.h"

namespace nasx {

// What happened to one tensor of the child.
struct InheritedTensor {
  std::string name;   // the child's tensor, e.g. "layers[1].weight"
  std::string from;   // the parent's tensor it came from; empty when none
  // How: "copy" (same shape), "widen" (units replicated, or inputs of replicated units divided),
  // "shrink" (the units of largest weight norm kept), "kernel-embed" / "kernel-crop" (a kernel placed
  // at the centre of a larger one / the centre of a larger kernel), "identity" (a new layer set to
  // pass its input through), "zero" (the last layer of a new residual branch), "partial" (the shapes
  // overlap but the inputs do not correspond), "fresh" (initialised as without a parent). Several
  // may combine, joined by "+".
  std::string how;
};

struct InheritReport {
  std::vector<InheritedTensor> params, state;
  // The child computes the same function as the parent (in inference mode) before any training.
  bool function_preserving = false;
  // Why not, when it does not (the first place where the correspondence is lost).
  std::string reason;
};

// Overwrites `child_params` / `child_state` (the child's initialisation on entry, sized by its plan)
// with what the parent's weights give. Parent and child layers are matched by their names: layers
// are aligned as sequences (so that an inserted layer does not shift the rest), and within a layer
// by the rest of their name. `seed` draws the units a widening replicates. Throws
// CoreError("invalid_argument", ...) when a vector does not match its plan.
InheritReport inherit_weights(const Plan& parent, const std::vector<float>& parent_params, const std::vector<float>& parent_state,
                              const Plan& child, std::vector<float>& child_params, std::vector<float>& child_state, std::uint64_t seed);

}  // namespace nasx
