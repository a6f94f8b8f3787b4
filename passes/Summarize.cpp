//===- Summarize.cpp - lithe-summarize ------------------------------------===//

#include "lithe/ModelSummary.h"
#include "lithe/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

namespace lithe {
#define GEN_PASS_DEF_LITHESUMMARIZE
#include "passes/Passes.h.inc"

namespace {
struct SummarizePass : impl::LitheSummarizeBase<SummarizePass> {
  using LitheSummarizeBase::LitheSummarizeBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    ModelSummary summary = summarizeModel(module);
    markAllAnalysesPreserved();
    if (!attach) {
      summary.print(llvm::errs());
      return;
    }
    mlir::Builder b(module.getContext());
    llvm::SmallVector<mlir::NamedAttribute> fields;
    llvm::SmallVector<int64_t> heads;
    for (const ModelSummary::Layer &l : summary.layers)
      heads.push_back(l.heads);
    fields.push_back(b.getNamedAttr("layers", b.getI64IntegerAttr(summary.layers.size())));
    fields.push_back(b.getNamedAttr("heads", b.getDenseI64ArrayAttr(heads)));
    fields.push_back(b.getNamedAttr("width", b.getI64IntegerAttr(summary.width)));
    fields.push_back(b.getNamedAttr("vocab", b.getI64IntegerAttr(summary.vocab)));
    fields.push_back(b.getNamedAttr("tied_head", b.getBoolAttr(summary.tiedHead)));
    fields.push_back(b.getNamedAttr("parameters", b.getI64IntegerAttr(summary.parameters)));
    fields.push_back(b.getNamedAttr("weight_bytes", b.getI64IntegerAttr(summary.weightBytes)));
    fields.push_back(b.getNamedAttr("kv_bytes_per_position",
                                    b.getI64IntegerAttr(summary.kvBytesPerPosition)));
    module->setAttr("lithe.summary", b.getDictionaryAttr(fields));
  }
};
} // namespace
} // namespace lithe
