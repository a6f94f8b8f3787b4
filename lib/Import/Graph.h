//===- Graph.h - an ONNX graph with symbolic shapes ---------------*- C++ -*-===//
//
// The importer's view of an ONNX model: every value with its element type,
// its symbolic shape, who produces and consumes it, and whether it is
// "static" (computable from initializers, constants and input shapes alone,
// like the shape arithmetic and causal masks of an export). Small integer
// static values also carry their symbolic contents, so Reshape targets built
// from Shape/Gather/Concat resolve to exact shapes. Any static value can be
// evaluated concretely at a probe point (a value for each symbol).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_IMPORT_GRAPH_H
#define LITHE_IMPORT_GRAPH_H

#include "SymInt.h"
#include "lithe/OnnxEval.h"
#include "lithe/OnnxModel.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lithe {
namespace import {

struct Value {
  enum Kind { Input, Initializer, NodeOutput };
  std::string name;
  Kind kind = NodeOutput;
  int32_t elemType = onnx::kUndefined;
  bool shapeKnown = false;
  SymShape shape;
  int producer = -1;            // node index for NodeOutput
  int producerOutput = 0;
  const onnx::Tensor *init = nullptr; // for Initializer
  std::vector<int> consumers;   // node indices (with repeats)
  bool isGraphOutput = false;
  bool isStatic = false;
  std::optional<std::vector<SymInt>> content; // small integer static values
  /// A graph input whose run-time value the compiled model assumes, so it is
  /// static: an `attention_mask` of ones (one unpadded sequence), the
  /// `position_ids` past_length + j, `use_cache_branch` true.
  enum Assumed { NotAssumed, AllOnes, Positions, True };
  Assumed assumed = NotAssumed;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

class Graph {
public:
  explicit Graph(const onnx::Model &model) : model_(model) {}

  /// Builds the value table and infers every shape. On failure `error` is
  /// one line naming the file and the node at fault.
  bool build(std::string &error);

  const onnx::Model &model() const { return model_; }
  const std::vector<Value> &values() const { return values_; }
  const Value &value(int id) const { return values_[id]; }
  /// Value id of `name`, -1 if unknown or empty.
  int find(const std::string &name) const;
  const onnx::Node &node(int id) const { return model_.nodes[id]; }
  int64_t opsetOf(const onnx::Node &n) const { return model_.opset(n.domain); }

  const std::vector<std::string> &symbolNames() const { return symbols_; }
  /// The id of a symbol, -1 if there is none of that name.
  int symbol(const std::string &name) const;
  std::string shapeStr(const SymShape &s) const;

  /// Evaluates static value `id` at `point` (one value per symbol).
  bool evalStatic(int id, const std::vector<int64_t> &point,
                  onnx::EvalTensor &out, std::string &error) const;
  /// The concrete value of a static value that does not depend on any
  /// symbol (e.g. a scale constant), or nullopt.
  std::optional<onnx::EvalTensor> constantValue(int id) const;
  /// The single element of a static, symbol-free value, or nullopt.
  std::optional<double> scalarValue(int id) const;

  /// "file: node 'name' (Op): why" as one line.
  std::string nodeError(int nodeId, const std::string &why) const;

  /// Symbols of the token ids' sequence, the past length (-1 without past
  /// inputs) and the batch, found from the graph inputs.
  int sequenceSymbol() const { return seqSym_; }
  int pastSymbol() const { return pastSym_; }
  int batchSymbol() const { return batchSym_; }
  /// What the compiled model assumes of inputs it does not take, one line
  /// each (for --describe).
  const std::vector<std::string> &assumptions() const { return assumptions_; }

  /// The model stored float16/bfloat16 tensors (widened at import): its
  /// constants carry half-precision rounding, which numeric pattern checks
  /// (GELU) must allow for.
  bool halfPrecisionOrigin = false;

private:
  bool inferNode(int nodeId, std::string &why);
  int addValue(Value v);
  int newSymbol(const std::string &name);
  void fitContent(int id);
  void assumeInputs();
  onnx::EvalTensor assumedValue(const Value &v, const std::vector<int64_t> &point) const;

  const onnx::Model &model_;
  std::vector<Value> values_;
  std::map<std::string, int> byName_;
  std::vector<std::string> symbols_;
  std::map<std::string, int> symbolIds_;
  mutable std::map<std::pair<int, std::vector<int64_t>>, onnx::EvalTensor> evalCache_;
  std::set<int> fitTried_;
  int seqSym_ = -1, pastSym_ = -1, batchSym_ = -1;
  std::vector<std::string> assumptions_;
};

} // namespace import
} // namespace lithe

#endif // LITHE_IMPORT_GRAPH_H
