//===- Blocks.h - shared helpers of the structural passes -------*- C++ -*-===//
//
// What prune-heads, drop-layers and share-kv need alike: the attention
// layers in program order, erasing an unused KV-cache argument, and erasing
// ops whose results are no longer used.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_PASSES_BLOCKS_H
#define LITHE_PASSES_BLOCKS_H

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace lithe {

/// The attention ops of `fn`, in program order.
inline std::vector<AttentionOp> attentionLayers(mlir::func::FuncOp fn) {
  std::vector<AttentionOp> out;
  fn.walk([&](AttentionOp a) { out.push_back(a); });
  return out;
}

/// Erases block argument `arg` of `fn` (a KV cache nothing reads any more)
/// and updates the function type.
inline void eraseCacheArgument(mlir::func::FuncOp fn, mlir::BlockArgument arg) {
  fn.eraseArgument(arg.getArgNumber());
}

/// Erases ops without uses, repeatedly: pure ones and attention ops (whose
/// only effect is on a cache the caller is removing).
inline void eraseDead(mlir::func::FuncOp fn) {
  bool changed = true;
  while (changed) {
    changed = false;
    std::vector<mlir::Operation *> dead;
    fn.walk([&](mlir::Operation *op) {
      if (op->getNumResults() > 0 && op->use_empty() &&
          (mlir::isPure(op) || mlir::isa<AttentionOp>(op)))
        dead.push_back(op);
    });
    for (mlir::Operation *op : dead) {
      op->erase();
      changed = true;
    }
  }
}

/// Parses "1,3,5" into `out`; false on anything else.
inline bool parseIndexList(llvm::StringRef s, std::set<int64_t> &out) {
  llvm::SmallVector<llvm::StringRef> parts;
  s.split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    int64_t v;
    if (p.trim().getAsInteger(10, v) || v < 0) return false;
    out.insert(v);
  }
  return !out.empty();
}

/// The inverse of parseIndexList: "1,3,5".
inline std::string formatIndexList(const std::set<int64_t> &s) {
  std::string out;
  for (int64_t v : s) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

/// The residual stream entering attention layer `a`'s block: the input of
/// the norm (LayerNorm or center) in front of its query projection, or null.
inline mlir::Value blockInput(AttentionOp a) {
  auto q = a.getQuery().getDefiningOp<LinearOp>();
  mlir::Operation *norm = q ? q.getInput().getDefiningOp() : nullptr;
  if (!norm || !mlir::isa<LayerNormOp, CenterOp>(norm)) return mlir::Value();
  return norm->getOperand(0);
}

/// The calibration loss with each block skipped alone (its output replaced
/// by its input; `stream` holds the residual stream entering every block
/// and leaving the last, as blockInput and finalResidual give it) minus the
/// whole model's loss `base`: (rise, block) in block order. What
/// lithe-drop-layers{metric=loss} ranks by, and lithec --search with it.
inline bool lossRiseBySkipping(Evaluator &eval, const CalibrationData &data, const std::vector<mlir::Value> &stream,
                               double &base, std::vector<std::pair<double, int64_t>> &rise, std::string &error) {
  rise.clear();
  if (!eval.meanNll(data, nullptr, base, error)) return false;
  for (size_t i = 0; i + 1 < stream.size(); ++i) {
    mlir::Operation *in = stream[i].getDefiningOp(), *out = stream[i + 1].getDefiningOp();
    std::vector<float> saved;
    Observer skip = [&](mlir::Operation *op, float *x, int64_t rows, int64_t cols) {
      if (op == in) saved.assign(x, x + rows * cols);
      if (op == out) std::copy(saved.begin(), saved.end(), x);
    };
    double loss = 0;
    if (!eval.meanNll(data, skip, loss, error)) return false;
    rise.push_back({loss - base, static_cast<int64_t>(i)});
  }
  return true;
}

/// The module's single func.func (the model), or null.
inline mlir::func::FuncOp modelFunction(mlir::ModuleOp module) {
  mlir::func::FuncOp fn;
  int n = 0;
  module.walk([&](mlir::func::FuncOp f) { fn = f; ++n; });
  return n == 1 ? fn : mlir::func::FuncOp();
}

} // namespace lithe

#endif // LITHE_PASSES_BLOCKS_H
