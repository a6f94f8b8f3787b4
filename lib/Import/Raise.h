//===- Raise.h - recognise GPT-2 structure in an ONNX graph -------*- C++ -*-===//
//
// Raising matches the subgraphs that exporters emit for GPT-2 and records
// transformer-level ops that replace them: embeddings, LayerNorm (fused or
// decomposed), linear layers (MatMul+Add, or Gemm between reshapes), GELU
// (recognised numerically, any algebraic form), attention (split heads,
// past keys/values, scale, causal mask checked at probe points, merged
// heads), residual adds and the LM head (a transposed copy of the embedding
// is detected and dropped). Whatever is not recognised is left to be emitted
// as generic lithe.onnx ops, so the result stays correct.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_IMPORT_RAISE_H
#define LITHE_IMPORT_RAISE_H

#include "Graph.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lithe {
namespace import {

struct RaisedOp {
  enum Kind { Embedding, PositionEmbedding, LayerNorm, Center, Linear, Gelu, Attention, Add, LMHead };
  Kind kind;
  int out = -1;              // ONNX value this op defines
  std::vector<int> ins;      // data inputs (ONNX value ids)
  bool dead = false;         // replaced by other ops
  // Weights by name (initializers or derived tensors); "" when absent.
  std::string weight, bias, scale;
  std::string weightScale;   // Linear/LMHead: per-output-channel scale of an int8 weight
  bool weightTransposed = false; // Linear: weight stored [out, in]
  double eps = 0;
  bool geluTanh = false;
  int64_t heads = 0, headDim = 0;
  double attnScale = 1;
  bool causal = false;
  int pastKey = -1, pastValue = -1;  // graph inputs feeding the cache
  int presentKey = -1, presentValue = -1;
  int layer = -1;            // Attention: layer index
  int node = -1;             // Linear from Gemm: the Gemm node
};

/// A tensor raising makes from initializers: either its bytes, or `fill`,
/// which writes them (`nbytes`) when the weights file is written, reading the
/// mapped model (a QKV slice, a transposed head), so large derived tensors
/// are never held in memory.
struct DerivedWeight {
  std::string name;
  int32_t elemType = onnx::kFloat;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
  std::function<void(uint8_t *)> fill;
  size_t elemBytes() const { return elemType == onnx::kInt8 ? 1 : 4; }
  size_t nbytes = 0;
  size_t size() const { return fill ? nbytes : bytes.size(); }

  /// `name` = the [cols, rows] transpose of the float [rows, cols] `src`.
  static DerivedWeight transposed(std::string name, const uint8_t *src, int64_t rows, int64_t cols,
                                  int32_t elemType = onnx::kFloat);
  /// `name` = columns [first, first + count) of the float [rows, cols] `src`.
  static DerivedWeight columns(std::string name, const uint8_t *src, int64_t rows, int64_t cols,
                               int64_t first, int64_t count);
};

struct Raised {
  std::vector<RaisedOp> ops;
  std::map<int, int> claimed;            // value id -> op index
  std::map<int, SymShape> raisedShape;   // shape of a claimed value, when it differs
  std::vector<DerivedWeight> derived;
  std::vector<std::string> notes;        // what raising decided, for --describe
  int inputIds = -1;                     // the token ids input
  std::string tokenTable;                // initializer of the token embedding
  std::vector<std::string> droppedInitializers; // duplicates removed

  SymShape shapeOf(const Graph &g, int value) const {
    auto it = raisedShape.find(value);
    return it != raisedShape.end() ? it->second : g.value(value).shape;
  }
};

/// Runs every raising pattern over `graph`. Never fails: what does not match
/// stays generic. Errors only for inconsistencies (returns false + `error`).
bool raiseGraph(const Graph &graph, Raised &raised, std::string &error);

} // namespace import
} // namespace lithe

#endif // LITHE_IMPORT_RAISE_H
