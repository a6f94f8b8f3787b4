// attention.cu - the fp16 KV cache and causal self-attention over it.
//
// Cache layout: [H][capacity][hd] fp16 per layer for K and for V, so one
// head's positions are contiguous (a block streams them). `past` is a device
// int64 (positions already cached), read by every kernel here, so a captured
// decode graph stays valid as the context grows; lithe_cuda_advance_length
// moves it forward at the end of a step.
//
// Decode (one query per head) is FlashDecoding: the positions are split into
// chunks of kChunk, one block per (head, chunk) computes a partial softmax
// (its max m, its sum l = sum exp(s - m), and o = sum exp(s - m) * v), and a
// combine kernel rescales the partials to the global max:
//   out = sum_c exp(m_c - M) o_c / sum_c exp(m_c - M) l_c.
// Prefill is one pass of FlashAttention's online softmax per query row over
// key tiles held in shared memory (see lithe_cuda_prefill_attention_f16).
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

#include <algorithm>

namespace {

using namespace lithe_cuda;

constexpr int kMaxHeadDim = 128;
constexpr int kChunk = 128;      // decode: positions per block = threads per block
constexpr int kTile = 32;        // prefill: keys per shared-memory tile = lanes
constexpr int kQueryWarps = 8;   // prefill: query rows per block, one per warp

// kc[h][*past + m][d] = k[m*ld + h*hd + d], the same for v. Grid (M, H).
__global__ void kvAppendKernel(const float *__restrict__ k, const float *__restrict__ v, int64_t ld, int hd,
                               const int64_t *__restrict__ past, int64_t capacity, half *__restrict__ kc,
                               half *__restrict__ vc) {
  const int64_t m = blockIdx.x, h = blockIdx.y, pos = *past + m;
  if (pos >= capacity) return;
  const int64_t src = m * ld + h * hd, dst = (h * capacity + pos) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    kc[dst + d] = __float2half(k[src + d]);
    vc[dst + d] = __float2half(v[src + d]);
  }
}

__global__ void advanceKernel(int64_t *past, int64_t by) { *past += by; }

// q (in shared memory, already scaled) . one cached key row, fp32.
__device__ inline float dotKey(const float *qs, const half *key, int hd) {
  float dot = 0.0f;
  if (hd % 8 == 0) { // rows are 16-byte aligned: 8 halves per load
    for (int d = 0; d < hd; d += 8) {
      float kv[8];
      load8(key + d, kv);
#pragma unroll
      for (int j = 0; j < 8; ++j) dot = fmaf(qs[d + j], kv[j], dot);
    }
  } else {
    for (int d = 0; d < hd; ++d) dot = fmaf(qs[d], __half2float(key[d]), dot);
  }
  return dot;
}

// Decode, phase 1: block (h, c) scores positions [c*kChunk, (c+1)*kChunk)
// below the length, one position per thread, and writes its partial
// {m, l, o[0..hd)} to partial[(h*chunks + c) * (hd + 2)]. Chunks at or past
// the length write nothing (the combine kernel does not read them).
// No __launch_bounds__: with __launch_bounds__(128) ptxas capped it at 32
// registers and spilled (docs/cuda.md).
__global__ void decodeChunkKernel(const float *__restrict__ q, int hd, const int64_t *__restrict__ past,
                                  int64_t capacity, const half *__restrict__ kc, const half *__restrict__ vc,
                                  float scale, int chunks, float *__restrict__ partial) {
  __shared__ float qs[kMaxHeadDim];
  __shared__ float p[kChunk];
  __shared__ float scratch[32];
  const int h = blockIdx.x, c = blockIdx.y;
  const int64_t len = min(*past + 1, capacity), start = static_cast<int64_t>(c) * kChunk;
  if (start >= len) return; // block-uniform
  for (int d = threadIdx.x; d < hd; d += kChunk) qs[d] = q[h * hd + d] * scale;
  __syncthreads();

  const int64_t pos = start + threadIdx.x;
  const half *head = static_cast<int64_t>(h) * capacity * hd + kc;
  const float s = pos < len ? dotKey(qs, head + pos * hd, hd) : -INFINITY;
  const float m = blockMax(s, scratch); // position `start` is valid: m is finite
  const float e = pos < len ? __expf(s - m) : 0.0f;
  p[threadIdx.x] = e;
  const float l = blockSum(e, scratch); // its barriers also publish p[]

  float *out = partial + (static_cast<int64_t>(h) * chunks + c) * (hd + 2);
  const int n = static_cast<int>(min(static_cast<int64_t>(kChunk), len - start));
  const half *v = vc + (static_cast<int64_t>(h) * capacity + start) * hd;
  if (hd % 8 == 0) {
    // o = sum_j p[j] v[j] with every thread busy: hd/8 threads cover a V row
    // with 16-byte loads, the block's threads form `groups` such teams, team
    // g takes positions g, g + groups, ...; then the teams' sums are added
    // through shared memory.
    __shared__ float teamSum[kChunk * 8]; // groups * hd <= kChunk * 8
    const int perRow = hd / 8, groups = kChunk / perRow;
    const int g = threadIdx.x / perRow, d0 = threadIdx.x % perRow * 8;
    if (g < groups) {
      float o[8] = {};
      for (int j = g; j < n; j += groups) {
        float vj[8];
        load8(v + static_cast<int64_t>(j) * hd + d0, vj);
#pragma unroll
        for (int i = 0; i < 8; ++i) o[i] = fmaf(p[j], vj[i], o[i]);
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) teamSum[g * hd + d0 + i] = o[i];
    }
    __syncthreads();
    for (int d = threadIdx.x; d < hd; d += kChunk) {
      float o = 0.0f;
      for (int t = 0; t < groups; ++t) o += teamSum[t * hd + d];
      out[2 + d] = o;
    }
  } else {
    for (int d = threadIdx.x; d < hd; d += kChunk) { // consecutive threads: consecutive d, coalesced
      float o = 0.0f;
      for (int j = 0; j < n; ++j) o = fmaf(p[j], __half2float(v[static_cast<int64_t>(j) * hd + d]), o);
      out[2 + d] = o;
    }
  }
  if (threadIdx.x == 0) out[0] = m, out[1] = l;
}

