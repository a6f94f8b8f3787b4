//===- CudaKernelsTest.cpp - CUDA kernels against the CPU formulas --------===//
//
// Runs on machines with a GPU; elsewhere every test reports SKIPPED.
// Each kernel of cuda_kernels.h against a plain double-precision CPU loop on
// the same fp16-rounded inputs, at GPT-2 small's shapes and at odd ones (K not
// a multiple of 8 takes the GEMV's scalar path; lengths straddle the attention
// chunk and tile sizes). Tolerances: both sides see identical fp16 values, so
// what is left is fp32 accumulation order (bounded per output by
// K * 2^-23 * sum |terms|, see accumulationBound), fast-math exp/tanh (a few
// ulp) and, where the kernel writes fp16, the output rounding (2^-11 relative).
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_kernels.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <vector>

namespace {

bool haveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// A device copy of a host vector (or n elements, filled with 0xff bytes so
// that anything a kernel fails to write reads back as NaN / -1); freed at
// scope exit.
template <typename T> struct Device {
  T *p = nullptr;
  explicit Device(const std::vector<T> &h) {
    cudaMalloc(&p, h.size() * sizeof(T));
    cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  explicit Device(size_t n) {
    cudaMalloc(&p, n * sizeof(T));
    cudaMemset(p, 0xff, n * sizeof(T));
  }
  std::vector<T> get(size_t n) const {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }
  ~Device() { cudaFree(p); }
};

std::vector<float> randomVector(size_t n, unsigned seed, float stddev = 2.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> v(n);
  for (float &x : v) x = d(rng);
  return v;
}

// fp16 as the kernels take it (uint16_t bits), and back.
std::vector<uint16_t> toHalf(const std::vector<float> &v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = __half_as_ushort(__float2half(v[i]));
  return h;
}
float fromHalf(uint16_t h) { return __half2float(__ushort_as_half(h)); }
std::vector<float> fromHalf(const std::vector<uint16_t> &h) {
  std::vector<float> v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = fromHalf(h[i]);
  return v;
}
// v rounded to fp16 and back: what a kernel reading fp16 sees.
std::vector<float> roundedToHalf(const std::vector<float> &v) { return fromHalf(toHalf(v)); }

// How far an fp32 sum of n terms may drift from the exact sum: each of the n
// additions rounds by at most 2^-24 of a partial sum, itself at most sum |terms|.
double accumulationBound(int64_t n, double sumAbs) { return n * std::ldexp(sumAbs, -23) + 1e-6; }

double geluTanh(double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }

TEST(CudaKernels, GeluBothForms) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> x = randomVector(10007, 1);
  Device dx(x), dy(x);
  for (int form : {0, 1}) {
    ASSERT_EQ(lithe_cuda_gelu(dx.p, x.size(), dy.p, form, nullptr), 0);
    std::vector<float> y = dy.get(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i];
      double want = form ? geluTanh(v) : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      ASSERT_NEAR(y[i], want, 1e-5 + 1e-5 * std::fabs(want)) << "form " << form << " at " << i;
    }
  }
}

TEST(CudaKernels, LayerNormRows) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t M = 7, D = 768;
  std::vector<float> x = randomVector(M * D, 2), g = randomVector(D, 3), b = randomVector(D, 4);
  Device dx(x), dg(g), db(b), dy(x);
  ASSERT_EQ(lithe_cuda_layer_norm(dx.p, M, D, dg.p, db.p, 1e-5f, dy.p, nullptr), 0);
  std::vector<float> y = dy.get(x.size());
  for (int64_t m = 0; m < M; ++m) {
    double mean = 0, var = 0;
    for (int64_t d = 0; d < D; ++d) mean += x[m * D + d];
    mean /= D;
    for (int64_t d = 0; d < D; ++d) var += (x[m * D + d] - mean) * (x[m * D + d] - mean);
    double r = 1 / std::sqrt(var / D + 1e-5);
    for (int64_t d = 0; d < D; ++d)
      ASSERT_NEAR(y[m * D + d], (x[m * D + d] - mean) * r * g[d] + b[d], 1e-4) << m << "," << d;
  }
}

TEST(CudaKernels, Add) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> a = randomVector(4099, 5), b = randomVector(4099, 6);
  Device da(a), db(b), dy(a);
  ASSERT_EQ(lithe_cuda_add(da.p, db.p, a.size(), dy.p, nullptr), 0);
  std::vector<float> y = dy.get(a.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(y[i], a[i] + b[i]);
}

// The elementwise kernels lithe-lower-cuda's ops add (cuda_ops.h): lithe_k.affine_rows /
// add_rows, center, and the fp16 conversion of a GEMM's input.
TEST(CudaKernels, AffineRows) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t M = 5, D = 771;
  std::vector<float> x = randomVector(M * D, 11), g = randomVector(D, 12), b = randomVector(D, 13);
  for (int which = 0; which < 3; ++which) { // scale and bias, bias only, scale only
    Device<float> dx(x), dg(g), db(b);
    ASSERT_EQ(lithe_cuda_affine_rows(dx.p, M, D, which == 1 ? nullptr : dg.p, which == 2 ? nullptr : db.p, nullptr), 0);
    std::vector<float> y = dx.get(x.size());
    for (int64_t i = 0; i < M * D; ++i) {
      float want = x[i] * (which == 1 ? 1.0f : g[i % D]) + (which == 2 ? 0.0f : b[i % D]);
      ASSERT_NEAR(y[i], want, 1e-5f * (1 + std::fabs(want))) << which << " at " << i;
    }
  }
}

TEST(CudaKernels, CenterRows) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t M = 6, D = 768;
  std::vector<float> x = randomVector(M * D, 14);
  for (float &v : x) v += 3.0f; // a mean far from 0
  Device<float> dx(x), dy(M * D);
  ASSERT_EQ(lithe_cuda_center(dx.p, M, D, dy.p, nullptr), 0);
  std::vector<float> y = dy.get(x.size());
  for (int64_t m = 0; m < M; ++m) {
    double mean = 0;
    for (int64_t d = 0; d < D; ++d) mean += x[m * D + d];
    mean /= D;
    for (int64_t d = 0; d < D; ++d) ASSERT_NEAR(y[m * D + d], x[m * D + d] - mean, 1e-5) << m << "," << d;
  }
}

