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
      workers_.emplace_back([this] { worker_loop(); });
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
      work(g, fn, ctx, n);
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

float *scratch(int slot, size_t nfloats) {
  ScratchBuf &b = tls_scratch.b[slot];
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

} // namespace kern
} // namespace lithe

extern "C" int lithe_threads_init(int n) { return lithe::kern::pool().init(n); }

extern "C" int lithe_threads_count(void) { return lithe::kern::pool().threads(); }
