// AVX-512 (F/BW/DQ/VL) code path: 16-lane vectors, 14x32 GEMM micro-tile.
#include "internal.h"

#if LITHE_X86
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 false positive inside avx512fintrin.h (_mm512_undefined_ps operands).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

LITHE_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2")
namespace lithe {
namespace kern {
namespace avx512_impl {

struct V {
  using R = __m512;
  using M = __mmask16; // lane mask for masked loads/stores
  using C = __mmask16; // comparison result
  static constexpr int W = 16;
  static constexpr int UW = 32; // micro-kernel: 2 vectors wide
  static constexpr int MR = 14; // 14 x 2 accumulators + 2 B rows of 32 zmm
  static constexpr int BQ = 56; // prefill attention: 4 micro-tiles of queries
  static constexpr int ISA = LITHE_ISA_AVX512;
  static constexpr const char *NAME = "avx512";

  static LITHE_INLINE R zero() { return _mm512_setzero_ps(); }
  static LITHE_INLINE R set1(float a) { return _mm512_set1_ps(a); }
  static LITHE_INLINE R load(const float *p) { return _mm512_loadu_ps(p); }
  static LITHE_INLINE void store(float *p, R v) { _mm512_storeu_ps(p, v); }
  static LITHE_INLINE M mask(int64_t n) {
    return n >= 16 ? M(0xFFFF) : n <= 0 ? M(0) : M((1u << n) - 1);
  }
  static LITHE_INLINE R loadm(const float *p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static LITHE_INLINE R loadm_fill(const float *p, M m, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p);
  }
  static LITHE_INLINE void storem(float *p, R v, M m) { _mm512_mask_storeu_ps(p, m, v); }
  static LITHE_INLINE R zmask(R v, M m) { return _mm512_maskz_mov_ps(m, v); }
  static LITHE_INLINE R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static LITHE_INLINE R fnma(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  static LITHE_INLINE R add(R a, R b) { return _mm512_add_ps(a, b); }
  static LITHE_INLINE R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static LITHE_INLINE R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static LITHE_INLINE R div(R a, R b) { return _mm512_div_ps(a, b); }
  static LITHE_INLINE R max(R a, R b) { return _mm512_max_ps(a, b); }
  static LITHE_INLINE R min(R a, R b) { return _mm512_min_ps(a, b); }
  static LITHE_INLINE R abs(R a) { return _mm512_abs_ps(a); }
  static LITHE_INLINE R round(R x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-126, 127]
  static LITHE_INLINE R pow2i(R n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static LITHE_INLINE C lt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static LITHE_INLINE R sel(C c, R t, R f) { return _mm512_mask_blend_ps(c, f, t); }
  static LITHE_INLINE float hsum(R v) { return _mm512_reduce_add_ps(v); }
  static LITHE_INLINE float hmax(R v) { return _mm512_reduce_max_ps(v); }
  // out[0..3] = horizontal sums of a, b, c, d
  static LITHE_INLINE void hsum4(R a, R b, R c, R d, float *out) {
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512 s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    _mm_storeu_ps(out, q);
  }
  // In-register 16x16 transpose: r[i][j] -> r[j][i].
  static LITHE_INLINE void transpose(R *r) {
    R t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    // u[4g+m], 128-bit lane L = rows 4g..4g+3 of column 4L+m
    for (int g = 0; g < 16; g += 4) {
      u[g] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // gather lane L of u[m], u[4+m], u[8+m], u[12+m] into row 4L+m
    for (int m = 0; m < 4; ++m) {
      R v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);
      R v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
      R v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
      R v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
      r[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
      r[8 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
      r[4 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
      r[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
  }
  // x[0..3] repeated across the lanes
  static LITHE_INLINE R bcast4(const float *x) { return _mm512_broadcast_f32x4(_mm_loadu_ps(x)); }
  static LITHE_INLINE R i8(const int8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
  }
  static LITHE_INLINE R i8n(const int8_t *p, int64_t n) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask(n), p)));
  }
  // bf16 -> float32: the 16 bits become the upper half.
  static LITHE_INLINE R bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
  }
  static LITHE_INLINE R bf16n(const uint16_t *p, int64_t n) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask(n), p)), 16));
  }
  // IEEE f16 <-> float32; to_f16h rounds to nearest even, and the caller
  // saturates first (kernels.h: the f16 KV cache).
  static LITHE_INLINE R f16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
  }
  static LITHE_INLINE R f16n(const uint16_t *p, int64_t n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  static LITHE_INLINE void to_f16h(R v, uint16_t *p) {
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  // W pairs (k even, k odd) of bf16 at p: the even and the odd ones widened.
  static LITHE_INLINE void bf16pair(const uint16_t *p, R &even, R &odd) {
    const __m512i v = _mm512_loadu_si512(p);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(int(0xffff0000u))));
  }
};

