//===- FuseQKV.cpp - lithe-fuse-qkv ---------------------------------------===//
//
// Linears that read one input one after another (attention's Q, K and V
// projections, which the importer keeps apart) become one
// lithe_k.linear_split, for the CUDA target: one GEMV reads the input once
// and costs one launch and one partial wave instead of three.
//
//   linear %x, %Wq bias %bq -> %q ; linear %x, %Wk bias %bk -> %k ; linear %x, %Wv ... -> %v
//     ==>  linear_split %x, %W bias %b -> %q, %k, %v
//
// %W is the weights' columns side by side ([in, Nq + Nk + Nv], made by the
// weights store while the file is written), the biases and int8 scales
// likewise. Exact: every output column is the same dot product. Only
// unpacked (row_major) weights are fused: the pass runs before packing.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <cstring>

namespace lithe {
#define GEN_PASS_DEF_LITHEFUSEQKV
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

k::WeightOp rowMajorWeight(Value v) {
  auto w = v.getDefiningOp<k::WeightOp>();
  return w && w.getLayout() == k::Layout::row_major ? w : k::WeightOp();
}

/// Whether `next` can join a group led by `first`: same input and rows, no
/// epilogue, a row-major weight of the same element type and input width,
/// bias and scale alike, a fresh arena slot as output.
bool joins(k::LinearOp first, k::LinearOp next) {
  auto w0 = rowMajorWeight(first.getWeight()), w1 = rowMajorWeight(next.getWeight());
  if (!w0 || !w1 || next.getInput() != first.getInput() || next.getRows() != first.getRows() ||
      next.getEpilogue() != k::Epilogue::none || next.getGroup() || !next.getOut().getDefiningOp<k::ArenaOp>() ||
      next.getOut() == first.getInput())
    return false;
  auto t0 = cast<k::BufferType>(w0.getType()), t1 = cast<k::BufferType>(w1.getType());
  Type e = t0.getElementType();
  return e == t1.getElementType() && (e.isF32() || e.isInteger(8)) && t0.getShape()[0] == t1.getShape()[0] &&
         !first.getBias() == !next.getBias() && !first.getWeightScale() == !next.getWeightScale() &&
         (!first.getBias() || first.getBias().getDefiningOp<k::WeightOp>()) &&
         (!next.getBias() || next.getBias().getDefiningOp<k::WeightOp>()) &&
         (!first.getWeightScale() || first.getWeightScale().getDefiningOp<k::WeightOp>()) &&
         (!next.getWeightScale() || next.getWeightScale().getDefiningOp<k::WeightOp>());
}

struct FuseQKVPass : impl::LitheFuseQKVBase<FuseQKVPass> {
  using LitheFuseQKVBase::LitheFuseQKVBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::shared_ptr<WeightStore> store;
    std::string error;
    SmallVector<SmallVector<k::LinearOp, 3>> groups;
    module.walk([&](func::FuncOp f) {
      for (Block &b : f.getBody()) {
        SmallVector<k::LinearOp, 3> group;
        auto flush = [&] {
          if (group.size() >= 2) groups.push_back(group);
          group.clear();
        };
        for (Operation &op : b) {
          if (isa<k::WeightOp, k::ArenaOp>(op)) continue; // pure: they do not separate a group
          auto lin = dyn_cast<k::LinearOp>(op);
          if (lin && !group.empty() && group.size() < 3 && joins(group.front(), lin)) {
            group.push_back(lin);
            continue;
          }
          flush();
          if (lin && lin.getEpilogue() == k::Epilogue::none && !lin.getGroup() && joins(lin, lin))
            group.push_back(lin);
        }
        flush();
      }
    });
    for (auto &group : groups) {
      if (!store && !(store = getWeightStore(module, error, weightsDir))) {
        module.emitError() << "lithe-fuse-qkv: " << error;
        return signalPassFailure();
      }
      if (failed(fuse(group, *store))) return signalPassFailure();
    }
  }

