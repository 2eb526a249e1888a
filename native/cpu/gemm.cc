// Blocked single-precision GEMM: runtime choice of micro-kernel, packing, cache blocking and a
// deterministic split of C over a Team.
//
// Layout of the work: K is cut into blocks of at most GemmKernels::kc (the cut depends only on k), and
// C is cut into tiles (the cut depends only on m, n, k). A tile is computed by one thread, K block by
// K block in order, so each element of C sees the same sequence of operations whatever the team size.
// Operands the micro-kernel can stream as they are (A transposed, B not) are read in place; the others
// are packed into panels lazily: the first tile that needs a panel packs it, the others reuse it. That
// needs no separate packing pass, hence a single parallel_for (one thread wake-up) per call.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "gemm_kernels.h"
#include "kernels.h"

#if NASX_GEMM_X86
#include <immintrin.h>
#endif

namespace nasx::cpu {

namespace detail {

bool cpu_supports(const char* isa) {
  if (isa == nullptr) return false;
  if (std::strcmp(isa, "portable") == 0) return true;
#if NASX_GEMM_X86
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx512") == 0)
    return avx512_kernels() != nullptr && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (std::strcmp(isa, "avx2") == 0)
    return avx2_kernels() != nullptr && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return false;
}

}  // namespace detail

namespace {

using detail::GemmKernels;

// --- instruction-set choice -------------------------------------------------------------------------

const GemmKernels* kernels_named(const char* isa) {
  if (!detail::cpu_supports(isa)) return nullptr;
  if (std::strcmp(isa, "avx512") == 0) return detail::avx512_kernels();
  if (std::strcmp(isa, "avx2") == 0) return detail::avx2_kernels();
  return &detail::portable_kernels();
}

const GemmKernels* default_kernels() {
  // An unknown or unsupported NASX_GEMM_ISA falls back to the best kernel rather than failing:
  // the variable is a tuning knob, and a wrong value must not stop training.
  if (const GemmKernels* forced = kernels_named(std::getenv("NASX_GEMM_ISA"))) return forced;
  for (const char* isa : {"avx512", "avx2"})
    if (const GemmKernels* k = kernels_named(isa)) return k;
  return &detail::portable_kernels();
}

std::atomic<const GemmKernels*>& active_kernels() {
  static std::atomic<const GemmKernels*> active{default_kernels()};
  return active;
}

// --- buffers ----------------------------------------------------------------------------------------

// A per-thread scratch area that grows on demand (released between candidates by
// release_gemm_scratch), 64-byte aligned for aligned vector loads.
class AlignedScratch {
 public:
  float* get(std::size_t floats) {
    if (floats > capacity_) {
      // Free the old area first: the contents need not survive, and the peak stays at the new size.
      release();
      storage_ = std::make_unique<float[]>(floats + kAlignFloats);
      capacity_ = floats;
    }
    auto address = reinterpret_cast<std::uintptr_t>(storage_.get());
    auto aligned = (address + kAlignBytes - 1) & ~static_cast<std::uintptr_t>(kAlignBytes - 1);
    return storage_.get() + (aligned - address) / sizeof(float);
  }

  void release() {
    storage_.reset();
    capacity_ = 0;
  }

