// common.cuh - device helpers shared by the CUDA kernel files: warp and block
// reductions, GELU, and 8-element loads that turn fp16 / bf16 / int8 / fp32
// memory into fp32 registers. Internal to runtime/cuda (not a public header).
#ifndef LITHE_RUNTIME_CUDA_COMMON_CUH
#define LITHE_RUNTIME_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace lithe_cuda {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ inline float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Sum over the block; every thread gets the result. `scratch` holds 32 floats.
// Contains __syncthreads: call it from every thread of the block.
__device__ inline float blockSum(float v, float *scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warpSum(v);
  __syncthreads(); // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.0f;
  return warpSum(v);
}

// Max over the block, as blockSum.
__device__ inline float blockMax(float v, float *scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warpMax(v);
}

// GPT-2's GELU (tanh approximation) and the exact (erf) form.
__device__ inline float geluTanh(float v) {
  return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}
__device__ inline float geluErf(float v) { return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f)); }

// load8: eight consecutive elements as fp32, the pointer aligned to eight
// elements (16 bytes for fp16, 32 for fp32). Activations are shared by every
// warp and use plain loads.
__device__ inline void load8(const float *p, float (&v)[8]) {
  const float4 a = reinterpret_cast<const float4 *>(p)[0], b = reinterpret_cast<const float4 *>(p)[1];
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ inline void halves8(uint4 q, float (&v)[8]) {
  const half2 *h = reinterpret_cast<const half2 *>(&q);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float2 f = __half22float2(h[j]);
    v[2 * j] = f.x, v[2 * j + 1] = f.y;
  }
}
__device__ inline void load8(const half *p, float (&v)[8]) { halves8(*reinterpret_cast<const uint4 *>(p), v); }

// Weights: 16 bytes per load (8 fp16 / bf16 or 16 int8 values; fp32: two
// loads, 8 values), 16-byte aligned (fp32: 32), read once per call, so
// streamed past the caches with __ldcs (evict-first).
template <typename WT> constexpr int kWeightsPerLoad = 16 / sizeof(WT);
template <> constexpr int kWeightsPerLoad<float> = 8;
__device__ inline void loadWeights(const half *p, float (&v)[8]) { halves8(__ldcs(reinterpret_cast<const uint4 *>(p)), v); }
__device__ inline void loadWeights(const __nv_bfloat16 *p, float (&v)[8]) {
  const uint4 q = __ldcs(reinterpret_cast<const uint4 *>(p));
  const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&q);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float2 f = __bfloat1622float2(h[j]);
    v[2 * j] = f.x, v[2 * j + 1] = f.y;
  }
}
__device__ inline void loadWeights(const float *p, float (&v)[8]) {
  const float4 a = __ldcs(reinterpret_cast<const float4 *>(p)), b = __ldcs(reinterpret_cast<const float4 *>(p) + 1);
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ inline void loadWeights(const int8_t *p, float (&v)[16]) {
  const uint4 q = __ldcs(reinterpret_cast<const uint4 *>(p));
  const int8_t *b = reinterpret_cast<const int8_t *>(&q);
#pragma unroll
  for (int j = 0; j < 16; ++j) v[j] = static_cast<float>(b[j]);
}

__device__ inline float toFloat(float v) { return v; }
__device__ inline float toFloat(half v) { return __half2float(v); }
__device__ inline float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline float toFloat(int8_t v) { return static_cast<float>(v); }

// One warp's dot products of a weight row w[0..K) with M rows of x (x[m][k]
// at x + m*K), fp32 accumulation, summed across the warp: every lane returns
// the full sums in acc. Each lane loads 16 bytes of weights per step (8 fp16
// or 16 int8), so the warp reads 512 contiguous bytes; the weights are loaded
// once for all M rows. Rows whose K is not a multiple of that count are not
// 16-byte aligned and take the scalar loop.
template <int M, typename WT, typename XT>
__device__ inline void warpDotRows(const WT *__restrict__ w, const XT *__restrict__ x, int K, float (&acc)[M]) {
  constexpr int E = kWeightsPerLoad<WT>;
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.0f;
  const int kVector = K % E == 0 ? K : 0;
#pragma unroll 2
  for (int k = lane * E; k < kVector; k += 32 * E) {
    float wv[E];
    loadWeights(w + k, wv);
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
      for (int part = 0; part < E; part += 8) {
        float xv[8];
        load8(x + static_cast<int64_t>(m) * K + k + part, xv);
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[m] = fmaf(wv[part + j], xv[j], acc[m]);
      }
  }
  for (int k = kVector + lane; k < K; k += 32) {
    const float wk = toFloat(w[k]);
#pragma unroll
    for (int m = 0; m < M; ++m) acc[m] = fmaf(wk, toFloat(x[static_cast<int64_t>(m) * K + k]), acc[m]);
  }
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = warpSum(acc[m]);
}

__device__ inline void store(float *y, int64_t i, float v) { y[i] = v; }
__device__ inline void store(half *y, int64_t i, float v) { y[i] = __float2half(v); }

inline cudaStream_t asStream(void *stream) { return static_cast<cudaStream_t>(stream); }

} // namespace lithe_cuda

#endif // LITHE_RUNTIME_CUDA_COMMON_CUH
