//===- FuseAdapters.cpp - lithe-fuse-adapters -----------------------------===//
//
// PEFT adapters folded into the weights, exactly:
//   LoRA   W' = W + scale * s * (B A)^T        s = lora_alpha / r (or / sqrt(r))
//   IA3    W'[:, n] = W[:, n] * l[n], b'[n] = b[n] * l[n]       (output side)
//          W'[k, :] = W[k, :] * l[k]                            (feed-forward)
//   BitFit b' = the adapter's bias
// with `scale` blending each adapter in (l' = 1 + scale (l - 1),
// b' = b + scale (b_new - b)). GPT-2's Conv1D weights are [in, out], so the
// LoRA update (B A)^T [in, out] adds directly.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>
#include <map>

namespace lithe {
#define GEN_PASS_DEF_LITHEFUSEADAPTERS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

/// One tensor of a safetensors file (f32 only), copied out.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

bool readJson(const std::string &path, llvm::json::Value &out, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    error = path + ": cannot read: " + buf.getError().message();
    return false;
  }
  auto v = llvm::json::parse((*buf)->getBuffer());
  if (!v) {
    error = path + ": invalid JSON: " + llvm::toString(v.takeError());
    return false;
  }
  out = std::move(*v);
  return true;
}

bool readSafetensors(const std::string &path, std::map<std::string, Tensor> &out, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = path + ": cannot read: " + buf.getError().message();
    return false;
  }
  llvm::StringRef bytes = (*buf)->getBuffer();
  uint64_t n = 0;
  if (bytes.size() < 8 || (std::memcpy(&n, bytes.data(), 8), n > bytes.size() - 8)) {
    error = path + ": not a safetensors file (bad header length)";
    return false;
  }
  auto header = llvm::json::parse(bytes.substr(8, n));
  if (!header || !header->getAsObject()) {
    error = path + ": not a safetensors file (bad header)";
    if (!header) llvm::consumeError(header.takeError());
    return false;
  }
  llvm::StringRef data = bytes.substr(8 + n);
  for (auto &[key, value] : *header->getAsObject()) {
    if (key == "__metadata__") continue;
    const llvm::json::Object *t = value.getAsObject();
    auto dtype = t ? t->getString("dtype") : std::nullopt;
    const llvm::json::Array *shape = t ? t->getArray("shape") : nullptr;
    const llvm::json::Array *offs = t ? t->getArray("data_offsets") : nullptr;
    if (!dtype || !shape || !offs || offs->size() != 2) {
      error = path + ": tensor '" + key.str() + "' has a malformed header entry";
      return false;
    }
    if (*dtype != "F32") {
      error = path + ": tensor '" + key.str() + "' is " + dtype->str() + "; only F32 adapters are supported";
      return false;
    }
    Tensor tensor;
    int64_t count = 1;
    for (const llvm::json::Value &d : *shape) {
      auto v = d.getAsInteger();
      if (!v || *v < 0) {
        error = path + ": tensor '" + key.str() + "' has a bad shape";
        return false;
      }
      tensor.shape.push_back(*v);
      count *= *v;
    }
    auto b = (*offs)[0].getAsInteger(), e = (*offs)[1].getAsInteger();
    if (!b || !e || *b < 0 || *e < *b || static_cast<uint64_t>(*e) > data.size() || *e - *b != count * 4) {
      error = path + ": tensor '" + key.str() + "' lies outside the file or does not match its shape";
      return false;
    }
    tensor.data.resize(count);
    if (count) std::memcpy(tensor.data.data(), data.data() + *b, count * 4);
    if (!allowNonFinite())
      if (int64_t bad = firstNonFinite(DType::F32, tensor.data.data(), count * 4); bad >= 0) {
        error = path + ": tensor '" + key.str() + "' has a non-finite value (NaN or Inf) at element " +
                std::to_string(bad);
        return false;
      }
    out[key.str()] = std::move(tensor);
  }
  return true;
}

/// "…transformer.h.0.attn.c_attn.weight.q" -> ("…transformer.h.0.attn.c_attn", 0).
bool moduleOf(llvm::StringRef name, llvm::StringRef suffix, std::string &module, int &part) {
  part = -1;
  for (auto [p, tag] : {std::pair{0, ".q"}, std::pair{1, ".k"}, std::pair{2, ".v"}})
    if (name.ends_with(tag)) {
      part = p;
      name = name.drop_back(2);
    }
  if (!name.consume_back(suffix)) return false;
  module = name.str();
  return true;
}

