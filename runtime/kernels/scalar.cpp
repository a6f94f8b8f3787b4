// Portable scalar code path: plain loops over the same packed layouts. Used on
// CPUs without AVX2 and as a cross-check in the tests.
#include "internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace lithe {
namespace kern {

float gelu_tanh_scalar(float x) {
  // 0.5 x (1 + tanh(u)) == x / (1 + exp(-2u)): no cancellation for x < 0.
  double xd = x;
  double u = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);
  return float(xd / (1.0 + std::exp(-2.0 * u)));
}

float gelu_erf_scalar(float x) {
  double xd = x;
  return float(0.5 * xd * std::erfc(-xd * 0.7071067811865476));
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it a (quiet) NaN
    return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1); // round to nearest, ties to even
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
  uint32_t u;
  if (e == 0x1f)
    u = sign | 0x7f800000u | (m << 13); // inf, NaN
  else if (e != 0)
    u = sign | ((e + 112) << 23) | (m << 13);
  else if (m == 0)
    u = sign;
  else { // subnormal: m * 2^-24, exact in float32
    float f = float(m) * 0x1p-24f;
    std::memcpy(&u, &f, 4);
    u |= sign;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) // NaN: a quiet NaN
    return uint16_t(sign | 0x7e00u);
  if (a >= 0x477fe000u) // 65504 or more (inf too): saturate to 65504
    return uint16_t(sign | 0x7bffu);
  if (a >= 0x38800000u) { // normal f16: drop 13 mantissa bits, ties to even
    const uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
    return uint16_t(sign | ((r - 0x38000000u) >> 13));
  }
  // subnormal f16 (or zero): a multiple of 2^-24, rounded to nearest even
  float af;
  std::memcpy(&af, &a, 4);
  return uint16_t(sign | uint16_t(std::nearbyint(af * 0x1p24f)));
}

namespace {

inline float epilogue(float v, float bias, float old, int flags) {
  v += bias;
  if (flags & LITHE_EPI_GELU_TANH)
    v = gelu_tanh_scalar(v);
  else if (flags & LITHE_EPI_GELU_ERF)
    v = gelu_erf_scalar(v);
  if (flags & LITHE_EPI_ACCUMULATE)
    v += old;
  return v;
}

void gemv_f32(const float *x, int64_t K, const float *packed, int64_t N, int64_t p0,
              int64_t p1, const float *bias, float *y, int flags) {
  for (int64_t p = p0; p < p1; ++p) {
    const float *w = packed + p * K * kPanel;
    float acc[kPanel] = {};
    for (int64_t k = 0; k < K; ++k)
      for (int j = 0; j < kPanel; ++j)
        acc[j] += x[k] * w[k * kPanel + j];
    int64_t nc = std::min<int64_t>(kPanel, N - p * kPanel);
    for (int64_t j = 0; j < nc; ++j) {
      int64_t n = p * kPanel + j;
      y[n] = epilogue(acc[j], bias ? bias[n] : 0.f, y[n], flags);
    }
  }
}

void gemv_q8(const float *x, int64_t K, const void *packed, int64_t N, int64_t p0,
             int64_t p1, const float *bias, float *y, int flags) {
  const float *sc = q8_scales(packed);
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t *w = q8_panel(packed, N, K, p);
    float acc[kPanel] = {};
    for (int64_t k = 0; k < K; ++k)
      for (int j = 0; j < kPanel; ++j)
        acc[j] += x[k] * float(w[((k / 4) * kPanel + j) * 4 + k % 4]);
    int64_t nc = std::min<int64_t>(kPanel, N - p * kPanel);
    for (int64_t j = 0; j < nc; ++j) {
      int64_t n = p * kPanel + j;
      y[n] = epilogue(acc[j] * sc[n], bias ? bias[n] : 0.f, y[n], flags);
    }
  }
}

// Packed bf16 weight W[k][n] (lithe_pack_linear_bf16's layout).
inline float bf16_packed(const void *packed, int64_t K, int64_t k, int64_t n) {
  const int64_t p = n / kPanel, j = n % kPanel, K2 = (K + 1) / 2;
  return bf16_to_f32(static_cast<const uint16_t *>(packed)[((p * K2 + k / 2) * kPanel + j) * 2 + k % 2]);
}



