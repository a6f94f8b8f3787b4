// AVX2 + FMA code path: 8-lane vectors, 6x16 GEMM micro-tile (two per panel).
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

namespace lithe {
namespace kern {
namespace avx2_impl {
alignas(32) static const int32_t kMaskTbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                 0,  0,  0,  0,  0,  0,  0,  0};
}
} // namespace kern
} // namespace lithe

LITHE_TARGET_BEGIN("avx2,fma,f16c,bmi,bmi2")
namespace lithe {
namespace kern {
namespace avx2_impl {

struct V {
  using R = __m256;
  using M = __m256i; // lane mask (all-ones lanes) for maskload/maskstore
  using C = __m256;  // comparison result
  static constexpr int W = 8;
  static constexpr int UW = 16; // micro-kernel: 2 vectors wide, 2 calls per panel
  static constexpr int MR = 6;  // 6 x 2 accumulators + 2 B rows + 1 broadcast of 16 ymm
  static constexpr int BQ = 48;
  static constexpr int ISA = LITHE_ISA_AVX2;
  static constexpr const char *NAME = "avx2";

  static LITHE_INLINE R zero() { return _mm256_setzero_ps(); }
  static LITHE_INLINE R set1(float a) { return _mm256_set1_ps(a); }
  static LITHE_INLINE R load(const float *p) { return _mm256_loadu_ps(p); }
  static LITHE_INLINE void store(float *p, R v) { _mm256_storeu_ps(p, v); }
  static LITHE_INLINE M mask(int64_t n) {
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kMaskTbl + 8 - n));
  }
  static LITHE_INLINE R loadm(const float *p, M m) { return _mm256_maskload_ps(p, m); }
  static LITHE_INLINE R loadm_fill(const float *p, M m, float fill) {
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static LITHE_INLINE void storem(float *p, R v, M m) { _mm256_maskstore_ps(p, m, v); }
  static LITHE_INLINE R zmask(R v, M m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
  static LITHE_INLINE R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static LITHE_INLINE R fnma(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
  static LITHE_INLINE R add(R a, R b) { return _mm256_add_ps(a, b); }
  static LITHE_INLINE R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static LITHE_INLINE R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static LITHE_INLINE R div(R a, R b) { return _mm256_div_ps(a, b); }
  static LITHE_INLINE R max(R a, R b) { return _mm256_max_ps(a, b); }
  static LITHE_INLINE R min(R a, R b) { return _mm256_min_ps(a, b); }
  static LITHE_INLINE R abs(R a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.f), a); }
  static LITHE_INLINE R round(R x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static LITHE_INLINE R pow2i(R n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static LITHE_INLINE C lt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static LITHE_INLINE R sel(C c, R t, R f) { return _mm256_blendv_ps(f, t, c); }
  static LITHE_INLINE float hsum(R v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static LITHE_INLINE float hmax(R v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static LITHE_INLINE void hsum4(R a, R b, R c, R d, float *out) {
    __m256 ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    __m256 cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    __m256 s = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
  }
  // In-register 8x8 transpose: r[i][j] -> r[j][i].
  static LITHE_INLINE void transpose(R *r) {
    R t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
      u[g] = _mm256_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int m = 0; m < 4; ++m) {
      r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
      r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
  }
  // x[0..3] repeated across the lanes
  static LITHE_INLINE R bcast4(const float *x) { return _mm256_broadcast_ps((const __m128 *)x); }
  static LITHE_INLINE R i8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
  }
  static LITHE_INLINE R i8n(const int8_t *p, int64_t n) {
    int8_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tmp, p, size_t(n < 8 ? n : 8));
    return i8(tmp);
  }
  // bf16 -> float32: the 16 bits become the upper half.
  static LITHE_INLINE R bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
  }
  static LITHE_INLINE R bf16n(const uint16_t *p, int64_t n) {
    uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tmp, p, size_t(n < 8 ? n : 8) * 2);
    return bf16(tmp);
  }
  // IEEE f16 <-> float32 (F16C); to_f16h rounds to nearest even, and the
  // caller saturates first (kernels.h: the f16 KV cache).
  static LITHE_INLINE R f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
  }
  static LITHE_INLINE R f16n(const uint16_t *p, int64_t n) {
    uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tmp, p, size_t(n < 8 ? n : 8) * 2);
    return f16(tmp);
  }
  static LITHE_INLINE void to_f16h(R v, uint16_t *p) {
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  // W pairs (k even, k odd) of bf16 at p: the even and the odd ones widened.
  static LITHE_INLINE void bf16pair(const uint16_t *p, R &even, R &odd) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)p);
    even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xffff0000u))));
  }
};

