// embedding.cu - GPT-2's input: token embedding plus learned position
// embedding, gathered from fp16 tables into the fp32 residual stream.
// The first position is read from device memory (*past), so a decode step's
// graph needs no update between tokens.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

namespace {

using namespace lithe_cuda;

constexpr int kThreads = 256;

// One block per token; threads stride over D (consecutive threads read
// consecutive halves of the two rows).
__global__ void __launch_bounds__(kThreads)
    embeddingKernel(const int64_t *__restrict__ tokens, const int64_t *__restrict__ past,
                    const half *__restrict__ wte, const half *__restrict__ wpe, int64_t D, float *__restrict__ y) {
  const int64_t m = blockIdx.x;
  const half *tok = wte + tokens[m] * D, *pos = wpe + (*past + m) * D;
  float *out = y + m * D;
  for (int64_t d = threadIdx.x; d < D; d += kThreads) out[d] = __half2float(tok[d]) + __half2float(pos[d]);
}

} // namespace

extern "C" {

int lithe_cuda_embedding_f16(const int64_t *tokens, int64_t M, const int64_t *past, const uint16_t *wte,
                             const uint16_t *wpe, int64_t D, float *y, void *stream) {
  if (M < 0 || D < 1 || M > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0)
    embeddingKernel<<<static_cast<unsigned>(M), kThreads, 0, asStream(stream)>>>(
        tokens, past, reinterpret_cast<const half *>(wte), reinterpret_cast<const half *>(wpe), D, y);
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
