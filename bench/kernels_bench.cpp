// Benchmark of the CPU kernels at GPT-2-small sizes (width 768, 12 heads of
// 64, 12 layers, vocab 50257). Plain main, no framework.
//
//   kernels_bench [--threads 1,2] [--isa scalar|avx2|avx512] [--quick]
//
// Every figure is the minimum over repetitions (the machine may be shared).
// "cold" M=1 figures cycle through enough copies of the weights (>= 1.5 GB)
// that they come from DRAM, as in real decoding where ~0.5 GB of weights are
// read per token; "hot" ones reuse one copy (cache resident).
#include "lithe/runtime/kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
bool g_quick = false;
std::string g_only; // comma-separated sections, empty = all

bool want(const char *section) {
  if (g_only.empty())
    return true;
  return ("," + g_only + ",").find("," + std::string(section) + ",") != std::string::npos;
}

double now_s() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Minimum wall time of fn over `reps` runs (after one warm-up), in seconds.
double time_min(int reps, const std::function<void()> &fn) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    fn();
    best = std::min(best, now_s() - t0);
  }
  return best;
}

struct Buf {
  explicit Buf(size_t bytes) : n(bytes) {
    p = static_cast<char *>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096));
    std::memset(p, 0, bytes); // fault the pages in
  }
  ~Buf() { std::free(p); }
  Buf(const Buf &) = delete;
  Buf &operator=(const Buf &) = delete;
  char *p;
  size_t n;
};

void fill_rand(float *p, size_t n, uint32_t seed, float a = 0.05f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-a, a);
  for (size_t i = 0; i < n; ++i)
    p[i] = d(g);
}

// Copies of one packed matrix spread over a big arena (for cold timings).
struct Copies {
  Copies(const void *src, size_t bytes, size_t arena_bytes) : stride((bytes + 4095) / 4096 * 4096) {
    count = std::max<size_t>(1, arena_bytes / stride);
    buf.reset(new Buf(stride * count));
    for (size_t i = 0; i < count; ++i)
      std::memcpy(buf->p + i * stride, src, bytes);
  }
  const void *at(size_t i) const { return buf->p + (i % count) * stride; }
  size_t stride, count;
  std::unique_ptr<Buf> buf;
};

const size_t kArena = size_t(1536) << 20;

// Streaming read roof: nt threads each summing a slice of 1 GB with AVX2
// loads, 8 accumulators and software prefetch 1 KB ahead (the best of the
// variants tried on this machine), GB/s.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) float stream_sum(const float *p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (size_t j = 0; j + 64 <= n; j += 64) {
    const char *c = reinterpret_cast<const char *>(p + j) + 1024;
    _mm_prefetch(c, _MM_HINT_T0);
    _mm_prefetch(c + 64, _MM_HINT_T0);
    _mm_prefetch(c + 128, _MM_HINT_T0);
    _mm_prefetch(c + 192, _MM_HINT_T0);
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + j));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + j + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + j + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + j + 24));
    a4 = _mm256_add_ps(a4, _mm256_load_ps(p + j + 32));
    a5 = _mm256_add_ps(a5, _mm256_load_ps(p + j + 40));
    a6 = _mm256_add_ps(a6, _mm256_load_ps(p + j + 48));
    a7 = _mm256_add_ps(a7, _mm256_load_ps(p + j + 56));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}
#endif

float stream_sum_plain(const float *p, size_t n) {
  float s = 0;
  for (size_t j = 0; j < n; ++j)
    s += p[j];
  return s;
}

double read_bandwidth(int nt) {
  static Buf big(size_t(1) << 30);
  const size_t n = big.n / sizeof(float);
  const float *p = reinterpret_cast<const float *>(big.p);
  std::vector<float> sink(static_cast<size_t>(nt));
  bool avx2 = false;
#if defined(__x86_64__) && defined(__GNUC__)
  avx2 = __builtin_cpu_supports("avx2");
#endif
  double t = time_min(3, [&] {
    std::vector<std::thread> th;
    for (int i = 0; i < nt; ++i)
      th.emplace_back([&, i] {
        size_t b = n * size_t(i) / size_t(nt) / 64 * 64, e = n * size_t(i + 1) / size_t(nt) / 64 * 64;
#if defined(__x86_64__) && defined(__GNUC__)
        if (avx2) {
          sink[size_t(i)] = stream_sum(p + b, e - b);
          return;
        }
#endif
        sink[size_t(i)] = stream_sum_plain(p + b, e - b);
      });
    for (auto &x : th)
      x.join();
  });
  (void)avx2;
  return double(big.n) / t / 1e9;
}

