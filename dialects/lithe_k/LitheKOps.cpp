//===- LitheKOps.cpp - lithe_k op verifiers -------------------------------===//
//
// Every kernel op checks that its buffers have the shapes the kernel will
// read and write, so a lowering bug is caught at the op that has it, not as
// a wrong answer at run time.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace lithe::k;

#define GET_OP_CLASSES
#include "dialects/lithe_k/LitheKOps.cpp.inc"

namespace {

BufferType buf(Value v) { return cast<BufferType>(v.getType()); }

/// A per-token activation: [?, cols] f32.
LogicalResult rowsF32(Operation *op, Value v, StringRef what, int64_t cols = 0) {
  BufferType t = buf(v);
  if (t.getShape().size() != 2 || !t.isRows() || !t.getElementType().isF32())
    return op->emitOpError() << what << " must be a [?, cols] f32 buffer (one row per token), got " << t;
  if (cols && t.getCols() != cols)
    return op->emitOpError() << what << " has " << t.getCols() << " columns, expected " << cols;
  return success();
}

/// A per-channel vector of a weights file: [n] f32.
LogicalResult vectorF32(Operation *op, Value v, StringRef what, int64_t n) {
  if (!v) return success();
  BufferType t = buf(v);
  if (t.getShape().size() != 1 || t.getShape()[0] != n || !t.getElementType().isF32())
    return op->emitOpError() << what << " must be a [" << n << "] f32 buffer, got " << t;
  return success();
}

/// A static [a, b] table.
LogicalResult table2(Operation *op, Value v, StringRef what) {
  BufferType t = buf(v);
  if (t.getShape().size() != 2 || t.isRows())
    return op->emitOpError() << what << " must be a static [rows, cols] buffer, got " << t;
  return success();
}

} // namespace

LogicalResult WeightOp::verify() {
  BufferType t = getResult().getType();
  if (t.isRows()) return emitOpError("a weight has a static shape, got ") << t;
  Type e = t.getElementType();
  if (getLayout() == Layout::cpu_panels &&
      (t.getShape().size() != 2 || !(e.isF32() || e.isBF16() || e.isInteger(8) || e.isInteger(4))))
    return emitOpError("cpu_panels holds an [in, out] f32, bf16, i8 or i4 matrix, got ") << t;
  return success();
}

LogicalResult ArenaOp::verify() {
  if (getOffset() && *getOffset() < 0) return emitOpError("negative arena offset ") << *getOffset();
  return rowsF32(*this, getResult(), "an arena slot");
}

LogicalResult TableRowsOp::verify() {
  if (failed(table2(*this, getTable(), "table"))) return failure();
  return rowsF32(*this, getResult(), "the view", buf(getTable()).getCols());
}

LogicalResult CachePlaneOp::verify() {
  BufferType t = getResult().getType();
  Type e = cast<CachesType>(getCaches().getType()).getElementType();
  if (t.getShape().size() != 3 || t.isRows() || t.getElementType() != e)
    return emitOpError("a cache plane is a static [heads, capacity, head_dim] buffer of its caches' ")
           << e << ", got " << t;
  if (getIndex() < 0) return emitOpError("negative cache index");
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (failed(table2(*this, getTable(), "table"))) return failure();
  Type e = buf(getTable()).getElementType();
  bool q8 = e.isInteger(8);
  if (!e.isF32() && !e.isBF16() && !q8) return emitOpError("table must be f32, bf16 or i8, got ") << buf(getTable());
  if (q8 != (getTableScale() != nullptr))
    return emitOpError(q8 ? "an i8 table needs table_scale" : "only an i8 table takes table_scale");
  if (q8) {
    BufferType sc = buf(getTableScale());
    if (sc.getShape().size() != 1 || sc.getShape()[0] != buf(getTable()).getShape()[0] || !sc.getElementType().isF32())
      return emitOpError("table_scale must be one f32 per table row, got ") << sc;
  }
  BufferType ids = buf(getIds());
  if (ids.getShape().size() != 1 || !ids.isRows() || !ids.getElementType().isInteger(64))
    return emitOpError("ids must be a [?] i64 buffer, got ") << ids;
  return rowsF32(*this, getOut(), "out", buf(getTable()).getCols());
}

