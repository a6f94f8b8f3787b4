//===- KernelDialect.h - the lithe_k dialect: kernel-level ops --*- C++ -*-===//
//
// Public header of the kernel-level dialect (dialects/lithe_k/): buffers,
// one op per runtime kernel, and the names of the attributes the lowering
// passes put on kernel-level modules and functions.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_KERNELDIALECT_H
#define LITHE_KERNELDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/lithe_k/LitheKDialect.h.inc"
#include "dialects/lithe_k/LitheKEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/lithe_k/LitheKTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/lithe_k/LitheKOps.h.inc"

namespace lithe::k {
/// On a kernel-level module (set by lithe-lower-to-kernels, completed by
/// lithe-plan-buffers): the step's row capacity, which is also the KV
/// caches' capacity; the arena's size in bytes; heads and head size of
/// every KV cache ([h0, d0, h1, d1, ...]); the number of attention layers.
inline constexpr llvm::StringLiteral kCapacityAttr = "lithe_k.capacity";
inline constexpr llvm::StringLiteral kArenaBytesAttr = "lithe_k.arena_bytes";
inline constexpr llvm::StringLiteral kCacheShapesAttr = "lithe_k.cache_shapes";
inline constexpr llvm::StringLiteral kLayersAttr = "lithe_k.layers";
/// The kernel-level functions: forward (the transformer) and head (logits).
inline constexpr llvm::StringLiteral kForward = "forward";
inline constexpr llvm::StringLiteral kHead = "head";
inline constexpr llvm::StringLiteral kDecodeBatch = "decode_batch";
} // namespace lithe::k

#endif // LITHE_KERNELDIALECT_H