// --------------------------------------------------------------- M = 1

struct Shape {
  const char *name;
  int64_t K, N;
};
const Shape kShapes[] = {{"qkv  768x2304", 768, 2304},
                         {"fc   768x3072", 768, 3072},
                         {"proj 768x768 ", 768, 768},
                         {"fc2  3072x768", 3072, 768}};

// Weight precisions of the linear kernels.
enum class Prec { F32, Q8, BF16, Q4 };
const char *prec_tag(Prec p) {
  return p == Prec::Q8 ? "_q8  " : p == Prec::BF16 ? "_bf16" : p == Prec::Q4 ? "_q4  " : "     ";
}
constexpr int64_t kQ4Group = 64; // int4 inputs per scale

std::vector<char> pack_weights(Prec prec, const std::vector<float> &W, int64_t K, int64_t N) {
  std::vector<char> packed;
  if (prec == Prec::F32) {
    packed.resize(lithe_pack_linear_size(K, N));
    lithe_pack_linear(W.data(), K, N, packed.data());
  } else if (prec == Prec::BF16) {
    packed.resize(lithe_pack_linear_bf16_size(K, N));
    lithe_pack_linear_bf16(W.data(), K, N, packed.data());
  } else if (prec == Prec::Q4) { // round to nearest, groups of kQ4Group
    std::vector<int8_t> Wq(W.size());
    std::vector<float> sc(static_cast<size_t>(K / kQ4Group * N));
    for (int64_t g = 0; g < K / kQ4Group; ++g)
      for (int64_t n = 0; n < N; ++n) {
        float m = 0;
        for (int64_t k = g * kQ4Group; k < (g + 1) * kQ4Group; ++k) m = std::max(m, std::fabs(W[k * N + n]));
        const float s = m > 0 ? m / 7 : 1;
        sc[g * N + n] = s;
        for (int64_t k = g * kQ4Group; k < (g + 1) * kQ4Group; ++k)
          Wq[k * N + n] = int8_t(std::max(-8.f, std::min(7.f, std::nearbyint(W[k * N + n] / s))));
      }
    packed.resize(lithe_pack_linear_q4_size(K, N, kQ4Group));
    lithe_pack_linear_q4(Wq.data(), sc.data(), K, N, kQ4Group, packed.data());
  } else {
    std::vector<int8_t> Wq(W.size());
    std::vector<float> sc(static_cast<size_t>(N));
    lithe_quantize_q8(W.data(), K, N, Wq.data(), sc.data());
    packed.resize(lithe_pack_linear_q8_size(K, N));
    lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, packed.data());
  }
  return packed;
}

void linear(Prec prec, const float *x, int64_t M, int64_t K, const void *w, int64_t N,
            const float *bias, float *y, int flags) {
  if (prec == Prec::Q8)
    lithe_linear_q8(x, M, K, w, N, bias, y, flags);
  else if (prec == Prec::Q4)
    lithe_linear_q4(x, M, K, w, N, kQ4Group, bias, y, flags);
  else if (prec == Prec::BF16)
    lithe_linear_bf16(x, M, K, w, N, bias, y, flags);
  else
    lithe_linear(x, M, K, w, N, bias, y, flags);
}

