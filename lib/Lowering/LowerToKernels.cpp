//===- LowerToKernels.cpp - transformer level to lithe_k ------------------===//
//
// The core of lithe-lower-to-kernels (passes/LowerToKernels.cpp), also run by
// the calibration Evaluator (with observe markers) on a copy of the module.
// Transformer level (tensors, one value per activation) to kernel level
// (lithe_k: one op per runtime kernel, writing buffers). The mapping is
// one-to-one except:
//   * a position embedding becomes a view of its table (lithe_k.table_rows),
//   * a center with scale or bias becomes center + affine_rows,
//   * an attention that appends becomes kv_append + attention, the append's
//     status or-ed into @forward's result,
//   * the LM head moves to its own function, @head, and its input is
//     written to @forward's `hidden` argument.
// Fusion (lithe-fuse-kernels), packing (lithe-pack-weights) and placement
// (lithe-plan-buffers) are later passes.
//
//===----------------------------------------------------------------------===//

#include "lithe/Lowering.h"

#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/FormatVariadic.h"

#include <map>

namespace lithe {
namespace {

using namespace mlir;

/// "'lithe.gelu' (from ONNX node 'x')": what an error about `op` names.
std::string where(Operation *op) {
  if (auto o = dyn_cast<OnnxOp>(op))
    return "ONNX " + o.getOpType().str() +
           (o.getNodeName() ? " node '" + o.getNodeName()->str() + "'" : std::string(" node"));
  std::string what = "'" + op->getName().getStringRef().str() + "'";
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    what += " (from ONNX node '" + name.getName().str() + "')";
  return what;
}

int64_t lastDim(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }

class Lowering {
public:
  Lowering(ModuleOp module, int64_t capacity, bool observe, bool decodeBatch)
      : module(module), ctx(module.getContext()), b(ctx), capacity(capacity), observe(observe),
        decodeBatch(decodeBatch) {}

  /// False after emitting an error.
  bool run();

private:
  bool fail(Operation *op, const Twine &msg) {
    (op ? op->emitError() : module.emitError()) << msg;
    return false;
  }
  k::BufferType rowsType(int64_t cols, Type element) {
    return k::BufferType::get(ctx, {ShapedType::kDynamic, cols}, element);
  }
  k::BufferType staticType(Value tensor) {
    auto t = cast<RankedTensorType>(tensor.getType());
    return k::BufferType::get(ctx, t.getShape(), t.getElementType());
  }
  /// The lithe_k.weight for a lithe.weight, made once per function.
  Value weight(Value tensor) {
    auto w = tensor.getDefiningOp<WeightOp>();
    std::string name = w.getName().str();
    auto it = weights.find(name);
    if (it != weights.end()) return it->second;
    auto kw = b.create<k::WeightOp>(w.getLoc(), staticType(tensor), weightsArg, w.getNameAttr(),
                                    k::Layout::row_major);
    return weights[name] = kw.getResult();
  }
  Value weightOrNull(Value tensor) { return tensor ? weight(tensor) : Value(); }
  /// A fresh arena slot for `result` (or the caller's hidden buffer).
  Value output(Operation *op, Value result) {
    if (result == hidden) return hiddenArg;
    return b.create<k::ArenaOp>(op->getLoc(), rowsType(lastDim(result), b.getF32Type()), arenaArg,
                                IntegerAttr()).getResult();
  }
  /// The buffer holding an already lowered value.
  Value in(Value v) { return buffers.lookup(v); }
  bool checkOperands(Operation *op);
  bool lowerOp(Operation &op);
  bool checkForward();