TEST(CudaKernels, ToF16RoundsToNearestEven) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> x = randomVector(4097, 15);
  x.push_back(65520.0f); // past the largest half: inf, as __float2half_rn
  x.push_back(1.0f + 1.0f / 4096); // halfway between two halves: to the even one (1.0)
  Device<float> dx(x);
  Device<uint16_t> dy(x.size());
  ASSERT_EQ(lithe_cuda_to_f16(dx.p, static_cast<int64_t>(x.size()), dy.p, nullptr), 0);
  std::vector<uint16_t> y = dy.get(x.size()), want = toHalf(x);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], want[i]) << "at " << i << " (" << x[i] << ")";
  EXPECT_EQ(y[x.size() - 1], 0x3c00);
}

// --- GEMV (gemv.cu) ----------------------------------------------------------

struct GemvCase {
  int64_t M, N, K;
  int xType;
  bool bias;
  int epilogue;
  int accumulate;
};

// y = (accumulate ? y0 : 0) + act(scale[n] * x . W[n] + bias), in double, with
// the bound on the kernel's fp32 accumulation error for each output.
void gemvReference(const GemvCase &c, const std::vector<float> &W, const std::vector<float> *scale,
                   const std::vector<float> &x, const std::vector<float> &bias, const std::vector<float> &y0,
                   std::vector<double> &want, std::vector<double> &tol) {
  want.assign(c.M * c.N, 0);
  tol.assign(c.M * c.N, 0);
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      double dot = 0, sumAbs = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        dot += double(W[n * c.K + k]) * x[m * c.K + k];
        sumAbs += std::fabs(double(W[n * c.K + k]) * x[m * c.K + k]);
      }
      const double s = scale ? (*scale)[n] : 1.0;
      double v = dot * s + (c.bias ? bias[n] : 0.0);
      double t = accumulationBound(c.K, sumAbs) * std::fabs(s);
      if (c.epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH) {
        v = geluTanh(v);
        t = 1.2 * t + 1e-6 * std::fabs(v) + 1e-6; // GELU's slope is below 1.13; tanhf adds a few ulp
      }
      if (c.accumulate) v += y0[m * c.N + n], t += 1e-7 * std::fabs(v);
      want[m * c.N + n] = v;
      tol[m * c.N + n] = t;
    }
}

const GemvCase kGemvCases[] = {
    // GPT-2 small's four linear layers, at decode (M = 1) and small batches
    {1, 2304, 768, LITHE_CUDA_F32, true, LITHE_CUDA_EPILOGUE_NONE, 0},      // attn.qkv
    {1, 768, 768, LITHE_CUDA_F16, true, LITHE_CUDA_EPILOGUE_NONE, 1},       // attn.proj + residual
    {3, 3072, 768, LITHE_CUDA_F32, true, LITHE_CUDA_EPILOGUE_GELU_TANH, 0}, // mlp.fc + GELU
    {8, 768, 3072, LITHE_CUDA_F16, true, LITHE_CUDA_EPILOGUE_NONE, 1},      // mlp.proj + residual
    // odd shapes: K % 8 != 0 (scalar path), K = 72 (fp16: vector with K/8 < 32 lanes; int8:
    // K % 16 != 0, scalar), N not a multiple of 8 warps
    {5, 37, 100, LITHE_CUDA_F32, false, LITHE_CUDA_EPILOGUE_GELU_TANH, 1},
    {2, 129, 72, LITHE_CUDA_F16, true, LITHE_CUDA_EPILOGUE_NONE, 0},
    {7, 1, 13, LITHE_CUDA_F32, true, LITHE_CUDA_EPILOGUE_NONE, 0},
};

// bf16 as the kernels take it (uint16_t bits), round to nearest even, and back.
std::vector<uint16_t> toBf16(const std::vector<float> &v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = __bfloat16_as_ushort(__float2bfloat16_rn(v[i]));
  return h;
}
std::vector<float> roundedToBf16(const std::vector<float> &v) {
  std::vector<uint16_t> h = toBf16(v);
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = __bfloat162float(__ushort_as_bfloat16(h[i]));
  return r;
}

enum class GemvWeights { F16, Q8, BF16, F32 };

// Runs every case with fp16 weights, int8 weights with a per-row scale, or
// (through lithe_cuda_gemv) bf16 or fp32 weights.
void checkGemv(GemvWeights kind) {
  const bool quantized = kind == GemvWeights::Q8;
  unsigned seed = 10 + 90 * static_cast<unsigned>(kind);
  for (const GemvCase &c : kGemvCases) {
    SCOPED_TRACE(testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " xType=" << c.xType
                                    << " epilogue=" << c.epilogue << " accumulate=" << c.accumulate);
    std::vector<float> x = randomVector(c.M * c.K, seed++, 1.0f), bias = randomVector(c.N, seed++, 0.5f),
                       y0 = randomVector(c.M * c.N, seed++);
    if (c.xType == LITHE_CUDA_F16) x = roundedToHalf(x);
    Device<float> dx(x), dbias(bias), dy(y0);
    Device<uint16_t> dxh(toHalf(x));
    const void *xArg = c.xType == LITHE_CUDA_F16 ? static_cast<const void *>(dxh.p) : dx.p;
    std::vector<float> W, scale;
    std::vector<double> want, tol;
    if (quantized) {
      std::mt19937 rng(seed++);
      std::uniform_int_distribution<int> q(-127, 127);
      std::vector<int8_t> Wq(c.N * c.K);
      for (int8_t &w : Wq) w = static_cast<int8_t>(q(rng));
      W.assign(Wq.begin(), Wq.end());
      scale = randomVector(c.N, seed++, 0.01f);
      Device<int8_t> dW(Wq);
      Device<float> dscale(scale);
      ASSERT_EQ(lithe_cuda_gemv_q8(dW.p, dscale.p, xArg, c.xType, c.M, c.N, c.K, c.bias ? dbias.p : nullptr,
                                   c.epilogue, c.accumulate, dy.p, nullptr),
                0);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      gemvReference(c, W, &scale, x, bias, y0, want, tol);
    } else if (kind == GemvWeights::F16) {
      W = roundedToHalf(randomVector(c.N * c.K, seed++, 1.0f / std::sqrt(float(c.K))));
      Device<uint16_t> dW(toHalf(W));
      ASSERT_EQ(lithe_cuda_gemv_f16(dW.p, xArg, c.xType, c.M, c.N, c.K, c.bias ? dbias.p : nullptr, c.epilogue,
                                    c.accumulate, dy.p, nullptr),
                0);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      gemvReference(c, W, nullptr, x, bias, y0, want, tol);
    } else {
      W = randomVector(c.N * c.K, seed++, 1.0f / std::sqrt(float(c.K)));
      if (kind == GemvWeights::BF16) W = roundedToBf16(W);
      Device<uint16_t> dWb(toBf16(W));
      Device<float> dWf(W);
      const void *w = kind == GemvWeights::BF16 ? static_cast<const void *>(dWb.p) : dWf.p;
      ASSERT_EQ(lithe_cuda_gemv(w, kind == GemvWeights::BF16 ? LITHE_CUDA_BF16 : LITHE_CUDA_F32, xArg, c.xType, c.M,
                                c.N, c.K, c.bias ? dbias.p : nullptr, c.epilogue, c.accumulate, dy.p, nullptr),
                0);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      gemvReference(c, W, nullptr, x, bias, y0, want, tol);
    }
    std::vector<float> y = dy.get(c.M * c.N);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], tol[i]) << "at " << i;
  }
}

