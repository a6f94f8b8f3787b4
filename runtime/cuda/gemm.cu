// gemm.cu - prefill GEMMs through cuBLASLt: fp16 activations and weights,
// fp32 accumulation, bias / GELU through cuBLASLt's own epilogues (no extra
// kernel, no extra pass over y). At M=896 on an H200 cuBLASLt reaches the
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
  const bool gelu = epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH;
  const cublasLtEpilogue_t epi = bias ? (gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                      : (gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
  LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  if (bias) LITHE_LT(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.w, CUDA_R_16F, K, N, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.x, CUDA_R_16F, K, M, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&d.y, yt, N, M, N));
  LITHE_LT(cublasLtMatmulPreferenceCreate(&d.pref));
  const uint64_t ws = g->workspaceBytes;
  LITHE_LT(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  cublasLtMatmulHeuristicResult_t best;
  int found = 0;
  LITHE_LT(cublasLtMatmulAlgoGetHeuristic(g->lt, d.op, d.w, d.x, d.y, d.y, d.pref, 1, &best, &found));
  if (found == 0) return failed(CUBLAS_STATUS_NOT_SUPPORTED);
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  LITHE_LT(cublasLtMatmul(g->lt, d.op, &alpha, W, d.w, x, d.x, &beta, y, d.y, y, d.y, &best.algo, g->workspace,
                          g->workspaceBytes, lithe_cuda::asStream(stream)));
#undef LITHE_LT
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
