// Internal declarations shared by the kernel sources. Not installed.
#ifndef LITHE_RUNTIME_KERNELS_INTERNAL_H
#define LITHE_RUNTIME_KERNELS_INTERNAL_H

#include "lithe/runtime/kernels.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <new>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define LITHE_X86 1
#else
#define LITHE_X86 0
#endif

// Function-level target regions: everything defined between LITHE_TARGET_BEGIN
// and LITHE_TARGET_END is compiled for the given ISA (GCC and Clang), so one
// binary carries all code paths and picks one from CPUID at run time.
#if defined(__clang__)
#define LITHE_PRAGMA(x) _Pragma(#x)
#define LITHE_TARGET_BEGIN(features)                                           \
  LITHE_PRAGMA(clang attribute push(__attribute__((target(features))),         \
                                    apply_to = function))
#define LITHE_TARGET_END LITHE_PRAGMA(clang attribute pop)
#define LITHE_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define LITHE_PRAGMA(x) _Pragma(#x)
#define LITHE_TARGET_BEGIN(features)                                           \
  LITHE_PRAGMA(GCC push_options) LITHE_PRAGMA(GCC target(features))
#define LITHE_TARGET_END LITHE_PRAGMA(GCC pop_options)
#define LITHE_UNROLL _Pragma("GCC unroll 32")
#else
#define LITHE_TARGET_BEGIN(features)
#define LITHE_TARGET_END
#define LITHE_UNROLL
#endif

#if defined(__GNUC__)
#define LITHE_INLINE inline __attribute__((always_inline))
#define LITHE_NOINLINE __attribute__((noinline))
#else
#define LITHE_INLINE inline
#define LITHE_NOINLINE
#endif

namespace lithe {
namespace kern {

constexpr int64_t kPanel = LITHE_PANEL; // packed panel width (layout constant)

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// ------------------------------------------------------------ thread pool

using TaskFn = void (*)(void *ctx, int64_t task);

int pool_threads();
// Runs fn(ctx, i) for i in [0, ntasks) on the pool (the caller takes part);
// tasks are claimed dynamically, in increasing order. Returns when all ran.
void pool_run(int64_t ntasks, TaskFn fn, void *ctx);

template <class F> void parallel_for(int64_t ntasks, const F &f) {
  if (ntasks <= 0)
    return;
  if (ntasks == 1) {
    f(int64_t(0));
    return;
  }
  pool_run(
      ntasks,
      [](void *c, int64_t i) { (*static_cast<const F *>(c))(i); },
      const_cast<F *>(&f));
}

// ---------------------------------------------------------------- scratch

// Per-thread, 64-byte aligned, growable scratch buffers (one per slot). The
// contents are undefined on return.
enum ScratchSlot { kScratchA = 0, kScratchB, kScratchC, kScratchD, kScratchE, kNumScratch };
// From the bound workspace (lithe_workspace_bind) when it holds `nfloats`
// for this slot and thread; else from per-thread buffers (a counted miss).
float *scratch(int slot, size_t nfloats);
// The attention prefill's key panels and padded values, shared by the pool
// threads of one call: the bound workspace's shared region, else a
// per-thread buffer.
float *shared_scratch(size_t nfloats);

// --------------------------------------------------------- kernel table

enum BKind : int { kBPackedF32 = 0, kBPackedQ8, kBRowsF32, kBRowsQ8, kBPackedBF16, kBRowsBF16 };

// One GEMM: y[M, N] = [y +] act(x[M, K] . B + bias), B given by kind:
//  kBPackedF32 / kBPackedQ8: lithe_pack_linear(_q8) layouts;
//  kBRowsF32 / kBRowsQ8: a [N, K] row-major table (B = table^T), q8 with
//  per-row scales `rscale`;
//  kBPackedBF16 / kBRowsBF16: lithe_pack_linear_bf16 panels, a bf16 table.
struct GemmArgs {
  const float *x;
  int64_t M, K, N;
  int bkind;
  const void *B;
  const float *rscale; // kBRowsQ8
  const float *bias;
  float *y;
  int flags; // never GELU together with ACCUMULATE (split by the caller)
};

// What a KV cache plane holds (kernels.h): float32, f16, or int8 with one
// scale per head and position (lithe_kv_q8_plane_bytes' layout).
enum KvKind : int { kKvF32 = 0, kKvF16 = 1, kKvQ8 = 2 };
// Where an int8 plane's scales start (bytes from its base).
inline size_t kv_q8_scales_offset(int64_t heads, int64_t head_dim, int64_t capacity) {
  return (size_t(heads * capacity * head_dim) + 63) / 64 * 64;
}

struct AttnArgs {
  const float *q;
  int64_t S;
  const void *kc, *vc; // float32, IEEE f16 (uint16_t) or int8 values: see kv
  int64_t heads, hd, cap, past;
  float scale;
  int causal;
  float *out;
  // prefill workspace (built by attn_prep, read by attn_block)
  float *kt;   // [heads][ceil(T/32)][hd][32]
  float *vp;   // [heads][T][hdp] or nullptr when V is used in place (f32)
  int64_t hdp; // padded head dim used by the PV micro-kernel
  int kv;      // the cache planes' values: kKvF32, kKvF16 or kKvQ8
  const float *ksc, *vsc; // kKvQ8: the planes' scales, [heads][cap]
};

struct KernelTable {
  int isa;
  const char *name;
  int mr;       // GEMM micro-tile rows
  int attn_bq;  // query rows per prefill attention task (0: no prefill path)
  int attn_uw;  // columns per micro-kernel call (head_dim padding unit)

