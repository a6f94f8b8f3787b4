// Public entry points: argument handling, work partitioning over the thread
// pool, weight packing and quantization. The per-ISA kernels do the math.
#include "internal.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

using namespace lithe::kern;

namespace {

// Work below which a kernel stays on the calling thread (a dispatch costs ~1us).
constexpr double kParallelMacs = 64.0 * 1024;

int64_t threads_for(double work, double unit, int64_t max_tasks) {
  if (work < unit)
    return 1;
  return std::max<int64_t>(1, std::min<int64_t>(pool_threads(), max_tasks));
}

// Splits [0, n) into `parts` contiguous ranges; returns range i.
inline void split(int64_t n, int64_t parts, int64_t i, int64_t &b, int64_t &e) {
  b = n * i / parts;
  e = n * (i + 1) / parts;
}

float act_scalar(float v, int flags) {
  if (flags & LITHE_EPI_GELU_TANH)
    return gelu_tanh_scalar(v);
  if (flags & LITHE_EPI_GELU_ERF)
    return gelu_erf_scalar(v);
  return v;
}

// ------------------------------------------------ integer int8 (q8i) route

int initial_q8_mode() {
  if (const char *e = std::getenv("LITHE_Q8")) {
    if (!std::strcmp(e, "float"))
      return LITHE_Q8_FLOAT;
    if (!std::strcmp(e, "int"))
      return LITHE_Q8_INT;
  }
  return LITHE_Q8_AUTO;
}
std::atomic<int> g_q8_mode{initial_q8_mode()};

// Rows of x one integer GEMM task covers at most (rounded to the route's
// micro-tile): its quantized rows (K bytes each) stay in L2 while the task's
// panels stream past them.
constexpr int64_t kQ8iRowBlock = 128;

bool q8_integer(int64_t M, const Q8iRoute *r) {
  switch (g_q8_mode.load(std::memory_order_relaxed)) {
  case LITHE_Q8_FLOAT:
    return false;
  case LITHE_Q8_INT:
    return true;
  default:
    return M >= 2 || r->gemv_auto;
  }
}

// The integer GEMMs' tasks (int8 and int4): fn(m0, m1, p0, p1) over (row
// block, panel group) pairs as in the float GEMM, ~8 per thread (a
// descheduled thread holds back little), a short M as one contiguous panel
// run per thread; with `panelRuns` (one or a few rows: bandwidth bound)
// every row at once, ~4 panel runs per thread.
template <class F>
void q8i_tasks(int64_t M, int64_t P, double macs, int64_t mr, bool panelRuns, const F &fn) {
  const int nth = pool_threads();
  if (panelRuns) {
    const int64_t nt = threads_for(macs, kParallelMacs, P) > 1 ? std::min<int64_t>(P, 4 * int64_t(nth)) : 1;
    parallel_for(nt, [&](int64_t i) {
      int64_t p0, p1;
      split(P, nt, i, p0, p1);
      if (p0 < p1)
        fn(int64_t(0), M, p0, p1);
    });
    return;
  }
  int64_t nmb = ceil_div(M, kQ8iRowBlock);
  const int64_t rb = round_up(ceil_div(M, nmb), mr);
  nmb = ceil_div(M, rb);
  int64_t groups;
  if (macs < kParallelMacs)
    groups = 1;
  else if (M <= 4 * mr)
    groups = std::min<int64_t>(P, 4 * int64_t(nth));
  else
    groups = std::min<int64_t>(P, std::max<int64_t>(1, ceil_div(8 * int64_t(nth), nmb)));
  parallel_for(nmb * groups, [&](int64_t i) {
    const int64_t mb = i / groups, g = i % groups;
    int64_t p0, p1;
    split(P, groups, g, p0, p1);
    const int64_t m0 = mb * rb, m1 = std::min(M, m0 + rb);
    if (m0 < m1 && p0 < p1)
      fn(m0, m1, p0, p1);
  });
}

// y = [y +] act(x . B + bias) with x quantized per row and int32 dot
// products (kernels.h). The quantized rows go to the shared scratch (every
// task reads them), quantized in parallel first; then tasks over (row block,
// panel group) as in the float GEMM, or panel runs for M == 1.
void gemm_q8i(const Q8iRoute *r, const float *x, int64_t M, int64_t K, const void *B, int64_t N,
              const float *bias, float *y, int flags) {
  const int64_t Kp = 4 * q8_k4(K), P = ceil_div(N, kPanel);
  float *ws = shared_scratch(size_t(M * (Kp / 4) + M + 16));
  int8_t *q = reinterpret_cast<int8_t *>(ws);
  float *qs = ws + M * (Kp / 4);
  {
    const int64_t nt = threads_for(double(M) * double(K), 1 << 16, M);
    parallel_for(nt, [&](int64_t i) {
      int64_t b, e;
      split(M, nt, i, b, e);
      if (b < e)
        r->quantize(x, b, e, K, Kp, q, qs);
    });
  }
  const Q8iArgs a{q, qs, M, K, Kp, N, B, bias, y, flags};
  q8i_tasks(M, P, double(M) * double(K) * double(N), r->mr, M == 1,
            [&](int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
              if (M == 1)
                r->gemv(a, p0, p1);
              else
                r->gemm(a, m0, m1, p0, p1);
            });
}

void gemm(const float *x, int64_t M, int64_t K, int bkind, const void *B,
          const float *rscale, int64_t N, const float *bias, float *y, int flags) {
  if (M <= 0 || N <= 0)
    return;
  if (bkind == kBPackedQ8 && K > 0) {
    const Q8iRoute *r = active_q8i();
    if (q8_integer(M, r)) {
      // One epilogue per output (no partial sums in y): any flags together.
      gemm_q8i(r, x, M, K, B, N, bias, y, flags);
      return;
    }
  }
  const bool gelu = flags & (LITHE_EPI_GELU_TANH | LITHE_EPI_GELU_ERF);
  if (gelu && (flags & LITHE_EPI_ACCUMULATE)) {
    // y += gelu(...): the GEMM accumulates into y across k-blocks, so compute
    // gelu(...) apart, 8 rows at a time, and add (not a GPT-2 pattern; kept
    // for completeness).
    float *tmp = scratch(kScratchE, size_t(8 * N));
    for (int64_t m0 = 0; m0 < M; m0 += 8) {
      const int64_t rows = std::min<int64_t>(8, M - m0);
      gemm(x + m0 * K, rows, K, bkind, B, rscale, N, bias, tmp, flags & ~LITHE_EPI_ACCUMULATE);
      lithe_add(y + m0 * N, tmp, rows * N, y + m0 * N);
    }
    return;
  }
  if (K <= 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        float v = act_scalar(bias ? bias[n] : 0.f, flags);
        float &o = y[m * N + n];
        o = (flags & LITHE_EPI_ACCUMULATE) ? o + v : v;
      }
    return;
  }
  const KernelTable *t = active_table();
  const int64_t P = ceil_div(N, kPanel);
  const double macs = double(M) * double(K) * double(N);

