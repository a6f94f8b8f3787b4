// gemm.cu - prefill GEMMs through cuBLASLt: fp16 activations and weights,
// fp32 accumulation, bias / GELU through cuBLASLt's own epilogues (no extra
// pass over y) where cuBLASLt offers them for the types, else one extra pass. At M=896 on an H200 cuBLASLt reaches the
// tensor-core rates in docs/benchmarks.md; at M <= 8 the GEMV (gemv.cu) wins.
//
// Row-major y[M][N] = x[M][K] * W^T with W [N][K] is, in cuBLAS's column-major
// terms, D (N x M, ld N) = op_T(W as K x N, ld K) * (x as K x M, ld K).
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

#include <cublasLt.h>

struct LitheCudaGemm {
  cublasLtHandle_t lt = nullptr;
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  int64_t separateEpilogues = 0; // calls whose bias/GELU cuBLASLt could not fuse
};

namespace {

// Owns the descriptors of one call; destroys them on every return path.
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~Descriptors() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (y) cublasLtMatrixLayoutDestroy(y);
    if (x) cublasLtMatrixLayoutDestroy(x);
    if (w) cublasLtMatrixLayoutDestroy(w);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

int failed(cublasStatus_t s) { return -static_cast<int>(s); }

// cuBLASLt's first choice for these descriptors; CUBLAS_STATUS_NOT_SUPPORTED
// when it has none (e.g. an epilogue it does not fuse for these types).
cublasStatus_t pick(const LitheCudaGemm *g, const Descriptors &d, cublasLtMatmulAlgo_t *algo) {
  cublasLtMatmulHeuristicResult_t best;
  int found = 0;
  cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(g->lt, d.op, d.w, d.x, d.y, d.y, d.pref, 1, &best, &found);
  if (s != CUBLAS_STATUS_SUCCESS) return s;
  if (found == 0) return CUBLAS_STATUS_NOT_SUPPORTED;
  *algo = best.algo;
  return CUBLAS_STATUS_SUCCESS;
}

// The epilogue as a separate pass, for when cuBLASLt cannot fuse it:
// y[m][n] = act(y[m][n] + bias[n]).
template <typename YT>
__global__ void biasActivationKernel(YT *y, int64_t total, int64_t N, const YT *bias, int gelu) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  float v = lithe_cuda::toFloat(y[i]) + (bias ? lithe_cuda::toFloat(bias[i % N]) : 0.0f);
  lithe_cuda::store(y, i, gelu ? lithe_cuda::geluTanh(v) : v);
}

} // namespace

extern "C" {

LitheCudaGemm *lithe_cuda_gemm_create(size_t workspaceBytes) {
  LitheCudaGemm *g = new LitheCudaGemm;
  g->workspaceBytes = workspaceBytes;
  if (cublasLtCreate(&g->lt) != CUBLAS_STATUS_SUCCESS ||
      (workspaceBytes && cudaMalloc(&g->workspace, workspaceBytes) != cudaSuccess)) {
    lithe_cuda_gemm_destroy(g);
    return nullptr;
  }
  return g;
}

int64_t lithe_cuda_gemm_separate_epilogues(const LitheCudaGemm *g) { return g->separateEpilogues; }

void lithe_cuda_gemm_destroy(LitheCudaGemm *g) {
  if (!g) return;
  if (g->workspace) cudaFree(g->workspace);
  if (g->lt) cublasLtDestroy(g->lt);
  delete g;
}

int lithe_cuda_gemm_f16(LitheCudaGemm *g, const uint16_t *x, const uint16_t *W, int64_t M, int64_t N, int64_t K,
                        const void *bias, int epilogue, int accumulate, void *y, int yType, void *stream) {
  if (!g || M < 1 || N < 1 || K < 1 || (accumulate && (yType != LITHE_CUDA_F32 || epilogue != LITHE_CUDA_EPILOGUE_NONE)))
    return static_cast<int>(cudaErrorInvalidValue);
  const cudaDataType_t yt = yType == LITHE_CUDA_F16 ? CUDA_R_16F : CUDA_R_32F;
  Descriptors d;
  cublasStatus_t s;
#define LITHE_LT(call)                                                                             \
  if ((s = (call)) != CUBLAS_STATUS_SUCCESS) return failed(s)
  LITHE_LT(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transW = CUBLAS_OP_T, transX = CUBLAS_OP_N;
  LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &transW, sizeof(transW)));
  LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &transX, sizeof(transX)));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.w, CUDA_R_16F, K, N, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.x, CUDA_R_16F, K, M, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.y, yt, N, M, N));
  LITHE_LT(cublasLtMatmulPreferenceCreate(&d.pref));
  const uint64_t ws = g->workspaceBytes;
  LITHE_LT(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));

  // The bias / GELU epilogue fused into the GEMM when cuBLASLt offers an
  // algorithm for it, else the plain GEMM followed by biasActivationKernel.
  const bool gelu = epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH;
  const cublasLtEpilogue_t fused = bias ? (gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                        : (gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
  LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &fused, sizeof(fused)));
  if (bias) LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  cublasLtMatmulAlgo_t algo;
  bool separateEpilogue = false;
  if ((s = pick(g, d, &algo)) != CUBLAS_STATUS_SUCCESS) {
    if (fused == CUBLASLT_EPILOGUE_DEFAULT) return failed(s);
    const cublasLtEpilogue_t plain = CUBLASLT_EPILOGUE_DEFAULT;
    LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &plain, sizeof(plain)));
    LITHE_LT(pick(g, d, &algo));
    separateEpilogue = true;
    ++g->separateEpilogues;
  }
  cudaStream_t cuStream = lithe_cuda::asStream(stream);
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  LITHE_LT(cublasLtMatmul(g->lt, d.op, &alpha, W, d.w, x, d.x, &beta, y, d.y, y, d.y, &algo, g->workspace,
                          g->workspaceBytes, cuStream));
  if (separateEpilogue) {
    const int64_t total = M * N;
    const unsigned blocks = static_cast<unsigned>((total + 255) / 256);
    if (yType == LITHE_CUDA_F16)
      biasActivationKernel<<<blocks, 256, 0, cuStream>>>(static_cast<half *>(y), total, N,
                                                        static_cast<const half *>(bias), gelu);
    else
      biasActivationKernel<<<blocks, 256, 0, cuStream>>>(static_cast<float *>(y), total, N,
                                                        static_cast<const float *>(bias), gelu);
  }
#undef LITHE_LT
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
