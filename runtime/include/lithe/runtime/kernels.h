/* lithe/runtime/kernels.h - hot CPU kernels called by compiled Lithe binaries.
 *
 * A plain C++17 library with a C-compatible API. Every function is thread-safe
 * to call, but the kernels parallelise internally over one process-wide thread
 * pool: when two application threads call kernels at the same time, the second
 * one runs its kernel single-threaded instead of waiting.
 *
 * Conventions
 *  - Tensors are dense, row-major float32 unless stated. Sizes are int64_t.
 *  - Outputs must not alias inputs unless a function says so.
 *  - Packed weight buffers are position-independent byte blobs (no pointers, no
 *    header), identical whatever ISA packs or reads them, so they can be written
 *    into the weights file and mmapped. Their start should be 64-byte aligned
 *    (required for speed, not for correctness).
 *  - Code paths: AVX-512 (F/BW/DQ/VL), AVX2+FMA and portable scalar, chosen at
 *    run time from CPUID; override with lithe_kernels_force_isa() or the
 *    environment variable LITHE_ISA=scalar|avx2|avx512. Integer int8 dot
 *    products use AVX512-VNNI only where CPUID reports it (else AVX2's
 *    vpmaddubsw route).
 *  - Threads: LITHE_NUM_THREADS sets the default pool size (else all CPUs this
 *    process may run on); LITHE_SPIN_US (default 200) is how long idle workers
 *    spin before sleeping.
 */
#ifndef LITHE_RUNTIME_KERNELS_H
#define LITHE_RUNTIME_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- threads */

/* (Re)creates the pool with n threads in all (n-1 workers plus the caller);
 * n <= 0 means the default (LITHE_NUM_THREADS, else all usable CPUs).
 * Returns the number of threads. Must not be called while kernels run. */
int lithe_threads_init(int n);
/* Threads the kernels use (initialises the pool with the default if needed). */
int lithe_threads_count(void);

/* -------------------------------------------------------- ISA selection */

#define LITHE_ISA_SCALAR 0
#define LITHE_ISA_AVX2 1   /* AVX2 + FMA */
#define LITHE_ISA_AVX512 2 /* AVX-512 F, BW, DQ, VL */
#define LITHE_ISA_AUTO (-1)

/* The code path in use (LITHE_ISA_*). */
int lithe_kernels_isa(void);
/* The best code path this CPU supports. */
int lithe_kernels_best_isa(void);
/* Forces a code path (for tests and benchmarks); LITHE_ISA_AUTO restores the
 * best. Returns 0, or -1 (and changes nothing) if the CPU lacks that ISA. */
int lithe_kernels_force_isa(int isa);
/* "scalar", "avx2" or "avx512". */
const char *lithe_kernels_isa_name(int isa);
/* The AVX512-BF16 dot products in lithe_linear_bf16's GEMM (on by default
 * where the CPU has them and the AVX-512 path is in use; LITHE_BF16_DOT=0
 * turns them off): mode 1 asks for them, 0 turns them off, -1 only asks.
 * Returns 1 if they are in use now, else 0. For tests and benchmarks. */
int lithe_kernels_bf16_dot(int mode);

/* Intel AMX tiles in the int8 integer route's and lithe_linear_bf16's GEMMs
 * (on by default where CPUID reports AMX-TILE/INT8/BF16, Linux grants the
 * tile state and the AVX-512 path is in use; LITHE_AMX=0 turns them off):
 * mode 1 asks for them, 0 turns them off, 2 runs the same kernels on a
 * scalar model of the tile unit (tests, any AVX-512 CPU with VNNI and
 * AVX512-BF16; LITHE_AMX=emulate), -1 only asks. Returns the mode in use:
 * 0 none, 1 hardware, 2 emulated. Prompts only: decode rows keep VNNI /
 * AVX512-BF16 (memory bound either way). */
int lithe_kernels_amx(int mode);
/* What the AMX mode is, in words: "tiles", "emulated tiles", or why they
 * are off ("the CPU has no AMX", "the int8 tiles failed the self-test",
 * ...). The tiles are used only after a small int8 and bf16 problem on them
 * matched VNNI (bitwise) and AVX512-BF16. */
