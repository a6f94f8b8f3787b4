// lm_head.cu - the last step of decode: logits over the vocabulary and greedy
// argmax on the device, so a step returns one int64 instead of V floats.
//
// Phase 1 is the GEMV of gemv.cu (one warp per vocabulary row, fp32
// accumulation, the same warpDotRows) with each block also reducing its rows
// to one candidate (value, id); phase 2, one block, reduces the candidates.
// Ties go to the lowest id, as std::max_element does on the CPU.
//
// Sampling (top-k / top-p / temperature) is one block over the logits: a
// radix select finds the k-th largest logit, the k candidates (ties at the
// k-th value: lowest ids) are sorted in shared memory, and one thread walks
// their cumulative probabilities. The uniform number comes from device memory, filled by a
// Philox draw keyed by (seed, a device counter), so sampling replays in a graph.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

#include <curand_kernel.h>

#include <algorithm>
#include <climits>

namespace {

using namespace lithe_cuda;

constexpr int kWarpsPerBlock = 8;  // vocabulary rows per block in phase 1
constexpr int kReduceThreads = 1024; // phase 2, a power of two

struct Candidate {
  float value;
  int id;
};

__device__ inline bool better(Candidate a, Candidate b) {
  return a.value > b.value || (a.value == b.value && a.id < b.id);
}

template <typename TT, typename XT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    logitsKernel(const TT *__restrict__ table, const XT *__restrict__ x, int V, int D, float *__restrict__ logits,
                 Candidate *__restrict__ candidates) {
  __shared__ Candidate best[kWarpsPerBlock];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, v = blockIdx.x * kWarpsPerBlock + warp;
  Candidate c{-INFINITY, INT_MAX};
  if (v < V) { // warp-uniform; no early return: the block meets at the barrier below
    float acc[1];
    warpDotRows<1>(table + static_cast<int64_t>(v) * D, x, D, acc);
    c = {acc[0], v};
    if (lane == 0 && logits) logits[v] = acc[0];
  }
  if (lane == 0) best[warp] = c;
  __syncthreads();
  if (threadIdx.x == 0) {
    Candidate b = best[0];
    for (int w = 1; w < kWarpsPerBlock; ++w)
      if (better(best[w], b)) b = best[w];
    candidates[blockIdx.x] = b;
  }
}

__global__ void __launch_bounds__(kReduceThreads)
    argmaxKernel(const Candidate *__restrict__ candidates, int n, int64_t *__restrict__ token) {
  __shared__ Candidate s[kReduceThreads];
  Candidate b{-INFINITY, INT_MAX};
  for (int i = threadIdx.x; i < n; i += kReduceThreads)
    if (better(candidates[i], b)) b = candidates[i];
  s[threadIdx.x] = b;
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride && better(s[threadIdx.x + stride], s[threadIdx.x])) s[threadIdx.x] = s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) *token = s[0].id;
}

constexpr int kSampleThreads = 1024; // also the most candidates a draw considers

