// Intel AMX GEMMs: the integer int8 route's (TDPBUSD, u8 activations x s8
// weights, int32 sums: the same integers as VNNI) and bf16 weights'
// (TDPBF16PS, x rounded to bf16, float32 sums). They read the packed panels
// VNNI and AVX512-BF16 read: a panel row of 4-k groups (int8) or k pairs
// (bf16) for 32 columns is 128 bytes, whose two 64-byte halves are two B
// tiles' rows (16 columns each), so 16 panel rows at stride 128 are one
// B tile. A tiles are 16 rows of x (quantized or bf16 pairs) by 64 bytes;
// the four C tiles hold a 32 x 32 block of outputs for the whole K (what
// is left past the last 64-k / 32-k tile step is added by VNNI /
// AVX512-BF16 before the epilogue).
//
// The kernels are templates over the tile unit: HwTiles issues the
// instructions (inline assembly: the intrinsics stringify their tile
// numbers), EmuTiles is a scalar model of them (the SDM's operation, with
// its shape checks) that runs the same kernels on any CPU, so the tiling,
// tails and epilogues are tested where there is no AMX (KernelsTest).
// Only the dot products are AMX: quantization, decode rows and epilogues are
// the AVX-512 path's (every AMX CPU has AVX-512, VNNI and AVX512-BF16).
#include "internal.h"

