//===- Calibration.h - run a transformer-level module on calibration text -*- C++ -*-===//
//
// What the data-driven simplifications measure the model with:
//
//  - CalibrationData: a calibration text, tokenized with the model's GPT-2
//    tokenizer and cut into windows of at most `ctx` tokens.
//  - Evaluator: runs the module's transformer-level `forward` on one window
//    (batch 1, empty KV caches) op by op with the runtime's CPU kernels, and
//    returns the mean next-token negative log-likelihood. An `Observer` sees
//    (and may change) every op's result as it is computed: that is how a pass
//    masks a head, reads a LayerNorm's input statistics or compares a block's
//    input with its output.
//
// The Evaluator is a reference path for compile-time measurements, not the
// runtime: it allocates per op and packs each linear weight on first use.
// It computes what the compiled binary computes (the same kernels), so the
// numbers a pass measures are the ones the binary would give.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_CALIBRATION_H
#define LITHE_CALIBRATION_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Operation.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lithe {

class WeightStore;

/// Where a pass finds its calibration text and how much of it to use.
struct CalibrationOptions {
  std::string text;          // UTF-8 text file
  std::string tokenizer;     // directory: vocab.json+merges.txt or encoder.json+vocab.bpe
  int64_t tokens = 1024;     // at most this many tokens in all
  int64_t ctx = 256;         // window length (clamped to the model's context)
};

struct CalibrationData {
  std::vector<std::vector<int64_t>> windows;
  int64_t tokens() const;
};

/// Tokenizes `o.text` and cuts it into windows of `ctx` tokens (the last one
/// may be shorter; windows shorter than 2 tokens are dropped). An empty
/// `o.tokenizer` means the module's `lithe.tokenizer` attribute (set by
/// lithec to the tokenizer/ directory found beside the model); windows never
/// exceed the model's context (its position table). Errors are one line
/// naming the file or option at fault.
bool loadCalibration(mlir::ModuleOp module, const CalibrationOptions &o, CalibrationData &data,
                     std::string &error);

/// An op's f32 result as computed: `rows` x `cols` (batch 1), row-major.
/// The observer may change the values in place.
using Observer = std::function<void(mlir::Operation *op, float *data, int64_t rows, int64_t cols)>;

class Evaluator {
public:
  /// Checks that `module` has one `forward` function the evaluator can run
  /// (raised transformer-level ops only). Null with `error` naming the op.
  /// `bf16` packs the f32 weights as lithec --precision=bf16 does (the
  /// kernel level then computes what that binary computes).
  static std::unique_ptr<Evaluator> create(mlir::ModuleOp module, std::shared_ptr<WeightStore> store,
                                           std::string &error, bool bf16 = false);
  ~Evaluator();

  /// Runs one window. With `nll`, also computes the LM head and adds the sum
  /// of next-token negative log-likelihoods to *nll and their count to
  /// *count. `stopAfter`: stop once that op is computed (no logits then).
  bool run(const std::vector<int64_t> &ids, const Observer &observe, double *nll, int64_t *count,
           std::string &error, mlir::Operation *stopAfter = nullptr);

  /// Mean NLL over all windows (natural log; perplexity = exp of it).
  bool meanNll(const CalibrationData &data, const Observer &observe, double &mean, std::string &error);

private:
  Evaluator() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace lithe

#endif // LITHE_CALIBRATION_H
