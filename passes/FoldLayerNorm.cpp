//===- FoldLayerNorm.cpp - lithe-fold-layernorm ---------------------------===//
//
// Exact: LN(x) * g + b followed by x W + c becomes normalize(x) followed by
// x (diag(g) W) + (b W + c). Weights are rewritten in the weights store
// under fresh names; the IR points at them.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEFOLDLAYERNORM
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

struct FoldLayerNormPass : impl::LitheFoldLayerNormBase<FoldLayerNormPass> {
  using LitheFoldLayerNormBase::LitheFoldLayerNormBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-fold-layernorm: " << error;
      return signalPassFailure();
    }
    std::vector<LayerNormOp> norms;
    std::vector<CenterOp> centers;
    module.walk([&](Operation *op) {
      if (auto ln = dyn_cast<LayerNormOp>(op); ln && (ln.getScale() || ln.getBias())) norms.push_back(ln);
      if (auto c = dyn_cast<CenterOp>(op); c && (c.getScale() || c.getBias())) centers.push_back(c);
    });
    for (LayerNormOp ln : norms)
      if (failed(fold(ln, *store))) return signalPassFailure();
    for (CenterOp c : centers)
      if (failed(fold(c, *store))) return signalPassFailure();
  }

  /// The f32 values of a weight operand, or null (with an error on `op`).
  const float *values(Operation *op, Value v, int64_t n, const WeightStore &store) {
    auto w = v.getDefiningOp<WeightOp>();
    if (!w) {
      op->emitError("lithe-fold-layernorm: operand is not a lithe.weight");
      return nullptr;
    }
    std::string error;
    const float *p = store.getF32(w.getName().str(), n, error);
    if (!p) op->emitError() << "lithe-fold-layernorm: " << error;
    return p;
  }

  /// The same op without its affine part.
  Value plain(OpBuilder &b, LayerNormOp ln) {
    return b.create<LayerNormOp>(ln.getLoc(), ln.getType(), ln.getInput(), Value(), Value(),
                                 ln.getEpsilonAttr());
  }
  Value plain(OpBuilder &b, CenterOp c) {
    return b.create<CenterOp>(c.getLoc(), c.getType(), c.getInput(), Value(), Value());
  }

  /// LayerNorm or the centering of LN-free models: both end in `* g + b`.
  template <typename NormOp>
  LogicalResult fold(NormOp ln, WeightStore &store) {
    // Only when every user is a linear layer (or the head) reading the
    // normalized value as its input, with f32 weights.
    for (OpOperand &use : ln.getResult().getUses()) {
      Operation *user = use.getOwner();
      if (auto lin = dyn_cast<LinearOp>(user)) {
        if (use.getOperandNumber() != 0 || lin.getWeightScale()) return success();
        if (!cast<RankedTensorType>(lin.getWeight().getType()).getElementType().isF32()) return success();
      } else if (auto head = dyn_cast<LMHeadOp>(user)) {
        if (!intoHead || use.getOperandNumber() != 0 || head.getTableScale()) return success();
      } else {
        return success(); // e.g. a residual read of the normalized value
      }
    }
    int64_t D = cast<RankedTensorType>(ln.getInput().getType()).getShape().back();
    std::vector<float> g(D, 1.0f), beta(D, 0.0f);
    if (ln.getScale()) {
      const float *p = values(ln, ln.getScale(), D, store);
      if (!p) return failure();
      g.assign(p, p + D);
    }
    if (ln.getBias()) {
      const float *p = values(ln, ln.getBias(), D, store);
      if (!p) return failure();
      beta.assign(p, p + D);
    }
    OpBuilder b(ln);
    auto newWeight = [&](Operation *at, const std::string &name, std::vector<int64_t> shape) {
      OpBuilder wb(at);
      auto type = RankedTensorType::get(shape, wb.getF32Type());
      return wb.create<WeightOp>(at->getLoc(), type, name).getResult();
    };
    for (Operation *user : llvm::make_early_inc_range(ln.getResult().getUsers())) {
      if (auto lin = dyn_cast<LinearOp>(user)) {
        auto wt = cast<RankedTensorType>(lin.getWeight().getType());
        int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
        const float *W = values(lin, lin.getWeight(), K * N, store);
        if (!W) return failure();
        std::vector<float> w2(K * N), c2(N, 0.0f);
        if (lin.getBias()) {
          const float *c = values(lin, lin.getBias(), N, store);
          if (!c) return failure();
          c2.assign(c, c + N);
        }
        for (int64_t k = 0; k < K; ++k)
          for (int64_t n = 0; n < N; ++n) {
            w2[k * N + n] = g[k] * W[k * N + n];
            c2[n] += beta[k] * W[k * N + n];
          }
        std::string wname = lin.getWeight().getDefiningOp<WeightOp>().getName().str();
        std::string nw = store.putF32(wname + ".lnfold", {K, N}, w2);
        std::string nb = store.putF32(wname + ".lnfold.bias", {N}, c2);
        lin.getWeightMutable().assign(newWeight(lin, nw, {K, N}));
        lin.getBiasMutable().assign(newWeight(lin, nb, {N}));
      } else if (auto head = dyn_cast<LMHeadOp>(user)) {
        auto tt = cast<RankedTensorType>(head.getTable().getType());
        int64_t V = tt.getDimSize(0);
        const float *T = values(head, head.getTable(), V * D, store);
        if (!T) return failure();
        std::vector<float> t2(V * D), c2(V, 0.0f);
        if (head.getBias()) {
          const float *c = values(head, head.getBias(), V, store);
          if (!c) return failure();
          c2.assign(c, c + V);
        }
        for (int64_t v = 0; v < V; ++v)
          for (int64_t d = 0; d < D; ++d) {
            t2[v * D + d] = T[v * D + d] * g[d];
            c2[v] += T[v * D + d] * beta[d];
          }
        // A tied table stays with the embedding; the head gets its own copy.
        std::string tname = head.getTable().getDefiningOp<WeightOp>().getName().str();
        std::string nt = store.putF32(tname + ".lnfold", {V, D}, t2);
        std::string nb = store.putF32(tname + ".lnfold.bias", {V}, c2);
        head.getTableMutable().assign(newWeight(head, nt, {V, D}));
        head.getBiasMutable().assign(newWeight(head, nb, {V}));
      }
    }
    // The norm keeps only the normalization (or centering).
    ln.getResult().replaceAllUsesWith(plain(b, ln));
    ln.erase();
    return success();
  }
};

} // namespace
} // namespace lithe