  if (M == 1 && (bkind == kBPackedF32 || bkind == kBPackedQ8)) {
    // Bandwidth bound: tasks are contiguous runs of panels (one stream each),
    // ~4 per thread so a descheduled thread cannot hold back the others.
    const int64_t nt = threads_for(macs, kParallelMacs, P) > 1
                           ? std::min<int64_t>(P, 4 * int64_t(pool_threads()))
                           : 1;
    auto fn = bkind == kBPackedF32 ? nullptr : t->gemv_q8;
    parallel_for(nt, [&](int64_t i) {
      int64_t p0, p1;
      split(P, nt, i, p0, p1);
      if (fn)
        fn(x, K, B, N, p0, p1, bias, y, flags);
      else
        t->gemv_f32(x, K, static_cast<const float *>(B), N, p0, p1, bias, y, flags);
    });
    return;
  }

  if (M <= kQ8FewRows && bkind == kBPackedQ8 && t->gemv_q8_rows) {
    // Few rows over int8 weights (a speculative-decoding verify at batch 1):
    // bandwidth bound like M == 1, each panel read once for all rows. The
    // GEMM would dequantize every panel into a copy first (3x slower at M=5).
    const int64_t nt = threads_for(macs, kParallelMacs, P) > 1
                           ? std::min<int64_t>(P, 4 * int64_t(pool_threads()))
                           : 1;
    parallel_for(nt, [&](int64_t i) {
      int64_t p0, p1;
      split(P, nt, i, p0, p1);
      t->gemv_q8_rows(x, M, K, B, N, p0, p1, bias, y, flags);
    });
    return;
  }

  const BF16Dot *dot = bkind == kBPackedBF16 ? bf16dot() : nullptr;
  if (M <= kBF16FewRows && bkind == kBPackedBF16) {
    // Few rows over bf16 weights (decoding, batched or not): each panel read
    // once for all rows. With AVX512-BF16, dot products for every row count
    // (one row is bandwidth bound either way; the same rounding of x for 1
    // and for 8 rows keeps a sequence's logits the same batched or alone).
    const RowsFn rows = dot ? dot->rows : t->gemv_bf16_rows;
    const int64_t nt = threads_for(macs, kParallelMacs, P) > 1
                           ? std::min<int64_t>(P, 4 * int64_t(pool_threads()))
                           : 1;
    parallel_for(nt, [&](int64_t i) {
      int64_t p0, p1;
      split(P, nt, i, p0, p1);
      rows(x, M, K, B, N, p0, p1, bias, y, flags);
    });
    return;
  }

