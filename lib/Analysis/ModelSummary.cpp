//===- ModelSummary.cpp - read a model's shape off lithe IR ---------------===//

#include "lithe/ModelSummary.h"

#include "lithe/Dialect.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace lithe {

/// The weights-file name behind `v`, or "" if it is not a lithe.weight.
static std::string weightName(Value v) {
  if (auto w = v.getDefiningOp<WeightOp>())
    return w.getName().str();
  return "";
}

ModelSummary summarizeModel(ModuleOp module) {
  ModelSummary s;
  llvm::StringSet<> seenWeights;
  llvm::DenseSet<Value> seenCaches;
  std::string tokenTable, headTable;
  module.walk([&](Operation *op) {
    if (auto w = dyn_cast<WeightOp>(op)) {
      if (!seenWeights.insert(w.getName()).second)
        return;
      auto t = cast<RankedTensorType>(w.getType());
      ++s.weightTensors;
      s.parameters += t.getNumElements();
      s.weightBytes +=
          t.getNumElements() * t.getElementType().getIntOrFloatBitWidth() / 8;
    } else if (auto a = dyn_cast<AttentionOp>(op)) {
      s.layers.push_back({a.getNumHeads(), a.getHeadDim(), a.writesCache()});
      if (seenCaches.insert(a.getCache()).second)
        s.kvBytesPerPosition +=
            cast<KVCacheType>(a.getCache().getType()).getBytesPerPosition();
    } else if (auto e = dyn_cast<EmbeddingOp>(op)) {
      // The token embedding: the one not indexed by position ids.
      if (!s.width && !e.getIds().getDefiningOp<PositionIdsOp>()) {
        s.width = cast<RankedTensorType>(e.getTable().getType()).getDimSize(1);
        tokenTable = weightName(e.getTable());
      }
    } else if (isa<LayerNormOp>(op)) {
      ++s.layerNorms;
    } else if (auto h = dyn_cast<LMHeadOp>(op)) {
      s.vocab = cast<RankedTensorType>(h.getTable().getType()).getDimSize(0);
      headTable = weightName(h.getTable());
    }
  });
  // Tied: the head reads the same weight as the token embedding.
  s.tiedHead = !headTable.empty() && headTable == tokenTable;
  return s;
}

void ModelSummary::print(llvm::raw_ostream &os) const {
  os << "layers: " << layers.size() << "\n";
  os << "heads:";
  for (const Layer &l : layers)
    os << " " << l.heads;
  os << "\n";
  os << "head_dim:";
  for (const Layer &l : layers)
    os << " " << l.headDim;
  os << "\n";
  os << "width: " << width << "\n";
  os << "vocab: " << vocab << "\n";
  os << "tied_head: " << (tiedHead ? "yes" : "no") << "\n";
  os << "layer_norms: " << layerNorms << "\n";
  int64_t shared = 0;
  for (const Layer &l : layers)
    shared += !l.writesCache;
  os << "kv_shared_layers: " << shared << "\n";
  os << "weight_tensors: " << weightTensors << "\n";
  os << "parameters: " << parameters << "\n";
  os << "weight_bytes: " << weightBytes << "\n";
  os << "kv_bytes_per_position: " << kvBytesPerPosition << "\n";
}

} // namespace lithe
