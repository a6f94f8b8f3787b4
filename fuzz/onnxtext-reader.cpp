//===- onnxtext-reader.cpp - fuzz the .onnxtext reader and the importer ---===//
//
// Input: ONNX text (the .onnxtext syntax of onnx::OnnxParser). Runs what
// `lithec --emit=lithe` runs up to the weights file: reading, symbolic shape
// inference, raising and IR emission. Any input may be rejected with an error;
// none may crash, hang or trip a sanitizer.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "lithe/Dialect.h"
#include "lithe/Import.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *ctx = [] {
    auto *c = new mlir::MLIRContext();
    c->loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
    // The importer's verifier failures print diagnostics; keep them quiet.
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
    return c;
  }();
  std::string path = lithe_fuzz::writeScratch("model.onnxtext", data, size);
  lithe::ImportOptions opts;
  opts.level = lithe::ImportLevel::Lithe;
  lithe::ImportResult result;
  std::string error;
  if (!lithe::importOnnx(path, *ctx, opts, result, error) && error.empty()) __builtin_trap();
  return 0;
}