// M rows of x: 1 is decoding, a few is batched decoding (a row per sequence).
void bench_gemv(Prec prec, int64_t M = 1) {
  std::vector<float> x(size_t(M) * 3072), y(size_t(M) * 3072);
  fill_rand(x.data(), x.size(), 1, 1.f);
  for (const Shape &s : kShapes) {
    std::vector<float> W(size_t(s.K * s.N));
    fill_rand(W.data(), W.size(), 2);
    std::vector<char> packed = pack_weights(prec, W, s.K, s.N);
    const size_t bytes = packed.size();
    Copies cp(packed.data(), bytes, g_quick ? kArena / 4 : kArena);
    auto call = [&](const void *w) { linear(prec, x.data(), M, s.K, w, s.N, nullptr, y.data(), 0); };
    double cold = time_min(5, [&] {
                    for (size_t i = 0; i < cp.count; ++i)
                      call(cp.at(i));
                  }) / double(cp.count);
    double hot = time_min(5, [&] {
                   for (int i = 0; i < 50; ++i)
                     call(cp.at(0));
                 }) / 50;
    const double gf = 2e-9 * double(M) * double(s.K) * double(s.N);
    std::printf("  linear%s M=%lld %s : cold %7.1f us %6.1f GB/s %6.1f GFLOP/s | hot %7.1f us "
                "%6.1f GB/s %6.1f GFLOP/s\n",
                prec_tag(prec), (long long)M, s.name, cold * 1e6, bytes / cold / 1e9, gf / cold,
                hot * 1e6, bytes / hot / 1e9, gf / hot);
  }
}

void bench_lm_head_m1(bool q8) {
  const int64_t V = 50257, D = 768;
  std::vector<float> T(size_t(V * D)), x(D), logits(V);
  fill_rand(T.data(), T.size(), 3);
  fill_rand(x.data(), x.size(), 4, 1.f);
  std::vector<int8_t> Tq;
  std::vector<float> sc;
  size_t bytes = T.size() * 4;
  if (q8) {
    Tq.resize(T.size());
    sc.resize(size_t(V));
    lithe_quantize_rows_q8(T.data(), V, D, Tq.data(), sc.data());
    bytes = Tq.size();
  }
  Copies cp(q8 ? static_cast<const void *>(Tq.data()) : T.data(), bytes, g_quick ? kArena / 4 : kArena);
  double t = time_min(5, [&] {
               for (size_t i = 0; i < cp.count; ++i) {
                 if (q8)
                   lithe_lm_head_q8(x.data(), 1, D, static_cast<const int8_t *>(cp.at(i)),
                                    sc.data(), V, logits.data());
                 else
                   lithe_lm_head(x.data(), 1, D, static_cast<const float *>(cp.at(i)), V,
                                 logits.data());
               }
             }) / double(cp.count);
  std::printf("  lm_head%s M=1 50257x768      : cold %7.1f us %6.1f GB/s\n", q8 ? "_q8" : "   ",
              t * 1e6, bytes / t / 1e9);
}

// ---------------------------------------------------------------- GEMM

void bench_gemm(Prec prec, int64_t M) {
  std::vector<float> x(size_t(M * 3072)), y(size_t(M * 3072)), b(3072);
  fill_rand(x.data(), x.size(), 5, 1.f);
  fill_rand(b.data(), b.size(), 6);
  for (const Shape &s : kShapes) {
    std::vector<float> W(size_t(s.K * s.N));
    fill_rand(W.data(), W.size(), 7);
    std::vector<char> packed = pack_weights(prec, W, s.K, s.N);
    const int flags = s.N == 3072 ? LITHE_EPI_GELU_TANH : 0;
    double t = time_min(g_quick ? 2 : 5, [&] {
      linear(prec, x.data(), M, s.K, packed.data(), s.N, b.data(), y.data(), flags);
    });
    const double flop = 2.0 * double(M) * double(s.K) * double(s.N);
    std::printf("  linear%s M=%lld %s%s: %8.2f ms %7.1f GFLOP/s (%5.1f per thread)\n",
                prec_tag(prec), (long long)M, s.name, flags ? " +gelu" : "      ", t * 1e3,
                flop / t / 1e9, flop / t / 1e9 / lithe_threads_count());
  }
}

void bench_lm_head_gemm(int64_t M, bool bf16 = false) {
  const int64_t V = 50257, D = 768;
  std::vector<float> T(size_t(V * D)), x(size_t(M * D)), logits(size_t(M * V));
  fill_rand(T.data(), T.size(), 8);
  fill_rand(x.data(), x.size(), 9, 1.f);
  std::vector<uint16_t> Tb(bf16 ? T.size() : 0);
  if (bf16)
    lithe_to_bf16(T.data(), int64_t(T.size()), Tb.data());
  double t = time_min(M < 64 ? 8 : 2, [&] {
    if (bf16)
      lithe_lm_head_bf16(x.data(), M, D, Tb.data(), V, logits.data());
    else
      lithe_lm_head(x.data(), M, D, T.data(), V, logits.data());
  });
  const double flop = 2.0 * double(M) * double(D) * double(V);
  std::printf("  lm_head%s M=%lld 50257x768      : %8.2f ms %7.1f GFLOP/s\n", bf16 ? "_bf16" : "     ",
              (long long)M, t * 1e3, flop / t / 1e9);
}

