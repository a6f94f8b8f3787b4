//===- cuda_kernels.h - CUDA runtime kernels ------------------------*- C++ -*-===//
//
// Device pointers in, device pointers out; `stream` is a cudaStream_t (null:
// the default stream). Each returns the cudaError_t of the launch (0: ok).
// Built only when nvcc is found (see the top-level CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_CUDA_KERNELS_H
#define LITHE_RUNTIME_CUDA_KERNELS_H

#include <cstdint>

extern "C" {
int lithe_cuda_gelu(const float *x, int64_t n, float *y, int tanhForm, void *stream);
int lithe_cuda_add(const float *a, const float *b, int64_t n, float *y, void *stream);
int lithe_cuda_layer_norm(const float *x, int64_t M, int64_t D, const float *gamma,
                          const float *beta, float eps, float *y, void *stream);
}

#endif // LITHE_RUNTIME_CUDA_KERNELS_H
