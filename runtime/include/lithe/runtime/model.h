//===- model.h - a compiled Lithe model at run time -----------------*- C++ -*-===//
//
// The ABI between code that lithec generates for one model and the runtime
// (see include/lithe/Codegen.h), and `Model`, which maps the weights file,
// checks that it belongs to this binary, owns the KV caches and the
// activation arena, and runs forward steps.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_MODEL_H
#define LITHE_RUNTIME_MODEL_H

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lithe/runtime/abi.h"
#include "lithe/runtime/kernels.h"

namespace lithe {
class WeightsFile;
namespace rt {

/// Indices of a model's config[] (written by lithe-kernels-to-llvm).
enum ConfigIndex {
  kCfgVersion = 0,
  kCfgVocab,
  kCfgWidth,
  kCfgCaches,
  kCfgCapacity,
  kCfgArenaBytes,
  kCfgLayers,
  kCfgMaxLinear, // the largest input or output width of a linear kernel: sizes the workspace
  kCfgCacheElementBytes, // 4: float32 KV caches; 2: f16; 1: int8 (lithe-kv-precision)
  kCfgTarget, // kTargetCpu, or kTargetCuda: buffers are device pointers (lithec --target=cuda)
  kCfgCount
};
enum Target { kTargetCpu = 0, kTargetCuda = 1 };
/// 3: config[kCfgMaxLinear]; contexts own the kernels' workspace.
/// 4: the descriptor's decodeBatch.
/// 5: config[kCfgCacheElementBytes]; cache planes are float32, f16 or int8.
/// 6: config[kCfgTarget]; CUDA code takes device buffers.
constexpr int64_t kAbiVersion = 6;

/// Zero-filled memory mapped on demand: the OS commits a page when it is
/// first written, so a cache sized for the whole context costs what the
/// sequence has used so far.
class LazyPlane {
public:
  LazyPlane() = default;
  explicit LazyPlane(size_t bytes);
  LazyPlane(LazyPlane &&o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
  LazyPlane &operator=(LazyPlane &&o) noexcept;
  LazyPlane(const LazyPlane &) = delete;
  ~LazyPlane();
  void *data() const { return p_; }
  size_t bytes() const { return bytes_; }

private:
  void *p_ = nullptr;
  size_t bytes_ = 0;
};

/// One sequence's KV caches: per cache, K and V as [heads][capacity][head_dim]
/// of elementBytes each (float32, f16, or int8 followed by per-head,
/// per-position scales), committed as positions are written.
struct KVState {
  KVState() = default;
  KVState(KVState &&) = default;
  KVState &operator=(KVState &&) = default;
  KVState(const KVState &) = delete; // the pointers would alias; use copyFrom
  std::vector<LazyPlane> k, v;
  std::vector<void *> kptr, vptr;
  int64_t past = 0;
  const int64_t *shapes = nullptr; // the model's cache shapes
  int64_t capacity = 0;
  int64_t elementBytes = 4;
  /// A GPU model's caches (Device::newState): the device planes' owner, and
  /// the copy copyFrom uses on them (k and v stay empty).
  std::shared_ptr<void> device;
  void (*copyBytes)(void *to, const void *from, size_t n) = nullptr;
  /// False when the memory could not be reserved (newState's caller reports it).
  bool ok() const { return (device || k.size() == kptr.size()) && !kptr.empty() &&
                           std::find(kptr.begin(), kptr.end(), nullptr) == kptr.end() &&
                           std::find(vptr.begin(), vptr.end(), nullptr) == vptr.end(); }
  void copyFrom(const KVState &o, int64_t upTo);
  /// Bytes of one K or V plane.
  static size_t planeBytes(int64_t heads, int64_t headDim, int64_t capacity, int64_t elementBytes);
};

/// What one forward call needs besides the model: the activation arena, the
/// kernels' workspace (their scratch, sized for the model at creation, so
/// no kernel allocates while it runs) and the final hidden states. One per
/// thread of execution; a model serves any number of contexts.
struct Context {
  Context() = default;
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;
  ~Context();
  uint8_t *arena = nullptr;
  LitheWorkspace *workspace = nullptr;
  std::vector<float> hidden;
  /// A GPU model's context (Device::newContext): its device arena, stream
  /// and captured decode step; arena and workspace above stay null.
  std::shared_ptr<void> device;
};

/// A model compiled for a GPU (config[kCfgTarget] == kTargetCuda, lithec
/// --target=cuda): the weights uploaded once at load, caches and contexts
/// in device memory. Model forwards its calls here. Implemented by
/// runtime/cuda/device_model.cpp, which only CUDA executables link.
class Device {
public:
  virtual ~Device() = default;
  /// Device planes for `s` (kptr / vptr null when they cannot be allocated).
  virtual void newState(KVState &s) const = 0;
  virtual std::shared_ptr<void> newContext(std::string &error) const = 0;
  /// Model::forward's work once the capacity is checked; does not advance s.past.
  virtual bool forward(Context &ctx, const KVState &s, const int64_t *ids, int64_t n, std::string &error) const = 0;
  virtual bool logits(const Context &ctx, int64_t first, int64_t n, float *out, std::string &error) const = 0;
  /// Greedy decoding's step: the argmax token of row `row` of ctx's last
  /// logits() call, computed on the device (only the id crosses the bus).
  virtual bool argmax(const Context &ctx, int64_t row, int64_t &token, std::string &error) const = 0;
  /// Sampling's step on the device (cuda_kernels.h, lithe_cuda_sample): a
  /// draw from softmax(logits / temperature) of row `row` of the last
  /// forward over its topK (1..1024) largest logits, cut to the smallest
  /// prefix of mass topP; the uniform number is keyed by (seed, the cache
  /// length). Only the id crosses the bus.
  virtual bool sample(const Context &ctx, int64_t row, float temperature, int64_t topK, float topP, uint64_t seed,
                      int64_t &token, std::string &error) const = 0;
  /// Bytes of device memory this model's allocations hold now.
  virtual int64_t deviceBytes() const = 0;
  /// The GPU in words: "NVIDIA H200 (sm_90, 139.8 GiB)".
  virtual std::string describe() const = 0;
};
/// Opens the first GPU for `descriptor` and uploads `weights`; null with a
/// one-line `error` when there is no GPU or driver, the compute capability
/// is older than 8.0 or the memory is too small. A weak symbol: null in
/// executables without the CUDA runtime.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((weak))
#endif
std::unique_ptr<Device> openCudaDevice(const LitheModelDescriptor &descriptor, const uint8_t *weights,
                                       size_t bytes, std::string &error);

class Model {
public:
  /// Maps `weightsPath` for the model `descriptor` describes (the
  /// executable's own by default) and checks it belongs to that model.
  /// Errors are one line naming the file. With `verify`, the file's checksum
  /// is recomputed over its index and data (a flipped byte is an error, not
  /// garbage output; see docs/benchmarks.md for the cost).
  static std::unique_ptr<Model> load(const std::string &weightsPath, std::string &error,
                                     bool verify = true);
  static std::unique_ptr<Model> load(const LitheModelDescriptor &descriptor,
                                     const std::string &weightsPath, std::string &error,
                                     bool verify = true);
  /// A second model over the same mapped weights file as `other` (a
  /// speculative-decoding draft: lithec --draft writes one file for both,
  /// every tensor they share stored once); checked like load().
  static std::unique_ptr<Model> loadBeside(const LitheModelDescriptor &descriptor, const Model &other,
                                           std::string &error);
  ~Model();

