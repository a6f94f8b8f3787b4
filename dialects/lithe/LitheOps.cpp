//===- LitheOps.cpp - lithe op verifiers and folders ----------------------===//
//
// Verifiers say what is wrong in terms of the model: which dimension, what
// was expected, what was found.
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace lithe;

#define GET_OP_CLASSES
#include "dialects/lithe/LitheOps.cpp.inc"

namespace {

/// Compares two dimensions that may be dynamic: they conflict only if both
/// are static and differ.
bool dimsConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// Checks that `shape` (ignoring its last dimension) matches `expected`
/// (ignoring its last dimension): the leading batch/sequence dimensions.
LogicalResult verifyLeadingDims(Operation *op, RankedTensorType got,
                                RankedTensorType expected, StringRef gotName,
                                StringRef expectedName) {
  if (got.getRank() != expected.getRank())
    return op->emitOpError() << gotName << " has rank " << got.getRank()
                             << " but " << expectedName << " has rank "
                             << expected.getRank();
  for (int64_t i = 0, e = got.getRank() - 1; i < e; ++i)
    if (dimsConflict(got.getDimSize(i), expected.getDimSize(i)))
      return op->emitOpError()
             << gotName << " dimension " << i << " is "
             << dimStr(got.getDimSize(i)) << " but " << expectedName
             << " dimension " << i << " is " << dimStr(expected.getDimSize(i));
  return success();
}

/// A per-channel vector parameter (scale, bias) of `n` elements.
LogicalResult verifyVector(Operation *op, Value v, int64_t n, StringRef what,
                           StringRef of) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getRank() != 1)
    return op->emitOpError() << what << " must be a vector, got rank "
                             << t.getRank();
  if (dimsConflict(t.getDimSize(0), n))
    return op->emitOpError() << what << " has " << dimStr(t.getDimSize(0))
                             << " elements but " << of << " is " << dimStr(n);
  return success();
}

/// Optional per-channel scale and shift over the last dimension.
LogicalResult verifyAffine(Operation *op, Value scale, Value bias, int64_t width) {
  if (scale && failed(verifyVector(op, scale, width, "scale", "the input width")))
    return failure();
  if (bias && failed(verifyVector(op, bias, width, "bias", "the input width")))
    return failure();
  return success();
}