TEST(CudaKernels, GemvF16) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  checkGemv(GemvWeights::F16);
}

TEST(CudaKernels, GemvQ8) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  checkGemv(GemvWeights::Q8);
}

// --precision=bf16 / fp32 on the CUDA target (fp32 rows: two 16-byte loads of 8 values).
TEST(CudaKernels, GemvBf16) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  checkGemv(GemvWeights::BF16);
}

TEST(CudaKernels, GemvF32) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  checkGemv(GemvWeights::F32);
}

// lithe_k.linear_split: Q, K and V in one pass, each to its own buffer; the
// same sums as one GEMV over the stacked rows (fp16 and int8 weights).
TEST(CudaKernels, GemvSplitOutputs) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t M = 3, K = 768, n[3] = {768, 256, 256}, N = 1280;
  const GemvCase c{M, N, K, LITHE_CUDA_F32, true, LITHE_CUDA_EPILOGUE_NONE, 0};
  std::vector<float> x = randomVector(M * K, 900, 1.0f), bias = randomVector(N, 901, 0.5f), y0(M * N, 0.0f);
  Device<float> dx(x), dbias(bias), d0(M * n[0]), d1(M * n[1]), d2(M * n[2]);
  for (bool q8 : {false, true}) {
    SCOPED_TRACE(q8 ? "int8" : "fp16");
    std::vector<float> W, scale = randomVector(N, 903, 0.01f);
    std::vector<double> want, tol;
    std::mt19937 rng(902);
    std::uniform_int_distribution<int> q(-127, 127);
    std::vector<int8_t> Wq(N * K);
    for (int8_t &v : Wq) v = static_cast<int8_t>(q(rng));
    if (q8) W.assign(Wq.begin(), Wq.end());
    else W = roundedToHalf(randomVector(N * K, 904, 1.0f / std::sqrt(float(K))));
    Device<uint16_t> dWh(toHalf(W));
    Device<int8_t> dWq(Wq);
    Device<float> dscale(scale);
    const void *w = q8 ? static_cast<const void *>(dWq.p) : dWh.p;
    ASSERT_EQ(lithe_cuda_gemv_split(w, q8 ? LITHE_CUDA_I8 : LITHE_CUDA_F16, q8 ? dscale.p : nullptr, dx.p,
                                    LITHE_CUDA_F32, M, K, dbias.p, d0.p, n[0], d1.p, n[1], d2.p, n[2], nullptr),
              0);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    gemvReference(c, W, q8 ? &scale : nullptr, x, bias, y0, want, tol);
    const Device<float> *outs[3] = {&d0, &d1, &d2};
    for (int p = 0, first = 0; p < 3; first += static_cast<int>(n[p]), ++p) {
      std::vector<float> y = outs[p]->get(M * n[p]);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t j = 0; j < n[p]; ++j)
          ASSERT_NEAR(y[m * n[p] + j], want[m * N + first + j], tol[m * N + first + j]) << "part " << p;
    }
  }
}

TEST(CudaKernels, GemvRejectsUnknownWeightType) {
  EXPECT_EQ(lithe_cuda_gemv(nullptr, 7, nullptr, LITHE_CUDA_F32, 1, 8, 8, nullptr, 0, 0, nullptr, nullptr),
            int(cudaErrorInvalidValue));
}

// Argument checks come before any CUDA call: this one runs without a GPU too.
TEST(CudaKernels, GemvRejectsBadShapes) {
  EXPECT_EQ(lithe_cuda_gemv_f16(nullptr, nullptr, LITHE_CUDA_F32, LITHE_CUDA_GEMV_MAX_M + 1, 8, 8, nullptr, 0, 0,
                                nullptr, nullptr),
            int(cudaErrorInvalidValue));
  EXPECT_EQ(lithe_cuda_gemv_f16(nullptr, nullptr, LITHE_CUDA_F32, 0, 8, 8, nullptr, 0, 0, nullptr, nullptr),
            int(cudaErrorInvalidValue));
}

// --- GEMM through cuBLASLt (gemm.cu) ------------------------------------------

