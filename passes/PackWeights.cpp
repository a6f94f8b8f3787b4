//===- PackWeights.cpp - lithe-pack-weights -------------------------------===//
//
// The pass around lib/Lowering/PackWeights.cpp (shared with the calibration
// Evaluator): linear weights to the target kernels' packed layout.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEPACKWEIGHTS
#include "passes/Passes.h.inc"

namespace {
struct PackWeightsPass : impl::LithePackWeightsBase<PackWeightsPass> {
  using LithePackWeightsBase::LithePackWeightsBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    if (target != "cpu" && target != "cuda") {
      module.emitError() << "lithe-pack-weights: unknown target '" << target << "' (known: cpu, cuda)";
      return signalPassFailure();
    }
    if (target == "cuda") {
      CudaPrecision cp = CudaPrecision::F16;
      if (precision == "fp32") cp = CudaPrecision::F32;
      else if (precision == "bf16") cp = CudaPrecision::BF16;
      else if (!precision.empty() && precision != "fp16") {
        module.emitError() << "lithe-pack-weights{target=cuda}: unknown precision '" << precision
                           << "' (known: fp16, bf16, fp32; int8 weights stay int8)";
        return signalPassFailure();
      }
      bool any = false;
      module.walk([&](mlir::Operation *op) {
        any |= mlir::isa<k::LinearOp, k::LMHeadOp, k::EmbedPositionsOp>(op);
      });
      if (!any) return;
      std::string error;
      std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
      if (!store) {
        module.emitError() << "lithe-pack-weights: " << error;
        return signalPassFailure();
      }
      if (mlir::failed(packWeightsCuda(module, *store, cp))) signalPassFailure();
      return;
    }
    WeightPrecision prec;
    if (!parseWeightPrecision(precision.empty() ? "fp32" : precision.getValue(), prec)) {
      module.emitError() << "lithe-pack-weights: unknown precision '" << precision << "' (known: " << kWeightPrecisionNames << ")";
      return signalPassFailure();
    }
    // Nothing to pack: no weights store needed.
    bool any = false;
    module.walk([&](k::LinearOp lin) { any |= !lin.isPacked(); });
    if (prec == WeightPrecision::BF16)
      module.walk([&](k::LMHeadOp head) {
        any |= mlir::cast<k::BufferType>(head.getTable().getType()).getElementType().isF32();
      });
    if (!any) return;
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-pack-weights: " << error;
      return signalPassFailure();
    }
    if (mlir::failed(packWeights(module, *store, prec))) signalPassFailure();
  }
};
} // namespace
} // namespace lithe
