//===- lithe-opt.cpp - run lithe passes and pipelines over IR -------------===//
//
// mlir-opt with the lithe dialect and passes, and only the few upstream
// dialects and passes Lithe uses (registering everything costs minutes of
// build time and clutters --help).
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringRef.h"

#include <vector>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  // Every level lithe-opt prints: transformer (lithe), kernel (lithe_k,
  // arith) and the LLVM dialect lithe-lower-cpu ends in.
  registry.insert<lithe::LitheDialect, lithe::k::LitheKDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::LLVM::LLVMDialect>();

  lithe::registerLithePasses();
  lithe::registerLithePipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();

  // A pass error is one line: MLIR would print the op it is attached to
  // after it, which for a module-level error is the whole module (thousands
  // of lines for GPT-2). --mlir-print-op-on-diagnostic=true brings it back.
  std::vector<char *> args(argv, argv + argc);
  bool given = false;
  for (int i = 1; i < argc; ++i)
    given |= llvm::StringRef(argv[i]).starts_with("--mlir-print-op-on-diagnostic") ||
             llvm::StringRef(argv[i]).starts_with("-mlir-print-op-on-diagnostic");
  static char quiet[] = "--mlir-print-op-on-diagnostic=false";
  if (!given) args.insert(args.begin() + 1, quiet);
  args.push_back(nullptr);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      static_cast<int>(args.size()) - 1, args.data(),
      "Lithe optimizer driver: lithe dialect passes and pipelines\n", registry));
}