TEST(CudaKernels, GemmF16CublasLt) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  LitheCudaGemm *gemm = lithe_cuda_gemm_create(32u << 20);
  ASSERT_NE(gemm, nullptr);
  struct Case {
    int64_t M, N, K;
    int yType, epilogue, accumulate;
    bool bias;
  };
  const Case cases[] = {
      {128, 2304, 768, LITHE_CUDA_F32, LITHE_CUDA_EPILOGUE_NONE, 0, true},      // attn.qkv, prefill
      {64, 3072, 768, LITHE_CUDA_F16, LITHE_CUDA_EPILOGUE_GELU_TANH, 0, true},  // mlp.fc + GELU, fp16 out
      {64, 768, 3072, LITHE_CUDA_F32, LITHE_CUDA_EPILOGUE_NONE, 1, false},      // mlp.proj into the residual
      {37, 104, 72, LITHE_CUDA_F32, LITHE_CUDA_EPILOGUE_GELU_TANH, 0, false},   // odd M, GELU without bias
      {128, 2304, 768, LITHE_CUDA_F32, LITHE_CUDA_EPILOGUE_NONE, 0, true},      // the first shape again: its
                                                                                // cached plan, new data and bias
  };
  unsigned seed = 200;
  for (const Case &c : cases) {
    SCOPED_TRACE(testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " yType=" << c.yType
                                    << " epilogue=" << c.epilogue << " accumulate=" << c.accumulate);
    std::vector<float> x = roundedToHalf(randomVector(c.M * c.K, seed++, 1.0f)),
                       W = roundedToHalf(randomVector(c.N * c.K, seed++, 1.0f / std::sqrt(float(c.K)))),
                       bias = randomVector(c.N, seed++, 0.5f), y0 = randomVector(c.M * c.N, seed++);
    const bool f16 = c.yType == LITHE_CUDA_F16;
    if (f16) bias = roundedToHalf(bias); // the bias has y's type
    Device<uint16_t> dx(toHalf(x)), dW(toHalf(W)), dbiasH(toHalf(bias)), dyH(c.M * c.N);
    Device<float> dbias(bias), dy(y0);
    const void *biasArg = !c.bias ? nullptr : f16 ? static_cast<const void *>(dbiasH.p) : dbias.p;
    void *yArg = f16 ? static_cast<void *>(dyH.p) : dy.p;
    ASSERT_EQ(lithe_cuda_gemm_f16(gemm, dx.p, dW.p, c.M, c.N, c.K, biasArg, c.epilogue, c.accumulate, yArg, c.yType,
                                  nullptr),
              0);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<float> y = f16 ? fromHalf(dyH.get(c.M * c.N)) : dy.get(c.M * c.N);
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) {
        double dot = 0, sumAbs = 0;
        for (int64_t k = 0; k < c.K; ++k) {
          dot += double(x[m * c.K + k]) * W[n * c.K + k];
          sumAbs += std::fabs(double(x[m * c.K + k]) * W[n * c.K + k]);
        }
        double v = dot + (c.bias ? bias[n] : 0.0), tol = accumulationBound(c.K, sumAbs);
        // cuBLASLt's GELU epilogue is documented as the tanh form; its device
        // tanh is an approximation, so allow 1e-4 absolute on top
        if (c.epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH) v = geluTanh(v), tol = 1.2 * tol + 1e-4;
        if (c.accumulate) v += y0[m * c.N + n];
        // fp16 output rounding, twice when the epilogue runs as a separate pass
        if (f16) tol += std::ldexp(std::fabs(v), -10);
        ASSERT_NEAR(y[m * c.N + n], v, tol) << "at " << m << "," << n;
      }
  }
  // not a failure either way, but the prefill speed assumes fused epilogues: say which it was
  const int64_t separate = lithe_cuda_gemm_separate_epilogues(gemm);
  std::printf("bias/GELU ran as a separate pass (cuBLASLt did not fuse it) in %lld of %zu calls\n",
              static_cast<long long>(separate), std::size(cases));
  // accumulate only with an fp32 y and no GELU (cuBLASLt would apply GELU after the add)
  EXPECT_EQ(lithe_cuda_gemm_f16(gemm, nullptr, nullptr, 4, 4, 4, nullptr, LITHE_CUDA_EPILOGUE_GELU_TANH, 1, nullptr,
                                LITHE_CUDA_F32, nullptr),
            int(cudaErrorInvalidValue));
  lithe_cuda_gemm_destroy(gemm);
}

// --- embedding (embedding.cu) -------------------------------------------------

TEST(CudaKernels, EmbeddingF16) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  for (int64_t D : {768, 100}) {
    const int64_t V = 1000, P = 1024, M = 7, past = 5;
    std::vector<float> wte = roundedToHalf(randomVector(V * D, 300)), wpe = roundedToHalf(randomVector(P * D, 301));
    std::vector<int64_t> tokens = {0, 999, 50, 50, 7, 998, 1};
    Device<uint16_t> dwte(toHalf(wte)), dwpe(toHalf(wpe));
    Device<int64_t> dtok(tokens), dpast(std::vector<int64_t>{past});
    Device<float> dy(M * D);
    ASSERT_EQ(lithe_cuda_embedding_f16(dtok.p, M, dpast.p, dwte.p, dwpe.p, D, dy.p, nullptr), 0);
    std::vector<float> y = dy.get(M * D);
    // one fp32 addition of the same two values on both sides: exact
    for (int64_t m = 0; m < M; ++m)
      for (int64_t d = 0; d < D; ++d)
        ASSERT_EQ(y[m * D + d], wte[tokens[m] * D + d] + wpe[(past + m) * D + d]) << "D=" << D << " at " << m << "," << d;
  }
}

// The bf16 and fp32 tables of --precision=bf16 / fp32: the same exact sums.
TEST(CudaKernels, EmbeddingBf16AndF32) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t V = 500, P = 64, D = 96, M = 3, past = 9;
  std::vector<int64_t> tokens = {499, 0, 17};
  Device<int64_t> dtok(tokens), dpast(std::vector<int64_t>{past});
  for (int type : {LITHE_CUDA_BF16, LITHE_CUDA_F32}) {
    std::vector<float> wte = randomVector(V * D, 310), wpe = randomVector(P * D, 311);
    if (type == LITHE_CUDA_BF16) wte = roundedToBf16(wte), wpe = roundedToBf16(wpe);
    Device<uint16_t> bte(toBf16(wte)), bpe(toBf16(wpe));
    Device<float> fte(wte), fpe(wpe), dy(M * D);
    const bool bf = type == LITHE_CUDA_BF16;
    ASSERT_EQ(lithe_cuda_embedding(dtok.p, M, dpast.p, bf ? static_cast<void *>(bte.p) : fte.p,
                                   bf ? static_cast<void *>(bpe.p) : fpe.p, type, D, dy.p, nullptr),
              0);
    std::vector<float> y = dy.get(M * D);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t d = 0; d < D; ++d)
        ASSERT_EQ(y[m * D + d], wte[tokens[m] * D + d] + wpe[(past + m) * D + d]) << type << " at " << m << "," << d;
  }
}

