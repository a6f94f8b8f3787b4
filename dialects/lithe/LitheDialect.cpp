//===- LitheDialect.cpp - lithe dialect registration ----------------------===//

#include "lithe/Dialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lithe;

#include "dialects/lithe/LitheDialect.cpp.inc"
#include "dialects/lithe/LitheEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/lithe/LitheAttrs.cpp.inc"

void LitheDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/lithe/LitheOps.cpp.inc"
      >();
  registerTypes();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/lithe/LitheAttrs.cpp.inc"
      >();
}
