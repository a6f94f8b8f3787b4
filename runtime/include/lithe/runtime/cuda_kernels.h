//===- cuda_kernels.h - CUDA runtime kernels ------------------------*- C++ -*-===//
//
// The kernels the CUDA backend launches. Device pointers in, device pointers
// out; `stream` is a cudaStream_t (null: the default stream). Each returns the
// cudaError_t of the launch (0: ok; cudaErrorInvalidValue = 1 for arguments
// out of range); the cuBLASLt GEMM returns -(cublasStatus_t) when cuBLASLt
// fails. Apart from lithe_cuda_gemm_create / destroy, nothing synchronizes,
// allocates or copies to the host, so every call can be captured into a CUDA
// graph; the kernels read the cache length from device memory (`past`), so
// one graph serves every decode step. Outputs must not alias inputs unless
// a comment says so (the residual of lithe_cuda_residual_layer_norm).
//
// Types: fp16 data is passed as uint16_t (IEEE binary16 bits, cuda's `half`),
// activations are fp32 unless an `xType` / `yType` argument says otherwise
// (LITHE_CUDA_F32 or LITHE_CUDA_F16). Pointers to vectors read 8 elements at
// a time must be 16-byte aligned (cudaMalloc gives 256).
// Built only when nvcc is found (see the top-level CMakeLists.txt); tested
// against CPU references by test/unit/CudaKernelsTest.cpp on a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_CUDA_KERNELS_H
#define LITHE_RUNTIME_CUDA_KERNELS_H

#include <cstddef>
#include <cstdint>

