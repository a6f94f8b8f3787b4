// Tests of the CPU kernels (runtime/kernels) against naive double-precision
// references, on every code path this CPU can run (scalar, AVX2, AVX-512).
//
// Tolerances. A float dot product of length K accumulated in blocks (vector
// lanes, k-unrolled partial sums, k-blocks) has an error well below
// K * 2^-24 * sum_k |x_k w_k| (the worst-case bound for recursive summation);
// in practice it is ~sqrt(K) * 2^-24 * sum|x w|. We allow
//     |got - ref| <= 1e-5 * sum_k |x_k w_k| + 1e-6,
// which is ~K-independent, 10-100x above the typical error, and still far
// below the effect of any indexing or epilogue bug (errors of O(|ref|)).
// GELU adds its own approximation error (vector erfc/exp: a few 1e-7
// relative); its slope is at most ~1.13, so epilogue tests use
//     1.2 * (pre-activation tolerance) + 3e-6 * |ref| + 1e-7.
// q8 is compared with the dequantized weights (Wq * scale), so the same
// float-rounding tolerance applies: quantization error itself is not tested
// against, only the kernel's arithmetic.
#include "lithe/runtime/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using Vec = std::vector<float>;

Vec rnd(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Vec v(n);
  for (auto &x : v)
    x = d(g);
  return v;
}

// 0.5 z (1 + tanh(u)) == z / (1 + exp(-2u)); the latter has no cancellation
// for z << 0 (where 1 + tanh(u) rounds to 0 even in double).
double gelu_tanh_ref(double z) {
  return z / (1.0 + std::exp(-2.0 * 0.7978845608028654 * (z + 0.044715 * z * z * z)));
}
double gelu_erf_ref(double z) { return 0.5 * z * std::erfc(-z / std::sqrt(2.0)); }

// Aligned buffer for packed weights (the weights file is 64-byte aligned).
struct Aligned {
  explicit Aligned(size_t bytes) : p(static_cast<char *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64))) {}
  ~Aligned() { std::free(p); }
  Aligned(const Aligned &) = delete;
  Aligned &operator=(const Aligned &) = delete;
  char *p;
};

// Checks |got[i] - ref[i]| <= tol[i], reporting the worst element.
void expect_close(const float *got, const std::vector<double> &ref, const std::vector<double> &tol,
                  const std::string &what) {
  size_t worst = 0, bad = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double err = std::fabs(double(got[i]) - ref[i]);
    double r = std::isnan(got[i]) ? 1e30 : err / tol[i];
    if (r > 1.0)
      ++bad;
    if (r > worst_ratio) {
      worst_ratio = r;
      worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << ref.size()
                     << " out of tolerance; worst at " << worst << ": got " << got[worst]
                     << " want " << ref[worst] << " tol " << tol[worst];
}

// ---------------------------------------------------------------- fixture

class Kernels : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override {
    if (lithe_kernels_force_isa(GetParam()) != 0)
      GTEST_SKIP() << lithe_kernels_isa_name(GetParam()) << " not supported on this CPU";
    ASSERT_EQ(lithe_kernels_isa(), GetParam());
  }
  void TearDown() override { lithe_kernels_force_isa(LITHE_ISA_AUTO); }
};

std::string isa_name(const ::testing::TestParamInfo<int> &i) {
  return lithe_kernels_isa_name(i.param);
}

INSTANTIATE_TEST_SUITE_P(Isa, Kernels,
                         ::testing::Values(LITHE_ISA_SCALAR, LITHE_ISA_AVX2, LITHE_ISA_AVX512),
                         isa_name);

// ------------------------------------------------------------------ linear

struct LinCase {
  int64_t M, K, N;
  int flags;
  bool bias;
};

// Reference y = [y0 +] act(x W + b) and its tolerance.
template <class XV>
void linear_ref(const XV &x, const std::vector<double> &W, int64_t M, int64_t K, int64_t N,
                const float *bias, const Vec &y0, int flags, std::vector<double> &ref,
                std::vector<double> &tol, double rel = 1e-5) {
  ref.assign(size_t(M * N), 0);
  tol.assign(size_t(M * N), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0, a = 0;
      for (int64_t k = 0; k < K; ++k) {
        double p = double(x[m * K + k]) * W[k * N + n];
        s += p;
        a += std::fabs(p);
      }
      if (bias) {
        s += bias[n];
        a += std::fabs(bias[n]);
      }
      double t = rel * a + 1e-6;
      if (flags & LITHE_EPI_GELU_TANH) {
        s = gelu_tanh_ref(s);
        t = 1.2 * t + 3e-6 * std::fabs(s) + 1e-7;
      } else if (flags & LITHE_EPI_GELU_ERF) {
        s = gelu_erf_ref(s);
        t = 1.2 * t + 3e-6 * std::fabs(s) + 1e-7;
      }
      if (flags & LITHE_EPI_ACCUMULATE) {
        s += y0[m * N + n];
        t += 1e-7 * std::fabs(s);
      }
      ref[m * N + n] = s;
      tol[m * N + n] = t;
    }
}

// bf16 rounding written out here, independently of the library's.
uint16_t bf16_ref(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f))
    return uint16_t((u >> 16) | 0x40);
  const uint32_t lower = u & 0xffffu, upper = u >> 16;
  if (lower > 0x8000u || (lower == 0x8000u && (upper & 1)))
    return uint16_t(upper + 1);
  return uint16_t(upper);
}
double bf16_val(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

const LinCase kLinCases[] = {
    {1, 768, 2304, LITHE_EPI_NONE, true},        // GPT-2 qkv, decode
    {1, 768, 3072, LITHE_EPI_GELU_TANH, true},   // fc + gelu
    {1, 3072, 768, LITHE_EPI_ACCUMULATE, true},  // proj + residual
    {1, 17, 50, LITHE_EPI_GELU_ERF, false},      // K, N not multiples of 16
    {1, 1, 1, LITHE_EPI_NONE, true},
    {1, 5, 50257, LITHE_EPI_NONE, false},        // vocab-like odd N
    {3, 768, 100, LITHE_EPI_GELU_TANH, true},    // small M (GEMM path, one tile)
    {3, 300, 33, LITHE_EPI_ACCUMULATE, false},
    {5, 768, 2304, LITHE_EPI_NONE, true},        // speculative verify: q8 few-rows path
    {7, 3072, 70, LITHE_EPI_GELU_TANH | LITHE_EPI_ACCUMULATE, true}, // 4 + 2 + 1 rows
    {16, 37, 33, LITHE_EPI_GELU_ERF, false},     // the few-rows limit
    {17, 64, 40, LITHE_EPI_ACCUMULATE, true},    // just past it: GEMM
    {2, 1, 5, LITHE_EPI_NONE, true},
    {33, 600, 70, LITHE_EPI_ACCUMULATE, true},   // several k-blocks + residual
    {33, 64, 47, LITHE_EPI_GELU_ERF, true},
    {100, 257, 129, LITHE_EPI_GELU_TANH, true},  // several row blocks, tails everywhere
    {14, 31, 32, LITHE_EPI_NONE, true},
    {15, 40, 16, LITHE_EPI_GELU_TANH | LITHE_EPI_ACCUMULATE, true}, // split path
    {2, 0, 9, LITHE_EPI_ACCUMULATE, true},       // K = 0: bias only
};

std::string lin_name(const LinCase &c) {
  return "M" + std::to_string(c.M) + " K" + std::to_string(c.K) + " N" + std::to_string(c.N) +
         " flags" + std::to_string(c.flags) + (c.bias ? " bias" : "");
}

void linear_f32Cases(int isa) {
  uint32_t seed = 1;
  for (const LinCase &c : kLinCases) {
    if (isa == LITHE_ISA_SCALAR && c.M * c.K * c.N > 8000000)
      continue; // keep the scalar run short
    Vec W = rnd(size_t(c.K * c.N), seed++), x = rnd(size_t(c.M * c.K), seed++);
    Vec b = rnd(size_t(c.N), seed++), y0 = rnd(size_t(c.M * c.N), seed++);
    Aligned packed(lithe_pack_linear_size(c.K, c.N));
    lithe_pack_linear(W.data(), c.K, c.N, packed.p);
    Vec y = y0;
    lithe_linear(x.data(), c.M, c.K, packed.p, c.N, c.bias ? b.data() : nullptr, y.data(),
                 c.flags);
    std::vector<double> Wd(W.begin(), W.end()), ref, tol;
    linear_ref(x, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, ref, tol);
    expect_close(y.data(), ref, tol, lin_name(c));
  }
}

// Sets the int8 compute mode for a scope.
struct Q8Mode {
  explicit Q8Mode(int m) : prev(lithe_kernels_set_q8_compute(m)) {}
  ~Q8Mode() { lithe_kernels_set_q8_compute(prev); }
  int prev;
};

// Weight-only int8 (LITHE_Q8_FLOAT): exact up to float rounding w.r.t. the
// dequantized weights.
void linear_q8Cases(int isa) {
  Q8Mode mode(LITHE_Q8_FLOAT);
  uint32_t seed = 100;
  for (const LinCase &c : kLinCases) {
    if (isa == LITHE_ISA_SCALAR && c.M * c.K * c.N > 8000000)
      continue;
    Vec W = rnd(size_t(c.K * c.N), seed++), x = rnd(size_t(c.M * c.K), seed++);
    Vec b = rnd(size_t(c.N), seed++), y0 = rnd(size_t(c.M * c.N), seed++);
    std::vector<int8_t> Wq(size_t(c.K * c.N));
    Vec scale(size_t(c.N));
    lithe_quantize_q8(W.data(), c.K, c.N, Wq.data(), scale.data());
    Aligned packed(lithe_pack_linear_q8_size(c.K, c.N));
    lithe_pack_linear_q8(Wq.data(), scale.data(), c.K, c.N, packed.p);
    Vec y = y0;
    lithe_linear_q8(x.data(), c.M, c.K, packed.p, c.N, c.bias ? b.data() : nullptr, y.data(),
                    c.flags);
    std::vector<double> Wd(Wq.size()), ref, tol;
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t n = 0; n < c.N; ++n)
        Wd[k * c.N + n] = double(Wq[k * c.N + n]) * double(scale[n]);
    linear_ref(x, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, ref, tol);
    expect_close(y.data(), ref, tol, "q8 " + lin_name(c));
  }
}

// ------------------------------------------------- integer int8 (q8i)

