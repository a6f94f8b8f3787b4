//===- LitheKDialect.cpp - lithe_k registration and types -----------------===//

#include <algorithm>
#include "lithe/KernelDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lithe::k;

#include "dialects/lithe_k/LitheKDialect.cpp.inc"
#include "dialects/lithe_k/LitheKEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/lithe_k/LitheKTypes.cpp.inc"

void LitheKDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/lithe_k/LitheKOps.cpp.inc"
      >();
  registerTypes();
}

void LitheKDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/lithe_k/LitheKTypes.cpp.inc"
      >();
}

// !lithe_k.buf<?x768xf32>
Type BufferType::parse(AsmParser &parser) {
  SmallVector<int64_t, 3> shape;
  Type elementType;
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/true, /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  return parser.getChecked<BufferType>(loc, parser.getContext(), shape, elementType);
}

void BufferType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t d : getShape()) {
    if (ShapedType::isDynamic(d)) printer << "?";
    else printer << d;
    printer << "x";
  }
  printer << getElementType() << ">";
}

LogicalResult BufferType::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, Type elementType) {
  if (shape.empty()) return emitError() << "a buffer needs at least one dimension";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (ShapedType::isDynamic(shape[i]) && i != 0)
      return emitError() << "only a buffer's first dimension (its rows) may be '?'";
    if (!ShapedType::isDynamic(shape[i]) && shape[i] <= 0)
      return emitError() << "buffer dimension " << i << " must be positive, got " << shape[i];
  }
  if (!elementType.isF32() && !elementType.isBF16() && !elementType.isF16() && !elementType.isInteger(8) &&
      !elementType.isInteger(4) && !elementType.isInteger(64))
    return emitError() << "buffer elements must be f32, bf16, f16, i8, i4 or i64, got " << elementType;
  return success();
}

// !lithe_k.caches (f32 planes) or !lithe_k.caches<f16>
Type CachesType::parse(AsmParser &parser) {
  Type elementType = Float32Type::get(parser.getContext());
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (succeeded(parser.parseOptionalLess()) && (parser.parseType(elementType) || parser.parseGreater()))
    return {};
  return parser.getChecked<CachesType>(loc, parser.getContext(), elementType);
}

void CachesType::print(AsmPrinter &printer) const {
  if (!getElementType().isF32()) printer << "<" << getElementType() << ">";
}

LogicalResult CachesType::verify(llvm::function_ref<InFlightDiagnostic()> emitError, Type elementType) {
  if (!elementType || !(elementType.isF32() || elementType.isF16() || elementType.isInteger(8)))
    return emitError() << "cache planes hold f32, f16 or i8, got " << elementType;
  return success();
}

int64_t BufferType::getElementBytes() const {
  // i4: only a row-major linear weight, stored one value per byte
  return std::max<int64_t>(1, getElementType().getIntOrFloatBitWidth() / 8);
}
