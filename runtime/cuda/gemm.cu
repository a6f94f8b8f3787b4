// gemm.cu - prefill GEMMs through cuBLASLt: fp16 activations and weights,
// fp32 accumulation, bias / GELU through cuBLASLt's own epilogues (no extra
// pass over y) where cuBLASLt offers them for the types, else one extra pass.
// At M=896 on an H200 cuBLASLt reaches the tensor-core rates in
// docs/benchmarks.md; at M <= 8 the GEMV (gemv.cu) wins.
//
// Row-major y[M][N] = x[M][K] * W^T with W [N][K] is, in cuBLAS's column-major
// terms, D (N x M, ld N) = op_T(W as K x N, ld K) * (x as K x M, ld K).
//
// The descriptors and cuBLASLt's algorithm choice are built once per shape
// and kept in the handle (a plan): a prefill calls the same four shapes once
// per layer, and the heuristic is host work that would otherwise run before
// every launch.
#include "common.cuh"
#include "lithe/runtime/cuda_kernels.h"

#include <cublasLt.h>

#include <map>
#include <memory>
#include <tuple>

namespace {

// One GEMM shape: cuBLASLt's descriptors and chosen algorithm. The bias
// pointer is set per call; everything else is fixed by the key.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool separateEpilogue = false; // cuBLASLt could not fuse bias/GELU: biasActivationKernel runs after
  ~Plan() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (y) cublasLtMatrixLayoutDestroy(y);
    if (x) cublasLtMatrixLayoutDestroy(x);
    if (w) cublasLtMatrixLayoutDestroy(w);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// M, N, K, yType, GELU, bias present
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int, bool, bool>;

} // namespace

struct LitheCudaGemm {
  cublasLtHandle_t lt = nullptr;
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  int64_t separateEpilogues = 0; // calls whose bias/GELU cuBLASLt could not fuse
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

namespace {

#define LITHE_LT(call)                                                                             \
  if (cublasStatus_t s_ = (call); s_ != CUBLAS_STATUS_SUCCESS) return s_

// cuBLASLt's first choice for the plan's descriptors; CUBLAS_STATUS_NOT_SUPPORTED
// when it has none (e.g. an epilogue it does not fuse for these types).
cublasStatus_t pick(const LitheCudaGemm *g, Plan &p) {
  cublasLtMatmulHeuristicResult_t best;
  int found = 0;
  LITHE_LT(cublasLtMatmulAlgoGetHeuristic(g->lt, p.op, p.w, p.x, p.y, p.y, p.pref, 1, &best, &found));
  if (found == 0) return CUBLAS_STATUS_NOT_SUPPORTED;
  p.algo = best.algo;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t buildPlan(const LitheCudaGemm *g, const PlanKey &key, Plan &p) {
  const auto [M, N, K, yType, gelu, hasBias] = key;
  LITHE_LT(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transW = CUBLAS_OP_T, transX = CUBLAS_OP_N;
  LITHE_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &transW, sizeof(transW)));
  LITHE_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &transX, sizeof(transX)));
  LITHE_LT(cublasLtMatrixLayoutCreate(&p.w, CUDA_R_16F, K, N, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&p.x, CUDA_R_16F, K, M, K));
  LITHE_LT(cublasLtMatrixLayoutCreate(&p.y, yType == LITHE_CUDA_F16 ? CUDA_R_16F : CUDA_R_32F, N, M, N));
  LITHE_LT(cublasLtMatmulPreferenceCreate(&p.pref));
  const uint64_t ws = g->workspaceBytes;
  LITHE_LT(cublasLtMatmulPreferenceSetAttribute(p.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  // The bias / GELU epilogue fused into the GEMM when cuBLASLt offers an
  // algorithm for it, else the plain GEMM followed by biasActivationKernel.
  const cublasLtEpilogue_t fused = hasBias ? (gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                           : (gelu ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
  LITHE_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &fused, sizeof(fused)));
  const cublasStatus_t s = pick(g, p);
  if (s == CUBLAS_STATUS_SUCCESS || fused == CUBLASLT_EPILOGUE_DEFAULT) return s;
  const cublasLtEpilogue_t plain = CUBLASLT_EPILOGUE_DEFAULT;
  LITHE_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &plain, sizeof(plain)));
  p.separateEpilogue = true;
  return pick(g, p);
}

#undef LITHE_LT

// The epilogue as a separate pass, for when cuBLASLt cannot fuse it:
// y[m][n] = act(y[m][n] + bias[n]).
template <typename YT>
__global__ void biasActivationKernel(YT *y, int64_t total, int64_t N, const YT *bias, int gelu) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  float v = lithe_cuda::toFloat(y[i]) + (bias ? lithe_cuda::toFloat(bias[i % N]) : 0.0f);
  lithe_cuda::store(y, i, gelu ? lithe_cuda::geluTanh(v) : v);
}

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

int64_t lithe_cuda_gemm_separate_epilogues(const LitheCudaGemm *g) { return g->separateEpilogues; }

void lithe_cuda_gemm_destroy(LitheCudaGemm *g) {
  if (!g) return;
  g->plans.clear(); // before the handle they were made with
  if (g->workspace) cudaFree(g->workspace);
  if (g->lt) cublasLtDestroy(g->lt);
  delete g;
}

int lithe_cuda_gemm_f16(LitheCudaGemm *g, const uint16_t *x, const uint16_t *W, int64_t M, int64_t N, int64_t K,
                        const void *bias, int epilogue, int accumulate, void *y, int yType, void *stream) {
  if (!g || M < 1 || N < 1 || K < 1 || (accumulate && (yType != LITHE_CUDA_F32 || epilogue != LITHE_CUDA_EPILOGUE_NONE)))
    return static_cast<int>(cudaErrorInvalidValue);
  const bool gelu = epilogue == LITHE_CUDA_EPILOGUE_GELU_TANH;
  const PlanKey key{M, N, K, yType == LITHE_CUDA_F16 ? LITHE_CUDA_F16 : LITHE_CUDA_F32, gelu, bias != nullptr};
  auto found = g->plans.find(key);
  if (found == g->plans.end()) {
    auto plan = std::make_unique<Plan>();
    if (cublasStatus_t s = buildPlan(g, key, *plan); s != CUBLAS_STATUS_SUCCESS) return failed(s);
    found = g->plans.emplace(key, std::move(plan)).first;
  }
  Plan &p = *found->second;
  if (bias && !p.separateEpilogue)
    if (cublasStatus_t s = cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias));
        s != CUBLAS_STATUS_SUCCESS)
      return failed(s);
  cudaStream_t cuStream = lithe_cuda::asStream(stream);
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  if (cublasStatus_t s = cublasLtMatmul(g->lt, p.op, &alpha, W, p.w, x, p.x, &beta, y, p.y, y, p.y, &p.algo,
                                        g->workspace, g->workspaceBytes, cuStream);
      s != CUBLAS_STATUS_SUCCESS)
    return failed(s);
  if (p.separateEpilogue) {
    ++g->separateEpilogues;
    const int64_t total = M * N;
    const unsigned blocks = static_cast<unsigned>((total + 255) / 256);
    if (yType == LITHE_CUDA_F16)
      biasActivationKernel<<<blocks, 256, 0, cuStream>>>(static_cast<half *>(y), total, N,
                                                        static_cast<const half *>(bias), gelu);
    else
      biasActivationKernel<<<blocks, 256, 0, cuStream>>>(static_cast<float *>(y), total, N,
                                                        static_cast<const float *>(bias), gelu);
  }
  return static_cast<int>(cudaGetLastError());
}

} // extern "C"
