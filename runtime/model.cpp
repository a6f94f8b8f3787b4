//===- model.cpp - weights mapping, caches, forward steps -----------------===//

#include "lithe/runtime/model.h"

#include "lithe/Weights.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

/// y[r, :] += bias for each of `rows` rows (an LM head's folded bias).
extern "C" void lithe_add_rows(float *y, int64_t rows, int64_t n, const float *bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) y[r * n + i] += bias[i];
}

/// y[r, i] = y[r, i] * scale[i] + bias[i] (either may be null): the affine
/// part of an LN-free model's centering.
extern "C" void lithe_affine_rows(float *y, int64_t rows, int64_t n, const float *scale,
                                  const float *bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i)
      y[r * n + i] = y[r * n + i] * (scale ? scale[i] : 1.0f) + (bias ? bias[i] : 0.0f);
}

namespace lithe {
namespace rt {

void KVState::copyFrom(const KVState &o, int64_t upTo) {
  for (size_t c = 0; c < k.size(); ++c) {
    int64_t heads = lithe_cache_shapes[2 * c], hd = lithe_cache_shapes[2 * c + 1];
    int64_t cap = lithe_config[kCfgCapacity];
    for (int64_t h = 0; h < heads; ++h) {
      size_t off = static_cast<size_t>(h * cap * hd), n = static_cast<size_t>(upTo * hd);
      std::memcpy(k[c].data() + off, o.k[c].data() + off, n * sizeof(float));
      std::memcpy(v[c].data() + off, o.v[c].data() + off, n * sizeof(float));
    }
  }
  past = o.past;
}

Model::Model() = default;

std::unique_ptr<Model> Model::load(const std::string &path, std::string &error, bool verify) {
  if (lithe_config[kCfgVersion] != kAbiVersion) {
    error = "this binary was generated for runtime ABI " + std::to_string(lithe_config[kCfgVersion]) +
            ", the runtime is " + std::to_string(kAbiVersion);
    return nullptr;
  }
  std::unique_ptr<WeightsFile> file = WeightsFile::open(path, error);
  if (!file) return nullptr;
  if (file->checksum() != lithe_weights_checksum) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  ": weights file does not belong to this binary (checksum %016" PRIx64
                  ", expected %016" PRIx64 ")",
                  file->checksum(), lithe_weights_checksum);
    error = path + buf;
    return nullptr;
  }
  // The header's checksum matched the binary's; the bytes must match the
  // header's (a flipped data byte would otherwise give garbage output).
  if (verify && !file->verifyChecksum(error)) {
    error += " (run with --no-verify to skip this check)";
    return nullptr;
  }
  std::unique_ptr<Model> m(new Model());
  // The mapping lives as long as the model: the generated code holds
  // offsets into it.
  m->weights_ = static_cast<const uint8_t *>(file->base());
  m->size_ = file->size();
  m->file_ = std::move(file);
  size_t arena = static_cast<size_t>(lithe_config[kCfgArenaBytes]);
  m->arena_ = static_cast<uint8_t *>(std::aligned_alloc(64, (arena + 63) / 64 * 64 + 64));
  if (!m->arena_) {
    error = "cannot allocate " + std::to_string(arena) + " bytes of activations";
    return nullptr;
  }
  m->hidden_.assign(static_cast<size_t>(m->capacity() * m->width()), 0.0f);
  return m;
}

Model::~Model() { std::free(arena_); }

int64_t Model::kvBytesPerPosition() const {
  int64_t b = 0;
  for (int64_t c = 0; c < numCaches(); ++c) b += 2 * lithe_cache_shapes[2 * c] * lithe_cache_shapes[2 * c + 1] * 4;
  return b;
}

KVState Model::newState() const {
  KVState s;
  for (int64_t c = 0; c < numCaches(); ++c) {
    size_t n = static_cast<size_t>(lithe_cache_shapes[2 * c] * capacity() * lithe_cache_shapes[2 * c + 1]);
    s.k.emplace_back(n, 0.0f);
    s.v.emplace_back(n, 0.0f);
  }
  for (auto &x : s.k) s.kptr.push_back(x.data());
  for (auto &x : s.v) s.vptr.push_back(x.data());
  return s;
}

void Model::forward(KVState &state, const int64_t *ids, int64_t n) {
  lithe_forward(weights_, arena_, state.kptr.data(), state.vptr.data(), ids, n, state.past,
                hidden_.data());
  state.past += n;
}

void Model::logits(int64_t first, int64_t n, float *out) const {
  lithe_head(weights_, hidden_.data() + first * width(), n, out);
}

} // namespace rt
} // namespace lithe