// The activation quantization kernels.h defines (per row, symmetric).
double quantize_row(const float *x, int64_t K, std::vector<double> &q) {
  float amax = 0.f;
  for (int64_t k = 0; k < K; ++k)
    amax = std::max(amax, std::fabs(x[k]));
  q.assign(size_t(K), 0.0);
  if (amax < 1e-30f)
    return 0.0;
  const float inv = 127.f / amax;
  for (int64_t k = 0; k < K; ++k)
    q[k] = std::min(127.f, std::max(-127.f, std::nearbyint(x[k] * inv)));
  return double(amax / 127.f);
}

// Rows of x with extreme values: all zeros, huge, tiny (below the 1e-30
// floor: a zero row), one spike (everything else rounds to 0), the
// saturation worst case for vpmaddubsw (|q| = 127 against |w| = 127).
void extreme_rows(Vec &x, int64_t M, int64_t K) {
  for (int64_t m = 0; m < M; ++m) {
    float *r = x.data() + m * K;
    switch (m % 7) {
    case 1: std::fill(r, r + K, 0.f); break;
    case 2: for (int64_t k = 0; k < K; ++k) r[k] *= 1e30f; break;
    case 3: for (int64_t k = 0; k < K; ++k) r[k] *= 1e-32f; break;
    case 4: r[K / 2] = 1e6f; break;
    case 5: for (int64_t k = 0; k < K; ++k) r[k] = k % 3 ? 5.f : -5.f; break;
    default: break;
    }
  }
}

struct Q8iResult {
  Vec y;
  std::vector<double> ref, tol;
};

// One integer lithe_linear_q8 and its reference: the exact integer dot of
// the quantized row with Wq, times s_row * scale (double), bias, epilogue.
Q8iResult run_q8i(const LinCase &c, uint32_t seed, bool extremes) {
  Vec W = rnd(size_t(c.K * c.N), seed), x = rnd(size_t(c.M * c.K), seed + 1);
  Vec b = rnd(size_t(c.N), seed + 2), y0 = rnd(size_t(c.M * c.N), seed + 3);
  if (extremes) {
    extreme_rows(x, c.M, c.K);
    for (int64_t k = 0; k < c.K; ++k) // column 0: +-127 weights against row 5's +-5
      W[k * c.N] = k % 3 ? 1.f : -1.f;
  }
  std::vector<int8_t> Wq(size_t(c.K * c.N));
  Vec scale(size_t(c.N));
  lithe_quantize_q8(W.data(), c.K, c.N, Wq.data(), scale.data());
  Aligned packed(lithe_pack_linear_q8_size(c.K, c.N));
  lithe_pack_linear_q8(Wq.data(), scale.data(), c.K, c.N, packed.p);
  Q8iResult r;
  r.y = y0;
  {
    Q8Mode mode(LITHE_Q8_INT);
    lithe_linear_q8(x.data(), c.M, c.K, packed.p, c.N, c.bias ? b.data() : nullptr, r.y.data(),
                    c.flags);
  }
  // dequantized activations and weights in double: the products are exact
  std::vector<double> xd(size_t(c.M * c.K)), Wd(Wq.size()), q;
  for (int64_t m = 0; m < c.M; ++m) {
    const double s = quantize_row(x.data() + m * c.K, c.K, q);
    for (int64_t k = 0; k < c.K; ++k)
      xd[m * c.K + k] = q[k] * s;
  }
  for (int64_t k = 0; k < c.K; ++k)
    for (int64_t n = 0; n < c.N; ++n)
      Wd[k * c.N + n] = double(Wq[k * c.N + n]) * double(scale[n]);
  linear_ref(xd, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, r.ref, r.tol);
  return r;
}

const LinCase kQ8iCases[] = {
    {1, 768, 2304, LITHE_EPI_NONE, true},        // decode (integer GEMV)
    {1, 3072, 768, LITHE_EPI_ACCUMULATE, true},
    {1, 17, 50, LITHE_EPI_GELU_ERF, false},      // K % 4 != 0, N % 32 != 0
    {1, 1, 1, LITHE_EPI_NONE, true},
    {1, 6, 40, LITHE_EPI_GELU_TANH, true},       // K4 tail in the GEMV's unrolled loop
    {2, 5, 3, LITHE_EPI_NONE, true},
    {5, 768, 512, LITHE_EPI_NONE, true},         // few rows (verify step)
    {7, 3072, 70, LITHE_EPI_GELU_TANH | LITHE_EPI_ACCUMULATE, true},
    {13, 3, 17, LITHE_EPI_ACCUMULATE, false},
    {14, 31, 32, LITHE_EPI_NONE, true},          // one VNNI tile exactly
    {15, 40, 16, LITHE_EPI_GELU_TANH | LITHE_EPI_ACCUMULATE, true},
    {33, 600, 70, LITHE_EPI_ACCUMULATE, true},
    {100, 257, 129, LITHE_EPI_GELU_TANH, true},  // tails everywhere
    {130, 64, 97, LITHE_EPI_GELU_ERF, true},     // two row blocks
    {150, 768, 320, LITHE_EPI_NONE, true},       // a prompt
};

void linear_q8iCases(int isa) {
  uint32_t seed = 700;
  for (const LinCase &c : kQ8iCases) {
    seed += 10;
    if (isa == LITHE_ISA_SCALAR && c.M * c.K * c.N > 8000000)
      continue;
    for (bool extremes : {false, true}) {
      Q8iResult r = run_q8i(c, seed, extremes);
      expect_close(r.y.data(), r.ref, r.tol,
                   std::string("q8i ") + (extremes ? "extreme " : "") + lin_name(c));
    }
  }
}

// The packed layouts are stored in weights files: pin them down.
TEST(KernelsLayout, PackedF32Layout) {
  const int64_t K = 3, N = 40;
  Vec W(K * N);
  for (int64_t i = 0; i < K * N; ++i)
    W[i] = float(i + 1);
  ASSERT_EQ(lithe_pack_linear_size(K, N), size_t(2 * K * 32 * 4));
  Vec P(2 * K * 32, -1.f);
  lithe_pack_linear(W.data(), K, N, P.data());
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 32; ++j) {
        int64_t n = p * 32 + j;
        EXPECT_EQ(P[(p * K + k) * 32 + j], n < N ? W[k * N + n] : 0.f);
      }
}

TEST(KernelsLayout, PackedQ8Layout) {
  const int64_t K = 6, N = 33, Npad = 64, K4 = 2;
  std::vector<int8_t> Wq(K * N);
  Vec sc(N);
  for (int64_t i = 0; i < K * N; ++i)
    Wq[i] = int8_t(i % 127 - 60);
  for (int64_t n = 0; n < N; ++n)
    sc[n] = 0.5f + float(n);
  const size_t size = lithe_pack_linear_q8_size(K, N);
  ASSERT_EQ(size, size_t(8 * Npad + 2 * K4 * 128));
  EXPECT_EQ(size % 128, 0u);
  std::vector<char> buf(size, 'x');
  lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, buf.data());
  const float *s = reinterpret_cast<const float *>(buf.data());
  const int32_t *cs = reinterpret_cast<const int32_t *>(buf.data()) + Npad;
  const int8_t *q = reinterpret_cast<const int8_t *>(buf.data()) + 8 * Npad;
  for (int64_t n = 0; n < Npad; ++n) {
    EXPECT_EQ(s[n], n < N ? sc[n] : 0.f);
    int32_t sum = 0;
    for (int64_t k = 0; k < K && n < N; ++k)
      sum += Wq[k * N + n];
    EXPECT_EQ(cs[n], sum) << n;
  }
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t k4 = 0; k4 < K4; ++k4)
      for (int64_t j = 0; j < 32; ++j)
        for (int64_t r = 0; r < 4; ++r) {
          const int64_t n = p * 32 + j, k = 4 * k4 + r;
          EXPECT_EQ(q[((p * K4 + k4) * 32 + j) * 4 + r], n < N && k < K ? Wq[k * N + n] : 0)
              << p << " " << k << " " << j;
        }
}

TEST(KernelsLayout, PackedQ4Layout) {
  const int64_t K = 8, N = 40, G = 4, npad = 64;
  std::vector<int8_t> Wq(K * N);
  Vec sc(K / G * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      Wq[k * N + n] = int8_t((k * 7 + n) % 16 - 8);
  for (size_t i = 0; i < sc.size(); ++i)
    sc[i] = 0.5f + float(i);
  ASSERT_EQ(lithe_pack_linear_q4_size(K, N, G), size_t(4 * 2 * npad + npad * K / 2));
  EXPECT_EQ(lithe_pack_linear_q4_size(K, N, 3), 0u);  // G not a multiple of 4
  EXPECT_EQ(lithe_pack_linear_q4_size(12, N, 8), 0u); // G does not divide K
  Aligned packed(lithe_pack_linear_q4_size(K, N, G));
  lithe_pack_linear_q4(Wq.data(), sc.data(), K, N, G, packed.p);
  const float *s = reinterpret_cast<const float *>(packed.p);
  for (int64_t g = 0; g < 2; ++g)
    for (int64_t n = 0; n < npad; ++n)
      EXPECT_EQ(s[g * npad + n], n < N ? sc[g * N + n] : 0.f);
  const uint8_t *q = reinterpret_cast<const uint8_t *>(packed.p) + 4 * 2 * npad;
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 32; ++j) {
        const int64_t n = 32 * p + j;
        const uint8_t b = q[(p * (K / 4) + k / 4) * 64 + 4 * (j % 16) + k % 4];
        const int u = j < 16 ? b & 15 : b >> 4;
        EXPECT_EQ(u - 8, n < N ? Wq[k * N + n] : 0) << p << " " << k << " " << j;
      }
}

TEST(KernelsQuant, QuantizeQ8) {
  const int64_t K = 50, N = 7;
  Vec W = rnd(K * N, 7, -3.f, 3.f);
  for (int64_t k = 0; k < K; ++k)
    W[k * N + 6] = 0.f; // all-zero column
  W[3 * N + 2] = -5.f;  // column max in magnitude, negative
  std::vector<int8_t> Wq(K * N);
  Vec sc(N);
  lithe_quantize_q8(W.data(), K, N, Wq.data(), sc.data());
  EXPECT_EQ(sc[6], 0.f);
  EXPECT_FLOAT_EQ(sc[2], 5.f / 127.f);
  EXPECT_EQ(Wq[3 * N + 2], -127);
  for (int64_t n = 0; n < N; ++n) {
    float mx = 0;
    for (int64_t k = 0; k < K; ++k)
      mx = std::max(mx, std::fabs(W[k * N + n]));
    EXPECT_FLOAT_EQ(sc[n], mx / 127.f);
    for (int64_t k = 0; k < K; ++k) {
      EXPECT_GE(Wq[k * N + n], -127);
      // round to nearest: error at most half a step (+ float rounding)
      EXPECT_LE(std::fabs(Wq[k * N + n] * sc[n] - W[k * N + n]), 0.5f * sc[n] * 1.0001f + 1e-12f);
    }
  }
  // per-row variant
  Vec T = rnd(3 * 20, 8);
  std::vector<int8_t> Tq(60);
  Vec rs(3);
  lithe_quantize_rows_q8(T.data(), 3, 20, Tq.data(), rs.data());
  for (int r = 0; r < 3; ++r) {
    float mx = 0;
    for (int c = 0; c < 20; ++c)
      mx = std::max(mx, std::fabs(T[r * 20 + c]));
    EXPECT_FLOAT_EQ(rs[r], mx / 127.f);
    for (int c = 0; c < 20; ++c)
      EXPECT_LE(std::fabs(Tq[r * 20 + c] * rs[r] - T[r * 20 + c]), 0.5f * rs[r] * 1.0001f);
  }
}