LogicalResult EmbedPositionsOp::verify() {
  if (failed(table2(*this, getTable(), "table")) || failed(table2(*this, getPositions(), "positions")))
    return failure();
  BufferType t = buf(getTable()), p = buf(getPositions());
  Type e = t.getElementType();
  bool q8 = e.isInteger(8);
  Type pe = p.getElementType();
  if (!(e.isF32() || e.isF16() || e.isBF16() || q8) || !(pe.isF32() || pe.isF16() || pe.isBF16()) ||
      t.getCols() != p.getCols())
    return emitOpError("table (f32, f16, bf16 or i8) and positions (f32, f16 or bf16) must have one width, got ")
           << t << " and " << p;
  if (q8 != (getTableScale() != nullptr))
    return emitOpError(q8 ? "an i8 table needs table_scale" : "only an i8 table takes table_scale");
  if (failed(vectorF32(*this, getTableScale(), "table_scale", t.getShape()[0]))) return failure();
  BufferType ids = buf(getIds());
  if (ids.getShape().size() != 1 || !ids.isRows() || !ids.getElementType().isInteger(64))
    return emitOpError("ids must be a [?] i64 buffer, got ") << ids;
  return rowsF32(*this, getOut(), "out", t.getCols());
}

LogicalResult AddOp::verify() {
  int64_t c = buf(getOut()).getCols();
  if (failed(rowsF32(*this, getOut(), "out")) || failed(rowsF32(*this, getLhs(), "lhs", c)) ||
      failed(rowsF32(*this, getRhs(), "rhs", c)))
    return failure();
  return success();
}

LogicalResult LayerNormOp::verify() {
  int64_t c = buf(getInput()).getCols();
  if (failed(rowsF32(*this, getInput(), "input")) || failed(rowsF32(*this, getOut(), "out", c)) ||
      failed(vectorF32(*this, getScale(), "scale", c)) || failed(vectorF32(*this, getBias(), "bias", c)))
    return failure();
  return success();
}

LogicalResult CenterOp::verify() {
  int64_t c = buf(getInput()).getCols();
  if (failed(rowsF32(*this, getInput(), "input")) || failed(rowsF32(*this, getOut(), "out", c)))
    return failure();
  return success();
}

LogicalResult AffineRowsOp::verify() {
  int64_t c = buf(getData()).getCols();
  if (failed(rowsF32(*this, getData(), "data")) || failed(vectorF32(*this, getScale(), "scale", c)) ||
      failed(vectorF32(*this, getBias(), "bias", c)))
    return failure();
  return success();
}

bool LinearOp::isPacked() {
  auto w = getWeight().getDefiningOp<WeightOp>();
  return w && w.getLayout() != Layout::row_major;
}

LogicalResult LinearOp::verify() {
  BufferType w = buf(getWeight());
  Type e = w.getElementType();
  if (w.getShape().size() != 2 || w.isRows() ||
      !(e.isF32() || e.isBF16() || e.isF16() || e.isInteger(8) || e.isInteger(4)))
    return emitOpError("weight must be a static [in, out] f32, bf16, f16, i8 or i4 buffer, got ") << w;
  auto wop = getWeight().getDefiningOp<WeightOp>();
  Layout layout = wop ? wop.getLayout() : Layout::row_major;
  // bf16 exists only as lithe-pack-weights{precision=bf16}'s panels, f16
  // only as lithe-pack-weights{target=cuda}'s rows.
  if (e.isBF16() && layout == Layout::row_major)
    return emitOpError("a bf16 weight must be packed (cpu_panels or cuda_rows), got ") << w;
  if (e.isF16() && layout != Layout::cuda_rows)
    return emitOpError("an f16 weight must be in the cuda_rows layout, got ") << w;
  if (layout == Layout::cuda_rows && e.isInteger(4))
    return emitOpError("a cuda_rows weight is f32, f16, bf16 or i8, got ") << w;
  int64_t K = w.getShape()[0], N = w.getShape()[1];
  bool q4 = e.isInteger(4);
  // An int4 weight's scales cover `group` inputs each (kernels.h: a multiple
  // of 4 that divides K); no other weight has groups.
  if (q4 != getGroup().has_value())
    return emitOpError(q4 ? "an i4 weight needs a group" : "only an i4 weight takes a group");
  if (q4 && (*getGroup() <= 0 || *getGroup() % 4 != 0 || K % *getGroup() != 0))
    return emitOpError() << "group " << *getGroup() << " must be a positive multiple of 4 dividing " << K;
  // Packed int8 / int4 panels carry their scales; row-major and CUDA rows need them.
  bool needsScale = (e.isInteger(8) || q4) && layout != Layout::cpu_panels;
  if (needsScale != (getWeightScale() != nullptr))
    return emitOpError(needsScale ? (q4 ? "a row-major i4 weight needs weight_scale"
                                        : "a row-major i8 weight needs weight_scale")
                                  : "only a row-major i8 or i4 weight takes weight_scale");
  if (q4 && getWeightScale()) {
    BufferType s = buf(getWeightScale());
    if (s.isRows() || !s.getElementType().isF32() ||
        s.getShape() != ArrayRef<int64_t>{K / *getGroup(), N})
      return emitOpError() << "an i4 weight's weight_scale must be [" << K / *getGroup() << ", " << N
                           << "] f32, got " << s;
  } else if (failed(vectorF32(*this, getWeightScale(), "weight_scale", N))) {
    return failure();
  }
  if (failed(rowsF32(*this, getInput(), "input", K)) || failed(rowsF32(*this, getOut(), "out", N)) ||
      failed(vectorF32(*this, getBias(), "bias", N)))
    return failure();
  return success();
}

