//===- WriteWeights.cpp - lithe-write-weights -----------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEWRITEWEIGHTS
#include "passes/Passes.h.inc"

namespace {
struct WriteWeightsPass : impl::LitheWriteWeightsBase<WriteWeightsPass> {
  using LitheWriteWeightsBase::LitheWriteWeightsBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::string error;
    std::string path = file, besideRef;
    if (path.empty() && !suffix.empty()) {
      // Beside the module's weights file: m.lwt -> m<suffix>.
      auto attr = module->getAttrOfType<mlir::StringAttr>(LitheDialect::kWeightsAttrName);
      if (!attr) {
        module.emitError("lithe-write-weights: the module names no weights file to write beside");
        return signalPassFailure();
      }
      llvm::SmallString<256> beside(attr.getValue());
      llvm::sys::path::replace_extension(beside, "");
      besideRef = std::string(beside) + suffix.getValue();
      llvm::SmallString<256> p(attr.getValue());
      if (!weightsDir.empty() && !llvm::sys::path::is_absolute(p)) {
        llvm::SmallString<256> dir(weightsDir.getValue());
        llvm::sys::path::append(dir, p);
        p = dir;
      }
      llvm::sys::path::replace_extension(p, "");
      path = std::string(p) + suffix.getValue();
    }
    if (path.empty()) {
      module.emitError("lithe-write-weights: give file=PATH");
      return signalPassFailure();
    }
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store || !store->write(path, referencedWeights(module), error)) {
      module.emitError() << "lithe-write-weights: " << error;
      return signalPassFailure();
    }
    // The new attribute: `ref`; beside the old file, the old reference with
    // the new suffix (it resolves the same way); else the file's name.
    std::string r = !ref.empty()        ? ref.getValue()
                    : !besideRef.empty() ? besideRef
                                         : llvm::sys::path::filename(path).str();
    module->setAttr(LitheDialect::kWeightsAttrName, mlir::StringAttr::get(module.getContext(), r));
    markAllAnalysesPreserved();
  }
};
} // namespace
} // namespace lithe
