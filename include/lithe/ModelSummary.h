//===- ModelSummary.h - what a lithe module computes ---------------*- C++ -*-===//
//
// The shape of a transformer-level model read off its IR: layers, heads per
// layer, width, vocabulary, parameters and bytes. Used by `lithe-summarize`,
// by `lithec --describe` and by the simplification report.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_MODELSUMMARY_H
#define LITHE_MODELSUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lithe {

struct ModelSummary {
  /// One entry per lithe.attention op, in program order.
  struct Layer {
    int64_t heads = 0;
    int64_t headDim = 0;
    bool writesCache = false; // false: reads another layer's KV cache
  };
  std::vector<Layer> layers;
  int64_t width = 0;      // hidden size (embedding width), 0 if unknown
  int64_t vocab = 0;      // rows of the LM head table, 0 if no LM head
  bool tiedHead = false;  // LM head reads the token embedding table
  int64_t layerNorms = 0; // lithe.layer_norm ops
  int64_t weightTensors = 0;      // distinct weight names referenced
  int64_t parameters = 0;         // elements of distinct weights
  int64_t weightBytes = 0;        // bytes of distinct weights
  int64_t kvBytesPerPosition = 0; // K+V bytes per cached position, all caches

  /// Prints the summary as `key: value` lines.
  void print(llvm::raw_ostream &os) const;
};

/// Summarizes the transformer-level ops of `module`.
ModelSummary summarizeModel(mlir::ModuleOp module);

} // namespace lithe

#endif // LITHE_MODELSUMMARY_H