// Decode, phase 2: one block per head rescales the used chunks' partials.
__global__ void decodeCombineKernel(const float *__restrict__ partial, int hd, const int64_t *__restrict__ past,
                                    int64_t capacity, int chunks, float *__restrict__ out) {
  const int h = blockIdx.x;
  const int64_t len = min(*past + 1, capacity);
  const int used = static_cast<int>((len + kChunk - 1) / kChunk);
  const float *part = partial + static_cast<int64_t>(h) * chunks * (hd + 2);
  float m = -INFINITY;
  for (int c = 0; c < used; ++c) m = fmaxf(m, part[c * (hd + 2)]);
  float l = 0.0f;
  for (int c = 0; c < used; ++c) l += part[c * (hd + 2) + 1] * __expf(part[c * (hd + 2)] - m);
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float o = 0.0f;
    for (int c = 0; c < used; ++c) o += part[c * (hd + 2) + 2 + d] * __expf(part[c * (hd + 2)] - m);
    out[h * hd + d] = o / l;
  }
}

// Prefill: block (b, h) owns query rows b*kQueryWarps .. +kQueryWarps-1 of
// head h, one per warp. For each tile of kTile cached positions (staged in
// shared memory as fp32, shared by the block's warps), lane j scores key j,
// then the warp updates its row's running max / sum / output (the lane owns
// output elements d = lane + 32*i) with FlashAttention's rescaling. Keys after
// a row's position are masked; tiles entirely in its future are skipped.
template <typename OT>
__global__ void __launch_bounds__(kQueryWarps * 32)
    prefillKernel(const float *__restrict__ q, int64_t ldq, int M, int hd, const int64_t *__restrict__ past,
                  int64_t capacity, const half *__restrict__ kc, const half *__restrict__ vc, float scale,
                  OT *__restrict__ out, int64_t ldo) {
  __shared__ float ks[kTile][kMaxHeadDim + 1]; // +1: lanes reading different rows hit different banks
  __shared__ float vs[kTile][kMaxHeadDim];
  __shared__ float qs[kQueryWarps][kMaxHeadDim];
  const int h = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * kQueryWarps + warp;
  const bool active = row < M; // warp-uniform
  const int64_t qpos = *past + row;
  const int lastRow = min(static_cast<int>(blockIdx.x) * kQueryWarps + kQueryWarps, M) - 1;
  const int64_t keys = min(*past + lastRow + 1, capacity);
  if (active)
    for (int d = lane; d < hd; d += 32) qs[warp][d] = q[row * ldq + h * hd + d] * scale;

  constexpr int kPerLane = kMaxHeadDim / 32;
  float o[kPerLane] = {};
  float m = -INFINITY, l = 0.0f;
  const int64_t head = static_cast<int64_t>(h) * capacity * hd;
  for (int64_t t0 = 0; t0 < keys; t0 += kTile) {
    const int n = static_cast<int>(min(static_cast<int64_t>(kTile), keys - t0));
    __syncthreads(); // the previous tile is consumed (and qs written)
    for (int i = threadIdx.x; i < n * hd; i += blockDim.x) {
      const int j = i / hd, d = i % hd;
      ks[j][d] = __half2float(kc[head + (t0 + j) * hd + d]);
      vs[j][d] = __half2float(vc[head + (t0 + j) * hd + d]);
    }
    __syncthreads();
    if (!active) continue;
    float s = -INFINITY;
    if (lane < n && t0 + lane <= qpos) {
      s = 0.0f;
      for (int d = 0; d < hd; ++d) s = fmaf(qs[warp][d], ks[lane][d], s);
    }
    const float tileMax = warpMax(s);
    if (tileMax == -INFINITY) continue; // the whole tile is in this row's future
    const float newMax = fmaxf(m, tileMax);
    const float correction = __expf(m - newMax); // 0 on the first tile (m = -inf)
    const float pj = __expf(s - newMax);         // 0 for masked keys
    l = l * correction + warpSum(pj);
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) o[i] *= correction;
    for (int j = 0; j < n; ++j) {
      const float p = __shfl_sync(kFullMask, pj, j);
#pragma unroll
      for (int i = 0; i < kPerLane; ++i)
        if (lane + 32 * i < hd) o[i] = fmaf(p, vs[j][lane + 32 * i], o[i]);
    }
    m = newMax;
  }
  if (active)
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      if (lane + 32 * i < hd) store(out, row * ldo + h * hd + lane + 32 * i, o[i] / l);
}