  ModuleOp module;
  MLIRContext *ctx;
  OpBuilder b;
  int64_t capacity;
  bool observe;     // a lithe_k.observe after each op's result
  bool decodeBatch; // also make @decode_batch
  bool batched = false; // lowering @decode_batch now
  func::FuncOp fn;
  LMHeadOp head;
  Value hidden; // the lm_head's input
  // Arguments of the kernel-level @forward.
  Value weightsArg, arenaArg, keysArg, valuesArg, idsArg, rowsArg, pastArg, hiddenArg, status;
  Operation *zero = nullptr; // the status before any append; cache planes follow it
  llvm::DenseMap<Value, Value> buffers;
  std::map<std::string, Value> weights;
  std::map<unsigned, std::pair<Value, Value>> planes; // cache argument -> key, value plane
};

bool Lowering::checkForward() {
  Block &body = fn.getBody().front();
  // An ONNX op that raising left generic is the most useful thing to name.
  for (Operation &op : body)
    if (isa<OnnxOp>(op))
      return fail(&op, "cannot compile " + where(&op) + ": not a transformer-level op (it was not raised)");
  auto args = fn.getArguments();
  if (args.size() < 2 || !isa<RankedTensorType>(args[0].getType()) || !args[1].getType().isIndex())
    return fail(fn, "@forward must take (ids, past_len, caches...): import a GPT-2 model with lithec");
  // Batch: one sequence per context (its own KV caches and past length);
  // several sequences are several contexts. A module whose ids fix another
  // batch size is refused rather than compiled as batch 1.
  if (auto ids = cast<RankedTensorType>(args[0].getType());
      ids.getRank() == 2 && !ids.isDynamicDim(0) && ids.getDimSize(0) != 1)
    return fail(fn, "@forward takes a batch of " + std::to_string(ids.getDimSize(0)) +
                        " sequences; a compiled model runs one sequence per context (batch 1): "
                        "export with a dynamic or unit batch");
  // One cache element type for the whole model: the caches table's.
  for (size_t a = 2; a < args.size(); ++a) {
    auto c = dyn_cast<KVCacheType>(args[a].getType());
    if (!c || !(c.getElementType().isF32() || c.getElementType().isF16() || c.getElementType().isInteger(8)))
      return fail(fn, "@forward argument " + std::to_string(a) + " is not an f32, f16 or i8 !lithe.kv_cache");
    if (c.getElementType() != cast<KVCacheType>(args[2].getType()).getElementType())
      return fail(fn, "@forward's KV caches mix element types (argument " + std::to_string(a) +
                          "): run lithe-kv-precision to give them one");
  }
  for (Operation &op : body) {
    if (isa<WeightOp, func::ReturnOp, PositionIdsOp>(op)) continue;
    if (auto h = dyn_cast<LMHeadOp>(op)) {
      if (head) return fail(&op, "more than one lm_head");
      head = h;
      hidden = h.getInput();
      continue;
    }
    if (!isa<EmbeddingOp, AddOp, LayerNormOp, CenterOp, LinearOp, GeluOp, AttentionOp>(op))
      return fail(&op, "cannot compile " + where(&op) + ": not a transformer-level op (it was not raised)");
    for (Value r : op.getResults()) {
      auto t = cast<RankedTensorType>(r.getType());
      if (t.getRank() < 2 || t.getRank() > 3 || (t.getRank() == 3 && t.getDimSize(0) > 1) ||
          ShapedType::isDynamic(t.getShape().back()) || !t.getElementType().isF32())
        return fail(&op, "cannot compile " + where(&op) + ": result " + llvm::formatv("{0}", t).str() +
                             " is not [1, tokens, width] f32");
    }
  }
  if (!head) return fail(fn, "the model has no lm_head");
  if (!hidden.getDefiningOp() || isa<WeightOp>(hidden.getDefiningOp()) ||
      (isa<EmbeddingOp>(hidden.getDefiningOp()) &&
       cast<EmbeddingOp>(hidden.getDefiningOp()).getIds().getDefiningOp<PositionIdsOp>()))
    return fail(head, "the lm_head's input must be computed by the model");
  // Every weight operand is a lithe.weight (the data is in the file).
  for (Operation &op : body)
    if (!isa<func::ReturnOp>(op))
      for (Value v : op.getOperands())
        if (isa<RankedTensorType>(v.getType()) && !v.getDefiningOp() && v != fn.getArgument(0))
          return fail(&op, "cannot compile " + where(&op) + ": an operand is a function argument");
  return true;
}

bool Lowering::checkOperands(Operation *op) {
  for (Value v : op->getOperands()) {
    if (!isa<RankedTensorType>(v.getType())) continue;
    Operation *def = v.getDefiningOp();
    if (!def || isa<WeightOp, PositionIdsOp>(def)) continue;
    if (!buffers.count(v))
      return fail(op, "cannot compile " + where(op) + ": it reads a value no kernel computes");
  }
  return true;
}

bool Lowering::lowerOp(Operation &op) {
  if (isa<WeightOp, func::ReturnOp, PositionIdsOp, LMHeadOp>(op)) return true;
  if (!checkOperands(&op)) return false;
  Location loc = op.getLoc();
  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    if (!e.getTable().getDefiningOp<WeightOp>()) return fail(&op, "embedding table is not a lithe.weight");
    if (e.getIds().getDefiningOp<PositionIdsOp>() && e.getTableScale())
      return fail(&op, "cannot compile " + where(&op) + ": an int8 position table (it is read in place as f32)");
    if (e.getIds().getDefiningOp<PositionIdsOp>() && batched) {
      // One row per sequence, at its own position: a gather.
      Value out = output(&op, e.getResult());
      b.create<k::EmbeddingOp>(loc, weight(e.getTable()), pastArg, rowsArg, out, Value());
      buffers[e.getResult()] = out;
      return true;
    }
    if (e.getIds().getDefiningOp<PositionIdsOp>()) {
      // Rows [past, past + rows) of the table, read in place.
      buffers[e.getResult()] = b.create<k::TableRowsOp>(loc, rowsType(lastDim(e.getResult()), b.getF32Type()),
                                                        weight(e.getTable()), pastArg);
      return true;
    }
    if (e.getIds() != fn.getArgument(0)) return fail(&op, "token embedding must read the ids argument");
    Value out = output(&op, e.getResult());
    b.create<k::EmbeddingOp>(loc, weight(e.getTable()), idsArg, rowsArg, out, weightOrNull(e.getTableScale()));
    buffers[e.getResult()] = out;
  } else if (auto a = dyn_cast<AddOp>(op)) {
    Value out = output(&op, a.getResult());
    b.create<k::AddOp>(loc, in(a.getLhs()), in(a.getRhs()), rowsArg, out);
    buffers[a.getResult()] = out;
  } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
    Value out = output(&op, ln.getResult());
    b.create<k::LayerNormOp>(loc, in(ln.getInput()), rowsArg, weightOrNull(ln.getScale()),
                             weightOrNull(ln.getBias()), ln.getEpsilonAttr(), out);
    buffers[ln.getResult()] = out;
  } else if (auto c = dyn_cast<CenterOp>(op)) {
    Value out = output(&op, c.getResult());
    b.create<k::CenterOp>(loc, in(c.getInput()), rowsArg, out);
    if (c.getScale() || c.getBias())
      b.create<k::AffineRowsOp>(loc, out, rowsArg, weightOrNull(c.getScale()), weightOrNull(c.getBias()));
    buffers[c.getResult()] = out;
  } else if (auto lin = dyn_cast<LinearOp>(op)) {
    for (Value w : {lin.getWeight(), lin.getBias(), lin.getWeightScale()})
      if (w && !w.getDefiningOp<WeightOp>())
        return fail(&op, "cannot compile " + where(&op) + ": its weights are not lithe.weight tensors");
    Value out = output(&op, lin.getResult());
    // int4: inputs per scale, from the grouped scales' shape [in / group, out]
    IntegerAttr group;
    auto wt = cast<RankedTensorType>(lin.getWeight().getType());
    if (wt.getElementType().isInteger(4))
      group = b.getI64IntegerAttr(wt.getDimSize(0) /
                                  cast<RankedTensorType>(lin.getWeightScale().getType()).getDimSize(0));
    b.create<k::LinearOp>(loc, in(lin.getInput()), rowsArg, weight(lin.getWeight()),
                          weightOrNull(lin.getWeightScale()), weightOrNull(lin.getBias()),
                          k::Epilogue::none, group, out);
    buffers[lin.getResult()] = out;
  } else if (auto g = dyn_cast<GeluOp>(op)) {
    Value out = output(&op, g.getResult());
    b.create<k::GeluOp>(loc, in(g.getInput()), rowsArg,
                        g.getApproximation() == GeluApproximation::tanh ? b.getUnitAttr() : UnitAttr(), out);
    buffers[g.getResult()] = out;
  } else if (auto at = dyn_cast<AttentionOp>(op)) {
    auto cacheArg = dyn_cast<BlockArgument>(at.getCache());
    if (!cacheArg || cacheArg.getOwner() != &fn.getBody().front())
      return fail(&op, "cannot compile " + where(&op) + ": its KV cache is not an argument of @forward");
    unsigned idx = cacheArg.getArgNumber() - 2;
    auto cacheType = cast<KVCacheType>(at.getCache().getType());
    if (cacheType.getHeads() != at.getNumHeads() || cacheType.getHeadDim() != at.getHeadDim())
      return fail(&op, "cannot compile " + where(&op) + ": its heads do not match its KV cache's");
    if (batched) {
      int64_t caches = static_cast<int64_t>(fn.getNumArguments()) - 2;
      auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
      if (at.writesCache()) {
        Value s = b.create<k::KVAppendRowsOp>(loc, b.getI32Type(), in(at.getKey()), in(at.getValue()), rowsArg,
                                              keysArg, valuesArg, pastArg, i64(idx), i64(caches),
                                              i64(at.getNumHeads()), i64(at.getHeadDim()), i64(capacity));
        status = b.create<arith::OrIOp>(loc, status, s);
      }
      Value out = output(&op, at.getResult());
      b.create<k::AttentionRowsOp>(loc, in(at.getQuery()), rowsArg, keysArg, valuesArg, pastArg, i64(idx),
                                   i64(caches), i64(at.getNumHeads()), i64(at.getHeadDim()), i64(capacity),
                                   b.getF32FloatAttr(static_cast<float>(at.getScale().convertToDouble())), out);
      buffers[at.getResult()] = out;
      return true;
    }
    auto &[kp, vp] = planes[idx];
    if (!kp) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfter(zero);
      auto planeType = k::BufferType::get(ctx, {cacheType.getHeads(), capacity, cacheType.getHeadDim()},
                                          cacheType.getElementType());
      kp = b.create<k::CachePlaneOp>(loc, planeType, keysArg, idx);
      vp = b.create<k::CachePlaneOp>(loc, planeType, valuesArg, idx);
    }
    if (at.writesCache()) {
      Value s = b.create<k::KVAppendOp>(loc, b.getI32Type(), in(at.getKey()), in(at.getValue()), rowsArg, kp,
                                        vp, pastArg);
      status = b.create<arith::OrIOp>(loc, status, s);
    }
    Value out = output(&op, at.getResult());
    b.create<k::AttentionOp>(loc, in(at.getQuery()), rowsArg, kp, vp, pastArg,
                             b.getF32FloatAttr(static_cast<float>(at.getScale().convertToDouble())),
                             at.getCausal() ? b.getUnitAttr() : UnitAttr(), out);
    buffers[at.getResult()] = out;
  } else {
    return fail(&op, "cannot compile " + where(&op) + ": no kernel computes it");
  }
  return true;
}

