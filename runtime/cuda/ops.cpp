//===- ops.cpp - the CUDA ops lithe-lower-cuda's host code calls ----------===//
//
// runtime/include/lithe/runtime/cuda_ops.h: each lithe_k op as the kernel
// launches of cuda_kernels.h on the bound execution's stream. What the ops
// decide here, on the host, is only what the shapes decide (GEMV up to 8
// rows, else cuBLASLt; one-row decode attention, else prefill), so a
// captured decode step replays the same launches every time.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_ops.h"

#include "lithe/runtime/cuda_kernels.h"
#include "lithe/runtime/kernels.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <utility>
#include <new>

struct LitheCudaExec {
  cudaStream_t stream = nullptr;
  LitheCudaGemm *gemm = nullptr;
  int64_t *past = nullptr;     // device: one int64
  int64_t *tokens = nullptr;   // device: maxRows int64
  float *attention = nullptr;  // device: decode attention partials
  uint16_t *half = nullptr;    // device: a GEMM input in fp16, maxRows x maxLinear
  void *lmHead = nullptr;      // device: the argmax's per-block candidates
  size_t bytes = 0;
  int32_t error = 0;
  LitheCudaExecShape shape{};
};

namespace {

thread_local LitheCudaExec *bound = nullptr;

LitheCudaExec &exec() { return *bound; }

/// Records the first failure of a launch.
void check(int status) {
  if (status != 0 && bound && bound->error == 0) bound->error = status;
}

constexpr size_t kGemmWorkspace = 32u << 20;

} // namespace

