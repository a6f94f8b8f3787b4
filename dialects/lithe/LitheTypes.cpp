//===- LitheTypes.cpp - lithe types ---------------------------------------===//

#include "lithe/Dialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lithe;

#define GET_TYPEDEF_CLASSES
#include "dialects/lithe/LitheTypes.cpp.inc"

// !lithe.kv_cache<HEADSxHEAD_DIMxELEMENT>
Type KVCacheType::parse(AsmParser &parser) {
  SmallVector<int64_t, 2> dims;
  Type elementType;
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  if (dims.size() != 2) {
    parser.emitError(loc, "expected !lithe.kv_cache<HEADSxHEAD_DIMxTYPE>, got ")
        << dims.size() << " dimensions";
    return {};
  }
  return parser.getChecked<KVCacheType>(loc, parser.getContext(), dims[0],
                                        dims[1], elementType);
}

void KVCacheType::print(AsmPrinter &printer) const {
  printer << "<" << getHeads() << "x" << getHeadDim() << "x"
          << getElementType() << ">";
}

LogicalResult
KVCacheType::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                    int64_t heads, int64_t headDim, Type elementType) {
  if (heads <= 0)
    return emitError() << "kv_cache needs at least one head, got " << heads;
  if (headDim <= 0)
    return emitError() << "kv_cache head size must be positive, got "
                       << headDim;
  if (!llvm::isa<Float32Type, Float16Type, BFloat16Type>(elementType) &&
      !elementType.isInteger(8))
    return emitError() << "kv_cache element type must be f32, f16, bf16 or i8, got "
                       << elementType;
  return success();
}

int64_t KVCacheType::getBytesPerPosition() const {
  // Keys and values: 2 * heads * head_dim elements, and for int8 one f32
  // scale per head each.
  return 2 * getHeads() * getHeadDim() *
             static_cast<int64_t>(getElementType().getIntOrFloatBitWidth() / 8) +
         (getElementType().isInteger(8) ? 2 * getHeads() * 4 : 0);
}

void LitheDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/lithe/LitheTypes.cpp.inc"
      >();
}