/// `key` names module `m` if it is `m` or ends with ".m".
bool sameModule(llvm::StringRef key, llvm::StringRef m) {
  return key == m || (key.ends_with(m) && key.drop_back(m.size()).ends_with("."));
}

struct FuseAdaptersPass : impl::LitheFuseAdaptersBase<FuseAdaptersPass> {
  using LitheFuseAdaptersBase::LitheFuseAdaptersBase;

  struct LinearSite {
    LinearOp op;
    int part; // -1: whole weight; 0/1/2: q/k/v columns of a fused QKV weight
  };
  std::multimap<std::string, LinearSite> linears; // module -> sites
  std::multimap<std::string, Operation *> norms;  // module (e.g. ...ln_1) -> LN / center
  std::shared_ptr<WeightStore> store;
  std::string error;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (adapters.empty()) {
      module.emitError("lithe-fuse-adapters: give adapters=DIR[,DIR...]");
      return signalPassFailure();
    }
    if (!std::isfinite(scale)) {
      module.emitError() << "lithe-fuse-adapters: scale=" << scale << " is not a finite number";
      return signalPassFailure();
    }
    store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-fuse-adapters: " << error;
      return signalPassFailure();
    }
    llvm::SmallVector<llvm::StringRef> dirs;
    llvm::StringRef(adapters).split(dirs, ',', -1, false);
    for (llvm::StringRef dir : dirs) {
      index(module);
      if (failed(apply(module, dir.trim().str()))) {
        module.emitError() << "lithe-fuse-adapters: " << error;
        return signalPassFailure();
      }
    }
  }

  void index(ModuleOp module) {
    linears.clear();
    norms.clear();
    module.walk([&](Operation *op) {
      std::string m;
      int part;
      if (auto lin = dyn_cast<LinearOp>(op)) {
        if (auto w = lin.getWeight().getDefiningOp<WeightOp>())
          if (moduleOf(w.getName(), ".weight", m, part)) linears.insert({m, {lin, part}});
      } else if (isa<LayerNormOp, CenterOp>(op)) {
        Value bias = isa<LayerNormOp>(op) ? cast<LayerNormOp>(op).getBias() : cast<CenterOp>(op).getBias();
        if (auto w = bias ? bias.getDefiningOp<WeightOp>() : WeightOp())
          if (moduleOf(w.getName(), ".bias", m, part)) norms.insert({m, op});
      }
    });
  }

  /// Linear sites of adapter module `m` (export prefixes ignored).
  std::vector<LinearSite> sitesOf(llvm::StringRef m) {
    std::vector<LinearSite> out;
    for (auto &[key, site] : linears)
      if (sameModule(key, m)) out.push_back(site);
    return out;
  }

  const float *get(Operation *op, Value v, int64_t n) {
    auto w = v ? v.getDefiningOp<WeightOp>() : WeightOp();
    const float *p = w ? store->getF32(w.getName().str(), n, error) : nullptr;
    if (!w) error = "operand of " + op->getName().getStringRef().str() + " is not a lithe.weight";
    return p;
  }

  Value newWeight(Operation *at, const std::string &base, std::vector<int64_t> shape,
                  const std::vector<float> &values) {
    std::string name = store->putF32(base, shape, values);
    OpBuilder b(at);
    return b.create<WeightOp>(at->getLoc(), RankedTensorType::get(shape, b.getF32Type()), name);
  }

  /// Applies `edit(W, bias, colOffset, K, N)` to every site of module `m`.
  /// W is [K, N] (one part of a fused weight: columns colOffset .. +N of the
  /// module's full weight); bias may be empty.
  template <typename Edit>
  LogicalResult editSites(llvm::StringRef m, llvm::StringRef tag, Edit edit) {
    std::vector<LinearSite> sites = sitesOf(m);
    if (sites.empty()) {
      error = "module '" + m.str() + "' matches no linear layer of the model";
      return failure();
    }
    for (LinearSite &s : sites) {
      auto wt = cast<RankedTensorType>(s.op.getWeight().getType());
      if (!wt.getElementType().isF32() || s.op.getWeightScale()) {
        error = "module '" + m.str() + "': fuse adapters before quantizing";
        return failure();
      }
      int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
      const float *W = get(s.op, s.op.getWeight(), K * N);
      if (!W) return failure();
      std::vector<float> w(W, W + K * N), bias;
      if (s.op.getBias()) {
        const float *b = get(s.op, s.op.getBias(), N);
        if (!b) return failure();
        bias.assign(b, b + N);
      }
      int64_t col = s.part < 0 ? 0 : s.part * N;
      int64_t total = s.part < 0 ? N : 3 * N;
      if (failed(edit(w, bias, col, K, N, total))) return failure();
      std::string wname = s.op.getWeight().getDefiningOp<WeightOp>().getName().str();
      s.op.getWeightMutable().assign(newWeight(s.op, wname + "." + tag.str(), {K, N}, w));
      if (!bias.empty())
        s.op.getBiasMutable().assign(newWeight(
            s.op, s.op.getBias().getDefiningOp<WeightOp>().getName().str() + "." + tag.str(), {N}, bias));
    }
    return success();
  }

  LogicalResult apply(ModuleOp module, const std::string &dir) {
    llvm::SmallString<256> cfgPath(dir), bitfitPath(dir);
    llvm::sys::path::append(cfgPath, "adapter_config.json");
    llvm::sys::path::append(bitfitPath, "bitfit.json");
    llvm::json::Value cfg = nullptr;
    if (llvm::sys::fs::exists(cfgPath)) {
      if (!readJson(std::string(cfgPath), cfg, error)) return failure();
      const llvm::json::Object *o = cfg.getAsObject();
      auto type = o ? o->getString("peft_type") : std::nullopt;
      llvm::SmallString<256> st(dir);
      llvm::sys::path::append(st, "adapter_model.safetensors");
      std::map<std::string, Tensor> tensors;
      if (!readSafetensors(std::string(st), tensors, error)) return failure();
      if (type && *type == "LORA") return applyLora(*o, tensors, std::string(cfgPath));
      if (type && *type == "IA3") return applyIA3(*o, tensors, std::string(cfgPath));
      error = std::string(cfgPath) + ": peft_type '" + (type ? type->str() : "?") +
              "' is not supported (LORA, IA3; BitFit via bitfit.json)";
      return failure();
    }
    if (llvm::sys::fs::exists(bitfitPath)) {
      if (!readJson(std::string(bitfitPath), cfg, error)) return failure();
      const llvm::json::Object *o = cfg.getAsObject();
      auto file = o ? o->getString("file") : std::nullopt;
      llvm::SmallString<256> st(dir);
      llvm::sys::path::append(st, file ? *file : "bitfit.safetensors");
      std::map<std::string, Tensor> tensors;
      if (!readSafetensors(std::string(st), tensors, error)) return failure();
      return applyBitFit(tensors, std::string(st));
    }
    error = dir + ": not an adapter directory (no adapter_config.json or bitfit.json)";
    return failure();
  }

  LogicalResult applyLora(const llvm::json::Object &cfg, std::map<std::string, Tensor> &t,
                          const std::string &where) {
    auto r = cfg.getInteger("r");
    auto alpha = cfg.getNumber("lora_alpha");
    if (!r || *r <= 0 || !alpha || !std::isfinite(*alpha)) {
      error = where + ": needs positive 'r' and 'lora_alpha'";
      return failure();
    }
    bool rs = cfg.getBoolean("use_rslora").value_or(false);
    double s = scale * *alpha / (rs ? std::sqrt(static_cast<double>(*r)) : static_cast<double>(*r));
    for (auto &[name, A] : t) {
      llvm::StringRef n(name);
      if (!n.consume_back(".lora_A.weight")) continue;
      n.consume_front("base_model.model.");
      std::string bname = name.substr(0, name.size() - strlen(".lora_A.weight")) + ".lora_B.weight";
      auto bit = t.find(bname);
      if (bit == t.end()) {
        error = where + ": '" + name + "' has no matching lora_B";
        return failure();
      }
      const Tensor &B = bit->second;
      if (A.shape.size() != 2 || B.shape.size() != 2 || A.shape[0] != B.shape[1]) {
        error = where + ": LoRA tensors of '" + n.str() + "' have mismatched shapes";
        return failure();
      }
      int64_t rank = A.shape[0], in = A.shape[1], out = B.shape[0];
      if (failed(editSites(n, "lora", [&](std::vector<float> &w, std::vector<float> &, int64_t col, int64_t K,
                                          int64_t N, int64_t total) -> LogicalResult {
            if (K != in || total != out) {
              error = where + ": LoRA for '" + n.str() + "' is [" + std::to_string(in) + " -> " +
                      std::to_string(out) + "] but the layer is [" + std::to_string(K) + " -> " +
                      std::to_string(total) + "]";
              return failure();
            }
            for (int64_t k = 0; k < K; ++k)
              for (int64_t j = 0; j < N; ++j) {
                double d = 0;
                for (int64_t q = 0; q < rank; ++q) d += double(B.data[(col + j) * rank + q]) * A.data[q * in + k];
                w[k * N + j] += static_cast<float>(s * d);
              }
            return success();
          })))
        return failure();
    }
    return success();
  }

  LogicalResult applyIA3(const llvm::json::Object &cfg, std::map<std::string, Tensor> &t,
                         const std::string &where) {
    std::vector<std::string> ff;
    if (const llvm::json::Array *a = cfg.getArray("feedforward_modules"))
      for (const llvm::json::Value &v : *a)
        if (auto str = v.getAsString()) ff.push_back(str->str());
    for (auto &[name, L] : t) {
      llvm::StringRef n(name);
      if (!n.consume_back(".ia3_l")) continue;
      n.consume_front("base_model.model.");
      bool feedForward = false;
      for (const std::string &f : ff)
        if (sameModule(n, f)) feedForward = true;
      int64_t len = 1;
      for (int64_t d : L.shape) len *= d;
      if (failed(editSites(n, "ia3", [&](std::vector<float> &w, std::vector<float> &bias, int64_t col, int64_t K,
                                         int64_t N, int64_t total) -> LogicalResult {
            if (len != (feedForward ? K : total)) {
              error = where + ": IA3 vector of '" + n.str() + "' has " + std::to_string(len) +
                      " entries, the layer's " + (feedForward ? "input" : "output") + " has " +
                      std::to_string(feedForward ? K : total);
              return failure();
            }
            auto l = [&](int64_t i) { return static_cast<float>(1.0 + scale * (L.data[i] - 1.0)); };
            for (int64_t k = 0; k < K; ++k)
              for (int64_t j = 0; j < N; ++j) w[k * N + j] *= feedForward ? l(k) : l(col + j);
            if (!feedForward)
              for (int64_t j = 0; j < static_cast<int64_t>(bias.size()); ++j) bias[j] *= l(col + j);
            return success();
          })))
        return failure();
    }
    return success();
  }

  LogicalResult applyBitFit(std::map<std::string, Tensor> &t, const std::string &where) {
    for (auto &[name, T] : t) {
      llvm::StringRef n(name);
      if (!n.consume_back(".bias")) {
        error = where + ": BitFit tensor '" + name + "' is not a bias";
        return failure();
      }
      int64_t len = T.data.size();
      auto blend = [&](float old, float updated) { return static_cast<float>(old + scale * (updated - old)); };
      // A LayerNorm (or LN-free centering) bias...
      bool done = false;
      for (auto &[key, op] : norms) {
        if (!sameModule(key, n)) continue;
        Value bias = isa<LayerNormOp>(op) ? cast<LayerNormOp>(op).getBias() : cast<CenterOp>(op).getBias();
        const float *old = get(op, bias, len);
        if (!old) {
          error = where + ": BitFit bias '" + name + "': " + error;
          return failure();
        }
        std::vector<float> b(len);
        for (int64_t i = 0; i < len; ++i) b[i] = blend(old[i], T.data[i]);
        Value nb = newWeight(op, bias.getDefiningOp<WeightOp>().getName().str() + ".bitfit", {len}, b);
        if (auto ln = dyn_cast<LayerNormOp>(op)) ln.getBiasMutable().assign(nb);
        else cast<CenterOp>(op).getBiasMutable().assign(nb);
        done = true;
      }
      if (done) continue;
      // ...or a linear layer's.
      if (failed(editSites(n, "bitfit", [&](std::vector<float> &, std::vector<float> &bias, int64_t col, int64_t,
                                            int64_t N, int64_t total) -> LogicalResult {
            if (len != total || bias.empty()) {
              error = where + ": BitFit bias '" + name + "' has " + std::to_string(len) +
                      " entries; the layer's bias has " + std::to_string(bias.empty() ? 0 : total);
              return failure();
            }
            for (int64_t j = 0; j < N; ++j) bias[j] = blend(bias[j], T.data[col + j]);
            return success();
          })))
        return failure();
    }
    return success();
  }
};

} // namespace
} // namespace lithe
