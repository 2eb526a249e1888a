// Turns fuzzer bytes into the engine's inputs: the same plain structs the binding fills from
// JavaScript values (an architecture's nodes, data, options), so that the fuzzers exercise the
// boundary's contract: whatever the values, core answers with a CoreError or a result.
//
// Byte format (scripts/fuzz-corpus.ts writes seeds in it; a short input just ends early):
//   header:  h w c outputs batch
//   node:    op a b c flags in0 in1   (7 bytes; op mod 11, see OpKind)
// a, b, c are "sizes" (see size()): mostly small, sometimes a boundary value. Dense uses a as units;
// conv a filters, b kernel, c stride; depthwise and pooling b kernel, c stride; dropout a as rate;
// activation a mod 5. flags bit 0: explicit inputs [in0 - 2, in1 - 2 (if bit 1)]; bit 2: no bias;
// bit 3: project (add).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/spec.h"

namespace nasx::fuzz {

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::size_t left() const { return empty() ? 0 : size_ - pos_; }
  std::uint8_t next() { return empty() ? 0 : data_[pos_++]; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A byte as a size: 0–199 map to -8…191; the rest to values at the edges of what the engine takes.
inline int size(std::uint8_t b) {
  static const int edges[] = {0,     -1,      1,       2,        3,       4,           5,           7,          8,
                              16,    255,     256,     1024,     4096,    65535,       65536,       1 << 20,    1 << 24,
                              1 << 30, 2147483647, -2147483647 - 1, -65536, 200000, 1048576, 4097,   8191,       8193,
                              12,    28,      32,      64,       100,     127,         128,         129,        511,
                              512,   513,     2047,    2048,     2049,    16383,       16384,       16385,      32767,
                              32768, 131072,  262144,  524288,   6,       9,           10,          11,         13,
                              15,    17};
  if (b < 200) return static_cast<int>(b) - 8;
  return edges[(b - 200) % (sizeof(edges) / sizeof(edges[0]))];
}

// Small positive dimension for data shapes (1…span).
inline int dim(std::uint8_t b, int span) { return 1 + static_cast<int>(b) % span; }

inline std::vector<NodeSpec> nodes(Bytes& in, std::size_t max_nodes) {
  std::vector<NodeSpec> out;
  while (in.left() >= 7 && out.size() < max_nodes) {
    NodeSpec n;
    n.op = static_cast<OpKind>(in.next() % 11);
    const std::uint8_t a = in.next(), b = in.next(), c = in.next(), flags = in.next(), in0 = in.next(), in1 = in.next();
    switch (n.op) {
      case OpKind::Dense: n.units = size(a); break;
      case OpKind::Conv2d:
        n.filters = size(a);
        n.kernel = size(b);
        n.stride = size(c);
        break;
      case OpKind::DepthwiseConv2d:
      case OpKind::MaxPool:
      case OpKind::AvgPool:
        n.kernel = size(b);
        n.stride = size(c);
        break;
      case OpKind::Dropout: n.rate = static_cast<float>(a) / 128.0f - 0.25f; break;
      case OpKind::Activation: n.activation = static_cast<ActivationKind>(a % 5); break;
      default: break;
    }
    if (flags & 1) {
      n.inputs.push_back(static_cast<int>(in0) - 2);
      if (flags & 2) n.inputs.push_back(static_cast<int>(in1) - 2);
    }
    n.bias = !(flags & 4);
    n.project = (flags & 8) != 0;
    out.push_back(n);
  }
  return out;
}

}  // namespace nasx::fuzz
