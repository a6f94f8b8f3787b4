//===- RemoveLayerNorm.cpp - lithe-remove-layernorm -----------------------===//
//
// A LayerNorm whose epsilon dwarfs any variance is a centering and a scale:
// (x - mean) / sqrt(var + eps) * g + b == (x - mean) * (g / sqrt(eps)) + b
// whenever var + eps rounds to eps in f32. Such "disabled" LayerNorms (the
// published LN-free GPT-2 style) become lithe.center.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

#include <cmath>

namespace lithe {
#define GEN_PASS_DEF_LITHEREMOVELAYERNORM
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

struct RemoveLayerNormPass : impl::LitheRemoveLayerNormBase<RemoveLayerNormPass> {
  using LitheRemoveLayerNormBase::LitheRemoveLayerNormBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<LayerNormOp> disabled;
    module.walk([&](LayerNormOp ln) {
      if (ln.getEpsilon().convertToDouble() >= minEpsilon) disabled.push_back(ln);
    });
    if (disabled.empty()) return markAllAnalysesPreserved();
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-remove-layernorm: " << error;
      return signalPassFailure();
    }
    for (LayerNormOp ln : disabled) {
      int64_t D = cast<RankedTensorType>(ln.getInput().getType()).getShape().back();
      // f32 arithmetic, as the kernels would do it: 1 / sqrt(eps).
      float eps = static_cast<float>(ln.getEpsilon().convertToDouble());
      float r = 1.0f / std::sqrt(eps);
      std::vector<float> g(D, r);
      std::string name = "layer_norm.removed.scale";
      if (Value scale = ln.getScale()) {
        auto w = scale.getDefiningOp<WeightOp>();
        const float *p = w ? store->getF32(w.getName().str(), D, error) : nullptr;
        if (!p) {
          ln.emitError() << "lithe-remove-layernorm: " << (w ? error : "scale is not a lithe.weight");
          return signalPassFailure();
        }
        for (int64_t d = 0; d < D; ++d) g[d] = p[d] * r;
        name = w.getName().str() + ".noln";
      }
      std::string put = store->putF32(name, {D}, g);
      OpBuilder b(ln);
      Value scale = b.create<WeightOp>(ln.getLoc(), RankedTensorType::get({D}, b.getF32Type()), put);
      Value center = b.create<CenterOp>(ln.getLoc(), ln.getType(), ln.getInput(), scale, ln.getBias());
      ln.getResult().replaceAllUsesWith(center);
      ln.erase();
    }
  }
};

} // namespace
} // namespace lithe
