//===- PackWeightsCuda.cpp - weights in the CUDA kernels' layout ----------===//
//
// lithe-pack-weights{target=cuda} (passes/PackWeights.cpp):
//
//  - a linear's [in, out] weight becomes [out][in] rows (`cuda_rows`, the
//    layout of nn.Linear that lithe_cuda_gemv* and the cuBLASLt GEMM read):
//    f32 -> `<name>.cuda.<precision>` (f16 or bf16, round to nearest even;
//    f32 kept), int8 -> `<name>.cuda.i8` with its per-output scales as they are;
//  - each table an LM head or an embedding reads becomes `<name>.<precision>`,
//    [rows][width] of the precision (an int8 table dequantized with its row
//    scales; an f32 table at fp32 is read as it is), one copy per table
//    however many ops read it (GPT-2's tied embedding and head).
//
// Like the CPU packing, the copies are generated tensors of the weights
// store, made while the weights file is written.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/kernels.h"

#include <cstring>
#include <set>

namespace lithe {

using namespace mlir;

namespace {

/// What f32 values become: f32, f16 or bf16.
struct Precision {
  CudaPrecision p;
  const char *suffix() const { return p == CudaPrecision::F16 ? "f16" : p == CudaPrecision::BF16 ? "bf16" : "f32"; }
  Type type(Builder &b) const {
    return p == CudaPrecision::F16 ? Type(b.getF16Type()) : p == CudaPrecision::BF16 ? Type(b.getBF16Type())
                                                                                         : Type(b.getF32Type());
  }
  DType dtype() const { return p == CudaPrecision::F32 ? DType::F32 : p == CudaPrecision::F16 ? DType::F16 : DType::BF16; }
  size_t bytes() const { return p == CudaPrecision::F32 ? 4 : 2; }
  /// n floats in this precision.
  void convert(const float *x, int64_t n, uint8_t *out) const {
    if (p == CudaPrecision::F16) lithe_to_f16(x, n, reinterpret_cast<uint16_t *>(out));
    else if (p == CudaPrecision::BF16) lithe_to_bf16(x, n, reinterpret_cast<uint16_t *>(out));
    else std::memcpy(out, x, static_cast<size_t>(n) * 4);
  }
};

struct CudaPacker {
  WeightStore &store;
  Precision precision;
  std::set<std::string> made;
  std::string error;

  /// The table `table` (with its row scales when int8) in the precision;
  /// null after an error emitted at `at`.
  Value convertTable(Operation *at, Value table, Value scale) {
    k::BufferType type = cast<k::BufferType>(table.getType());
    OpBuilder b(at);
    if (type.getElementType() == precision.type(b)) return table; // f32 at fp32, or done
    auto w = table.getDefiningOp<k::WeightOp>();
    auto s = scale ? scale.getDefiningOp<k::WeightOp>() : k::WeightOp();
    Type e = type.getElementType();
    if (!w || (scale && !s) || !(e.isF32() || e.isInteger(8))) {
      at->emitError() << "lithe-pack-weights{target=cuda}: a table must be an f32 or int8 lithe_k.weight, got "
                      << type;
      return {};
    }
    const int64_t V = type.getShape()[0], D = type.getShape()[1];
    std::string name = w.getName().str() + "." + precision.suffix();
    if (!made.count(name) && !store.contains(name)) {
      auto t = store.get(w.getName().str());
      const bool q8 = e.isInteger(8);
      const float *rowScale = q8 ? store.getF32(s.getName().str(), V, error) : nullptr;
      if (!t || t->dtype != (q8 ? DType::I8 : DType::F32) || t->shape != std::vector<int64_t>{V, D} ||
          (q8 && !rowScale)) {
        at->emitError() << "lithe-pack-weights{target=cuda}: table '" << w.getName() << "' must be an "
                        << (q8 ? "i8" : "f32") << " [" << V << ", " << D << "] tensor of the weights"
                        << (q8 && !rowScale ? " with its scales: " + error : "");
        return {};
      }
      const void *data = t->data;
      const Precision pr = precision;
      store.putGenerated(name, pr.dtype(), {V, D}, static_cast<size_t>(V * D) * pr.bytes(),
                         [=](uint8_t *out, std::string &) {
                           if (!q8) {
                             pr.convert(static_cast<const float *>(data), V * D, out);
                             return true;
                           }
                           std::vector<float> row(static_cast<size_t>(D));
                           for (int64_t v = 0; v < V; ++v) {
                             for (int64_t d = 0; d < D; ++d)
                               row[d] = static_cast<const int8_t *>(data)[v * D + d] * rowScale[v];
                             pr.convert(row.data(), D, out + v * D * pr.bytes());
                           }
                           return true;
                         });
      made.insert(name);
    }
    return b.create<k::WeightOp>(w.getLoc(), k::BufferType::get(b.getContext(), {V, D}, precision.type(b)),
                                 w.getWeights(), b.getStringAttr(name), k::Layout::row_major);
  }

