//===- CalibrationText.cpp - calibration text to token windows ------------===//

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/runtime/tokenizer.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>

namespace lithe {
using mlir::cast;

bool loadCalibration(mlir::ModuleOp module, const CalibrationOptions &o, CalibrationData &data,
                     std::string &error) {
  data.windows.clear();
  if (o.tokens < 2 || o.ctx < 2) {
    error = "calibration-tokens and calibration-ctx must be at least 2";
    return false;
  }
  std::string dir = o.tokenizer;
  if (dir.empty())
    if (auto a = module->getAttrOfType<mlir::StringAttr>("lithe.tokenizer")) dir = a.getValue().str();
  if (dir.empty()) {
    error = "no tokenizer for the calibration text: give tokenizer=DIR (vocab.json + merges.txt)";
    return false;
  }
  std::string terr;
  std::unique_ptr<rt::Tokenizer> tok = rt::Tokenizer::load(dir, terr);
  if (!tok) {
    error = "tokenizer: " + terr;
    return false;
  }
  std::string text;
  if (!rt::readText(o.text, text, terr)) {
    error = o.text + ": cannot read the calibration text (" + terr + ")";
    return false;
  }
  std::vector<int32_t> ids;
  if (!tok->encode(text, ids, terr)) {
    error = o.text + ": " + terr;
    return false;
  }
  // The model's context: rows of the position-embedding table.
  int64_t ctx = o.ctx;
  module.walk([&](EmbeddingOp e) {
    if (e.getIds().getDefiningOp<PositionIdsOp>())
      ctx = std::min(ctx, cast<mlir::RankedTensorType>(e.getTable().getType()).getDimSize(0));
  });
  int64_t total = std::min<int64_t>(o.tokens, static_cast<int64_t>(ids.size()));
  for (int64_t start = 0; start + 1 < total; start += ctx) {
    int64_t end = std::min(total, start + ctx);
    if (end - start < 2) break;
    data.windows.emplace_back(ids.begin() + start, ids.begin() + end);
  }
  if (data.windows.empty()) {
    error = o.text + ": the calibration text has fewer than 2 tokens";
    return false;
  }
  return true;
}

} // namespace lithe