#include "simd_kernels.inc"

// ------------------------------------------------ integer int8 (q8i) route
//
// Without VNNI: vpmaddubsw multiplies u8 x s8 byte pairs into saturating
// int16. With the activation's sign moved onto the weight,
// maddubs(|q|, sign(w, q)), both factors are in [-127, 127] and a pair sums
// to at most 2 * 127 * 127 = 32258 < 32767: nothing saturates (llama.cpp's
// trick). vpmaddwd with ones then adds the pairs into int32 lanes, one per
// column (4 k per lane: the packed layout's groups of 4).

template <bool U>
static void q8i_quantize_t(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                           float *qs) {
  const __m256 signbit = _mm256_set1_ps(-0.f);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i off = _mm256_set1_epi8(U ? char(-128) : char(0));
  const int8_t offb = U ? int8_t(-128) : int8_t(0);
  for (int64_t m = m0; m < m1; ++m) {
    const float *xr = x + m * K;
    int8_t *qr = q + m * Kp;
    __m256 mx = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      const __m256 v = _mm256_loadu_ps(xr + k);
      mx = _mm256_max_ps(mx, _mm256_andnot_ps(signbit, v));
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    float amax = V::hmax(mx);
    bool finite = _mm256_movemask_ps(nan) == 0;
    for (; k < K; ++k) {
      amax = std::max(amax, std::fabs(xr[k]));
      finite = finite && !std::isnan(xr[k]);
    }
    if (!finite || !std::isfinite(amax) || amax < kQ8iTiny) {
      qs[m] = q8i_quantize_row_ref(xr, K, Kp, qr, U); // NaN scale, or a zero row
      continue;
    }
    const float inv = 127.f / amax;
    const __m256 iv = _mm256_set1_ps(inv);
    k = 0;
    for (; k + 32 <= K; k += 32) {
      // x * inv rounds to nearest even (MXCSR default), like nearbyint
      const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + k), iv));
      const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + k + 8), iv));
      const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + k + 16), iv));
      const __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + k + 24), iv));
      // packs work per 128-bit lane: dwords come out as a0 b0 c0 d0 a1 b1 c1 d1
      __m256i r = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
      r = _mm256_xor_si256(_mm256_permutevar8x32_epi32(r, perm), off);
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(qr + k), r);
    }
    for (; k < K; ++k) {
      const float v = std::min(127.f, std::max(-127.f, std::nearbyint(xr[k] * inv)));
      qr[k] = int8_t(int8_t(v) ^ offb);
    }
    for (; k < Kp; ++k)
      qr[k] = offb;
    qs[m] = amax / 127.f;
  }
}

static LITHE_INLINE __m256i q8i_bcast4(const int8_t *p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// acc += q . w over 8 columns x 4 k (x: 4 bytes of activations broadcast).
static LITHE_INLINE __m256i q8i_dot(__m256i acc, __m256i ax, __m256i x, __m256i w, __m256i ones) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x)), ones));
}