// ----------------------------------------------------------------- LM head

void lm_headCases(int isa) {
  struct C { int64_t M, D, V; };
  // M <= 8: row dots over 64-row table blocks (AVX-512: 5..8 rows in one pass, two
  // table rows at a time, an odd last row by the 4-row kernel; else 4 rows of x per
  // pass); larger M: GEMM over 32-row panels transposed from the table (tails in V, D).
  const C cases[] = {{1, 768, 50257}, {1, 13, 1001}, {1, 64, 3},    {2, 768, 1000},
                     {3, 100, 77},    {4, 768, 5003}, {8, 33, 130},  {9, 40, 66},
                     {33, 70, 301},   {5, 5, 40},    {6, 768, 200}, {7, 20, 129},
                     {8, 768, 1001},  {5, 48, 3},    {8, 16, 1},
                     {12, 768, 1000}}; // one GEMM tile (AVX-512): its B block spans all of K
  uint32_t seed = 300;
  for (const C &c : cases) {
    if (isa == LITHE_ISA_SCALAR && c.M * c.D * c.V > 8000000)
      continue;
    Vec T = rnd(size_t(c.V * c.D), seed++), x = rnd(size_t(c.M * c.D), seed++);
    std::string name = "M" + std::to_string(c.M) + " D" + std::to_string(c.D) + " V" +
                       std::to_string(c.V);
    // fp32
    Vec out(size_t(c.M * c.V), -7.f);
    lithe_lm_head(x.data(), c.M, c.D, T.data(), c.V, out.data());
    std::vector<double> ref(out.size()), tol(out.size());
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t v = 0; v < c.V; ++v) {
        double s = 0, a = 0;
        for (int64_t d = 0; d < c.D; ++d) {
          double p = double(x[m * c.D + d]) * T[v * c.D + d];
          s += p;
          a += std::fabs(p);
        }
        ref[m * c.V + v] = s;
        tol[m * c.V + v] = 1e-5 * a + 1e-6;
      }
    expect_close(out.data(), ref, tol, "lm_head " + name);
    // q8, against the dequantized table
    std::vector<int8_t> Tq(T.size());
    Vec sc(size_t(c.V));
    lithe_quantize_rows_q8(T.data(), c.V, c.D, Tq.data(), sc.data());
    std::fill(out.begin(), out.end(), -7.f);
    lithe_lm_head_q8(x.data(), c.M, c.D, Tq.data(), sc.data(), c.V, out.data());
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t v = 0; v < c.V; ++v) {
        double s = 0, a = 0;
        for (int64_t d = 0; d < c.D; ++d) {
          double p = double(x[m * c.D + d]) * double(Tq[v * c.D + d]) * double(sc[v]);
          s += p;
          a += std::fabs(p);
        }
        ref[m * c.V + v] = s;
        tol[m * c.V + v] = 1e-5 * a + 1e-6;
      }
    expect_close(out.data(), ref, tol, "lm_head_q8 " + name);
    // bf16, against the rounded table
    std::vector<uint16_t> Tb(T.size());
    for (size_t i = 0; i < T.size(); ++i)
      Tb[i] = bf16_ref(T[i]);
    std::fill(out.begin(), out.end(), -7.f);
    lithe_lm_head_bf16(x.data(), c.M, c.D, Tb.data(), c.V, out.data());
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t v = 0; v < c.V; ++v) {
        double s = 0, a = 0;
        for (int64_t d = 0; d < c.D; ++d) {
          double p = double(x[m * c.D + d]) * bf16_val(Tb[v * c.D + d]);
          s += p;
          a += std::fabs(p);
        }
        ref[m * c.V + v] = s;
        // up to 8 rows on AVX512-BF16 round x too (the dot products)
        tol[m * c.V + v] = (c.M <= 8 && lithe_kernels_bf16_dot(-1) ? 4e-3 : 1e-5) * a + 1e-6;
      }
    expect_close(out.data(), ref, tol, "lm_head_bf16 " + name);
  }
}

// ------------------------------------------------------------ element-wise

TEST_P(Kernels, LayerNorm) {
  struct C { int64_t M, D; bool g, b; float offset; };
  const C cases[] = {{1, 768, true, true, 0.f},  {5, 768, true, true, 100.f},
                     {3, 7, false, true, 3.f},   {2, 100, true, false, -50.f},
                     {1, 1, false, false, 0.f},  {70, 1000, true, true, 1.f}};
  uint32_t seed = 400;
  for (const C &c : cases) {
    Vec x = rnd(size_t(c.M * c.D), seed++);
    for (auto &v : x)
      v += c.offset;
    Vec g = rnd(size_t(c.D), seed++, 0.5f, 1.5f), b = rnd(size_t(c.D), seed++);
    const float eps = 1e-5f;
    Vec y(x.size());
    lithe_layer_norm(x.data(), c.M, c.D, c.g ? g.data() : nullptr, c.b ? b.data() : nullptr, eps,
                     y.data());
    Vec yi = x; // in place
    lithe_layer_norm(yi.data(), c.M, c.D, c.g ? g.data() : nullptr, c.b ? b.data() : nullptr,
                     eps, yi.data());
    std::vector<double> ref(x.size()), tol(x.size());
    for (int64_t m = 0; m < c.M; ++m) {
      double mean = 0, var = 0;
      for (int64_t d = 0; d < c.D; ++d)
        mean += x[m * c.D + d];
      mean /= double(c.D);
      for (int64_t d = 0; d < c.D; ++d)
        var += (x[m * c.D + d] - mean) * (x[m * c.D + d] - mean);
      var /= double(c.D);
      double rstd = 1.0 / std::sqrt(var + eps);
      for (int64_t d = 0; d < c.D; ++d) {
        double v = (x[m * c.D + d] - mean) * rstd;
        if (c.g)
          v *= g[d];
        if (c.b)
          v += b[d];
        ref[m * c.D + d] = v;
        // float mean of values ~|offset| carries ~1e-7*|offset| error, scaled by rstd
        tol[m * c.D + d] = 1e-5 * (1 + std::fabs(v)) + 4e-7 * std::fabs(c.offset) * rstd * 1.5;
      }
    }
    std::string name = "M" + std::to_string(c.M) + " D" + std::to_string(c.D);
    expect_close(y.data(), ref, tol, "layer_norm " + name);
    expect_close(yi.data(), ref, tol, "layer_norm in place " + name);
    // center
    Vec yc(x.size());
    lithe_center(x.data(), c.M, c.D, yc.data());
    for (int64_t m = 0; m < c.M; ++m) {
      double mean = 0;
      for (int64_t d = 0; d < c.D; ++d)
        mean += x[m * c.D + d];
      mean /= double(c.D);
      for (int64_t d = 0; d < c.D; ++d) {
        ref[m * c.D + d] = x[m * c.D + d] - mean;
        tol[m * c.D + d] = 1e-6 + 4e-7 * std::fabs(c.offset);
      }
    }
    expect_close(yc.data(), ref, tol, "center " + name);
  }
}

TEST_P(Kernels, AddAndEmbedding) {
  for (int64_t n : {1, 15, 16, 17, 1000, 300001}) {
    Vec a = rnd(size_t(n), uint32_t(n)), b = rnd(size_t(n), uint32_t(n + 1)), y(static_cast<size_t>(n));
    lithe_add(a.data(), b.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(y[i], a[i] + b[i]) << n << " " << i;
    lithe_add(a.data(), b.data(), n, a.data()); // in place
    ASSERT_EQ(0, std::memcmp(a.data(), y.data(), size_t(n) * 4));
  }
  const int64_t V = 50, D = 37;
  Vec T = rnd(V * D, 9);
  std::vector<int64_t> ids = {3, 0, 49, 3};
  Vec y(ids.size() * D);
  lithe_embedding(T.data(), D, ids.data(), int64_t(ids.size()), y.data());
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t d = 0; d < D; ++d)
      ASSERT_EQ(y[i * D + d], T[ids[i] * D + d]);
  std::vector<int8_t> Tq(V * D);
  Vec sc(V);
  lithe_quantize_rows_q8(T.data(), V, D, Tq.data(), sc.data());
  lithe_embedding_q8(Tq.data(), sc.data(), D, ids.data(), int64_t(ids.size()), y.data());
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t d = 0; d < D; ++d)
      ASSERT_EQ(y[i * D + d], float(Tq[ids[i] * D + d]) * sc[ids[i]]);
}

TEST_P(Kernels, Gelu) {
  // Dense sweep of [-14, 14] plus special values; both forms, vs double.
  Vec x;
  for (int i = -14000; i <= 14000; ++i)
    x.push_back(float(i) * 1e-3f);
  for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 30.f, -30.f, 100.f, -100.f, 1e4f})
    x.push_back(v);
  const int64_t n = int64_t(x.size());
  for (int form = 0; form < 2; ++form) {
    Vec y(x.size());
    lithe_gelu(x.data(), n, y.data(), form);
    std::vector<double> ref(x.size()), tol(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ref[i] = form ? gelu_tanh_ref(x[i]) : gelu_erf_ref(x[i]);
      // ~1e-6 relative. In the far negative tail the float input's own rounding
      // is amplified (d log gelu / dx ~ x), so allow |x| ulps of it there.
      tol[i] = 2e-6 * std::fabs(ref[i]) * std::max(1.0, std::fabs(double(x[i])) / 2) + 1e-30;
    }
    expect_close(y.data(), ref, tol, form ? "gelu tanh" : "gelu erf");
    Vec yi = x;
    lithe_gelu(yi.data(), n, yi.data(), form);
    ASSERT_EQ(0, std::memcmp(yi.data(), y.data(), x.size() * 4)) << "in place";
  }
}