#include "simd_kernels.inc"

} // namespace avx512_impl
} // namespace kern
} // namespace lithe
LITHE_TARGET_END

// ----------------------------------------------------------- AVX512-BF16
// lithe_linear_bf16's GEMM with vdpbf16ps: x rounded to bf16 (round to
// nearest even) and multiplied with the packed bf16 pairs, float32
// accumulation. Twice the multiply-adds per instruction of the fp32 FMA path.
// Its own target region: the AVX-512 path above must run on CPUs without
// BF16, this function is called only where CPUID reports it (dispatch.cpp).
LITHE_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c,bmi,bmi2")
namespace lithe {
namespace kern {
namespace avx512_impl {

// C[0..MR)[0..ncols) (+)= A . B over kc2 pairs of k: A row r is kc2 bf16
// pairs (32-bit lanes) at A + r*lda, B is the packed panel's pairs (32
// columns = 2 zmm per pair). 2*MR accumulators (MR = 14: 28 of 32 zmm).
template <int MR>
static LITHE_NOINLINE void ukr_bf16dot(int64_t kc2, const uint32_t *A, int64_t lda,
                                       const uint16_t *B, float *C, int64_t ldc, int64_t ncols,
                                       bool load_c) {
  __m512 acc[MR][2];
  LITHE_UNROLL
  for (int r = 0; r < MR; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t i = 0; i < kc2; ++i) {
    const __m512i b0 = _mm512_loadu_si512(B + i * 64), b1 = _mm512_loadu_si512(B + i * 64 + 32);
    LITHE_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512i a = _mm512_set1_epi32(int(A[r * lda + i]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)a, (__m512bh)b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)a, (__m512bh)b1);
    }
  }
  const __mmask16 m0 = V::mask(std::min<int64_t>(16, ncols)),
                  m1 = V::mask(std::max<int64_t>(0, ncols - 16));
  LITHE_UNROLL
  for (int r = 0; r < MR; ++r) {
    float *c = C + r * ldc;
    if (load_c) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_maskz_loadu_ps(m0, c));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, acc[r][0]);
    _mm512_mask_storeu_ps(c + 16, m1, acc[r][1]);
  }
}

using BF16Ukr = void (*)(int64_t, const uint32_t *, int64_t, const uint16_t *, float *, int64_t,
                         int64_t, bool);
static const BF16Ukr kUkrBF16[MRX] = {
    ukr_bf16dot<1>, ukr_bf16dot<2>,  ukr_bf16dot<3>,  ukr_bf16dot<4>,  ukr_bf16dot<5>,
    ukr_bf16dot<6>, ukr_bf16dot<7>,  ukr_bf16dot<8>,  ukr_bf16dot<9>,  ukr_bf16dot<10>,
    ukr_bf16dot<11>, ukr_bf16dot<12>, ukr_bf16dot<13>, ukr_bf16dot<14>};
static_assert(MRX == 14, "kUkrBF16 lists one micro-kernel per row count");

// x[M, K] rounded to bf16 pairs: row r at A2 + r*ld (ld >= (K+1)/2 lanes);
// past K reads as 0 (B's padding is 0 too, and 0 * garbage could be NaN).
static void bf16_pairs(const float *x, int64_t M, int64_t K, int64_t ldx, uint32_t *A2, int64_t ld) {
  for (int64_t r = 0; r < M; ++r) {
    const float *src = x + r * ldx;
    uint32_t *dst = A2 + r * ld;
    for (int64_t c = 0; c < K; c += 32) {
      const int64_t n = std::min<int64_t>(32, K - c);
      const __m512 lo = _mm512_maskz_loadu_ps(V::mask(std::min<int64_t>(16, n)), src + c);
      const __m512 hi = _mm512_maskz_loadu_ps(V::mask(std::max<int64_t>(0, n - 16)), src + c + 16);
      const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
      _mm512_mask_storeu_epi32(dst + c / 2, V::mask((n + 1) / 2), v);
    }
  }
}

