//===- Passes.h - lithe passes and pipelines ----------------------*- C++ -*-===//

#ifndef LITHE_PASSES_H
#define LITHE_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>
#include <string>

namespace lithe {

// Pass declarations, options structs and create functions, and
// registerLithePasses(), which registers every lithe pass with the global
// registry so `lithe-opt` and `lithec` accept them by name.
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Registers the named pipelines (passes/Pipelines.cpp): `lithe-simplify`,
/// `lithe-lower-cpu`.
void registerLithePipelines();

/// What lowering to the CPU needs besides the module.
struct LowerCpuOptions {
  int64_t capacity = 0;          // context length; 0: the position table's rows
  std::string modelName = "model";
  std::string mainQuery;         // weak alias of the query function, if any
  std::string weights;           // the binary's weights file to write (default: <module's>.cpu.lwt)
  std::string weightsRef;        // what lithe.weights then says (default: the file's name)
  std::string weightsDir;        // where a relative lithe.weights is
  std::string precision;          // what f32 weights become (lithe-pack-weights): cpu: fp32 (default)
                                  // or bf16; cuda: fp16 (default)
  std::string target = "cpu";     // cpu, or cuda (lithe-lower-cuda)
};
/// The kernel level (what --emit=kernel prints): lithe-lower-to-kernels,
/// lithe-fuse-kernels, lithe-pack-weights, lithe-plan-buffers.
void buildLowerToKernelLevel(mlir::OpPassManager &pm, const LowerCpuOptions &options);
/// `lithe-lower-cpu` / `lithe-lower-cuda` (options.target): the kernel
/// level, then lithe-write-weights and lithe-kernels-to-llvm. For CUDA the
/// kernel level also makes the KV cache f16 (lithe-kv-precision), has no
/// @decode_batch, fuses the position embeddings (lithe-fuse-positions) and
/// packs for the CUDA kernels.
void buildLowerCpu(mlir::OpPassManager &pm, const LowerCpuOptions &options);

} // namespace lithe

#endif // LITHE_PASSES_H