TEST_P(Kernels, Softmax) {
  struct C { int64_t M, N; float range; };
  const C cases[] = {{1, 50257, 10.f}, {3, 17, 80.f}, {2, 1, 1.f}, {64, 130, 30.f},
                     {1, 16, 1000.f}};
  uint32_t seed = 500;
  for (const C &c : cases) {
    Vec x = rnd(size_t(c.M * c.N), seed++, -c.range, c.range), y(x.size());
    lithe_softmax(x.data(), c.M, c.N, y.data());
    std::vector<double> ref(x.size()), tol(x.size());
    for (int64_t m = 0; m < c.M; ++m) {
      double mx = -1e300, s = 0;
      for (int64_t i = 0; i < c.N; ++i)
        mx = std::max(mx, double(x[m * c.N + i]));
      for (int64_t i = 0; i < c.N; ++i)
        s += std::exp(x[m * c.N + i] - mx);
      for (int64_t i = 0; i < c.N; ++i) {
        double r = std::exp(x[m * c.N + i] - mx) / s;
        ref[m * c.N + i] = r;
        // exp is ~1 ulp on the (exact) float difference; the sum adds ~1e-7
        tol[m * c.N + i] = 2e-6 * r + 1e-12;
      }
    }
    expect_close(y.data(), ref, tol, "softmax M" + std::to_string(c.M) + " N" + std::to_string(c.N));
  }
}

// --------------------------------------------------------------- attention

struct AttnCase {
  int64_t heads, hd, past, S;
  int causal;
};

enum class Kv { F32, F16, Q8 };

// With f16 or int8 caches (lithe_kv_append_f16 / _q8), the reference
// attends over the values they hold: the same bound as float32.
void attention_check(const AttnCase &c, uint32_t seed, Kv kind = Kv::F32) {
  const int64_t cap = c.past + c.S + 5, E = c.heads * c.hd;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Unused cache slots hold NaN: reading them would poison the output.
  Vec kc(size_t(c.heads * cap * c.hd), nan), vc(kc.size(), nan);
  std::vector<uint16_t> kh(kc.size(), 0x7e00), vh(kc.size(), 0x7e00); // f16 NaN
  // int8: values, then (64-byte aligned) one scale per head and position,
  // NaN where nothing was appended.
  const size_t qbytes = lithe_kv_q8_plane_bytes(c.heads, c.hd, cap),
               soff = (size_t(c.heads * cap * c.hd) + 63) / 64 * 64;
  ASSERT_EQ(qbytes, soff + size_t(c.heads * cap) * 4);
  std::vector<float> kq((qbytes + 3) / 4, nan), vq(kq.size(), nan);
  auto *k8 = reinterpret_cast<int8_t *>(kq.data()), *v8 = reinterpret_cast<int8_t *>(vq.data());
  auto append = [&](int64_t past, const Vec &k, const Vec &v, int64_t S) {
    if (kind == Kv::F16)
      return lithe_kv_append_f16(kh.data(), vh.data(), c.heads, c.hd, cap, past, k.data(), v.data(), S);
    if (kind == Kv::Q8)
      return lithe_kv_append_q8(k8, v8, c.heads, c.hd, cap, past, k.data(), v.data(), S);
    return lithe_kv_append(kc.data(), vc.data(), c.heads, c.hd, cap, past, k.data(), v.data(), S);
  };
  Vec kpast = rnd(size_t(c.past * E), seed), vpast = rnd(size_t(c.past * E), seed + 1);
  ASSERT_EQ(0, append(0, kpast, vpast, c.past));
  Vec k = rnd(size_t(c.S * E), seed + 2, -2.f, 2.f), v = rnd(size_t(c.S * E), seed + 3);
  Vec q = rnd(size_t(c.S * E), seed + 4, -2.f, 2.f);
  ASSERT_EQ(0, append(c.past, k, v, c.S));
  const float scale = 1.f / std::sqrt(float(c.hd));
  Vec out(size_t(c.S * E), nan);
  if (kind == Kv::F16) {
    lithe_attention_f16(q.data(), c.S, kh.data(), vh.data(), c.heads, c.hd, cap, c.past, scale,
                        c.causal, out.data());
    lithe_from_f16(kh.data(), int64_t(kh.size()), kc.data());
    lithe_from_f16(vh.data(), int64_t(vh.size()), vc.data());
  } else if (kind == Kv::Q8) {
    lithe_attention_q8(q.data(), c.S, k8, v8, c.heads, c.hd, cap, c.past, scale, c.causal, out.data());
    const float *ks = reinterpret_cast<const float *>(k8 + soff), *vs = reinterpret_cast<const float *>(v8 + soff);
    for (int64_t r = 0; r < c.heads * cap; ++r)
      for (int64_t i = 0; i < c.hd; ++i) {
        const int64_t at = r * c.hd + i;
        kc[at] = float(k8[at]) * ks[r];
        vc[at] = float(v8[at]) * vs[r];
        if (r % cap < c.past + c.S) { // appended: symmetric int8 of the row
          ASSERT_LE(std::abs(int(k8[at])), 127);
          ASSERT_GT(ks[r], 0.f);
        }
      }
  } else {
    lithe_attention(q.data(), c.S, kc.data(), vc.data(), c.heads, c.hd, cap, c.past, scale,
                    c.causal, out.data());
  }
  std::vector<double> ref(out.size()), tol(out.size());
  for (int64_t s = 0; s < c.S; ++s)
    for (int64_t h = 0; h < c.heads; ++h) {
      const int64_t T = c.causal ? c.past + s + 1 : c.past + c.S;
      std::vector<double> sc(static_cast<size_t>(T));
      double mx = -1e300;
      for (int64_t t = 0; t < T; ++t) {
        double d = 0;
        for (int64_t i = 0; i < c.hd; ++i)
          d += double(q[s * E + h * c.hd + i]) * kc[(h * cap + t) * c.hd + i];
        sc[t] = d * scale;
        mx = std::max(mx, sc[t]);
      }
      double sum = 0;
      for (auto &x : sc) {
        x = std::exp(x - mx);
        sum += x;
      }
      for (int64_t i = 0; i < c.hd; ++i) {
        double o = 0;
        for (int64_t t = 0; t < T; ++t)
          o += sc[t] / sum * vc[(h * cap + t) * c.hd + i];
        ref[s * E + h * c.hd + i] = o;
        // V in [-1, 1]: the output is a convex combination; fp32 scores with
        // |q.k| scale up to ~4*sqrt(hd) perturb the weights by ~1e-6 relative.
        tol[s * E + h * c.hd + i] = 2e-5;
      }
    }
  expect_close(out.data(), ref, tol,
               std::string(kind == Kv::F16 ? "f16 " : kind == Kv::Q8 ? "int8 " : "") + "attention heads" + std::to_string(c.heads) + " hd" +
                   std::to_string(c.hd) + " past" + std::to_string(c.past) + " S" + std::to_string(c.S) +
                   (c.causal ? " causal" : ""));
}

void attentionCases(int isa, Kv kind = Kv::F32) {
  const AttnCase cases[] = {
      {12, 64, 0, 1, 1},    {12, 64, 128, 1, 1},  {12, 64, 1024, 1, 1}, // decode
      {3, 8, 5, 1, 1},      {2, 12, 300, 1, 0},   {1, 130, 40, 1, 1},   // odd head dims
      {4, 64, 0, 3, 1},     {4, 12, 7, 5, 1},     {2, 64, 10, 3, 0},    // small S
      {12, 64, 0, 61, 1},   {3, 64, 100, 70, 1},  {2, 8, 0, 200, 1},    // prefill
      {2, 12, 33, 129, 1},  {1, 80, 0, 57, 1},    {2, 64, 5, 40, 0},
      {1, 130, 3, 20, 1},   {1, 48, 250, 9, 1},   {1, 7, 4, 9, 1},
  };
  uint32_t seed = 600;
  for (const AttnCase &c : cases) {
    attention_check(c, seed, kind);
    seed += 10;
  }
}

// Against float32 x times the bf16-rounded weights. With AVX512-BF16 every
// row count rounds x to bf16 as well (relative error <= 2^-9 per product):
// its bound.
void linear_bf16Cases(int isa) {
  uint32_t seed = 700;
  for (const LinCase &c : kLinCases) {
    if (isa == LITHE_ISA_SCALAR && c.M * c.K * c.N > 8000000)
      continue;
    Vec W = rnd(size_t(c.K * c.N), seed++), x = rnd(size_t(c.M * c.K), seed++);
    Vec b = rnd(size_t(c.N), seed++), y0 = rnd(size_t(c.M * c.N), seed++);
    Aligned packed(lithe_pack_linear_bf16_size(c.K, c.N));
    lithe_pack_linear_bf16(W.data(), c.K, c.N, packed.p);
    Vec y = y0;
    lithe_linear_bf16(x.data(), c.M, c.K, packed.p, c.N, c.bias ? b.data() : nullptr, y.data(),
                      c.flags);
    std::vector<double> Wd(W.size()), ref, tol;
    for (size_t i = 0; i < W.size(); ++i)
      Wd[i] = bf16_val(bf16_ref(W[i]));
    const bool dot = lithe_kernels_bf16_dot(-1);
    linear_ref(x, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, ref, tol,
               dot ? 4e-3 : 1e-5);
    expect_close(y.data(), ref, tol, std::string("bf16") + (dot ? " (bf16 dot) " : " ") + lin_name(c));
  }
}

TEST(KernelsBF16, RoundsToNearestEven) {
  const float in[] = {1.0f, 1.00390625f /* tie, even below */, 1.01171875f /* tie, odd below */,
                      -2.5f, 3.4028235e38f, 1e-40f, INFINITY, -INFINITY, NAN, 0.0f, -0.0f,
                      1.0f + 1.0f / 256 + 1.0f / 65536};
  const size_t n = sizeof(in) / sizeof(in[0]);
  std::vector<uint16_t> out(n);
  lithe_to_bf16(in, int64_t(n), out.data());
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(out[i], bf16_ref(in[i])) << "input " << in[i];
    if (std::isnan(in[i]))
      EXPECT_TRUE(std::isnan(bf16_val(out[i])));
  }
  EXPECT_EQ(bf16_val(out[1]), 1.0);       // 1 + 2^-8: the tie goes to the even 1.0
  EXPECT_EQ(bf16_val(out[2]), 1.015625);  // 1 + 3*2^-8: to the even 1 + 4*2^-8
  EXPECT_TRUE(std::isinf(bf16_val(out[4]))); // FLT_MAX rounds up to infinity
  EXPECT_EQ(bf16_val(out[11]), 1.0078125); // just above the tie: up
}