const char *lithe_kernels_amx_status(void);
/* That self-test, on the tiles (0) or on the scalar model of them (1):
 * 1 passed, 0 failed, -1 not runnable here (no AMX, or no VNNI /
 * AVX512-BF16 to compare with). For tests. */
int lithe_kernels_amx_self_test(int emulated);

/* ------------------------------------------------------------ workspace */

/* The kernels' scratch memory, owned by the caller (a model's context) and
 * sized once for the largest shapes it will run, so no kernel allocates
 * while a model runs (and a CUDA graph could capture the same plan). */
typedef struct LitheWorkspaceShape {
  int64_t rows;     /* most rows (tokens) one call processes */
  int64_t max_k;    /* largest input width of a linear or the LM head */
  int64_t max_n;    /* largest output width (the vocabulary for the LM head) */
  int64_t heads;    /* attention: most heads */
  int64_t head_dim; /* attention: largest head size */
  int64_t capacity; /* attention: KV cache capacity (longest context) */
  int64_t kv_bytes; /* attention: bytes per cached value, 4 (or 0), 2 (f16) or 1
                       (int8); below 4 the prefill widens V into the workspace */
} LitheWorkspaceShape;
typedef struct LitheWorkspace LitheWorkspace;

/* A workspace for `shape` on `threads` pool threads (<= 0: the pool's
 * current size) for the code path in use; NULL if out of memory. */
LitheWorkspace *lithe_workspace_new(const LitheWorkspaceShape *shape, int threads);
void lithe_workspace_free(LitheWorkspace *ws);
/* Its size in bytes. */
size_t lithe_workspace_bytes(const LitheWorkspace *ws);
/* Kernels called on this thread (and the pool threads they use) take their
 * scratch from `ws` until another is bound (NULL: per-thread buffers that
 * grow on demand, the default). Returns the previously bound one. */
LitheWorkspace *lithe_workspace_bind(LitheWorkspace *ws);
/* Scratch requests a bound workspace could not serve (served from
 * per-thread buffers instead) since the process started: 0 when every
 * workspace was sized right. For tests. */
int64_t lithe_workspace_misses(void);

/* --------------------------------------------------------------- linear */

/* Fused epilogue flags for lithe_linear / lithe_linear_q8 / lithe_linear_q4:
 *     y = [y +] act(x . W + bias)
 * At most one GELU flag. */
#define LITHE_EPI_NONE 0
#define LITHE_EPI_GELU_TANH 1  /* 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) */
#define LITHE_EPI_GELU_ERF 2   /* 0.5 z (1 + erf(z / sqrt(2))) */
#define LITHE_EPI_ACCUMULATE 4 /* add into y (fuses the residual add) */

/* Width of a packed column panel. */
#define LITHE_PANEL 32

/* fp32 packed layout ("panel-major"): the N output columns are cut into
 * P = ceil(N/32) panels of 32 columns; panel p holds W[k][32p .. 32p+31] for
 * k = 0..K-1, i.e.
 *     packed[(p*K + k)*32 + j] = W[k][32p + j]      (0 when 32p + j >= N)
 * Each panel is one contiguous K*128-byte stream: the M=1 kernel streams it
 * once (threads take contiguous runs of panels), the GEMM micro-kernel reads
 * k-slices of it as 32-wide register rows.
 * Size in bytes = P*K*32*4. */
size_t lithe_pack_linear_size(int64_t K, int64_t N);
/* W: [K, N] row-major (GPT-2 Conv1D layout: in x out). */
void lithe_pack_linear(const float *W, int64_t K, int64_t N, void *packed);

/* y[M, N] = [y +] act(x[M, K] . W + bias). bias may be NULL. */
void lithe_linear(const float *x, int64_t M, int64_t K, const void *packed,
                  int64_t N, const float *bias, float *y, int flags);

/* ------------------------------------------------- int8 weight-only linear */

/* Symmetric per-output-channel quantization of W [K, N]:
 *     scale[n] = max_k |W[k][n]| / 127,  Wq[k][n] = round(W[k][n] / scale[n])
 * (round half to even, result in [-127, 127]; scale 0 and Wq 0 for an all-zero
 * column). Dequantized weight: Wq[k][n] * scale[n]. */
void lithe_quantize_q8(const float *W, int64_t K, int64_t N, int8_t *Wq,
                       float *scale);