  GemmArgs a{x, M, K, N, bkind, B, rscale, bias, y, flags};
  // bf16 weights with AVX512-BF16: x rounded to bf16, vdpbf16ps products.
  const GemmTaskFn task = dot ? dot->gemm_task : t->gemm_task;
  const int64_t mr = t->mr;
  const int nth = pool_threads();
  // Row blocks: 16 micro-tiles (each B block is re-read from memory once per
  // row block and reused 16x from L1); 32 when B must be transposed from a
  // [V, D] table, to amortise the conversion.
  const int64_t mc_target = mr * ((bkind == kBRowsF32 || bkind == kBRowsQ8) ? 32 : 16);
  const int64_t nmb = ceil_div(M, mc_target);
  const int64_t mc = round_up(ceil_div(M, nmb), mr);
  // Panel groups: small M is bandwidth bound -> one contiguous run per thread;
  // otherwise ~8 tasks per thread (each task copies its rows of x, ~2% of its
  // work), so a thread the OS deschedules holds back little.
  int64_t groups;
  if (macs < kParallelMacs)
    groups = 1;
  else if (M <= 4 * mr)
    groups = std::min<int64_t>(P, nth);
  else if (nmb >= 8 * int64_t(nth) || nth == 1)
    groups = 1;
  else
    groups = std::min<int64_t>(P, ceil_div(8 * int64_t(nth), nmb));
  const int64_t ntasks = nmb * groups;
  parallel_for(ntasks, [&](int64_t i) {
    const int64_t mb = i / groups, g = i % groups;
    int64_t p0, p1;
    split(P, groups, g, p0, p1);
    const int64_t m0 = mb * mc, m1 = std::min(M, m0 + mc);
    if (m0 < m1 && p0 < p1)
      task(a, m0, m1, p0, p1);
  });
}

template <class F> void rows_parallel(int64_t M, int64_t D, double unit, const F &f) {
  const int64_t nt = threads_for(double(M) * double(D), unit, M);
  parallel_for(nt, [&](int64_t i) {
    int64_t b, e;
    split(M, nt, i, b, e);
    if (b < e)
      f(b, e);
  });
}

template <class F> void elems_parallel(int64_t n, double unit, const F &f) {
  const int64_t nt = threads_for(double(n), unit, ceil_div(n, 1024));
  parallel_for(nt, [&](int64_t i) {
    int64_t b, e;
    split(n / 64, nt, i, b, e); // 64-element aligned chunks
    b *= 64;
    e = i == nt - 1 ? n : e * 64;
    if (b < e)
      f(b, e);
  });
}


} // namespace

// ------------------------------------------------------------------ linear

extern "C" size_t lithe_pack_linear_size(int64_t K, int64_t N) {
  return size_t(ceil_div(N, kPanel) * K * kPanel) * sizeof(float);
}

extern "C" void lithe_pack_linear(const float *W, int64_t K, int64_t N, void *packed) {
  float *out = static_cast<float *>(packed);
  const int64_t P = ceil_div(N, kPanel);
  for (int64_t p = 0; p < P; ++p) {
    const int64_t nc = std::min<int64_t>(kPanel, N - p * kPanel);
    for (int64_t k = 0; k < K; ++k) {
      float *dst = out + (p * K + k) * kPanel;
      std::memcpy(dst, W + k * N + p * kPanel, size_t(nc) * sizeof(float));
      std::fill(dst + nc, dst + kPanel, 0.f);
    }
  }
}

extern "C" void lithe_linear(const float *x, int64_t M, int64_t K, const void *packed,
                             int64_t N, const float *bias, float *y, int flags) {
  gemm(x, M, K, kBPackedF32, packed, nullptr, N, bias, y, flags);
}

// ------------------------------------------------------------------ bf16

extern "C" void lithe_to_bf16(const float *x, int64_t n, uint16_t *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f32_to_bf16(x[i]);
}

extern "C" size_t lithe_pack_linear_bf16_size(int64_t K, int64_t N) {
  return size_t(ceil_div(N, kPanel) * ((K + 1) / 2) * kPanel * 2) * sizeof(uint16_t);
}

extern "C" void lithe_pack_linear_bf16(const float *W, int64_t K, int64_t N, void *packed) {
  uint16_t *out = static_cast<uint16_t *>(packed);
  const int64_t P = ceil_div(N, kPanel), K2 = (K + 1) / 2;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < K2; ++i)
      for (int64_t j = 0; j < kPanel; ++j)
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t k = 2 * i + e, n = p * kPanel + j;
          out[((p * K2 + i) * kPanel + j) * 2 + e] = k < K && n < N ? f32_to_bf16(W[k * N + n]) : 0;
        }
}

extern "C" void lithe_linear_bf16(const float *x, int64_t M, int64_t K, const void *packed,
                                  int64_t N, const float *bias, float *y, int flags) {
  gemm(x, M, K, kBPackedBF16, packed, nullptr, N, bias, y, flags);
}