TEST_P(Kernels, LinearF32) { linear_f32Cases(GetParam()); }
TEST_P(Kernels, LinearQ8) { linear_q8Cases(GetParam()); }
// Where the CPU has AVX512-BF16, the AVX-512 path uses it (so the cases below
// test it), and it can be turned off and on again.
TEST(KernelsBF16, DotProductsFollowTheCpu) {
  ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AUTO), 0);
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const bool cpu = lithe_kernels_isa() == LITHE_ISA_AVX512 && __builtin_cpu_supports("avx512bf16");
#else
  const bool cpu = false;
#endif
  EXPECT_EQ(lithe_kernels_bf16_dot(-1), cpu ? 1 : 0);
  EXPECT_EQ(lithe_kernels_bf16_dot(0), 0);
  EXPECT_EQ(lithe_kernels_bf16_dot(1), cpu ? 1 : 0);
  if (cpu) {
    ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AVX2), 0);
    EXPECT_EQ(lithe_kernels_bf16_dot(-1), 0); // an AVX-512 instruction: not on the AVX2 path
    lithe_kernels_force_isa(LITHE_ISA_AUTO);
  }
}

// Decoding a sequence alone or beside others gives it the same numbers:
// up to kBF16FewRows rows, each row's sums run in the same order whatever M
// (bitwise), on every path; the LM head's too where it uses dot products.
TEST_P(Kernels, BF16RowAloneOrBatched) {
  const int64_t M = 8, K = 768, N = 200, V = 301;
  Vec W = rnd(size_t(K * N), 900), x = rnd(size_t(M * K), 901), b = rnd(size_t(N), 902);
  Aligned packed(lithe_pack_linear_bf16_size(K, N));
  lithe_pack_linear_bf16(W.data(), K, N, packed.p);
  Vec all(static_cast<size_t>(M * N)), one(static_cast<size_t>(N));
  lithe_linear_bf16(x.data(), M, K, packed.p, N, b.data(), all.data(), LITHE_EPI_GELU_TANH);
  for (int64_t m = 0; m < M; ++m) {
    lithe_linear_bf16(x.data() + m * K, 1, K, packed.p, N, b.data(), one.data(), LITHE_EPI_GELU_TANH);
    for (int64_t n = 0; n < N; ++n)
      ASSERT_EQ(one[n], all[m * N + n]) << "linear row " << m << " column " << n;
  }
  if (!lithe_kernels_bf16_dot(-1))
    return;
  Vec T = rnd(size_t(V * K), 903);
  std::vector<uint16_t> Tb(T.size());
  lithe_to_bf16(T.data(), int64_t(T.size()), Tb.data());
  Vec la(static_cast<size_t>(M * V)), lo(static_cast<size_t>(V));
  lithe_lm_head_bf16(x.data(), M, K, Tb.data(), V, la.data());
  for (int64_t m = 0; m < M; ++m) {
    lithe_lm_head_bf16(x.data() + m * K, 1, K, Tb.data(), V, lo.data());
    for (int64_t v = 0; v < V; ++v)
      ASSERT_EQ(lo[v], la[m * V + v]) << "LM head row " << m << " entry " << v;
  }
}

TEST_P(Kernels, LinearBF16) {
  linear_bf16Cases(GetParam());
  if (lithe_kernels_bf16_dot(-1)) { // and the widening GEMM where the dot products are
    lithe_kernels_bf16_dot(0);
    linear_bf16Cases(GetParam());
    lithe_kernels_bf16_dot(1);
  }
}
TEST_P(Kernels, LmHead) {
  lm_headCases(GetParam());
  if (lithe_kernels_bf16_dot(-1)) { // the bf16 table widened where there are dot products
    lithe_kernels_bf16_dot(0);
    lm_headCases(GetParam());
    lithe_kernels_bf16_dot(1);
  }
}

// ------------------------------------------------------------------ int4

// Grouped symmetric int4, written out here: scale = max |W| / 7 per (group
// of G k, column), Wq = clamp(round(W / scale), -8, 7).
void quantize_q4_ref(const Vec &W, int64_t K, int64_t N, int64_t G, std::vector<int8_t> &Wq, Vec &scale) {
  Wq.assign(size_t(K * N), 0);
  scale.assign(size_t(K / G * N), 0.f);
  for (int64_t g = 0; g < K / G; ++g)
    for (int64_t n = 0; n < N; ++n) {
      float mx = 0;
      for (int64_t k = g * G; k < (g + 1) * G; ++k)
        mx = std::max(mx, std::fabs(W[k * N + n]));
      const float s = mx / 7.f;
      scale[g * N + n] = s;
      for (int64_t k = g * G; k < (g + 1) * G; ++k)
        Wq[k * N + n] = s == 0.f ? 0 : int8_t(std::clamp(std::nearbyint(W[k * N + n] / s), -8.f, 7.f));
    }
}

struct Q4Case {
  int64_t M, K, N, G;
  int flags;
  bool bias;
};

// One lithe_linear_q4 and its reference: the exact integer dots of the
// quantized row with Wq, times s_row * scale (double), bias, epilogue.
Q8iResult run_q4i(const Q4Case &c, uint32_t seed, bool extremes) {
  Vec W = rnd(size_t(c.K * c.N), seed), x = rnd(size_t(c.M * c.K), seed + 1);
  Vec b = rnd(size_t(c.N), seed + 2), y0 = rnd(size_t(c.M * c.N), seed + 3);
  if (extremes)
    extreme_rows(x, c.M, c.K);
  std::vector<int8_t> Wq;
  Vec scale;
  quantize_q4_ref(W, c.K, c.N, c.G, Wq, scale);
  if (extremes) // column 0: the full [-8, 7] range against row 5's +-5
    for (int64_t k = 0; k < c.K; ++k)
      Wq[k * c.N] = k % 3 ? 7 : -8;
  Aligned packed(lithe_pack_linear_q4_size(c.K, c.N, c.G));
  lithe_pack_linear_q4(Wq.data(), scale.data(), c.K, c.N, c.G, packed.p);
  Q8iResult r;
  r.y = y0;
  lithe_linear_q4(x.data(), c.M, c.K, packed.p, c.N, c.G, c.bias ? b.data() : nullptr, r.y.data(), c.flags);
  std::vector<double> xd(size_t(c.M * c.K)), Wd(Wq.size()), q;
  for (int64_t m = 0; m < c.M; ++m) {
    const double s = quantize_row(x.data() + m * c.K, c.K, q);
    for (int64_t k = 0; k < c.K; ++k)
      xd[m * c.K + k] = q[k] * s;
  }
  for (int64_t k = 0; k < c.K; ++k)
    for (int64_t n = 0; n < c.N; ++n)
      Wd[k * c.N + n] = double(Wq[k * c.N + n]) * double(scale[(k / c.G) * c.N + n]);
  linear_ref(xd, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, r.ref, r.tol);
  return r;
}

const Q4Case kQ4Cases[] = {
    {1, 768, 2304, 64, LITHE_EPI_NONE, true},        // GPT-2 qkv, decode
    {1, 3072, 768, 128, LITHE_EPI_ACCUMULATE, true}, // proj + residual
    {1, 768, 3072, 32, LITHE_EPI_GELU_TANH, true},
    {1, 4, 1, 4, LITHE_EPI_NONE, true},
    {1, 8, 40, 4, LITHE_EPI_GELU_ERF, false},        // N % 32 != 0, many groups
    {2, 64, 3, 64, LITHE_EPI_NONE, true},
    {5, 768, 512, 64, LITHE_EPI_NONE, true},         // few rows (verify step)
    {7, 256, 70, 32, LITHE_EPI_GELU_TANH | LITHE_EPI_ACCUMULATE, true},
    {13, 12, 17, 4, LITHE_EPI_ACCUMULATE, false},
    {16, 128, 33, 64, LITHE_EPI_GELU_ERF, true},     // the few-rows limit
    {17, 64, 40, 32, LITHE_EPI_ACCUMULATE, true},    // just past it
    {33, 640, 70, 128, LITHE_EPI_ACCUMULATE, true},
    {100, 256, 129, 64, LITHE_EPI_GELU_TANH, true},  // tails everywhere
    {150, 768, 320, 64, LITHE_EPI_NONE, true},       // a prompt
    {2, 0, 9, 4, LITHE_EPI_ACCUMULATE, true},        // K = 0: bias only
};

std::string q4_name(const Q4Case &c) {
  return "M" + std::to_string(c.M) + " K" + std::to_string(c.K) + " N" + std::to_string(c.N) + " G" +
         std::to_string(c.G) + " flags" + std::to_string(c.flags) + (c.bias ? " bias" : "");
}

TEST_P(Kernels, LinearQ4) {
  uint32_t seed = 1700;
  for (const Q4Case &c : kQ4Cases) {
    seed += 10;
    if (GetParam() == LITHE_ISA_SCALAR && c.M * c.K * c.N > 8000000)
      continue;
    for (bool extremes : {false, true}) {
      if (extremes && c.K == 0)
        continue;
      Q8iResult r = run_q4i(c, seed, extremes);
      expect_close(r.y.data(), r.ref, r.tol, std::string("q4 ") + (extremes ? "extreme " : "") + q4_name(c));
    }
  }
}

// Every route computes the scalar reference's integers: outputs agree to
// float rounding of the group sums (fused multiply-adds or not, relative to
// the summed magnitudes: groups may cancel) and the epilogue.
TEST_P(Kernels, LinearQ4MatchesScalar) {
  for (const Q4Case &c : {Q4Case{1, 768, 2304, 64, LITHE_EPI_GELU_TANH, true},
                          Q4Case{37, 320, 75, 32, LITHE_EPI_ACCUMULATE, true},
                          Q4Case{9, 3072, 64, 128, LITHE_EPI_GELU_ERF | LITHE_EPI_ACCUMULATE, false}})
    for (bool extremes : {false, true}) {
      Q8iResult got = run_q4i(c, 950, extremes);
      ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_SCALAR), 0);
      Q8iResult ref = run_q4i(c, 950, extremes);
      ASSERT_EQ(lithe_kernels_force_isa(GetParam()), 0);
      for (size_t i = 0; i < got.y.size(); ++i)
        ASSERT_NEAR(got.y[i], ref.y[i], 0.2 * ref.tol[i])
            << q4_name(c) << (extremes ? " extreme" : "") << " at " << i;
    }
}

