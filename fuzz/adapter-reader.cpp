//===- adapter-reader.cpp - fuzz the PEFT/BitFit adapter reader -----------===//
//
// Input: one adapter directory, packed: byte 0 chooses the layout (even: PEFT,
// adapter_config.json + adapter_model.safetensors; odd: BitFit, bitfit.json +
// bitfit.safetensors), then a little-endian u32 length and that many bytes of
// JSON, then the safetensors file. Runs lithe-fuse-adapters with it on
// lithe-tiny (imported once), as `lithec --pipeline=lithe-fuse-adapters{...}`
// does: any adapter may be refused with an error, none may crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "lithe/Dialect.h"
#include "lithe/Import.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LITHE_FUZZ_MODEL
#error "LITHE_FUZZ_MODEL must name the .onnx model adapters are fused into"
#endif

namespace {
struct Base {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string weights;
};

Base &base() {
  static Base *b = [] {
    lithe::registerLithePasses();
    auto *b = new Base();
    b->ctx.loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
    b->ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
    b->weights = lithe_fuzz::scratchDir() + "/base.lwt";
    lithe::ImportOptions opts;
    opts.level = lithe::ImportLevel::Lithe;
    opts.weightsPath = b->weights;
    lithe::ImportResult r;
    std::string error;
    if (!lithe::importOnnx(LITHE_FUZZ_MODEL, b->ctx, opts, r, error)) {
      std::fprintf(stderr, "adapter-reader: %s\n", error.c_str());
      std::abort();
    }
    b->module = std::move(r.module);
    return b;
  }();
  return *b;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Base &b = base();
  if (size < 5) return 0;
  bool bitfit = data[0] & 1;
  uint32_t n;
  std::memcpy(&n, data + 1, 4);
  size_t jsonLen = std::min<size_t>(n, size - 5);
  std::string dir = lithe_fuzz::scratchDir() + "/adapter";
  ::mkdir(dir.c_str(), 0755);
  for (const char *f : {"bitfit.json", "adapter_config.json", "bitfit.safetensors", "adapter_model.safetensors"})
    ::unlink((dir + "/" + f).c_str());
  lithe_fuzz::writeScratch(bitfit ? "adapter/bitfit.json" : "adapter/adapter_config.json", data + 5, jsonLen);
  lithe_fuzz::writeScratch(bitfit ? "adapter/bitfit.safetensors" : "adapter/adapter_model.safetensors",
                           data + 5 + jsonLen, size - 5 - jsonLen);

  std::string error;
  std::shared_ptr<lithe::WeightStore> store = lithe::WeightStore::open(b.weights, error);
  if (!store) std::abort();
  lithe::setWeightStore(&b.ctx, store);
  mlir::OwningOpRef<mlir::ModuleOp> m(b.module->clone());
  mlir::PassManager pm(&b.ctx);
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (failed(mlir::parsePassPipeline("lithe-fuse-adapters{adapters=" + dir + "}", pm, os))) std::abort();
  (void)pm.run(*m);
  if (!store->checkFinite(lithe::referencedWeights(*m), error)) {
    // Refused by lithec after the pass (an adapter whose fused weights
    // overflow): fine, as long as it is said.
  }
  lithe::setWeightStore(&b.ctx, nullptr);
  return 0;
}
