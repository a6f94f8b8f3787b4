/*===- cuda_ops.h - what lithe-lower-cuda's host code calls -----------------===*
 *
 * One function per kernel-level op (dialects/lithe_k), the CUDA target's
 * counterpart of kernels.h: lithe-kernels-to-llvm{target=cuda} lowers each
 * lithe_k op to one call of these (the mapping is lithe::cudaKernelCall,
 * lib/Lowering/CudaKernelCalls.cpp; their LLVM types come from the
 * prototypes below). Each enqueues the op's kernels (cuda_kernels.h) on the
 * stream of the execution bound to the calling thread, so the code of one
 * decode step can be captured into a CUDA graph and replayed:
 *
 *   - buffers are device pointers (weights, arena, caches, ids, hidden);
 *   - the past length is read by the kernels from the execution's device
 *     counter, never passed by value;
 *   - nothing allocates, synchronizes or copies to the host;
 *   - a failed launch is recorded in the execution (the first error wins)
 *     and reported by lithe_cuda_exec_error after the step.
 *
 * The runtime (runtime/cuda/device_model.cpp) creates an execution per
 * context, binds it around each generated call and owns the device memory.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LITHE_RUNTIME_CUDA_OPS_H
#define LITHE_RUNTIME_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- the execution: stream, device length, scratch ------------------------ */
typedef struct LitheCudaExecShape {
  int64_t maxRows;     /* most rows one call runs (the capacity) */
  int64_t maxLinear;   /* largest linear input or output width */
  int64_t vocab, width;
  int64_t heads, headDim, capacity; /* the largest cache's */
} LitheCudaExecShape;
typedef struct LitheCudaExec LitheCudaExec;
/* Null with `error` (a static string) when a stream or scratch cannot be made. */
LitheCudaExec *lithe_cuda_exec_new(const LitheCudaExecShape *shape, const char **error);
void lithe_cuda_exec_free(LitheCudaExec *exec);
/* Binds `exec` to the calling thread (the ops below run on it); returns the
 * previous binding. */
LitheCudaExec *lithe_cuda_exec_bind(LitheCudaExec *exec);
void *lithe_cuda_exec_stream(const LitheCudaExec *exec);        /* a cudaStream_t */
int64_t *lithe_cuda_exec_past(const LitheCudaExec *exec);       /* device: the cached length */
int64_t *lithe_cuda_exec_tokens(const LitheCudaExec *exec);     /* device: argmax per LM-head row */
/* The first launch error since the last call (a cudaError_t, or -cublasStatus),
 * 0 when none; clears it. */
int32_t lithe_cuda_exec_error(LitheCudaExec *exec);
/* Why cuBLASLt could not be loaded (runtime/cuda/cublaslt_loader.cpp), or null. */
const char *lithe_cuda_cublaslt_error(void);
/* Bytes of device scratch the execution holds. */
size_t lithe_cuda_exec_bytes(const LitheCudaExec *exec);

/* --- the ops (the bound execution's stream) -------------------------------- */
/* Element types of weights and tables: cuda_kernels.h's LITHE_CUDA_F32 (0),
 * LITHE_CUDA_F16 (1), LITHE_CUDA_BF16 (2) (lithec --precision). */
/* lithe_k.embed_positions: out[r] = table[ids[r]] + positions[*past + r]. */
void lithe_cuda_op_embedding(const void *table, const void *positions, int32_t tableType, int64_t width,
                             const int64_t *ids, int64_t rows, float *out);
/* lithe_k.add: out = a + b over n floats. */
void lithe_cuda_op_add(const float *a, const float *b, int64_t n, float *out);
/* lithe_k.layer_norm; scale, bias nullable. */
void lithe_cuda_op_layer_norm(const float *x, int64_t rows, int64_t width, const float *scale,
                              const float *bias, float eps, float *out);
/* lithe_k.center: out = x - mean(x) per row. */
void lithe_cuda_op_center(const float *x, int64_t rows, int64_t width, float *out);
/* lithe_k.affine_rows / add_rows: x = x * scale + bias per row, in place; each nullable. */
void lithe_cuda_op_affine_rows(float *x, int64_t rows, int64_t width, const float *scale, const float *bias);
/* lithe_k.linear: out = [out +] act(x W^T + bias), W [N][K] (cuda_rows) of
 * weightType, epilogue as kernels.h's LITHE_EPI_* (none, GELU tanh or erf,
 * accumulate). Up to 8 rows: the GEMV; more: f16 weights convert x to f16 in
 * scratch for cuBLASLt, bf16 and fp32 ones run the GEMV 8 rows at a time. */
void lithe_cuda_op_linear(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType, int64_t N,
                          const float *bias, float *out, int32_t epilogue);
/* The same with W int8 [N][K] and one scale per output row (8 rows per GEMV pass). */
void lithe_cuda_op_linear_q8(const float *x, int64_t rows, int64_t K, const int8_t *W, const float *scale,
                             int64_t N, const float *bias, float *out, int32_t epilogue);
/* lithe_k.linear_split: x W^T + bias, W [n0 + n1 + n2][K] of weightType (or
 * int8 when scale is not null), its columns to out0 [rows][n0], out1 [rows][n1]
 * and out2 [rows][n2] (null when n2 = 0). Up to 8 rows one GEMV pass; more:
 * f16 weights one cuBLASLt GEMM per output (W's rows of each are contiguous),
 * others the split GEMV 8 rows at a time. */
void lithe_cuda_op_linear_split(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType,
                                const float *scale, const float *bias, float *out0, int64_t n0, float *out1,
                                int64_t n1, float *out2, int64_t n2);
/* lithe_k.gelu over n floats. */
void lithe_cuda_op_gelu(const float *x, int64_t n, float *out, int32_t tanhForm);
/* lithe_k.kv_append: rows keys and values (rows of heads * headDim floats)
 * at positions *past.. of f16 planes [heads][capacity][headDim]. Returns the
 * execution's error so far (0: ok); the host checked the capacity. */
int32_t lithe_cuda_op_kv_append(void *kPlane, void *vPlane, int64_t heads, int64_t headDim, int64_t capacity,
                                const float *key, const float *value, int64_t rows);
/* lithe_k.attention (causal) over *past + rows cached positions: one row,
 * FlashDecoding; more, the prefill kernel. */
void lithe_cuda_op_attention(const float *query, int64_t rows, const void *kPlane, const void *vPlane,
                             int64_t heads, int64_t headDim, int64_t capacity, float scale, float *out);
/* lithe_k.lm_head: logits [rows][vocab] of a table [vocab][width] of
 * tableType, and each row's argmax into the execution's device tokens. */
void lithe_cuda_op_lm_head(const float *x, int64_t rows, int64_t width, const void *table, int32_t tableType,
                           int64_t vocab, float *logits);

#ifdef __cplusplus
}
#endif

#endif /* LITHE_RUNTIME_CUDA_OPS_H */