// 1 <= M <= kBF16FewRows rows over panels [p0, p1) (decoding): all of
// x rounded once, then each panel streamed once, whole K, for every tile of
// rows (at most two: the panel stays in L2 for the second).
static void gemv_rows_bf16dot(const float *x, int64_t M, int64_t K, const void *packed, int64_t N,
                              int64_t p0, int64_t p1, const float *bias, float *y, int flags) {
  const int64_t K2 = (K + 1) / 2;
  // M * K2 lanes <= kBF16FewRows * K / 2 + 16 <= scratch_need's K * MRX floats
  uint32_t *A2 = reinterpret_cast<uint32_t *>(scratch(kScratchA, size_t(M * K2)));
  bf16_pairs(x, M, K, K, A2, K2);
  const uint16_t *Bq = static_cast<const uint16_t *>(packed);
  const bool acc_in = (flags & LITHE_EPI_ACCUMULATE) != 0;
  const bool epi = bias || (flags & (LITHE_EPI_GELU_TANH | LITHE_EPI_GELU_ERF));
  for (int64_t p = p0; p < p1; ++p) {
    const uint16_t *Bp = Bq + p * K2 * kPanel * 2;
    const int64_t ncols = std::min<int64_t>(kPanel, N - p * kPanel);
    for (int64_t r0 = 0; r0 < M; r0 += MRX) {
      const int64_t mr = std::min<int64_t>(MRX, M - r0);
      kUkrBF16[mr - 1](K2, A2 + r0 * K2, K2, Bp, y + r0 * N + p * kPanel, N, ncols, acc_in);
    }
    if (epi)
      gemm_epilogue(y + p * kPanel, N, M, ncols, bias ? bias + p * kPanel : nullptr, flags);
  }
}

// The LM head over a bf16 table for 1 <= MM <= 8 rows of x (decoding): x
// rounded to bf16 once per call, then two table rows at a time
// against every row of x, 32 products per vdpbf16ps (the table rows and x
// are both pairs along D in memory order).
template <int MM>
static void dot_rows_bf16dot_t(const uint32_t *X, int64_t D, const uint16_t *table, int64_t v0,
                               int64_t v1, float *logits, int64_t ldl) {
  const int64_t ld = (D + 1) / 2, Dv = D / 32 * 32, rem = D - Dv;
  const __mmask32 mt = rem ? __mmask32((uint64_t(1) << rem) - 1) : 0;
  int64_t v = v0;
  for (; v < v1; v += 2) {
    const bool two = v + 1 < v1;
    const uint16_t *r0 = table + v * D, *r1 = two ? r0 + D : r0;
    const char *pf = reinterpret_cast<const char *>(r0 + (v + 8 < v1 ? 8 * D : 0));
    __m512 a[MM][2];
    LITHE_UNROLL
    for (int m = 0; m < MM; ++m)
      a[m][0] = a[m][1] = _mm512_setzero_ps();
    int64_t d = 0;
    for (; d < Dv; d += 32) {
      _mm_prefetch(pf + d * 2, _MM_HINT_T1);
      _mm_prefetch(pf + (D + d) * 2, _MM_HINT_T1);
      const __m512i t0 = _mm512_loadu_si512(r0 + d), t1 = _mm512_loadu_si512(r1 + d);
      LITHE_UNROLL
      for (int m = 0; m < MM; ++m) {
        const __m512i xv = _mm512_loadu_si512(X + m * ld + d / 2);
        a[m][0] = _mm512_dpbf16_ps(a[m][0], (__m512bh)xv, (__m512bh)t0);
        a[m][1] = _mm512_dpbf16_ps(a[m][1], (__m512bh)xv, (__m512bh)t1);
      }
    }
    if (rem) { // x past D is 0 (bf16_pairs), the table is masked to D
      const __m512i t0 = _mm512_maskz_loadu_epi16(mt, r0 + d), t1 = _mm512_maskz_loadu_epi16(mt, r1 + d);
      const __mmask16 mx = V::mask((rem + 1) / 2);
      LITHE_UNROLL
      for (int m = 0; m < MM; ++m) {
        const __m512i xv = _mm512_maskz_loadu_epi32(mx, X + m * ld + d / 2);
        a[m][0] = _mm512_dpbf16_ps(a[m][0], (__m512bh)xv, (__m512bh)t0);
        a[m][1] = _mm512_dpbf16_ps(a[m][1], (__m512bh)xv, (__m512bh)t1);
      }
    }
    LITHE_UNROLL
    for (int m = 0; m < MM; m += 2) {
      float o[4];
      V::hsum4(a[m][0], a[m][1], m + 1 < MM ? a[m + 1][0] : _mm512_setzero_ps(),
               m + 1 < MM ? a[m + 1][1] : _mm512_setzero_ps(), o);
      logits[m * ldl + v] = o[0];
      if (two)
        logits[m * ldl + v + 1] = o[1];
      if (m + 1 < MM) {
        logits[(m + 1) * ldl + v] = o[2];
        if (two)
          logits[(m + 1) * ldl + v + 1] = o[3];
      }
    }
  }
}

