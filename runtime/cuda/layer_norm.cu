// layer_norm.cu - LayerNorm over rows of D, optionally fused with the residual
// add that precedes it in every GPT-2 block:
//   s = x + delta (delta optional), written back when asked (the new residual),
//   y = (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta, y fp32 or fp16.
// One block per row; the row is read three times (sum, variance, output),
// the second and third from L1/L2. Two passes for the variance instead of
// E[s^2] - mean^2, which cancels badly when |mean| >> std.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

namespace {

using namespace lithe_cuda;

constexpr int kThreads = 256;

// x and sum may alias (the in-place residual update): no __restrict__ on them;
// each thread reads back only the elements it wrote itself.
template <typename YT>
__global__ void __launch_bounds__(kThreads)
    residualLayerNormKernel(const float *x, const float *__restrict__ delta, float *sum, int64_t D,
                            const float *__restrict__ gamma, const float *__restrict__ beta, float eps, YT *y) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x * D;
  auto value = [&](int64_t i) { return x[row + i] + (delta ? delta[row + i] : 0.0f); };
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float v = value(i);
    s += v;
    if (sum) sum[row + i] = v;
  }
  const float mean = blockSum(s, scratch) / D;
  float var = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float c = (sum ? sum[row + i] : value(i)) - mean;
    var += c * c;
  }
  const float rstd = rsqrtf(blockSum(var, scratch) / D + eps);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float c = (sum ? sum[row + i] : value(i)) - mean;
    store(y, row + i, c * rstd * (gamma ? gamma[i] : 1.0f) + (beta ? beta[i] : 0.0f));
  }
}

// y = x - mean(x) per row (lithe_center: what LayerNorm removal leaves).
__global__ void __launch_bounds__(kThreads) centerKernel(const float *__restrict__ x, int64_t D, float *__restrict__ y) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x * D;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += x[row + i];
  const float mean = blockSum(s, scratch) / D;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) y[row + i] = x[row + i] - mean;
}

} // namespace

extern "C" {

int lithe_cuda_center(const float *x, int64_t M, int64_t D, float *y, void *stream) {
  if (M < 0 || D < 1 || M > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0) centerKernel<<<static_cast<unsigned>(M), kThreads, 0, asStream(stream)>>>(x, D, y);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_residual_layer_norm(float *residual, const float *delta, int64_t M, int64_t D, const float *gamma,
                                   const float *beta, float eps, void *y, int yType, void *stream) {
  if (M < 0 || D < 1 || M > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  if (M == 0) return 0;
  float *sum = delta ? residual : nullptr; // nothing to write back without a delta
  const unsigned blocks = static_cast<unsigned>(M);
  if (yType == LITHE_CUDA_F16)
    residualLayerNormKernel<<<blocks, kThreads, 0, asStream(stream)>>>(residual, delta, sum, D, gamma, beta, eps,
                                                                       static_cast<half *>(y));
  else
    residualLayerNormKernel<<<blocks, kThreads, 0, asStream(stream)>>>(residual, delta, sum, D, gamma, beta, eps,
                                                                       static_cast<float *>(y));
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_layer_norm(const float *x, int64_t M, int64_t D, const float *gamma, const float *beta, float eps,
                          float *y, void *stream) {
  // delta null: x is only read
  return lithe_cuda_residual_layer_norm(const_cast<float *>(x), nullptr, M, D, gamma, beta, eps, y, LITHE_CUDA_F32,
                                        stream);
}

} // extern "C"
