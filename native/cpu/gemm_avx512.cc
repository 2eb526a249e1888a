// AVX-512 GEMM micro-kernel: a 12×32 register tile (24 zmm accumulators, 2 B vectors, 1 broadcast),
// which leaves enough independent FMA chains to cover the FMA latency on both Intel (2 zmm FMA/cycle)
// and AMD Zen 4 (1 zmm FMA/cycle). Compiled with function-level target attributes, so no per-file
// compiler flags are needed; gemm.cc only calls it when the CPU reports AVX-512F and FMA.
#include "gemm_kernels.h"

#if NASX_GEMM_X86
#include <immintrin.h>

#include <array>
#include <utility>
#endif

namespace nasx::cpu::detail {

#if NASX_GEMM_X86
namespace {

constexpr int kMr = 12;
constexpr int kNr = 32;
constexpr int kLanes = 16;

using TileFn = void (*)(int, const float*, std::ptrdiff_t, const float*, std::ptrdiff_t, float*, std::ptrdiff_t, int,
                        float, float);

// ROWS valid rows of C and NV vectors of 16 columns; `cols` (within the last vector) masks the tail.
// PARTIAL: the last vector holds fewer than 16 columns, and only then are its B loads masked (for
// unpacked B that is the edge of the caller's matrix; masked lanes never fault).
template <int ROWS, int NV, bool PARTIAL>
__attribute__((target("avx512f,avx2,fma"))) void tile(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                                       std::ptrdiff_t b_step, float* c, std::ptrdiff_t ldc, int cols,
                                                       float alpha, float beta) {
  const int tail_lanes = cols - kLanes * (NV - 1);
  const __mmask16 tail = tail_lanes >= kLanes ? static_cast<__mmask16>(0xFFFF)
                                              : static_cast<__mmask16>((1u << tail_lanes) - 1u);
  __m512 acc[ROWS][NV];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();

#pragma GCC unroll 2
  for (int p = 0; p < kc; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      bv[v] = PARTIAL && v == NV - 1 ? _mm512_maskz_loadu_ps(tail, b + kLanes * v) : _mm512_loadu_ps(b + kLanes * v);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += a_step;
    b += b_step;
  }

  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    float* cr = c + r * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __mmask16 mask = v == NV - 1 ? tail : static_cast<__mmask16>(0xFFFF);
      __m512 res = _mm512_mul_ps(acc[r][v], va);
      // beta == 0 must not read C at all: it may hold NaN or uninitialised memory.
      if (beta != 0.0f) res = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, cr + kLanes * v), vb, res);
      _mm512_mask_storeu_ps(cr + kLanes * v, mask, res);
    }
  }
}

// [rows - 1][vectors - 1][last vector partial]
template <std::size_t... R>
constexpr std::array<std::array<std::array<TileFn, 2>, 2>, sizeof...(R)> make_tiles(std::index_sequence<R...>) {
  return {{{{{{&tile<static_cast<int>(R) + 1, 1, false>, &tile<static_cast<int>(R) + 1, 1, true>}},
             {{&tile<static_cast<int>(R) + 1, 2, false>, &tile<static_cast<int>(R) + 1, 2, true>}}}}...}};
}

constexpr auto kTiles = make_tiles(std::make_index_sequence<kMr>());

void kernel(int kc, const float* a, std::ptrdiff_t a_step, const float* b, std::ptrdiff_t b_step, float* c,
            std::ptrdiff_t ldc, int rows, int cols, float alpha, float beta) {
  kTiles[static_cast<std::size_t>(rows - 1)][static_cast<std::size_t>((cols - 1) / kLanes)][cols % kLanes != 0](
      kc, a, a_step, b, b_step, c, ldc, cols, alpha, beta);
}

}  // namespace

const GemmKernels* avx512_kernels() {
  static const GemmKernels kernels{"avx512", kMr, kNr, 256, 512, &kernel, true, &pack_panels<kMr>,
                                   &pack_panels<kNr>};
  return &kernels;
}

#else

const GemmKernels* avx512_kernels() { return nullptr; }

#endif

}  // namespace nasx::cpu::detail
