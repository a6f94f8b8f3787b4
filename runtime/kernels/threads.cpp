// Persistent thread pool: n-1 workers plus the calling thread.
//
// Dispatch protocol (one job at a time, serialised by run_mu_):
//  * state_ = (generation << 32) | next-task index. The caller closes the old
//    generation (index kClosed), writes the job fields, then publishes
//    (gen, 0). Workers and the caller claim tasks by CAS on state_, which only
//    succeeds while the generation is the one whose fields they read, so a
//    late worker can never run a task with another job's fields.
//  * done_ counts finished tasks; the caller returns when it reaches ntasks.
//    It never waits for a sleeping worker to wake up.
//  * Idle workers spin (pause) for LITHE_SPIN_US microseconds, then sleep on a
//    condition variable; the caller only takes the mutex to notify when some
//    worker sleeps.
// A job costs a few hundred nanoseconds when the workers are spinning.
#include "internal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if LITHE_X86
#include <immintrin.h>
#endif

namespace lithe {
namespace kern {
namespace {

inline void cpu_relax() {
#if LITHE_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

int default_threads() {
  if (const char *e = std::getenv("LITHE_NUM_THREADS")) {
    int n = std::atoi(e);
    if (n > 0)
      return n;
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

int64_t spin_ns() {
  int64_t us = 200;
  if (const char *e = std::getenv("LITHE_SPIN_US"))
    us = std::max(0, std::atoi(e));
  return us * 1000;
}

thread_local bool tls_in_pool = false;
// This thread's index in the pool (the caller of a job is 0, workers 1..n-1)
// and the workspace its kernels take scratch from (lithe_workspace_bind; a
// worker takes its caller's for the job).
thread_local int tls_tid = 0;

} // namespace

// Slots of `cap[slot]` floats per thread, 64-byte aligned, then the shared
// region; one allocation.
struct Workspace {
  int threads = 0;
  size_t cap[kNumScratch] = {};
  size_t offset[kNumScratch] = {}; // floats from a thread's start
  size_t stride = 0;               // floats per thread
  size_t sharedCap = 0;
  float *base = nullptr;
  float *at(int tid, int slot) const { return base + size_t(tid) * stride + offset[slot]; }
  float *shared() const { return base + size_t(threads) * stride; }
};

namespace {
thread_local const Workspace *tls_ws = nullptr;
std::atomic<int64_t> g_misses{0};

class Pool {
public:
  ~Pool() { stop_workers(); }

  int init(int n) {
    std::lock_guard<std::mutex> g(run_mu_);
    stop_workers();
    if (n <= 0)
      n = default_threads();
    n = std::min(n, 1024);
    spin_ns_ = spin_ns();
    stop_.store(false);
    uint64_t s = state_.load();
    seen_gen_init_ = uint32_t(s >> 32);
    for (int i = 1; i < n; ++i)
      workers_.emplace_back([this, i] {
        tls_tid = i;
        worker_loop();
      });
    nthreads_.store(n, std::memory_order_release);
    return n;
  }

  int threads() {
    int n = nthreads_.load(std::memory_order_acquire);
    if (n == 0)
      n = init(0);
    return n;
  }

  void run(int64_t ntasks, TaskFn fn, void *ctx) {
    if (ntasks <= 0)
      return;
    if (ntasks == 1 || tls_in_pool || threads() == 1) {
      for (int64_t i = 0; i < ntasks; ++i)
        fn(ctx, i);
      return;
    }
    std::unique_lock<std::mutex> lk(run_mu_, std::try_to_lock);
    if (!lk.owns_lock() || workers_.empty()) {
      for (int64_t i = 0; i < ntasks; ++i)
        fn(ctx, i);
      return;
    }
    tls_in_pool = true;
    uint32_t g = uint32_t(state_.load() >> 32) + 1;
    state_.store((uint64_t(g) << 32) | kClosed);
    fn_.store(fn);
    ctx_.store(ctx);
    ws_.store(tls_ws);
    ntasks_.store(ntasks);
    done_.store(0);
    state_.store(uint64_t(g) << 32);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> m(mu_);
      cv_.notify_all();
    }
    work(g, fn, ctx, ntasks);
    while (done_.load(std::memory_order_acquire) < ntasks)
      cpu_relax();
    tls_in_pool = false;
  }

private:
  static constexpr uint32_t kClosed = 0xFFFFFFFFu;

  // Claims and runs tasks of generation g until none is left.
  void work(uint32_t g, TaskFn fn, void *ctx, int64_t ntasks) {
    uint64_t cur = state_.load(std::memory_order_acquire);
    for (;;) {
      if (uint32_t(cur >> 32) != g)
        return;
      uint32_t idx = uint32_t(cur);
      if (idx == kClosed || int64_t(idx) >= ntasks)
        return;
      if (state_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        fn(ctx, int64_t(idx));
        done_.fetch_add(1, std::memory_order_acq_rel);
        cur = state_.load(std::memory_order_acquire);
      }
    }
  }

  bool ready(uint32_t seen, uint64_t s) const {
    return uint32_t(s >> 32) != seen && uint32_t(s) != kClosed;
  }

  void worker_loop() {
    tls_in_pool = true;
    uint32_t seen = seen_gen_init_;
    for (;;) {
      uint64_t s = state_.load(std::memory_order_acquire);
      if (!ready(seen, s) && !stop_.load(std::memory_order_relaxed)) {
        auto t0 = std::chrono::steady_clock::now();
        for (int it = 1;; ++it) {
          cpu_relax();
          s = state_.load(std::memory_order_acquire);
          if (ready(seen, s) || stop_.load(std::memory_order_relaxed))
            break;
          if ((it & 63) == 0 &&
              std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - t0)
                      .count() > spin_ns_) {
            std::unique_lock<std::mutex> lk(mu_);
            sleepers_.fetch_add(1);
            cv_.wait(lk, [&] {
              s = state_.load();
              return stop_.load() || ready(seen, s);
            });
            sleepers_.fetch_sub(1);
            break;
          }
        }
      }
      if (stop_.load())
        return;
      uint32_t g = uint32_t(s >> 32);
      TaskFn fn = fn_.load(std::memory_order_acquire);
      void *ctx = ctx_.load(std::memory_order_acquire);
      int64_t n = ntasks_.load(std::memory_order_acquire);
      tls_ws = ws_.load(std::memory_order_acquire);
      work(g, fn, ctx, n);
      tls_ws = nullptr;
      seen = g;
    }
  }

  void stop_workers() {
    if (workers_.empty())
      return;
    {
      std::lock_guard<std::mutex> m(mu_);
      stop_.store(true);
      cv_.notify_all();
    }
    for (auto &t : workers_)
      t.join();
    workers_.clear();
    nthreads_.store(1);
  }

  std::mutex run_mu_;
  std::vector<std::thread> workers_;
  std::atomic<int> nthreads_{0};
  int64_t spin_ns_ = 0;
  uint32_t seen_gen_init_ = 0;

  std::atomic<uint64_t> state_{kClosed};
  std::atomic<TaskFn> fn_{nullptr};
  std::atomic<void *> ctx_{nullptr};
  std::atomic<const Workspace *> ws_{nullptr};
  std::atomic<int64_t> ntasks_{0};
  std::atomic<int64_t> done_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

Pool &pool() {
  static Pool p;
  return p;
}

struct ScratchBuf {
  float *p = nullptr;
  size_t n = 0;
};
struct ScratchSet {
  ScratchBuf b[kNumScratch];
  ~ScratchSet() {
    for (auto &x : b)
      std::free(x.p);
  }
};
thread_local ScratchSet tls_scratch;

} // namespace

int pool_threads() { return pool().threads(); }

void pool_run(int64_t ntasks, TaskFn fn, void *ctx) { pool().run(ntasks, fn, ctx); }

namespace {
/// The per-thread buffers: the default, and what serves a request a bound
/// workspace cannot.
float *grow(ScratchBuf &b, size_t nfloats) {
  if (b.n < nfloats || !b.p) {
    std::free(b.p);
    size_t n = std::max<size_t>(nfloats + nfloats / 4, 1024);
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64 + 64;
    b.p = static_cast<float *>(std::aligned_alloc(64, bytes));
    if (!b.p)
      throw std::bad_alloc();
    b.n = n;
  }
  return b.p;
}
thread_local ScratchBuf tls_shared;
} // namespace

float *shared_scratch(size_t nfloats) {
  if (const Workspace *w = tls_ws) {
    if (nfloats <= w->sharedCap)
      return w->shared();
    g_misses.fetch_add(1, std::memory_order_relaxed);
  }
  return grow(tls_shared, nfloats);
}

float *scratch(int slot, size_t nfloats) {
  if (const Workspace *w = tls_ws) {
    if (tls_tid < w->threads && nfloats <= w->cap[slot])
      return w->at(tls_tid, slot);
    g_misses.fetch_add(1, std::memory_order_relaxed);
  }
  return grow(tls_scratch.b[slot], nfloats);
}

} // namespace kern
} // namespace lithe

extern "C" int lithe_threads_init(int n) { return lithe::kern::pool().init(n); }

extern "C" int lithe_threads_count(void) { return lithe::kern::pool().threads(); }

// ------------------------------------------------------------- workspace

struct LitheWorkspace : lithe::kern::Workspace {
  size_t bytes = 0;
};

extern "C" LitheWorkspace *lithe_workspace_new(const LitheWorkspaceShape *shape, int threads) {
  using namespace lithe::kern;
  if (!shape)
    return nullptr;
  if (threads <= 0)
    threads = pool().threads();
  auto *w = new (std::nothrow) LitheWorkspace();
  if (!w)
    return nullptr;
  w->threads = threads;
  // Every code path's needs (lithe_kernels_force_isa may switch later).
  for (const KernelTable *t : {scalar_table(), avx2_table(), avx512_table()}) {
    if (!t || !t->scratch_need)
      continue;
    for (int s = 0; s < kNumScratch; ++s)
      w->cap[s] = std::max(w->cap[s], t->scratch_need(s, *shape));
  }
  // api.cpp: a GELU epilogue that also accumulates runs 8 rows at a time
  // through slot E.
  w->cap[kScratchE] = std::max<size_t>(w->cap[kScratchE], size_t(8 * std::max<int64_t>(shape->max_n, 1)));
  for (int s = 0; s < kNumScratch; ++s) {
    w->cap[s] = (w->cap[s] + 15) / 16 * 16; // 64-byte aligned slots
    w->offset[s] = w->stride;
    w->stride += w->cap[s];
  }
  // Attention prefill: key panels of every head, and values padded to the
  // micro-kernel width or widened from f16 (api.cpp's lithe_attention), over
  // the whole context.
  size_t shared = 0;
  const int64_t T = std::max<int64_t>(shape->capacity, 1), hd = std::max<int64_t>(shape->head_dim, 1);
  for (const KernelTable *t : {scalar_table(), avx2_table(), avx512_table()}) {
    if (!t || !t->attn_block)
      continue;
    const int64_t hdp = round_up(hd, t->attn_uw);
    size_t n = size_t(shape->heads * ceil_div(T, kPanel) * hd * kPanel) +
               (hdp != hd || (shape->kv_bytes > 0 && shape->kv_bytes < 4) ? size_t(shape->heads * T * hdp) : 0) + 16;
    shared = std::max(shared, n);
  }
  // api.cpp's integer int8 GEMM: the quantized rows of x.
  shared = std::max(shared, q8i_shared_need(*shape));
  w->sharedCap = shared;
  w->bytes = (size_t(threads) * w->stride + shared) * sizeof(float);
  w->base = static_cast<float *>(std::aligned_alloc(64, (w->bytes + 63) / 64 * 64 + 64));
  if (!w->base) {
    delete w;
    return nullptr;
  }
  return w;
}

extern "C" void lithe_workspace_free(LitheWorkspace *ws) {
  if (!ws)
    return;
  std::free(ws->base);
  delete ws;
}

extern "C" size_t lithe_workspace_bytes(const LitheWorkspace *ws) { return ws ? ws->bytes : 0; }

extern "C" LitheWorkspace *lithe_workspace_bind(LitheWorkspace *ws) {
  using namespace lithe::kern;
  auto *prev = static_cast<LitheWorkspace *>(const_cast<Workspace *>(tls_ws));
  tls_ws = ws;
  return prev;
}

extern "C" int64_t lithe_workspace_misses(void) {
  return lithe::kern::g_misses.load(std::memory_order_relaxed);
}
