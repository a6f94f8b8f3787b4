//===- PackWeights.cpp - linear weights to the CPU kernels' panels --------===//
//
// The core of lithe-pack-weights (passes/PackWeights.cpp), also run by the
// calibration Evaluator. The CPU linear kernels read their weights as
// column panels (runtime/include/lithe/runtime/kernels.h: lithe_pack_linear,
// lithe_pack_linear_q8): every linear is pointed at `<name>.packed`, a
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

LogicalResult packWeights(ModuleOp module, WeightStore &store) {
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
    bool q8 = type.getElementType().isInteger(8);
    std::string name = w.getName().str() + ".packed";
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
      if (q8) {
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
    auto pw = b.create<k::WeightOp>(w.getLoc(), type, w.getWeights(), b.getStringAttr(name),
                                    k::Layout::cpu_panels);
    lin.getWeightMutable().assign(pw);
    lin.getWeightScaleMutable().clear();
    if (w->use_empty()) w.erase();
    if (s && s->use_empty()) s.erase();
    return WalkResult::advance();
  });
  return failure(walked.wasInterrupted());
}

} // namespace lithe
