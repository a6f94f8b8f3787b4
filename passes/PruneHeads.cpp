//===- PruneHeads.cpp - lithe-prune-heads ---------------------------------===//
//
// Removing head h of a layer deletes columns [h*d, (h+1)*d) of its query,
// key and value projections (weights and biases) and the same rows of its
// output projection; the attention computes fewer heads over a smaller KV
// cache (the cache argument's type changes accordingly).
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <map>

namespace lithe {
#define GEN_PASS_DEF_LITHEPRUNEHEADS
#include "passes/Passes.h.inc"

namespace {
using namespace mlir;

struct PruneHeadsPass : impl::LithePruneHeadsBase<PruneHeadsPass> {
  using LithePruneHeadsBase::LithePruneHeadsBase;
  std::shared_ptr<WeightStore> store;
  std::string error;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = modelFunction(module);
    std::map<int64_t, std::set<int64_t>> plan;
    // Layers separated by ';' (or '/', which needs no quoting in shells and
    // CMake lists).
    std::string spec = heads;
    std::replace(spec.begin(), spec.end(), '/', ';');
    llvm::SmallVector<llvm::StringRef> entries;
    llvm::StringRef(spec).split(entries, ';', -1, false);
    for (llvm::StringRef e : entries) {
      auto [layer, list] = e.split(':');
      int64_t l;
      if (layer.trim().getAsInteger(10, l) || l < 0 || !parseIndexList(list, plan[l])) {
        module.emitError() << "lithe-prune-heads: bad heads entry '" << e << "' (want LAYER:h,h;LAYER:h)";
        return signalPassFailure();
      }
    }
    if (!fn || plan.empty()) {
      module.emitError("lithe-prune-heads: give heads=LAYER:h,h;LAYER:h");
      return signalPassFailure();
    }
    store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-prune-heads: " << error;
      return signalPassFailure();
    }
    std::vector<AttentionOp> layers = attentionLayers(fn);
    for (auto &[l, hs] : plan) {
      if (l >= static_cast<int64_t>(layers.size())) {
        module.emitError() << "lithe-prune-heads: layer " << l << " does not exist (the model has "
                           << layers.size() << ")";
        return signalPassFailure();
      }
      if (failed(prune(fn, layers[l], l, hs))) return signalPassFailure();
    }
    eraseDead(fn);
  }

  /// Keeps columns (or rows, if `rows`) of the kept heads of weight `v`.
  Value slice(Operation *at, Value v, const std::vector<int64_t> &keep, int64_t d, bool rows) {
    auto w = v.getDefiningOp<WeightOp>();
    auto t = cast<RankedTensorType>(v.getType());
    if (!w || !t.getElementType().isF32()) {
      error = "weights must be f32 lithe.weight (prune before quantizing)";
      return Value();
    }
    std::vector<int64_t> shape(t.getShape().begin(), t.getShape().end());
    int64_t n = t.getNumElements();
    const float *p = store->getF32(w.getName().str(), n, error);
    if (!p) return Value();
    std::vector<float> out;
    if (shape.size() == 1) {
      for (int64_t h : keep) out.insert(out.end(), p + h * d, p + (h + 1) * d);
      shape[0] = static_cast<int64_t>(keep.size()) * d;
    } else if (rows) { // [in, out]: keep rows
      int64_t N = shape[1];
      for (int64_t h : keep) out.insert(out.end(), p + h * d * N, p + (h + 1) * d * N);
      shape[0] = static_cast<int64_t>(keep.size()) * d;
    } else { // keep columns
      int64_t K = shape[0], N = shape[1];
      for (int64_t k = 0; k < K; ++k)
        for (int64_t h : keep) out.insert(out.end(), p + k * N + h * d, p + k * N + (h + 1) * d);
      shape[1] = static_cast<int64_t>(keep.size()) * d;
    }
    std::string name = store->putF32(w.getName().str() + ".pruned", shape, out);
    OpBuilder b(at);
    return b.create<WeightOp>(at->getLoc(), RankedTensorType::get(shape, b.getF32Type()), name);
  }