  int64_t vocab() const { return desc_.config[kCfgVocab]; }
  int64_t width() const { return desc_.config[kCfgWidth]; }
  int64_t capacity() const { return desc_.config[kCfgCapacity]; }
  int64_t layers() const { return desc_.config[kCfgLayers]; }
  int64_t numCaches() const { return desc_.config[kCfgCaches]; }
  /// Bytes of one cached value: 4 (float32), 2 (f16) or 1 (int8, plus a
  /// float scale per head).
  int64_t cacheElementBytes() const { return desc_.config[kCfgCacheElementBytes]; }
  /// K+V bytes per cached position over all caches, and for a full context.
  int64_t kvBytesPerPosition() const;
  int64_t weightBytes() const { return static_cast<int64_t>(size_); }
  /// Bytes of the kernels' workspace of a context (the default one's).
  int64_t workspaceBytes() const {
    return ctx_->workspace ? static_cast<int64_t>(lithe_workspace_bytes(ctx_->workspace)) : 0;
  }
  /// The GPU a CUDA model runs on; null for a CPU model.
  const Device *device() const { return device_.get(); }

  /// Fresh, empty caches for one sequence.
  KVState newState() const;
  /// A fresh context (arena and hidden states) for this model.
  std::unique_ptr<Context> newContext(std::string &error) const;
  /// Runs `ids` after `state.past` cached tokens in `ctx`. Returns false with
  /// `error` set (and `state` unchanged) when they do not fit the capacity
  /// or a kernel fails.
  bool forward(Context &ctx, KVState &state, const int64_t *ids, int64_t n, std::string &error) const;
  /// Batched decode: one new token, ids[b], of each sequence states[b]
  /// (B of them, B <= capacity), the linear layers reading their weights
  /// once for all. Row b of `ctx`'s hidden states (and logits) is sequence
  /// b's. False with `error` (and nothing advanced) when a sequence is full
  /// or the model has no batched decode.
  bool decodeBatch(Context &ctx, KVState *const *states, const int64_t *ids, int64_t B,
                   std::string &error) const;
  bool hasDecodeBatch() const { return desc_.decodeBatch != nullptr; }
  /// Logits of rows [first, first + n) of `ctx`'s last forward.
  void logits(const Context &ctx, int64_t first, int64_t n, float *out) const;
  /// Greedy decoding's next token: the argmax (lowest id among equal
  /// maxima) of row `row`'s logits of the default context's last forward.
  /// On a GPU only the id crosses the bus.
  int64_t greedy(int64_t row);
  /// A GPU model's sampled next token (Device::sample), row `row` of the
  /// default context's last forward; -1 for a CPU model (sample on the host).
  int64_t sampleOnDevice(int64_t row, float temperature, int64_t topK, float topP, uint64_t seed);

  /// The same on the model's own default context (single-threaded use). A
  /// forward that does not fit is a fatal error here: callers check the
  /// capacity first.
  void forward(KVState &state, const int64_t *ids, int64_t n);
  void logits(int64_t first, int64_t n, float *out) const { logits(*ctx_, first, n, out); }
  bool decodeBatch(KVState *const *states, const int64_t *ids, int64_t B, std::string &error) {
    return decodeBatch(*ctx_, states, ids, B, error);
  }
  const float *hidden() const { return ctx_->hidden.data(); }

private:
  Model();
  LitheModelDescriptor desc_{};
  std::shared_ptr<WeightsFile> file_; // the mapping, released with the last model using it
  static std::unique_ptr<Model> over(const LitheModelDescriptor &descriptor,
                                     std::shared_ptr<WeightsFile> file, const std::string &path,
                                     std::string &error);
  const uint8_t *weights_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<Device> device_; // before ctx_: its context is the device's
  std::unique_ptr<Context> ctx_;
  std::vector<float> greedyLogits_; // greedy()'s scratch on the CPU
};

} // namespace rt
} // namespace lithe

#endif // LITHE_RUNTIME_MODEL_H
