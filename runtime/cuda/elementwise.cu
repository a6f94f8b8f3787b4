// CUDA versions of the elementwise runtime kernels (GELU, add), fp32. The
// CUDA backend builds on these; they are compiled whenever nvcc is present
// and tested (test/unit/CudaKernelsTest.cpp) on machines with a GPU.
// LayerNorm lives in layer_norm.cu with its residual-add fusion.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

namespace {

using namespace lithe_cuda;

__global__ void geluKernel(const float *x, int64_t n, float *y, int tanhForm) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = tanhForm ? geluTanh(x[i]) : geluErf(x[i]);
}

__global__ void addKernel(const float *a, const float *b, int64_t n, float *y) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = a[i] + b[i];
}

int blocks(int64_t n) { return static_cast<int>((n + 255) / 256); }

} // namespace

extern "C" {

int lithe_cuda_gelu(const float *x, int64_t n, float *y, int tanhForm, void *stream) {
  if (n > 0) geluKernel<<<blocks(n), 256, 0, asStream(stream)>>>(x, n, y, tanhForm);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_add(const float *a, const float *b, int64_t n, float *y, void *stream) {
  if (n > 0) addKernel<<<blocks(n), 256, 0, asStream(stream)>>>(a, b, n, y);
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