  /// The weight of a linear or a split linear (`weight`, an operand of `lin`).
  LogicalResult linear(Operation *lin, OpOperand &weight) {
    auto w = weight.get().getDefiningOp<k::WeightOp>();
    if (w && w.getLayout() == k::Layout::cuda_rows) return success();
    if (!w || w.getLayout() != k::Layout::row_major)
      return lin->emitError("lithe-pack-weights{target=cuda}: the weight is not a row-major lithe_k.weight");
    k::BufferType type = cast<k::BufferType>(w.getType());
    Type e = type.getElementType();
    if (e.isInteger(4))
      return lin->emitError("lithe-pack-weights{target=cuda}: int4 weights have no CUDA kernel "
                            "(quantize with bits=8 for the CUDA target)");
    const bool q8 = e.isInteger(8);
    const int64_t K = type.getShape()[0], N = type.getShape()[1];
    std::string name = w.getName().str() + ".cuda." + (q8 ? "i8" : precision.suffix());
    if (!made.count(name) && !store.contains(name)) {
      auto t = store.get(w.getName().str());
      if (!t || t->dtype != (q8 ? DType::I8 : DType::F32) || t->shape != std::vector<int64_t>{K, N})
        return lin->emitError() << "lithe-pack-weights{target=cuda}: linear weight '" << w.getName()
                               << "' must be an " << (q8 ? "i8" : "f32") << " [" << K << ", " << N
                               << "] tensor of the weights";
      const void *data = t->data;
      const Precision pr = precision;
      const size_t bytes = static_cast<size_t>(K * N) * (q8 ? 1 : pr.bytes());
      store.putGenerated(name, q8 ? DType::I8 : pr.dtype(), {N, K}, bytes, [=](uint8_t *out, std::string &) {
        if (q8) {
          const auto *in = static_cast<const int8_t *>(data);
          auto *o = reinterpret_cast<int8_t *>(out);
          for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n) o[n * K + k] = in[k * N + n];
          return true;
        }
        const auto *in = static_cast<const float *>(data);
        std::vector<float> row(static_cast<size_t>(K));
        for (int64_t n = 0; n < N; ++n) {
          for (int64_t k = 0; k < K; ++k) row[k] = in[k * N + n];
          pr.convert(row.data(), K, out + n * K * pr.bytes());
        }
        return true;
      });
      made.insert(name);
    }
    OpBuilder b(lin);
    auto pw = b.create<k::WeightOp>(
        w.getLoc(), k::BufferType::get(b.getContext(), {K, N}, q8 ? Type(b.getIntegerType(8)) : precision.type(b)),
        w.getWeights(), b.getStringAttr(name), k::Layout::cuda_rows);
    weight.assign(pw);
    if (w->use_empty()) w.erase();
    return success();
  }
};

/// Points `use` at `to`, erasing the weight it read when nothing else does.
void retarget(OpOperand &use, Value to) {
  Value from = use.get();
  if (from == to) return;
  use.assign(to);
  if (Operation *d = from.getDefiningOp(); d && d->use_empty()) d->erase();
}

} // namespace

LogicalResult packWeightsCuda(ModuleOp module, WeightStore &store, CudaPrecision precision) {
  CudaPacker p{store, {precision}, {}, {}};
  auto packed = module.walk([&](Operation *op) {
    if (auto lin = dyn_cast<k::LinearOp>(op)) return failed(p.linear(op, lin.getWeightMutable())) ? WalkResult::interrupt() : WalkResult::advance();
    if (auto lin = dyn_cast<k::LinearSplitOp>(op))
      return failed(p.linear(op, lin.getWeightMutable())) ? WalkResult::interrupt() : WalkResult::advance();
    return WalkResult::advance();
  });
  if (packed.wasInterrupted()) return failure();
  auto walked = module.walk([&](Operation *op) -> WalkResult {
    if (auto head = dyn_cast<k::LMHeadOp>(op)) {
      if (head.getGroup())
        return head.emitError("lithe-pack-weights{target=cuda}: an int4 LM head has no CUDA kernel"), WalkResult::interrupt();
      Value t = p.convertTable(op, head.getTable(), head.getTableScale());
      if (!t) return WalkResult::interrupt();
      Value scale = head.getTableScale();
      retarget(head.getTableMutable(), t);
      if (scale) {
        head.getTableScaleMutable().clear();
        if (Operation *d = scale.getDefiningOp(); d && d->use_empty()) d->erase();
      }
    } else if (auto emb = dyn_cast<k::EmbedPositionsOp>(op)) {
      Value t = p.convertTable(op, emb.getTable(), emb.getTableScale());
      Value pos = t ? p.convertTable(op, emb.getPositions(), Value()) : Value();
      if (!t || !pos) return WalkResult::interrupt();
      Value scale = emb.getTableScale();
      retarget(emb.getTableMutable(), t);
      retarget(emb.getPositionsMutable(), pos);
      if (scale) {
        emb.getTableScaleMutable().clear();
        if (Operation *d = scale.getDefiningOp(); d && d->use_empty()) d->erase();
      }
    }
    return WalkResult::advance();
  });
  return failure(walked.wasInterrupted());
}

} // namespace lithe