// y rows [m, m+MR) x 16 columns (half h of panel p): float(acc) * (s_row *
// scale_col), then the epilogue. 4 x 2 accumulators + 2 weight rows +
// activations, |activations|, ones, a temporary: 14 of 16 ymm.
template <int MR>
static void q8i_tile(const Q8iArgs &a, int64_t m, int64_t p, int h) {
  const int64_t K4 = q8_k4(a.K);
  const int8_t *w = q8_panel(a.B, a.N, a.K, p) + 64 * h;
  const int8_t *A = a.q + m * a.Kp;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[MR][2];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i)
    acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + k4 * 128));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + k4 * 128 + 32));
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m256i x = q8i_bcast4(A + i * a.Kp + 4 * k4), ax = _mm256_abs_epi8(x);
      acc[i][0] = q8i_dot(acc[i][0], ax, x, b0, ones);
      acc[i][1] = q8i_dot(acc[i][1], ax, x, b1, ones);
    }
  }
  const int64_t n0 = p * kPanel + 16 * h, ncols = std::min<int64_t>(16, a.N - n0);
  const float *sc = q8_scales(a.B) + n0;
  // Spilled once by a small unrolled loop (an epilogue loop GCC does not
  // unroll would otherwise keep the accumulators in memory in the k loop).
  alignas(32) int32_t out[MR][16];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i) {
    _mm256_store_si256(reinterpret_cast<__m256i *>(out[i]), acc[i][0]);
    _mm256_store_si256(reinterpret_cast<__m256i *>(out[i] + 8), acc[i][1]);
  }
  for (int i = 0; i < MR; ++i) {
    const R rs = V::set1(a.qs[m + i]);
    R s[2];
    LITHE_UNROLL
    for (int j = 0; j < 2; ++j)
      s[j] = V::mul(_mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i *>(out[i] + 8 * j))),
                    V::mul(rs, V::load(sc + 8 * j)));
    store_epilogue<2>(s, a.y + (m + i) * a.N + n0, a.bias ? a.bias + n0 : nullptr, ncols, a.flags);
  }
}

constexpr int kQ8iMR = 4;

static void q8i_gemm(const Q8iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p)
    for (int h = 0; h < 2 && p * kPanel + 16 * h < a.N; ++h) {
      int64_t m = m0;
      for (; m + kQ8iMR <= m1; m += kQ8iMR)
        q8i_tile<kQ8iMR>(a, m, p, h);
      switch (m1 - m) {
      case 3: q8i_tile<3>(a, m, p, h); break;
      case 2: q8i_tile<2>(a, m, p, h); break;
      case 1: q8i_tile<1>(a, m, p, h); break;
      default: break;
      }
    }
}

// M == 1: one weight stream per panel run, two groups of 4 k per step (8
// independent accumulators).
static void q8i_gemv(const Q8iArgs &a, int64_t p0, int64_t p1) {
  const int64_t K4 = q8_k4(a.K);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t *w = q8_panel(a.B, a.N, a.K, p);
    __m256i acc[2][4];
    LITHE_UNROLL
    for (int u = 0; u < 2; ++u)
      LITHE_UNROLL
      for (int v = 0; v < 4; ++v)
        acc[u][v] = _mm256_setzero_si256();
    int64_t k4 = 0;
    for (; k4 + 2 <= K4; k4 += 2) {
      _mm_prefetch(reinterpret_cast<const char *>(w + k4 * 128) + kPfDist, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(w + k4 * 128) + kPfDist + 64, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(w + k4 * 128) + kPfDist + 128, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(w + k4 * 128) + kPfDist + 192, _MM_HINT_T0);
      LITHE_UNROLL
      for (int u = 0; u < 2; ++u) {
        const __m256i x = q8i_bcast4(a.q + 4 * (k4 + u)), ax = _mm256_abs_epi8(x);
        LITHE_UNROLL
        for (int v = 0; v < 4; ++v)
          acc[u][v] = q8i_dot(acc[u][v], ax, x,
                              _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + (k4 + u) * 128 + 32 * v)),
                              ones);
      }
    }
    if (k4 < K4) {
      const __m256i x = q8i_bcast4(a.q + 4 * k4), ax = _mm256_abs_epi8(x);
      LITHE_UNROLL
      for (int v = 0; v < 4; ++v)
        acc[0][v] = q8i_dot(acc[0][v], ax, x,
                            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + k4 * 128 + 32 * v)),
                            ones);
    }
    const float *sc = q8_scales(a.B) + p * kPanel;
    const R rs = V::set1(a.qs[0]);
    R s[4];
    LITHE_UNROLL
    for (int v = 0; v < 4; ++v)
      s[v] = V::mul(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[0][v], acc[1][v])),
                    V::mul(rs, V::load(sc + 8 * v)));
    store_epilogue<4>(s, a.y + p * kPanel, a.bias ? a.bias + p * kPanel : nullptr,
                      std::min<int64_t>(kPanel, a.N - p * kPanel), a.flags);
  }
}

// ------------------------------------------------ integer int4 (q4i) route
//
// vpmaddubsw with the nibbles u = Wq + 8 in [0, 15] as its unsigned operand
// and the s8 activations as the signed one: a pair sums to at most
// 2 * 15 * 127 = 3810, nothing saturates. 32 bytes of a 64-byte block give
// columns 0..7 (and 16..23 shifted), the other 32 columns 8..15 (24..31).