// Weight B(k, n) of a GEMM problem.
inline float bval(const GemmArgs &a, int64_t k, int64_t n) {
  int64_t p = n / kPanel, j = n % kPanel;
  switch (a.bkind) {
  case kBPackedBF16:
    return bf16_packed(a.B, a.K, k, n);
  case kBRowsBF16:
    return bf16_to_f32(static_cast<const uint16_t *>(a.B)[n * a.K + k]);
  case kBPackedF32:
    return static_cast<const float *>(a.B)[(p * a.K + k) * kPanel + j];
  case kBPackedQ8: {
    const int8_t *q = q8_panel(a.B, a.N, a.K, p);
    return float(q[((k / 4) * kPanel + j) * 4 + k % 4]) * q8_scales(a.B)[n];
  }
  case kBRowsF32:
    return static_cast<const float *>(a.B)[n * a.K + k];
  default:
    return float(static_cast<const int8_t *>(a.B)[n * a.K + k]) * a.rscale[n];
  }
}

void gemm_task(const GemmArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  int64_t n1 = std::min(a.N, p1 * kPanel);
  for (int64_t m = m0; m < m1; ++m) {
    const float *xr = a.x + m * a.K;
    for (int64_t n = p0 * kPanel; n < n1; ++n) {
      float acc = 0.f;
      for (int64_t k = 0; k < a.K; ++k)
        acc += xr[k] * bval(a, k, n);
      float &out = a.y[m * a.N + n];
      out = epilogue(acc, a.bias ? a.bias[n] : 0.f, out, a.flags);
    }
  }
}

// logits[m*ldl + v] = scale[v] (or 1) * x[m] . table[v], any element type.
template <class T, class Widen>
void dot_rows_ref(const float *x, int64_t M, int64_t D, const T *table, const float *scale,
                  int64_t v0, int64_t v1, float *logits, int64_t ldl, Widen widen) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t v = v0; v < v1; ++v) {
      const T *r = table + v * D;
      float acc = 0.f;
      for (int64_t d = 0; d < D; ++d)
        acc += x[m * D + d] * widen(r[d]);
      logits[m * ldl + v] = scale ? acc * scale[v] : acc;
    }
}

void dot_rows_f32(const float *x, int64_t M, int64_t D, const float *table, int64_t v0,
                  int64_t v1, float *logits, int64_t ldl) {
  dot_rows_ref(x, M, D, table, nullptr, v0, v1, logits, ldl, [](float w) { return w; });
}

void dot_rows_q8(const float *x, int64_t M, int64_t D, const int8_t *table, const float *scale,
                 int64_t v0, int64_t v1, float *logits, int64_t ldl) {
  dot_rows_ref(x, M, D, table, scale, v0, v1, logits, ldl, [](int8_t w) { return float(w); });
}

void dot_rows_bf16(const float *x, int64_t M, int64_t D, const uint16_t *table, int64_t v0,
                   int64_t v1, float *logits, int64_t ldl) {
  dot_rows_ref(x, M, D, table, nullptr, v0, v1, logits, ldl, bf16_to_f32);
}

// Few rows over bf16 panels: the reference GEMM over those panels.
void gemv_bf16_rows(const float *x, int64_t M, int64_t K, const void *packed, int64_t N,
                    int64_t p0, int64_t p1, const float *bias, float *y, int flags) {
  gemm_task(GemmArgs{x, M, K, N, kBPackedBF16, packed, nullptr, bias, y, flags}, 0, M, p0, p1);
}

void layer_norm_rows(const float *x, int64_t m0, int64_t m1, int64_t D, const float *g,
                     const float *b, float eps, float *y) {
  for (int64_t m = m0; m < m1; ++m) {
    const float *xr = x + m * D;
    float *yr = y + m * D;
    double s = 0;
    for (int64_t d = 0; d < D; ++d)
      s += xr[d];
    float mean = float(s / double(D));
    double v = 0;
    for (int64_t d = 0; d < D; ++d) {
      double c = double(xr[d]) - mean;
      v += c * c;
    }
    float rstd = float(1.0 / std::sqrt(v / double(D) + double(eps)));
    for (int64_t d = 0; d < D; ++d) {
      float o = (xr[d] - mean) * rstd;
      if (g)
        o *= g[d];
      if (b)
        o += b[d];
      yr[d] = o;
    }
  }
}

void center_rows(const float *x, int64_t m0, int64_t m1, int64_t D, float *y) {
  for (int64_t m = m0; m < m1; ++m) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d)
      s += x[m * D + d];
    float mean = float(s / double(D));
    for (int64_t d = 0; d < D; ++d)
      y[m * D + d] = x[m * D + d] - mean;
  }
}

