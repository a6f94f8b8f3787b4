// embedding.cu - GPT-2's input: token embedding plus learned position
// embedding, gathered from fp16 (or bf16, fp32) tables into the fp32 residual stream.
// The first position is read from device memory (*past), so a decode step's
// graph needs no update between tokens.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

namespace {

using namespace lithe_cuda;

constexpr int kThreads = 256;

// One block per token; threads stride over D (consecutive threads read
// consecutive halves of the two rows).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    embeddingKernel(const int64_t *__restrict__ tokens, const int64_t *__restrict__ past,
                    const T *__restrict__ wte, const T *__restrict__ wpe, int64_t D, float *__restrict__ y) {
  const int64_t m = blockIdx.x;
  const T *tok = wte + tokens[m] * D, *pos = wpe + (*past + m) * D;
  float *out = y + m * D;
  for (int64_t d = threadIdx.x; d < D; d += kThreads) out[d] = toFloat(tok[d]) + toFloat(pos[d]);
}

template <typename T>
int launch(const int64_t *tokens, int64_t M, const int64_t *past, const void *wte, const void *wpe, int64_t D, float *y,
           void *stream) {
  if (M < 0 || D < 1 || M > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  if (M > 0)
    embeddingKernel<<<static_cast<unsigned>(M), kThreads, 0, asStream(stream)>>>(
        tokens, past, static_cast<const T *>(wte), static_cast<const T *>(wpe), D, y);
  return static_cast<int>(cudaGetLastError());
}

} // namespace

extern "C" {

int lithe_cuda_embedding_f16(const int64_t *tokens, int64_t M, const int64_t *past, const uint16_t *wte,
                             const uint16_t *wpe, int64_t D, float *y, void *stream) {
  return launch<half>(tokens, M, past, wte, wpe, D, y, stream);
}

int lithe_cuda_embedding(const int64_t *tokens, int64_t M, const int64_t *past, const void *wte, const void *wpe,
                         int tableType, int64_t D, float *y, void *stream) {
  if (tableType == LITHE_CUDA_F16) return launch<half>(tokens, M, past, wte, wpe, D, y, stream);
  if (tableType == LITHE_CUDA_BF16) return launch<__nv_bfloat16>(tokens, M, past, wte, wpe, D, y, stream);
  if (tableType == LITHE_CUDA_F32) return launch<float>(tokens, M, past, wte, wpe, D, y, stream);
  return static_cast<int>(cudaErrorInvalidValue);
}

} // extern "C"