// y rows [m, m+MR) x panel p.
template <int MR>
static void q4i_tile(const Q4iArgs &a, int64_t m, int64_t p) {
  const int64_t ng = a.K / a.G, npad = round_up(a.N, kPanel), g4 = a.G / 4;
  const uint8_t *w = q4_panel(a.B, a.N, a.K, a.G, p);
  const float *sc = q4_scales(a.B) + p * kPanel;
  const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(15);
  R yacc[MR][4];
  LITHE_UNROLL
  for (int i = 0; i < MR; ++i)
    LITHE_UNROLL
    for (int v = 0; v < 4; ++v)
      yacc[i][v] = V::zero();
  for (int64_t g = 0; g < ng; ++g) {
    __m256i acc[MR][4];
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i)
      LITHE_UNROLL
      for (int v = 0; v < 4; ++v)
        acc[i][v] = _mm256_setzero_si256();
    for (int64_t k4 = g * g4; k4 < (g + 1) * g4; ++k4) {
      const uint8_t *blk = w + k4 * 64;
      _mm_prefetch(reinterpret_cast<const char *>(blk) + kPfDist, _MM_HINT_T0);
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blk + 32));
      const __m256i c[4] = {_mm256_and_si256(v0, low), _mm256_and_si256(v1, low),
                            _mm256_and_si256(_mm256_srli_epi16(v0, 4), low),
                            _mm256_and_si256(_mm256_srli_epi16(v1, 4), low)};
      LITHE_UNROLL
      for (int i = 0; i < MR; ++i) {
        const __m256i x = q8i_bcast4(a.q + (m + i) * a.Kp + 4 * k4);
        LITHE_UNROLL
        for (int v = 0; v < 4; ++v)
          acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(_mm256_maddubs_epi16(c[v], x), ones));
      }
    }
    LITHE_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m256i off = _mm256_set1_epi32(a.gs[(m + i) * ng + g]);
      LITHE_UNROLL
      for (int v = 0; v < 4; ++v)
        yacc[i][v] = V::add(yacc[i][v], V::mul(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][v], off)),
                                               V::load(sc + g * npad + 8 * v)));
    }
  }
  const int64_t ncols = std::min<int64_t>(kPanel, a.N - p * kPanel);
  for (int i = 0; i < MR; ++i) {
    const R rs = V::set1(a.qs[m + i]);
    R s[4];
    LITHE_UNROLL
    for (int v = 0; v < 4; ++v)
      s[v] = V::mul(yacc[i][v], rs);
    store_epilogue<4>(s, a.y + (m + i) * a.N + p * kPanel, a.bias ? a.bias + p * kPanel : nullptr, ncols,
                      a.flags);
  }
}

static void q4i_gemm(const Q4iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    int64_t m = m0;
    for (; m + 2 <= m1; m += 2)
      q4i_tile<2>(a, m, p);
    if (m < m1)
      q4i_tile<1>(a, m, p);
  }
}

static const Q8iRoute kQ8iRoute = {"avx2", kQ8iMR, true, false, q8i_quantize_t<false>, q8i_gemm,
                                   q8i_gemv, q4i_gemm};

} // namespace avx2_impl

void q8i_quantize_avx2(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                       float *qs, bool unsigned_act) {
  if (unsigned_act)
    avx2_impl::q8i_quantize_t<true>(x, m0, m1, K, Kp, q, qs);
  else
    avx2_impl::q8i_quantize_t<false>(x, m0, m1, K, Kp, q, qs);
}

namespace avx2_impl {

} // namespace avx2_impl
} // namespace kern
} // namespace lithe
LITHE_TARGET_END

const lithe::kern::KernelTable *lithe::kern::avx2_table() { return &avx2_impl::kTable; }
const lithe::kern::Q8iRoute *lithe::kern::q8i_avx2() { return &avx2_impl::kQ8iRoute; }

#else
const lithe::kern::KernelTable *lithe::kern::avx2_table() { return nullptr; }
const lithe::kern::Q8iRoute *lithe::kern::q8i_avx2() { return nullptr; }
void lithe::kern::q8i_quantize_avx2(const float *, int64_t, int64_t, int64_t, int64_t, int8_t *,
                                    float *, bool) {}
#endif
