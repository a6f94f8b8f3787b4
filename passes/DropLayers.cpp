//===- DropLayers.cpp - lithe-drop-layers ---------------------------------===//
//
// A GPT-2 block maps its residual input h to
//   m = h + proj(attn(ln1(h)));  out = m + mlp(ln2(m)).
// Dropping it replaces `out` by `h`; what only the block used dies.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "lithe/Passes.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEDROPLAYERS
#include "passes/Passes.h.inc"

namespace {
using namespace mlir;

/// The residual add among `v`'s users (other than `not_`), or null.
AddOp residualUser(Value v, Operation *not_ = nullptr) {
  for (Operation *u : v.getUsers())
    if (auto add = dyn_cast<AddOp>(u); add && u != not_) return add;
  return AddOp();
}

/// Follows single-use linear/attention/norm/gelu chains from `v` to the
/// residual add it ends in.
AddOp blockAdd(Value v) {
  for (int guard = 0; guard < 16; ++guard) {
    if (auto add = residualUser(v)) return add;
    if (!v.hasOneUse()) return AddOp();
    Operation *u = *v.getUsers().begin();
    if (!isa<LinearOp, GeluOp>(u)) return AddOp();
    v = u->getResult(0);
  }
  return AddOp();
}

struct DropLayersPass : impl::LitheDropLayersBase<DropLayersPass> {
  using LitheDropLayersBase::LitheDropLayersBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = modelFunction(module);
    std::set<int64_t> drop;
    if (!fn || !parseIndexList(layers, drop)) {
      module.emitError() << "lithe-drop-layers: give layers=i,j,... (got '" << layers << "')";
      return signalPassFailure();
    }
    std::vector<AttentionOp> blocks = attentionLayers(fn);
    if (*drop.rbegin() >= static_cast<int64_t>(blocks.size())) {
      module.emitError() << "lithe-drop-layers: layer " << *drop.rbegin() << " does not exist (the model has "
                         << blocks.size() << ")";
      return signalPassFailure();
    }
    if (drop.size() == blocks.size()) {
      module.emitError("lithe-drop-layers: cannot drop every layer");
      return signalPassFailure();
    }
    std::vector<BlockArgument> caches;
    for (int64_t i : drop) {
      AttentionOp a = blocks[i];
      if (!a.writesCache()) {
        a.emitError() << "lithe-drop-layers: layer " << i << " reads another layer's KV cache; drop before sharing";
        return signalPassFailure();
      }
      // h -> ln1 -> q/k/v: the block input is the norm's input.
      Operation *norm = a.getQuery().getDefiningOp<LinearOp>()
                            ? a.getQuery().getDefiningOp<LinearOp>().getInput().getDefiningOp()
                            : nullptr;
      if (!norm || !isa<LayerNormOp, CenterOp>(norm)) {
        a.emitError() << "lithe-drop-layers: layer " << i << " is not a pre-norm GPT-2 block";
        return signalPassFailure();
      }
      Value h = norm->getOperand(0);
      AddOp mid = blockAdd(a.getResult());
      AddOp out;
      if (mid)
        for (Operation *u : mid.getResult().getUsers())
          if (isa<LayerNormOp, CenterOp>(u)) out = blockAdd(u->getResult(0));
      if (!mid || !out || (mid.getLhs() != h && mid.getRhs() != h)) {
        a.emitError() << "lithe-drop-layers: layer " << i << " is not a GPT-2 block (attention and MLP residuals)";
        return signalPassFailure();
      }
      out.getResult().replaceAllUsesWith(h);
      if (auto arg = dyn_cast<BlockArgument>(a.getCache())) caches.push_back(arg);
    }
    eraseDead(fn);
    std::sort(caches.begin(), caches.end(),
              [](BlockArgument x, BlockArgument y) { return x.getArgNumber() > y.getArgNumber(); });
    for (BlockArgument arg : caches)
      if (arg.use_empty()) eraseCacheArgument(fn, arg);
  }
};
} // namespace
} // namespace lithe
