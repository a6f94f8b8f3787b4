//===- Codegen.h - transformer-level lithe IR to a native binary --*- C++ -*-===//
//
// Lowers a transformer-level `forward` function to the kernel level (static
// row capacity, activation buffers planned in one arena, linear weights
// pre-packed for the CPU kernels, GELU and residual adds fused into the
// linear layers' epilogues) expressed as LLVM-dialect calls into the
// runtime kernels, emits an object file in-process and links it with the
// runtime into an executable. The binary has no graph interpreter: it is
// the straight-line sequence of kernel calls for this one model.
//
// ABI between generated code and runtime/ (runtime/include/lithe/runtime/model.h):
// one exported function per model, `void lithe_<name>_query(LitheModelDescriptor *)`,
// fills a versioned descriptor (config, KV cache shapes, weights checksum,
// forward and head entry points); everything else of the model is private,
// so several compiled models link into one process. `lithe_main_query`
// (weak) is the executable's own model, `lithe_main_draft_query` (weak) its
// speculative-decoding draft when lithec --draft linked one in.
//===----------------------------------------------------------------------===//

#ifndef LITHE_CODEGEN_H
#define LITHE_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lithe {

class WeightStore;

struct CodegenOptions {
  /// The transformer-level module's weights file.
  std::string sourceWeights;
  /// Where to write the binary's (packed) weights file.
  std::string outputWeights;
  /// Where to write the object file.
  std::string objectPath;
  /// Most tokens one forward call processes, and the KV cache capacity.
  /// 0: the model's context length (rows of the position embedding).
  int64_t capacity = 0;
  /// The model's symbol name: lithe_<modelName>_query (a C identifier).
  std::string modelName = "model";
  /// The weak alias of the query function that the command line's main
  /// calls: lithe_main_query for an executable's model,
  /// lithe_main_draft_query for its speculative-decoding draft (lithec
  /// --draft); empty for none.
  std::string mainQuery = "lithe_main_query";
  /// What f32 weights become in the binary's weights file
  /// (lithe-pack-weights{precision}): cpu "fp32" or "bf16"; cuda "fp16",
  /// "bf16" or "fp32"; empty: the target's default (cpu fp32, cuda fp16).
  std::string precision;
  /// "cpu", or "cuda": host code launching the CUDA kernels (lithe-lower-cuda).
  std::string target = "cpu";
};

/// What code generation decided, for reports and tests.
struct CodegenReport {
  int64_t capacity = 0;
  int64_t arenaBytes = 0;
  int64_t kernelCalls = 0;
  int64_t fusedEpilogues = 0;
  int64_t weightBytes = 0;
  int64_t kvBytesPerPosition = 0;
  int64_t width = 0, vocab = 0;
};

/// Generates the object file (and the packed weights file) for `module`,
/// which is lowered in place (it is LLVM dialect afterwards): the
/// lithe-lower-cpu pipeline.
/// On failure returns false with `error` naming the op (and its ONNX node,
/// when it has one) that cannot be compiled.
bool generateObject(mlir::ModuleOp module, const CodegenOptions &options,
                    CodegenReport &report, std::string &error);

/// Prints the kernel-level program (lithe_k: planned buffers, packed weights,
/// fused epilogues) that generateObject would compile (for --emit=kernel).
/// Like the others, lowers `module` in place.
bool generateKernelIR(mlir::ModuleOp module, const CodegenOptions &options,
                      std::string &ir, std::string &error);

/// Lowers `module` in place to the kernel level generateKernelIR prints (its
/// packed weights are in the context's weights store); `report` gets the
/// plan's numbers.
bool lowerToKernelLevel(mlir::ModuleOp module, const CodegenOptions &options, CodegenReport &report,
                        std::string &error);

/// A kernel-level module and the weights store its tensors are in.
struct WeightsSource {
  mlir::ModuleOp module;
  std::shared_ptr<WeightStore> store;
  std::string prefix; // names a tensor of its own when another model took the name
};
/// One weights file for several kernel-level modules (a model and its
/// speculative-decoding draft): every tensor the first reads; of each later
/// one, those not identical (type, shape, bytes) to an earlier model's
/// tensor of the same name, renamed "<prefix>/<name>" in its module when
/// the name is taken by other bytes. Points every module's lithe.weights at
/// `path`; `sharedBytes` is what was stored once instead of twice.
bool writeSharedWeights(llvm::ArrayRef<WeightsSource> models, const std::string &path, int64_t &sharedBytes,
                        std::string &error);

/// The object file of a kernel-level module whose weights file is written
/// (writeSharedWeights).
bool emitObject(mlir::ModuleOp module, const CodegenOptions &options, CodegenReport &report,
                std::string &error);

/// Prints the LLVM IR that generateObject would compile (for --emit=llvm).
bool generateLLVMIR(mlir::ModuleOp module, const CodegenOptions &options,
                    std::string &ir, std::string &error);

/// Links `objectPath` with the runtime library into `exePath`.
/// `target` "cuda" adds the CUDA runtime, kernels, cudart and cuBLASLt.
bool linkExecutable(const std::string &objectPath, const std::string &exePath,
                    std::string &error, const std::string &target = "cpu");
/// The same for several objects (a target and its draft, lithec --draft).
bool linkExecutable(const std::vector<std::string> &objectPaths, const std::string &exePath,
                    std::string &error, const std::string &target = "cpu");
/// Whether this lithec can link CUDA executables (nvcc was found when it was built).
bool canLinkCuda();

} // namespace lithe

#endif // LITHE_CODEGEN_H
