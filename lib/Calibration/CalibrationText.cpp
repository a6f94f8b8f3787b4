//===- CalibrationText.cpp - calibration text to token windows ------------===//

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/runtime/tokenizer.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <fstream>
#include <sstream>

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
  std::ifstream in(o.text, std::ios::binary);
  if (!in) {
    error = o.text + ": cannot read the calibration text";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  // Universal newlines, as the runtime (and Python's open()) read text.
  std::string raw = ss.str(), text;
  text.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      text.push_back('\n');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      text.push_back(raw[i]);
    }
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