/// int8 weights come with per-channel scales; float weights do not; int4
/// weights (linear only) come with grouped scales [in / G, out].
LogicalResult verifyQuantScale(Operation *op, RankedTensorType weight,
                               Value scale, int64_t channels,
                               StringRef weightName, StringRef scaleName,
                               bool grouped = false) {
  if (weight.getElementType().isInteger(4)) {
    if (!grouped)
      return op->emitOpError() << "int4 is only allowed for a linear's weight, got "
                               << weightName << " " << weight;
    if (!scale)
      return op->emitOpError() << "int4 " << weightName << " needs " << scaleName
                               << " (one f32 scale per group of inputs and channel)";
    auto st = cast<RankedTensorType>(scale.getType());
    int64_t in = weight.getDimSize(0);
    if (st.getRank() != 2 || dimsConflict(st.getDimSize(1), channels))
      return op->emitOpError() << "int4 " << weightName << " needs " << scaleName
                               << " of shape [in / group, " << channels << "], got " << st;
    int64_t groups = st.getDimSize(0);
    if (!ShapedType::isDynamic(groups) &&
        (groups <= 0 || in % groups != 0 || (in / groups) % 4 != 0))
      return op->emitOpError() << scaleName << " has " << groups << " groups, which do not cut the "
                               << in << " inputs into groups of a multiple of 4";
    return success();
  }
  bool isInt8 = weight.getElementType().isInteger(8);
  if (isInt8 && !scale)
    return op->emitOpError() << "int8 " << weightName << " needs "
                             << scaleName << " (one f32 scale per channel)";
  if (!isInt8 && scale)
    return op->emitOpError() << scaleName << " is only allowed with an int8 "
                             << weightName << ", got "
                             << weight.getElementType();
  if (scale)
    return verifyVector(op, scale, channels, scaleName, "the channel count");
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty weight name");
  auto type = cast<RankedTensorType>(getResult().getType());
  if (!type.hasStaticShape())
    return emitOpError() << "weight '" << getName()
                         << "' must have a static shape, got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  auto valueType = cast<ShapedType>(getValue().getType());
  if (valueType != getResult().getType())
    return emitOpError() << "value type " << valueType
                         << " does not match result type "
                         << getResult().getType();
  if (valueType.getNumElements() > kMaxElements)
    return emitOpError() << "holds " << valueType.getNumElements()
                         << " elements; constants larger than " << kMaxElements
                         << " elements must be lithe.weight references";
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// OnnxOp
//===----------------------------------------------------------------------===//

LogicalResult OnnxOp::verify() {
  if (getOpType().empty())
    return emitOpError("needs an ONNX op_type");
  if (getOpset() < 1)
    return emitOpError() << "opset must be positive, got " << getOpset();
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto table = cast<RankedTensorType>(getTable().getType());
  auto ids = cast<RankedTensorType>(getIds().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (table.getRank() != 2)
    return emitOpError() << "table must be [rows, width], got rank "
                         << table.getRank();
  if (getTableScale() || table.getElementType().isInteger(8)) {
    if (failed(verifyQuantScale(*this, table, getTableScale(), table.getDimSize(0), "table", "table_scale")))
      return failure();
    if (!result.getElementType().isF32())
      return emitOpError() << "an int8 table gives f32 rows, got " << result.getElementType();
  } else if (table.getElementType() != result.getElementType()) {
    return emitOpError() << "result element type " << result.getElementType()
                         << " differs from the table's "
                         << table.getElementType();
  }
  if (result.getRank() != ids.getRank() + 1)
    return emitOpError() << "result must have rank " << ids.getRank() + 1
                         << " (ids rank + 1), got " << result.getRank();
  for (int64_t i = 0; i < ids.getRank(); ++i)
    if (dimsConflict(ids.getDimSize(i), result.getDimSize(i)))
      return emitOpError() << "result dimension " << i << " is "
                           << dimStr(result.getDimSize(i)) << " but ids has "
                           << dimStr(ids.getDimSize(i));
  if (dimsConflict(result.getShape().back(), table.getDimSize(1)))
    return emitOpError() << "result width " << dimStr(result.getShape().back())
                         << " differs from the table width "
                         << table.getDimSize(1);
  return success();
}

//===----------------------------------------------------------------------===//
// PositionIdsOp
//===----------------------------------------------------------------------===//

LogicalResult PositionIdsOp::verify() {
  auto ids = cast<RankedTensorType>(getIds().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (failed(verifyCompatibleShape(ids.getShape(), result.getShape())))
    return emitOpError() << "result shape " << result
                         << " must match the ids shape " << ids;
  return success();
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  if (failed(verifyCompatibleShape(input, getResult().getType())) ||
      input.getElementType() !=
          cast<RankedTensorType>(getResult().getType()).getElementType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must match the input type " << input;
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  return verifyAffine(*this, getScale(), getBias(), input.getShape().back());
}

//===----------------------------------------------------------------------===//
// CenterOp
//===----------------------------------------------------------------------===//

LogicalResult CenterOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  if (input != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must match the input type " << input;
  return verifyAffine(*this, getScale(), getBias(), input.getShape().back());
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto weight = cast<RankedTensorType>(getWeight().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (weight.getRank() != 2)
    return emitOpError() << "weight must be [in, out], got rank "
                         << weight.getRank();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  int64_t in = weight.getDimSize(0), out = weight.getDimSize(1);
  if (dimsConflict(input.getShape().back(), in))
    return emitOpError() << "input width " << dimStr(input.getShape().back())
                         << " does not match the weight's input dimension "
                         << in << " (weight is [in, out] = [" << in << ", "
                         << out << "])";
  if (failed(verifyLeadingDims(*this, result, input, "result", "input")))
    return failure();
  if (dimsConflict(result.getShape().back(), out))
    return emitOpError() << "result width " << dimStr(result.getShape().back())
                         << " does not match the weight's output dimension "
                         << out;
  if (getBias() &&
      failed(verifyVector(*this, getBias(), out, "bias", "the output width")))
    return failure();
  return verifyQuantScale(*this, weight, getWeightScale(), out, "weight",
                          "weight_scale", /*grouped=*/true);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), headDim = getHeadDim();
  if (heads <= 0)
    return emitOpError() << "needs at least one head, got " << heads;
  if (headDim <= 0)
    return emitOpError() << "head_dim must be positive, got " << headDim;
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError() << "scale must be positive, got "
                         << getScale().convertToDouble();

  auto query = cast<RankedTensorType>(getQuery().getType());
  if (query.getRank() != 3)
    return emitOpError() << "query must be [batch, seq, width], got rank "
                         << query.getRank();
  int64_t width = query.getDimSize(2);
  if (!ShapedType::isDynamic(width)) {
    if (width % heads != 0)
      return emitOpError() << "query width " << width
                           << " is not divisible by the head count " << heads;
    if (width != heads * headDim)
      return emitOpError() << "query width " << width << " != heads (" << heads
                           << ") x head_dim (" << headDim << ")";
  }
  if (static_cast<bool>(getKey()) != static_cast<bool>(getValue()))
    return emitOpError("takes keys and values together, or neither");
  for (Value kv : {getKey(), getValue()}) {
    if (!kv)
      continue;
    if (kv.getType() != getQuery().getType())
      return emitOpError() << (kv == getKey() ? "key" : "value") << " type "
                           << kv.getType() << " must match the query type "
                           << query;
  }
  if (getResult().getType() != getQuery().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must match the query type " << query;

  auto cache = cast<KVCacheType>(getCache().getType());
  if (cache.getHeads() != heads || cache.getHeadDim() != headDim)
    return emitOpError() << "cache holds " << cache.getHeads() << " heads of "
                         << cache.getHeadDim() << " but the op has " << heads
                         << " heads of " << headDim;
  return success();
}

//===----------------------------------------------------------------------===//
// LMHeadOp
//===----------------------------------------------------------------------===//

LogicalResult LMHeadOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto table = cast<RankedTensorType>(getTable().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (table.getRank() != 2)
    return emitOpError() << "table must be [vocab, width], got rank "
                         << table.getRank();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  if (dimsConflict(input.getShape().back(), table.getDimSize(1)))
    return emitOpError() << "input width " << dimStr(input.getShape().back())
                         << " does not match the table width "
                         << table.getDimSize(1);
  if (failed(verifyLeadingDims(*this, result, input, "result", "input")))
    return failure();
  if (dimsConflict(result.getShape().back(), table.getDimSize(0)))
    return emitOpError() << "result has " << dimStr(result.getShape().back())
                         << " logits but the vocabulary has "
                         << table.getDimSize(0) << " rows";
  if (getBias() &&
      failed(verifyVector(*this, getBias(), table.getDimSize(0), "bias", "the vocabulary size")))
    return failure();
  if (table.getElementType().isInteger(4)) {
    // int4: one scale per row and group of G columns, [vocab, width / G]
    if (!getTableScale())
      return emitOpError("int4 table needs table_scale (one f32 scale per row and group of columns)");
    auto st = cast<RankedTensorType>(getTableScale().getType());
    int64_t width = table.getDimSize(1);
    if (st.getRank() != 2 || dimsConflict(st.getDimSize(0), table.getDimSize(0)) || st.getDimSize(1) <= 0 ||
        width % st.getDimSize(1) != 0 || (width / st.getDimSize(1)) % 4 != 0)
      return emitOpError() << "int4 table needs table_scale of shape [" << table.getDimSize(0)
                           << ", width / group] (group a multiple of 4 dividing " << width << "), got " << st;
    return success();
  }
  return verifyQuantScale(*this, table, getTableScale(), table.getDimSize(0),
                          "table", "table_scale");
}
