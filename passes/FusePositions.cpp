//===- FusePositions.cpp - lithe-fuse-positions ---------------------------===//
//
// Token and position embeddings as one kernel op, for the CUDA target:
//
//   embedding %wte[%ids] -> %e ; table_rows %wpe[%past] -> %p ; add %e, %p -> %x
//     ==>  embed_positions %wte[%ids] positions %wpe[%past] -> %x
//
// The CPU target keeps the three ops (table_rows is a pointer into the
// table there). On CUDA the past length is in device memory, so the view
// cannot be formed on the host; the fused kernel reads it on the device.
// Exact: the same sum of the same two rows.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEFUSEPOSITIONS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

struct EmbedPositions : OpRewritePattern<k::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(k::AddOp add, PatternRewriter &rewriter) const override {
    for (int side = 0; side < 2; ++side) {
      Value tokens = add->getOperand(side);
      auto rows = add->getOperand(1 - side).getDefiningOp<k::TableRowsOp>();
      if (!rows || tokens.getDefiningOp<k::ArenaOp>() == nullptr) continue;
      // The embedding alone writes `tokens`, and only this add reads it.
      k::EmbeddingOp emb;
      bool sole = true;
      for (Operation *u : tokens.getUsers()) {
        if (u == add) continue;
        auto e = dyn_cast<k::EmbeddingOp>(u);
        if (!e || e.getOut() != tokens || emb) sole = false;
        else emb = e;
      }
      if (!sole || !emb || emb.getRows() != add.getRows() || !emb->isBeforeInBlock(add)) continue;
      rewriter.setInsertionPoint(add);
      rewriter.create<k::EmbedPositionsOp>(add.getLoc(), emb.getTable(), emb.getIds(), rows.getTable(),
                                           rows.getFirst(), add.getRows(), add.getOut(), emb.getTableScale());
      rewriter.eraseOp(add);
      rewriter.eraseOp(emb);
      if (auto slot = tokens.getDefiningOp<k::ArenaOp>(); slot && slot->use_empty()) rewriter.eraseOp(slot);
      if (rows->use_empty()) rewriter.eraseOp(rows);
      return success();
    }
    return failure();
  }
};

struct FusePositionsPass : impl::LitheFusePositionsBase<FusePositionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<EmbedPositions>(&getContext());
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
} // namespace lithe
