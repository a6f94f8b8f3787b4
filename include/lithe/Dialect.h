//===- Dialect.h - the lithe dialect: ops, types, attributes ----*- C++ -*-===//
//
// Public header of the lithe dialect. Everything generated from
// dialects/lithe/*.td is reachable through this one include.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_DIALECT_H
#define LITHE_DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <memory>

namespace lithe {
class WeightStore;
} // namespace lithe

#include "dialects/lithe/LitheDialect.h.inc"
#include "dialects/lithe/LitheEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/lithe/LitheAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/lithe/LitheTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/lithe/LitheOps.h.inc"

#endif // LITHE_DIALECT_H