// A non-finite activation makes its row NaN, the other rows stay finite.
TEST_P(Kernels, LinearQ4NonFinite) {
  const int64_t M = 3, K = 64, N = 33, G = 32;
  Vec W = rnd(K * N, 41), x = rnd(M * K, 42);
  x[1 * K + 7] = std::numeric_limits<float>::quiet_NaN();
  x[2 * K + 63] = std::numeric_limits<float>::infinity();
  std::vector<int8_t> Wq;
  Vec sc;
  quantize_q4_ref(W, K, N, G, Wq, sc);
  Aligned packed(lithe_pack_linear_q4_size(K, N, G));
  lithe_pack_linear_q4(Wq.data(), sc.data(), K, N, G, packed.p);
  for (int64_t rows : {int64_t(1), M}) {
    Vec y(M * N, 0.f);
    for (int64_t m = 0; m < M; m += rows)
      lithe_linear_q4(x.data() + m * K, rows, K, packed.p, N, G, nullptr, y.data() + m * N, 0);
    for (int64_t n = 0; n < N; ++n) {
      EXPECT_TRUE(std::isfinite(y[n])) << n;
      EXPECT_TRUE(std::isnan(y[N + n])) << n;
      EXPECT_TRUE(std::isnan(y[2 * N + n])) << n;
    }
  }
}

TEST_P(Kernels, LinearQ8Integer) { linear_q8iCases(GetParam()); }

// Every integer route computes the same integers as the scalar reference:
// outputs agree to float rounding of the epilogue (~1e-7 relative).
TEST_P(Kernels, LinearQ8IntegerMatchesScalar) {
  for (const LinCase &c : {LinCase{1, 768, 2304, LITHE_EPI_GELU_TANH, true},
                           LinCase{37, 333, 75, LITHE_EPI_ACCUMULATE, true},
                           LinCase{16, 3072, 64, LITHE_EPI_GELU_ERF | LITHE_EPI_ACCUMULATE, false}})
    for (bool extremes : {false, true}) {
      Q8iResult got = run_q8i(c, 900, extremes);
      ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_SCALAR), 0);
      ASSERT_STREQ(lithe_kernels_q8_route(), "scalar");
      Q8iResult ref = run_q8i(c, 900, extremes);
      ASSERT_EQ(lithe_kernels_force_isa(GetParam()), 0);
      for (size_t i = 0; i < got.y.size(); ++i)
        ASSERT_NEAR(got.y[i], ref.y[i], 2e-6 * std::fabs(ref.y[i]) + 1e-6)
            << lin_name(c) << (extremes ? " extreme" : "") << " at " << i;
    }
}

// A non-finite activation makes its row NaN (as the float paths would), not
// a finite wrong answer; the other rows are unaffected.
TEST_P(Kernels, LinearQ8IntegerNonFinite) {
  const int64_t M = 3, K = 40, N = 33;
  Vec W = rnd(K * N, 31), x = rnd(M * K, 32);
  x[1 * K + 7] = std::numeric_limits<float>::quiet_NaN();
  x[2 * K + 39] = std::numeric_limits<float>::infinity();
  std::vector<int8_t> Wq(K * N);
  Vec sc(N);
  lithe_quantize_q8(W.data(), K, N, Wq.data(), sc.data());
  Aligned packed(lithe_pack_linear_q8_size(K, N));
  lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, packed.p);
  Q8Mode mode(LITHE_Q8_INT);
  for (int64_t rows : {int64_t(1), M}) {
    Vec y(M * N, 0.f);
    for (int64_t m = 0; m < M; m += rows)
      lithe_linear_q8(x.data() + m * K, rows, K, packed.p, N, nullptr, y.data() + m * N, 0);
    for (int64_t n = 0; n < N; ++n) {
      EXPECT_TRUE(std::isfinite(y[n])) << n;
      EXPECT_TRUE(std::isnan(y[N + n])) << n;
      EXPECT_TRUE(std::isnan(y[2 * N + n])) << n;
    }
  }
}

// The route each code path takes: VNNI only where CPUID says so.
TEST_P(Kernels, Q8IntegerRoute) {
  const std::string route = lithe_kernels_q8_route();
  if (GetParam() == LITHE_ISA_SCALAR)
    EXPECT_EQ(route, "scalar");
  else if (GetParam() == LITHE_ISA_AVX2)
    EXPECT_EQ(route, "avx2");
  else {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    const char *e = std::getenv("LITHE_VNNI");
    const bool vnni = __builtin_cpu_supports("avx512vnni") && !(e && std::string(e) == "0");
    const int amx = lithe_kernels_amx(-1);
    EXPECT_EQ(route, !vnni ? "avx2" : amx == 1 ? "amx" : amx == 2 ? "amx (emulated)" : "avx512-vnni");
#endif
  }
}

// ------------------------------------------------------------------ AMX
//
// The AMX GEMMs (prompts: the integer int8 route's and bf16 weights') on
// the scalar tile model where the CPU has no AMX, and on the tiles where it
// does. Shapes: one and two 16-row tiles, row tails, column tails, K of
// one and many tile steps, K tails (added by VNNI / AVX512-BF16), every
// epilogue.
const LinCase kAmxCases[] = {
    {2, 64, 33, LITHE_EPI_NONE, true},            // int8 only (bf16: the few-rows path)
    {17, 64, 40, LITHE_EPI_ACCUMULATE, true},     // one full and one 1-row tile
    {32, 128, 32, LITHE_EPI_GELU_TANH, true},     // one 32 x 32 block exactly
    {33, 768, 70, LITHE_EPI_NONE, true},          // a 1-row block, 3 panels
    {31, 192, 100, LITHE_EPI_GELU_ERF | LITHE_EPI_ACCUMULATE, false},
    {70, 768, 129, LITHE_EPI_ACCUMULATE, true},
    {150, 256, 64, LITHE_EPI_GELU_TANH, true},    // several row blocks (int8: 128 rows each)
    {16, 3072, 48, LITHE_EPI_NONE, true},         // 48 tile steps
    {48, 96, 40, LITHE_EPI_GELU_TANH, true},      // K % 64 = 32: an int8 tail (lithe-tiny's K)
    {40, 100, 50, LITHE_EPI_NONE, true},          // tails of both
    {20, 41, 35, LITHE_EPI_GELU_ERF, true},       // no whole tile step, odd K
    {231, 768, 96, LITHE_EPI_ACCUMULATE, true},   // bf16's 224-row task blocks plus a tail
};

// Switches AMX to `mode` for a scope (fails the test if it is not granted).
struct AmxMode {
  explicit AmxMode(int m) : prev(lithe_kernels_amx(-1)) { ok = lithe_kernels_amx(m) == m; }
  ~AmxMode() { lithe_kernels_amx(prev); }
  int prev;
  bool ok;
};

// The emulation needs the AVX-512 path with VNNI and AVX512-BF16 (the
// kernels it does not replace).
bool amx_emulation_runs() {
  if (lithe_kernels_force_isa(LITHE_ISA_AUTO) != 0 || lithe_kernels_isa() != LITHE_ISA_AVX512)
    return false;
  AmxMode off(0);
  const std::string route = lithe_kernels_q8_route();
  return route == "avx512-vnni" && lithe_kernels_bf16_dot(-1) == 1;
}

// bf16 weights: y, its reference and tolerance (x rounded to bf16 too).
Q8iResult run_bf16(const LinCase &c, uint32_t seed) {
  Vec W = rnd(size_t(c.K * c.N), seed), x = rnd(size_t(c.M * c.K), seed + 1);
  Vec b = rnd(size_t(c.N), seed + 2), y0 = rnd(size_t(c.M * c.N), seed + 3);
  Aligned packed(lithe_pack_linear_bf16_size(c.K, c.N));
  lithe_pack_linear_bf16(W.data(), c.K, c.N, packed.p);
  Q8iResult r;
  r.y = y0;
  lithe_linear_bf16(x.data(), c.M, c.K, packed.p, c.N, c.bias ? b.data() : nullptr, r.y.data(),
                    c.flags);
  std::vector<double> Wd(W.size());
  for (size_t i = 0; i < W.size(); ++i)
    Wd[i] = bf16_val(bf16_ref(W[i]));
  linear_ref(x, Wd, c.M, c.K, c.N, c.bias ? b.data() : nullptr, y0, c.flags, r.ref, r.tol, 4e-3);
  return r;
}

// int8: the tiles add the same integers as VNNI (bitwise the same outputs).
// bf16: float32 sums in another order than vdpbf16ps' (within the bf16
// bound of the reference, and close to AVX512-BF16's).
void amx_against_avx512(int mode) {
  uint32_t seed = 2000;
  for (const LinCase &c : kAmxCases) {
    seed += 10;
    for (bool extremes : {false, true}) {
      Q8iResult got, want;
      {
        AmxMode amx(mode);
        ASSERT_TRUE(amx.ok);
        ASSERT_STREQ(lithe_kernels_q8_route(), mode == 1 ? "amx" : "amx (emulated)");
        got = run_q8i(c, seed, extremes);
      }
      {
        AmxMode off(0);
        ASSERT_STREQ(lithe_kernels_q8_route(), "avx512-vnni");
        want = run_q8i(c, seed, extremes);
      }
      expect_close(got.y.data(), got.ref, got.tol,
                   std::string("amx q8i ") + (extremes ? "extreme " : "") + lin_name(c));
      for (size_t i = 0; i < got.y.size(); ++i)
        ASSERT_EQ(got.y[i], want.y[i]) << "amx q8i " << lin_name(c) << (extremes ? " extreme" : "")
                                       << " differs from VNNI at " << i;
    }
    Q8iResult got, want;
    {
      AmxMode amx(mode);
      got = run_bf16(c, seed + 5);
    }
    {
      AmxMode off(0);
      want = run_bf16(c, seed + 5);
    }
    expect_close(got.y.data(), got.ref, got.tol, "amx bf16 " + lin_name(c));
    std::vector<double> tol(got.tol.size());
    for (size_t i = 0; i < tol.size(); ++i) // both round x alike: sums' order only
      tol[i] = 0.05 * got.tol[i];
    std::vector<double> w(want.y.begin(), want.y.end());
    expect_close(got.y.data(), w, tol, "amx bf16 vs AVX512-BF16 " + lin_name(c));
  }
}

TEST(KernelsAmx, EmulatedTilesMatchVnniAndBf16Dot) {
  if (!amx_emulation_runs())
    GTEST_SKIP() << "needs the AVX-512 path with VNNI and AVX512-BF16";
  amx_against_avx512(2);
}

