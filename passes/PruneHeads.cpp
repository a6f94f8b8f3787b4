//===- PruneHeads.cpp - lithe-prune-heads ---------------------------------===//
//
// Removing head h of a layer deletes columns [h*d, (h+1)*d) of its query,
// key and value projections (weights and biases) and the same rows of its
// output projection; the attention computes fewer heads over a smaller KV
// cache (the cache argument's type changes accordingly).
//
// By importance: with a calibration text, each head is masked alone (its
// slice of the attention output zeroed) and the rise in mean next-token loss
// is its importance; the least important heads go, globally across layers.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "Calibrate.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
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
    bool byImportance = fraction != 0.0;
    if (byImportance && (!plan.empty() || calibration.empty() || !(fraction > 0 && fraction < 1))) {
      module.emitError(plan.empty() ? "lithe-prune-heads: fraction= wants a value in (0, 1) and calibration=FILE"
                                    : "lithe-prune-heads: give heads= or fraction=, not both");
      return signalPassFailure();
    }
    if (!fn || (plan.empty() && !byImportance)) {
      module.emitError("lithe-prune-heads: give heads=LAYER:h,h;LAYER:h, or fraction=F with calibration=FILE");
      return signalPassFailure();
    }
    store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-prune-heads: " << error;
      return signalPassFailure();
    }
    std::vector<AttentionOp> layers = attentionLayers(fn);
    if (byImportance && failed(choose(module, layers, plan))) return signalPassFailure();
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

  /// Fills `plan` with the round(fraction * heads) heads whose masking
  /// raises the calibration loss least, at least one head left per layer.
  LogicalResult choose(ModuleOp module, std::vector<AttentionOp> &layers,
                       std::map<int64_t, std::set<int64_t>> &plan) {
    CalibrationData data;
    std::unique_ptr<Evaluator> eval;
    if (!loadCalibration(module, LITHE_PASS_CALIBRATION_OPTIONS(), data, error) ||
        !(eval = Evaluator::create(module, store, error))) {
      module.emitError() << "lithe-prune-heads: calibration: " << error;
      return failure();
    }
    double base = 0;
    if (!eval->meanNll(data, nullptr, base, error)) {
      module.emitError() << "lithe-prune-heads: calibration: " << error;
      return failure();
    }
    struct Head {
      double importance;
      int64_t layer, head;
    };
    std::vector<Head> all;
    for (int64_t l = 0; l < static_cast<int64_t>(layers.size()); ++l) {
      Operation *at = layers[l];
      int64_t H = layers[l].getNumHeads(), d = layers[l].getHeadDim();
      for (int64_t h = 0; h < H; ++h) {
        Observer mask = [&](Operation *op, float *x, int64_t rows, int64_t cols) {
          if (op != at) return;
          for (int64_t r = 0; r < rows; ++r) std::fill(x + r * cols + h * d, x + r * cols + (h + 1) * d, 0.0f);
        };
        double loss = 0;
        if (!eval->meanNll(data, mask, loss, error)) {
          module.emitError() << "lithe-prune-heads: calibration: " << error;
          return failure();
        }
        all.push_back({loss - base, l, h});
      }
    }
    int64_t target = static_cast<int64_t>(std::llround(fraction * static_cast<double>(all.size())));
    std::stable_sort(all.begin(), all.end(), [](const Head &a, const Head &b) { return a.importance < b.importance; });
    int64_t chosen = 0;
    for (const Head &h : all) {
      if (chosen == target) break;
      if (static_cast<int64_t>(plan[h.layer].size()) + 1 >= layers[h.layer].getNumHeads()) continue;
      plan[h.layer].insert(h.head);
      ++chosen;
    }
    for (auto it = plan.begin(); it != plan.end();)
      it = it->second.empty() ? plan.erase(it) : std::next(it);
    std::string list;
    for (auto &[l, hs] : plan) list += (list.empty() ? "" : "/") + std::to_string(l) + ":" + formatIndexList(hs);
    llvm::errs() << "lithe-prune-heads: removing " << chosen << " of " << all.size()
                 << " heads, least loss increase when masked on " << data.tokens()
                 << " calibration tokens (base loss " << llvm::format("%.4f", base) << "): heads=" << list << "\n";
    if (plan.empty()) {
      module.emitError("lithe-prune-heads: fraction is too small to remove any head");
      return failure();
    }
    return success();
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