static void dot_rows_bf16dot(const float *x, int64_t M, int64_t D, const uint16_t *table, int64_t v0,
                             int64_t v1, float *logits, int64_t ldl);

// Rows [m0, m1) x panels [p0, p1) of a kBPackedBF16 problem, k-blocks of
// kKC outermost: the task's x slice is rounded to bf16 once (row-major pairs,
// a broadcast per row and pair in the micro-kernel), each panel's block
// (kKC/2 pairs, 16 KB) is read in place and reused from L1 by every tile.
static void gemm_task_bf16dot(const GemmArgs &a, int64_t m0, int64_t m1, int64_t p0,
                              int64_t p1) {
  constexpr int64_t KC2 = kKC / 2;
  const int64_t K = a.K, N = a.N, K2 = (K + 1) / 2, rows = m1 - m0;
  // rows * KC2 lanes: at most 32 tiles of MRX rows (api.cpp's row blocks),
  // within scratch_need's A (>= 32 * MRX * kAS floats).
  uint32_t *A2 = reinterpret_cast<uint32_t *>(scratch(kScratchA, size_t(rows * KC2)));
  const uint16_t *Bq = static_cast<const uint16_t *>(a.B);
  const bool acc_in = (a.flags & LITHE_EPI_ACCUMULATE) != 0;
  const bool epi = a.bias || (a.flags & (LITHE_EPI_GELU_TANH | LITHE_EPI_GELU_ERF));
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0), kc2 = (kc + 1) / 2;
    const bool last = k0 + kc >= K;
    bf16_pairs(a.x + m0 * K + k0, rows, kc, K, A2, kc2);
    for (int64_t p = p0; p < p1; ++p) {
      const uint16_t *Bp = Bq + (p * K2 + k0 / 2) * kPanel * 2;
      const int64_t ncols = std::min<int64_t>(kPanel, N - p * kPanel);
      for (int64_t r0 = 0; r0 < rows; r0 += MRX) {
        const int64_t mr = std::min<int64_t>(MRX, rows - r0);
        kUkrBF16[mr - 1](kc2, A2 + r0 * kc2, kc2, Bp, a.y + (m0 + r0) * N + p * kPanel, N, ncols,
                         k0 > 0 || acc_in);
      }
      if (last && epi)
        gemm_epilogue(a.y + m0 * N + p * kPanel, N, rows, ncols,
                      a.bias ? a.bias + p * kPanel : nullptr, a.flags);
    }
  }
}

static void dot_rows_bf16dot(const float *x, int64_t M, int64_t D, const uint16_t *table, int64_t v0,
                             int64_t v1, float *logits, int64_t ldl) {
  const int64_t ld = (D + 1) / 2;
  // M * ld lanes <= 8 * (D + 1) / 2 <= scratch_need's K * MRX floats
  uint32_t *X = reinterpret_cast<uint32_t *>(scratch(kScratchA, size_t(M * ld)));
  bf16_pairs(x, M, D, D, X, ld);
  switch (M) {
  case 1: return dot_rows_bf16dot_t<1>(X, D, table, v0, v1, logits, ldl);
  case 2: return dot_rows_bf16dot_t<2>(X, D, table, v0, v1, logits, ldl);
  case 3: return dot_rows_bf16dot_t<3>(X, D, table, v0, v1, logits, ldl);
  case 4: return dot_rows_bf16dot_t<4>(X, D, table, v0, v1, logits, ldl);
  case 5: return dot_rows_bf16dot_t<5>(X, D, table, v0, v1, logits, ldl);
  case 6: return dot_rows_bf16dot_t<6>(X, D, table, v0, v1, logits, ldl);
  case 7: return dot_rows_bf16dot_t<7>(X, D, table, v0, v1, logits, ldl);
  default: return dot_rows_bf16dot_t<8>(X, D, table, v0, v1, logits, ldl);
  }
}

} // namespace avx512_impl

