//===- lithe-opt.cpp - run lithe passes and pipelines over IR -------------===//
//
// mlir-opt with the lithe dialect and passes, and only the few upstream
// dialects and passes Lithe uses (registering everything costs minutes of
// build time and clutters --help).
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<lithe::LitheDialect, mlir::func::FuncDialect>();

  lithe::registerLithePasses();
  lithe::registerLithePipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Lithe optimizer driver: lithe dialect passes and pipelines\n",
      registry));
}
