// lm_head.cu - the last step of decode: logits over the vocabulary and greedy
// argmax on the device, so a step returns one int64 instead of V floats.
//
// Phase 1 is the GEMV of gemv.cu (one warp per vocabulary row, fp32
// accumulation, the same warpDotRows) with each block also reducing its rows
// to one candidate (value, id); phase 2, one block, reduces the candidates.
// Ties go to the lowest id, as std::max_element does on the CPU.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

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

template <typename XT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    logitsKernel(const half *__restrict__ table, const XT *__restrict__ x, int V, int D, float *__restrict__ logits,
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

int blocksFor(int64_t V) { return static_cast<int>((V + kWarpsPerBlock - 1) / kWarpsPerBlock); }

template <typename XT>
int launch(const half *table, const XT *x, int64_t V, int64_t D, float *logits, void *workspace, int64_t *token,
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

} // extern "C"