/* The same per row of a [R, C] table (the tied embedding / LM head):
 *     scale[r] = max_c |T[r][c]| / 127. */
void lithe_quantize_rows_q8(const float *T, int64_t R, int64_t C, int8_t *Tq,
                            float *scale);

/* q8 packed layout: Npad = 32*ceil(N/32) float scales (0 past N), Npad int32
 * column sums, then the int8 panels with k grouped by 4 (K4 = ceil(K/4); the
 * 4 weights of one column at k = 4*k4 .. 4*k4+3 are adjacent bytes, which is
 * what vpdpbusd / vpmaddubsw read; rows past K are 0):
 *     ((const float *)packed)[n]                              = scale[n]
 *     ((const int32_t *)packed)[Npad + n]                     = sum_k Wq[k][n]
 *     ((const int8_t *)packed)[8*Npad + ((p*K4 + k4)*32 + j)*4 + r]
 *                                                  = Wq[4*k4 + r][32p + j]
 * One layout for every code path (scalar included), so weights files do not
 * depend on the host. Each panel is one contiguous K4*128-byte stream. The
 * column sums serve the u8 x s8 path (activations offset by +128 for VNNI's
 * unsigned operand: sum (q+128) w = sum q w + 128 colsum).
 * Size in bytes = 8*Npad + P*K4*128 (a multiple of 128, so the int8 part keeps
 * the buffer's 64-byte alignment). */
size_t lithe_pack_linear_q8_size(int64_t K, int64_t N);
void lithe_pack_linear_q8(const int8_t *Wq, const float *scale, int64_t K,
                          int64_t N, void *packed);
/* y = [y +] act(x . (Wq . diag(scale)) + bias), computed one of two ways:
 *  - weight-only: each weight widened to f32 and multiplied with the f32
 *    activations (exact up to float rounding w.r.t. the dequantized weights);
 *  - integer: each row of x quantized on the fly, symmetric per row,
 *        s = max_k |x[m][k]| / 127,  q[k] = round_half_even(x[m][k] * (127 / max))
 *    (clamped to [-127, 127]; an all-zero row has s = 0, q = 0), then int32
 *    dot products of q with Wq (vpdpbusd on AVX512-VNNI, vpmaddubsw +
 *    vpmaddwd on AVX2, plain loops on scalar; the same integers on every
 *    path) and  y = float(dot) * (s * scale[n]) + bias.
 * Which one is set by lithe_kernels_set_q8_compute (below). */
void lithe_linear_q8(const float *x, int64_t M, int64_t K, const void *packed,
                     int64_t N, const float *bias, float *y, int flags);

/* ------------------------------------------------- int4 weight-only linear */

/* Symmetric grouped int4: W [K, N] in groups of G consecutive k (G divides K,
 * G a multiple of 4), one scale per (group, column):
 *     scale[g][n] = max_{k in group g} |W[k][n]| / 7,
 *     Wq[k][n]    = clamp(round(W[k][n] / scale[g][n]), -8, 7)
 * (lithe-quantize-weights{bits=4} makes them; [-8, 7] so a calibrated scale
 * may use the extra negative step). Dequantized: Wq[k][n] * scale[k/G][n].
 *
 * q4 packed layout: ng = K/G groups, Npad = 32*ceil(N/32):
 *     ((const float *)packed)[g*Npad + n] = scale[g][n]        (0 past N)
 * then P panels of 32 columns, each K/4 blocks of 64 bytes holding 4 k x 32
 * columns as unsigned nibbles u = Wq + 8 (8, i.e. 0, past N):
 *     byte = ((const uint8_t *)packed)[4*ng*Npad + (p*(K/4) + k4)*64 + 4*j + r]
 *     byte & 15 = u[4*k4 + r][32p + j],  byte >> 4 = u[4*k4 + r][32p + 16 + j]
 * for j < 16, r < 4. Masking the low nibbles of one 64-byte block gives
 * columns 0..15 in the q8 layout's [column][4 k] byte order, shifting gives
 * columns 16..31: one vpdpbusd / vpmaddubsw operand each. Half the bytes
 * of q8. One layout for every code path.
 * Size in bytes = 4*ng*Npad + Npad*K/2. */
