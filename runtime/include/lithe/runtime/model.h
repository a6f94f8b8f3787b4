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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

extern "C" {
/// Generated: runs `rows` tokens whose positions follow `past` cached ones;
/// appends their keys/values to the caches and writes the final hidden
/// states ([rows, width]) to `hidden`.
void lithe_forward(const uint8_t *weights, uint8_t *arena, float **kcache, float **vcache,
                   const int64_t *ids, int64_t rows, int64_t past, float *hidden);
/// Generated: logits ([rows, vocab]) of `rows` hidden states.
void lithe_head(const uint8_t *weights, const float *hidden, int64_t rows, float *logits);
extern const int64_t lithe_config[];
extern const int64_t lithe_cache_shapes[];
extern const uint64_t lithe_weights_checksum;
}

namespace lithe {
class WeightsFile;
namespace rt {

/// Indices of lithe_config[] (written by lib/Codegen).
enum ConfigIndex {
  kCfgVersion = 0,
  kCfgVocab,
  kCfgWidth,
  kCfgCaches,
  kCfgCapacity,
  kCfgArenaBytes,
  kCfgLayers,
};
constexpr int64_t kAbiVersion = 1;

/// One sequence's KV caches: per cache, K and V as [heads][capacity][head_dim].
struct KVState {
  KVState() = default;
  KVState(KVState &&) = default;
  KVState &operator=(KVState &&) = default;
  KVState(const KVState &) = delete; // the pointers would alias; use copyFrom
  std::vector<std::vector<float>> k, v;
  std::vector<float *> kptr, vptr;
  int64_t past = 0;
  void copyFrom(const KVState &o, int64_t upTo);
};

class Model {
public:
  /// Maps `weightsPath` and checks it belongs to this binary. Errors are one
  /// line naming the file.
  /// With `verify`, the file's checksum is recomputed over its index and
  /// data (a flipped byte is an error, not garbage output; see
  /// docs/benchmarks.md for the cost).
  static std::unique_ptr<Model> load(const std::string &weightsPath, std::string &error,
                                     bool verify = true);
  ~Model();

  int64_t vocab() const { return lithe_config[kCfgVocab]; }
  int64_t width() const { return lithe_config[kCfgWidth]; }
  int64_t capacity() const { return lithe_config[kCfgCapacity]; }
  int64_t layers() const { return lithe_config[kCfgLayers]; }
  int64_t numCaches() const { return lithe_config[kCfgCaches]; }
  /// K+V bytes per cached position over all caches, and for a full context.
  int64_t kvBytesPerPosition() const;
  int64_t weightBytes() const { return static_cast<int64_t>(size_); }

  /// Fresh, empty caches for one sequence.
  KVState newState() const;
  /// Runs `ids` after `state.past` cached tokens (ids.size() + past must fit
  /// the capacity). Leaves the final hidden states in hidden().
  void forward(KVState &state, const int64_t *ids, int64_t n);
  /// Logits of rows [first, first + n) of the last forward's hidden states.
  void logits(int64_t first, int64_t n, float *out) const;
  const float *hidden() const { return hidden_.data(); }

private:
  Model();
  std::unique_ptr<WeightsFile> file_; // the mapping, released with the model
  const uint8_t *weights_ = nullptr;
  size_t size_ = 0;
  uint8_t *arena_ = nullptr;
  std::vector<float> hidden_;
};

} // namespace rt
} // namespace lithe

#endif // LITHE_RUNTIME_MODEL_H