// ----------------------------------------------------------- attention

void bench_attention() {
  const int64_t H = 12, hd = 64, cap = 1152, E = H * hd;
  std::vector<float> kc(size_t(H * cap * hd)), vc(kc.size()), q(size_t(896 * E)), out(q.size());
  fill_rand(kc.data(), kc.size(), 10, 1.f);
  fill_rand(vc.data(), vc.size(), 11, 1.f);
  fill_rand(q.data(), q.size(), 12, 1.f);
  const float scale = 0.125f;
  for (int64_t past : {128, 1024}) {
    double t = time_min(20, [&] {
      for (int i = 0; i < 20; ++i)
        lithe_attention(q.data(), 1, kc.data(), vc.data(), H, hd, cap, past, scale, 1, out.data());
    }) / 20;
    const double bytes = 2.0 * double(H) * double(past + 1) * double(hd) * 4;
    std::printf("  attention S=1 past=%-4lld            : %8.1f us (%5.1f GB/s of KV, cache hot)\n",
                (long long)past, t * 1e6, bytes / t / 1e9);
  }
  {
    const int64_t S = 896;
    double t = time_min(g_quick ? 2 : 5, [&] {
      lithe_attention(q.data(), S, kc.data(), vc.data(), H, hd, cap, 0, scale, 1, out.data());
    });
    const double flop = 4.0 * double(H) * double(hd) * double(S) * double(S + 1) / 2;
    std::printf("  attention S=896 prefill (causal)   : %8.2f ms %7.1f GFLOP/s\n", t * 1e3,
                flop / t / 1e9);
  }
}

// ---------------------------------------------- GPT-2 small simulation

// One GPT-2-small forward pass (12 layers, distinct weights per layer, so
// ~0.5 GB fp32 / ~0.16 GB q8 of weights stream per decoded token), kernels
// only (no tokenizer / sampling): decode S=1 at a given past, or prefill.
struct Gpt2 {
  static constexpr int64_t D = 768, H = 12, HD = 64, L = 12, V = 50257, F = 3072, CAP = 1024;
  bool q8;
  std::vector<std::unique_ptr<Buf>> w_qkv, w_o, w_fc, w_pr;
  std::vector<float> b_qkv, b_o, b_fc, b_pr, ln_g, ln_b;
  std::vector<float> emb; // fp32 table (tied head)
  std::vector<int8_t> embq;
  std::vector<float> embs;
  std::vector<float> kc, vc;

  static std::unique_ptr<Buf> make(int64_t K, int64_t N, bool q8, uint32_t seed) {
    std::vector<float> W(size_t(K * N));
    fill_rand(W.data(), W.size(), seed, 0.02f);
    if (!q8) {
      auto b = std::make_unique<Buf>(lithe_pack_linear_size(K, N));
      lithe_pack_linear(W.data(), K, N, b->p);
      return b;
    }
    std::vector<int8_t> Wq(W.size());
    std::vector<float> sc(static_cast<size_t>(N));
    lithe_quantize_q8(W.data(), K, N, Wq.data(), sc.data());
    auto b = std::make_unique<Buf>(lithe_pack_linear_q8_size(K, N));
    lithe_pack_linear_q8(Wq.data(), sc.data(), K, N, b->p);
    return b;
  }