size_t lithe_pack_linear_q4_size(int64_t K, int64_t N, int64_t group);
void lithe_pack_linear_q4(const int8_t *Wq, const float *scale, int64_t K,
                          int64_t N, int64_t group, void *packed);
/* y = [y +] act(x . (Wq * scale) + bias), integer: each row of x quantized
 * per row to s8 exactly as lithe_linear_q8's integer route does (s, q), then
 * per group g the int32 dot d_g[n] = sum_{k in g} q[k] * Wq[k][n] (computed
 * as sum q*u - 8 sum q: vpdpbusd on AVX512-VNNI with the nibbles as its
 * unsigned operand, vpmaddubsw on AVX2, plain loops on scalar; the same
 * integers on every path), and
 *     y[n] = s * (sum_g float(d_g[n]) * scale[g][n]) + bias[n]
 * (groups summed in order, in float32). Always integer (LITHE_Q8 does not
 * apply). Same epilogue flags as lithe_linear. */
void lithe_linear_q4(const float *x, int64_t M, int64_t K, const void *packed,
                     int64_t N, int64_t group, const float *bias, float *y,
                     int flags);

/* ------------------------------------------------------- bf16 weights */

/* bf16: the upper half of an IEEE float32 (8-bit exponent, 7-bit mantissa).
 * lithe_to_bf16 rounds to nearest even (NaN stays NaN, infinities stay). */
void lithe_to_bf16(const float *x, int64_t n, uint16_t *y);

/* bf16 packed layout: the fp32 panels of 32 columns, with consecutive k in
 * pairs, so that one 32-bit lane holds (W[2i][n], W[2i+1][n]) as the
 * AVX512-BF16 dot product (vdpbf16ps) reads it. With K2 = ceil(K/2):
 *     ((const uint16_t *)packed)[((p*K2 + i)*32 + j)*2 + e] = bf16(W[2i+e][32p+j])
 * (0 past K or N). Size in bytes = P*K2*128. Half the bytes of fp32. */
size_t lithe_pack_linear_bf16_size(int64_t K, int64_t N);
void lithe_pack_linear_bf16(const float *W, int64_t K, int64_t N, void *packed);
/* y = [y +] act(x . bf16(W) + bias), accumulated in float32. Paths with
 * AVX512-BF16 round x to bf16 as well (vdpbf16ps), whatever M, so a row gets
 * the same result alone or batched; the others multiply float32 x by the
 * widened weights. */
void lithe_linear_bf16(const float *x, int64_t M, int64_t K, const void *packed,
                       int64_t N, const float *bias, float *y, int flags);

/* How lithe_linear_q8 computes. AUTO (the default): integer wherever the
 * route measured at least as fast, which is every M on every route today
 * (GPT-2 small, docs/benchmarks.md: prefill 1.1-1.5x weight-only; decode
 * equal within noise where it is memory bound). One integer numerics for
 * every M also keeps a prompt, a decode step, a speculative verify and a
 * batch row computing the same function, so self-speculative greedy
 * decoding still reproduces the model alone. FLOAT: always weight-only (what
 * ONNX Runtime computes for a weight-only QDQ export). INT: always integer.
 * The environment variable LITHE_Q8=auto|float|int sets the initial mode.
 * Returns the previous mode, or -1 (and changes nothing) for a bad mode. */
#define LITHE_Q8_AUTO 0
#define LITHE_Q8_FLOAT 1
#define LITHE_Q8_INT 2
int lithe_kernels_set_q8_compute(int mode);
int lithe_kernels_q8_compute(void);
/* The integer route the active code path uses: "amx" (or "amx (emulated)"),
 * "avx512-vnni", "avx2"
 * (vpmaddubsw; also AVX-512 CPUs without VNNI) or "scalar". The environment
 * variable LITHE_VNNI=0 makes an AVX-512 path use the AVX2 route (tests,
 * benchmarks). */
const char *lithe_kernels_q8_route(void);

/* -------------------------------------------------------------- LM head */

/* logits[M, V] = x[M, D] . table[V, D]^T (table row-major, not transposed:
 * the tied token embedding). Small M (<= 8) streams the table once (V split
 * across threads, 4 rows of x per pass over 64-row blocks of it, so a second
 * pass reads L2); larger M runs the GEMM on 32-row panels transposed from the
 * table on the fly. */
