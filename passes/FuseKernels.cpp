//===- FuseKernels.cpp - lithe-fuse-kernels -------------------------------===//
//
// The linear kernels' epilogues as rewrite patterns on the kernel level:
//
//   linear -> %t ; gelu %t -> %u          ==>  linear epilogue gelu -> %t  (%u := %t)
//   linear -> %t ; add %t, %res -> %u     ==>  linear epilogue accumulate -> %res  (%u := %res)
//
// Buffers are values, so "who reads this buffer, and when" is its use list
// and block order: the conditions below are exactly what makes each rewrite
// exact.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEFUSEKERNELS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

/// The linear that alone writes `buffer`, a fresh arena slot that only
/// `reader` reads after it; null otherwise.
k::LinearOp soleLinearWriter(Value buffer, Operation *reader) {
  if (!buffer.getDefiningOp<k::ArenaOp>()) return {};
  k::LinearOp writer;
  for (Operation *u : buffer.getUsers()) {
    if (u == reader) continue;
    auto lin = dyn_cast<k::LinearOp>(u);
    if (!lin || lin.getOut() != buffer || writer) return {};
    writer = lin;
  }
  if (!writer || writer.getEpilogue() != k::Epilogue::none || !writer->isBeforeInBlock(reader) ||
      writer.getInput() == buffer)
    return {};
  return writer;
}

/// Replaces `from` (an arena slot `op` wrote) by `to` after `op` is gone.
void replaceSlot(PatternRewriter &rewriter, Operation *op, Value from, Value to) {
  rewriter.eraseOp(op);
  rewriter.replaceAllUsesWith(from, to);
  if (auto slot = from.getDefiningOp<k::ArenaOp>(); slot && slot->use_empty()) rewriter.eraseOp(slot);
}

struct GeluIntoLinear : OpRewritePattern<k::GeluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(k::GeluOp gelu, PatternRewriter &rewriter) const override {
    k::LinearOp lin = soleLinearWriter(gelu.getInput(), gelu);
    // The GELU's own buffer must be a slot nothing read or wrote before it.
    if (!lin || !gelu.getOut().getDefiningOp<k::ArenaOp>()) return failure();
    for (Operation *u : gelu.getOut().getUsers())
      if (u != gelu && u->isBeforeInBlock(gelu)) return failure();
    rewriter.modifyOpInPlace(lin, [&] {
      lin.setEpilogue(gelu.getTanh() ? k::Epilogue::gelu_tanh : k::Epilogue::gelu_erf);
    });
    replaceSlot(rewriter, gelu, gelu.getOut(), gelu.getInput());
    return success();
  }
};

struct AddIntoLinear : OpRewritePattern<k::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(k::AddOp add, PatternRewriter &rewriter) const override {
    Value out = add.getOut();
    // The sum must go to a fresh slot (not the caller's hidden buffer).
    if (!out.getDefiningOp<k::ArenaOp>()) return failure();
    for (Operation *u : out.getUsers())
      if (u != add && u->isBeforeInBlock(add)) return failure();
    for (int side = 0; side < 2; ++side) {
      Value partial = add->getOperand(side), residual = add->getOperand(1 - side);
      if (partial == residual) continue;
      k::LinearOp lin = soleLinearWriter(partial, add);
      // The residual: an arena slot whose last reader is this add, and that
      // nothing touches between the linear and the add.
      if (!lin || !residual.getDefiningOp<k::ArenaOp>()) continue;
      bool clean = true;
      for (Operation *u : residual.getUsers())
        if (u != add && !u->isBeforeInBlock(lin)) clean = false;
      if (!clean) continue;
      rewriter.modifyOpInPlace(lin, [&] {
        lin.setEpilogue(k::Epilogue::accumulate);
        lin.getOutMutable().assign(residual);
      });
      replaceSlot(rewriter, add, out, residual);
      if (auto slot = partial.getDefiningOp<k::ArenaOp>(); slot && slot->use_empty()) rewriter.eraseOp(slot);
      return success();
    }
    return failure();
  }
};

struct FuseKernelsPass : impl::LitheFuseKernelsBase<FuseKernelsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GeluIntoLinear, AddIntoLinear>(&getContext());
    GreedyRewriteConfig config;
    config.useTopDownTraversal = true;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
} // namespace lithe
