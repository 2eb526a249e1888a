// AVX2 GEMM micro-kernel: a 6×16 register tile (12 ymm accumulators, 2 B vectors, 1 broadcast — all
// 16 ymm registers), enough independent FMA chains for two FMA pipes with 4-5 cycle latency.
// Function-level target attributes: no per-file compiler flags are needed.
#include "gemm_kernels.h"

#if NASX_GEMM_X86
#include <immintrin.h>

#include <array>
#include <utility>
#endif

namespace nasx::cpu::detail {

#if NASX_GEMM_X86
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;
constexpr int kLanes = 8;

using TileFn = void (*)(int, const float*, std::ptrdiff_t, const float*, std::ptrdiff_t, float*, std::ptrdiff_t, int,
                        float, float);

template <int ROWS, int NV, bool PARTIAL>
__attribute__((target("avx2,fma"))) void tile(int kc, const float* a, std::ptrdiff_t a_step, const float* b,
                                               std::ptrdiff_t b_step, float* c, std::ptrdiff_t ldc, int cols,
                                               float alpha, float beta) {
  // PARTIAL: the last vector holds fewer than 8 columns. Its B loads are then masked (for unpacked B
  // that is the edge of the caller's matrix; masked lanes never fault), and only then, because
  // vmaskmovps is slow on AMD.
  const int tail_lanes = cols - kLanes * (NV - 1);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail_lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256 acc[ROWS][NV];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();

#pragma GCC unroll 2
  for (int p = 0; p < kc; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      bv[v] = PARTIAL && v == NV - 1 ? _mm256_maskload_ps(b + kLanes * v, tail) : _mm256_loadu_ps(b + kLanes * v);
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += a_step;
    b += b_step;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  constexpr int kFullVectors = PARTIAL ? NV - 1 : NV;
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    // beta == 0 must not read C at all: it may hold NaN or uninitialised memory.
#pragma GCC unroll 2
    for (int v = 0; v < kFullVectors; ++v) {
      float* cv = c + r * ldc + kLanes * v;
      __m256 res = _mm256_mul_ps(acc[r][v], va);
      if (beta != 0.0f) res = _mm256_fmadd_ps(_mm256_loadu_ps(cv), vb, res);
      _mm256_storeu_ps(cv, res);
    }
    if constexpr (PARTIAL) {
      // Through a stack buffer rather than vmaskmovps, which is slow on AMD.
      float* cv = c + r * ldc + kLanes * (NV - 1);
      alignas(32) float lanes[kLanes] = {};
      if (beta != 0.0f)
        for (int l = 0; l < tail_lanes; ++l) lanes[l] = cv[l];
      __m256 res = _mm256_mul_ps(acc[r][NV - 1], va);
      if (beta != 0.0f) res = _mm256_fmadd_ps(_mm256_load_ps(lanes), vb, res);
      _mm256_store_ps(lanes, res);
      for (int l = 0; l < tail_lanes; ++l) cv[l] = lanes[l];
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

const GemmKernels* avx2_kernels() {
  static const GemmKernels kernels{"avx2", kMr, kNr, 256, 512, &kernel, true, &pack_panels<kMr>,
                                   &pack_panels<kNr>};
  return &kernels;
}

#else

const GemmKernels* avx2_kernels() { return nullptr; }

#endif

}  // namespace nasx::cpu::detail