 private:
  static constexpr std::size_t kAlignBytes = 64;
  static constexpr std::size_t kAlignFloats = kAlignBytes / sizeof(float);
  std::unique_ptr<float[]> storage_;
  std::size_t capacity_ = 0;
};

// Packing state of one panel. The thread that moves it from kEmpty to kPacking fills it; others that
// need it meanwhile spin briefly (a panel is a few KiB, and its packer is running, never blocked).
enum PanelState : std::uint8_t { kEmpty = 0, kPacking = 1, kReady = 2 };

void cpu_relax() {
#if NASX_GEMM_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

template <typename PackFn>
void ensure_packed(std::atomic<std::uint8_t>& state, const PackFn& pack) {
  std::uint8_t seen = state.load(std::memory_order_acquire);
  if (seen == kReady) return;
  if (seen == kEmpty && state.compare_exchange_strong(seen, kPacking, std::memory_order_acq_rel)) {
    pack();
    state.store(kReady, std::memory_order_release);
    return;
  }
  for (int spins = 0; state.load(std::memory_order_acquire) != kReady; ++spins) {
    if (spins < 256) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

// --- planning ---------------------------------------------------------------------------------------

// A tile of about two megaflops takes ~20 µs: long next to the cost of claiming it, short enough to
// balance two to a few dozen threads. Beyond kMaxTiles the tiles just get bigger.
constexpr double kMinTileFlops = 1 << 21;
constexpr int kMaxTiles = 256;
// Both operands are packed whole (all of K), so very large products are done in column blocks to
// bound the packed copy; 16 Mi floats = 64 MiB.
constexpr std::size_t kMaxPackedFloats = std::size_t{1} << 24;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

struct Plan {
  int kc;          // K block depth (the last block may be shorter)
  int k_blocks;
  int m_panels, n_panels;
  int tile_m, tile_n;   // tile size in panels
  int tiles_m, tiles_n;
};

Plan make_plan(const GemmKernels& ks, int m, int n, int k) {
  Plan p{};
  p.k_blocks = ceil_div(k, ks.kc);
  p.kc = ceil_div(k, p.k_blocks);
  p.m_panels = ceil_div(m, ks.mr);
  p.n_panels = ceil_div(n, ks.nr);

  const double flops = 2.0 * m * n * k;
  const int want = static_cast<int>(std::clamp(flops / kMinTileFlops, 1.0, static_cast<double>(kMaxTiles)));
  // Start from one tile (its width capped so a K block of its B panels stays in L2) and halve the
  // longer side until there are enough tiles; everything here depends on m, n, k only.
  p.tile_m = p.m_panels;
  p.tile_n = std::min(p.n_panels, std::max(1, ks.nc / ks.nr));
  for (;;) {
    p.tiles_m = ceil_div(p.m_panels, p.tile_m);
    p.tiles_n = ceil_div(p.n_panels, p.tile_n);
    if (p.tiles_m * p.tiles_n >= want) break;
    const bool can_m = p.tile_m > 1, can_n = p.tile_n > 1;
    if (!can_m && !can_n) break;
    if (can_m && (!can_n || p.tile_m * ks.mr >= p.tile_n * ks.nr)) {
      p.tile_m = ceil_div(p.tile_m, 2);
    } else {
      p.tile_n = ceil_div(p.tile_n, 2);
    }
  }
  return p;
}

// Everything one call shares between the threads of the team.
struct GemmCall {
  const GemmKernels* ks;
  Plan plan;
  int m, n, k;
  float alpha, beta;
  const float* a;
  std::ptrdiff_t a_sx, a_sp;  // element (i, p) of op(A) is a[i*a_sx + p*a_sp]
  const float* b;
  std::ptrdiff_t b_sx, b_sp;  // element (p, j) of op(B) is b[j*b_sx + p*b_sp]
  float* c;
  std::ptrdiff_t ldc;
  bool a_direct, b_direct;  // the kernel reads the operand in place instead of from packed panels
  float* packed_a;  // K block kb at offset m_panels*mr*kb*kc; panel i at +i*mr*kcur within it
  float* packed_b;
  std::atomic<std::uint8_t>* a_state;  // [kb][panel]
  std::atomic<std::uint8_t>* b_state;
};

void run_tile(const GemmCall& g, int tile) {
  const GemmKernels& ks = *g.ks;
  const Plan& p = g.plan;
  const int ti = tile / p.tiles_n;
  const int tj = tile % p.tiles_n;
  const int pi0 = ti * p.tile_m, pi1 = std::min(p.m_panels, pi0 + p.tile_m);
  const int pj0 = tj * p.tile_n, pj1 = std::min(p.n_panels, pj0 + p.tile_n);

  for (int kb = 0; kb < p.k_blocks; ++kb) {
    const int p0 = kb * p.kc;
    const int kcur = std::min(p.kc, g.k - p0);
    // Later K blocks add to what the earlier ones wrote.
    const float beta = kb == 0 ? g.beta : 1.0f;
    for (int pi = pi0; pi < pi1; ++pi) {
      const int i0 = pi * ks.mr;
      const int rows = std::min(ks.mr, g.m - i0);
      const float* a_panel = g.a + i0 * g.a_sx + p0 * g.a_sp;
      std::ptrdiff_t a_step = g.a_sp;
      if (!g.a_direct) {
        float* packed = g.packed_a + static_cast<std::ptrdiff_t>(p.m_panels) * ks.mr * p0 +
                        static_cast<std::ptrdiff_t>(pi) * ks.mr * kcur;
        ensure_packed(g.a_state[kb * p.m_panels + pi],
                      [&] { ks.pack_a(g.a, g.a_sx, g.a_sp, i0, rows, p0, kcur, packed); });
        a_panel = packed;
        a_step = ks.mr;
      }
      // The A panel stays in L1 across this row of micro-tiles; B panels stream from L2.
      for (int pj = pj0; pj < pj1; ++pj) {
        const int j0 = pj * ks.nr;
        const int cols = std::min(ks.nr, g.n - j0);
        const float* b_panel = g.b + j0 * g.b_sx + p0 * g.b_sp;
        std::ptrdiff_t b_step = g.b_sp;
        if (!g.b_direct) {
          float* packed = g.packed_b + static_cast<std::ptrdiff_t>(p.n_panels) * ks.nr * p0 +
                          static_cast<std::ptrdiff_t>(pj) * ks.nr * kcur;
          ensure_packed(g.b_state[kb * p.n_panels + pj],
                        [&] { ks.pack_b(g.b, g.b_sx, g.b_sp, j0, cols, p0, kcur, packed); });
          b_panel = packed;
          b_step = ks.nr;
        }
        ks.kernel(kcur, a_panel, a_step, b_panel, b_step, g.c + static_cast<std::ptrdiff_t>(i0) * g.ldc + j0, g.ldc,
                  rows, cols, g.alpha, beta);
      }
    }
  }
}

// An operand whose panel lanes are contiguous (A transposed, B not) can be read in place, saving the
// copy. Not when its rows are a multiple of 2 KiB apart: a panel's K steps would then crowd into a few
// cache sets and evict each other, which packing avoids.
bool reads_in_place(const GemmKernels& ks, std::ptrdiff_t sx, std::ptrdiff_t sp) {
  return ks.reads_unpacked && sx == 1 && sp % 512 != 0;
}

thread_local AlignedScratch tls_packed_a;
thread_local AlignedScratch tls_packed_b;

void gemm_blocked(const GemmKernels& ks, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, float beta, float* c,
                  std::ptrdiff_t ldc, Team& team) {
  GemmCall g{};
  g.ks = &ks;
  g.plan = make_plan(ks, m, n, k);
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = alpha;
  g.beta = beta;
  g.a = a;
  g.a_sx = trans_a ? 1 : lda;
  g.a_sp = trans_a ? lda : 1;
  g.b = b;
  g.b_sx = trans_b ? ldb : 1;
  g.b_sp = trans_b ? 1 : ldb;
  g.c = c;
  g.ldc = ldc;
  const Plan& p = g.plan;
  g.a_direct = reads_in_place(ks, g.a_sx, g.a_sp);
  g.b_direct = reads_in_place(ks, g.b_sx, g.b_sp);
  g.packed_a = g.a_direct ? nullptr : tls_packed_a.get(static_cast<std::size_t>(p.m_panels) * ks.mr * k);
  g.packed_b = g.b_direct ? nullptr : tls_packed_b.get(static_cast<std::size_t>(p.n_panels) * ks.nr * k);
  const int a_states = p.k_blocks * p.m_panels;
  auto states = std::make_unique<std::atomic<std::uint8_t>[]>(static_cast<std::size_t>(a_states) +
                                                               static_cast<std::size_t>(p.k_blocks) * p.n_panels);
  g.a_state = states.get();
  g.b_state = states.get() + a_states;
  team.parallel_for(p.tiles_m * p.tiles_n, [&g](int tile) { run_tile(g, tile); });
}

// C = beta * C, for the cases where A·B contributes nothing (k == 0 or alpha == 0).
void scale_c(int m, int n, float beta, float* c, std::ptrdiff_t ldc) {
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + n, 0.0f);
    } else if (beta != 1.0f) {
      for (int j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

[[noreturn]] void bad_argument(const std::string& message) { throw std::invalid_argument("sgemm: " + message); }

void check_leading_dimension(const char* name, int ld, int minimum, const char* why) {
  if (ld < std::max(1, minimum))
    bad_argument(std::string(name) + " must be >= max(1, " + why + ") = " + std::to_string(std::max(1, minimum)) +
                 ", but got " + name + "=" + std::to_string(ld));
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc, Team* team) {
  if (m < 0 || n < 0 || k < 0)
    bad_argument("m, n and k must be >= 0, but got m=" + std::to_string(m) + ", n=" + std::to_string(n) +
                 ", k=" + std::to_string(k));
  check_leading_dimension("lda", lda, trans_a ? m : k, trans_a ? "m" : "k");
  check_leading_dimension("ldb", ldb, trans_b ? k : n, trans_b ? "k" : "n");
  check_leading_dimension("ldc", ldc, n, "n");
  if (m == 0 || n == 0) return;
  if (c == nullptr) bad_argument("c must not be null");
  if (k == 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  if (a == nullptr || b == nullptr) bad_argument("a and b must not be null when k > 0 and alpha != 0");

  const GemmKernels& ks = *active_kernels().load(std::memory_order_relaxed);
  SerialTeam serial;
  Team& workers = team != nullptr ? *team : serial;

  // Bound the packed copies of A and B: do C in column blocks when they would be too large. The block
  // width depends on m, n, k only, so the split stays deterministic.
  const std::size_t a_floats = static_cast<std::size_t>(ceil_div(m, ks.mr)) * ks.mr * k;
  const std::size_t b_floats = static_cast<std::size_t>(ceil_div(n, ks.nr)) * ks.nr * k;
  int block_n = n;
  if (a_floats + b_floats > kMaxPackedFloats) {
    const std::size_t room = kMaxPackedFloats > a_floats ? kMaxPackedFloats - a_floats : 0;
    const std::size_t cols = std::max<std::size_t>(ks.nr, room / static_cast<std::size_t>(k) / ks.nr * ks.nr);
    block_n = static_cast<int>(std::min<std::size_t>(cols, static_cast<std::size_t>(n)));
  }
  for (int j0 = 0; j0 < n; j0 += block_n) {
    const int cols = std::min(block_n, n - j0);
    const float* b_cols = trans_b ? b + static_cast<std::ptrdiff_t>(j0) * ldb : b + j0;
    gemm_blocked(ks, trans_a, trans_b, m, cols, k, alpha, a, lda, b_cols, ldb, beta, c + j0, ldc, workers);
  }
}

std::int64_t sgemm_workspace_floats(int m, int n, int k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  // As sgemm plans it: A packed whole, B in column blocks bounded by kMaxPackedFloats, for the
  // widest micro-kernel tile of any instruction set.
  constexpr std::int64_t mr = 16, nr = 32;
  const std::int64_t a = (m + mr - 1) / mr * mr * k;
  const std::int64_t b = (n + nr - 1) / nr * nr * k;
  const std::int64_t limit = static_cast<std::int64_t>(kMaxPackedFloats);
  const std::int64_t b_used = a + b <= limit ? b : std::max<std::int64_t>(nr * k, limit - a + nr * k);
  return a + b_used + 64;
}

void release_gemm_scratch() {
  tls_packed_a.release();
  tls_packed_b.release();
}

const char* gemm_isa() { return active_kernels().load(std::memory_order_relaxed)->isa; }

bool force_gemm_isa(const char* isa) {
  const GemmKernels* k = kernels_named(isa);
  if (k == nullptr) return false;
  active_kernels().store(k, std::memory_order_relaxed);
  return true;
}

}  // namespace nasx::cpu