// -------------------------------------------------------------------- q8

namespace {
inline int8_t quant1(float w, float s) {
  if (s == 0.f)
    return 0;
  float q = std::nearbyint(w / s);
  q = std::min(127.f, std::max(-127.f, q));
  return int8_t(q);
}
} // namespace

extern "C" void lithe_quantize_q8(const float *W, int64_t K, int64_t N, int8_t *Wq,
                                  float *scale) {
  std::vector<float> mx(size_t(N), 0.f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      mx[n] = std::max(mx[n], std::fabs(W[k * N + n]));
  for (int64_t n = 0; n < N; ++n)
    scale[n] = mx[n] / 127.f;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      Wq[k * N + n] = quant1(W[k * N + n], scale[n]);
}

extern "C" void lithe_quantize_rows_q8(const float *T, int64_t R, int64_t C, int8_t *Tq,
                                       float *scale) {
  for (int64_t r = 0; r < R; ++r) {
    float mx = 0.f;
    for (int64_t c = 0; c < C; ++c)
      mx = std::max(mx, std::fabs(T[r * C + c]));
    scale[r] = mx / 127.f;
    for (int64_t c = 0; c < C; ++c)
      Tq[r * C + c] = quant1(T[r * C + c], scale[r]);
  }
}

extern "C" size_t lithe_pack_linear_q8_size(int64_t K, int64_t N) {
  const int64_t npad = round_up(N, kPanel);
  return size_t(8 * npad + npad * 4 * q8_k4(K));
}

extern "C" void lithe_pack_linear_q8(const int8_t *Wq, const float *scale, int64_t K,
                                     int64_t N, void *packed) {
  const int64_t npad = round_up(N, kPanel), P = npad / kPanel, K4 = q8_k4(K);
  float *sc = static_cast<float *>(packed);
  std::memcpy(sc, scale, size_t(N) * sizeof(float));
  std::fill(sc + N, sc + npad, 0.f);
  int32_t *cs = static_cast<int32_t *>(packed) + npad;
  std::fill(cs, cs + npad, 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      cs[n] += Wq[k * N + n];
  int8_t *q = static_cast<int8_t *>(packed) + 8 * npad;
  std::memset(q, 0, size_t(P * K4 * 4 * kPanel));
  for (int64_t p = 0; p < P; ++p) {
    const int64_t nc = std::min<int64_t>(kPanel, N - p * kPanel);
    int8_t *panel = q + p * K4 * 4 * kPanel;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < nc; ++j)
        panel[((k / 4) * kPanel + j) * 4 + k % 4] = Wq[k * N + p * kPanel + j];
  }
}

extern "C" void lithe_linear_q8(const float *x, int64_t M, int64_t K, const void *packed,
                                int64_t N, const float *bias, float *y, int flags) {
  gemm(x, M, K, kBPackedQ8, packed, nullptr, N, bias, y, flags);
}

// -------------------------------------------------------------------- q4

extern "C" size_t lithe_pack_linear_q4_size(int64_t K, int64_t N, int64_t group) {
  if (group <= 0 || group % 4 != 0 || K % group != 0)
    return 0;
  const int64_t npad = round_up(N, kPanel);
  return size_t(4 * (K / group) * npad + npad * K / 2);
}

extern "C" void lithe_pack_linear_q4(const int8_t *Wq, const float *scale, int64_t K, int64_t N,
                                     int64_t group, void *packed) {
  if (!lithe_pack_linear_q4_size(K, N, group))
    return;
  const int64_t npad = round_up(N, kPanel), P = npad / kPanel, ng = K / group, K4 = K / 4;
  float *sc = static_cast<float *>(packed);
  for (int64_t g = 0; g < ng; ++g) {
    std::memcpy(sc + g * npad, scale + g * N, size_t(N) * sizeof(float));
    std::fill(sc + g * npad + N, sc + (g + 1) * npad, 0.f);
  }
  uint8_t *q = static_cast<uint8_t *>(packed) + 4 * ng * npad;
  auto u = [&](int64_t k, int64_t n) -> uint8_t {
    if (n >= N)
      return 8; // a zero weight
    const int v = std::min(7, std::max(-8, int(Wq[k * N + n])));
    return uint8_t(v + 8);
  };
  for (int64_t p = 0; p < P; ++p)
    for (int64_t k4 = 0; k4 < K4; ++k4)
      for (int64_t j = 0; j < 16; ++j)
        for (int64_t r = 0; r < 4; ++r) {
          const int64_t k = 4 * k4 + r, n = p * kPanel + j;
          q[(p * K4 + k4) * 64 + 4 * j + r] = uint8_t(u(k, n) | (u(k, n + 16) << 4));
        }
}

extern "C" void lithe_linear_q4(const float *x, int64_t M, int64_t K, const void *packed,
                                int64_t N, int64_t group, const float *bias, float *y, int flags) {
  if (M <= 0 || N <= 0 || group <= 0 || group % 4 != 0 || K % group != 0)
    return;
  if (K == 0) {
    gemm(x, M, K, kBPackedQ8, packed, nullptr, N, bias, y, flags); // bias only
    return;
  }
  const Q8iRoute *r = active_q8i();
  const int64_t Kp = K, P = ceil_div(N, kPanel), ng = K / group;
  // Quantized rows, their scales and 8 x their group sums, in the shared
  // scratch (q8i_shared_need sizes it for both formats).
  float *ws = shared_scratch(size_t(M * (Kp / 4) + M + M * ng + 16));
  int8_t *q = reinterpret_cast<int8_t *>(ws);
  float *qs = ws + M * (Kp / 4);
  int32_t *gs = reinterpret_cast<int32_t *>(qs + M);
  {
    const int64_t nt = threads_for(double(M) * double(K), 1 << 16, M);
    parallel_for(nt, [&](int64_t i) {
      int64_t b, e;
      split(M, nt, i, b, e);
      if (b >= e)
        return;
      // Signed activations on every route (the nibbles are the unsigned
      // operand): the VNNI route's own quantizer makes u8.
      if (r->unsigned_act)
        q8i_quantize_avx2(x, b, e, K, Kp, q, qs, false);
      else
        r->quantize(x, b, e, K, Kp, q, qs);
      for (int64_t m = b; m < e; ++m)
        for (int64_t g = 0; g < ng; ++g) {
          int32_t t = 0;
          for (int64_t k = g * group; k < (g + 1) * group; ++k)
            t += q[m * Kp + k];
          gs[m * ng + g] = 8 * t;
        }
    });
  }
  const Q4iArgs a{q, qs, gs, M, K, Kp, N, group, packed, bias, y, flags};
  q8i_tasks(M, P, double(M) * double(K) * double(N), r->mr, M <= kQ8FewRows,
            [&](int64_t m0, int64_t m1, int64_t p0, int64_t p1) { r->q4(a, m0, m1, p0, p1); });
}

extern "C" int lithe_kernels_set_q8_compute(int mode) {
  if (mode != LITHE_Q8_AUTO && mode != LITHE_Q8_FLOAT && mode != LITHE_Q8_INT)
    return -1;
  return g_q8_mode.exchange(mode);
}

extern "C" int lithe_kernels_q8_compute(void) { return g_q8_mode.load(); }

extern "C" const char *lithe_kernels_q8_route(void) { return active_q8i()->name; }

size_t lithe::kern::q8i_shared_need(const LitheWorkspaceShape &s) {
  const int64_t rows = std::max<int64_t>(s.rows, 1), Kp = 4 * q8_k4(std::max<int64_t>(s.max_k, 1));
  // q8: quantized rows, scales; q4 adds up to Kp / 4 group sums per row
  return size_t(2 * rows * (Kp / 4) + rows + 16);
}

// ---------------------------------------------------------------- LM head

namespace {
// Few rows of x: row dots over the table in blocks of 64 table rows (V split
// across threads): the table streams from memory once. AVX-512 takes up to 8
// rows of x in one pass; narrower paths make 4-row passes, the later ones
// re-reading the block from L2.
// More rows: a GEMM over 32-row panels transposed from the table.
constexpr int64_t kDotRowsBlock = 64;

template <class F>
void lm_head_rows(const float *x, int64_t M, int64_t D, int64_t V, float *logits, const F &dot) {
  const int64_t nt = threads_for(double(D) * double(V) * double(M), kParallelMacs,
                                 ceil_div(V, 64)) > 1
                         ? std::min<int64_t>(ceil_div(V, 64), 4 * int64_t(pool_threads()))
                         : 1;
  parallel_for(nt, [&](int64_t i) {
    int64_t b, e;
    split(V, nt, i, b, e);
    for (int64_t vb = b; vb < e; vb += kDotRowsBlock) {
      const int64_t ve = std::min(e, vb + kDotRowsBlock);
      dot(x, M, vb, ve, logits);
    }
  });
}
} // namespace

extern "C" void lithe_lm_head(const float *x, int64_t M, int64_t D, const float *table,
                              int64_t V, float *logits) {
  if (M <= 0 || V <= 0)
    return;
  if (M <= kDotRowsMax) {
    const KernelTable *t = active_table();
    lm_head_rows(x, M, D, V, logits,
                 [&](const float *xs, int64_t mm, int64_t b, int64_t e, float *out) {
                   t->dot_rows_f32(xs, mm, D, table, b, e, out, V);
                 });
    return;
  }
  gemm(x, M, D, kBRowsF32, table, nullptr, V, nullptr, logits, 0);
}

extern "C" void lithe_lm_head_bf16(const float *x, int64_t M, int64_t D, const uint16_t *table,
                                   int64_t V, float *logits) {
  if (M <= 0 || V <= 0)
    return;
  if (M <= kDotRowsMax) {
    // AVX512-BF16 dot products where there are any, for every row count (as
    // lithe_linear_bf16's few rows).
    const BF16Dot *dot = bf16dot();
    const DotRowsBF16Fn fn = dot ? dot->dot_rows : active_table()->dot_rows_bf16;
    lm_head_rows(x, M, D, V, logits,
                 [&](const float *xs, int64_t mm, int64_t b, int64_t e, float *out) {
                   fn(xs, mm, D, table, b, e, out, V);
                 });
    return;
  }
  gemm(x, M, D, kBRowsBF16, table, nullptr, V, nullptr, logits, 0);
}

extern "C" void lithe_lm_head_q8(const float *x, int64_t M, int64_t D, const int8_t *table,
                                 const float *scale, int64_t V, float *logits) {
  if (M <= 0 || V <= 0)
    return;
  if (M <= kDotRowsMax) {
    const KernelTable *t = active_table();
    lm_head_rows(x, M, D, V, logits,
                 [&](const float *xs, int64_t mm, int64_t b, int64_t e, float *out) {
                   t->dot_rows_q8(xs, mm, D, table, scale, b, e, out, V);
                 });
    return;
  }
  gemm(x, M, D, kBRowsQ8, table, scale, V, nullptr, logits, 0);
}

// ------------------------------------------------------------ element-wise

extern "C" void lithe_layer_norm(const float *x, int64_t M, int64_t D, const float *gamma,
                                 const float *beta, float eps, float *y) {
  if (M <= 0 || D <= 0)
    return;
  const KernelTable *t = active_table();
  rows_parallel(M, D, 1 << 16, [&](int64_t b, int64_t e) {
    t->layer_norm_rows(x, b, e, D, gamma, beta, eps, y);
  });
}

extern "C" void lithe_center(const float *x, int64_t M, int64_t D, float *y) {
  if (M <= 0 || D <= 0)
    return;
  const KernelTable *t = active_table();
  rows_parallel(M, D, 1 << 16, [&](int64_t b, int64_t e) { t->center_rows(x, b, e, D, y); });
}

extern "C" void lithe_softmax(const float *x, int64_t M, int64_t N, float *y) {
  if (M <= 0 || N <= 0)
    return;
  const KernelTable *t = active_table();
  rows_parallel(M, N, 1 << 15, [&](int64_t b, int64_t e) { t->softmax_rows(x, b, e, N, y); });
}

extern "C" void lithe_add_rows(float *y, int64_t rows, int64_t n, const float *bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) y[r * n + i] += bias[i];
}