// The real tiles (Intel Xeon 4th generation and later): the same checks,
// and the same integers as the emulation.
TEST(KernelsAmx, HardwareTilesMatchVnniAndBf16Dot) {
  ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AUTO), 0);
  AmxMode hw(1);
  const std::string status = lithe_kernels_amx_status();
  // A CPU with AMX whose tiles failed the self-test is a failure, not a skip.
  EXPECT_EQ(status.find("self-test"), std::string::npos) << status;
  if (!hw.ok)
    GTEST_SKIP() << "AMX: " << status;
  EXPECT_EQ(status, "tiles");
  amx_against_avx512(1);
}

// Off the AVX-512 path there are no tiles, whatever was asked.
// The check that guards the tiles passes on the model of them (and on the
// tiles where there are any).
TEST(KernelsAmx, SelfTestPasses) {
  if (!amx_emulation_runs())
    GTEST_SKIP() << "needs the AVX-512 path with VNNI and AVX512-BF16";
  EXPECT_EQ(lithe_kernels_amx_self_test(1), 1);
  const int hw = lithe_kernels_amx_self_test(0);
  EXPECT_NE(hw, 0) << "the AMX tiles failed the self-test";
}

TEST(KernelsAmx, StatusSaysWhy) {
  ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AUTO), 0);
  {
    AmxMode off(0);
    const std::string s = lithe_kernels_amx_status();
    EXPECT_TRUE(s.rfind("off: ", 0) == 0 || s.rfind("the ", 0) == 0 || s.rfind("Linux", 0) == 0 ||
                s.rfind("this build", 0) == 0)
        << s;
  }
  if (amx_emulation_runs()) {
    AmxMode emu(2);
    EXPECT_STREQ(lithe_kernels_amx_status(), "emulated tiles");
  }
}

TEST(KernelsAmx, OnlyOnTheAvx512Path) {
  if (!amx_emulation_runs())
    GTEST_SKIP() << "needs the AVX-512 path with VNNI and AVX512-BF16";
  AmxMode amx(2);
  ASSERT_TRUE(amx.ok);
  ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AVX2), 0);
  EXPECT_EQ(lithe_kernels_amx(-1), 0);
  EXPECT_STREQ(lithe_kernels_q8_route(), "avx2");
  ASSERT_EQ(lithe_kernels_force_isa(LITHE_ISA_AUTO), 0);
  EXPECT_EQ(lithe_kernels_amx(-1), 2);
}
TEST_P(Kernels, Attention) { attentionCases(GetParam()); }
TEST_P(Kernels, AttentionF16) { attentionCases(GetParam(), Kv::F16); }
TEST_P(Kernels, AttentionQ8) { attentionCases(GetParam(), Kv::Q8); }

// An int8 cache row: symmetric, the largest |x| at +-127, the rest rounded
// to the nearest step; a zero row is zeros with scale 0.
TEST(KernelsAttention, KvAppendQ8Quantizes) {
  const int64_t heads = 2, hd = 5, cap = 3;
  std::vector<float> plane((lithe_kv_q8_plane_bytes(heads, hd, cap) + 3) / 4), vplane(plane);
  auto *kq = reinterpret_cast<int8_t *>(plane.data()), *vq = reinterpret_cast<int8_t *>(vplane.data());
  const float *ks = reinterpret_cast<const float *>(kq + 64);
  Vec k = {0.5f, -1.f, 0.25f, 0.f, 0.9f, 0.f, 0.f, 0.f, 0.f, 0.f}, v = k;
  ASSERT_EQ(0, lithe_kv_append_q8(kq, vq, heads, hd, cap, 1, k.data(), v.data(), 1));
  EXPECT_FLOAT_EQ(ks[0 * cap + 1], 1.f / 127.f);
  const int8_t want[] = {64, -127, 32, 0, 114}; // 63.5 rounds to even 64, 31.75 to 32, 114.3 to 114
  for (int i = 0; i < hd; ++i)
    EXPECT_EQ(kq[(0 * cap + 1) * hd + i], want[i]) << i;
  EXPECT_EQ(ks[1 * cap + 1], 0.f);
  for (int i = 0; i < hd; ++i)
    EXPECT_EQ(kq[(1 * cap + 1) * hd + i], 0);
  EXPECT_EQ(-1, lithe_kv_append_q8(kq, vq, heads, hd, cap, 3, k.data(), v.data(), 1));
}

// f32 -> f16 on this path: round to nearest even (the compiler's _Float16
// conversion is the reference), saturated to +-65504 (infinities too), NaN
// a NaN; and back exactly.
TEST_P(Kernels, F16Conversion) {
  Vec x = {0.f, -0.f, 1.f, 1.00048828125f /* tie, even below */, 1.00146484375f /* tie, odd below */,
           65504.f, 65519.f, 65520.f, -1e9f, 3.4e38f, 6.1035156e-05f, 5.9604645e-08f /* 2^-24 */,
           2.9802322e-08f /* 2^-25: tie to 0 */, 8.940697e-08f /* 1.5 * 2^-24: tie to 2^-23 */,
           1e-10f, -3.0517578e-05f /* subnormal */, std::numeric_limits<float>::infinity(),
           -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  Vec r = rnd(4000, 77, -3.f, 3.f);
  for (size_t i = 0; i < r.size(); ++i) // every exponent from 2^-30 to 2^20
    x.push_back(r[i] * std::ldexp(1.f, int(i % 51) - 30));
  std::vector<uint16_t> h(x.size()), h1(1);
  lithe_to_f16(x.data(), int64_t(x.size()), h.data());
  Vec back(x.size());
  lithe_from_f16(h.data(), int64_t(h.size()), back.data());
  for (size_t i = 0; i < x.size(); ++i) {
    lithe_to_f16(&x[i], 1, h1.data()); // the tail code gives the same
    EXPECT_EQ(h1[0], h[i]) << x[i];
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(back[i]));
      continue;
    }
    uint16_t want;
    if (std::fabs(x[i]) >= 65504.f) {
      want = x[i] > 0 ? 0x7bff : 0xfbff;
    } else {
      _Float16 f = static_cast<_Float16>(x[i]);
      std::memcpy(&want, &f, 2);
    }
    EXPECT_EQ(h[i], want) << x[i];
    _Float16 w;
    std::memcpy(&w, &want, 2);
    EXPECT_EQ(back[i], static_cast<float>(w)) << x[i];
  }
}

// The same cases with a workspace bound (what a model's context does): the
// workspace sized for the largest shapes serves every scratch request (no
// kernel allocates), and the results are the references' as before.
TEST_P(Kernels, WorkspaceServesEveryCall) {
  LitheWorkspaceShape shape{150, 3072, 50257, 12, 130, 1030, /*kv_bytes=*/1};
  LitheWorkspace *ws = lithe_workspace_new(&shape, 0);
  ASSERT_NE(ws, nullptr);
  EXPECT_GT(lithe_workspace_bytes(ws), 0u);
  const int64_t misses = lithe_workspace_misses();
  ASSERT_EQ(lithe_workspace_bind(ws), nullptr);
  linear_f32Cases(GetParam());
  linear_q8Cases(GetParam());
  linear_bf16Cases(GetParam());
  linear_q8iCases(GetParam());
  lm_headCases(GetParam());
  attentionCases(GetParam());
  attentionCases(GetParam(), Kv::F16);
  attentionCases(GetParam(), Kv::Q8);
  EXPECT_EQ(lithe_workspace_bind(nullptr), ws);
  EXPECT_EQ(lithe_workspace_misses(), misses);
  lithe_workspace_free(ws);
}

// Too small a workspace is not a wrong answer: the request is served from
// per-thread buffers and counted.
TEST(KernelsWorkspace, TooSmallIsCountedNotWrong) {
  LitheWorkspaceShape shape{1, 8, 8, 1, 8, 8};
  LitheWorkspace *ws = lithe_workspace_new(&shape, 1);
  ASSERT_NE(ws, nullptr);
  const int64_t misses = lithe_workspace_misses();
  lithe_workspace_bind(ws);
  const int64_t heads = 4, hd = 64, S = 40, cap = 64, E = heads * hd;
  Vec k = rnd(S * E, 1), v = rnd(S * E, 2), q = rnd(S * E, 3);
  Vec kc(heads * cap * hd), vc(kc.size()), a(S * E), b(S * E);
  lithe_kv_append(kc.data(), vc.data(), heads, hd, cap, 0, k.data(), v.data(), S);
  lithe_attention(q.data(), S, kc.data(), vc.data(), heads, hd, cap, 0, 0.125f, 1, a.data());
  lithe_workspace_bind(nullptr);
  EXPECT_GT(lithe_workspace_misses(), misses);
  lithe_attention(q.data(), S, kc.data(), vc.data(), heads, hd, cap, 0, 0.125f, 1, b.data());
  EXPECT_EQ(a, b);
  lithe_workspace_free(ws);
}

// Prefill then token-by-token decode must agree with one big prefill.
TEST_P(Kernels, AttentionPrefillMatchesDecode) {
  const int64_t heads = 3, hd = 64, S = 40, cap = 64, E = heads * hd;
  Vec k = rnd(S * E, 1), v = rnd(S * E, 2), q = rnd(S * E, 3, -2.f, 2.f);
  Vec kc(heads * cap * hd), vc(kc.size());
  lithe_kv_append(kc.data(), vc.data(), heads, hd, cap, 0, k.data(), v.data(), S);
  Vec full(S * E), step(S * E);
  lithe_attention(q.data(), S, kc.data(), vc.data(), heads, hd, cap, 0, 0.125f, 1, full.data());
  for (int64_t s = 0; s < S; ++s)
    lithe_attention(q.data() + s * E, 1, kc.data(), vc.data(), heads, hd, cap, s, 0.125f, 1,
                    step.data() + s * E);
  for (int64_t i = 0; i < S * E; ++i)
    ASSERT_NEAR(full[i], step[i], 1e-5) << i;
}

