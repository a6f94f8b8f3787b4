//===- Calibrate.h - what the data-driven passes share ------------*- C++ -*-===//
//
// The calibration options a pass declares (see Passes.td) and where the
// residual stream leaves the last block, for remove-layernorm, prune-heads
// and drop-layers.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_PASSES_CALIBRATE_H
#define LITHE_PASSES_CALIBRATE_H

#include "Blocks.h"
#include "lithe/Calibration.h"
#include "lithe/WeightStore.h"

#include <string>

namespace lithe {

/// The CalibrationOptions of a pass that declares them (see Passes.td);
/// used inside the pass, whose options are protected members.
#define LITHE_PASS_CALIBRATION_OPTIONS()                                                          \
  ::lithe::CalibrationOptions {                                                                    \
    calibration.getValue(), tokenizer.getValue(), calibrationTokens.getValue(),                    \
        calibrationCtx.getValue()                                                                  \
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
