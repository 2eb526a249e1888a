// Small, fast, seedable random numbers (splitmix64 seeding + xoshiro128+ style generator).
#pragma once

#include <cmath>
#include <cstdint>

namespace nasx {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mixes several values into one seed (for independent streams derived from one user seed).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  std::uint64_t s = seed ^ (a * 0xD1B54A32D192ED03ull) ^ (b * 0x8CB92BA72F3D8DD7ull);
  splitmix64(s);
  return splitmix64(s);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
  void reseed(std::uint64_t seed) {
    std::uint64_t s = seed;
    s0_ = splitmix64(s);
    s1_ = splitmix64(s);
    if (s0_ == 0 && s1_ == 0) s1_ = 1;
  }
  // The generator's whole state, to save and restore (training resumes draw the same numbers).
  void get_state(std::uint64_t out[2]) const {
    out[0] = s0_;
    out[1] = s1_;
  }
  void set_state(const std::uint64_t in[2]) {
    s0_ = in[0];
    s1_ = in[1];
    if (s0_ == 0 && s1_ == 0) s1_ = 1;
  }
  // xorshift128+
  std::uint64_t next_u64() {
    std::uint64_t a = s0_;
    const std::uint64_t b = s1_;
    s0_ = b;
    a ^= a << 23;
    s1_ = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s1_ + b;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  float uniform_f() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next_u64() % n; }
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t s0_ = 0, s1_ = 1;
};

}  // namespace nasx