// Batched decode: rows of different sequences, each on its own caches and
// position, give what one decode step per sequence gives (the same code).
TEST_P(Kernels, AttentionRowsMatchPerSequence) {
  const int64_t heads = 3, hd = 16, cap = 40, caches = 2, E = heads * hd, B = 4;
  const int64_t pasts[B] = {0, 5, 17, 39};
  std::vector<Vec> kc(B * caches, Vec(heads * cap * hd)), vc(kc);
  std::vector<float *> kt, vt;
  for (int64_t i = 0; i < B * caches; ++i) {
    Vec hist = rnd(heads * cap * hd, 50 + uint32_t(i));
    kc[i] = hist;
    vc[i] = rnd(heads * cap * hd, 90 + uint32_t(i));
    kt.push_back(kc[i].data());
    vt.push_back(vc[i].data());
  }
  std::vector<Vec> kc1(kc), vc1(vc);
  Vec k = rnd(B * E, 7), v = rnd(B * E, 8), q = rnd(B * E, 9, -2.f, 2.f);
  ASSERT_EQ(0, lithe_kv_append_rows(kt.data(), vt.data(), 1, caches, heads, hd, cap, pasts, k.data(),
                                    v.data(), B));
  Vec out(B * E), ref(B * E);
  lithe_attention_rows(q.data(), B, kt.data(), vt.data(), 1, caches, heads, hd, cap, pasts, 0.25f,
                       out.data());
  for (int64_t b = 0; b < B; ++b) {
    float *K = kc1[b * caches + 1].data(), *V = vc1[b * caches + 1].data();
    ASSERT_EQ(0, lithe_kv_append(K, V, heads, hd, cap, pasts[b], k.data() + b * E, v.data() + b * E, 1));
    lithe_attention(q.data() + b * E, 1, K, V, heads, hd, cap, pasts[b], 0.25f, 1, ref.data() + b * E);
    EXPECT_EQ(kc[b * caches + 1], kc1[b * caches + 1]);
  }
  EXPECT_EQ(out, ref);
  // A full cache is reported (pasts[3] + 1 > cap - 0 is fine; 40 is not).
  const int64_t full[B] = {0, 0, 0, cap};
  EXPECT_EQ(-1, lithe_kv_append_rows(kt.data(), vt.data(), 0, caches, heads, hd, cap, full, k.data(),
                                     v.data(), B));
}

// The same over f16 caches.
TEST_P(Kernels, AttentionRowsF16MatchPerSequence) {
  const int64_t heads = 2, hd = 24, cap = 33, caches = 2, E = heads * hd, B = 3;
  const int64_t pasts[B] = {0, 9, 32};
  std::vector<std::vector<uint16_t>> kc(B * caches), vc(B * caches);
  std::vector<uint16_t *> kt, vt;
  for (int64_t i = 0; i < B * caches; ++i) {
    Vec hk = rnd(heads * cap * hd, 150 + uint32_t(i)), hv = rnd(heads * cap * hd, 190 + uint32_t(i));
    kc[i].resize(hk.size());
    vc[i].resize(hv.size());
    lithe_to_f16(hk.data(), int64_t(hk.size()), kc[i].data());
    lithe_to_f16(hv.data(), int64_t(hv.size()), vc[i].data());
    kt.push_back(kc[i].data());
    vt.push_back(vc[i].data());
  }
  auto kc1 = kc, vc1 = vc;
  Vec k = rnd(B * E, 17), v = rnd(B * E, 18), q = rnd(B * E, 19, -2.f, 2.f);
  ASSERT_EQ(0, lithe_kv_append_rows_f16(kt.data(), vt.data(), 1, caches, heads, hd, cap, pasts, k.data(),
                                        v.data(), B));
  Vec out(B * E), ref(B * E);
  lithe_attention_rows_f16(q.data(), B, kt.data(), vt.data(), 1, caches, heads, hd, cap, pasts, 0.25f,
                           out.data());
  for (int64_t b = 0; b < B; ++b) {
    uint16_t *K = kc1[b * caches + 1].data(), *V = vc1[b * caches + 1].data();
    ASSERT_EQ(0, lithe_kv_append_f16(K, V, heads, hd, cap, pasts[b], k.data() + b * E, v.data() + b * E, 1));
    lithe_attention_f16(q.data() + b * E, 1, K, V, heads, hd, cap, pasts[b], 0.25f, 1, ref.data() + b * E);
    EXPECT_EQ(kc[b * caches + 1], kc1[b * caches + 1]);
    EXPECT_EQ(vc[b * caches + 1], vc1[b * caches + 1]);
  }
  EXPECT_EQ(out, ref);
  const int64_t full[B] = {0, 0, cap};
  EXPECT_EQ(-1, lithe_kv_append_rows_f16(kt.data(), vt.data(), 0, caches, heads, hd, cap, full, k.data(),
                                         v.data(), B));
}

TEST(KernelsAttention, KvAppendBounds) {
  Vec kc(2 * 4 * 3, 0.f), vc(kc.size(), 0.f), k(2 * 3 * 2, 1.f), v(k.size(), 2.f);
  EXPECT_EQ(-1, lithe_kv_append(kc.data(), vc.data(), 2, 3, 4, 3, k.data(), v.data(), 2));
  for (float x : kc)
    EXPECT_EQ(x, 0.f);
  EXPECT_EQ(0, lithe_kv_append(kc.data(), vc.data(), 2, 3, 4, 2, k.data(), v.data(), 2));
  // head 1, position 3
  EXPECT_EQ(kc[(1 * 4 + 3) * 3], 1.f);
  EXPECT_EQ(vc[(1 * 4 + 3) * 3], 2.f);
  EXPECT_EQ(kc[(1 * 4 + 1) * 3], 0.f);
}

// ------------------------------------------------------- threads and ISA

// Results must not depend on the number of threads (each output element is
// computed by one thread with a fixed summation order).
TEST(KernelsThreads, DeterministicAcrossThreadCounts) {
  const int64_t M = 45, K = 300, N = 200;
  Vec W = rnd(K * N, 11), x = rnd(M * K, 12), b = rnd(N, 13);
  Aligned packed(lithe_pack_linear_size(K, N));
  lithe_pack_linear(W.data(), K, N, packed.p);
  const int64_t heads = 4, hd = 64, S = 30, cap = 32, E = heads * hd;
  Vec kc = rnd(heads * cap * hd, 14), vc = rnd(heads * cap * hd, 15), q = rnd(S * E, 16);
  std::vector<Vec> outs;
  const int n0 = lithe_threads_count();
  for (int n : {1, 2, 3, 5}) {
    ASSERT_EQ(lithe_threads_init(n), n);
    ASSERT_EQ(lithe_threads_count(), n);
    Vec y(M * N), y1(N), att(S * E);
    lithe_linear(x.data(), M, K, packed.p, N, b.data(), y.data(), LITHE_EPI_GELU_TANH);
    lithe_linear(x.data(), 1, K, packed.p, N, b.data(), y1.data(), 0);
    lithe_attention(q.data(), S, kc.data(), vc.data(), heads, hd, cap, 2, 0.125f, 1, att.data());
    y.insert(y.end(), y1.begin(), y1.end());
    y.insert(y.end(), att.begin(), att.end());
    outs.push_back(y);
  }
  for (size_t i = 1; i < outs.size(); ++i)
    EXPECT_EQ(0, std::memcmp(outs[0].data(), outs[i].data(), outs[0].size() * 4)) << i;
  lithe_threads_init(n0);
}

// Many tiny back-to-back dispatches (the decode pattern) stay correct.
TEST(KernelsThreads, ManyDispatches) {
  lithe_threads_init(2);
  const int64_t K = 256, N = 512;
  Vec W = rnd(K * N, 21), x = rnd(K, 22);
  Aligned packed(lithe_pack_linear_size(K, N));
  lithe_pack_linear(W.data(), K, N, packed.p);
  Vec ref(N), y(N);
  lithe_linear(x.data(), 1, K, packed.p, N, nullptr, ref.data(), 0);
  for (int it = 0; it < 3000; ++it) {
    lithe_linear(x.data(), 1, K, packed.p, N, nullptr, y.data(), 0);
    ASSERT_EQ(0, std::memcmp(y.data(), ref.data(), N * 4)) << it;
  }
  lithe_threads_init(0);
}

TEST(KernelsQ8Mode, SetAndGet) {
  const int m0 = lithe_kernels_q8_compute();
  EXPECT_EQ(lithe_kernels_set_q8_compute(LITHE_Q8_INT), m0);
  EXPECT_EQ(lithe_kernels_q8_compute(), LITHE_Q8_INT);
  EXPECT_EQ(lithe_kernels_set_q8_compute(7), -1);
  EXPECT_EQ(lithe_kernels_q8_compute(), LITHE_Q8_INT);
  EXPECT_EQ(lithe_kernels_set_q8_compute(m0), LITHE_Q8_INT);
}

// The default (AUTO) mode: integer for M >= 2, so a prompt's int8 linear
// differs from weight-only by activation rounding only (a few 1e-3 relative
// on random data), and the thread count does not change a bit of it.
TEST(KernelsQ8Mode, AutoUsesIntegerForPrompts) {
  const int64_t M = 45, K = 300, N = 200;
  Vec W = rnd(K * N, 41), x = rnd(M * K, 42);
  std::vector<int8_t> Wq(K * N);
  Vec sc(N);
  lithe_quantize_q8(W.data(), K, N, Wq.data(), sc.data());
  Aligned packed(lithe_pack_linear_q8_size(K, N));
  lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, packed.p);
  auto run = [&](int mode) {
    Q8Mode m(mode);
    Vec y(M * N);
    lithe_linear_q8(x.data(), M, K, packed.p, N, nullptr, y.data(), 0);
    return y;
  };
  const Vec a = run(LITHE_Q8_AUTO), i = run(LITHE_Q8_INT), f = run(LITHE_Q8_FLOAT);
  EXPECT_EQ(0, std::memcmp(a.data(), i.data(), a.size() * 4));
  double err = 0, mag = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    err += std::fabs(double(a[j]) - f[j]);
    mag += std::fabs(double(f[j]));
  }
  EXPECT_GT(err, 0.0);
  EXPECT_LT(err / mag, 0.01);
  const int n0 = lithe_threads_count();
  for (int n : {1, 3}) {
    lithe_threads_init(n);
    const Vec b = run(LITHE_Q8_INT);
    EXPECT_EQ(0, std::memcmp(b.data(), i.data(), b.size() * 4)) << n;
  }
  lithe_threads_init(n0);
}

TEST(KernelsIsa, ForceIsa) {
  const int best = lithe_kernels_best_isa();
  EXPECT_EQ(lithe_kernels_force_isa(LITHE_ISA_SCALAR), 0);
  EXPECT_EQ(lithe_kernels_isa(), LITHE_ISA_SCALAR);
  EXPECT_EQ(lithe_kernels_force_isa(7), -1);
  EXPECT_EQ(lithe_kernels_isa(), LITHE_ISA_SCALAR);
  EXPECT_EQ(lithe_kernels_force_isa(LITHE_ISA_AUTO), 0);
  EXPECT_EQ(lithe_kernels_isa(), best);
  EXPECT_STREQ(lithe_kernels_isa_name(LITHE_ISA_AVX512), "avx512");
}

} // namespace
