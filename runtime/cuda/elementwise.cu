// CUDA versions of the elementwise runtime kernels (GELU, add, the per-column
// affine of lithe_affine_rows) and the fp32 -> fp16 conversion of GEMM inputs. The
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

// x[m][d] = x[m][d] * scale[d] + bias[d], in place (each nullable).
__global__ void affineRowsKernel(float *x, int64_t n, int64_t D, const float *scale, const float *bias) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t d = i % D;
  x[i] = x[i] * (scale ? scale[d] : 1.0f) + (bias ? bias[d] : 0.0f);
}

__global__ void toF16Kernel(const float *x, int64_t n, half *y) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = __float2half_rn(x[i]);
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

int lithe_cuda_affine_rows(float *x, int64_t M, int64_t D, const float *scale, const float *bias, void *stream) {
  if (M < 0 || D < 1) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0 && (scale || bias))
    affineRowsKernel<<<blocks(M * D), 256, 0, asStream(stream)>>>(x, M * D, D, scale, bias);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_to_f16(const float *x, int64_t n, uint16_t *y, void *stream) {
  if (n > 0) toF16Kernel<<<blocks(n), 256, 0, asStream(stream)>>>(x, n, reinterpret_cast<half *>(y));
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