void bf16_pairs_avx512(const float *x, int64_t M, int64_t K, int64_t ldx, uint32_t *A2,
                       int64_t ld) {
  avx512_impl::bf16_pairs(x, M, K, ldx, A2, ld);
}

void bf16_tail_avx512(const uint32_t *X, int64_t ld, int64_t rows, const uint16_t *w,
                      int64_t k2_0, int64_t K2, float *c) {
  for (int64_t i = 0; i < rows; ++i) {
    __m512 s0 = _mm512_loadu_ps(c + i * 32), s1 = _mm512_loadu_ps(c + i * 32 + 16);
    for (int64_t k2 = k2_0; k2 < K2; ++k2) {
      const __m512i x = _mm512_set1_epi32(int(X[i * ld + k2]));
      s0 = _mm512_dpbf16_ps(s0, (__m512bh)x, (__m512bh)_mm512_loadu_si512(w + k2 * 64));
      s1 = _mm512_dpbf16_ps(s1, (__m512bh)x, (__m512bh)_mm512_loadu_si512(w + k2 * 64 + 32));
    }
    _mm512_storeu_ps(c + i * 32, s0);
    _mm512_storeu_ps(c + i * 32 + 16, s1);
  }
}

void gemm_epilogue_avx512(float *y, int64_t ldy, int64_t rows, int64_t ncols, const float *bias,
                          int flags) {
  avx512_impl::gemm_epilogue(y, ldy, rows, ncols, bias, flags);
}

} // namespace kern
} // namespace lithe
LITHE_TARGET_END

const lithe::kern::KernelTable *lithe::kern::avx512_table() { return &avx512_impl::kTable; }
const lithe::kern::BF16Dot *lithe::kern::avx512bf16_kernels() {
  static const BF16Dot k{&avx512_impl::gemm_task_bf16dot, &avx512_impl::gemv_rows_bf16dot,
                         &avx512_impl::dot_rows_bf16dot};
  return &k;
}

// ------------------------------------------------ integer int8 (q8i) route
//
// AVX512-VNNI: vpdpbusd adds 4 u8 x s8 products per int32 lane (no
// saturation). Activations are stored as u8 = q + 128 (its unsigned
// operand), so every dot carries 128 * sum_k w, taken back with the
// packed column sums. Compiled in its own target region: used only where
// CPUID reports VNNI (dispatch.cpp), never implied by AVX-512F.
LITHE_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c,bmi,bmi2")
namespace lithe {
namespace kern {
namespace avx512_impl {

static LITHE_INLINE __m512i vnni_bcast4(const int8_t *p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// float(acc - 128 colsum) * (s_row * scale_col) for the 32 columns of panel
// p, then the epilogue.
static LITHE_INLINE void vnni_store(const Q8iArgs &a, const __m512i *acc, float rs, int64_t m,
                                    int64_t p) {
  const int64_t n0 = p * kPanel;
  const int32_t *cs = q8_colsums(a.B, a.N) + n0;
  const float *sc = q8_scales(a.B) + n0;
  R s[2];
  LITHE_UNROLL
  for (int j = 0; j < 2; ++j) {
    const __m512i comp = _mm512_slli_epi32(_mm512_loadu_si512(cs + 16 * j), 7);
    s[j] = V::mul(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j], comp)),
                  V::mul(V::set1(rs), V::load(sc + 16 * j)));
  }
  store_epilogue<2>(s, a.y + m * a.N + n0, a.bias ? a.bias + n0 : nullptr,
                    std::min<int64_t>(kPanel, a.N - n0), a.flags);
}

// y rows [m, m+MR) x panel p: MR x 2 accumulators + 2 weight rows + the
// broadcast (like the fp32 14 x 32 micro-kernel, 4 k per instruction).
template <int MR>
static void vnni_tile(const Q8iArgs &a, int64_t m, int64_t p) {
  const int64_t K4 = q8_k4(a.K);
  const int8_t *w = q8_panel(a.B, a.N, a.K, p);
  const int8_t *A = a.q + m * a.Kp;
  __m512i acc[MR][2];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i)
    acc[i][0] = acc[i][1] = _mm512_setzero_si512();
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const __m512i b0 = _mm512_loadu_si512(w + k4 * 128), b1 = _mm512_loadu_si512(w + k4 * 128 + 64);
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512i x = vnni_bcast4(A + i * a.Kp + 4 * k4);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], x, b0);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], x, b1);
    }
  }
  // Spilled once to a buffer by a small unrolled loop; the (large, GELU
  // inlined) epilogue then loops over it. Indexing acc in a loop GCC does
  // not unroll would keep every accumulator in memory inside the k loop.
  alignas(64) int32_t out[MR][2 * 16];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i) {
    _mm512_store_si512(out[i], acc[i][0]);
    _mm512_store_si512(out[i] + 16, acc[i][1]);
  }
  for (int i = 0; i < MR; ++i) {
    const __m512i v[2] = {_mm512_load_si512(out[i]), _mm512_load_si512(out[i] + 16)};
    vnni_store(a, v, a.qs[m + i], m + i, p);
  }
}