// --- residual add + LayerNorm (layer_norm.cu) ---------------------------------

TEST(CudaKernels, ResidualLayerNorm) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  for (int64_t D : {768, 1600, 37})
    for (int yType : {LITHE_CUDA_F32, LITHE_CUDA_F16}) {
      SCOPED_TRACE(testing::Message() << "D=" << D << " yType=" << yType);
      const int64_t M = 5;
      std::vector<float> r = randomVector(M * D, 400), delta = randomVector(M * D, 401), g = randomVector(D, 402),
                         b = randomVector(D, 403);
      for (float &v : r) v += 10.0f; // a mean far from 0: the variance must not cancel
      Device<float> dr(r), ddelta(delta), dg(g), db(b), dy(M * D);
      Device<uint16_t> dyH(M * D);
      void *yArg = yType == LITHE_CUDA_F16 ? static_cast<void *>(dyH.p) : dy.p;
      ASSERT_EQ(lithe_cuda_residual_layer_norm(dr.p, ddelta.p, M, D, dg.p, db.p, 1e-5f, yArg, yType, nullptr), 0);
      std::vector<float> sum = dr.get(M * D);
      std::vector<float> y = yType == LITHE_CUDA_F16 ? fromHalf(dyH.get(M * D)) : dy.get(M * D);
      for (int64_t m = 0; m < M; ++m) {
        double mean = 0, var = 0;
        for (int64_t d = 0; d < D; ++d) {
          ASSERT_EQ(sum[m * D + d], r[m * D + d] + delta[m * D + d]) << "residual at " << m << "," << d;
          mean += sum[m * D + d];
        }
        mean /= D;
        for (int64_t d = 0; d < D; ++d) var += (sum[m * D + d] - mean) * (sum[m * D + d] - mean);
        const double rstd = 1 / std::sqrt(var / D + 1e-5);
        for (int64_t d = 0; d < D; ++d) {
          const double want = (sum[m * D + d] - mean) * rstd * g[d] + b[d];
          // fp32 mean/variance over D values of ~10 and rsqrtf: ~1e-5 relative
          // on the normalized value; fp16 output adds 2^-11 relative
          const double tol = 2e-4 * (1 + std::fabs(g[d])) + (yType == LITHE_CUDA_F16 ? std::ldexp(std::fabs(want), -11) : 0);
          ASSERT_NEAR(y[m * D + d], want, tol) << m << "," << d;
        }
      }
    }
}

// --- KV cache and attention (attention.cu) -------------------------------------

// The attention of query q (hd values) over positions 0..len-1 of one head of
// a cache [H][capacity][hd], in double.
std::vector<double> attendReference(const float *q, const std::vector<float> &kc, const std::vector<float> &vc,
                                    int64_t h, int64_t capacity, int64_t hd, int64_t len, double scale) {
  std::vector<double> s(len), out(hd, 0.0);
  double mx = -INFINITY, sum = 0;
  for (int64_t j = 0; j < len; ++j) {
    double dot = 0;
    for (int64_t d = 0; d < hd; ++d) dot += double(q[d]) * kc[(h * capacity + j) * hd + d];
    s[j] = dot * scale;
    mx = std::max(mx, s[j]);
  }
  for (int64_t j = 0; j < len; ++j) sum += (s[j] = std::exp(s[j] - mx));
  for (int64_t j = 0; j < len; ++j)
    for (int64_t d = 0; d < hd; ++d) out[d] += s[j] / sum * vc[(h * capacity + j) * hd + d];
  return out;
}

// A cache filled with `len` positions of random fp16 K and V through
// lithe_cuda_kv_append_f16 (k and v interleaved in rows of ld = 3*H*hd as in
// GPT-2's qkv output), checked element for element; the host copy is what the
// kernels should see.
struct TestCache {
  int64_t H, hd, capacity;
  std::vector<float> k, v; // host mirror [H][capacity][hd], 0 where unwritten
  Device<uint16_t> dk, dv;
  Device<int64_t> dpast;
  TestCache(int64_t H, int64_t hd, int64_t capacity)
      : H(H), hd(hd), capacity(capacity), k(H * capacity * hd, 0.0f), v(H * capacity * hd, 0.0f),
        dk(std::vector<uint16_t>(H * capacity * hd, 0)), dv(std::vector<uint16_t>(H * capacity * hd, 0)),
        dpast(std::vector<int64_t>{0}) {}
  int64_t past() const { return dpast.get(1)[0]; }

  // Appends M rows of qkv (returned, fp16-rounded) at the current length;
  // does not advance it.
  std::vector<float> append(int64_t M, unsigned seed) {
    const int64_t ld = 3 * H * hd, p = past();
    std::vector<float> qkv = roundedToHalf(randomVector(M * ld, seed, 1.0f));
    Device<float> dqkv(qkv);
    EXPECT_EQ(lithe_cuda_kv_append_f16(dqkv.p + H * hd, dqkv.p + 2 * H * hd, ld, M, H, hd, dpast.p, capacity, dk.p,
                                       dv.p, nullptr),
              0);
    for (int64_t m = 0; m < M && p + m < capacity; ++m)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < hd; ++d) {
          k[(h * capacity + p + m) * hd + d] = qkv[m * ld + H * hd + h * hd + d];
          v[(h * capacity + p + m) * hd + d] = qkv[m * ld + 2 * H * hd + h * hd + d];
        }
    // whole caches compared (not printed: they are large)
    EXPECT_TRUE(fromHalf(dk.get(k.size())) == k) << "K cache after appending " << M << " at " << p;
    EXPECT_TRUE(fromHalf(dv.get(v.size())) == v) << "V cache after appending " << M << " at " << p;
    return qkv;
  }
  void advance(int64_t by) { EXPECT_EQ(lithe_cuda_advance_length(dpast.p, by, nullptr), 0); }
};