// Float bits as an unsigned key with the same order (negative floats reversed).
__device__ inline unsigned orderedKey(float v) {
  const unsigned b = __float_as_uint(v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Draw from softmax(logits / temperature) over the k largest logits (ties:
// lower ids first), cut to the smallest prefix whose mass reaches topP.
__global__ void __launch_bounds__(kSampleThreads)
    sampleKernel(const float *__restrict__ logits, int V, int k, float invTemperature, float topP,
                 const float *__restrict__ uniform, int64_t *__restrict__ token) {
  __shared__ unsigned histogram[256];
  __shared__ float value[kSampleThreads];
  __shared__ int id[kSampleThreads];
  __shared__ unsigned chosenPrefix;
  __shared__ int chosenRemaining, count;
  __shared__ int warpTies[kSampleThreads / 32];
  const int tid = threadIdx.x;

  // 1. Radix select, a byte at a time from the top: the key of the k-th
  //    largest logit. Each pass counts the next byte of the keys that match
  //    the bytes chosen so far, then finds the byte where the k-th falls.
  unsigned prefix = 0, prefixMask = 0;
  int remaining = k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (tid < 256) histogram[tid] = 0;
    __syncthreads();
    for (int i = tid; i < V; i += kSampleThreads) {
      const unsigned key = orderedKey(logits[i]);
      if ((key & prefixMask) == prefix) atomicAdd(&histogram[(key >> shift) & 255], 1u);
    }
    __syncthreads();
    if (tid == 0) {
      int digit = 255;
      for (; digit > 0 && static_cast<int>(histogram[digit]) < remaining; --digit)
        remaining -= static_cast<int>(histogram[digit]);
      chosenPrefix = prefix | (static_cast<unsigned>(digit) << shift);
      chosenRemaining = remaining;
    }
    __syncthreads();
    prefix = chosenPrefix;
    remaining = chosenRemaining;
    prefixMask |= 255u << shift;
  }

  // 2. Gather exactly k candidates: every logit above the k-th largest (k -
  //    remaining of them, in any order), then the `remaining` lowest ids
  //    among those equal to it, found in id order 1024 ids at a time (a
  //    block-wide ordered compaction: ballots within warps, counts across).
  //    Pad the rest of the slots so that they sort last.
  if (tid == 0) count = 0;
  __syncthreads();
  for (int i = tid; i < V; i += kSampleThreads)
    if (orderedKey(logits[i]) > prefix) {
      const int slot = atomicAdd(&count, 1);
      value[slot] = logits[i], id[slot] = i;
    }
  __syncthreads();
  const int greater = count;
  int taken = 0; // ties seen so far, the same in every thread
  for (int base = 0; base < V && taken < remaining; base += kSampleThreads) {
    const int i = base + tid;
    const bool tie = i < V && orderedKey(logits[i]) == prefix;
    const unsigned ballot = __ballot_sync(kFullMask, tie);
    if ((tid & 31) == 0) warpTies[tid >> 5] = __popc(ballot);
    __syncthreads();
    int before = taken + __popc(ballot & ((1u << (tid & 31)) - 1)), seen = 0;
    for (int w = 0; w < kSampleThreads / 32; ++w) {
      if (w < (tid >> 5)) before += warpTies[w];
      seen += warpTies[w];
    }
    if (tie && before < remaining) value[greater + before] = logits[i], id[greater + before] = i;
    taken += seen;
    __syncthreads(); // warpTies is rewritten in the next round
  }
  if (tid >= k) value[tid] = -INFINITY, id[tid] = INT_MAX;
  __syncthreads();

  // 3. Bitonic sort, largest first, lower id first among equals: thread tid
  //    owns slot tid and compares it with slot tid ^ stride.
  for (int size = 2; size <= kSampleThreads; size <<= 1)
    for (int stride = size / 2; stride > 0; stride >>= 1) {
      const int other = tid ^ stride;
      if (other > tid) {
        const bool otherFirst = value[other] > value[tid] || (value[other] == value[tid] && id[other] < id[tid]);
        if (otherFirst == ((tid & size) == 0)) { // the first half of each size-block sorts first-to-last
          const float v = value[tid];
          const int i = id[tid];
          value[tid] = value[other], id[tid] = id[other];
          value[other] = v, id[other] = i;
        }
      }
      __syncthreads();
    }

  // 4. One thread: cumulative probabilities of the k candidates (in place),
  //    the top-p cut, the draw.
  if (tid == 0) {
    const float top = value[0];
    float total = 0.0f;
    for (int r = 0; r < k; ++r) {
      total += __expf((value[r] - top) * invTemperature);
      value[r] = total;
    }
    int cut = k;
    if (topP < 1.0f)
      for (int r = 0; r < k; ++r)
        if (value[r] >= topP * total) {
          cut = r + 1;
          break;
        }
    const float target = *uniform * value[cut - 1];
    int r = 0;
    while (r < cut - 1 && value[r] <= target) ++r;
    *token = id[r];
  }
}

__global__ void uniformKernel(uint64_t seed, const int64_t *__restrict__ counter, float *__restrict__ uniform) {
  curandStatePhilox4_32_10_t state;
  curand_init(seed, static_cast<unsigned long long>(*counter), 0, &state);
  *uniform = 1.0f - curand_uniform(&state); // curand_uniform is in (0, 1]
}

int blocksFor(int64_t V) { return static_cast<int>((V + kWarpsPerBlock - 1) / kWarpsPerBlock); }

template <typename TT, typename XT>
int launch(const TT *table, const XT *x, int64_t V, int64_t D, float *logits, void *workspace, int64_t *token,
           cudaStream_t stream) {
  Candidate *candidates = static_cast<Candidate *>(workspace);
  const int blocks = blocksFor(V);
  logitsKernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(table, x, static_cast<int>(V), static_cast<int>(D),
                                                           logits, candidates);
  argmaxKernel<<<1, kReduceThreads, 0, stream>>>(candidates, blocks, token);
  return static_cast<int>(cudaGetLastError());
}

} // namespace

extern "C" {

size_t lithe_cuda_lm_head_workspace_bytes(int64_t V) { return blocksFor(V) * sizeof(Candidate); }

int lithe_cuda_lm_head_argmax_f16(const uint16_t *table, const void *x, int xType, int64_t V, int64_t D,
                                  float *logits, void *workspace, int64_t *token, void *stream) {
  if (V < 1 || D < 1 || V > INT32_MAX - kWarpsPerBlock || D > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  const half *t = reinterpret_cast<const half *>(table);
  if (xType == LITHE_CUDA_F16)
    return launch(t, static_cast<const half *>(x), V, D, logits, workspace, token, asStream(stream));
  return launch(t, static_cast<const float *>(x), V, D, logits, workspace, token, asStream(stream));
}

int lithe_cuda_lm_head_argmax(const void *table, int tableType, const void *x, int xType, int64_t V, int64_t D,
                              float *logits, void *workspace, int64_t *token, void *stream) {
  if (V < 1 || D < 1 || V > INT32_MAX - kWarpsPerBlock || D > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  auto run = [&](auto *t) {
    if (xType == LITHE_CUDA_F16)
      return launch(t, static_cast<const half *>(x), V, D, logits, workspace, token, asStream(stream));
    return launch(t, static_cast<const float *>(x), V, D, logits, workspace, token, asStream(stream));
  };
  if (tableType == LITHE_CUDA_F16) return run(static_cast<const half *>(table));
  if (tableType == LITHE_CUDA_BF16) return run(static_cast<const __nv_bfloat16 *>(table));
  if (tableType == LITHE_CUDA_F32) return run(static_cast<const float *>(table));
  return static_cast<int>(cudaErrorInvalidValue);
}

int lithe_cuda_sample(const float *logits, int64_t V, float temperature, int64_t topK, float topP,
                      const float *uniform, int64_t *token, void *stream) {
  if (V < 1 || V > INT32_MAX || !(temperature > 0.0f) || topK < 0 || !(topP > 0.0f))
    return static_cast<int>(cudaErrorInvalidValue);
  const int64_t limit = topK == 0 ? kSampleThreads : std::min<int64_t>(topK, kSampleThreads);
  const int k = static_cast<int>(std::min(limit, V));
  sampleKernel<<<1, kSampleThreads, 0, asStream(stream)>>>(logits, static_cast<int>(V), k, 1.0f / temperature, topP,
                                                           uniform, token);
  return static_cast<int>(cudaGetLastError());
}

int lithe_cuda_uniform(uint64_t seed, const int64_t *counter, float *uniform, void *stream) {
  uniformKernel<<<1, 1, 0, asStream(stream)>>>(seed, counter, uniform);
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