extern "C" {

enum { LITHE_CUDA_F32 = 0, LITHE_CUDA_F16 = 1, LITHE_CUDA_BF16 = 2, LITHE_CUDA_I8 = 3 /* weights only */ };
enum { LITHE_CUDA_EPILOGUE_NONE = 0, LITHE_CUDA_EPILOGUE_GELU_TANH = 1 };

// --- elementwise (runtime/cuda/elementwise.cu), fp32 -------------------------
int lithe_cuda_gelu(const float *x, int64_t n, float *y, int tanhForm, void *stream);
int lithe_cuda_add(const float *a, const float *b, int64_t n, float *y, void *stream);
// x[m][d] = x[m][d] * scale[d] + bias[d] over M rows of D, in place; scale, bias nullable.
int lithe_cuda_affine_rows(float *x, int64_t M, int64_t D, const float *scale, const float *bias, void *stream);
// y = fp16(x), round to nearest even (the GEMM's input).
int lithe_cuda_to_f16(const float *x, int64_t n, uint16_t *y, void *stream);
// y[m] = x[m] - mean(x[m]) per row of D (layer_norm.cu).
int lithe_cuda_center(const float *x, int64_t M, int64_t D, float *y, void *stream);
// y[m] = (x[m] - mean) / sqrt(var + eps) * gamma + beta per row of D; gamma, beta nullable.
int lithe_cuda_layer_norm(const float *x, int64_t M, int64_t D, const float *gamma,
                          const float *beta, float eps, float *y, void *stream);

// Residual add fused with LayerNorm (layer_norm.cu), rows of D, fp32 residual:
//   residual[m] += delta[m] (skipped when delta is null), then
//   y[m] = LayerNorm(residual[m]) * gamma + beta, y fp32 or fp16 (yType; fp16
// feeds the f16 GEMM / GEMV input directly). gamma, beta nullable.
int lithe_cuda_residual_layer_norm(float *residual, const float *delta, int64_t M, int64_t D,
                                   const float *gamma, const float *beta, float eps, void *y,
                                   int yType, void *stream);

// --- GEMV for decode (gemv.cu): 1 <= M <= 8 activation rows ----------------
// y[m][n] = (accumulate ? y[m][n] : 0) + act(sum_k x[m][k] * W[n][k] + bias[n])
// W fp16 [N][K] (PyTorch's nn.Linear layout), x [M][K] fp32 or fp16 (xType),
// y [M][N] fp32, bias [N] fp32 or null, act = identity or GELU-tanh
// (epilogue), fp32 accumulation. accumulate = 1 adds into y (the residual).
// One warp per output column; 16-byte weight loads when rows are 16-byte
// aligned (K % 8 == 0 for fp16, K % 16 == 0 for int8), else a scalar loop.
enum { LITHE_CUDA_GEMV_MAX_M = 8 };
int lithe_cuda_gemv_f16(const uint16_t *W, const void *x, int xType, int64_t M, int64_t N, int64_t K,
                        const float *bias, int epilogue, int accumulate, float *y, void *stream);
// The same with W of type wType: LITHE_CUDA_F16, LITHE_CUDA_BF16 or LITHE_CUDA_F32
// (fp32 rows need K % 8 == 0 and 32-byte alignment for the vector loads, else the scalar loop).
int lithe_cuda_gemv(const void *W, int wType, const void *x, int xType, int64_t M, int64_t N, int64_t K,
                    const float *bias, int epilogue, int accumulate, float *y, void *stream);
// One pass over W [n0 + n1 + n2][K] whose output columns go to two or three
// buffers: y0 [M][n0] gets columns [0, n0), y1 [M][n1] the next n1, y2 [M][n2]
// (null when n2 = 0) the rest; no epilogue (attention's Q, K and V projections
// as one launch: lithe_k.linear_split). wType LITHE_CUDA_I8 takes the per-row
// `scale` (null otherwise).
int lithe_cuda_gemv_split(const void *W, int wType, const float *scale, const void *x, int xType, int64_t M,
                          int64_t K, const float *bias, float *y0, int64_t n0, float *y1, int64_t n1, float *y2,
                          int64_t n2, void *stream);
// The same with int8 weight-only quantization: W int8 [N][K], the dot of row
// n scaled by scale[n] (fp32, one per output row) before the bias.
int lithe_cuda_gemv_q8(const int8_t *W, const float *scale, const void *x, int xType, int64_t M,
                       int64_t N, int64_t K, const float *bias, int epilogue, int accumulate,
                       float *y, void *stream);

// --- GEMM for prefill (gemm.cu): cuBLASLt, fp16 in, fp32 accumulation --------
// y[m][n] = (accumulate ? y[m][n] : 0) + act(sum_k x[m][k] * W[n][k] + bias[n])
// x fp16 [M][K], W fp16 [N][K], y [M][N] fp32 or fp16 (yType), bias [N] of
// y's type (cuBLASLt's rule) or null; bias and act fused through cuBLASLt's
// epilogues (its GELU is the tanh form) when it has an algorithm for them,
// else applied by a separate pass over y. accumulate needs an fp32 y and no
// GELU (GELU would apply after the add): cudaErrorInvalidValue otherwise.
// The handle owns a cublasLt handle, its workspace and one plan per shape
// (descriptors + cuBLASLt's heuristic choice, made on a shape's first call,
// host work only). Not thread-safe: one handle per thread.
typedef struct LitheCudaGemm LitheCudaGemm;
LitheCudaGemm *lithe_cuda_gemm_create(size_t workspaceBytes); // null on failure
void lithe_cuda_gemm_destroy(LitheCudaGemm *gemm);
// How many calls so far ran their bias/GELU as a separate pass (cuBLASLt had
// no fused algorithm): 0 is what the prefill speed assumes.
int64_t lithe_cuda_gemm_separate_epilogues(const LitheCudaGemm *gemm);
int lithe_cuda_gemm_f16(LitheCudaGemm *gemm, const uint16_t *x, const uint16_t *W, int64_t M, int64_t N,
                        int64_t K, const void *bias, int epilogue, int accumulate, void *y, int yType,
                        void *stream);

// --- embeddings (embedding.cu) ----------------------------------------------
// y[m][d] = wte[tokens[m]][d] + wpe[*past + m][d]: fp16 tables [V][D] and
// [P][D], fp32 y [M][D]. tokens are int64 on the device; token ids and
// positions must be in range (checked on the host before launch).
int lithe_cuda_embedding_f16(const int64_t *tokens, int64_t M, const int64_t *past, const uint16_t *wte,
                             const uint16_t *wpe, int64_t D, float *y, void *stream);
// The same with tables of tableType (LITHE_CUDA_F16, LITHE_CUDA_BF16 or LITHE_CUDA_F32).
int lithe_cuda_embedding(const int64_t *tokens, int64_t M, const int64_t *past, const void *wte, const void *wpe,
                         int tableType, int64_t D, float *y, void *stream);

// --- KV cache and attention (attention.cu) -----------------------------------
// Caches are fp16 [H][capacity][hd], one for K and one for V per layer.
// `past` (device int64) is the number of positions already cached; the M new
// tokens take positions *past .. *past+M-1. Attention outputs are fp32.
//
// Append: kCache[h][*past+m][d] = k[m*ld + h*hd + d], the same for v. k and v
// are rows of stride ld (GPT-2's fused qkv output: ld = 3*H*hd, k = qkv + H*hd,
// v = qkv + 2*H*hd). Positions >= capacity are dropped (the host checks).
int lithe_cuda_kv_append_f16(const float *k, const float *v, int64_t ld, int64_t M, int64_t H, int64_t hd,
                             const int64_t *past, int64_t capacity, uint16_t *kCache, uint16_t *vCache,
                             void *stream);
// *past += by: the last kernel of a step, so the next replay of the graph sees the new length.
int lithe_cuda_advance_length(int64_t *past, int64_t by, void *stream);
// Decode attention for one new token (FlashDecoding): attends q (fp32, head h
// at q[h*hd..]) to the *past + 1 cached positions (append first), softmax with
// `scale` (1/sqrt(hd)), out [H*hd] fp32. The cache is split into chunks of
// 128 positions: one block per (head, chunk) writes a partial (max, sum,
// unnormalized output) to `workspace`, a second kernel combines them. The grid
// is sized by capacity, not by the length, so one graph fits every step;
// chunks past the length exit at once. hd <= 128.
int64_t lithe_cuda_decode_attention_workspace_floats(int64_t H, int64_t hd, int64_t capacity);
int lithe_cuda_decode_attention_f16(const float *q, int64_t H, int64_t hd, const int64_t *past,
                                    int64_t capacity, const uint16_t *kCache, const uint16_t *vCache,
                                    float scale, float *workspace, float *out, void *stream);
// Causal attention for M new tokens (prefill, or a chunk of it after *past
// cached positions; append first): query m (row stride ldq, head h at
// h*hd) sees positions 0 .. *past + m. out fp32 or fp16 (outType: fp16 feeds
// the output projection's GEMM directly), row stride ldo. Online softmax
// over key tiles of 32 (FlashAttention's recurrence) on CUDA cores, fp32
// math, no tensor cores: correct for any M, hd <= 128, and the first thing to
// replace if prefill profiles show attention (see docs/cuda.md).
int lithe_cuda_prefill_attention_f16(const float *q, int64_t ldq, int64_t M, int64_t H, int64_t hd,
                                     const int64_t *past, int64_t capacity, const uint16_t *kCache,
                                     const uint16_t *vCache, float scale, void *out, int outType,
                                     int64_t ldo, void *stream);

// --- LM head with greedy argmax, and sampling (lm_head.cu) -------------------
// logits[v] = sum_d x[d] * table[v][d] over the vocabulary (fp16 table [V][D],
// x [D] fp32 or fp16, fp32 accumulation; GPT-2 ties it to the token
// embedding), then *token = argmax (the lowest id among equal maxima), all on
// the device: only the token id needs to come back. logits (fp32 [V]) is
// written when not null. workspace: lithe_cuda_lm_head_workspace_bytes(V).
size_t lithe_cuda_lm_head_workspace_bytes(int64_t V);
int lithe_cuda_lm_head_argmax_f16(const uint16_t *table, const void *x, int xType, int64_t V, int64_t D,
                                  float *logits, void *workspace, int64_t *token, void *stream);
// The same with a table of tableType (LITHE_CUDA_F16, LITHE_CUDA_BF16 or LITHE_CUDA_F32).
int lithe_cuda_lm_head_argmax(const void *table, int tableType, const void *x, int xType, int64_t V, int64_t D,
                              float *logits, void *workspace, int64_t *token, void *stream);
// Sampling from fp32 logits [V] (written by the call above), in one block:
// softmax(logits / temperature) over the topK largest logits (ties: lower
// ids first; topK = 0 or > 1024 means 1024: the draw never looks beyond the
// 1024 largest), then the smallest prefix of those whose mass reaches topP
// (1: no cut); *token = the draw with *uniform in [0, 1). temperature > 0.
int lithe_cuda_sample(const float *logits, int64_t V, float temperature, int64_t topK, float topP,
                      const float *uniform, int64_t *token, void *stream);
// *uniform = a Philox draw in [0, 1) keyed by (seed, *counter): with the
// cache length as the counter, each decode step of a graph draws afresh.
int lithe_cuda_uniform(uint64_t seed, const int64_t *counter, float *uniform, void *stream);
}

#endif // LITHE_RUNTIME_CUDA_KERNELS_H
