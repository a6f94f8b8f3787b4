//===- Lowering.h - transformer level to kernel level, and kernel calls -*- C++ -*-===//
//
// What both the compiler's lowering passes (passes/LowerToKernels.cpp,
// PackWeights.cpp, KernelsToLLVM.cpp) and the calibration Evaluator
// (lib/Calibration/Evaluator.cpp) use, so that the transformer -> kernel and
// kernel op -> runtime kernel mappings are each written once:
//
//  - lowerToKernels / packWeights: the cores of lithe-lower-to-kernels and
//    lithe-pack-weights;
//  - kernelCall: which runtime kernel a lithe_k op calls, with which
//    arguments: the LLVM lowering turns it into an llvm.call, the Evaluator
//    into a call of the kernel itself;
//  - kernelTable: every kernel generated code calls, with its LLVM type and
//    an invoker, both derived from its prototype in
//    runtime/include/lithe/runtime/kernels.h (the one list of kernels).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_LOWERING_H
#define LITHE_LOWERING_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::LLVM {
class LLVMFunctionType;
} // namespace mlir::LLVM

namespace lithe {

class WeightStore;

struct LowerToKernelsOptions {
  int64_t capacity = 0; // 0: the position table's rows
  bool observe = false; // lithe_k.observe after every transformer-level value
  bool decodeBatch = true; // also @decode_batch (one token of each of several sequences)
};
/// lithe-lower-to-kernels on `module` (errors are emitted on it).
mlir::LogicalResult lowerToKernels(mlir::ModuleOp module, const LowerToKernelsOptions &options);
/// What the float weights become when packed (lithe-pack-weights{precision},
/// lithec --precision): fp32, or bf16 (half the bytes; int8 weights stay int8).
enum class WeightPrecision { F32, BF16 };
/// "fp32" / "bf16"; false for anything else.
bool parseWeightPrecision(llvm::StringRef name, WeightPrecision &out);
/// The names parseWeightPrecision knows, for error messages.
inline constexpr const char *kWeightPrecisionNames = "fp32, bf16";
/// lithe-pack-weights{target=cpu}: packed copies go into `store`; with bf16,
/// f32 linear weights become bf16 panels and each f32 LM-head table a bf16
/// copy.
mlir::LogicalResult packWeights(mlir::ModuleOp module, WeightStore &store,
                                WeightPrecision precision = WeightPrecision::F32);

/// What f32 weights become on CUDA (lithec --target=cuda --precision).
enum class CudaPrecision { F32, F16, BF16 };
/// lithe-pack-weights{target=cuda}: linear weights to `precision` (int8
/// kept) [out][in] `cuda_rows`, the tables of LM heads and embeddings to
/// copies in `precision` (lib/Lowering/PackWeightsCuda.cpp).
mlir::LogicalResult packWeightsCuda(mlir::ModuleOp module, WeightStore &store,
                                    CudaPrecision precision = CudaPrecision::F16);

/// One argument of a kernel call.
struct KernelArg {
  enum Kind {
    Operand,   // the op's operand #operand: a buffer's pointer or an index's value
    Null,      // an absent optional buffer
    I64,       // the constant `i`
    I32,       // the constant `i`
    F32,       // the constant `f`
    RowsTimes, // the op's operand #operand (the rows) times `i`
  } kind;
  unsigned operand = 0;
  int64_t i = 0;
  float f = 0;
};

/// A lithe_k kernel op as a call of its runtime kernel.
struct KernelCall {
  llvm::StringRef kernel; // its name in kernels.h
  llvm::SmallVector<KernelArg, 12> args;
};

/// The call a lithe_k kernel op makes; nullopt for ops that are not kernel
/// calls (buffers, observe) or a linear whose weight is not packed.
std::optional<KernelCall> kernelCall(mlir::Operation *op);

/// A runtime value passed to a kernel by the Evaluator.
union KernelValue {
  void *p;
  int64_t i;
  float f;
};

struct KernelEntry {
  llvm::StringRef name;
  mlir::LLVM::LLVMFunctionType (*type)(mlir::MLIRContext *ctx);
  /// Calls the kernel with args[0..arity); returns its int result (0 for void).
  /// Null for the CUDA ops (the compiler knows only their prototypes).
  int64_t (*invoke)(const KernelValue *args);
  size_t arity;
};
/// Every kernel generated code may call.
llvm::ArrayRef<KernelEntry> kernelTable();
const KernelEntry *findKernel(llvm::StringRef name);

/// The CUDA target's mapping (lib/Lowering/CudaKernelCalls.cpp): the
/// lithe_cuda_op_* call of a lithe_k op (runtime/include/lithe/runtime/
/// cuda_ops.h); nullopt with `why` set when the op has no CUDA kernel.
std::optional<KernelCall> cudaKernelCall(mlir::Operation *op, std::string *why = nullptr);
/// Every CUDA op generated host code may call (no invokers).
llvm::ArrayRef<KernelEntry> cudaKernelTable();

} // namespace lithe

#endif // LITHE_LOWERING_H