#if LITHE_X86 && defined(__GNUC__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace lithe {
namespace kern {
namespace {

// The 64-byte tile configuration (palette 1): bytes per row and rows per tile.
struct alignas(64) TileCfg {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved0[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileCfg) == 64, "ldtilecfg reads 64 bytes");

// Tiles: 0..3 the C block (0 and 1: rows 0-15, columns 0-15 / 16-31; 2 and
// 3: rows 16-31), 4 and 5 the A rows 0-15 / 16-31, 6 and 7 the B halves.
// Tiles of an absent second row block are left unconfigured.
constexpr int kBlockRows = 32;
TileCfg tile_cfg(int rows) {
  TileCfg c;
  const int r0 = std::min(16, rows), r1 = rows - r0;
  for (int t : {0, 1, 4}) {
    c.rows[t] = uint8_t(r0);
    c.colsb[t] = 64;
  }
  if (r1 > 0)
    for (int t : {2, 3, 5}) {
      c.rows[t] = uint8_t(r1);
      c.colsb[t] = 64;
    }
  for (int t : {6, 7}) {
    c.rows[t] = 16;
    c.colsb[t] = 64;
  }
  return c;
}

// The hardware. "%c" prints the tile number as the bare constant.
struct HwTiles {
  static void config(const TileCfg &c) { __asm__ volatile("ldtilecfg %0" ::"m"(c)); }
  static void release() { __asm__ volatile("tilerelease" ::: "memory"); }
  template <int T> static void zero() { __asm__ volatile("tilezero %%tmm%c0" ::"i"(T)); }
  template <int T> static void load(const void *p, int64_t stride) {
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm%c2" ::"r"(p), "r"(stride), "i"(T) : "memory");
  }
  template <int T> static void store(void *p, int64_t stride) {
    __asm__ volatile("tilestored %%tmm%c2, (%0,%1,1)" ::"r"(p), "r"(stride), "i"(T) : "memory");
  }
  // C += A . B (AT&T order: B, A, C).
  template <int C, int A, int B> static void dpbusd() {
    __asm__ volatile("tdpbusd %%tmm%c0, %%tmm%c1, %%tmm%c2" ::"i"(B), "i"(A), "i"(C));
  }
  template <int C, int A, int B> static void dpbf16ps() {
    __asm__ volatile("tdpbf16ps %%tmm%c0, %%tmm%c1, %%tmm%c2" ::"i"(B), "i"(A), "i"(C));
  }
};

// A scalar model of the tile unit (Intel SDM, "Intel AMX instruction set
// reference"): per-thread tiles, loads zero what is past the configured
// shape, and a shape the hardware would fault on (#UD) aborts.
struct EmuTiles {
  struct State {
    TileCfg cfg;
    bool configured = false;
    alignas(64) uint8_t t[8][16][64];
  };
  static State &st() {
    static thread_local State s;
    return s;
  }
  [[noreturn]] static void fault(const char *what, int tile) {
    std::fprintf(stderr, "lithe: emulated AMX: %s (tile %d) would fault\n", what, tile);
    std::abort();
  }
  static void check(int tile) {
    State &s = st();
    if (!s.configured || s.cfg.rows[tile] == 0 || s.cfg.colsb[tile] == 0 ||
        s.cfg.rows[tile] > 16 || s.cfg.colsb[tile] > 64)
      fault("an unconfigured tile", tile);
  }
  static void config(const TileCfg &c) {
    State &s = st();
    if (c.palette != 1)
      fault("palette", 0);
    s.cfg = c;
    s.configured = true;
    std::memset(s.t, 0, sizeof(s.t)); // ldtilecfg zeroes every tile
  }
  static void release() {
    State &s = st();
    s.configured = false;
    std::memset(s.t, 0, sizeof(s.t));
  }
  template <int T> static void zero() {
    check(T);
    std::memset(st().t[T], 0, sizeof(st().t[T]));
  }
  template <int T> static void load(const void *p, int64_t stride) {
    check(T);
    State &s = st();
    std::memset(s.t[T], 0, sizeof(s.t[T]));
    for (int r = 0; r < s.cfg.rows[T]; ++r)
      std::memcpy(s.t[T][r], static_cast<const uint8_t *>(p) + r * stride, s.cfg.colsb[T]);
  }
  template <int T> static void store(void *p, int64_t stride) {
    check(T);
    State &s = st();
    for (int r = 0; r < s.cfg.rows[T]; ++r)
      std::memcpy(static_cast<uint8_t *>(p) + r * stride, s.t[T][r], s.cfg.colsb[T]);
  }
  // The shapes TDPBUSD / TDPBF16PS accept: C is A.rows x B.colsb, A.colsb/4 = B.rows.
  static void check_dp(int c, int a, int b) {
    check(c), check(a), check(b);
    const TileCfg &g = st().cfg;
    if (g.rows[c] != g.rows[a] || g.colsb[c] != g.colsb[b] || g.colsb[a] / 4 != g.rows[b])
      fault("a dot product's shapes", c);
  }
  template <int C, int A, int B> static void dpbusd() {
    check_dp(C, A, B);
    State &s = st();
    const int rows = s.cfg.rows[C], n4 = s.cfg.colsb[C] / 4, k4 = s.cfg.colsb[A] / 4;
    for (int m = 0; m < rows; ++m)
      for (int n = 0; n < n4; ++n) {
        int32_t acc;
        std::memcpy(&acc, s.t[C][m] + 4 * n, 4);
        for (int k = 0; k < k4; ++k)
          for (int i = 0; i < 4; ++i)
            acc += int32_t(s.t[A][m][4 * k + i]) * int32_t(int8_t(s.t[B][k][4 * n + i]));
        std::memcpy(s.t[C][m] + 4 * n, &acc, 4);
      }
  }
  // Denormals in and out are zero (DAZ, FTZ); each product is exact in
  // float32, each accumulation one rounding to nearest even.
  static float flush(float f) { return std::fpclassify(f) == FP_SUBNORMAL ? std::copysign(0.f, f) : f; }
  static float bf16_at(const uint8_t *p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return flush(bf16_to_f32(h));
  }
  template <int C, int A, int B> static void dpbf16ps() {
    check_dp(C, A, B);
    State &s = st();
    const int rows = s.cfg.rows[C], n4 = s.cfg.colsb[C] / 4, k4 = s.cfg.colsb[A] / 4;
    for (int m = 0; m < rows; ++m)
      for (int n = 0; n < n4; ++n) {
        float acc;
        std::memcpy(&acc, s.t[C][m] + 4 * n, 4);
        for (int k = 0; k < k4; ++k)
          for (int i = 0; i < 2; ++i)
            acc = flush(std::fma(bf16_at(s.t[A][m] + 4 * k + 2 * i),
                                 bf16_at(s.t[B][k] + 4 * n + 2 * i), acc));
        std::memcpy(s.t[C][m] + 4 * n, &acc, 4);
      }
  }
};

template <class T> struct Amx {
  template <bool Bf16, int C, int A, int B> static void dp() {
    if constexpr (Bf16)
      T::template dpbf16ps<C, A, B>();
    else
      T::template dpbusd<C, A, B>();
  }

  // One 32-column block of `rows` (1..32) rows, int8 and bf16 alike in
  // bytes: C = A . B over `steps` tile steps (64 bytes of each A row at
  // stride ldx; 16 panel rows of 128 bytes), stored to out[rows][32] (4-byte
  // elements). `shape` is the row count the tiles are configured for.
  template <bool Bf16>
  static void block(const uint8_t *x, int64_t ldx, const uint8_t *w, int64_t steps, int rows, int &shape,
                    void *out) {
    if (rows != shape) {
      T::config(tile_cfg(rows));
      shape = rows;
    }
    const uint8_t *x1 = x + 16 * ldx;
    uint8_t *o = static_cast<uint8_t *>(out);
    T::template zero<0>();
    T::template zero<1>();
    if (rows > 16) {
      T::template zero<2>();
      T::template zero<3>();
      for (int64_t k = 0; k < steps; ++k) {
        T::template load<4>(x + 64 * k, ldx);
        T::template load<5>(x1 + 64 * k, ldx);
        T::template load<6>(w + 2048 * k, 128);
        T::template load<7>(w + 2048 * k + 64, 128);
        dp<Bf16, 0, 4, 6>();
        dp<Bf16, 1, 4, 7>();
        dp<Bf16, 2, 5, 6>();
        dp<Bf16, 3, 5, 7>();
      }
      T::template store<2>(o + 16 * 128, 128);
      T::template store<3>(o + 16 * 128 + 64, 128);
    } else {
      for (int64_t k = 0; k < steps; ++k) {
        T::template load<4>(x + 64 * k, ldx);
        T::template load<6>(w + 2048 * k, 128);
        T::template load<7>(w + 2048 * k + 64, 128);
        dp<Bf16, 0, 4, 6>();
        dp<Bf16, 1, 4, 7>();
      }
    }
    T::template store<0>(o, 128);
    T::template store<1>(o + 64, 128);
  }

  // Rows [m0, m1) x panels [p0, p1) of the integer int8 GEMM: per panel and
  // 32-row block, K in steps of 64 (16 of the panel's 4-k groups).
  static void q8_gemm(const Q8iArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    // K in tile steps of 64; what is left (K % 64, as 4-k groups) by VNNI.
    const int64_t K4 = q8_k4(a.K), steps = K4 / 16;
    alignas(64) int32_t acc[kBlockRows * 32];
    int shape = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const int8_t *w = q8_panel(a.B, a.N, a.K, p);
      for (int64_t m = m0; m < m1; m += kBlockRows) {
        const int rows = int(std::min<int64_t>(kBlockRows, m1 - m));
        block<false>(reinterpret_cast<const uint8_t *>(a.q + m * a.Kp), a.Kp,
                     reinterpret_cast<const uint8_t *>(w), steps, rows, shape, acc);
        if (16 * steps < K4)
          q8i_tail_avx512(a, acc, m, rows, p, 16 * steps);
        q8i_store_rows_avx512(a, acc, m, rows, p);
      }
    }
    if (shape)
      T::release();
  }

