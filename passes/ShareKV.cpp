//===- ShareKV.cpp - lithe-share-kv ---------------------------------------===//
//
// Cross-layer KV sharing (CLA/MiniCache style): in each group of `group`
// consecutive attention layers, the later ones attend over the first one's
// cache and stop computing (and storing) keys and values.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "lithe/Passes.h"

#include "mlir/IR/Builders.h"

namespace lithe {
#define GEN_PASS_DEF_LITHESHAREKV
#include "passes/Passes.h.inc"

namespace {
using namespace mlir;

struct ShareKVPass : impl::LitheShareKVBase<ShareKVPass> {
  using LitheShareKVBase::LitheShareKVBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = modelFunction(module);
    if (!fn || group < 1) {
      module.emitError("lithe-share-kv: needs one model function and group >= 1");
      return signalPassFailure();
    }
    std::vector<AttentionOp> layers = attentionLayers(fn);
    std::vector<BlockArgument> unused;
    for (size_t i = 0; i < layers.size(); ++i) {
      AttentionOp first = layers[i - i % group];
      AttentionOp a = layers[i];
      if (a == first || !a.writesCache()) continue;
      if (a.getNumHeads() != first.getNumHeads() || a.getHeadDim() != first.getHeadDim()) {
        a.emitError() << "lithe-share-kv: layer " << i << " has " << a.getNumHeads() << " heads of "
                      << a.getHeadDim() << ", its group's first layer " << first.getNumHeads() << " of "
                      << first.getHeadDim();
        return signalPassFailure();
      }
      auto own = dyn_cast<BlockArgument>(a.getCache());
      OpBuilder b(a);
      auto shared = b.create<AttentionOp>(a.getLoc(), a.getType(), a.getQuery(), Value(), Value(),
                                          first.getCache(), a.getPastLen(), a.getNumHeadsAttr(),
                                          a.getHeadDimAttr(), a.getScaleAttr(), a.getCausalAttr());
      a.getResult().replaceAllUsesWith(shared.getResult());
      a.erase();
      if (own && own.use_empty()) unused.push_back(own);
    }
    eraseDead(fn);
    // Erase from the last argument backwards so numbers stay valid.
    std::sort(unused.begin(), unused.end(),
              [](BlockArgument x, BlockArgument y) { return x.getArgNumber() > y.getArgNumber(); });
    for (BlockArgument arg : unused) eraseCacheArgument(fn, arg);
  }
};
} // namespace
} // namespace lithe
