//===- RemoveLayerNorm.cpp - lithe-remove-layernorm -----------------------===//
//
// A LayerNorm whose epsilon dwarfs any variance is a centering and a scale:
// (x - mean) / sqrt(var + eps) * g + b == (x - mean) * (g / sqrt(eps)) + b
// whenever var + eps rounds to eps in f32. Such "disabled" LayerNorms (the
// published LN-free GPT-2 style) become lithe.center.
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"
#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "lithe/WeightStore.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <cmath>

namespace lithe {
#define GEN_PASS_DEF_LITHEREMOVELAYERNORM
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

struct RemoveLayerNormPass : impl::LitheRemoveLayerNormBase<RemoveLayerNormPass> {
  using LitheRemoveLayerNormBase::LitheRemoveLayerNormBase;

  std::shared_ptr<WeightStore> store;
  std::string error;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<LayerNormOp> disabled, ordinary;
    module.walk([&](LayerNormOp ln) {
      (ln.getEpsilon().convertToDouble() >= minEpsilon ? disabled : ordinary).push_back(ln);
    });
    bool calibrate = !calibration.empty();
    if (statistic != "median" && statistic != "mean" && statistic != "lsq") {
      module.emitError() << "lithe-remove-layernorm: statistic must be lsq, median or mean (got '" << statistic << "')";
      return signalPassFailure();
    }
    if (disabled.empty() && (!calibrate || ordinary.empty())) return markAllAnalysesPreserved();
    store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-remove-layernorm: " << error;
      return signalPassFailure();
    }
    for (LayerNormOp ln : disabled) {
      // f32 arithmetic, as the kernels would do it: 1 / sqrt(eps).
      float eps = static_cast<float>(ln.getEpsilon().convertToDouble());
      if (failed(replace(ln, 1.0f / std::sqrt(eps)))) return signalPassFailure();
    }
    if (!calibrate || ordinary.empty()) return;

    CalibrationData data;
    if (!loadCalibration(module, LITHE_PASS_CALIBRATION_OPTIONS(), data, error)) {
      module.emitError() << "lithe-remove-layernorm: calibration: " << error;
      return signalPassFailure();
    }
    for (LayerNormOp ln : ordinary) {
      // The deviation of each calibration token at this LayerNorm's input,
      // on the model as simplified so far.
      std::unique_ptr<Evaluator> eval = Evaluator::create(module, store, error);
      Operation *producer = ln.getInput().getDefiningOp();
      if (!eval || !producer) {
        ln.emitError() << "lithe-remove-layernorm: calibration: "
                       << (eval ? "the LayerNorm's input is not computed by an op" : error);
        return signalPassFailure();
      }
      double eps = ln.getEpsilon().convertToDouble();
      std::vector<double> sigma;
      Observer observe = [&](Operation *op, float *x, int64_t rows, int64_t cols) {
        if (op != producer) return;
        for (int64_t r = 0; r < rows; ++r) {
          const float *row = x + r * cols;
          double mean = 0, var = 0;
          for (int64_t c = 0; c < cols; ++c) mean += row[c];
          mean /= static_cast<double>(cols);
          for (int64_t c = 0; c < cols; ++c) var += (row[c] - mean) * (row[c] - mean);
          sigma.push_back(std::sqrt(var / static_cast<double>(cols) + eps));
        }
      };
      for (const auto &w : data.windows)
        if (!eval->run(w, observe, nullptr, nullptr, error, producer)) {
          ln.emitError() << "lithe-remove-layernorm: calibration: " << error;
          return signalPassFailure();
        }
      double s = 0, s2 = 0;
      for (double v : sigma) s += v, s2 += v * v;
      if (statistic == "mean") {
        s /= static_cast<double>(sigma.size());
      } else if (statistic == "lsq") {
        s = s2 / s;
      } else {
        std::nth_element(sigma.begin(), sigma.begin() + sigma.size() / 2, sigma.end());
        s = sigma[sigma.size() / 2];
      }
      if (!(s > 0) || !std::isfinite(s)) {
        ln.emitError() << "lithe-remove-layernorm: calibration measured a deviation of " << s;
        return signalPassFailure();
      }
      if (failed(replace(ln, static_cast<float>(1.0 / s)))) return signalPassFailure();
    }
  }

  /// Replaces `ln` by lithe.center with scale `g * r` and the same bias.
  LogicalResult replace(LayerNormOp ln, float r) {
    int64_t D = cast<RankedTensorType>(ln.getInput().getType()).getShape().back();
    std::vector<float> g(D, r);
    std::string name = "layer_norm.removed.scale";
    if (Value scale = ln.getScale()) {
      auto w = scale.getDefiningOp<WeightOp>();
      const float *p = w ? store->getF32(w.getName().str(), D, error) : nullptr;
      if (!p) {
        ln.emitError() << "lithe-remove-layernorm: " << (w ? error : "scale is not a lithe.weight");
        return failure();
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
    return success();
  }
};

} // namespace
} // namespace lithe