  // Rows [m0, m1) x panels [p0, p1) of a kBPackedBF16 GEMM: the task's rows
  // rounded to bf16 pairs once (whole K), then per panel and 32-row block
  // K in steps of 32 (16 of the panel's pairs).
  static void bf16_task(const GemmArgs &a, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    // K in tile steps of 32; the pairs left by AVX512-BF16.
    const int64_t K = a.K, N = a.N, K2 = (K + 1) / 2, rows = m1 - m0, steps = K2 / 16;
    // rows * K2 lanes: rows <= api.cpp's row block (16 * 14), within
    // scratch_need's A (>= ceil(K / 256) * 32 * 14 * 272 floats).
    uint32_t *X = reinterpret_cast<uint32_t *>(scratch(kScratchA, size_t(rows * K2)));
    bf16_pairs_avx512(a.x + m0 * K, rows, K, K, X, K2);
    const int64_t ldx = K2 * 4; // bytes
    const uint16_t *Bq = static_cast<const uint16_t *>(a.B);
    const bool acc_in = (a.flags & LITHE_EPI_ACCUMULATE) != 0;
    const bool epi = a.bias || (a.flags & (LITHE_EPI_GELU_TANH | LITHE_EPI_GELU_ERF));
    alignas(64) float c[kBlockRows * 32];
    int shape = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const uint16_t *w = Bq + p * K2 * kPanel * 2;
      const int64_t ncols = std::min<int64_t>(kPanel, N - p * kPanel);
      for (int64_t m = 0; m < rows; m += kBlockRows) {
        const int r = int(std::min<int64_t>(kBlockRows, rows - m));
        const uint32_t *x0 = X + m * K2;
        block<true>(reinterpret_cast<const uint8_t *>(x0), ldx, reinterpret_cast<const uint8_t *>(w), steps, r,
                    shape, c);
        if (16 * steps < K2)
          bf16_tail_avx512(x0, K2, r, w, 16 * steps, K2, c);
        float *y = a.y + (m0 + m) * N + p * kPanel;
        for (int i = 0; i < r; ++i) {
          float *yr = y + i * N;
          const float *cr = c + i * 32;
          if (acc_in)
            for (int64_t j = 0; j < ncols; ++j)
              yr[j] += cr[j];
          else
            std::memcpy(yr, cr, size_t(ncols) * sizeof(float));
        }
        if (epi)
          gemm_epilogue_avx512(y, N, r, ncols, a.bias ? a.bias + p * kPanel : nullptr, a.flags);
      }
    }
    if (shape)
      T::release();
  }
};

