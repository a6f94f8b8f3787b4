// CUDA versions of the elementwise runtime kernels (GELU, residual add,
// LayerNorm). The CUDA backend builds on these; they are compiled whenever
// nvcc is present and tested (test/unit/CudaKernelsTest.cpp) on machines with
// a GPU.
#include "lithe/runtime/cuda_kernels.h"

#include <cuda_runtime.h>

namespace {

__device__ float geluTanh(float v) {
  return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}
__device__ float geluErf(float v) { return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f)); }

__global__ void geluKernel(const float *x, int64_t n, float *y, int tanhForm) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = tanhForm ? geluTanh(x[i]) : geluErf(x[i]);
}

__global__ void addKernel(const float *a, const float *b, int64_t n, float *y) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = a[i] + b[i];
}

// One block per row; two passes over the row held in registers/L1.
__global__ void layerNormKernel(const float *x, int64_t D, const float *g, const float *b, float eps,
                                float *y) {
  const float *row = x + blockIdx.x * D;
  float *out = y + blockIdx.x * D;
  __shared__ float red[32];
  float s = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += row[i];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffff, s, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x < 32) {
    s = threadIdx.x < (blockDim.x + 31) / 32 ? red[threadIdx.x] : 0;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffff, s, o);
    if (threadIdx.x == 0) red[0] = s / D;
  }
  __syncthreads();
  float mean = red[0];
  __syncthreads();
  float v = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) v += (row[i] - mean) * (row[i] - mean);
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < (blockDim.x + 31) / 32 ? red[threadIdx.x] : 0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    if (threadIdx.x == 0) red[0] = rsqrtf(v / D + eps);
  }
  __syncthreads();
  float r = red[0];
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
    out[i] = (row[i] - mean) * r * (g ? g[i] : 1.0f) + (b ? b[i] : 0.0f);
}

int blocks(int64_t n) { return static_cast<int>((n + 255) / 256); }

} // namespace

extern "C" {

int lithe_cuda_gelu(const float *x, int64_t n, float *y, int tanhForm, void *stream) {
  if (n > 0) geluKernel<<<blocks(n), 256, 0, static_cast<cudaStream_t>(stream)>>>(x, n, y, tanhForm);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_add(const float *a, const float *b, int64_t n, float *y, void *stream) {
  if (n > 0) addKernel<<<blocks(n), 256, 0, static_cast<cudaStream_t>(stream)>>>(a, b, n, y);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_layer_norm(const float *x, int64_t M, int64_t D, const float *g, const float *b, float eps,
                          float *y, void *stream) {
  if (M > 0) layerNormKernel<<<static_cast<unsigned>(M), 256, 0, static_cast<cudaStream_t>(stream)>>>(x, D, g, b, eps, y);
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