void lithe_lm_head(const float *x, int64_t M, int64_t D, const float *table,
                   int64_t V, float *logits);
/* The same over an int8 table with per-row scales (lithe_quantize_rows_q8):
 *     logits[m][v] = scale[v] * sum_d x[m][d] * table[v][d]. */
void lithe_lm_head_q8(const float *x, int64_t M, int64_t D,
                      const int8_t *table, const float *scale, int64_t V,
                      float *logits);

/* The same over a bf16 table [V, D] (lithe_to_bf16 of the float table):
 *     logits[m][v] = sum_d x[m][d] * table[v][d] (float32 products). */
void lithe_lm_head_bf16(const float *x, int64_t M, int64_t D,
                        const uint16_t *table, int64_t V, float *logits);

/* ------------------------------------------------------ element-wise etc. */

/* y = (x - mean) / sqrt(var + eps) * gamma + beta per row of x [M, D]
 * (two-pass mean/variance). gamma, beta may be NULL (1 and 0). y may equal x. */
void lithe_layer_norm(const float *x, int64_t M, int64_t D, const float *gamma,
                      const float *beta, float eps, float *y);
/* y = x - mean(x) per row (LayerNorm with the scale folded away). y may be x. */
void lithe_center(const float *x, int64_t M, int64_t D, float *y);
/* y = a + b over n elements. y may equal a or b. */
void lithe_add(const float *a, const float *b, int64_t n, float *y);
/* y[r, :] += bias for each of `rows` rows of y [rows, n] (an LM head's
 * folded bias). */
void lithe_add_rows(float *y, int64_t rows, int64_t n, const float *bias);
/* y[r, i] = y[r, i] * scale[i] + bias[i] in place (either may be NULL: 1
 * and 0): the affine part of an LN-free model's centering. */
void lithe_affine_rows(float *y, int64_t rows, int64_t n, const float *scale,
                       const float *bias);
/* y = gelu(x) over n elements, tanh form if tanh_form != 0 else erf form.
 * y may equal x. */
void lithe_gelu(const float *x, int64_t n, float *y, int tanh_form);
/* Row softmax over x [M, N] (max-subtracted). y may equal x. */
void lithe_softmax(const float *x, int64_t M, int64_t N, float *y);
/* y[i, :] = table[ids[i], :] for i < n; table is [*, D]. ids must be valid. */
void lithe_embedding(const float *table, int64_t D, const int64_t *ids,
                     int64_t n, float *y);
/* The same from a bf16 table (lithe_to_bf16), widened exactly. */
void lithe_embedding_bf16(const uint16_t *table, int64_t D, const int64_t *ids,
                          int64_t n, float *y);
/* The same from an int8 table with per-row scales. */
void lithe_embedding_q8(const int8_t *table, const float *scale, int64_t D,
                        const int64_t *ids, int64_t n, float *y);

/* ------------------------------------------------------------ attention */

/* KV cache of one layer: kcache and vcache are each [heads][capacity][head_dim]
 * float32. Appends S new positions at [past, past+S) from k and v, which are
 * [S, heads*head_dim] (head h at columns h*head_dim ..). Returns 0, or -1 (and
 * writes nothing) if past + S > capacity. */
int lithe_kv_append(float *kcache, float *vcache, int64_t heads,
                    int64_t head_dim, int64_t capacity, int64_t past,
                    const float *k, const float *v, int64_t S);

/* Fewer query rows than this run one query at a time (the decode path:
 * other summation order than the blocked prefill path), so a prompt's
 * numbers are the same whatever its split into calls of at least this many
 * rows. */
#define LITHE_ATTENTION_BLOCK_MIN_ROWS 8

/* Multi-head attention of S queries over a cache already holding past + S
 * positions (append first):
 *     out[s, h] = sum_t softmax_t(scale * q[s, h] . K[h, t]) V[h, t]
 * over t in [0, past + s] when causal, else [0, past + S).
 * q and out are [S, heads*head_dim]; out must not alias q.
 * Online (flash-attention style) softmax: running max and sum per query,
 * key blocks, parallel over heads and query blocks. */