  explicit Gpt2(bool q8_) : q8(q8_) {
    for (int l = 0; l < L; ++l) {
      w_qkv.push_back(make(D, 3 * D, q8, 100 + l));
      w_o.push_back(make(D, D, q8, 200 + l));
      w_fc.push_back(make(D, F, q8, 300 + l));
      w_pr.push_back(make(F, D, q8, 400 + l));
    }
    b_qkv.assign(3 * D, 0.01f);
    b_o.assign(D, 0.01f);
    b_fc.assign(F, 0.01f);
    b_pr.assign(D, 0.01f);
    ln_g.assign(D, 1.f);
    ln_b.assign(D, 0.f);
    emb.resize(size_t(V * D));
    fill_rand(emb.data(), emb.size(), 5, 0.1f);
    if (q8) {
      embq.resize(emb.size());
      embs.resize(size_t(V));
      lithe_quantize_rows_q8(emb.data(), V, D, embq.data(), embs.data());
      emb.clear();
      emb.shrink_to_fit();
    }
    kc.resize(size_t(L * H * CAP * HD));
    vc.resize(kc.size());
    fill_rand(kc.data(), kc.size(), 6, 1.f);
    fill_rand(vc.data(), vc.size(), 7, 1.f);
  }

  void lin(const float *x, int64_t M, int64_t K, const Buf &w, int64_t N, const float *b,
           float *y, int flags) {
    if (q8)
      lithe_linear_q8(x, M, K, w.p, N, b, y, flags);
    else
      lithe_linear(x, M, K, w.p, N, b, y, flags);
  }

  // S tokens at positions [past, past+S); logits for the last token only.
  void forward(int64_t S, int64_t past, std::vector<float> &ws) {
    ws.resize(size_t(S * (D * 2 + 3 * D + D + F) + V));
    float *h = ws.data(), *a = h + S * D, *qkv = a + S * D, *att = qkv + S * 3 * D,
          *f = att + S * D, *logits = f + S * F;
    std::vector<int64_t> ids(static_cast<size_t>(S));
    for (int64_t i = 0; i < S; ++i)
      ids[size_t(i)] = (i * 7919) % V;
    if (q8)
      lithe_embedding_q8(embq.data(), embs.data(), D, ids.data(), S, h);
    else
      lithe_embedding(emb.data(), D, ids.data(), S, h);
    std::vector<float> kk(size_t(S * D)), vv(size_t(S * D)), qq(size_t(S * D));
    for (int l = 0; l < L; ++l) {
      float *klay = kc.data() + size_t(l) * H * CAP * HD, *vlay = vc.data() + size_t(l) * H * CAP * HD;
      lithe_layer_norm(h, S, D, ln_g.data(), ln_b.data(), 1e-5f, a);
      lin(a, S, D, *w_qkv[size_t(l)], 3 * D, b_qkv.data(), qkv, 0);
      // split q | k | v (the compiler would fuse this into the layout)
      for (int64_t s = 0; s < S; ++s) {
        std::memcpy(qq.data() + s * D, qkv + s * 3 * D, D * 4);
        std::memcpy(kk.data() + s * D, qkv + s * 3 * D + D, D * 4);
        std::memcpy(vv.data() + s * D, qkv + s * 3 * D + 2 * D, D * 4);
      }
      lithe_kv_append(klay, vlay, H, HD, CAP, past, kk.data(), vv.data(), S);
      lithe_attention(qq.data(), S, klay, vlay, H, HD, CAP, past, 0.125f, 1, att);
      lin(att, S, D, *w_o[size_t(l)], D, b_o.data(), h, LITHE_EPI_ACCUMULATE);
      lithe_layer_norm(h, S, D, ln_g.data(), ln_b.data(), 1e-5f, a);
      lin(a, S, D, *w_fc[size_t(l)], F, b_fc.data(), f, LITHE_EPI_GELU_TANH);
      lin(f, S, F, *w_pr[size_t(l)], D, b_pr.data(), h, LITHE_EPI_ACCUMULATE);
    }
    lithe_layer_norm(h + (S - 1) * D, 1, D, ln_g.data(), ln_b.data(), 1e-5f, a);
    if (q8)
      lithe_lm_head_q8(a, 1, D, embq.data(), embs.data(), V, logits);
    else
      lithe_lm_head(a, 1, D, emb.data(), V, logits);
  }
};

