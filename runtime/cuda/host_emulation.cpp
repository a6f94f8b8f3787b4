//===- host_emulation.cpp - the CUDA target's host contract, on the CPU ---===//
//
// A test double for machines without a GPU: cuda_ops.h and openCudaDevice
// (model.h) implemented in host memory with reference loops (and the CPU
// runtime's f16 KV-cache kernels), so a lithec --target=cuda executable
// linked with this instead of the CUDA runtime (LITHE_CUDA_LINK, see
// lib/Codegen) runs on the CPU. What that checks without a GPU: everything
// the compiler decides for the CUDA target (lithe-lower-cuda: the f16 and
// int8 [out][in] weights, the f16 tables, the fused position embeddings, the
// op -> call mapping and its arguments, the past length read from the
// execution instead of passed) and the runtime's use of it, against the CPU
// binary's logits. What it cannot check: the .cu kernels (CudaKernelsTest,
// on a GPU) and the CUDA API calls of ops.cpp / device_model.cpp.
//
// Each op follows its contract in cuda_ops.h / cuda_kernels.h: f16 / bf16
// weights and tables widened to float, fp32 accumulation, the argmax's lowest id.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_ops.h"
#include "lithe/runtime/kernels.h"
#include "lithe/runtime/model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

struct LitheCudaExec {
  int64_t past = 0;
  std::vector<int64_t> tokens;
  int32_t error = 0;
};

namespace {

thread_local LitheCudaExec *bound = nullptr;

/// n elements of type `type` (0 f32, 1 f16, 2 bf16: cuda_kernels.h's) as floats.
void widen(const void *p, int32_t type, int64_t n, float *out) {
  if (type == 1) return lithe_from_f16(static_cast<const uint16_t *>(p), n, out);
  if (type == 2) {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t *>(p)[i]) << 16;
      std::memcpy(out + i, &bits, 4);
    }
    return;
  }
  std::memcpy(out, p, static_cast<size_t>(n) * sizeof(float));
}
size_t elementBytes(int32_t type) { return type == 0 ? 4 : 2; }

float gelu(float v, bool tanhForm) {
  if (tanhForm) return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  return 0.5f * v * (1.0f + std::erf(v * 0.7071067811865476f));
}

/// out[r][n] = [out +] act(scale[n] * sum_k x[r][k] w(n, k) + bias[n]) (the
/// GEMV / GEMM contract; scale, the int8 rows' own, nullable).
template <typename W>
void linear(const float *x, int64_t rows, int64_t K, W w, int64_t N, const float *scale, const float *bias,
            float *out, int32_t epi) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) acc += x[r * K + k] * w(n, k);
      acc = acc * (scale ? scale[n] : 1.0f) + (bias ? bias[n] : 0.0f);
      float &y = out[r * N + n];
      if (epi == LITHE_EPI_ACCUMULATE) y += acc;
      else if (epi == LITHE_EPI_GELU_TANH || epi == LITHE_EPI_GELU_ERF) y = gelu(acc, epi == LITHE_EPI_GELU_TANH);
      else y = acc;
    }
}

} // namespace