void softmax_rows(const float *x, int64_t m0, int64_t m1, int64_t N, float *y) {
  for (int64_t m = m0; m < m1; ++m) {
    const float *xr = x + m * N;
    float *yr = y + m * N;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < N; ++i)
      mx = std::max(mx, xr[i]);
    double s = 0;
    for (int64_t i = 0; i < N; ++i) {
      yr[i] = std::exp(xr[i] - mx);
      s += yr[i];
    }
    float inv = float(1.0 / s);
    for (int64_t i = 0; i < N; ++i)
      yr[i] *= inv;
  }
}

void add(const float *a, const float *b, int64_t n, float *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = a[i] + b[i];
}

void gelu(const float *x, int64_t n, float *y, int tanh_form) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = tanh_form ? gelu_tanh_scalar(x[i]) : gelu_erf_scalar(x[i]);
}

void dequant(const int8_t *q, float s, int64_t n, float *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = float(q[i]) * s;
}

// Online softmax over key blocks for one (head, query); the cache holds E
// (float; f16 as uint16_t; int8, each row times its scale).
inline float kv_value(float x) { return x; }
inline float kv_value(uint16_t x) { return f16_to_f32(x); }
inline float kv_value(int8_t x) { return float(x); }

template <class E> void attn_row_t(const AttnArgs &a, int64_t h, int64_t s) {
  const int64_t hd = a.hd, T = a.past + a.S;
  const int64_t nk = a.causal ? a.past + s + 1 : T;
  const float *q = a.q + (s * a.heads + h) * hd;
  const E *K = static_cast<const E *>(a.kc) + h * a.cap * hd;
  const E *V = static_cast<const E *>(a.vc) + h * a.cap * hd;
  float *acc = scratch(kScratchA, size_t(hd));
  float *sc = scratch(kScratchB, 256);
  std::fill(acc, acc + hd, 0.f);
  float mx = -std::numeric_limits<float>::infinity(), l = 0.f;
  for (int64_t t0 = 0; t0 < nk; t0 += 256) {
    int64_t n = std::min<int64_t>(256, nk - t0);
    float bm = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < n; ++t) {
      const E *kr = K + (t0 + t) * hd;
      float d = 0.f;
      for (int64_t i = 0; i < hd; ++i)
        d += q[i] * kv_value(kr[i]);
      sc[t] = d * a.scale;
      if constexpr (std::is_same<E, int8_t>::value)
        sc[t] *= a.ksc[h * a.cap + t0 + t];
      bm = std::max(bm, sc[t]);
    }
    float mnew = std::max(mx, bm);
    float alpha = std::exp(mx - mnew);
    l *= alpha;
    for (int64_t i = 0; i < hd; ++i)
      acc[i] *= alpha;
    for (int64_t t = 0; t < n; ++t) {
      float p = std::exp(sc[t] - mnew);
      l += p;
      const E *vr = V + (t0 + t) * hd;
      const float pv = std::is_same<E, int8_t>::value ? p * a.vsc[h * a.cap + t0 + t] : p;
      for (int64_t i = 0; i < hd; ++i)
        acc[i] += pv * kv_value(vr[i]);
    }
    mx = mnew;
  }
  float *o = a.out + (s * a.heads + h) * hd;
  float inv = 1.f / l;
  for (int64_t i = 0; i < hd; ++i)
    o[i] = acc[i] * inv;
}

void attn_row(const AttnArgs &a, int64_t h, int64_t s) {
  switch (a.kv) {
  case kKvF16: return attn_row_t<uint16_t>(a, h, s);
  case kKvQ8: return attn_row_t<int8_t>(a, h, s);
  default: return attn_row_t<float>(a, h, s);
  }
}

void to_f16(const float *x, int64_t n, uint16_t *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f32_to_f16(x[i]);
}

// attn_row's accumulator (A) and score block (B); the GEMM uses none.
// ------------------------------------------------ integer int8 (q8i) route

// The reference: int32 sums of q * Wq in k order, then the float epilogue.
void q8i_quantize(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                  float *qs) {
  for (int64_t m = m0; m < m1; ++m)
    qs[m] = q8i_quantize_row_ref(x + m * K, K, Kp, q + m * Kp, false);
}

void q8i_gemm(const Q8iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t K4 = q8_k4(a.K);
  const float *sc = q8_scales(a.B);
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t *w = q8_panel(a.B, a.N, a.K, p);
    const int64_t nc = std::min<int64_t>(kPanel, a.N - p * kPanel);
    for (int64_t m = m0; m < m1; ++m) {
      const int8_t *xq = a.q + m * a.Kp;
      int32_t acc[kPanel] = {};
      for (int64_t k4 = 0; k4 < K4; ++k4)
        for (int j = 0; j < kPanel; ++j)
          for (int r = 0; r < 4; ++r)
            acc[j] += int32_t(xq[4 * k4 + r]) * int32_t(w[(k4 * kPanel + j) * 4 + r]);
      for (int64_t j = 0; j < nc; ++j) {
        const int64_t n = p * kPanel + j;
        float &o = a.y[m * a.N + n];
        o = epilogue(float(acc[j]) * (a.qs[m] * sc[n]), a.bias ? a.bias[n] : 0.f, o, a.flags);
      }
    }
  }
}

