//===- WeightStore.cpp - weights that passes read and rewrite -------------===//

#include "lithe/WeightStore.h"

#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <set>

namespace lithe {

std::shared_ptr<WeightStore> WeightStore::open(const std::string &path, std::string &error) {
  auto store = std::shared_ptr<WeightStore>(new WeightStore());
  store->path_ = path;
  if (!path.empty()) {
    store->file_ = WeightsFile::open(path, error);
    if (!store->file_) return nullptr;
    // Every weight a pass or the code generator reads enters here (or
    // through WeightsWriter::add): a NaN or Inf would make every output
    // garbage, so it is an error naming the tensor.
    if (!allowNonFinite())
      for (const TensorEntry &e : store->file_->entries())
        if (int64_t bad = firstNonFinite(e.dtype, store->file_->data(e), e.nbytes); bad >= 0) {
          error = path + ": tensor '" + e.name + "' has a non-finite value (NaN or Inf) at element " +
                  std::to_string(bad);
          return nullptr;
        }
  }
  return store;
}

bool WeightStore::contains(const std::string &name) const {
  return generated_.count(name) || added_.count(name) || (file_ && file_->find(name));
}

std::optional<WeightStore::View> WeightStore::get(const std::string &name) const {
  if (auto g = generated_.find(name); g != generated_.end()) {
    auto m = materialized_.find(name);
    if (m == materialized_.end()) {
      std::vector<uint8_t> bytes(g->second.nbytes);
      std::string error;
      if (!g->second.fill(bytes.data(), error)) return std::nullopt;
      m = materialized_.emplace(name, std::move(bytes)).first;
    }
    return View{g->second.dtype, g->second.shape, m->second.data(), m->second.size()};
  }
  if (auto it = added_.find(name); it != added_.end())
    return View{it->second.dtype, it->second.shape, it->second.bytes.data(), it->second.bytes.size()};
  if (file_)
    if (const TensorEntry *e = file_->find(name))
      return View{e->dtype, e->shape, file_->data(*e), e->nbytes};
  return std::nullopt;
}

const float *WeightStore::getF32(const std::string &name, int64_t elements, std::string &error) const {
  auto v = get(name);
  if (!v) {
    error = "weight '" + name + "' is not in the weights store" + (path_.empty() ? "" : " (" + path_ + ")");
    return nullptr;
  }
  if (v->dtype != DType::F32 || v->nbytes != static_cast<size_t>(elements) * 4) {
    error = "weight '" + name + "' is " + dtypeName(v->dtype) + " with " + std::to_string(v->nbytes) +
            " bytes; expected " + std::to_string(elements) + " f32 values";
    return nullptr;
  }
  return static_cast<const float *>(v->data);
}

std::string WeightStore::put(const std::string &base, DType dtype, std::vector<int64_t> shape,
                             std::vector<uint8_t> bytes) {
  std::string name = base;
  for (int i = 1; get(name); ++i) name = base + "." + std::to_string(i);
  added_[name] = Owned{dtype, std::move(shape), std::move(bytes)};
  return name;
}

void WeightStore::putGenerated(const std::string &name, DType dtype, std::vector<int64_t> shape,
                               size_t nbytes, WeightsWriter::Producer fill) {
  materialized_.erase(name);
  generated_[name] = Generated{dtype, std::move(shape), nbytes, std::move(fill)};
}

std::string WeightStore::putF32(const std::string &base, std::vector<int64_t> shape,
                                const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return put(base, DType::F32, std::move(shape), std::move(bytes));
}

bool WeightStore::checkFinite(const std::vector<std::string> &names, std::string &error) const {
  if (allowNonFinite()) return true;
  for (const std::string &n : names) {
    auto it = added_.find(n);
    if (it == added_.end()) continue;
    const Owned &t = it->second;
    if (int64_t bad = firstNonFinite(t.dtype, t.bytes.data(), t.bytes.size()); bad >= 0) {
      error = "weight '" + n + "' (computed by a pass) has a non-finite value (NaN or Inf) at element " +
              std::to_string(bad);
      return false;
    }
  }
  return true;
}

bool WeightStore::addTo(WeightsWriter &writer, const std::string &name, const std::string &as,
                        std::string &error) const {
  // Generated tensors not read yet are made while the file is written.
  if (auto g = generated_.find(name); g != generated_.end() && !materialized_.count(name))
    return writer.addGenerated(as, g->second.dtype, g->second.shape, g->second.nbytes, g->second.fill, error);
  auto v = get(name);
  if (!v) {
    error = "weight '" + name + "' is not in the weights store";
    return false;
  }
  // The store (mapped file, owned tensors) outlives the write: no copy.
  return writer.addBorrowed(as, v->dtype, v->shape, v->data, v->nbytes, error);
}

bool WeightStore::sameTensor(const std::string &name, const WeightStore &other, const std::string &otherName) const {
  // A generated tensor is made into a scratch buffer (not kept).
  auto bytesOf = [](const WeightStore &s, const std::string &n, std::vector<uint8_t> &scratch,
                    View &view) -> bool {
    if (auto g = s.generated_.find(n); g != s.generated_.end() && !s.materialized_.count(n)) {
      scratch.resize(g->second.nbytes);
      std::string error;
      if (!g->second.fill(scratch.data(), error)) return false;
      view = View{g->second.dtype, g->second.shape, scratch.data(), scratch.size()};
      return true;
    }
    auto v = s.get(n);
    if (!v) return false;
    view = *v;
    return true;
  };
  std::vector<uint8_t> a, b;
  View va{}, vb{};
  if (!bytesOf(*this, name, a, va) || !bytesOf(other, otherName, b, vb)) return false;
  return va.dtype == vb.dtype && va.shape == vb.shape && va.nbytes == vb.nbytes &&
         (va.nbytes == 0 || std::memcmp(va.data, vb.data, va.nbytes) == 0);
}

bool WeightStore::write(const std::string &path, const std::vector<std::string> &names,
                        std::string &error) const {
  WeightsWriter writer;
  for (const std::string &n : names)
    if (!addTo(writer, n, n, error)) return false;
  return writer.write(path, error);
}

void setWeightStore(mlir::MLIRContext *ctx, std::shared_ptr<WeightStore> store) {
  ctx->getOrLoadDialect<LitheDialect>()->weightStore = std::move(store);
}

std::shared_ptr<WeightStore> getWeightStore(mlir::ModuleOp module, std::string &error,
                                            const std::string &dir) {
  auto *dialect = module.getContext()->getOrLoadDialect<LitheDialect>();
  if (dialect->weightStore) return dialect->weightStore;
  auto attr = module->getAttrOfType<mlir::StringAttr>(LitheDialect::kWeightsAttrName);
  if (!attr) {
    error = "no weights: the module has no 'lithe.weights' attribute";
    return nullptr;
  }
  std::string path = attr.getValue().str();
  if (!dir.empty() && !llvm::sys::path::is_absolute(path)) {
    llvm::SmallString<256> joined(dir);
    llvm::sys::path::append(joined, path);
    path = std::string(joined);
  }
  std::shared_ptr<WeightStore> store = WeightStore::open(path, error);
  if (store) setWeightStore(module.getContext(), store);
  return store;
}

std::vector<std::string> referencedWeights(mlir::ModuleOp module) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  module.walk([&](mlir::Operation *op) {
    mlir::StringAttr name;
    if (auto w = mlir::dyn_cast<WeightOp>(op)) name = w.getNameAttr();
    else if (auto k = mlir::dyn_cast<k::WeightOp>(op)) name = k.getNameAttr();
    if (name && seen.insert(name.str()).second) names.push_back(name.str());
  });
  return names;
}

} // namespace lithe