bool Lowering::run() {
  fn = module.lookupSymbol<func::FuncOp>(k::kForward);
  if (!fn || fn.getBody().getBlocks().size() != 1)
    return fail(nullptr, "the module has no single-block func.func @forward");
  if (fn.getBody().front().getNumArguments() > 0 &&
      isa<k::BufferType, k::WeightsType>(fn.getBody().front().getArgument(0).getType()))
    return fail(fn, "@forward is already at the kernel level");
  if (!checkForward()) return false;
  if (capacity <= 0)
    fn.walk([&](EmbeddingOp e) {
      if (e.getIds().getDefiningOp<PositionIdsOp>())
        capacity = cast<RankedTensorType>(e.getTable().getType()).getDimSize(0);
    });
  if (capacity <= 0)
    return fail(fn, "no context length: the model has no position embedding; give capacity=N (lithec --capacity)");

  auto headTable = cast<RankedTensorType>(head.getTable().getType());
  int64_t vocab = headTable.getDimSize(0), width = headTable.getDimSize(1);
  Type f32 = b.getF32Type(), index = b.getIndexType();
  Type cacheElement = fn.getNumArguments() > 2 ? cast<KVCacheType>(fn.getArgument(2).getType()).getElementType() : f32;
  Type weightsT = k::WeightsType::get(ctx), arenaT = k::ArenaType::get(ctx),
       cachesT = k::CachesType::get(ctx, cacheElement);
  Type idsT = k::BufferType::get(ctx, {ShapedType::kDynamic}, b.getI64Type());

  // @forward(weights, arena, keys, values, ids, rows, past, hidden) -> i32:
  // `rows` tokens of one sequence after `past` cached ones.
  // @decode_batch(weights, arena, keys, values, ids, rows, pasts, hidden) -> i32:
  // one new token of each of `rows` sequences; the cache tables hold every
  // sequence's caches (sequence-major), pasts[b] is sequence b's position.
  int64_t layers = 0;
  fn.walk([&](AttentionOp) { ++layers; });
  std::vector<func::FuncOp> made;
  for (bool batched : {false, true}) {
    if (batched && (!decodeBatch || observe)) continue;
    this->batched = batched;
    buffers.clear();
    weights.clear();
    planes.clear();
    b.setInsertionPoint(fn);
    auto kfn = b.create<func::FuncOp>(
        fn.getLoc(), batched ? "decode_batch.kernels" : "forward.kernels",
        b.getFunctionType({weightsT, arenaT, cachesT, cachesT, idsT, index, batched ? idsT : index,
                           rowsType(width, f32)},
                          {b.getI32Type()}));
    made.push_back(kfn);
    Block *entry = kfn.addEntryBlock();
    weightsArg = entry->getArgument(0), arenaArg = entry->getArgument(1), keysArg = entry->getArgument(2),
    valuesArg = entry->getArgument(3), idsArg = entry->getArgument(4), rowsArg = entry->getArgument(5),
    pastArg = entry->getArgument(6), hiddenArg = entry->getArgument(7);
    b.setInsertionPointToStart(entry);
    status = b.create<arith::ConstantIntOp>(fn.getLoc(), 0, 32);
    zero = status.getDefiningOp();
    int64_t opIndex = 0;
    for (Operation &op : fn.getBody().front()) {
      if (!lowerOp(op)) {
        for (func::FuncOp f : made) f.erase();
        return false;
      }
      // The Evaluator's hook: transformer op #index computed this buffer.
      // Not position embeddings: they are views of the (read-only) table.
      if (observe && op.getNumResults() == 1)
        if (Value buffer = buffers.lookup(op.getResult(0)); buffer && !buffer.getDefiningOp<k::TableRowsOp>())
          b.create<k::ObserveOp>(op.getLoc(), buffer, rowsArg, b.getI64IntegerAttr(opIndex));
      ++opIndex;
    }
    b.create<func::ReturnOp>(fn.getLoc(), status);
    if (buffers.lookup(hidden) != hiddenArg) {
      for (func::FuncOp f : made) f.erase();
      return fail(head, "the lm_head's input is not computed by a kernel");
    }
  }

  // @head(weights, hidden, rows, logits)
  b.setInsertionPoint(fn);
  auto hfn = b.create<func::FuncOp>(
      head.getLoc(), k::kHead,
      b.getFunctionType({weightsT, rowsType(width, f32), index, rowsType(vocab, f32)}, {}));
  Block *hb = hfn.addEntryBlock();
  b.setInsertionPointToStart(hb);
  weights.clear();
  weightsArg = hb->getArgument(0);
  for (Value w : {head.getTable(), head.getBias(), head.getTableScale()})
    if (w && !w.getDefiningOp<WeightOp>())
      return fail(head, "cannot compile " + where(head) + ": its table is not a lithe.weight");
  IntegerAttr headGroup; // int4: columns per scale, from table_scale [vocab, width / group]
  auto tt = cast<RankedTensorType>(head.getTable().getType());
  if (tt.getElementType().isInteger(4))
    headGroup = b.getI64IntegerAttr(tt.getDimSize(1) /
                                    cast<RankedTensorType>(head.getTableScale().getType()).getDimSize(1));
  b.create<k::LMHeadOp>(head.getLoc(), hb->getArgument(1), hb->getArgument(2), weight(head.getTable()),
                        weightOrNull(head.getTableScale()), headGroup, hb->getArgument(3));
  if (head.getBias())
    b.create<k::AddRowsOp>(head.getLoc(), hb->getArgument(3), hb->getArgument(2), weight(head.getBias()));
  b.create<func::ReturnOp>(head.getLoc());

  std::vector<int64_t> cacheShapes;
  for (size_t a = 2; a < fn.getNumArguments(); ++a) {
    auto c = cast<KVCacheType>(fn.getArgument(a).getType());
    cacheShapes.push_back(c.getHeads());
    cacheShapes.push_back(c.getHeadDim());
  }
  module->setAttr(k::kCapacityAttr, b.getI64IntegerAttr(capacity));
  module->setAttr(k::kCacheShapesAttr, b.getDenseI64ArrayAttr(cacheShapes));
  module->setAttr(k::kLayersAttr, b.getI64IntegerAttr(layers));
  fn.erase();
  made[0].setSymName(k::kForward);
  if (made.size() > 1) made[1].setSymName(k::kDecodeBatch);
  return true;
}

} // namespace

mlir::LogicalResult lowerToKernels(mlir::ModuleOp module, const LowerToKernelsOptions &options) {
  if (options.capacity < 0) {
    module.emitError("lithe-lower-to-kernels: capacity must be positive");
    return mlir::failure();
  }
  // Loaded already when a pass calls this (its dependent dialects).
  module.getContext()->loadDialect<k::LitheKDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect>();
  Lowering lowering(module, options.capacity, options.observe, options.decodeBatch);
  return mlir::success(lowering.run());
}

} // namespace lithe