bool badHeads(int64_t H, int64_t hd) { return H < 1 || H > 65535 || hd < 1 || hd > kMaxHeadDim; }

int chunksFor(int64_t capacity) { return static_cast<int>((capacity + kChunk - 1) / kChunk); }

} // namespace

extern "C" {

int lithe_cuda_kv_append_f16(const float *k, const float *v, int64_t ld, int64_t M, int64_t H, int64_t hd,
                             const int64_t *past, int64_t capacity, uint16_t *kCache, uint16_t *vCache,
                             void *stream) {
  if (badHeads(H, hd) || M < 0 || M > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0)
    kvAppendKernel<<<dim3(static_cast<unsigned>(M), static_cast<unsigned>(H)), kMaxHeadDim, 0, asStream(stream)>>>(
        k, v, ld, static_cast<int>(hd), past, capacity, reinterpret_cast<half *>(kCache),
        reinterpret_cast<half *>(vCache));
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_advance_length(int64_t *past, int64_t by, void *stream) {
  advanceKernel<<<1, 1, 0, asStream(stream)>>>(past, by);
  return static_cast<int>(cudaGetLastError());
}

int64_t lithe_cuda_decode_attention_workspace_floats(int64_t H, int64_t hd, int64_t capacity) {
  return H * chunksFor(capacity) * (hd + 2);
}

int lithe_cuda_decode_attention_f16(const float *q, int64_t H, int64_t hd, const int64_t *past, int64_t capacity,
                                    const uint16_t *kCache, const uint16_t *vCache, float scale, float *workspace,
                                    float *out, void *stream) {
  if (badHeads(H, hd) || capacity < 1 || chunksFor(capacity) > 65535) return static_cast<int>(cudaErrorInvalidValue);
  const int chunks = chunksFor(capacity);
  cudaStream_t s = asStream(stream);
  decodeChunkKernel<<<dim3(static_cast<unsigned>(H), chunks), kChunk, 0, s>>>(
      q, static_cast<int>(hd), past, capacity, reinterpret_cast<const half *>(kCache),
      reinterpret_cast<const half *>(vCache), scale, chunks, workspace);
  decodeCombineKernel<<<static_cast<unsigned>(H), kMaxHeadDim, 0, s>>>(workspace, static_cast<int>(hd), past,
                                                                       capacity, chunks, out);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_prefill_attention_f16(const float *q, int64_t ldq, int64_t M, int64_t H, int64_t hd,
                                     const int64_t *past, int64_t capacity, const uint16_t *kCache,
                                     const uint16_t *vCache, float scale, void *out, int outType, int64_t ldo,
                                     void *stream) {
  if (badHeads(H, hd) || M < 0 || M > INT32_MAX - kQueryWarps) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0) {
    const dim3 grid(static_cast<unsigned>((M + kQueryWarps - 1) / kQueryWarps), static_cast<unsigned>(H));
    const half *kc = reinterpret_cast<const half *>(kCache), *vc = reinterpret_cast<const half *>(vCache);
    if (outType == LITHE_CUDA_F16)
      prefillKernel<<<grid, kQueryWarps * 32, 0, asStream(stream)>>>(
          q, ldq, static_cast<int>(M), static_cast<int>(hd), past, capacity, kc, vc, scale, static_cast<half *>(out), ldo);
    else
      prefillKernel<<<grid, kQueryWarps * 32, 0, asStream(stream)>>>(
          q, ldq, static_cast<int>(M), static_cast<int>(hd), past, capacity, kc, vc, scale, static_cast<float *>(out), ldo);
  }
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
