//===- CheckWeights.cpp - lithe-check-weights -----------------------------===//
//
// Every lithe.weight must name a tensor of the weights file with the same
// element type and shape; otherwise the op gets an error that says which.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"
#include "lithe/Weights.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

namespace lithe {
#define GEN_PASS_DEF_LITHECHECKWEIGHTS
#include "passes/Passes.h.inc"

namespace {

/// The weights-file dtype for an MLIR element type, if there is one.
bool toDType(mlir::Type t, DType &out) {
  if (t.isF32()) out = DType::F32;
  else if (t.isF16()) out = DType::F16;
  else if (t.isBF16()) out = DType::BF16;
  else if (t.isInteger(8) || t.isInteger(4)) out = DType::I8; // i4: one value per byte
  else if (t.isInteger(32)) out = DType::I32;
  else if (t.isInteger(64)) out = DType::I64;
  else if (t.isInteger(1)) out = DType::I1;
  else return false;
  return true;
}

std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

struct CheckWeightsPass : impl::LitheCheckWeightsBase<CheckWeightsPass> {
  using LitheCheckWeightsBase::LitheCheckWeightsBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::string path = file;
    if (path.empty()) {
      auto attr = module->getAttrOfType<mlir::StringAttr>(
          LitheDialect::kWeightsAttrName);
      if (!attr) {
        module.emitError() << "no weights file: the module has no '"
                           << LitheDialect::kWeightsAttrName
                           << "' attribute and no file= option was given";
        return signalPassFailure();
      }
      path = attr.getValue().str();
    }
    if (!dir.empty() && !llvm::sys::path::is_absolute(path)) {
      llvm::SmallString<256> joined(dir.getValue());
      llvm::sys::path::append(joined, path);
      path = std::string(joined);
    }
    std::string error;
    std::unique_ptr<WeightsFile> weights = WeightsFile::open(path, error);
    if (!weights) {
      module.emitError() << error;
      return signalPassFailure();
    }
    if (verifyChecksum && !weights->verifyChecksum(error)) {
      module.emitError() << error;
      return signalPassFailure();
    }

    bool ok = true;
    module.walk([&](WeightOp op) {
      const TensorEntry *entry = weights->find(op.getName());
      if (!entry) {
        op.emitError() << "weight '" << op.getName() << "' is not in " << path;
        ok = false;
        return;
      }
      auto type = mlir::cast<mlir::RankedTensorType>(op.getType());
      DType dtype;
      if (!toDType(type.getElementType(), dtype) || dtype != entry->dtype) {
        op.emitError() << "weight '" << op.getName() << "' is "
                       << dtypeName(entry->dtype) << " in " << path
                       << " but the IR says " << type.getElementType();
        ok = false;
        return;
      }
      if (llvm::ArrayRef<int64_t>(entry->shape) != type.getShape()) {
        op.emitError() << "weight '" << op.getName() << "' has shape "
                       << shapeStr(entry->shape) << " in " << path
                       << " but the IR says " << shapeStr(type.getShape());
        ok = false;
      }
    });
    if (!ok)
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};
} // namespace
} // namespace lithe
