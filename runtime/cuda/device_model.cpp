//===- device_model.cpp - a CUDA model: upload, device caches, graphs -----===//
//
// lithe::rt::Device for code from lithec --target=cuda (model.h). At load:
// the GPU is checked (a driver, compute capability 8.0 or newer, enough
// memory for the weights, one full-context KV cache and a context), then
// the mapped weights file is uploaded once, through two pinned staging
// buffers so the disk/page-cache reads overlap the copies. The device copy
// keeps the file's layout, so the generated code's weight offsets hold.
//
// A forward step copies its ids and the past length from pinned host memory
// and runs the generated host code, which launches the kernels on the
// context's stream (cuda_ops.h). A one-token step is captured once per
// cache into a CUDA graph and replayed: the copies are nodes of the graph,
// the kernels read the length from device memory, so one graph serves every
// position; the graph ends with the LM head and its argmax, so a greedy
// step is one graph launch and an 8-byte copy back. Nothing is allocated
// after a context and a cache exist.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_kernels.h"
#include "lithe/runtime/cuda_ops.h"
#include "lithe/runtime/model.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace lithe {
namespace rt {
namespace {

std::atomic<int64_t> gDeviceBytes{0};

/// cudaMalloc that counts what this model holds.
bool deviceAlloc(void **p, size_t n) {
  if (cudaMalloc(p, std::max<size_t>(n, 16)) != cudaSuccess) {
    *p = nullptr;
    cudaGetLastError(); // not sticky: clear it
    return false;
  }
  gDeviceBytes += static_cast<int64_t>(n);
  return true;
}
void deviceFree(void *p, size_t n) {
  if (!p) return;
  cudaFree(p);
  gDeviceBytes -= static_cast<int64_t>(n);
}

std::string cudaMessage(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

/// One context's device state.
struct DeviceContext {
  LitheCudaExec *exec = nullptr;
  uint8_t *arena = nullptr;
  int64_t *ids = nullptr;        // device: capacity ids
  float *hidden = nullptr;       // device: capacity x width
  float *logits = nullptr;       // device: capacity x vocab
  float *uniform = nullptr;      // device: sampling's uniform number
  int64_t *staging = nullptr;    // pinned host: past, capacity ids, the argmax token
  size_t arenaBytes = 0, idsBytes = 0, hiddenBytes = 0, logitsBytes = 0;
  // Captured one-token steps, by the cache planes they read and append to
  // (every plane: a freed cache's addresses may come back in another order).
  std::map<std::vector<void *>, cudaGraphExec_t> graphs;
  // The last step was one token, whose graph also ran the LM head on it:
  // logits of that row need no launch.
  bool headDone = false;
  mutable std::mutex mu;
  ~DeviceContext() {
    for (auto &g : graphs) cudaGraphExecDestroy(g.second);
    if (exec) gDeviceBytes -= static_cast<int64_t>(lithe_cuda_exec_bytes(exec));
    lithe_cuda_exec_free(exec);
    deviceFree(arena, arenaBytes);
    deviceFree(ids, idsBytes);
    deviceFree(hidden, hiddenBytes);
    deviceFree(logits, logitsBytes);
    deviceFree(uniform, sizeof(float));
    if (staging) cudaFreeHost(staging);
  }
};

/// One sequence's device caches.
struct DeviceCaches {
  std::vector<std::pair<void *, size_t>> planes;
  ~DeviceCaches() {
    for (auto &p : planes) deviceFree(p.first, p.second);
  }
};

/// KVState::copyFrom's copy (between steps): finished before it returns, as
/// the contexts' non-blocking streams do not wait for the legacy one.
void copyDevice(void *to, const void *from, size_t n) {
  cudaMemcpy(to, from, n, cudaMemcpyDeviceToDevice);
  cudaDeviceSynchronize();
}

class CudaDevice final : public Device {
public:
  LitheModelDescriptor desc{};
  uint8_t *weights = nullptr;
  size_t weightBytes = 0;
  std::string name;
  LitheCudaExecShape shape{};

  ~CudaDevice() override { deviceFree(weights, weightBytes); }

  int64_t cfg(int i) const { return desc.config[i]; }

  void newState(KVState &s) const override {
    auto caches = std::make_shared<DeviceCaches>();
    for (int64_t c = 0; c < cfg(kCfgCaches); ++c) {
      size_t n = KVState::planeBytes(desc.cacheShapes[2 * c], desc.cacheShapes[2 * c + 1], cfg(kCfgCapacity),
                                     cfg(kCfgCacheElementBytes));
      for (int kv = 0; kv < 2; ++kv) {
        void *p = nullptr;
        if (deviceAlloc(&p, n)) cudaMemset(p, 0, n);
        caches->planes.push_back({p, n});
        (kv ? s.vptr : s.kptr).push_back(p);
      }
    }
    cudaDeviceSynchronize(); // the zeroing done before a context's (non-blocking) stream reads it
    s.device = caches;
    s.copyBytes = copyDevice;
  }

  std::shared_ptr<void> newContext(std::string &error) const override {
    auto c = std::make_shared<DeviceContext>();
    const char *why = nullptr;
    c->exec = lithe_cuda_exec_new(&shape, &why);
    if (!c->exec) {
      error = why;
      return nullptr;
    }
    gDeviceBytes += static_cast<int64_t>(lithe_cuda_exec_bytes(c->exec));
    const size_t cap = static_cast<size_t>(cfg(kCfgCapacity));
    c->arenaBytes = static_cast<size_t>(cfg(kCfgArenaBytes));
    c->idsBytes = cap * sizeof(int64_t);
    c->hiddenBytes = cap * static_cast<size_t>(cfg(kCfgWidth)) * sizeof(float);
    c->logitsBytes = cap * static_cast<size_t>(cfg(kCfgVocab)) * sizeof(float);
    if (!deviceAlloc(reinterpret_cast<void **>(&c->arena), c->arenaBytes) ||
        !deviceAlloc(reinterpret_cast<void **>(&c->ids), c->idsBytes) ||
        !deviceAlloc(reinterpret_cast<void **>(&c->hidden), c->hiddenBytes) ||
        !deviceAlloc(reinterpret_cast<void **>(&c->logits), c->logitsBytes) ||
        !deviceAlloc(reinterpret_cast<void **>(&c->uniform), sizeof(float)) ||
        cudaHostAlloc(reinterpret_cast<void **>(&c->staging), (cap + 2) * sizeof(int64_t), cudaHostAllocDefault) !=
            cudaSuccess) {
      error = "too little GPU memory for a context (" + std::to_string((c->arenaBytes + c->hiddenBytes + c->logitsBytes) >> 20) +
              " MiB of activations and logits)";
      return nullptr;
    }
    return c;
  }

  /// Enqueues a step on ctx's stream: the ids and the past length in, then
  /// the generated host code (and, with `head`, the LM head of the last row:
  /// a decode step's graph, so that the step's logits cost no launch).
  void enqueue(DeviceContext &c, const KVState &s, int64_t n, bool head) const {
    cudaStream_t stream = static_cast<cudaStream_t>(lithe_cuda_exec_stream(c.exec));
    cudaMemcpyAsync(lithe_cuda_exec_past(c.exec), c.staging, sizeof(int64_t), cudaMemcpyHostToDevice, stream);
    cudaMemcpyAsync(c.ids, c.staging + 1, static_cast<size_t>(n) * sizeof(int64_t), cudaMemcpyHostToDevice, stream);
    LitheCudaExec *prev = lithe_cuda_exec_bind(c.exec);
    desc.forward(weights, c.arena, const_cast<void **>(s.kptr.data()), const_cast<void **>(s.vptr.data()), c.ids, n,
                 s.past, c.hidden);
    if (head) desc.head(weights, c.hidden + (n - 1) * cfg(kCfgWidth), 1, c.logits);
    lithe_cuda_exec_bind(prev);
  }

  bool finish(DeviceContext &c, const char *what, std::string &error) const {
    cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(lithe_cuda_exec_stream(c.exec)));
    int32_t launch = lithe_cuda_exec_error(c.exec);
    if (e == cudaSuccess && launch == 0) return true;
    error = std::string("CUDA ") + what + " failed: " +
            (e != cudaSuccess ? cudaMessage(e)
                              : launch > 0 ? cudaMessage(static_cast<cudaError_t>(launch))
                                           : "cuBLASLt status " + std::to_string(-launch));
    return false;
  }

  bool forward(Context &ctx, const KVState &s, const int64_t *ids, int64_t n, std::string &error) const override {
    auto &c = *static_cast<DeviceContext *>(ctx.device.get());
    std::lock_guard<std::mutex> lock(c.mu);
    // Ids are checked here: the kernels index tables with them.
    for (int64_t i = 0; i < n; ++i)
      if (ids[i] < 0 || ids[i] >= cfg(kCfgVocab)) {
        error = "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(cfg(kCfgVocab));
        return false;
      }
    c.staging[0] = s.past;
    std::memcpy(c.staging + 1, ids, static_cast<size_t>(n) * sizeof(int64_t));
    cudaStream_t stream = static_cast<cudaStream_t>(lithe_cuda_exec_stream(c.exec));
    c.headDone = false;
    if (n != 1) {
      enqueue(c, s, n, /*head=*/false);
      return finish(c, "forward", error);
    }
    // One token: the captured step of this cache, captured on first use.
    std::vector<void *> key(s.kptr);
    key.insert(key.end(), s.vptr.begin(), s.vptr.end());
    auto it = c.graphs.find(key);
    if (it == c.graphs.end()) {
      cudaGraph_t graph = nullptr;
      cudaGraphExec_t exec = nullptr;
      cudaError_t e = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
      if (e == cudaSuccess) {
        enqueue(c, s, 1, /*head=*/true);
        e = cudaStreamEndCapture(stream, &graph);
      }
      if (e == cudaSuccess) e = cudaGraphInstantiate(&exec, graph, 0);
      if (graph) cudaGraphDestroy(graph);
      int32_t launch = lithe_cuda_exec_error(c.exec);
      if (e != cudaSuccess || launch != 0) {
        error = "capturing the decode step failed: " +
                (e != cudaSuccess ? cudaMessage(e) : cudaMessage(static_cast<cudaError_t>(launch)));
        return false;
      }
      if (c.graphs.size() >= 16) { // many caches in turn (beams): drop one
        cudaGraphExecDestroy(c.graphs.begin()->second);
        c.graphs.erase(c.graphs.begin());
      }
      it = c.graphs.emplace(std::move(key), exec).first;
    }
    cudaError_t e = cudaGraphLaunch(it->second, stream);
    if (e != cudaSuccess) {
      error = "launching the decode step failed: " + cudaMessage(e);
      return false;
    }
    c.headDone = finish(c, "decode step", error);
    return c.headDone;
  }

  bool logits(const Context &ctx, int64_t first, int64_t n, float *out, std::string &error) const override {
    auto &c = *static_cast<DeviceContext *>(ctx.device.get());
    std::lock_guard<std::mutex> lock(c.mu);
    cudaStream_t stream = static_cast<cudaStream_t>(lithe_cuda_exec_stream(c.exec));
    if (!(c.headDone && first == 0 && n == 1)) { // else the decode step's graph ran it
      LitheCudaExec *prev = lithe_cuda_exec_bind(c.exec);
      desc.head(weights, c.hidden + first * cfg(kCfgWidth), n, c.logits);
      lithe_cuda_exec_bind(prev);
    }
    if (!out) return true; // the argmax alone: argmax() reads it after the stream
    cudaMemcpyAsync(out, c.logits, static_cast<size_t>(n * cfg(kCfgVocab)) * sizeof(float), cudaMemcpyDeviceToHost,
                      stream);
    return finish(c, "LM head", error);
  }

  bool argmax(const Context &ctx, int64_t row, int64_t &token, std::string &error) const override {
    auto &c = *static_cast<DeviceContext *>(ctx.device.get());
    std::lock_guard<std::mutex> lock(c.mu);
    // On the context's stream (non-blocking: the legacy stream would not wait
    // for it), into pinned memory, then one wait for the whole step.
    int64_t *slot = c.staging + cfg(kCfgCapacity) + 1;
    cudaMemcpyAsync(slot, lithe_cuda_exec_tokens(c.exec) + row, sizeof(int64_t), cudaMemcpyDeviceToHost,
                    static_cast<cudaStream_t>(lithe_cuda_exec_stream(c.exec)));
    if (!finish(c, "LM head", error)) return false;
    token = *slot;
    return true;
  }

  bool sample(const Context &ctx, int64_t row, float temperature, int64_t topK, float topP, uint64_t seed,
              int64_t &token, std::string &error) const override {
    if (!logits(ctx, row, 1, nullptr, error)) return false; // the row's logits at c.logits (one launch at most)
    auto &c = *static_cast<DeviceContext *>(ctx.device.get());
    std::lock_guard<std::mutex> lock(c.mu);
    void *stream = lithe_cuda_exec_stream(c.exec);
    int e = lithe_cuda_uniform(seed, lithe_cuda_exec_past(c.exec), c.uniform, stream);
    if (e == 0)
      e = lithe_cuda_sample(c.logits, cfg(kCfgVocab), temperature, topK, topP, c.uniform, lithe_cuda_exec_tokens(c.exec),
                            stream);
    if (e != 0) {
      error = "sampling on the GPU failed: " + cudaMessage(static_cast<cudaError_t>(e));
      return false;
    }
    int64_t *slot = c.staging + cfg(kCfgCapacity) + 1;
    cudaMemcpyAsync(slot, lithe_cuda_exec_tokens(c.exec), sizeof(int64_t), cudaMemcpyDeviceToHost,
                    static_cast<cudaStream_t>(stream));
    if (!finish(c, "sampling", error)) return false;
    token = *slot;
    return true;
  }

  int64_t deviceBytes() const override { return gDeviceBytes.load(); }
  std::string describe() const override { return name; }
};

/// Uploads `bytes` of the mapped file through two pinned buffers.
bool upload(uint8_t *to, const uint8_t *from, size_t bytes, std::string &error) {
  constexpr size_t kChunk = 64u << 20;
  void *pinned[2] = {nullptr, nullptr};
  cudaEvent_t done[2] = {nullptr, nullptr};
  cudaStream_t stream = nullptr;
  bool ok = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess;
  for (int i = 0; ok && i < 2; ++i)
    ok = cudaHostAlloc(&pinned[i], kChunk, cudaHostAllocDefault) == cudaSuccess &&
         cudaEventCreateWithFlags(&done[i], cudaEventDisableTiming) == cudaSuccess;
  for (size_t off = 0, i = 0; ok && off < bytes; off += kChunk, i ^= 1) {
    const size_t n = std::min(kChunk, bytes - off);
    ok = cudaEventSynchronize(done[i]) == cudaSuccess; // the buffer's last copy is done
    if (!ok) break;
    std::memcpy(pinned[i], from + off, n);
    ok = cudaMemcpyAsync(to + off, pinned[i], n, cudaMemcpyHostToDevice, stream) == cudaSuccess &&
         cudaEventRecord(done[i], stream) == cudaSuccess;
  }
  if (ok) ok = cudaStreamSynchronize(stream) == cudaSuccess;
  cudaError_t last = cudaGetLastError();
  for (int i = 0; i < 2; ++i) {
    if (pinned[i]) cudaFreeHost(pinned[i]);
    if (done[i]) cudaEventDestroy(done[i]);
  }
  if (stream) cudaStreamDestroy(stream);
  if (!ok) error = "uploading the weights to the GPU failed: " + cudaMessage(last);
  return ok;
}

} // namespace

std::unique_ptr<Device> openCudaDevice(const LitheModelDescriptor &desc, const uint8_t *weights, size_t bytes,
                                       std::string &error) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    error = e == cudaErrorInsufficientDriver
                ? "no usable NVIDIA driver: this binary runs on a GPU (compiled with --target=cuda); "
                  "install the driver or compile for the CPU"
                : "no CUDA GPU found: this binary runs on a GPU (compiled with --target=cuda)";
    return nullptr;
  }
  if (e != cudaSuccess) {
    error = "cannot use the GPU: " + cudaMessage(e);
    return nullptr;
  }
  cudaDeviceProp prop{};
  if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
    error = "cannot query the GPU: " + cudaMessage(e);
    return nullptr;
  }
  if (prop.major < 8) {
    error = std::string(prop.name) + " has compute capability " + std::to_string(prop.major) + "." +
            std::to_string(prop.minor) + "; the CUDA kernels need 8.0 or newer (Ampere, Hopper and later)";
    return nullptr;
  }
  auto d = std::make_unique<CudaDevice>();
  d->desc = desc;
  const int64_t *cfg = desc.config;
  d->shape.maxRows = cfg[kCfgCapacity];
  d->shape.maxLinear = cfg[kCfgMaxLinear];
  d->shape.vocab = cfg[kCfgVocab];
  d->shape.width = cfg[kCfgWidth];
  d->shape.capacity = cfg[kCfgCapacity];
  int64_t kv = 0;
  for (int64_t c = 0; c < cfg[kCfgCaches]; ++c) {
    d->shape.heads = std::max(d->shape.heads, desc.cacheShapes[2 * c]);
    d->shape.headDim = std::max(d->shape.headDim, desc.cacheShapes[2 * c + 1]);
    kv += 2 * static_cast<int64_t>(KVState::planeBytes(desc.cacheShapes[2 * c], desc.cacheShapes[2 * c + 1],
                                                       cfg[kCfgCapacity], cfg[kCfgCacheElementBytes]));
  }
  size_t freeBytes = 0, totalBytes = 0;
  cudaMemGetInfo(&freeBytes, &totalBytes);
  const int64_t context = cfg[kCfgArenaBytes] + cfg[kCfgCapacity] * (cfg[kCfgVocab] + cfg[kCfgWidth]) * 4 +
                          cfg[kCfgCapacity] * std::max(cfg[kCfgMaxLinear], cfg[kCfgWidth]) * 2 + (48 << 20);
  const int64_t need = static_cast<int64_t>(bytes) + kv + context;
  if (static_cast<int64_t>(freeBytes) < need) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "too little GPU memory on %s: the model needs %.0f MiB (weights %.0f, KV cache %.0f, context %.0f), "
                  "%.0f MiB are free",
                  prop.name, need / 1048576.0, bytes / 1048576.0, kv / 1048576.0, context / 1048576.0,
                  freeBytes / 1048576.0);
    error = buf;
    return nullptr;
  }
  char name[200];
  std::snprintf(name, sizeof name, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                totalBytes / 1073741824.0);
  d->name = name;
  d->weightBytes = bytes;
  if (!deviceAlloc(reinterpret_cast<void **>(&d->weights), bytes)) {
    error = "cannot allocate " + std::to_string(bytes >> 20) + " MiB of GPU memory for the weights";
    return nullptr;
  }
  if (!upload(d->weights, weights, bytes, error)) return nullptr;
  return d;
}

} // namespace rt
} // namespace lithe