// Outputs are convex combinations of |v| ~ 1 values: fp32 scores, __expf and
// the split/combine rescaling stay well within 2e-4 absolute.
constexpr double kAttentionTol = 2e-4;

TEST(CudaKernels, KvAppendAndDecodeAttention) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    int64_t H, hd, capacity;
    std::vector<int64_t> prefix; // lengths reached by appending these many positions before each decode step
  };
  // GPT-2 small (12 heads of 64, 1024 positions) at lengths 1, 128, 129, 131
  // and 1024 (a full cache); 3 heads of 36 (hd % 8 != 0: the scalar dot) up to
  // a full odd capacity of 300; hd 128 with a last chunk of one position
  const Case cases[] = {{12, 64, 1024, {0, 126, 0, 1, 892}}, {3, 36, 300, {0, 128, 169}}, {1, 128, 129, {128}}};
  for (const Case &c : cases) {
    TestCache cache(c.H, c.hd, c.capacity);
    Device<float> dws(lithe_cuda_decode_attention_workspace_floats(c.H, c.hd, c.capacity)), dout(c.H * c.hd);
    unsigned seed = 500;
    for (int64_t grow : c.prefix) {
      if (grow) cache.append(grow, seed++), cache.advance(grow);
      const int64_t len = cache.past() + 1;
      SCOPED_TRACE(testing::Message() << "H=" << c.H << " hd=" << c.hd << " capacity=" << c.capacity << " len=" << len);
      std::vector<float> qkv = cache.append(1, seed++); // the new token's K and V
      Device<float> dq(qkv);
      const float scale = 1.0f / std::sqrt(float(c.hd));
      ASSERT_EQ(lithe_cuda_decode_attention_f16(dq.p, c.H, c.hd, cache.dpast.p, c.capacity, cache.dk.p, cache.dv.p,
                                                scale, dws.p, dout.p, nullptr),
                0);
      cache.advance(1);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      ASSERT_EQ(cache.past(), len);
      std::vector<float> out = dout.get(c.H * c.hd);
      for (int64_t h = 0; h < c.H; ++h) {
        std::vector<double> want = attendReference(&qkv[h * c.hd], cache.k, cache.v, h, c.capacity, c.hd, len, scale);
        for (int64_t d = 0; d < c.hd; ++d) ASSERT_NEAR(out[h * c.hd + d], want[d], kAttentionTol) << h << "," << d;
      }
    }
  }
}

// One captured decode step (append, attention, advance) replayed as a CUDA
// graph: the length comes from device memory, so every replay attends over
// one more position with no graph update.
TEST(CudaKernels, DecodeStepReplaysAsGraph) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t H = 12, hd = 64, capacity = 256, ld = 3 * H * hd;
  TestCache cache(H, hd, capacity);
  cache.append(100, 600);
  cache.advance(100);
  Device<float> dqkv(ld), dws(lithe_cuda_decode_attention_workspace_floats(H, hd, capacity)), dout(H * hd);
  const float scale = 0.125f;
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  lithe_cuda_kv_append_f16(dqkv.p + H * hd, dqkv.p + 2 * H * hd, ld, 1, H, hd, cache.dpast.p, capacity, cache.dk.p,
                           cache.dv.p, stream);
  lithe_cuda_decode_attention_f16(dqkv.p, H, hd, cache.dpast.p, capacity, cache.dk.p, cache.dv.p, scale, dws.p,
                                  dout.p, stream);
  lithe_cuda_advance_length(cache.dpast.p, 1, stream);
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int step = 0; step < 3; ++step) {
    const int64_t p = 100 + step;
    std::vector<float> qkv = roundedToHalf(randomVector(ld, 610 + step, 1.0f));
    cudaMemcpy(dqkv.p, qkv.data(), ld * sizeof(float), cudaMemcpyHostToDevice);
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    ASSERT_EQ(cache.past(), p + 1);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t d = 0; d < hd; ++d) {
        cache.k[(h * capacity + p) * hd + d] = qkv[H * hd + h * hd + d];
        cache.v[(h * capacity + p) * hd + d] = qkv[2 * H * hd + h * hd + d];
      }
    std::vector<float> out = dout.get(H * hd);
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> want = attendReference(&qkv[h * hd], cache.k, cache.v, h, capacity, hd, p + 1, scale);
      for (int64_t d = 0; d < hd; ++d) ASSERT_NEAR(out[h * hd + d], want[d], kAttentionTol) << step << ":" << h << "," << d;
    }
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST(CudaKernels, PrefillAttentionCausal) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    int64_t H, hd, capacity, past, M;
    int outType;
  };
  // GPT-2 small prompt (M not a multiple of the 8-row blocks or 32-key tiles),
  // the same with fp16 output, a chunk after cached positions with an odd
  // head size, one row
  const Case cases[] = {{12, 64, 256, 0, 130, LITHE_CUDA_F32},
                        {12, 64, 256, 0, 130, LITHE_CUDA_F16},
                        {3, 36, 128, 50, 45, LITHE_CUDA_F32},
                        {2, 128, 64, 31, 1, LITHE_CUDA_F32}};
  for (const Case &c : cases) {
    SCOPED_TRACE(testing::Message() << "H=" << c.H << " hd=" << c.hd << " past=" << c.past << " M=" << c.M
                                    << " outType=" << c.outType);
    TestCache cache(c.H, c.hd, c.capacity);
    if (c.past) cache.append(c.past, 700), cache.advance(c.past);
    std::vector<float> qkv = cache.append(c.M, 701);
    const size_t n = c.M * c.H * c.hd;
    const bool f16 = c.outType == LITHE_CUDA_F16;
    Device<float> dqkv(qkv), dout(n);
    Device<uint16_t> doutH(n);
    const float scale = 1.0f / std::sqrt(float(c.hd));
    ASSERT_EQ(lithe_cuda_prefill_attention_f16(dqkv.p, 3 * c.H * c.hd, c.M, c.H, c.hd, cache.dpast.p, c.capacity,
                                               cache.dk.p, cache.dv.p, scale,
                                               f16 ? static_cast<void *>(doutH.p) : dout.p, c.outType, c.H * c.hd,
                                               nullptr),
              0);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<float> out = f16 ? fromHalf(doutH.get(n)) : dout.get(n);
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t h = 0; h < c.H; ++h) {
        std::vector<double> want = attendReference(&qkv[m * 3 * c.H * c.hd + h * c.hd], cache.k, cache.v, h,
                                                   c.capacity, c.hd, c.past + m + 1, scale);
        for (int64_t d = 0; d < c.hd; ++d)
          ASSERT_NEAR(out[(m * c.H + h) * c.hd + d], want[d],
                      kAttentionTol + (f16 ? std::ldexp(std::fabs(want[d]), -11) : 0.0))
              << m << "," << h << "," << d;
      }
  }
}

