//===- PackWeights.cpp - linear weights to the CPU kernels' panels --------===//
//
// The core of lithe-pack-weights (passes/PackWeights.cpp), also run by the
// calibration Evaluator. The CPU linear kernels read their weights as
// column panels (runtime/include/lithe/runtime/kernels.h: lithe_pack_linear,
// lithe_pack_linear_q8, lithe_pack_linear_q4): every linear is pointed at `<name>.packed`, a
// tensor of the weights store made from the row-major one while the weights
// file is written (or on first read, by the Evaluator).
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/kernels.h"

#include <set>

namespace lithe {

using namespace mlir;

bool parseWeightPrecision(llvm::StringRef name, WeightPrecision &out) {
  if (name == "fp32") out = WeightPrecision::F32;
  else if (name == "bf16") out = WeightPrecision::BF16;
  else return false;
  return true;
}

LogicalResult packWeights(ModuleOp module, WeightStore &store, WeightPrecision precision) {
  const bool bf16 = precision == WeightPrecision::BF16;
  std::set<std::string> packed;
  std::string error;
  auto walked = module.walk([&](k::LinearOp lin) -> WalkResult {
    if (lin.isPacked()) return WalkResult::advance();
    auto w = lin.getWeight().getDefiningOp<k::WeightOp>();
    auto s = lin.getWeightScale() ? lin.getWeightScale().getDefiningOp<k::WeightOp>() : k::WeightOp();
    if (!w || (lin.getWeightScale() && !s)) {
      lin.emitError("lithe-pack-weights: the weight is not a lithe_k.weight");
      return WalkResult::interrupt();
    }
    k::BufferType type = cast<k::BufferType>(w.getType());
    int64_t K = type.getShape()[0], N = type.getShape()[1];
    bool q4 = type.getElementType().isInteger(4);
    bool q8 = type.getElementType().isInteger(8) || q4; // both stored as i8
    bool tobf16 = bf16 && !q8;
    std::string name = w.getName().str() + (tobf16 ? ".packed.bf16" : ".packed");
    // Passes never change a tensor in place, so a packed copy made earlier
    // (by an earlier Evaluator, say) is still this weight's.
    if (!packed.count(name) && !store.contains(name)) {
      auto e = store.get(w.getName().str());
      if (!e || e->dtype != (q8 ? DType::I8 : DType::F32) || e->shape != std::vector<int64_t>{K, N}) {
        lin.emitError() << "lithe-pack-weights: linear weight '" << w.getName() << "' must be an "
                        << (q8 ? "i8" : "f32") << " [" << K << ", " << N << "] tensor of the weights";
        return WalkResult::interrupt();
      }
      size_t bytes;
      WeightsWriter::Producer fill;
      const void *data = e->data;
      if (q4) {
        const int64_t G = *lin.getGroup();
        const float *scale = store.getF32(s.getName().str(), K / G * N, error);
        if (!scale) {
          lin.emitError() << "lithe-pack-weights: " << error;
          return WalkResult::interrupt();
        }
        bytes = lithe_pack_linear_q4_size(K, N, G);
        fill = [=](uint8_t *out, std::string &) {
          lithe_pack_linear_q4(static_cast<const int8_t *>(data), scale, K, N, G, out);
          return true;
        };
      } else if (q8) {
        const float *scale = store.getF32(s.getName().str(), N, error);
        if (!scale) {
          lin.emitError() << "lithe-pack-weights: " << error;
          return WalkResult::interrupt();
        }
        bytes = lithe_pack_linear_q8_size(K, N);
        fill = [=](uint8_t *out, std::string &) {
          lithe_pack_linear_q8(static_cast<const int8_t *>(data), scale, K, N, out);
          return true;
        };
      } else if (tobf16) {
        bytes = lithe_pack_linear_bf16_size(K, N);
        fill = [=](uint8_t *out, std::string &) {
          lithe_pack_linear_bf16(static_cast<const float *>(data), K, N, out);
          return true;
        };
      } else {
        bytes = lithe_pack_linear_size(K, N);
        fill = [=](uint8_t *out, std::string &) {
          lithe_pack_linear(static_cast<const float *>(data), K, N, out);
          return true;
        };
      }
      store.putGenerated(name, DType::I8, {static_cast<int64_t>(bytes)}, bytes, fill);
      packed.insert(name);
    }
    OpBuilder b(lin);
    k::BufferType ptype = tobf16 ? k::BufferType::get(b.getContext(), type.getShape(), b.getBF16Type()) : type;
    auto pw = b.create<k::WeightOp>(w.getLoc(), ptype, w.getWeights(), b.getStringAttr(name),
                                    k::Layout::cpu_panels);
    lin.getWeightMutable().assign(pw);
    lin.getWeightScaleMutable().clear();
    if (w->use_empty()) w.erase();
    if (s && s->use_empty()) s.erase();
    return WalkResult::advance();
  });
  if (walked.wasInterrupted()) return failure();

  // An int4 LM head: the q4 panels of its transposed table (lithe_linear_q4
  // computes the head as a [width, vocab] linear), scales transposed too.
  walked = module.walk([&](k::LMHeadOp head) -> WalkResult {
    k::BufferType type = cast<k::BufferType>(head.getTable().getType());
    auto w = head.getTable().getDefiningOp<k::WeightOp>();
    if (!type.getElementType().isInteger(4) || (w && w.getLayout() == k::Layout::cpu_panels))
      return WalkResult::advance();
    auto s = head.getTableScale() ? head.getTableScale().getDefiningOp<k::WeightOp>() : k::WeightOp();
    if (!w || !s) {
      head.emitError("lithe-pack-weights: the LM head's table is not a lithe_k.weight");
      return WalkResult::interrupt();
    }
    const int64_t V = type.getShape()[0], D = type.getShape()[1], G = *head.getGroup();
    std::string name = w.getName().str() + ".packed";
    if (!packed.count(name) && !store.contains(name)) {
      auto e = store.get(w.getName().str());
      const float *scale = store.getF32(s.getName().str(), V * (D / G), error);
      if (!e || e->dtype != DType::I8 || e->shape != std::vector<int64_t>{V, D} || !scale) {
        head.emitError() << "lithe-pack-weights: LM-head table '" << w.getName() << "' must be an i8 [" << V
                         << ", " << D << "] tensor of the weights with its scales" << (scale ? "" : ": " + error);
        return WalkResult::interrupt();
      }
      const int8_t *data = static_cast<const int8_t *>(e->data);
      store.putGenerated(name, DType::I8, {static_cast<int64_t>(lithe_pack_linear_q4_size(D, V, G))},
                         lithe_pack_linear_q4_size(D, V, G), [=](uint8_t *out, std::string &) {
                           std::vector<int8_t> t(static_cast<size_t>(V * D));
                           std::vector<float> ts(static_cast<size_t>(V * (D / G)));
                           for (int64_t v = 0; v < V; ++v) {
                             for (int64_t d = 0; d < D; ++d) t[d * V + v] = data[v * D + d];
                             for (int64_t g = 0; g < D / G; ++g) ts[g * V + v] = scale[v * (D / G) + g];
                           }
                           lithe_pack_linear_q4(t.data(), ts.data(), D, V, G, out);
                           return true;
                         });
      packed.insert(name);
    }
    OpBuilder b(head);
    auto pw = b.create<k::WeightOp>(w.getLoc(), type, w.getWeights(), b.getStringAttr(name), k::Layout::cpu_panels);
    head.getTableMutable().assign(pw);
    head.getTableScaleMutable().clear();
    if (w->use_empty()) w.erase();
    if (s->use_empty()) s.erase();
    return WalkResult::advance();
  });
  if (walked.wasInterrupted()) return failure();
  if (!bf16) return success();

  std::set<std::string> headTables; // the bf16 tables the LM heads now read
  // bf16: each f32 LM-head table gets a row-major bf16 copy, which the
  // embeddings reading the same table read too (so the f32 one is not
  // written: a tied GPT-2 table shrinks to half).
  walked = module.walk([&](k::LMHeadOp head) -> WalkResult {
    auto w = head.getTable().getDefiningOp<k::WeightOp>();
    k::BufferType type = cast<k::BufferType>(head.getTable().getType());
    if (!type.getElementType().isF32()) return WalkResult::advance(); // i8 stays, bf16 is done
    if (!w) {
      head.emitError("lithe-pack-weights: the LM head's table is not a lithe_k.weight");
      return WalkResult::interrupt();
    }
    int64_t V = type.getShape()[0], D = type.getShape()[1];
    std::string name = w.getName().str() + ".bf16";
    if (!packed.count(name) && !store.contains(name)) {
      auto e = store.get(w.getName().str());
      if (!e || e->dtype != DType::F32 || e->shape != std::vector<int64_t>{V, D}) {
        head.emitError() << "lithe-pack-weights: LM-head table '" << w.getName() << "' must be an f32 ["
                         << V << ", " << D << "] tensor of the weights";
        return WalkResult::interrupt();
      }
      const size_t bytes = static_cast<size_t>(V * D) * 2;
      const void *data = e->data;
      store.putGenerated(name, DType::I8, {static_cast<int64_t>(bytes)}, bytes,
                         [=](uint8_t *out, std::string &) {
                           lithe_to_bf16(static_cast<const float *>(data), V * D,
                                         reinterpret_cast<uint16_t *>(out));
                           return true;
                         });
      packed.insert(name);
    }
    OpBuilder b(head);
    auto tw = b.create<k::WeightOp>(w.getLoc(), k::BufferType::get(b.getContext(), {V, D}, b.getBF16Type()),
                                    w.getWeights(), b.getStringAttr(name), k::Layout::row_major);
    head.getTableMutable().assign(tw);
    headTables.insert(name);
    if (w->use_empty()) w.erase();
    return WalkResult::advance();
  });
  if (walked.wasInterrupted()) return failure();
  module.walk([&](k::EmbeddingOp emb) {
    auto w = emb.getTable().getDefiningOp<k::WeightOp>();
    if (!w || !cast<k::BufferType>(w.getType()).getElementType().isF32()) return;
    std::string name = w.getName().str() + ".bf16";
    if (!headTables.count(name)) return; // no LM head reads this table
    OpBuilder b(emb);
    auto tw = b.create<k::WeightOp>(w.getLoc(), k::BufferType::get(b.getContext(), w.getType().getShape(), b.getBF16Type()),
                                    w.getWeights(), b.getStringAttr(name), k::Layout::row_major);
    emb.getTableMutable().assign(tw);
    if (w->use_empty()) w.erase();
  });
  return success();
}

} // namespace lithe