extern "C" void lithe_affine_rows(float *y, int64_t rows, int64_t n, const float *scale,
                                  const float *bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i)
      y[r * n + i] = y[r * n + i] * (scale ? scale[i] : 1.0f) + (bias ? bias[i] : 0.0f);
}

extern "C" void lithe_add(const float *a, const float *b, int64_t n, float *y) {
  if (n <= 0)
    return;
  const KernelTable *t = active_table();
  elems_parallel(n, 1 << 17, [&](int64_t i, int64_t e) { t->add(a + i, b + i, e - i, y + i); });
}

extern "C" void lithe_gelu(const float *x, int64_t n, float *y, int tanh_form) {
  if (n <= 0)
    return;
  const KernelTable *t = active_table();
  elems_parallel(n, 1 << 14,
                 [&](int64_t i, int64_t e) { t->gelu(x + i, e - i, y + i, tanh_form); });
}

extern "C" void lithe_embedding(const float *table, int64_t D, const int64_t *ids,
                                int64_t n, float *y) {
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(y + i * D, table + ids[i] * D, size_t(D) * sizeof(float));
}

extern "C" void lithe_embedding_bf16(const uint16_t *table, int64_t D, const int64_t *ids,
                                     int64_t n, float *y) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < D; ++d)
      y[i * D + d] = bf16_to_f32(table[ids[i] * D + d]);
}

