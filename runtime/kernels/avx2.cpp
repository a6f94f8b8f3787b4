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
  // W pairs (k even, k odd) of bf16 at p: the even and the odd ones widened.
  static LITHE_INLINE void bf16pair(const uint16_t *p, R &even, R &odd) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)p);
    even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xffff0000u))));
  }
};

#include "simd_kernels.inc"

} // namespace avx2_impl
} // namespace kern
} // namespace lithe
LITHE_TARGET_END

const lithe::kern::KernelTable *lithe::kern::avx2_table() { return &avx2_impl::kTable; }

#else
const lithe::kern::KernelTable *lithe::kern::avx2_table() { return nullptr; }
#endif