// --- LM head + argmax (lm_head.cu) --------------------------------------------

TEST(CudaKernels, LmHeadArgmax) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    int64_t V, D;
    int xType;
  };
  const Case cases[] = {{50257, 768, LITHE_CUDA_F32}, {50257, 768, LITHE_CUDA_F16}, {37, 100, LITHE_CUDA_F32}};
  unsigned seed = 800;
  for (const Case &c : cases) {
    SCOPED_TRACE(testing::Message() << "V=" << c.V << " D=" << c.D << " xType=" << c.xType);
    std::vector<float> table = roundedToHalf(randomVector(c.V * c.D, seed++, 0.1f)), x = randomVector(c.D, seed++);
    if (c.xType == LITHE_CUDA_F16) x = roundedToHalf(x);
    Device<uint16_t> dtable(toHalf(table)), dxh(toHalf(x));
    Device<float> dx(x), dlogits(c.V);
    Device<uint8_t> dws(lithe_cuda_lm_head_workspace_bytes(c.V));
    Device<int64_t> dtoken(1);
    const void *xArg = c.xType == LITHE_CUDA_F16 ? static_cast<const void *>(dxh.p) : dx.p;
    ASSERT_EQ(lithe_cuda_lm_head_argmax_f16(dtable.p, xArg, c.xType, c.V, c.D, dlogits.p, dws.p, dtoken.p, nullptr), 0);
    std::vector<float> logits = dlogits.get(c.V);
    const int64_t token = dtoken.get(1)[0];
    // the id is exactly the argmax of the logits the kernel wrote (first of equals) ...
    EXPECT_EQ(token, std::max_element(logits.begin(), logits.end()) - logits.begin());
    // ... and those logits are the product within the accumulation bound
    for (int64_t v = 0; v < c.V; ++v) {
      double dot = 0, sumAbs = 0;
      for (int64_t d = 0; d < c.D; ++d) {
        dot += double(table[v * c.D + d]) * x[d];
        sumAbs += std::fabs(double(table[v * c.D + d]) * x[d]);
      }
      ASSERT_NEAR(logits[v], dot, accumulationBound(c.D, sumAbs)) << "logit " << v;
    }
  }
}

TEST(CudaKernels, LmHeadArgmaxBf16AndF32Tables) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  const int64_t V = 5003, D = 96;
  for (int type : {LITHE_CUDA_BF16, LITHE_CUDA_F32}) {
    SCOPED_TRACE(testing::Message() << "tableType=" << type);
    std::vector<float> table = randomVector(V * D, 820 + type, 0.1f), x = randomVector(D, 830 + type);
    if (type == LITHE_CUDA_BF16) table = roundedToBf16(table);
    Device<uint16_t> btable(toBf16(table));
    Device<float> ftable(table), dx(x), dlogits(V);
    Device<uint8_t> dws(lithe_cuda_lm_head_workspace_bytes(V));
    Device<int64_t> dtoken(1);
    const void *t = type == LITHE_CUDA_BF16 ? static_cast<const void *>(btable.p) : ftable.p;
    ASSERT_EQ(lithe_cuda_lm_head_argmax(t, type, dx.p, LITHE_CUDA_F32, V, D, dlogits.p, dws.p, dtoken.p, nullptr), 0);
    std::vector<float> logits = dlogits.get(V);
    EXPECT_EQ(dtoken.get(1)[0], std::max_element(logits.begin(), logits.end()) - logits.begin());
    for (int64_t v = 0; v < V; ++v) {
      double dot = 0, sumAbs = 0;
      for (int64_t d = 0; d < D; ++d) {
        dot += double(table[v * D + d]) * x[d];
        sumAbs += std::fabs(double(table[v * D + d]) * x[d]);
      }
      ASSERT_NEAR(logits[v], dot, accumulationBound(D, sumAbs)) << "logit " << v;
    }
  }
}

TEST(CudaKernels, LmHeadArgmaxTiesAndNoLogits) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  // rows 10, 4000 and 9000 are the same largest row: the lowest id wins, even
  // across blocks; logits == null skips their store
  const int64_t V = 10000, D = 64;
  std::vector<float> table = roundedToHalf(randomVector(V * D, 900, 0.1f)), x(D, 1.0f);
  for (int64_t v : {10, 4000, 9000})
    for (int64_t d = 0; d < D; ++d) table[v * D + d] = 1.0f;
  Device<uint16_t> dtable(toHalf(table));
  Device<float> dx(x);
  Device<uint8_t> dws(lithe_cuda_lm_head_workspace_bytes(V));
  Device<int64_t> dtoken(1);
  ASSERT_EQ(lithe_cuda_lm_head_argmax_f16(dtable.p, dx.p, LITHE_CUDA_F32, V, D, nullptr, dws.p, dtoken.p, nullptr), 0);
  EXPECT_EQ(dtoken.get(1)[0], 10);
}