extern "C" void lithe_embedding_q8(const int8_t *table, const float *scale, int64_t D,
                                   const int64_t *ids, int64_t n, float *y) {
  const KernelTable *t = active_table();
  for (int64_t i = 0; i < n; ++i)
    t->dequant(table + ids[i] * D, scale[ids[i]], D, y + i * D);
}

// -------------------------------------------------------------- attention

namespace {

// One row of head_dim values into an int8 cache row and its scale
// (kernels.h: symmetric, max |x| / 127; NaN in x makes the scale NaN).
void quantize_kv_row(const float *x, int64_t n, int8_t *q, float *scale) {
  float amax = 0.f;
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(x[i]));
    finite = finite && std::isfinite(x[i]);
  }
  if (!finite || amax < kQ8iTiny) {
    std::fill(q, q + n, int8_t(0));
    *scale = finite ? 0.f : std::numeric_limits<float>::quiet_NaN();
    return;
  }
  const float inv = 127.f / amax;
  for (int64_t i = 0; i < n; ++i)
    q[i] = int8_t(std::min(127.f, std::max(-127.f, std::nearbyint(x[i] * inv))));
  *scale = amax / 127.f;
}

// Appends S positions to a [heads][capacity][head_dim] plane pair of E
// (float32; f16 as uint16_t; int8 with the scales after the values).
template <class E>
int kv_append(E *kcache, E *vcache, int64_t heads, int64_t head_dim, int64_t capacity,
              int64_t past, const float *k, const float *v, int64_t S) {
  if (past < 0 || S < 0 || past + S > capacity)
    return -1;
  const KernelTable *t = std::is_same<E, uint16_t>::value ? active_table() : nullptr;
  const size_t so = kv_q8_scales_offset(heads, head_dim, capacity);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t src = (s * heads + h) * head_dim;
      const int64_t dst = (h * capacity + past + s) * head_dim;
      if constexpr (std::is_same<E, float>::value) {
        std::memcpy(kcache + dst, k + src, size_t(head_dim) * sizeof(float));
        std::memcpy(vcache + dst, v + src, size_t(head_dim) * sizeof(float));
      } else if constexpr (std::is_same<E, uint16_t>::value) {
        t->to_f16(k + src, head_dim, kcache + dst);
        t->to_f16(v + src, head_dim, vcache + dst);
      } else {
        const int64_t row = h * capacity + past + s;
        quantize_kv_row(k + src, head_dim, kcache + dst,
                        reinterpret_cast<float *>(reinterpret_cast<uint8_t *>(kcache) + so) + row);
        quantize_kv_row(v + src, head_dim, vcache + dst,
                        reinterpret_cast<float *>(reinterpret_cast<uint8_t *>(vcache) + so) + row);
      }
    }
  return 0;
}

