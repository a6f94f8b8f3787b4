//===- OnnxEval.h - a small reference evaluator for ONNX nodes ------*- C++ -*-===//
//
// Evaluates single ONNX nodes concretely on small host tensors. The importer
// uses it to fold the "static" parts of a graph (shape arithmetic, the causal
// mask, position ids) and to recognise elementwise subgraphs such as GELU
// numerically, at a few probe values of the symbolic dimensions.
//
// Exact rather than fast: every element is held as a double and rounded to
// its element type after each op, so float32 results match float32
// arithmetic for the basic operations (+ - * / sqrt) and integers are exact
// up to 2^53. Plain C++17, no exceptions; errors are one-line strings.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_ONNXEVAL_H
#define LITHE_ONNXEVAL_H

#include "lithe/OnnxModel.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lithe {
namespace onnx {

/// The most elements a tensor made or read by the evaluator may hold.
constexpr int64_t kMaxEvalElements = int64_t(1) << 26;

/// A small host tensor. All element types are stored as double: float32
/// results are rounded through float after every op (so results match
/// float32 arithmetic), float16/bfloat16 likewise to their precision,
/// integers are exact up to 2^53 (int8/uint8/int32 wrap like C casts), bool
/// is 0/1.
struct EvalTensor {
  int32_t type = kFloat;      // ElemType
  std::vector<int64_t> shape; // empty = scalar
  std::vector<double> data;   // row-major, numElements() entries

  /// The product of `shape` (saturating at INT64_MAX; -1 if a dim is negative).
  int64_t numElements() const;
  /// A rank-0 tensor holding `v` rounded to `type`.
  static EvalTensor scalar(int32_t type, double v);
  /// A tensor of `shape` holding `data` rounded to `type` (for tests and
  /// constants; data.size() should equal the product of `shape`).
  static EvalTensor make(int32_t type, std::vector<int64_t> shape,
                         std::vector<double> data);
  /// Decodes the raw little-endian bytes of `t` (float, float16, bfloat16,
  /// double, int8, uint8, int32, int64, bool). On failure returns an empty
  /// tensor and sets `error` to one line naming the tensor; on success clears
  /// `error`.
  static EvalTensor fromTensor(const Tensor &t, std::string &error);
};

/// Evaluates one node. `inputs[i]` is null for an absent optional input
/// ("" in node.inputs). `opset` is the model's opset for node.domain.
/// On success fills `outputs` (one per node output, in order). On failure
/// returns false, clears `outputs` and sets `error` to ONE line naming the
/// node via node.describe() and the reason, e.g.
/// "'/h.0/Reshape' (Reshape): shape has two -1 entries" or
/// "... (Foo): not supported by the evaluator". Never aborts on bad input;
/// results above kMaxEvalElements elements are refused.
bool evalNode(const Node &node, int64_t opset,
              const std::vector<const EvalTensor *> &inputs,
              std::vector<EvalTensor> &outputs, std::string &error);

/// True if evalNode knows `opType` (default ONNX domain) at all.
bool canEvaluate(const std::string &opType);

} // namespace onnx
} // namespace lithe

#endif // LITHE_ONNXEVAL_H