void q8i_gemv(const Q8iArgs &a, int64_t p0, int64_t p1) { q8i_gemm(a, 0, 1, p0, p1); }

// int4: per group, int32 sums of q * u (u = Wq + 8, the stored nibble) in k
// order minus the group's 8 * sum q, then float(d) * scale summed over the
// groups in order, times the row's scale, then the epilogue.
void q4i_gemm(const Q4iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t ng = a.K / a.G, npad = round_up(a.N, kPanel), g4 = a.G / 4;
  const float *sc = q4_scales(a.B);
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *w = q4_panel(a.B, a.N, a.K, a.G, p);
    const int64_t nc = std::min<int64_t>(kPanel, a.N - p * kPanel);
    for (int64_t m = m0; m < m1; ++m) {
      const int8_t *xq = a.q + m * a.Kp;
      float yacc[kPanel] = {};
      for (int64_t g = 0; g < ng; ++g) {
        int32_t acc[kPanel] = {};
        for (int64_t k4 = g * g4; k4 < (g + 1) * g4; ++k4)
          for (int j = 0; j < 16; ++j)
            for (int r = 0; r < 4; ++r) {
              const uint8_t b = w[k4 * 64 + 4 * j + r];
              const int32_t xv = xq[4 * k4 + r];
              acc[j] += xv * int32_t(b & 15);
              acc[j + 16] += xv * int32_t(b >> 4);
            }
        const int32_t off = a.gs[m * ng + g];
        for (int j = 0; j < kPanel; ++j)
          yacc[j] = yacc[j] + float(acc[j] - off) * sc[g * npad + p * kPanel + j];
      }
      for (int64_t j = 0; j < nc; ++j) {
        const int64_t n = p * kPanel + j;
        float &o = a.y[m * a.N + n];
        o = epilogue(yacc[j] * a.qs[m], a.bias ? a.bias[n] : 0.f, o, a.flags);
      }
    }
  }
}

const Q8iRoute kQ8iRoute = {"scalar", 4, false, false, q8i_quantize, q8i_gemm, q8i_gemv, q4i_gemm};

size_t scratch_need(int slot, const LitheWorkspaceShape &s) {
  if (slot == kScratchA) return size_t(std::max<int64_t>(s.head_dim, 1));
  if (slot == kScratchB) return 256;
  return 0;
}

const KernelTable kTable = {
    LITHE_ISA_SCALAR, "scalar", 4, 0, 1, gemv_f32, gemv_q8, gemm_task, dot_rows_f32,
    dot_rows_q8, layer_norm_rows, center_rows, softmax_rows, add, gelu, dequant,
    attn_row, nullptr, nullptr, nullptr, scratch_need, gemv_bf16_rows, dot_rows_bf16,
    to_f16,
};

} // namespace

const KernelTable *scalar_table() { return &kTable; }
const Q8iRoute *q8i_scalar() { return &kQ8iRoute; }

float q8i_quantize_row_ref(const float *x, int64_t K, int64_t Kp, int8_t *q, bool unsigned_act) {
  float amax = 0.f;
  bool finite = true;
  for (int64_t k = 0; k < K; ++k) {
    amax = std::max(amax, std::fabs(x[k]));
    finite = finite && std::isfinite(x[k]);
  }
  const int8_t off = unsigned_act ? int8_t(-128) : int8_t(0); // xor 0x80 = +128 as u8
  if (!finite || amax < kQ8iTiny) {
    // A non-finite input makes the row's outputs NaN (scale NaN), as the
    // float paths would; an all-zero (or below 1e-30: 127 / max would
    // overflow) row gives bias only.
    std::fill(q, q + Kp, off);
    return finite ? 0.f : std::numeric_limits<float>::quiet_NaN();
  }
  const float inv = 127.f / amax;
  for (int64_t k = 0; k < K; ++k) {
    float v = std::nearbyint(x[k] * inv);
    v = std::min(127.f, std::max(-127.f, v));
    q[k] = int8_t(int8_t(v) ^ off);
  }
  std::fill(q + K, q + Kp, off);
  return amax / 127.f;
}

} // namespace kern
} // namespace lithe