constexpr int kVnniMR = 14;
using VnniTileFn = void (*)(const Q8iArgs &, int64_t, int64_t);
template <std::size_t... I>
static constexpr std::array<VnniTileFn, sizeof...(I)> vnni_tiles(std::index_sequence<I...>) {
  return {{&vnni_tile<int(I) + 1>...}};
}
static const std::array<VnniTileFn, kVnniMR> kVnniTiles =
    vnni_tiles(std::make_index_sequence<kVnniMR>());

static void vnni_gemm(const Q8iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t m = m0; m < m1; m += kVnniMR)
      kVnniTiles[size_t(std::min<int64_t>(kVnniMR, m1 - m) - 1)](a, m, p);
}

// M == 1: 4 groups of 4 k per step (8 independent accumulators).
static void vnni_gemv(const Q8iArgs &a, int64_t p0, int64_t p1) {
  const int64_t K4 = q8_k4(a.K);
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t *w = q8_panel(a.B, a.N, a.K, p);
    __m512i acc[4][2];
    LITHE_UNROLL
    for (int u = 0; u < 4; ++u)
      acc[u][0] = acc[u][1] = _mm512_setzero_si512();
    int64_t k4 = 0;
    for (; k4 + 4 <= K4; k4 += 4) {
      LITHE_UNROLL
      for (int l = 0; l < 8; ++l)
        _mm_prefetch(reinterpret_cast<const char *>(w + k4 * 128) + kPfDist + 64 * l, _MM_HINT_T0);
      LITHE_UNROLL
      for (int u = 0; u < 4; ++u) {
        const __m512i x = vnni_bcast4(a.q + 4 * (k4 + u));
        acc[u][0] = _mm512_dpbusd_epi32(acc[u][0], x, _mm512_loadu_si512(w + (k4 + u) * 128));
        acc[u][1] = _mm512_dpbusd_epi32(acc[u][1], x, _mm512_loadu_si512(w + (k4 + u) * 128 + 64));
      }
    }
    for (; k4 < K4; ++k4) {
      const __m512i x = vnni_bcast4(a.q + 4 * k4);
      acc[0][0] = _mm512_dpbusd_epi32(acc[0][0], x, _mm512_loadu_si512(w + k4 * 128));
      acc[0][1] = _mm512_dpbusd_epi32(acc[0][1], x, _mm512_loadu_si512(w + k4 * 128 + 64));
    }
    __m512i sum[2];
    LITHE_UNROLL
    for (int j = 0; j < 2; ++j)
      sum[j] = _mm512_add_epi32(_mm512_add_epi32(acc[0][j], acc[1][j]),
                                _mm512_add_epi32(acc[2][j], acc[3][j]));
    vnni_store(a, sum, a.qs[0], 0, p);
  }
}

static void vnni_quantize(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                          float *qs) {
  q8i_quantize_avx2(x, m0, m1, K, Kp, q, qs, true);
}