  // y[0, 32p0 .. min(N, 32p1)) for M == 1 over packed fp32 / q8 weights.
  void (*gemv_f32)(const float *x, int64_t K, const float *packed, int64_t N,
                   int64_t p0, int64_t p1, const float *bias, float *y, int flags);
  void (*gemv_q8)(const float *x, int64_t K, const void *packed, int64_t N,
                  int64_t p0, int64_t p1, const float *bias, float *y, int flags);
  // Rows [m0, m1) x panels [p0, p1) of a GemmArgs problem.
  void (*gemm_task)(const GemmArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // logits[m*ldl + v] = x[m] . table[v] (fp32) or scale[v] * x[m] . table[v]
  // (q8) for m < M <= 8, v in [v0, v1): each table row is read from memory
  // once (keep [v0, v1) L2-sized: a path may make several passes over it).
  // (M <= kDotRowsMax)
  void (*dot_rows_f32)(const float *x, int64_t M, int64_t D, const float *table, int64_t v0,
                       int64_t v1, float *logits, int64_t ldl);
  void (*dot_rows_q8)(const float *x, int64_t M, int64_t D, const int8_t *table,
                      const float *scale, int64_t v0, int64_t v1, float *logits, int64_t ldl);

  void (*layer_norm_rows)(const float *x, int64_t m0, int64_t m1, int64_t D,
                          const float *g, const float *b, float eps, float *y);
  void (*center_rows)(const float *x, int64_t m0, int64_t m1, int64_t D, float *y);
  void (*softmax_rows)(const float *x, int64_t m0, int64_t m1, int64_t N, float *y);
  void (*add)(const float *a, const float *b, int64_t n, float *y);
  void (*gelu)(const float *x, int64_t n, float *y, int tanh_form);
  void (*dequant)(const int8_t *q, float s, int64_t n, float *y);

  // Attention of query s of head h (any S): the per-query path.
  void (*attn_row)(const AttnArgs &a, int64_t h, int64_t s);
  // Prefill path: build a.kt / a.vp for head h, then query block qb of head h.
  void (*attn_prep)(const AttnArgs &a, int64_t h);
  void (*attn_block)(const AttnArgs &a, int64_t h, int64_t qb);
  // y[M, 32p0 .. min(N, 32p1)) for 2 <= M <= kQ8FewRows over packed q8
  // weights, each weight read once per panel (nullptr: the GEMM does it).
  void (*gemv_q8_rows)(const float *x, int64_t M, int64_t K, const void *packed, int64_t N,
                       int64_t p0, int64_t p1, const float *bias, float *y, int flags);
  // Floats a thread's scratch slot needs for shapes up to `s` (written next
  // to the code that asks for them).
  size_t (*scratch_need)(int slot, const LitheWorkspaceShape &s);

  // bf16 weights (float32 x times widened weights, float32 accumulation):
  // y[M, 32p0 .. min(N, 32p1)) for 1 <= M <= kBF16FewRows over packed bf16
  // panels, each weight read once per panel; and the LM head's row dots as
  // dot_rows_f32 over a bf16 table.
  void (*gemv_bf16_rows)(const float *x, int64_t M, int64_t K, const void *packed, int64_t N,
                         int64_t p0, int64_t p1, const float *bias, float *y, int flags);
  void (*dot_rows_bf16)(const float *x, int64_t M, int64_t D, const uint16_t *table,
                        int64_t v0, int64_t v1, float *logits, int64_t ldl);
  // y = f16(x) over n values, saturated to +-65504, rounded to nearest even
  // (f32_to_f16's numbers on every path: F16C where the path has it).
  void (*to_f16)(const float *x, int64_t n, uint16_t *y);
};

// Most rows of x the dot_rows kernels take (the LM head's few rows; more go
// to the GEMM).
constexpr int64_t kDotRowsMax = 8;

// Most rows of x the few-rows bf16 path takes (more go to the GEMM).
constexpr int64_t kBF16FewRows = 16;

// bf16 <-> float32 (the upper half of the float's bits).
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f); // round to nearest even; NaN stays NaN

// IEEE binary16 <-> float32 (the f16 KV cache). f32_to_f16 saturates to
// +-65504 (the largest f16; infinities too: an overflowing key must not
// become inf, whose softmax is NaN), rounds to nearest even and keeps NaN a
// NaN.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// The AVX512-BF16 kernels over kBPackedBF16 weights (vdpbf16ps, x rounded to
// bf16): a gemm_task, and few rows (1 <= M <= kBF16FewRows) over panels
// [p0, p1) like gemv_bf16_rows. bf16dot() is nullptr where the CPU or the
// build lacks them, off the AVX-512 path, or after lithe_kernels_bf16_dot(0).
using GemmTaskFn = void (*)(const GemmArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
using RowsFn = void (*)(const float *x, int64_t M, int64_t K, const void *packed, int64_t N,
                        int64_t p0, int64_t p1, const float *bias, float *y, int flags);
using DotRowsBF16Fn = void (*)(const float *x, int64_t M, int64_t D, const uint16_t *table,
                               int64_t v0, int64_t v1, float *logits, int64_t ldl);
struct BF16Dot {
  GemmTaskFn gemm_task;
  RowsFn rows;
  DotRowsBF16Fn dot_rows; // as KernelTable::dot_rows_bf16, for 1 <= M <= 8
};
const BF16Dot *bf16dot();
const BF16Dot *avx512bf16_kernels(); // the compiled kernels, nullptr if not built

// ---------------------------------------------------------- q8 layout

// The lithe_pack_linear_q8 layout (kernels.h): scales, column sums, then
// panels of K4 = ceil(K/4) groups of [32 columns][4 k] bytes.
inline int64_t q8_k4(int64_t K) { return (K + 3) / 4; }
inline const float *q8_scales(const void *packed) { return static_cast<const float *>(packed); }
inline const int32_t *q8_colsums(const void *packed, int64_t N) {
  return static_cast<const int32_t *>(packed) + round_up(N, kPanel);
}
inline const int8_t *q8_panel(const void *packed, int64_t N, int64_t K, int64_t p) {
  return static_cast<const int8_t *>(packed) + 8 * round_up(N, kPanel) + p * q8_k4(K) * 4 * kPanel;
}

// ------------------------------------------------ integer int8 (q8i) route

// One integer lithe_linear_q8: the rows of x already quantized (kernels.h:
// symmetric per row), q row m at q + m * Kp (Kp = 4 * K4 bytes, zero-valued
// padding), its scale qs[m]; B the q8 packed weights.
struct Q8iArgs {
  const int8_t *q; // s8, or u8 = s8 + 128 when the route's `unsigned_act`
  const float *qs;
  int64_t M, K, Kp, N;
  const void *B;
  const float *bias;
  float *y;
  int flags; // any LITHE_EPI_* (one epilogue per output, after the whole K)
};

// One integer lithe_linear_q4 (kernels.h): the rows of x quantized as for
// q8 (always signed s8), q row m at q + m * Kp (Kp = K: G is a multiple of
// 4), its scale qs[m], and gs[m * ng + g] = 8 * sum_{k in group g} q[m][k]
// (the nibbles' +8 offset, taken back per group); B the q4 packed weights.
struct Q4iArgs {
  const int8_t *q;
  const float *qs;
  const int32_t *gs;
  int64_t M, K, Kp, N, G;
  const void *B;
  const float *bias;
  float *y;
  int flags;
};

// The lithe_pack_linear_q4 layout (kernels.h): scales [K/G][Npad], then
// panels of K/4 blocks of 64 bytes (32 columns x 4 k as nibbles).
inline const float *q4_scales(const void *packed) { return static_cast<const float *>(packed); }
inline const uint8_t *q4_panel(const void *packed, int64_t N, int64_t K, int64_t G, int64_t p) {
  return static_cast<const uint8_t *>(packed) + 4 * (K / G) * round_up(N, kPanel) + p * (K / 4) * 64;
}

struct Q8iRoute {
  const char *name;
  int mr;            // rows per micro-tile
  bool gemv_auto;    // LITHE_Q8_AUTO takes the integer GEMV for M == 1 (else weight-only)
  bool unsigned_act; // activations stored as u8 (q + 128)
  // Quantizes rows [m0, m1) of x [*, K] into q + m*Kp and qs[m].
  void (*quantize)(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                   float *qs);
  // Rows [m0, m1) x panels [p0, p1).
  void (*gemm)(const Q8iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
  // M == 1, panels [p0, p1): one weight stream, latency hidden by k-unrolling.
  void (*gemv)(const Q8iArgs &a, int64_t p0, int64_t p1);
  // lithe_linear_q4: rows [m0, m1) x panels [p0, p1), any M (M == 1 too).
  void (*q4)(const Q4iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
};

const Q8iRoute *q8i_scalar();
const Q8iRoute *q8i_avx2();       // nullptr when not compiled in
const Q8iRoute *q8i_avx512vnni(); // nullptr when not compiled in
// The route for the active code path (AVX-512 without VNNI: AVX2's).
const Q8iRoute *active_q8i();
// Shared scratch (floats) the integer route needs for shapes up to `s`.
size_t q8i_shared_need(const LitheWorkspaceShape &s);
// Rows whose largest |x| is below this quantize to zero (127 / max must not
// overflow).
constexpr float kQ8iTiny = 1e-30f;
// AVX2 quantization of rows [m0, m1) (the scalar reference's numbers, 32
// floats at a time); also the VNNI route's, with unsigned_act.
void q8i_quantize_avx2(const float *x, int64_t m0, int64_t m1, int64_t K, int64_t Kp, int8_t *q,
                       float *qs, bool unsigned_act);
// The reference quantization of one row (kernels.h); returns its scale.
float q8i_quantize_row_ref(const float *x, int64_t K, int64_t Kp, int8_t *q, bool unsigned_act);

// Most rows of x the few-rows int8 path takes (more go to the GEMM).
constexpr int64_t kQ8FewRows = 16;

// ------------------------------------------------------------- Intel AMX
//
// amx.cpp: GEMMs on AMX tiles (TDPBUSD for the integer int8 route, TDPBF16PS
// for bf16 weights) over the same packed panels as VNNI / AVX512-BF16 (a
// panel's 4-k groups / k pairs are the tiles' B rows). Everything else (the
// few-rows and decode kernels, quantization, epilogues) is the AVX-512
// path's. `emulated` runs the same kernels on a scalar model of the tile
// unit (tests: the tiling, tails and epilogues on CPUs without AMX).
enum AmxMode : int { kAmxOff = 0, kAmxHardware = 1, kAmxEmulated = 2 };
// The AMX mode in use (LITHE_AMX, lithe_kernels_amx), kAmxOff off the
// AVX-512 path.
int amx_mode();
// CPUID reports AMX-TILE, -INT8 and -BF16, the OS saves the tile state and
// Linux granted this process its use (arch_prctl, asked once).
// Proven too: before first use the tiles compute a small int8 and bf16
// problem that must match VNNI (bitwise) and AVX512-BF16.
bool amx_hardware();
// Why amx_hardware() is false (nullptr when it is true).
const char *amx_off_reason();
// The int8 route with AMX GEMMs (VNNI's everything else): nullptr where the
// VNNI route is not compiled in.
const Q8iRoute *q8i_amx(bool emulated);
// The bf16 kernels with an AMX gemm_task (AVX512-BF16's rows / dot_rows).
const BF16Dot *amx_bf16_kernels(bool emulated);

// AVX-512 pieces the AMX kernels share (avx512.cpp):
// acc[i * 32 + j] += the dots of 4-k groups [k4_0, K4) (a K the tiles' 64-k
// steps do not cover), rows [m, m+rows) of panel p (VNNI).
void q8i_tail_avx512(const Q8iArgs &a, int32_t *acc, int64_t m, int64_t rows, int64_t p,
                     int64_t k4_0);
// c[i * 32 + j] += the pairs [k2_0, K2) of X row i (ld lanes) against panel
// w's (AVX512-BF16).
void bf16_tail_avx512(const uint32_t *X, int64_t ld, int64_t rows, const uint16_t *w,
                      int64_t k2_0, int64_t K2, float *c);
// rows [m, m+rows) of panel p from raw int32 dots acc[i * 32 + j] (VNNI's
// u8 activations: the 128 * column sum still in them): rescale, bias, epilogue.
void q8i_store_rows_avx512(const Q8iArgs &a, const int32_t *acc, int64_t m, int64_t rows,
                           int64_t p);
// x[M, K] rounded to bf16 pairs (AVX512-BF16's): row r at A2 + r*ld lanes.
void bf16_pairs_avx512(const float *x, int64_t M, int64_t K, int64_t ldx, uint32_t *A2,
                       int64_t ld);
// y[rows, ncols] (stride ldy) = act(y + bias).
void gemm_epilogue_avx512(float *y, int64_t ldy, int64_t rows, int64_t ncols, const float *bias,
                          int flags);

const KernelTable *active_table();
const KernelTable *scalar_table();
const KernelTable *avx2_table();   // nullptr when not compiled in
const KernelTable *avx512_table(); // nullptr when not compiled in

// Scalar reference math shared by all paths (also the scalar fallback).
float gelu_tanh_scalar(float x);
float gelu_erf_scalar(float x);

} // namespace kern
} // namespace lithe

#endif
