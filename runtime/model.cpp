//===- model.cpp - weights mapping, caches, forward steps -----------------===//

#include "lithe/runtime/model.h"

#include "lithe/runtime/weights_file.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

namespace lithe {
namespace rt {

LazyPlane::LazyPlane(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  p_ = p == MAP_FAILED ? nullptr : p;
}

LazyPlane &LazyPlane::operator=(LazyPlane &&o) noexcept {
  if (this != &o) {
    if (p_) munmap(p_, bytes_);
    p_ = o.p_, bytes_ = o.bytes_;
    o.p_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}

LazyPlane::~LazyPlane() {
  if (p_) munmap(p_, bytes_);
}

size_t KVState::planeBytes(int64_t heads, int64_t headDim, int64_t capacity, int64_t elementBytes) {
  if (elementBytes == 1) return lithe_kv_q8_plane_bytes(heads, headDim, capacity);
  return static_cast<size_t>(heads * capacity * headDim * elementBytes);
}

void KVState::copyFrom(const KVState &o, int64_t upTo) {
  // Per head, the first upTo positions (and, int8, their scales after the
  // values: see lithe_kv_q8_plane_bytes).
  auto copy = [&](void *to, const void *from, size_t off, size_t n) {
    std::memcpy(static_cast<uint8_t *>(to) + off, static_cast<const uint8_t *>(from) + off, n);
  };
  for (size_t c = 0; c < k.size(); ++c) {
    int64_t heads = shapes[2 * c], hd = shapes[2 * c + 1];
    size_t scales = planeBytes(heads, hd, capacity, elementBytes) - static_cast<size_t>(heads * capacity * 4);
    for (int64_t h = 0; h < heads; ++h) {
      size_t off = static_cast<size_t>(h * capacity * hd * elementBytes),
             n = static_cast<size_t>(upTo * hd * elementBytes);
      if (copyBytes) { // device planes
        copyBytes(static_cast<uint8_t *>(kptr[c]) + off, static_cast<const uint8_t *>(o.kptr[c]) + off, n);
        copyBytes(static_cast<uint8_t *>(vptr[c]) + off, static_cast<const uint8_t *>(o.vptr[c]) + off, n);
        continue;
      }
      copy(kptr[c], o.kptr[c], off, n);
      copy(vptr[c], o.vptr[c], off, n);
      if (elementBytes == 1) {
        size_t soff = scales + static_cast<size_t>(h * capacity * 4), sn = static_cast<size_t>(upTo * 4);
        copy(kptr[c], o.kptr[c], soff, sn);
        copy(vptr[c], o.vptr[c], soff, sn);
      }
    }
  }
  past = o.past;
}

Context::~Context() {
  std::free(arena);
  lithe_workspace_free(workspace);
}

Model::Model() = default;

std::unique_ptr<Model> Model::load(const std::string &path, std::string &error, bool verify) {
  LitheModelDescriptor d{};
  lithe_main_query(&d);
  return load(d, path, error, verify);
}

std::unique_ptr<Model> Model::load(const LitheModelDescriptor &desc, const std::string &path,
                                   std::string &error, bool verify) {
  if (desc.abiVersion != kAbiVersion || !desc.config || desc.config[kCfgVersion] != kAbiVersion ||
      !desc.forward || !desc.head) {
    error = "this model was generated for runtime ABI " + std::to_string(desc.abiVersion) +
            ", the runtime is " + std::to_string(kAbiVersion);
    return nullptr;
  }
  std::shared_ptr<WeightsFile> file = WeightsFile::open(path, error);
  if (!file) return nullptr;
  // The bytes must match the header's checksum (a flipped data byte would
  // otherwise give garbage output).
  if (verify && !file->verifyChecksum(error)) {
    error += " (run with --no-verify to skip this check)";
    return nullptr;
  }
  return over(desc, std::move(file), path, error);
}

std::unique_ptr<Model> Model::loadBeside(const LitheModelDescriptor &desc, const Model &other, std::string &error) {
  if (desc.abiVersion != kAbiVersion || !desc.config || desc.config[kCfgVersion] != kAbiVersion ||
      !desc.forward || !desc.head) {
    error = "this model was generated for runtime ABI " + std::to_string(desc.abiVersion) +
            ", the runtime is " + std::to_string(kAbiVersion);
    return nullptr;
  }
  return over(desc, other.file_, other.file_->path(), error);
}

std::unique_ptr<Model> Model::over(const LitheModelDescriptor &desc, std::shared_ptr<WeightsFile> file,
                                   const std::string &path, std::string &error) {
  if (file->checksum() != desc.weightsChecksum) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  ": weights file does not belong to this model (checksum %016" PRIx64
                  ", expected %016" PRIx64 ")",
                  file->checksum(), desc.weightsChecksum);
    error = path + buf;
    return nullptr;
  }
  std::unique_ptr<Model> m(new Model());
  m->desc_ = desc;
  // The mapping lives as long as the model: the generated code holds
  // offsets into it.
  m->weights_ = static_cast<const uint8_t *>(file->base());
  m->size_ = file->size();
  m->file_ = std::move(file);
  if (desc.config[kCfgTarget] == kTargetCuda) {
    if (!openCudaDevice) {
      error = "this executable holds CUDA code but not the CUDA runtime (link it with lithec --target=cuda)";
      return nullptr;
    }
    m->device_ = openCudaDevice(desc, m->weights_, m->size_, error);
    if (!m->device_) return nullptr;
  } else if (desc.config[kCfgTarget] != kTargetCpu) {
    error = "this model was generated for an unknown target " + std::to_string(desc.config[kCfgTarget]);
    return nullptr;
  }
  m->ctx_ = m->newContext(error);
  if (!m->ctx_) return nullptr;
  return m;
}

Model::~Model() = default;

std::unique_ptr<Context> Model::newContext(std::string &error) const {
  auto c = std::make_unique<Context>();
  if (device_) {
    c->device = device_->newContext(error);
    if (!c->device) return nullptr;
    return c;
  }
  size_t arena = static_cast<size_t>(desc_.config[kCfgArenaBytes]);
  c->arena = static_cast<uint8_t *>(std::aligned_alloc(64, (arena + 63) / 64 * 64 + 64));
  if (!c->arena) {
    error = "cannot allocate " + std::to_string(arena) + " bytes of activations";
    return nullptr;
  }
  // The kernels' scratch for the largest shapes this model runs.
  LitheWorkspaceShape shape{capacity(), std::max(desc_.config[kCfgMaxLinear], width()),
                            std::max(desc_.config[kCfgMaxLinear], vocab()), 0, 0, capacity(),
                            cacheElementBytes()};
  for (int64_t k = 0; k < numCaches(); ++k) {
    shape.heads = std::max(shape.heads, desc_.cacheShapes[2 * k]);
    shape.head_dim = std::max(shape.head_dim, desc_.cacheShapes[2 * k + 1]);
  }
  c->workspace = lithe_workspace_new(&shape, 0);
  if (!c->workspace) {
    error = "cannot allocate the kernels' workspace";
    return nullptr;
  }
  c->hidden.assign(static_cast<size_t>(capacity() * width()), 0.0f);
  return c;
}

int64_t Model::kvBytesPerPosition() const {
  int64_t b = 0;
  for (int64_t c = 0; c < numCaches(); ++c) // int8: and a float scale per head
    b += 2 * desc_.cacheShapes[2 * c] *
         (desc_.cacheShapes[2 * c + 1] * cacheElementBytes() + (cacheElementBytes() == 1 ? 4 : 0));
  return b;
}

KVState Model::newState() const {
  KVState s;
  s.shapes = desc_.cacheShapes;
  s.capacity = capacity();
  s.elementBytes = cacheElementBytes();
  if (device_) {
    device_->newState(s);
    return s;
  }
  for (int64_t c = 0; c < numCaches(); ++c) {
    size_t n = KVState::planeBytes(desc_.cacheShapes[2 * c], desc_.cacheShapes[2 * c + 1], capacity(),
                                   s.elementBytes);
    s.k.emplace_back(n);
    s.v.emplace_back(n);
  }
  for (auto &x : s.k) s.kptr.push_back(x.data());
  for (auto &x : s.v) s.vptr.push_back(x.data());
  return s;
}

bool Model::forward(Context &ctx, KVState &state, const int64_t *ids, int64_t n,
                    std::string &error) const {
  if (n < 0 || state.past < 0 || state.past + n > capacity()) {
    error = "the context of " + std::to_string(capacity()) + " tokens is full (" +
            std::to_string(state.past) + " cached, " + std::to_string(n) + " more)";
    return false;
  }
  if (!state.ok()) {
    error = "cannot allocate the KV cache (" + std::to_string(kvBytesPerPosition() * capacity()) + " bytes)";
    return false;
  }
  if (device_) {
    if (!device_->forward(ctx, state, ids, n, error)) return false;
    state.past += n;
    return true;
  }
  // The kernels take their scratch from the context's workspace.
  LitheWorkspace *prev = lithe_workspace_bind(ctx.workspace);
  int32_t status = desc_.forward(weights_, ctx.arena, state.kptr.data(), state.vptr.data(), ids, n, state.past,
                                 ctx.hidden.data());
  lithe_workspace_bind(prev);
  if (status != 0) {
    error = "a kernel failed (KV cache overflow at " + std::to_string(state.past) + " + " +
            std::to_string(n) + " tokens)";
    return false;
  }
  state.past += n;
  return true;
}

bool Model::decodeBatch(Context &ctx, KVState *const *states, const int64_t *ids, int64_t B,
                        std::string &error) const {
  if (!desc_.decodeBatch) {
    error = "this model was compiled without batched decoding";
    return false;
  }
  if (B < 1 || B > capacity()) {
    error = "a batch of " + std::to_string(B) + " sequences (1 to " + std::to_string(capacity()) + ")";
    return false;
  }
  const int64_t caches = numCaches();
  std::vector<void *> kt(static_cast<size_t>(B * caches)), vt(kt.size());
  std::vector<int64_t> pasts(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const KVState &s = *states[b];
    if (!s.ok()) {
      error = "cannot allocate the KV cache of sequence " + std::to_string(b);
      return false;
    }
    if (s.past + 1 > capacity()) {
      error = "the context of " + std::to_string(capacity()) + " tokens is full (sequence " + std::to_string(b) + ")";
      return false;
    }
    pasts[b] = s.past;
    for (int64_t c = 0; c < caches; ++c) {
      kt[b * caches + c] = s.kptr[c];
      vt[b * caches + c] = s.vptr[c];
    }
  }
  LitheWorkspace *prev = lithe_workspace_bind(ctx.workspace);
  int32_t status = desc_.decodeBatch(weights_, ctx.arena, kt.data(), vt.data(), ids, B, pasts.data(), ctx.hidden.data());
  lithe_workspace_bind(prev);
  if (status != 0) {
    error = "a kernel failed (a KV cache overflowed in a batched decode)";
    return false;
  }
  for (int64_t b = 0; b < B; ++b) ++states[b]->past;
  return true;
}

void Model::forward(KVState &state, const int64_t *ids, int64_t n) {
  std::string error;
  if (!forward(*ctx_, state, ids, n, error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    std::exit(1);
  }
}

int64_t Model::greedy(int64_t row) {
  std::string error;
  if (device_) {
    int64_t token = 0;
    if (!device_->logits(*ctx_, row, 1, nullptr, error) || !device_->argmax(*ctx_, 0, token, error)) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      std::exit(1);
    }
    return token;
  }
  greedyLogits_.resize(static_cast<size_t>(vocab()));
  logits(row, 1, greedyLogits_.data());
  return std::max_element(greedyLogits_.begin(), greedyLogits_.end()) - greedyLogits_.begin();
}

int64_t Model::sampleOnDevice(int64_t row, float temperature, int64_t topK, float topP, uint64_t seed) {
  if (!device_) return -1;
  std::string error;
  int64_t token = 0;
  if (!device_->sample(*ctx_, row, temperature, topK, topP, seed, token, error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    std::exit(1);
  }
  return token;
}

void Model::logits(const Context &ctx, int64_t first, int64_t n, float *out) const {
  if (device_) {
    std::string error;
    if (!device_->logits(ctx, first, n, out, error)) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      std::exit(1);
    }
    return;
  }
  LitheWorkspace *prev = lithe_workspace_bind(ctx.workspace);
  desc_.head(weights_, ctx.hidden.data() + first * width(), n, out);
  lithe_workspace_bind(prev);
}

} // namespace rt
} // namespace lithe
