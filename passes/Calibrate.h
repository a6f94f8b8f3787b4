//===- Calibrate.h - what the data-driven passes share ------------*- C++ -*-===//
//
// Loading the calibration text named by a pass's CalibrationOptions (see
// Passes.td) and the residual stream's shape, for remove-layernorm,
// prune-heads and drop-layers.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_PASSES_CALIBRATE_H
#define LITHE_PASSES_CALIBRATE_H

#include "Blocks.h"
#include "lithe/Calibration.h"
#include "lithe/WeightStore.h"

#include <cmath>
#include <string>

namespace lithe {

/// The CalibrationOptions of a pass that declares them (see Passes.td);
/// used inside the pass, whose options are protected members.
#define LITHE_PASS_CALIBRATION_OPTIONS()                                                          \
  ::lithe::CalibrationOptions {                                                                    \
    calibration.getValue(), tokenizer.getValue(), calibrationTokens.getValue(),                    \
        calibrationCtx.getValue()                                                                  \
  }

/// The residual stream entering attention layer `a`'s block: the input of
/// the norm (LayerNorm or center) in front of its query projection, or null.
inline mlir::Value blockInput(AttentionOp a) {
  auto q = a.getQuery().getDefiningOp<LinearOp>();
  mlir::Operation *norm = q ? q.getInput().getDefiningOp() : nullptr;
  if (!norm || !mlir::isa<LayerNormOp, CenterOp>(norm)) return mlir::Value();
  return norm->getOperand(0);
}

/// The residual stream leaving the last block: the input of the final norm
/// in front of the LM head (or the head's input when there is none).
inline mlir::Value finalResidual(mlir::func::FuncOp fn) {
  mlir::Value out;
  fn.walk([&](LMHeadOp h) {
    out = h.getInput();
    if (mlir::Operation *norm = out.getDefiningOp(); norm && mlir::isa<LayerNormOp, CenterOp>(norm))
      out = norm->getOperand(0);
  });
  return out;
}

} // namespace lithe

#endif // LITHE_PASSES_CALIBRATE_H