// int4: vpdpbusd with the nibbles u = Wq + 8 as its unsigned operand and
// the s8 activations as the signed one (so no +128 offset here); the low
// nibbles of a 64-byte block are columns 0..15, the high ones 16..31.
template <int MR>
static void vnni_q4_tile(const Q4iArgs &a, int64_t m, int64_t p) {
  const int64_t ng = a.K / a.G, npad = round_up(a.N, kPanel), g4 = a.G / 4;
  const uint8_t *w = q4_panel(a.B, a.N, a.K, a.G, p);
  const float *sc = q4_scales(a.B) + p * kPanel;
  const __m512i low = _mm512_set1_epi8(15);
  R yacc[MR][2];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i)
    yacc[i][0] = yacc[i][1] = V::zero();
  for (int64_t g = 0; g < ng; ++g) {
    __m512i acc[MR][2];
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i)
      acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    for (int64_t k4 = g * g4; k4 < (g + 1) * g4; ++k4) {
      const uint8_t *blk = w + k4 * 64;
      _mm_prefetch(reinterpret_cast<const char *>(blk) + kPfDist, _MM_HINT_T0);
      const __m512i v = _mm512_loadu_si512(blk);
      const __m512i c0 = _mm512_and_si512(v, low), c1 = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      LITHE_UNROLL
      for (int i = 0; i < MR; ++i) {
        const __m512i x = vnni_bcast4(a.q + (m + i) * a.Kp + 4 * k4);
        acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], c0, x);
        acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], c1, x);
      }
    }
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512i off = _mm512_set1_epi32(a.gs[(m + i) * ng + g]);
      LITHE_UNROLL
      for (int j = 0; j < 2; ++j)
        yacc[i][j] = V::add(yacc[i][j], V::mul(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], off)),
                                               V::load(sc + g * npad + 16 * j)));
    }
  }
  const int64_t ncols = std::min<int64_t>(kPanel, a.N - p * kPanel);
  for (int i = 0; i < MR; ++i) {
    const R rs = V::set1(a.qs[m + i]);
    R s[2] = {V::mul(yacc[i][0], rs), V::mul(yacc[i][1], rs)};
    store_epilogue<2>(s, a.y + (m + i) * a.N + p * kPanel, a.bias ? a.bias + p * kPanel : nullptr, ncols,
                      a.flags);
  }
}

// M == 1: four independent accumulator pairs over k4 (vpdpbusd's latency
// would otherwise bound a single chain of them), summed per group.
static void vnni_q4_row(const Q4iArgs &a, int64_t m, int64_t p) {
  const int64_t ng = a.K / a.G, npad = round_up(a.N, kPanel), g4 = a.G / 4;
  const uint8_t *w = q4_panel(a.B, a.N, a.K, a.G, p);
  const float *sc = q4_scales(a.B) + p * kPanel;
  const int8_t *xq = a.q + m * a.Kp;
  const __m512i low = _mm512_set1_epi8(15);
  R yacc[2] = {V::zero(), V::zero()};
  for (int64_t g = 0; g < ng; ++g) {
    __m512i acc[4][2];
    LITHE_UNROLL
    for (int u = 0; u < 4; ++u)
      acc[u][0] = acc[u][1] = _mm512_setzero_si512();
    int64_t k4 = g * g4;
    const int64_t end = (g + 1) * g4;
    for (; k4 + 4 <= end; k4 += 4) {
      LITHE_UNROLL
      for (int u = 0; u < 4; ++u) {
        const uint8_t *blk = w + (k4 + u) * 64;
        _mm_prefetch(reinterpret_cast<const char *>(blk) + kPfDist, _MM_HINT_T0);
        const __m512i v = _mm512_loadu_si512(blk), x = vnni_bcast4(xq + 4 * (k4 + u));
        acc[u][0] = _mm512_dpbusd_epi32(acc[u][0], _mm512_and_si512(v, low), x);
        acc[u][1] = _mm512_dpbusd_epi32(acc[u][1], _mm512_and_si512(_mm512_srli_epi16(v, 4), low), x);
      }
    }
    for (; k4 < end; ++k4) {
      const __m512i v = _mm512_loadu_si512(w + k4 * 64), x = vnni_bcast4(xq + 4 * k4);
      acc[0][0] = _mm512_dpbusd_epi32(acc[0][0], _mm512_and_si512(v, low), x);
      acc[0][1] = _mm512_dpbusd_epi32(acc[0][1], _mm512_and_si512(_mm512_srli_epi16(v, 4), low), x);
    }
    const __m512i off = _mm512_set1_epi32(a.gs[m * ng + g]);
    LITHE_UNROLL
    for (int j = 0; j < 2; ++j) {
      const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(acc[0][j], acc[1][j]), _mm512_add_epi32(acc[2][j], acc[3][j]));
      yacc[j] = V::add(yacc[j], V::mul(_mm512_cvtepi32_ps(_mm512_sub_epi32(sum, off)), V::load(sc + g * npad + 16 * j)));
    }
  }
  const R rs = V::set1(a.qs[m]);
  R s[2] = {V::mul(yacc[0], rs), V::mul(yacc[1], rs)};
  store_epilogue<2>(s, a.y + m * a.N + p * kPanel, a.bias ? a.bias + p * kPanel : nullptr,
                    std::min<int64_t>(kPanel, a.N - p * kPanel), a.flags);
}

