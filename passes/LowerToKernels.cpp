//===- LowerToKernels.cpp - lithe-lower-to-kernels ------------------------===//
//
// The pass around lib/Lowering/LowerToKernels.cpp (shared with the
// calibration Evaluator): the transformer-level @forward to kernel-level
// @forward and @head (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace lithe {
#define GEN_PASS_DEF_LITHELOWERTOKERNELS
#include "passes/Passes.h.inc"

namespace {
struct LowerToKernelsPass : impl::LitheLowerToKernelsBase<LowerToKernelsPass> {
  using LitheLowerToKernelsBase::LitheLowerToKernelsBase;
  void runOnOperation() override {
    LowerToKernelsOptions o;
    o.capacity = capacity;
    o.observe = observe;
    o.decodeBatch = decodeBatch;
    if (mlir::failed(lowerToKernels(getOperation(), o))) signalPassFailure();
  }
};
} // namespace
} // namespace lithe