template <class E>
int kv_append_rows(E *const *kcaches, E *const *vcaches, int64_t cache, int64_t caches,
                   int64_t heads, int64_t head_dim, int64_t capacity, const int64_t *pasts,
                   const float *k, const float *v, int64_t B) {
  const int64_t E_ = heads * head_dim;
  int status = 0;
  for (int64_t b = 0; b < B; ++b)
    status |= kv_append<E>(kcaches[b * caches + cache], vcaches[b * caches + cache], heads,
                           head_dim, capacity, pasts[b], k + b * E_, v + b * E_, 1);
  return status;
}

// The attention arguments for one sequence's planes.
AttnArgs attn_args(const float *q, int64_t S, const void *kc, const void *vc, int64_t heads,
                   int64_t head_dim, int64_t capacity, int64_t past, float scale, int causal,
                   float *out, int kv) {
  AttnArgs a{q, S, kc, vc, heads, head_dim, capacity, past, scale, causal, out,
             nullptr, nullptr, head_dim, kv, nullptr, nullptr};
  if (kv == kKvQ8) {
    const size_t so = kv_q8_scales_offset(heads, head_dim, capacity);
    a.ksc = reinterpret_cast<const float *>(static_cast<const uint8_t *>(kc) + so);
    a.vsc = reinterpret_cast<const float *>(static_cast<const uint8_t *>(vc) + so);
  }
  return a;
}

void attention_rows(const float *q, int64_t B, const void *const *kcaches,
                    const void *const *vcaches, int64_t cache, int64_t caches, int64_t heads,
                    int64_t head_dim, int64_t capacity, const int64_t *pasts, float scale,
                    float *out, int kv) {
  if (B <= 0 || heads <= 0 || head_dim <= 0)
    return;
  const KernelTable *t = active_table();
  const int64_t E = heads * head_dim;
  // Row b is one new token of sequence b: the decode path of
  // lithe_attention on its own caches, tasks over (row, head).
  auto one = [&](int64_t b, int64_t h) {
    AttnArgs a = attn_args(q + b * E, 1, kcaches[b * caches + cache], vcaches[b * caches + cache],
                           heads, head_dim, capacity, pasts[b], scale, 1, out + b * E, kv);
    t->attn_row(a, h, 0);
  };
  double work = 0;
  for (int64_t b = 0; b < B; ++b) work += double(heads) * double(pasts[b] + 1) * double(head_dim);
  if (work < kParallelMacs) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < heads; ++h)
        one(b, h);
    return;
  }
  parallel_for(B * heads, [&](int64_t i) { one(i / heads, i % heads); });
}