void lithe_attention(const float *q, int64_t S, const float *kcache,
                     const float *vcache, int64_t heads, int64_t head_dim,
                     int64_t capacity, int64_t past, float scale, int causal,
                     float *out);

/* Batched decode: row b of k, v, q and out ([B, heads*head_dim]) is the one
 * new token of sequence b, which has pasts[b] tokens cached. Its caches are
 * kcaches[b*caches + cache] and vcaches[b*caches + cache] (tables of every
 * sequence's caches, sequence-major). Append: 0, or -1 if a sequence's
 * cache is full (the others are written). Attention: causal over
 * [0, pasts[b]] (append first). */
int lithe_kv_append_rows(float *const *kcaches, float *const *vcaches, int64_t cache,
                         int64_t caches, int64_t heads, int64_t head_dim, int64_t capacity,
                         const int64_t *pasts, const float *k, const float *v, int64_t B);
void lithe_attention_rows(const float *q, int64_t B, const float *const *kcaches,
                          const float *const *vcaches, int64_t cache, int64_t caches,
                          int64_t heads, int64_t head_dim, int64_t capacity,
                          const int64_t *pasts, float scale, float *out);

/* The same over an f16 KV cache (IEEE binary16, half the bytes): the planes
 * are uint16_t, appended values are rounded to nearest even and saturated to
 * +-65504, infinities too (lithe_to_f16), and attention widens them to float32 as it reads
 * them (F16C on the AVX2 and AVX-512 paths), accumulating in float32. */
int lithe_kv_append_f16(uint16_t *kcache, uint16_t *vcache, int64_t heads, int64_t head_dim,
                        int64_t capacity, int64_t past, const float *k, const float *v, int64_t S);
void lithe_attention_f16(const float *q, int64_t S, const uint16_t *kcache, const uint16_t *vcache,
                         int64_t heads, int64_t head_dim, int64_t capacity, int64_t past, float scale,
                         int causal, float *out);
int lithe_kv_append_rows_f16(uint16_t *const *kcaches, uint16_t *const *vcaches, int64_t cache,
                             int64_t caches, int64_t heads, int64_t head_dim, int64_t capacity,
                             const int64_t *pasts, const float *k, const float *v, int64_t B);
void lithe_attention_rows_f16(const float *q, int64_t B, const uint16_t *const *kcaches,
                              const uint16_t *const *vcaches, int64_t cache, int64_t caches,
                              int64_t heads, int64_t head_dim, int64_t capacity,
                              const int64_t *pasts, float scale, float *out);
/* The same over an int8 KV cache: each head's keys (values) of a position
 * are int8 with one float32 scale, symmetric (scale = max |x| / 127, q =
 * round(x / scale), all zero when x is). A plane takes
 * lithe_kv_q8_plane_bytes bytes: the int8 values [heads][capacity][head_dim],
 * then, from the next multiple of 64 bytes, the scales [heads][capacity]. */
size_t lithe_kv_q8_plane_bytes(int64_t heads, int64_t head_dim, int64_t capacity);
int lithe_kv_append_q8(int8_t *kcache, int8_t *vcache, int64_t heads, int64_t head_dim,
                       int64_t capacity, int64_t past, const float *k, const float *v, int64_t S);
void lithe_attention_q8(const float *q, int64_t S, const int8_t *kcache, const int8_t *vcache,
                        int64_t heads, int64_t head_dim, int64_t capacity, int64_t past, float scale,
                        int causal, float *out);
int lithe_kv_append_rows_q8(int8_t *const *kcaches, int8_t *const *vcaches, int64_t cache,
                            int64_t caches, int64_t heads, int64_t head_dim, int64_t capacity,
                            const int64_t *pasts, const float *k, const float *v, int64_t B);
void lithe_attention_rows_q8(const float *q, int64_t B, const int8_t *const *kcaches,
                             const int8_t *const *vcaches, int64_t cache, int64_t caches,
                             int64_t heads, int64_t head_dim, int64_t capacity,
                             const int64_t *pasts, float scale, float *out);

/* y = f16(x) over n values (the f16 cache's rounding) and back. */
void lithe_to_f16(const float *x, int64_t n, uint16_t *y);
void lithe_from_f16(const uint16_t *x, int64_t n, float *y);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LITHE_RUNTIME_KERNELS_H */