  LogicalResult prune(func::FuncOp fn, AttentionOp a, int64_t l, const std::set<int64_t> &drop) {
    int64_t H = a.getNumHeads(), d = a.getHeadDim();
    std::vector<int64_t> keep;
    for (int64_t h = 0; h < H; ++h)
      if (!drop.count(h)) keep.push_back(h);
    if (*drop.rbegin() >= H || keep.empty()) {
      a.emitError() << "lithe-prune-heads: layer " << l << " has " << H << " heads; cannot remove "
                    << (keep.empty() ? "all of them" : "head " + std::to_string(*drop.rbegin()));
      return failure();
    }
    if (!a.writesCache()) {
      a.emitError() << "lithe-prune-heads: layer " << l << " reads a shared KV cache; prune before sharing";
      return failure();
    }
    auto arg = dyn_cast<BlockArgument>(a.getCache());
    Operation *proj = a->hasOneUse() ? *a->getUsers().begin() : nullptr;
    auto out = dyn_cast_or_null<LinearOp>(proj);
    LinearOp qkv[3] = {a.getQuery().getDefiningOp<LinearOp>(), a.getKey().getDefiningOp<LinearOp>(),
                       a.getValue().getDefiningOp<LinearOp>()};
    if (!arg || !arg.hasOneUse() || !out || !qkv[0] || !qkv[1] || !qkv[2] || out.getWeightScale()) {
      a.emitError() << "lithe-prune-heads: layer " << l
                    << " is not linear q/k/v -> attention (own cache) -> linear projection";
      return failure();
    }
    int64_t width = static_cast<int64_t>(keep.size()) * d;
    auto actType = [&](Value like) {
      auto t = cast<RankedTensorType>(like.getType());
      SmallVector<int64_t> s(t.getShape().begin(), t.getShape().end());
      s.back() = width;
      return RankedTensorType::get(s, t.getElementType());
    };
    Value newQKV[3];
    for (int i = 0; i < 3; ++i) {
      LinearOp lin = qkv[i];
      if (!lin->hasOneUse()) {
        a.emitError() << "lithe-prune-heads: layer " << l << "'s projections are shared";
        return failure();
      }
      Value w = slice(lin, lin.getWeight(), keep, d, /*rows=*/false);
      Value b = lin.getBias() ? slice(lin, lin.getBias(), keep, d, false) : Value();
      if (!w || (lin.getBias() && !b)) {
        a.emitError() << "lithe-prune-heads: " << error;
        return failure();
      }
      OpBuilder builder(lin);
      newQKV[i] = builder.create<LinearOp>(lin.getLoc(), actType(lin.getResult()), lin.getInput(), w, b, Value());
    }
    Value wo = slice(out, out.getWeight(), keep, d, /*rows=*/true);
    if (!wo) {
      a.emitError() << "lithe-prune-heads: " << error;
      return failure();
    }
    // The cache argument: fewer heads.
    auto cacheType = cast<KVCacheType>(arg.getType());
    auto newCache = KVCacheType::get(a.getContext(), static_cast<int64_t>(keep.size()), d,
                                     cacheType.getElementType());
    arg.setType(newCache);
    SmallVector<Type> args(fn.getArgumentTypes());
    args[arg.getArgNumber()] = newCache;
    fn.setType(FunctionType::get(fn.getContext(), args, fn.getResultTypes()));
    OpBuilder b(a);
    auto na = b.create<AttentionOp>(a.getLoc(), actType(a.getResult()), newQKV[0], newQKV[1], newQKV[2], arg,
                                    a.getPastLen(), static_cast<uint64_t>(keep.size()),
                                    static_cast<uint64_t>(d), a.getScale(), a.getCausal());
    out.getInputMutable().assign(na.getResult());
    out.getWeightMutable().assign(wo);
    a.erase();
    return success();
  }
};
} // namespace
} // namespace lithe