extern "C" {

LitheCudaExec *lithe_cuda_exec_new(const LitheCudaExecShape *shape, const char **error) {
  auto *e = new (std::nothrow) LitheCudaExec();
  if (!e) return *error = "out of host memory", nullptr;
  e->shape = *shape;
  auto alloc = [&](void **p, size_t n) {
    if (cudaMalloc(p, std::max<size_t>(n, 16)) != cudaSuccess) return false;
    e->bytes += n;
    return true;
  };
  const size_t rows = static_cast<size_t>(std::max<int64_t>(shape->maxRows, 1));
  const size_t attention =
      static_cast<size_t>(lithe_cuda_decode_attention_workspace_floats(shape->heads, shape->headDim, shape->capacity));
  const size_t half = rows * static_cast<size_t>(std::max(shape->maxLinear, shape->width));
  bool ok = cudaStreamCreateWithFlags(&e->stream, cudaStreamNonBlocking) == cudaSuccess &&
            alloc(reinterpret_cast<void **>(&e->past), sizeof(int64_t)) &&
            alloc(reinterpret_cast<void **>(&e->tokens), rows * sizeof(int64_t)) &&
            alloc(reinterpret_cast<void **>(&e->attention), attention * sizeof(float)) &&
            alloc(reinterpret_cast<void **>(&e->half), half * 2) &&
            alloc(&e->lmHead, lithe_cuda_lm_head_workspace_bytes(shape->vocab));
  if (!ok) {
    lithe_cuda_exec_free(e);
    *error = "cannot create a CUDA stream and its scratch (out of GPU memory?)";
    return nullptr;
  }
  e->gemm = lithe_cuda_gemm_create(kGemmWorkspace);
  if (!e->gemm) {
    lithe_cuda_exec_free(e);
    const char *lt = lithe_cuda_cublaslt_error();
    *error = lt ? lt : "cannot create the cuBLASLt GEMM handle and its workspace";
    return nullptr;
  }
  e->bytes += kGemmWorkspace;
  cudaMemsetAsync(e->past, 0, sizeof(int64_t), e->stream);
  return e;
}

void lithe_cuda_exec_free(LitheCudaExec *e) {
  if (!e) return;
  if (bound == e) bound = nullptr;
  lithe_cuda_gemm_destroy(e->gemm);
  for (void *p : {static_cast<void *>(e->past), static_cast<void *>(e->tokens), static_cast<void *>(e->attention),
                  static_cast<void *>(e->half), e->lmHead})
    if (p) cudaFree(p);
  if (e->stream) cudaStreamDestroy(e->stream);
  delete e;
}

LitheCudaExec *lithe_cuda_exec_bind(LitheCudaExec *e) {
  LitheCudaExec *prev = bound;
  bound = e;
  return prev;
}

void *lithe_cuda_exec_stream(const LitheCudaExec *e) { return e->stream; }
int64_t *lithe_cuda_exec_past(const LitheCudaExec *e) { return e->past; }
int64_t *lithe_cuda_exec_tokens(const LitheCudaExec *e) { return e->tokens; }
size_t lithe_cuda_exec_bytes(const LitheCudaExec *e) { return e->bytes; }

int32_t lithe_cuda_exec_error(LitheCudaExec *e) {
  int32_t s = e->error;
  e->error = 0;
  return s;
}

void lithe_cuda_op_embedding(const void *table, const void *positions, int32_t tableType, int64_t width,
                             const int64_t *ids, int64_t rows, float *out) {
  check(lithe_cuda_embedding(ids, rows, exec().past, table, positions, tableType, width, out, exec().stream));
}

void lithe_cuda_op_add(const float *a, const float *b, int64_t n, float *out) {
  check(lithe_cuda_add(a, b, n, out, exec().stream));
}

void lithe_cuda_op_layer_norm(const float *x, int64_t rows, int64_t width, const float *scale, const float *bias,
                              float eps, float *out) {
  check(lithe_cuda_layer_norm(x, rows, width, scale, bias, eps, out, exec().stream));
}

void lithe_cuda_op_center(const float *x, int64_t rows, int64_t width, float *out) {
  check(lithe_cuda_center(x, rows, width, out, exec().stream));
}

void lithe_cuda_op_affine_rows(float *x, int64_t rows, int64_t width, const float *scale, const float *bias) {
  check(lithe_cuda_affine_rows(x, rows, width, scale, bias, exec().stream));
}

namespace {

/// The kernels' (epilogue, accumulate) for a lithe_k epilogue; GELU-erf
/// has no fused form: `erf` asks for a separate pass after the product.
struct Epi {
  int epilogue = LITHE_CUDA_EPILOGUE_NONE;
  int accumulate = 0;
  bool erf = false;
};
Epi epi(int32_t e) {
  Epi r;
  if (e == LITHE_EPI_GELU_TANH) r.epilogue = LITHE_CUDA_EPILOGUE_GELU_TANH;
  else if (e == LITHE_EPI_GELU_ERF) r.erf = true;
  else if (e == LITHE_EPI_ACCUMULATE) r.accumulate = 1;
  return r;
}

} // namespace

void lithe_cuda_op_linear(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType, int64_t N,
                          const float *bias, float *out, int32_t epilogue) {
  LitheCudaExec &e = exec();
  const Epi p = epi(epilogue);
  if (rows > LITHE_CUDA_GEMV_MAX_M && weightType == LITHE_CUDA_F16) {
    // cuBLASLt reads fp16 activations: convert x once into the scratch.
    check(lithe_cuda_to_f16(x, rows * K, e.half, e.stream));
    check(lithe_cuda_gemm_f16(e.gemm, e.half, static_cast<const uint16_t *>(W), rows, N, K, bias, p.epilogue,
                              p.accumulate, out, LITHE_CUDA_F32, e.stream));
  } else {
    // The GEMV, 8 rows per pass over the weights (bf16 / fp32 have no GEMM here yet).
    for (int64_t r = 0; r < rows; r += LITHE_CUDA_GEMV_MAX_M) {
      const int64_t m = std::min<int64_t>(LITHE_CUDA_GEMV_MAX_M, rows - r);
      check(lithe_cuda_gemv(W, weightType, x + r * K, LITHE_CUDA_F32, m, N, K, bias, p.epilogue, p.accumulate,
                            out + r * N, e.stream));
    }
  }
  if (p.erf) check(lithe_cuda_gelu(out, rows * N, out, 0, e.stream));
}

void lithe_cuda_op_linear_q8(const float *x, int64_t rows, int64_t K, const int8_t *W, const float *scale, int64_t N,
                             const float *bias, float *out, int32_t epilogue) {
  LitheCudaExec &e = exec();
  const Epi p = epi(epilogue);
  // No int8 GEMM: prefill reads the weights once per 8 rows.
  for (int64_t r = 0; r < rows; r += LITHE_CUDA_GEMV_MAX_M) {
    const int64_t m = std::min<int64_t>(LITHE_CUDA_GEMV_MAX_M, rows - r);
    check(lithe_cuda_gemv_q8(W, scale, x + r * K, LITHE_CUDA_F32, m, N, K, bias, p.epilogue, p.accumulate,
                             out + r * N, e.stream));
  }
  if (p.erf) check(lithe_cuda_gelu(out, rows * N, out, 0, e.stream));
}

void lithe_cuda_op_linear_split(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType,
                                const float *scale, const float *bias, float *out0, int64_t n0, float *out1,
                                int64_t n1, float *out2, int64_t n2) {
  LitheCudaExec &e = exec();
  const int wType = scale ? LITHE_CUDA_I8 : weightType;
  if (rows > LITHE_CUDA_GEMV_MAX_M && wType == LITHE_CUDA_F16) {
    // One GEMM per output: each output's weight rows are contiguous in W.
    check(lithe_cuda_to_f16(x, rows * K, e.half, e.stream));
    const auto *w = static_cast<const uint16_t *>(W);
    int64_t first = 0;
    for (auto [out, n] : {std::pair<float *, int64_t>{out0, n0}, {out1, n1}, {out2, n2}}) {
      if (n == 0) continue;
      check(lithe_cuda_gemm_f16(e.gemm, e.half, w + first * K, rows, n, K, bias ? bias + first : nullptr,
                                LITHE_CUDA_EPILOGUE_NONE, 0, out, LITHE_CUDA_F32, e.stream));
      first += n;
    }
    return;
  }
  for (int64_t r = 0; r < rows; r += LITHE_CUDA_GEMV_MAX_M) {
    const int64_t m = std::min<int64_t>(LITHE_CUDA_GEMV_MAX_M, rows - r);
    check(lithe_cuda_gemv_split(W, wType, scale, x + r * K, LITHE_CUDA_F32, m, K, bias, out0 + r * n0, n0,
                                out1 + r * n1, n1, out2 ? out2 + r * n2 : nullptr, n2, e.stream));
  }
}

void lithe_cuda_op_gelu(const float *x, int64_t n, float *out, int32_t tanhForm) {
  check(lithe_cuda_gelu(x, n, out, tanhForm, exec().stream));
}

int32_t lithe_cuda_op_kv_append(void *kPlane, void *vPlane, int64_t heads, int64_t headDim, int64_t capacity,
                                const float *key, const float *value, int64_t rows) {
  LitheCudaExec &e = exec();
  check(lithe_cuda_kv_append_f16(key, value, heads * headDim, rows, heads, headDim, e.past, capacity,
                                 static_cast<uint16_t *>(kPlane), static_cast<uint16_t *>(vPlane), e.stream));
  return e.error;
}

void lithe_cuda_op_attention(const float *query, int64_t rows, const void *kPlane, const void *vPlane, int64_t heads,
                             int64_t headDim, int64_t capacity, float scale, float *out) {
  LitheCudaExec &e = exec();
  const auto *k = static_cast<const uint16_t *>(kPlane);
  const auto *v = static_cast<const uint16_t *>(vPlane);
  if (rows == 1)
    check(lithe_cuda_decode_attention_f16(query, heads, headDim, e.past, capacity, k, v, scale, e.attention, out,
                                          e.stream));
  else
    check(lithe_cuda_prefill_attention_f16(query, heads * headDim, rows, heads, headDim, e.past, capacity, k, v,
                                           scale, out, LITHE_CUDA_F32, heads * headDim, e.stream));
}

void lithe_cuda_op_lm_head(const float *x, int64_t rows, int64_t width, const void *table, int32_t tableType,
                           int64_t vocab, float *logits) {
  LitheCudaExec &e = exec();
  for (int64_t r = 0; r < rows; ++r)
    check(lithe_cuda_lm_head_argmax(table, tableType, x + r * width, LITHE_CUDA_F32, vocab, width, logits + r * vocab,
                                    e.lmHead, e.tokens + r, e.stream));
}

} // extern "C"