void attention(const float *q, int64_t S, const void *kcache, const void *vcache, int64_t heads,
               int64_t head_dim, int64_t capacity, int64_t past, float scale, int causal,
               float *out, int kv) {
  if (S <= 0 || heads <= 0 || head_dim <= 0)
    return;
  const KernelTable *t = active_table();
  AttnArgs a = attn_args(q, S, kcache, vcache, heads, head_dim, capacity, past, scale, causal, out, kv);
  const int64_t T = past + S;
  if (S < LITHE_ATTENTION_BLOCK_MIN_ROWS || !t->attn_block) {
    // Per-query path (decode): tasks over (query, head).
    const double work = double(S) * double(heads) * double(T) * double(head_dim);
    const int64_t ntasks = work < kParallelMacs ? 1 : S * heads;
    if (ntasks == 1) {
      for (int64_t s = 0; s < S; ++s)
        for (int64_t h = 0; h < heads; ++h)
          t->attn_row(a, h, s);
      return;
    }
    parallel_for(ntasks, [&](int64_t i) { t->attn_row(a, i % heads, i / heads); });
    return;
  }
  // Prefill: per head, K transposed into 32-key panels (and V padded when
  // head_dim is not a multiple of the micro-kernel width, or widened from
  // f16 or int8), then tasks over (query block, head), the longest (last)
  // query blocks first.
  const int64_t npan = ceil_div(T, kPanel);
  a.hdp = round_up(head_dim, t->attn_uw);
  const size_t kt_n = size_t(heads * npan * head_dim * kPanel);
  const size_t vp_n = a.hdp != head_dim || kv != kKvF32 ? size_t(heads * T * a.hdp) : 0;
  float *ws = shared_scratch(kt_n + vp_n + 16);
  a.kt = ws;
  a.vp = vp_n ? ws + kt_n : nullptr;
  parallel_for(heads, [&](int64_t h) { t->attn_prep(a, h); });
  const int64_t nqb = ceil_div(S, t->attn_bq);
  parallel_for(heads * nqb, [&](int64_t i) {
    t->attn_block(a, i % heads, nqb - 1 - i / heads);
  });
}

} // namespace

#define LITHE_KV_ENTRY_POINTS(SUFFIX, E, KIND)                                                      \
  extern "C" int lithe_kv_append##SUFFIX(E *kcache, E *vcache, int64_t heads, int64_t head_dim,    \
                                         int64_t capacity, int64_t past, const float *k,           \
                                         const float *v, int64_t S) {                              \
    return kv_append<E>(kcache, vcache, heads, head_dim, capacity, past, k, v, S);                  \
  }                                                                                                \
  extern "C" int lithe_kv_append_rows##SUFFIX(E *const *kcaches, E *const *vcaches, int64_t cache, \
                                              int64_t caches, int64_t heads, int64_t head_dim,     \
                                              int64_t capacity, const int64_t *pasts,              \
                                              const float *k, const float *v, int64_t B) {         \
    return kv_append_rows<E>(kcaches, vcaches, cache, caches, heads, head_dim, capacity, pasts, k, \
                             v, B);                                                                \
  }                                                                                                \
  extern "C" void lithe_attention_rows##SUFFIX(                                                    \
      const float *q, int64_t B, const E *const *kcaches, const E *const *vcaches, int64_t cache,  \
      int64_t caches, int64_t heads, int64_t head_dim, int64_t capacity, const int64_t *pasts,     \
      float scale, float *out) {                                                                   \
    attention_rows(q, B, reinterpret_cast<const void *const *>(kcaches),                           \
                   reinterpret_cast<const void *const *>(vcaches), cache, caches, heads, head_dim, \
                   capacity, pasts, scale, out, KIND);                                             \
  }                                                                                                \
  extern "C" void lithe_attention##SUFFIX(const float *q, int64_t S, const E *kcache,              \
                                          const E *vcache, int64_t heads, int64_t head_dim,        \
                                          int64_t capacity, int64_t past, float scale, int causal, \
                                          float *out) {                                            \
    attention(q, S, kcache, vcache, heads, head_dim, capacity, past, scale, causal, out, KIND);    \
  }

LITHE_KV_ENTRY_POINTS(, float, kKvF32)
LITHE_KV_ENTRY_POINTS(_f16, uint16_t, kKvF16)
LITHE_KV_ENTRY_POINTS(_q8, int8_t, kKvQ8)
#undef LITHE_KV_ENTRY_POINTS

extern "C" size_t lithe_kv_q8_plane_bytes(int64_t heads, int64_t head_dim, int64_t capacity) {
  return kv_q8_scales_offset(heads, head_dim, capacity) + size_t(heads * capacity) * sizeof(float);
}

extern "C" void lithe_to_f16(const float *x, int64_t n, uint16_t *y) {
  active_table()->to_f16(x, n, y);
}

extern "C" void lithe_from_f16(const uint16_t *x, int64_t n, float *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f16_to_f32(x[i]);
}