template <class T> Q8iRoute make_q8i(const char *name) {
  Q8iRoute r = *q8i_avx512vnni();
  r.name = name;
  r.mr = kBlockRows;
  r.gemm = &Amx<T>::q8_gemm;
  return r;
}

template <class T> BF16Dot make_bf16() {
  const BF16Dot *base = avx512bf16_kernels();
  return BF16Dot{&Amx<T>::bf16_task, base->rows, base->dot_rows};
}

// Why the tiles are not used (nullptr: they are usable).
const char *g_amx_off_reason = nullptr;

bool amx_probe() {
  unsigned a, b, c, d;
  const unsigned need = (1u << 22) | (1u << 24) | (1u << 25); // AMX-BF16, -TILE, -INT8
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (d & need) != need) {
    g_amx_off_reason = "the CPU has no AMX";
    return false;
  }
  uint32_t lo = 0, hi = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) // OSXSAVE
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) { // XTILECFG and XTILEDATA state enabled
    g_amx_off_reason = "the OS does not enable the tile state";
    return false;
  }
#if defined(__linux__)
  // Linux (5.16+) hands out the 8 KB tile state per process on request;
  // without it the first tile instruction is a SIGILL.
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    g_amx_off_reason = "Linux refused this process the tile state (arch_prctl)";
    return false;
  }
#endif
  return true;
}

