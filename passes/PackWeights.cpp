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
    const bool cuda = target == "cuda";
    CudaPrecision cudaPrec = CudaPrecision::F16;
    WeightPrecision prec = WeightPrecision::F32;
    if (cuda) {
      if (precision == "fp32") cudaPrec = CudaPrecision::F32;
      else if (precision == "bf16") cudaPrec = CudaPrecision::BF16;
      else if (!precision.empty() && precision != "fp16") {
        module.emitError() << "lithe-pack-weights{target=cuda}: unknown precision '" << precision
                           << "' (known: fp16, bf16, fp32; int8 weights stay int8)";
        return signalPassFailure();
      }
    } else if (!parseWeightPrecision(precision.empty() ? "fp32" : precision.getValue(), prec)) {
      module.emitError() << "lithe-pack-weights: unknown precision '" << precision << "' (known: " << kWeightPrecisionNames << ")";
      return signalPassFailure();
    }
    // Nothing to pack: no weights store needed.
    bool any = false;
    module.walk([&](mlir::Operation *op) {
      if (auto lin = mlir::dyn_cast<k::LinearOp>(op)) any |= !lin.isPacked();
      else if (auto head = mlir::dyn_cast<k::LMHeadOp>(op))
        any |= cuda || (prec == WeightPrecision::BF16 &&
                        mlir::cast<k::BufferType>(head.getTable().getType()).getElementType().isF32());
      else any |= cuda && mlir::isa<k::EmbedPositionsOp, k::LinearSplitOp>(op);
    });
    if (!any) return;
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-pack-weights: " << error;
      return signalPassFailure();
    }
    if (cuda) {
      if (mlir::failed(packWeightsCuda(module, *store, cudaPrec))) signalPassFailure();
      return;
    }
    if (mlir::failed(packWeights(module, *store, prec))) signalPassFailure();
  }
};
} // namespace
} // namespace lithe