  /// Concatenates, along columns, the [K, N_i] tensors `parts` into `name`
  /// ([K, sum N_i] of `dtype`, elementBytes each; K = 1 for vectors).
  LogicalResult concat(Operation *at, WeightStore &store, const std::string &name, ArrayRef<k::WeightOp> parts,
                       DType dtype, size_t elementBytes, int64_t K) {
    if (store.contains(name)) return success();
    std::vector<std::pair<const uint8_t *, size_t>> src; // data, bytes per row
    size_t rowBytes = 0;
    for (k::WeightOp w : parts) {
      auto t = store.get(w.getName().str());
      ArrayRef<int64_t> shape = cast<k::BufferType>(w.getType()).getShape();
      int64_t n = shape.back(), count = 1;
      for (int64_t d : shape) count *= d;
      if (!t || t->dtype != dtype || t->nbytes != static_cast<size_t>(count) * elementBytes)
        return at->emitError() << "lithe-fuse-qkv: weight '" << w.getName() << "' is not a " << dtypeName(dtype)
                               << " tensor of the weights of its buffer's shape";
      src.push_back({static_cast<const uint8_t *>(t->data), static_cast<size_t>(n) * elementBytes});
      rowBytes += src.back().second;
    }
    const int64_t N = static_cast<int64_t>(rowBytes / elementBytes);
    std::vector<int64_t> shape = K == 1 ? std::vector<int64_t>{N} : std::vector<int64_t>{K, N};
    store.putGenerated(name, dtype, shape, rowBytes * static_cast<size_t>(K), [=](uint8_t *out, std::string &) {
      for (int64_t k = 0; k < K; ++k)
        for (auto [data, bytes] : src) {
          std::memcpy(out, data + static_cast<size_t>(k) * bytes, bytes);
          out += bytes;
        }
      return true;
    });
    return success();
  }

  LogicalResult fuse(ArrayRef<k::LinearOp> group, WeightStore &store) {
    k::LinearOp first = group.front(), last = group.back();
    // Outputs are written where the last linear was: nothing may read them
    // (or write the input) before that.
    for (k::LinearOp l : group)
      for (Operation *u : l.getOut().getUsers())
        if (u != l.getOperation() && u->isBeforeInBlock(last)) return success();
    SmallVector<k::WeightOp> weights, biases, scales;
    int64_t N = 0;
    for (k::LinearOp l : group) {
      weights.push_back(rowMajorWeight(l.getWeight()));
      if (l.getBias()) biases.push_back(l.getBias().getDefiningOp<k::WeightOp>());
      if (l.getWeightScale()) scales.push_back(l.getWeightScale().getDefiningOp<k::WeightOp>());
      N += cast<k::BufferType>(l.getWeight().getType()).getShape()[1];
    }
    auto wt = cast<k::BufferType>(weights.front().getType());
    const int64_t K = wt.getShape()[0];
    const bool q8 = wt.getElementType().isInteger(8);
    const std::string suffix = ".split" + std::to_string(group.size());
    std::string wname = weights.front().getName().str() + suffix;
    if (failed(concat(first, store, wname, weights, q8 ? DType::I8 : DType::F32, q8 ? 1 : 4, K))) return failure();
    OpBuilder b(last);
    MLIRContext *ctx = b.getContext();
    Value handle = weights.front().getWeights();
    auto vector = [&](SmallVector<k::WeightOp> &parts) -> FailureOr<Value> {
      if (parts.empty()) return Value();
      std::string name = parts.front().getName().str() + suffix;
      if (failed(concat(first, store, name, parts, DType::F32, 4, 1))) return failure();
      return b.create<k::WeightOp>(first.getLoc(), k::BufferType::get(ctx, {N}, b.getF32Type()), handle,
                                   b.getStringAttr(name), k::Layout::row_major)
          .getResult();
    };
    FailureOr<Value> bias = vector(biases), scale = vector(scales);
    if (failed(bias) || failed(scale)) return failure();
    Value w = b.create<k::WeightOp>(first.getLoc(), k::BufferType::get(ctx, {K, N}, wt.getElementType()), handle,
                                    b.getStringAttr(wname), k::Layout::row_major);
    SmallVector<Value> outs;
    for (k::LinearOp l : group) outs.push_back(l.getOut());
    b.create<k::LinearSplitOp>(first.getLoc(), first.getInput(), first.getRows(), w, *scale, *bias, outs);
    for (k::LinearOp l : group) {
      SmallVector<Operation *> defs;
      for (Value v : {l.getWeight(), l.getBias(), l.getWeightScale()})
        if (v) defs.push_back(v.getDefiningOp());
      l.erase();
      for (Operation *d : defs)
        if (d && d->use_empty()) d->erase();
    }
    return success();
  }
};

} // namespace
} // namespace lithe