LogicalResult LinearSplitOp::verify() {
  BufferType w = buf(getWeight());
  Type e = w.getElementType();
  if (w.getShape().size() != 2 || w.isRows() || !(e.isF32() || e.isBF16() || e.isF16() || e.isInteger(8)))
    return emitOpError("weight must be a static [in, out] f32, bf16, f16 or i8 buffer, got ") << w;
  auto wop = getWeight().getDefiningOp<WeightOp>();
  Layout layout = wop ? wop.getLayout() : Layout::row_major;
  if (layout == Layout::cpu_panels) return emitOpError("a split linear's weight is row_major or cuda_rows");
  if ((e.isF16() || e.isBF16()) && layout != Layout::cuda_rows)
    return emitOpError("an f16 or bf16 weight must be in the cuda_rows layout, got ") << w;
  if (e.isInteger(8) != (getWeightScale() != nullptr))
    return emitOpError(e.isInteger(8) ? "an i8 weight needs weight_scale" : "only an i8 weight takes weight_scale");
  int64_t K = w.getShape()[0], N = w.getShape()[1], sum = 0;
  if (getOuts().size() < 2 || getOuts().size() > 3) return emitOpError("splits into 2 or 3 outputs");
  for (Value o : getOuts()) {
    if (failed(rowsF32(*this, o, "out"))) return failure();
    sum += buf(o).getCols();
  }
  if (sum != N) return emitOpError() << "the outputs' widths sum to " << sum << ", the weight has " << N << " columns";
  if (failed(rowsF32(*this, getInput(), "input", K)) || failed(vectorF32(*this, getWeightScale(), "weight_scale", N)) ||
      failed(vectorF32(*this, getBias(), "bias", N)))
    return failure();
  return success();
}

LogicalResult GeluOp::verify() {
  int64_t c = buf(getInput()).getCols();
  if (failed(rowsF32(*this, getInput(), "input")) || failed(rowsF32(*this, getOut(), "out", c)))
    return failure();
  return success();
}

namespace {
LogicalResult planeMatches(Operation *op, Value plane, int64_t cols) {
  BufferType p = buf(plane);
  if (p.getShape().size() != 3 || p.isRows() ||
      !(p.getElementType().isF32() || p.getElementType().isF16() || p.getElementType().isInteger(8)))
    return op->emitOpError("a cache plane is a static [heads, capacity, head_dim] f32, f16 or i8 buffer, got ") << p;
  if (p.getShape()[0] * p.getShape()[2] != cols)
    return op->emitOpError() << "rows of " << cols << " values do not fill " << p.getShape()[0]
                             << " heads of " << p.getShape()[2];
  return success();
}
} // namespace

