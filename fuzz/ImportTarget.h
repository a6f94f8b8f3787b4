//===- ImportTarget.h - the importer under libFuzzer ---------------*- C++ -*-===//
//
// What the .onnx and .onnxtext targets share: the input written as a model
// file of the given name and imported as `lithec --emit=lithe` does (reading,
// symbolic shape inference, raising, IR emission). Any input may be rejected
// with an error; none may crash, hang, trip a sanitizer, or fail silently.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_FUZZ_IMPORTTARGET_H
#define LITHE_FUZZ_IMPORTTARGET_H

#include "FuzzUtil.h"

#include "lithe/Dialect.h"
#include "lithe/Import.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

namespace lithe_fuzz {

inline int importModelFile(const char *fileName, const uint8_t *data, size_t size) {
  static mlir::MLIRContext *ctx = [] {
    auto *c = new mlir::MLIRContext();
    c->loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
    // The importer's verifier failures print diagnostics; keep them quiet.
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
    return c;
  }();
  std::string path = writeScratch(fileName, data, size);
  lithe::ImportOptions opts;
  opts.level = lithe::ImportLevel::Lithe;
  lithe::ImportResult result;
  std::string error;
  if (!lithe::importOnnx(path, *ctx, opts, result, error) && error.empty()) __builtin_trap();
  return 0;
}

} // namespace lithe_fuzz

#endif // LITHE_FUZZ_IMPORTTARGET_H