// The draw lithe_cuda_sample should make, in double: sort by (logit desc,
// id asc), keep the first min(k, 1024, V), cumulative softmax(z / T), cut at
// topP, draw with u.
int64_t sampleReference(const std::vector<float> &logits, double temperature, int64_t topK, double topP, double u) {
  std::vector<int64_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const int64_t keep = std::min<int64_t>({topK == 0 ? 1024 : topK, 1024, int64_t(logits.size())});
  std::vector<double> cum(keep);
  double total = 0;
  for (int64_t r = 0; r < keep; ++r) cum[r] = total += std::exp((logits[order[r]] - logits[order[0]]) / temperature);
  int64_t cut = keep;
  if (topP < 1)
    for (int64_t r = 0; r < keep; ++r)
      if (cum[r] >= topP * total) {
        cut = r + 1;
        break;
      }
  const double target = u * cum[cut - 1];
  int64_t r = 0;
  while (r < cut - 1 && cum[r] <= target) ++r;
  return order[r];
}

TEST(CudaKernels, SampleTopKTopP) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    int64_t V;
    float temperature;
    int64_t topK;
    float topP;
    bool ties; // logits rounded to 0.1: many equal to the k-th largest, only the lowest ids may be kept
  };
  const Case cases[] = {{50257, 1.0f, 50, 1.0f, false},  {50257, 0.7f, 0, 0.9f, false},
                        {50257, 1.3f, 40, 0.5f, false},  {50257, 1.0f, 1, 1.0f, false},
                        {50257, 1.0f, 5000, 1.0f, false}, {37, 1.0f, 0, 1.0f, false},
                        {50257, 1.0f, 100, 1.0f, true},  {50257, 1.0f, 0, 0.95f, true}};
  unsigned seed = 1000;
  for (const Case &c : cases) {
    std::vector<float> logits = randomVector(c.V, seed++);
    if (c.ties)
      for (float &v : logits) v = std::round(v * 10) / 10;
    logits[c.V / 2] = logits[c.V / 3] = 7.0f; // a tie among the largest: the lower id sorts first
    Device<float> dlogits(logits), du(1);
    Device<int64_t> dtoken(1);
    for (float u : {0.0f, 0.1f, 0.5f, 0.77f, 0.999f}) {
      SCOPED_TRACE(testing::Message() << "V=" << c.V << " T=" << c.temperature << " k=" << c.topK
                                      << " p=" << c.topP << " ties=" << c.ties << " u=" << u);
      cudaMemcpy(du.p, &u, sizeof(float), cudaMemcpyHostToDevice);
      ASSERT_EQ(lithe_cuda_sample(dlogits.p, c.V, c.temperature, c.topK, c.topP, du.p, dtoken.p, nullptr), 0);
      const int64_t token = dtoken.get(1)[0];
      // fp32 sums on the device: a draw within 1e-4 of a boundary (of u or
      // of the top-p cut) may land on either side
      bool match = false;
      for (double du2 : {0.0, -1e-4, 1e-4})
        for (double dp : {0.0, -1e-4, 1e-4})
          match = match || token == sampleReference(logits, c.temperature, c.topK,
                                                    c.topP < 1 ? c.topP + dp : 1.0, std::clamp(u + du2, 0.0, 0.99999));
      EXPECT_TRUE(match) << "token " << token << ", reference "
                         << sampleReference(logits, c.temperature, c.topK, c.topP, u);
    }
  }
  // k = 1 is greedy: the first of the tied maxima
  {
    std::vector<float> logits = randomVector(1000, 1100);
    logits[900] = logits[20] = 9.0f;
    Device<float> dlogits(logits), du(std::vector<float>{0.5f});
    Device<int64_t> dtoken(1);
    ASSERT_EQ(lithe_cuda_sample(dlogits.p, 1000, 1.0f, 1, 1.0f, du.p, dtoken.p, nullptr), 0);
    EXPECT_EQ(dtoken.get(1)[0], 20);
  }
}

// Argument checks come before any CUDA call: runs without a GPU too.
TEST(CudaKernels, SampleRejectsBadArguments) {
  EXPECT_EQ(lithe_cuda_sample(nullptr, 10, 0.0f, 0, 1.0f, nullptr, nullptr, nullptr), int(cudaErrorInvalidValue));
  EXPECT_EQ(lithe_cuda_sample(nullptr, 10, 1.0f, -1, 1.0f, nullptr, nullptr, nullptr), int(cudaErrorInvalidValue));
  EXPECT_EQ(lithe_cuda_sample(nullptr, 10, 1.0f, 0, 0.0f, nullptr, nullptr, nullptr), int(cudaErrorInvalidValue));
  EXPECT_EQ(lithe_cuda_sample(nullptr, 0, 1.0f, 0, 1.0f, nullptr, nullptr, nullptr), int(cudaErrorInvalidValue));
}

TEST(CudaKernels, UniformFromCounter) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  // a function of (seed, counter): in [0, 1), the same again for the same
  // pair, and roughly uniform over 4096 counters
  Device<int64_t> dcounter(std::vector<int64_t>{0});
  Device<float> du(1);
  std::vector<int> buckets(16, 0);
  std::vector<float> first;
  for (int64_t c = 0; c < 4096; ++c) {
    cudaMemcpy(dcounter.p, &c, sizeof(c), cudaMemcpyHostToDevice);
    ASSERT_EQ(lithe_cuda_uniform(42, dcounter.p, du.p, nullptr), 0);
    const float u = du.get(1)[0];
    ASSERT_TRUE(u >= 0.0f && u < 1.0f) << u;
    ++buckets[static_cast<int>(u * 16)];
    if (c < 4) first.push_back(u);
  }
  for (int b : buckets) EXPECT_TRUE(b > 256 - 80 && b < 256 + 80) << b; // 5 sigma of a binomial(4096, 1/16)
  const int64_t c = 2;
  cudaMemcpy(dcounter.p, &c, sizeof(c), cudaMemcpyHostToDevice);
  ASSERT_EQ(lithe_cuda_uniform(42, dcounter.p, du.p, nullptr), 0);
  EXPECT_EQ(du.get(1)[0], first[2]);
  ASSERT_EQ(lithe_cuda_uniform(43, dcounter.p, du.p, nullptr), 0);
  EXPECT_TRUE(du.get(1)[0] != first[2]);
}

} // namespace