extern "C" {

LitheCudaExec *lithe_cuda_exec_new(const LitheCudaExecShape *shape, const char **) {
  auto *e = new LitheCudaExec();
  e->tokens.assign(static_cast<size_t>(std::max<int64_t>(shape->maxRows, 1)), 0);
  return e;
}
void lithe_cuda_exec_free(LitheCudaExec *e) { delete e; }
LitheCudaExec *lithe_cuda_exec_bind(LitheCudaExec *e) {
  LitheCudaExec *prev = bound;
  bound = e;
  return prev;
}
void *lithe_cuda_exec_stream(const LitheCudaExec *) { return nullptr; }
int64_t *lithe_cuda_exec_past(const LitheCudaExec *e) { return const_cast<int64_t *>(&e->past); }
int64_t *lithe_cuda_exec_tokens(const LitheCudaExec *e) { return const_cast<int64_t *>(e->tokens.data()); }
int32_t lithe_cuda_exec_error(LitheCudaExec *e) {
  int32_t s = e->error;
  e->error = 0;
  return s;
}
size_t lithe_cuda_exec_bytes(const LitheCudaExec *e) { return e->tokens.size() * sizeof(int64_t); }

void lithe_cuda_op_embedding(const void *table, const void *positions, int32_t tableType, int64_t width,
                             const int64_t *ids, int64_t rows, float *out) {
  const size_t row = static_cast<size_t>(width) * elementBytes(tableType);
  std::vector<float> t(static_cast<size_t>(width)), p(t.size());
  for (int64_t r = 0; r < rows; ++r) {
    widen(static_cast<const uint8_t *>(table) + ids[r] * row, tableType, width, t.data());
    widen(static_cast<const uint8_t *>(positions) + (bound->past + r) * row, tableType, width, p.data());
    for (int64_t d = 0; d < width; ++d) out[r * width + d] = t[d] + p[d];
  }
}

void lithe_cuda_op_add(const float *a, const float *b, int64_t n, float *out) { lithe_add(a, b, n, out); }

void lithe_cuda_op_layer_norm(const float *x, int64_t rows, int64_t width, const float *scale, const float *bias,
                              float eps, float *out) {
  lithe_layer_norm(x, rows, width, scale, bias, eps, out);
}

void lithe_cuda_op_center(const float *x, int64_t rows, int64_t width, float *out) {
  lithe_center(x, rows, width, out);
}

void lithe_cuda_op_affine_rows(float *x, int64_t rows, int64_t width, const float *scale, const float *bias) {
  lithe_affine_rows(x, rows, width, scale, bias);
}

void lithe_cuda_op_linear(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType, int64_t N,
                          const float *bias, float *out, int32_t epilogue) {
  std::vector<float> w(static_cast<size_t>(N * K));
  widen(W, weightType, N * K, w.data());
  linear(x, rows, K, [&](int64_t n, int64_t k) { return w[n * K + k]; }, N, nullptr, bias, out, epilogue);
}

void lithe_cuda_op_linear_q8(const float *x, int64_t rows, int64_t K, const int8_t *W, const float *scale, int64_t N,
                             const float *bias, float *out, int32_t epilogue) {
  linear(x, rows, K, [&](int64_t n, int64_t k) { return static_cast<float>(W[n * K + k]); }, N, scale, bias, out,
         epilogue);
}

void lithe_cuda_op_linear_split(const float *x, int64_t rows, int64_t K, const void *W, int32_t weightType,
                                const float *scale, const float *bias, float *out0, int64_t n0, float *out1,
                                int64_t n1, float *out2, int64_t n2) {
  // The whole product, then its columns to the outputs.
  const int64_t N = n0 + n1 + n2;
  std::vector<float> y(static_cast<size_t>(rows * N));
  if (scale) lithe_cuda_op_linear_q8(x, rows, K, static_cast<const int8_t *>(W), scale, N, bias, y.data(), 0);
  else lithe_cuda_op_linear(x, rows, K, W, weightType, N, bias, y.data(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = y.data() + r * N;
    std::copy(row, row + n0, out0 + r * n0);
    std::copy(row + n0, row + n0 + n1, out1 + r * n1);
    if (n2) std::copy(row + n0 + n1, row + N, out2 + r * n2);
  }
}

void lithe_cuda_op_gelu(const float *x, int64_t n, float *out, int32_t tanhForm) { lithe_gelu(x, n, out, tanhForm); }

int32_t lithe_cuda_op_kv_append(void *kPlane, void *vPlane, int64_t heads, int64_t headDim, int64_t capacity,
                                const float *key, const float *value, int64_t rows) {
  if (lithe_kv_append_f16(static_cast<uint16_t *>(kPlane), static_cast<uint16_t *>(vPlane), heads, headDim, capacity,
                          bound->past, key, value, rows) != 0 &&
      bound->error == 0)
    bound->error = 1; // cudaErrorInvalidValue
  return bound->error;
}

void lithe_cuda_op_attention(const float *query, int64_t rows, const void *kPlane, const void *vPlane, int64_t heads,
                             int64_t headDim, int64_t capacity, float scale, float *out) {
  lithe_attention_f16(query, rows, static_cast<const uint16_t *>(kPlane), static_cast<const uint16_t *>(vPlane), heads,
                      headDim, capacity, bound->past, scale, /*causal=*/1, out);
}

void lithe_cuda_op_lm_head(const float *x, int64_t rows, int64_t width, const void *table, int32_t tableType,
                           int64_t vocab, float *logits) {
  // The table widened, then the CPU head: the same products in float.
  std::vector<float> t(static_cast<size_t>(vocab * width));
  widen(table, tableType, vocab * width, t.data());
  lithe_lm_head(x, rows, width, t.data(), vocab, logits);
  for (int64_t r = 0; r < rows; ++r)
    bound->tokens[r] = std::max_element(logits + r * vocab, logits + (r + 1) * vocab) - (logits + r * vocab);
}

} // extern "C"

namespace lithe {
namespace rt {
namespace {

struct HostContext {
  LitheCudaExec *exec = nullptr;
  std::vector<uint8_t> arena;
  std::vector<int64_t> ids;
  std::vector<float> hidden, logits;
  LitheWorkspace *workspace = nullptr; // the CPU attention kernels' scratch
  ~HostContext() {
    lithe_cuda_exec_free(exec);
    lithe_workspace_free(workspace);
  }
};

struct HostCaches {
  std::vector<std::vector<uint8_t>> planes;
};

void copyHost(void *to, const void *from, size_t n) { std::memcpy(to, from, n); }

class HostDevice final : public Device {
public:
  LitheModelDescriptor desc{};
  const uint8_t *weights = nullptr;
  LitheCudaExecShape shape{};
  int64_t cfg(int i) const { return desc.config[i]; }

  void newState(KVState &s) const override {
    auto c = std::make_shared<HostCaches>();
    for (int64_t i = 0; i < cfg(kCfgCaches); ++i)
      for (int kv = 0; kv < 2; ++kv) {
        c->planes.emplace_back(KVState::planeBytes(desc.cacheShapes[2 * i], desc.cacheShapes[2 * i + 1],
                                                   cfg(kCfgCapacity), cfg(kCfgCacheElementBytes)));
        (kv ? s.vptr : s.kptr).push_back(c->planes.back().data());
      }
    s.device = c;
    s.copyBytes = copyHost;
  }

  std::shared_ptr<void> newContext(std::string &error) const override {
    auto c = std::make_shared<HostContext>();
    const char *why = nullptr;
    c->exec = lithe_cuda_exec_new(&shape, &why);
    c->arena.resize(static_cast<size_t>(cfg(kCfgArenaBytes)) + 64);
    c->ids.resize(static_cast<size_t>(cfg(kCfgCapacity)));
    c->hidden.resize(static_cast<size_t>(cfg(kCfgCapacity) * cfg(kCfgWidth)));
    c->logits.resize(static_cast<size_t>(cfg(kCfgCapacity) * cfg(kCfgVocab)));
    LitheWorkspaceShape ws{cfg(kCfgCapacity), std::max(cfg(kCfgMaxLinear), cfg(kCfgWidth)),
                           std::max(cfg(kCfgMaxLinear), cfg(kCfgVocab)), shape.heads, shape.headDim,
                           cfg(kCfgCapacity), cfg(kCfgCacheElementBytes)};
    c->workspace = lithe_workspace_new(&ws, 0);
    if (!c->exec || !c->workspace) {
      error = "cannot allocate the emulated device's context";
      return nullptr;
    }
    return c;
  }

  bool forward(Context &ctx, const KVState &s, const int64_t *ids, int64_t n, std::string &error) const override {
    auto &c = *static_cast<HostContext *>(ctx.device.get());
    for (int64_t i = 0; i < n; ++i)
      if (ids[i] < 0 || ids[i] >= cfg(kCfgVocab)) {
        error = "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(cfg(kCfgVocab));
        return false;
      }
    c.exec->past = s.past; // what the device's copy of the length would be
    std::memcpy(c.ids.data(), ids, static_cast<size_t>(n) * sizeof(int64_t));
    LitheCudaExec *prev = lithe_cuda_exec_bind(c.exec);
    LitheWorkspace *prevWs = lithe_workspace_bind(c.workspace);
    // The arena 64-byte aligned, as cudaMalloc's 256 would be.
    uint8_t *arena = c.arena.data() + (64 - reinterpret_cast<uintptr_t>(c.arena.data()) % 64) % 64;
    desc.forward(weights, arena, const_cast<void **>(s.kptr.data()), const_cast<void **>(s.vptr.data()),
                 c.ids.data(), n, s.past, c.hidden.data());
    lithe_workspace_bind(prevWs);
    lithe_cuda_exec_bind(prev);
    if (lithe_cuda_exec_error(c.exec) != 0) {
      error = "an emulated CUDA op failed (KV cache overflow at " + std::to_string(s.past) + ")";
      return false;
    }
    return true;
  }

  bool logits(const Context &ctx, int64_t first, int64_t n, float *out, std::string &) const override {
    auto &c = *static_cast<HostContext *>(ctx.device.get());
    LitheCudaExec *prev = lithe_cuda_exec_bind(c.exec);
    desc.head(weights, c.hidden.data() + first * cfg(kCfgWidth), n, c.logits.data());
    lithe_cuda_exec_bind(prev);
    if (out) std::memcpy(out, c.logits.data(), static_cast<size_t>(n * cfg(kCfgVocab)) * sizeof(float));
    return true;
  }

  bool argmax(const Context &ctx, int64_t row, int64_t &token, std::string &) const override {
    token = static_cast<HostContext *>(ctx.device.get())->exec->tokens[static_cast<size_t>(row)];
    return true;
  }

  /// lithe_cuda_sample's contract on the host: the topK largest logits (ties:
  /// lower ids), cumulative softmax(z / T), the top-p cut, the draw; the
  /// uniform number from (seed, the cache length) by splitmix64 (the GPU's
  /// is a Philox draw: the same distribution, other numbers).
  bool sample(const Context &ctx, int64_t row, float temperature, int64_t topK, float topP, uint64_t seed,
              int64_t &token, std::string &error) const override {
    auto &c = *static_cast<HostContext *>(ctx.device.get());
    if (!logits(ctx, row, 1, nullptr, error)) return false;
    const int64_t V = cfg(kCfgVocab);
    const float *z = c.logits.data();
    const int64_t k = std::min<int64_t>(topK <= 0 ? 1024 : std::min<int64_t>(topK, 1024), V);
    std::vector<int64_t> ids(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) ids[i] = i;
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                      [&](int64_t a, int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    std::vector<float> cum(static_cast<size_t>(k));
    float total = 0.0f;
    for (int64_t r = 0; r < k; ++r) cum[r] = total += std::exp((z[ids[r]] - z[ids[0]]) / temperature);
    int64_t cut = k;
    if (topP < 1.0f)
      for (int64_t r = 0; r < k; ++r)
        if (cum[r] >= topP * total) {
          cut = r + 1;
          break;
        }
    uint64_t x = seed ^ (static_cast<uint64_t>(c.exec->past) * 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    const float target = static_cast<float>(x >> 40) / static_cast<float>(1ull << 24) * cum[cut - 1];
    int64_t r = 0;
    while (r < cut - 1 && cum[r] <= target) ++r;
    token = ids[r];
    return true;
  }

  int64_t deviceBytes() const override { return 0; }
  std::string describe() const override { return "host emulation of the CUDA target (no GPU)"; }
};

} // namespace

std::unique_ptr<Device> openCudaDevice(const LitheModelDescriptor &desc, const uint8_t *weights, size_t,
                                       std::string &) {
  auto d = std::make_unique<HostDevice>();
  d->desc = desc;
  d->weights = weights;
  d->shape.maxRows = desc.config[kCfgCapacity];
  d->shape.vocab = desc.config[kCfgVocab];
  d->shape.width = desc.config[kCfgWidth];
  d->shape.capacity = desc.config[kCfgCapacity];
  for (int64_t c = 0; c < desc.config[kCfgCaches]; ++c) {
    d->shape.heads = std::max(d->shape.heads, desc.cacheShapes[2 * c]);
    d->shape.headDim = std::max(d->shape.headDim, desc.cacheShapes[2 * c + 1]);
  }
  return d;
}

} // namespace rt
} // namespace lithe
