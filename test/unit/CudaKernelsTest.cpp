//===- CudaKernelsTest.cpp - CUDA kernels against the CPU formulas --------===//
//
// Runs on machines with a GPU; elsewhere every test reports SKIPPED.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_kernels.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

bool haveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct Device {
  float *p = nullptr;
  explicit Device(const std::vector<float> &h) {
    cudaMalloc(&p, h.size() * sizeof(float));
    cudaMemcpy(p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice);
  }
  std::vector<float> get(size_t n) const {
    std::vector<float> h(n);
    cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost);
    return h;
  }
  ~Device() { cudaFree(p); }
};

std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (float &x : v) x = d(rng);
  return v;
}

TEST(CudaKernels, GeluBothForms) {
  if (!haveGpu()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> x = randomVector(10007, 1);
  Device dx(x), dy(x);
  for (int form : {0, 1}) {
    ASSERT_EQ(lithe_cuda_gelu(dx.p, x.size(), dy.p, form, nullptr), 0);
    std::vector<float> y = dy.get(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i];
      double want = form ? 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                         : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
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

} // namespace