constexpr int kVnniQ4MR = 6;
using VnniQ4TileFn = void (*)(const Q4iArgs &, int64_t, int64_t);
template <std::size_t... I>
static constexpr std::array<VnniQ4TileFn, sizeof...(I)> vnni_q4_tiles(std::index_sequence<I...>) {
  return {{&vnni_q4_tile<int(I) + 1>...}};
}
static const std::array<VnniQ4TileFn, kVnniQ4MR> kVnniQ4Tiles =
    vnni_q4_tiles(std::make_index_sequence<kVnniQ4MR>());

static void vnni_q4(const Q4iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  if (m1 - m0 == 1) {
    for (int64_t p = p0; p < p1; ++p)
      vnni_q4_row(a, m0, p);
    return;
  }
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t m = m0; m < m1; m += kVnniQ4MR)
      kVnniQ4Tiles[size_t(std::min<int64_t>(kVnniQ4MR, m1 - m) - 1)](a, m, p);
}

static const Q8iRoute kQ8iVnni = {"avx512-vnni", kVnniMR, true, true, vnni_quantize, vnni_gemm,
                                  vnni_gemv, vnni_q4};

} // namespace avx512_impl

void q8i_tail_avx512(const Q8iArgs &a, int32_t *acc, int64_t m, int64_t rows, int64_t p,
                     int64_t k4_0) {
  const int64_t K4 = q8_k4(a.K);
  const int8_t *w = q8_panel(a.B, a.N, a.K, p);
  for (int64_t i = 0; i < rows; ++i) {
    const int8_t *A = a.q + (m + i) * a.Kp;
    __m512i s0 = _mm512_loadu_si512(acc + i * 32), s1 = _mm512_loadu_si512(acc + i * 32 + 16);
    for (int64_t k4 = k4_0; k4 < K4; ++k4) {
      const __m512i x = avx512_impl::vnni_bcast4(A + 4 * k4);
      s0 = _mm512_dpbusd_epi32(s0, x, _mm512_loadu_si512(w + k4 * 128));
      s1 = _mm512_dpbusd_epi32(s1, x, _mm512_loadu_si512(w + k4 * 128 + 64));
    }
    _mm512_storeu_si512(acc + i * 32, s0);
    _mm512_storeu_si512(acc + i * 32 + 16, s1);
  }
}

void q8i_store_rows_avx512(const Q8iArgs &a, const int32_t *acc, int64_t m, int64_t rows,
                           int64_t p) {
  for (int64_t i = 0; i < rows; ++i) {
    const __m512i v[2] = {_mm512_loadu_si512(acc + i * 32), _mm512_loadu_si512(acc + i * 32 + 16)};
    avx512_impl::vnni_store(a, v, a.qs[m + i], m + i, p);
  }
}
} // namespace kern
} // namespace lithe
LITHE_TARGET_END

const lithe::kern::Q8iRoute *lithe::kern::q8i_avx512vnni() { return &avx512_impl::kQ8iVnni; }

#else
const lithe::kern::KernelTable *lithe::kern::avx512_table() { return nullptr; }
const lithe::kern::BF16Dot *lithe::kern::avx512bf16_kernels() { return nullptr; }
const lithe::kern::Q8iRoute *lithe::kern::q8i_avx512vnni() { return nullptr; }
#endif
