// gemv.cu - weight-streaming matrix-vector products for decode (M <= 8 rows
// of activations), fp16, bf16, fp32 or int8 weights stored [N][K] (K contiguous), fp32
// accumulation, fused bias / GELU / residual-add epilogue.
//
// One warp per output column n: the warp streams W's row n once (16-byte
// loads: 8 fp16 or 16 int8 weights per lane) and dots it with all M activation rows, so the M rows cost
// one pass over the weights. On an H200 this layout beat cuBLASLt at M=1 on
// every GPT-2 shape by 1.28-1.44x (docs/benchmarks.md, bench/cuda/gemv_probe.cu,
// which launches this kernel).
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

namespace {

using namespace lithe_cuda;

constexpr int kWarpsPerBlock = 8;

// Where output column n goes: columns [end[p-1], end[p]) to y[p], a dense
// [M][end[p] - end[p-1]] buffer (lithe_cuda_gemv_split: Q, K and V from one
// pass); one output is end = {N, N, N}.
struct GemvOut {
  float *y[3];
  int end[3];
};

// y[m][n] = (accumulate ? y[m][n] : 0) + act(scale[n] * dot(x[m], W[n]) + bias[n])
template <int M, typename WT, typename XT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemvKernel(const WT *__restrict__ W, const float *__restrict__ scale, const XT *__restrict__ x, int N, int K,
               const float *__restrict__ bias, int epilogue, int accumulate, GemvOut out) {
  const int n = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  if (n >= N) return; // warp-uniform: the whole warp leaves
  float acc[M];
  warpDotRows<M>(W + static_cast<int64_t>(n) * K, x, K, acc);
  if ((threadIdx.x & 31) != 0) return;
  const float s = scale ? scale[n] : 1.0f, b = bias ? bias[n] : 0.0f;
  // Constant indices only (a dynamic one would put `out` in local memory).
  const bool p0 = n < out.end[0], p1 = !p0 && n < out.end[1];
  const int begin = p0 ? 0 : p1 ? out.end[0] : out.end[1];
  const int width = (p0 ? out.end[0] : p1 ? out.end[1] : out.end[2]) - begin;
  float *y = (p0 ? out.y[0] : p1 ? out.y[1] : out.y[2]) + (n - begin);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float v = acc[m] * s + b;
    if (epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH) v = geluTanh(v);
    float &o = y[static_cast<int64_t>(m) * width];
    o = accumulate ? o + v : v;
  }
}

template <int M, typename WT, typename XT>
void launch(const WT *W, const float *scale, const XT *x, int N, int K, const float *bias, int epilogue,
            int accumulate, GemvOut y, cudaStream_t stream) {
  const unsigned blocks = (N + kWarpsPerBlock - 1) / kWarpsPerBlock;
  gemvKernel<M><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(W, scale, x, N, K, bias, epilogue, accumulate, y);
}

GemvOut single(float *y, int64_t N) {
  const int n = static_cast<int>(N);
  return GemvOut{{y, y, y}, {n, n, n}};
}

// M is a template parameter (accumulators live in registers): dispatch 1..8.
template <typename WT, typename XT>
int dispatch(const WT *W, const float *scale, const XT *x, int64_t M, int64_t N, int64_t K, const float *bias,
             int epilogue, int accumulate, float *y, void *stream) {
  if (N > INT32_MAX) return static_cast<int>(cudaErrorInvalidValue);
  return dispatch(W, scale, x, M, N, K, bias, epilogue, accumulate, single(y, N), stream);
}

template <typename WT, typename XT>
int dispatch(const WT *W, const float *scale, const XT *x, int64_t M, int64_t N, int64_t K, const float *bias,
             int epilogue, int accumulate, GemvOut y, void *stream) {
  if (M < 1 || M > LITHE_CUDA_GEMV_MAX_M || N < 1 || K < 1 || N > INT32_MAX || K > INT32_MAX)
    return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const int n = static_cast<int>(N), k = static_cast<int>(K);
  switch (M) {
  case 1: launch<1>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 2: launch<2>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 3: launch<3>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 4: launch<4>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 5: launch<5>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 6: launch<6>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  case 7: launch<7>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  default: launch<8>(W, scale, x, n, k, bias, epilogue, accumulate, y, s); break;
  }
  return static_cast<int>(cudaGetLastError());
}

} // namespace

extern "C" {

int lithe_cuda_gemv_f16(const uint16_t *W, const void *x, int xType, int64_t M, int64_t N, int64_t K,
                        const float *bias, int epilogue, int accumulate, float *y, void *stream) {
  const half *w = reinterpret_cast<const half *>(W);
  if (xType == LITHE_CUDA_F16)
    return dispatch(w, nullptr, static_cast<const half *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
  return dispatch(w, nullptr, static_cast<const float *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
}

int lithe_cuda_gemv(const void *W, int wType, const void *x, int xType, int64_t M, int64_t N, int64_t K,
                    const float *bias, int epilogue, int accumulate, float *y, void *stream) {
  auto run = [&](auto *w) {
    if (xType == LITHE_CUDA_F16)
      return dispatch(w, nullptr, static_cast<const half *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
    return dispatch(w, nullptr, static_cast<const float *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
  };
  if (wType == LITHE_CUDA_F16) return run(static_cast<const half *>(W));
  if (wType == LITHE_CUDA_BF16) return run(static_cast<const __nv_bfloat16 *>(W));
  if (wType == LITHE_CUDA_F32) return run(static_cast<const float *>(W));
  return static_cast<int>(cudaErrorInvalidValue);
}

int lithe_cuda_gemv_split(const void *W, int wType, const float *scale, const void *x, int xType, int64_t M,
                          int64_t K, const float *bias, float *y0, int64_t n0, float *y1, int64_t n1, float *y2,
                          int64_t n2, void *stream) {
  const int64_t N = n0 + n1 + n2;
  if (n0 < 1 || n1 < 1 || n2 < 0 || (n2 > 0) != (y2 != nullptr) || N > INT32_MAX || (wType == LITHE_CUDA_I8) != (scale != nullptr))
    return static_cast<int>(cudaErrorInvalidValue);
  const int e0 = static_cast<int>(n0), e1 = static_cast<int>(n0 + n1), e2 = static_cast<int>(N);
  const GemvOut out{{y0, y1, y2 ? y2 : y1}, {e0, e1, e2}};
  auto run = [&](auto *w) {
    if (xType == LITHE_CUDA_F16)
      return dispatch(w, scale, static_cast<const half *>(x), M, N, K, bias, 0, 0, out, stream);
    return dispatch(w, scale, static_cast<const float *>(x), M, N, K, bias, 0, 0, out, stream);
  };
  if (wType == LITHE_CUDA_F16) return run(static_cast<const half *>(W));
  if (wType == LITHE_CUDA_BF16) return run(static_cast<const __nv_bfloat16 *>(W));
  if (wType == LITHE_CUDA_F32) return run(static_cast<const float *>(W));
  if (wType == LITHE_CUDA_I8) return run(static_cast<const int8_t *>(W));
  return static_cast<int>(cudaErrorInvalidValue);
}

int lithe_cuda_gemv_q8(const int8_t *W, const float *scale, const void *x, int xType, int64_t M, int64_t N,
                       int64_t K, const float *bias, int epilogue, int accumulate, float *y, void *stream) {
  if (xType == LITHE_CUDA_F16)
    return dispatch(W, scale, static_cast<const half *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
  return dispatch(W, scale, static_cast<const float *>(x), M, N, K, bias, epilogue, accumulate, y, stream);
}

} // extern "C"
