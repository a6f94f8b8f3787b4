//===- Import.h - ONNX models into the lithe dialect --------------*- C++ -*-===//
//
// importOnnx reads an .onnx/.onnxtext model, infers symbolic shapes, and
// emits either one `lithe.onnx` op per node (ImportLevel::Onnx) or the
// transformer-level form raised from GPT-2's subgraphs (ImportLevel::Lithe),
// writing the tensors the module references into a weights file.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_IMPORT_H
#define LITHE_IMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lithe {

enum class ImportLevel { Onnx, Lithe };

struct ImportOptions {
  ImportLevel level = ImportLevel::Lithe;
  /// Where to write the weights file; nothing is written when empty.
  std::string weightsPath;
  /// The value of the module's `lithe.weights` attribute (default: the
  /// file name of weightsPath).
  std::string weightsRef;
  /// Fail unless the whole graph was raised to a GPT-2 (token embedding,
  /// attention layers, LM head; no generic ops left), naming the first node
  /// that was not: what `--describe` and compiling to code need.
  bool requireModel = false;
};

struct ImportResult {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string producer;                  // producer_name of the model
  int64_t opset = 0;                     // default-domain opset
  int64_t onnxNodes = 0;
  int64_t initializerBytes = 0;          // all initializers of the file
  int64_t context = 0;                   // rows of the position embedding
  std::vector<std::string> genericNodes; // nodes left as lithe.onnx (Lithe level)
  std::vector<std::string> notes;        // what raising decided
};

/// Imports `path`. On failure returns false with `error` set to one line that
/// names the file and the node, initializer or value at fault.
bool importOnnx(const std::string &path, mlir::MLIRContext &context,
                const ImportOptions &options, ImportResult &result,
                std::string &error);

} // namespace lithe

#endif // LITHE_IMPORT_H
