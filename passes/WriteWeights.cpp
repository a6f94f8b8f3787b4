//===- WriteWeights.cpp - lithe-write-weights -----------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "llvm/Support/Path.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEWRITEWEIGHTS
#include "passes/Passes.h.inc"

namespace {
struct WriteWeightsPass : impl::LitheWriteWeightsBase<WriteWeightsPass> {
  using LitheWriteWeightsBase::LitheWriteWeightsBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    if (file.empty()) {
      module.emitError("lithe-write-weights: give file=PATH");
      return signalPassFailure();
    }
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store || !store->write(file, referencedWeights(module), error)) {
      module.emitError() << "lithe-write-weights: " << error;
      return signalPassFailure();
    }
    std::string r = ref.empty() ? llvm::sys::path::filename(file.getValue()).str() : ref.getValue();
    module->setAttr(LitheDialect::kWeightsAttrName, mlir::StringAttr::get(module.getContext(), r));
    markAllAnalysesPreserved();
  }
};
} // namespace
} // namespace lithe
