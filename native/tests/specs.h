// Node specs for the native tests: one line per layer kind.
#pragma once

#include "core/spec.h"

namespace nasx::testing {

inline NodeSpec node(OpKind op) {
  NodeSpec n;
  n.op = op;
  return n;
}
inline NodeSpec dense(int units) {
  NodeSpec n = node(OpKind::Dense);
  n.units = units;
  return n;
}
inline NodeSpec conv(int filters, int kernel, int stride) {
  NodeSpec n = node(OpKind::Conv2d);
  n.filters = filters;
  n.kernel = kernel;
  n.stride = stride;
  return n;
}
inline NodeSpec act(ActivationKind a) {
  NodeSpec n = node(OpKind::Activation);
  n.activation = a;
  return n;
}

}  // namespace nasx::testing