void bench_gpt2(bool q8) {
  Gpt2 m(q8);
  std::vector<float> ws;
  for (int64_t past : {0, 127, 511}) {
    double t = time_min(g_quick ? 5 : 20, [&] { m.forward(1, past, ws); });
    std::printf("  gpt2-small%s decode 1 token, past=%-4lld: %7.2f ms/token\n", q8 ? " q8" : "   ",
                (long long)past, t * 1e3);
  }
  if (!g_quick || !q8) {
    double t = time_min(g_quick ? 1 : 3, [&] { m.forward(896, 0, ws); });
    std::printf("  gpt2-small%s prefill 896 tokens        : %7.1f ms\n", q8 ? " q8" : "   ",
                t * 1e3);
  }
}

void bench_dispatch() {
  // Latency of a small M=1 linear (64x1024, 256 KB of weights, cache
  // resident): ~2.5 us of work; with 2 threads, plus dispatch/synchronisation.
  const int64_t K = 64, N = 1024;
  std::vector<float> W(size_t(K * N)), x(K), y(N);
  fill_rand(W.data(), W.size(), 1);
  std::vector<char> packed(lithe_pack_linear_size(K, N));
  lithe_pack_linear(W.data(), K, N, packed.data());
  double t = time_min(20, [&] {
               for (int i = 0; i < 1000; ++i)
                 lithe_linear(x.data(), 1, K, packed.data(), N, nullptr, y.data(), 0);
             }) / 1000;
  std::printf("  small linear M=1 64x1024 (latency)  : %6.2f us/call\n", t * 1e6);
}

} // namespace

int main(int argc, char **argv) {
  std::vector<int> threads = {1, 2};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick")
      g_quick = true;
    else if (a == "--only" && i + 1 < argc)
      g_only = argv[++i];
    else if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      std::string s = argv[++i];
      size_t p = 0;
      while (p < s.size()) {
        size_t c = s.find(',', p);
        threads.push_back(std::atoi(s.substr(p, c - p).c_str()));
        p = c == std::string::npos ? s.size() : c + 1;
      }
    } else if (a == "--isa" && i + 1 < argc) {
      std::string s = argv[++i];
      int isa = s == "scalar" ? LITHE_ISA_SCALAR : s == "avx2" ? LITHE_ISA_AVX2 : LITHE_ISA_AVX512;
      if (lithe_kernels_force_isa(isa) != 0) {
        std::fprintf(stderr, "ISA %s not supported here\n", s.c_str());
        return 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--isa scalar|avx2|avx512] [--quick]\n"
                   "  [--only dispatch,gemv,lmhead,gemm,attn,gpt2]\n", argv[0]);
      return 2;
    }
  }
  std::printf("lithe kernels benchmark: isa %s, int8 route %s, bf16 dot products %s, AMX: %s\n",
              lithe_kernels_isa_name(lithe_kernels_isa()), lithe_kernels_q8_route(),
              lithe_kernels_bf16_dot(-1) ? "on" : "off", lithe_kernels_amx_status());
  for (int nt : threads) {
    const int got = lithe_threads_init(nt);
    if (want("gemv") || want("lmhead") || want("roof"))
      std::printf("== threads %d (memory read roof: %.1f GB/s)\n", got, read_bandwidth(nt));
    else
      std::printf("== threads %d\n", got);
    if (want("dispatch"))
      bench_dispatch();
    if (want("gemv")) {
      bench_gemv(Prec::F32);
      bench_gemv(Prec::Q8);
      bench_gemv(Prec::Q4);
      bench_gemv(Prec::BF16);
      bench_gemv(Prec::F32, 8);
      bench_gemv(Prec::BF16, 8);
    }
    if (want("lmhead")) {
      bench_lm_head_m1(false);
      bench_lm_head_m1(true);
    }
    if (want("gemm")) {
      bench_gemm(Prec::F32, 896);
      bench_gemm(Prec::Q8, 896);
      bench_gemm(Prec::Q4, 896);
      bench_gemm(Prec::BF16, 896);
    }
    if (want("lmhead")) {
      // batched decoding's few rows (one per sequence), then a prefill's
      for (int64_t M : {4, 8, 16})
        bench_lm_head_gemm(M);
      for (int64_t M : {1, 8})
        bench_lm_head_gemm(M, true);
      if (!g_quick)
        bench_lm_head_gemm(256);
    }
    if (want("attn"))
      bench_attention();
    if (want("gpt2")) {
      bench_gpt2(false);
      bench_gpt2(true);
    }
    std::fflush(stdout);
  }
  return 0;
}
