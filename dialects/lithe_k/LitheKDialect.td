//===- LitheKDialect.td - the lithe_k kernel-level dialect ---*- tablegen -*-===//
//
// The kernel level: what the runtime's CPU (and later CUDA) kernels compute,
// in destination-passing style over buffers. Below the transformer level
// (`lithe`), above the LLVM dialect. Produced by lithe-lower-to-kernels,
// rewritten by lithe-fuse-kernels, lithe-pack-weights and
// lithe-plan-buffers, lowered by lithe-kernels-to-llvm.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_K_DIALECT_TD
#define LITHE_K_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LitheK_Dialect : Dialect {
  let name = "lithe_k";
  let cppNamespace = "::lithe::k";
  let summary = "Kernel-level ops: one op per runtime kernel, over planned buffers";
  let description = [{
    A kernel-level function is a straight line of kernel ops, each reading
    and writing `!lithe_k.buf` views: slots of the activation arena
    (`lithe_k.arena`, placed by lithe-plan-buffers), tensors of the mapped
    weights file (`lithe_k.weight`, possibly in a kernel's packed layout),
    planes of the KV caches (`lithe_k.cache_plane`) and the caller's
    buffers (function arguments). Kernel ops have no results (except the
    status of `lithe_k.kv_append`): they write their `out` operand.

    A buffer whose first dimension is `?` holds one row per token of the
    step; the `rows` operand of every kernel op says how many.
  }];
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerTypes();
  }];
}

class LitheK_Op<string mnemonic, list<Trait> traits = []>
    : Op<LitheK_Dialect, mnemonic, traits>;

#endif // LITHE_K_DIALECT_TD