LogicalResult KVAppendOp::verify() {
  int64_t c = buf(getKey()).getCols();
  if (failed(rowsF32(*this, getKey(), "key")) || failed(planeMatches(*this, getKeyPlane(), c)))
    return failure();
  return success();
}

LogicalResult AttentionOp::verify() {
  int64_t c = buf(getQuery()).getCols();
  if (failed(rowsF32(*this, getQuery(), "query")) || failed(rowsF32(*this, getOut(), "out", c)) ||
      failed(planeMatches(*this, getKeyPlane(), c)))
    return failure();
  return success();
}

namespace {
/// A batched-decode op's shapes: rows of heads * head_dim, pasts [?] i64.
LogicalResult rowsOfSequences(Operation *op, Value rowsBuf, Value pasts, int64_t heads, int64_t headDim,
                              int64_t cache, int64_t caches) {
  if (heads <= 0 || headDim <= 0) return op->emitOpError("heads and head_dim must be positive");
  if (cache < 0 || cache >= caches) return op->emitOpError() << "cache " << cache << " is not one of " << caches;
  if (failed(rowsF32(op, rowsBuf, "rows", heads * headDim))) return failure();
  BufferType p = buf(pasts);
  if (p.getShape().size() != 1 || !p.isRows() || !p.getElementType().isInteger(64))
    return op->emitOpError("pasts must be a [?] i64 buffer (one position per sequence), got ") << p;
  return success();
}
} // namespace

LogicalResult KVAppendRowsOp::verify() {
  if (failed(rowsF32(*this, getValue(), "value", buf(getKey()).getCols()))) return failure();
  return rowsOfSequences(*this, getKey(), getPasts(), getHeads(), getHeadDim(), getCache(), getCaches());
}

LogicalResult AttentionRowsOp::verify() {
  if (failed(rowsF32(*this, getOut(), "out", buf(getQuery()).getCols()))) return failure();
  return rowsOfSequences(*this, getQuery(), getPasts(), getHeads(), getHeadDim(), getCache(), getCaches());
}

LogicalResult LMHeadOp::verify() {
  if (failed(table2(*this, getTable(), "table"))) return failure();
  BufferType t = buf(getTable());
  int64_t V = t.getShape()[0], D = t.getShape()[1];
  if (t.getElementType().isInteger(4)) {
    auto w = getTable().getDefiningOp<WeightOp>();
    bool packed = w && w.getLayout() == Layout::cpu_panels;
    if (!getGroup() || *getGroup() <= 0 || *getGroup() % 4 != 0 || D % *getGroup() != 0)
      return emitOpError() << "an i4 table needs a group, a positive multiple of 4 dividing " << D;
    if (packed == (getTableScale() != nullptr))
      return emitOpError(packed ? "a packed i4 table carries its scales" : "a row-major i4 table needs table_scale");
    if (getTableScale()) {
      BufferType s = buf(getTableScale());
      if (s.isRows() || !s.getElementType().isF32() || s.getShape() != ArrayRef<int64_t>{V, D / *getGroup()})
        return emitOpError() << "an i4 table's table_scale must be [" << V << ", " << D / *getGroup()
                             << "] f32, got " << s;
    }
    if (failed(rowsF32(*this, getInput(), "input", D)) || failed(rowsF32(*this, getOut(), "out", V)))
      return failure();
    return success();
  }
  if (getGroup()) return emitOpError("only an i4 table takes a group");
  bool q8 = t.getElementType().isInteger(8);
  if (!q8 && !t.getElementType().isF32() && !t.getElementType().isBF16() && !t.getElementType().isF16())
    return emitOpError("table must be f32, bf16, f16, i8 or i4, got ") << t;
  if (q8 != (getTableScale() != nullptr))
    return emitOpError(q8 ? "an i8 table needs table_scale" : "only an i8 table takes table_scale");
  if (failed(rowsF32(*this, getInput(), "input", D)) || failed(rowsF32(*this, getOut(), "out", V)) ||
      failed(vectorF32(*this, getTableScale(), "table_scale", V)))
    return failure();
  return success();
}

LogicalResult AddRowsOp::verify() {
  int64_t c = buf(getData()).getCols();
  if (failed(rowsF32(*this, getData(), "data")) || failed(vectorF32(*this, getBias(), "bias", c)))
    return failure();
  return success();
}
