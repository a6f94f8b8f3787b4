//===- QuantizeWeights.cpp - lithe-quantize-weights -----------------------===//
//
// int8 weight-only, symmetric, per output channel: linear W[K, N] gets one
// scale per column n, the LM head's table T[V, D] one per row v; a token
// embedding tied to the head reads the head's int8 table.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <cmath>

namespace lithe {
#define GEN_PASS_DEF_LITHEQUANTIZEWEIGHTS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

/// Quantizes `n` groups of `len` values; element i of group g is at
/// data[g * groupStride + i * elemStride].
void quantize(const float *data, int64_t groups, int64_t len, int64_t groupStride,
              int64_t elemStride, std::vector<uint8_t> &q, std::vector<float> &scale) {
  scale.assign(groups, 1.0f);
  for (int64_t g = 0; g < groups; ++g) {
    float m = 0;
    for (int64_t i = 0; i < len; ++i) m = std::max(m, std::fabs(data[g * groupStride + i * elemStride]));
    float s = m > 0 ? m / 127.0f : 1.0f;
    scale[g] = s;
    for (int64_t i = 0; i < len; ++i) {
      int64_t at = g * groupStride + i * elemStride;
      long v = std::lround(data[at] / s);
      q[at] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp<long>(v, -127, 127)));
    }
  }
}

struct QuantizeWeightsPass : impl::LitheQuantizeWeightsBase<QuantizeWeightsPass> {
  using LitheQuantizeWeightsBase::LitheQuantizeWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-quantize-weights: " << error;
      return signalPassFailure();
    }
    bool ok = true;
    module.walk([&](Operation *op) {
      if (!ok) return;
      if (auto lin = dyn_cast<LinearOp>(op)) {
        if (!lin.getWeightScale()) ok = succeeded(quantizeLinear(lin, *store));
      } else if (auto head = dyn_cast<LMHeadOp>(op)) {
        if (lmHead && !head.getTableScale()) ok = succeeded(quantizeHead(head, *store));
      }
    });
    if (!ok) signalPassFailure();
  }

  const float *values(Operation *op, Value v, int64_t n, const WeightStore &store) {
    auto w = v.getDefiningOp<WeightOp>();
    std::string error = "operand is not a lithe.weight";
    const float *p = w ? store.getF32(w.getName().str(), n, error) : nullptr;
    if (!p) op->emitError() << "lithe-quantize-weights: " << error;
    return p;
  }

  /// New int8 and scale weight ops before `at`.
  std::pair<Value, Value> put(Operation *at, WeightStore &store, const std::string &base,
                              std::vector<int64_t> shape, std::vector<uint8_t> q,
                              const std::vector<float> &scale) {
    std::string qn = store.put(base + ".q8", DType::I8, shape, std::move(q));
    std::string sn = store.putF32(base + ".q8scale", {static_cast<int64_t>(scale.size())}, scale);
    OpBuilder b(at);
    Value qv = b.create<WeightOp>(at->getLoc(), RankedTensorType::get(shape, b.getI8Type()), qn);
    Value sv = b.create<WeightOp>(at->getLoc(),
                                  RankedTensorType::get({static_cast<int64_t>(scale.size())}, b.getF32Type()), sn);
    return {qv, sv};
  }

  LogicalResult quantizeLinear(LinearOp lin, WeightStore &store) {
    auto wt = cast<RankedTensorType>(lin.getWeight().getType());
    if (!wt.getElementType().isF32()) return success();
    int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
    const float *W = values(lin, lin.getWeight(), K * N, store);
    if (!W) return failure();
    std::vector<uint8_t> q(K * N);
    std::vector<float> scale;
    quantize(W, N, K, /*groupStride=*/1, /*elemStride=*/N, q, scale); // per column
    auto [qv, sv] = put(lin, store, lin.getWeight().getDefiningOp<WeightOp>().getName().str(), {K, N},
                        std::move(q), scale);
    lin.getWeightMutable().assign(qv);
    lin.getWeightScaleMutable().assign(sv);
    return success();
  }

  LogicalResult quantizeHead(LMHeadOp head, WeightStore &store) {
    auto tt = cast<RankedTensorType>(head.getTable().getType());
    if (!tt.getElementType().isF32()) return success();
    int64_t V = tt.getDimSize(0), D = tt.getDimSize(1);
    const float *T = values(head, head.getTable(), V * D, store);
    if (!T) return failure();
    std::vector<uint8_t> q(V * D);
    std::vector<float> scale;
    quantize(T, V, D, /*groupStride=*/D, /*elemStride=*/1, q, scale); // per row
    std::string f32Name = head.getTable().getDefiningOp<WeightOp>().getName().str();
    auto [qv, sv] = put(head, store, f32Name, {V, D}, std::move(q), scale);
    head.getTableMutable().assign(qv);
    head.getTableScaleMutable().assign(sv);
    if (embedding) tieEmbeddings(head, f32Name, qv, sv);
    return success();
  }

  /// Token embeddings reading the head's f32 table (a tied GPT-2 head) read
  /// its int8 copy instead, so the f32 table is no longer needed.
  void tieEmbeddings(LMHeadOp head, StringRef f32Name, Value qv, Value sv) {
    auto table = qv.getDefiningOp<WeightOp>(), scale = sv.getDefiningOp<WeightOp>();
    head->getParentOp()->walk([&](EmbeddingOp e) {
      auto w = e.getTable().getDefiningOp<WeightOp>();
      if (!w || e.getTableScale() || e.getIds().getDefiningOp<PositionIdsOp>() || w.getName() != f32Name)
        return;
      OpBuilder b(e);
      Value t = b.create<WeightOp>(e.getLoc(), table.getType(), table.getName());
      Value s = b.create<WeightOp>(e.getLoc(), scale.getType(), scale.getName());
      e.getTableMutable().assign(t);
      e.getTableScaleMutable().assign(s);
      if (w->use_empty()) w.erase();
    });
  }
};

} // namespace
} // namespace lithe
