//===- QuantizeWeights.cpp - lithe-quantize-weights -----------------------===//
//
// int8 weight-only, symmetric, per output channel: linear W[K, N] gets one
// scale per column n, the LM head's table T[V, D] one per row v.
// int4 (bits=4): linear W[K, N] gets one scale per (group of `group` rows
// k, column n), values in [-8, 7]; the LM head stays int8.
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

/// Round to nearest int4 of W [K, N] in groups of G rows: scale[g][n] =
/// max |W| / 7 over the group (1 for an all-zero one), q in [-8, 7].
void quantizeQ4(const float *W, int64_t K, int64_t N, int64_t G, std::vector<uint8_t> &q,
                std::vector<float> &scale) {
  q.assign(K * N, 0);
  scale.assign(K / G * N, 1.0f);
  for (int64_t g = 0; g < K / G; ++g)
    for (int64_t n = 0; n < N; ++n) {
      float m = 0;
      for (int64_t k = g * G; k < (g + 1) * G; ++k) m = std::max(m, std::fabs(W[k * N + n]));
      float s = m > 0 ? m / 7.0f : 1.0f;
      scale[g * N + n] = s;
      for (int64_t k = g * G; k < (g + 1) * G; ++k) {
        long v = std::lround(W[k * N + n] / s);
        q[k * N + n] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp<long>(v, -8, 7)));
      }
    }
}

struct QuantizeWeightsPass : impl::LitheQuantizeWeightsBase<QuantizeWeightsPass> {
  using LitheQuantizeWeightsBase::LitheQuantizeWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (bits != 8 && bits != 4) {
      module.emitError() << "lithe-quantize-weights: bits must be 8 or 4, got " << static_cast<int64_t>(bits);
      return signalPassFailure();
    }
    if (bits == 4 && (group <= 0 || group % 4 != 0)) {
      module.emitError() << "lithe-quantize-weights: group must be a positive multiple of 4, got " << static_cast<int64_t>(group);
      return signalPassFailure();
    }
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
  /// New int8 (or int4, stored one value per byte) and scale weight ops
  /// before `at`; the scales' shape is `scaleShape` (default: a vector).
  std::pair<Value, Value> put(Operation *at, WeightStore &store, const std::string &base,
                              std::vector<int64_t> shape, std::vector<uint8_t> q,
                              const std::vector<float> &scale, int64_t qbits = 8,
                              std::vector<int64_t> scaleShape = {}) {
    if (scaleShape.empty()) scaleShape = {static_cast<int64_t>(scale.size())};
    std::string tag = qbits == 4 ? ".q4" : ".q8";
    std::string qn = store.put(base + tag, DType::I8, shape, std::move(q));
    std::string sn = store.putF32(base + tag + "scale", scaleShape, scale);
    OpBuilder b(at);
    Value qv = b.create<WeightOp>(at->getLoc(), RankedTensorType::get(shape, b.getIntegerType(qbits)), qn);
    Value sv = b.create<WeightOp>(at->getLoc(), RankedTensorType::get(scaleShape, b.getF32Type()), sn);
    return {qv, sv};
  }

  LogicalResult quantizeLinear(LinearOp lin, WeightStore &store) {
    auto wt = cast<RankedTensorType>(lin.getWeight().getType());
    if (!wt.getElementType().isF32()) return success();
    int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
    const float *W = values(lin, lin.getWeight(), K * N, store);
    if (!W) return failure();
    std::string name = lin.getWeight().getDefiningOp<WeightOp>().getName().str();
    std::vector<uint8_t> q(K * N);
    std::vector<float> scale;
    if (bits == 4) {
      if (K % group != 0)
        return lin.emitError() << "lithe-quantize-weights: group " << static_cast<int64_t>(group) << " does not divide the " << K
                               << " inputs of linear weight '" << name << "'";
      quantizeQ4(W, K, N, group, q, scale);
      auto [qv, sv] = put(lin, store, name, {K, N}, std::move(q), scale, 4, {K / group, N});
      lin.getWeightMutable().assign(qv);
      lin.getWeightScaleMutable().assign(sv);
      return success();
    }
    quantize(W, N, K, /*groupStride=*/1, /*elemStride=*/N, q, scale); // per column
    auto [qv, sv] = put(lin, store, name, {K, N}, std::move(q), scale);
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
    auto [qv, sv] = put(head, store, head.getTable().getDefiningOp<WeightOp>().getName().str(), {V, D},
                        std::move(q), scale);
    head.getTableMutable().assign(qv);
    head.getTableScaleMutable().assign(sv);
    return success();
  }
};

} // namespace
} // namespace lithe