// Before the tiles compute anything for a model: one int8 and one bf16
// problem (row, column and K tails) on the tiles and on VNNI /
// AVX512-BF16, compared (int8 bitwise). A mismatch leaves the tiles off
// with one line on stderr: never a wrong answer from an unproven path.
template <class T> const char *amx_self_test() {
  const int64_t M = 37, K = 160, N = 40; // 2 row blocks (one a tail), 2 panels, a K tail
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  std::vector<int8_t> Wq(static_cast<size_t>(K * N));
  std::vector<float> sc(static_cast<size_t>(N)), W(static_cast<size_t>(K * N)), x(static_cast<size_t>(M * K));
  for (auto &w : Wq) w = int8_t(int(next() % 255) - 127);
  for (auto &v : sc) v = 0.01f * float(1 + next() % 100);
  for (auto &v : W) v = float(int(next() % 2001) - 1000) / 1000.f;
  for (auto &v : x) v = float(int(next() % 2001) - 1000) / 1000.f;
  std::vector<uint8_t> pq(lithe_pack_linear_q8_size(K, N) + 64), pb(lithe_pack_linear_bf16_size(K, N) + 64);
  void *q8 = pq.data() + (64 - reinterpret_cast<uintptr_t>(pq.data()) % 64) % 64;
  void *b16 = pb.data() + (64 - reinterpret_cast<uintptr_t>(pb.data()) % 64) % 64;
  lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, q8);
  lithe_pack_linear_bf16(W.data(), K, N, b16);
  const int64_t Kp = 4 * q8_k4(K);
  std::vector<int8_t> q(static_cast<size_t>(M * Kp));
  std::vector<float> qs(static_cast<size_t>(M));
  for (auto &v : q) v = int8_t(next() % 256);
  for (auto &v : qs) v = 0.001f * float(1 + next() % 100);
  std::vector<float> y0(static_cast<size_t>(M * N)), y1(static_cast<size_t>(M * N));
  const Q8iArgs qa0{q.data(), qs.data(), M, K, Kp, N, q8, nullptr, y0.data(), 0};
  const Q8iArgs qa1{q.data(), qs.data(), M, K, Kp, N, q8, nullptr, y1.data(), 0};
  q8i_avx512vnni()->gemm(qa0, 0, M, 0, 2);
  Amx<T>::q8_gemm(qa1, 0, M, 0, 2);
  if (std::memcmp(y0.data(), y1.data(), y0.size() * sizeof(float)) != 0)
    return "the int8 tiles failed the self-test";
  const GemmArgs ba0{x.data(), M, K, N, kBPackedBF16, b16, nullptr, nullptr, y0.data(), 0};
  const GemmArgs ba1{x.data(), M, K, N, kBPackedBF16, b16, nullptr, nullptr, y1.data(), 0};
  avx512bf16_kernels()->gemm_task(ba0, 0, M, 0, 2);
  Amx<T>::bf16_task(ba1, 0, M, 0, 2);
  for (size_t i = 0; i < y0.size(); ++i)
    if (!(std::fabs(y0[i] - y1[i]) <= 1e-3f * (1.f + std::fabs(y0[i]))))
      return "the bf16 tiles failed the self-test";
  return nullptr;
}

} // namespace

bool amx_hardware() {
  static const bool ok = [] {
    if (!q8i_avx512vnni() || !avx512bf16_kernels()) {
      g_amx_off_reason = "this build has no AVX-512 VNNI / BF16 kernels";
      return false;
    }
    if (!amx_probe())
      return false;
    g_amx_off_reason = amx_self_test<HwTiles>();
    if (!g_amx_off_reason)
      return true;
    std::fprintf(stderr, "lithe: warning: AMX off: %s (set LITHE_AMX=0 to skip it)\n", g_amx_off_reason);
    return false;
  }();
  return ok;
}

const char *amx_off_reason() {
  amx_hardware();
  return g_amx_off_reason;
}

} // namespace kern
} // namespace lithe

extern "C" int lithe_kernels_amx_self_test(int emulated) {
  using namespace lithe::kern;
  __builtin_cpu_init();
  if (!q8i_avx512vnni() || !avx512bf16_kernels() || !__builtin_cpu_supports("avx512vnni") ||
      !__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512bw"))
    return -1; // the references: VNNI and AVX512-BF16
  if (!emulated && !amx_hardware())
    return -1;
  return (emulated ? amx_self_test<EmuTiles>() : amx_self_test<HwTiles>()) ? 0 : 1;
}

namespace lithe {
namespace kern {

const Q8iRoute *q8i_amx(bool emulated) {
  if (!q8i_avx512vnni())
    return nullptr;
  if (emulated) {
    static const Q8iRoute r = make_q8i<EmuTiles>("amx (emulated)");
    return &r;
  }
  static const Q8iRoute r = make_q8i<HwTiles>("amx");
  return &r;
}

const BF16Dot *amx_bf16_kernels(bool emulated) {
  if (!avx512bf16_kernels())
    return nullptr;
  if (emulated) {
    static const BF16Dot k = make_bf16<EmuTiles>();
    return &k;
  }
  static const BF16Dot k = make_bf16<HwTiles>();
  return &k;
}

} // namespace kern
} // namespace lithe

#else
extern "C" int lithe_kernels_amx_self_test(int) { return -1; }
bool lithe::kern::amx_hardware() { return false; }
const char *lithe::kern::amx_off_reason() { return "not an x86 build"; }
const lithe::kern::Q8iRoute *lithe::kern::q8i_amx(bool) { return nullptr; }
const lithe::kern::BF16Dot *lithe::kern::amx_bf16_kernels(bool) { return nullptr; }
#endif
