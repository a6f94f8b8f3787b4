//===- OnnxModel.h - an ONNX model in plain C++ ---------------------*- C++ -*-===//
//
// What the importer reads out of an .onnx / .onnxtext file: graph inputs and
// outputs, initializers (raw little-endian bytes, external data resolved),
// nodes with their attributes, and the opset imported per domain. No protobuf
// or MLIR types appear here, so the rest of Lithe never sees protobuf.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_ONNXMODEL_H
#define LITHE_ONNXMODEL_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lithe {
namespace onnx {

/// ONNX TensorProto.DataType values used by GPT-2 exports.
enum ElemType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBFloat16 = 16,
};

/// Bytes per element of `t`, 0 if unsupported.
size_t elemSize(int32_t t);
/// "float", "int64", ... for messages.
const char *elemTypeName(int32_t t);
/// The value of a float16 (or, with `bfloat`, bfloat16) bit pattern.
float halfToFloat(uint16_t bits, bool bfloat);

/// One dimension of a value's declared shape: a number, a named parameter
/// ("batch", "sequence"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string param;   // dim_param, when given
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  int32_t elemType = kUndefined;
  bool hasShape = false;
  std::vector<Dim> shape;
};

/// A tensor with its bytes. `data` stays valid while `owner` lives.
struct Tensor {
  std::string name;
  int32_t elemType = kUndefined;
  std::vector<int64_t> dims;
  const uint8_t *data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const void> owner;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
};

struct Subgraph;

struct Attribute {
  enum Kind { Int, Float, String, Ints, Floats, Strings, TensorValue, GraphValue, Other };
  std::string name;
  Kind kind = Other;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<Tensor> t;
  std::shared_ptr<Subgraph> g; // GraphValue: an If/Loop body
};

struct Node {
  std::string name;
  std::string opType;
  std::string domain; // "" for the default ONNX domain ("ai.onnx" is mapped to "")
  std::vector<std::string> inputs;  // "" marks an absent optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attrs;

  /// The attribute `name`, or null.
  const Attribute *attr(const std::string &attrName) const {
    for (const Attribute &a : attrs)
      if (a.name == attrName)
        return &a;
    return nullptr;
  }
  /// "'name' (OpType)" for messages.
  std::string describe() const;
};

/// The body of a control-flow node (If's then_branch/else_branch). It reads
/// the enclosing graph's values by name.
struct Subgraph {
  std::vector<Tensor> initializers;
  std::vector<Node> nodes;
  std::vector<ValueInfo> outputs;
};

struct Model {
  std::string path;
  int64_t irVersion = 0;
  std::string producer;
  std::map<std::string, int64_t> opsets; // domain ("" = ai.onnx) -> version
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<Tensor> initializers;
  std::vector<Node> nodes;        // in the file's (topological) order

  /// The opset of `domain`, 0 if not imported.
  int64_t opset(const std::string &domain = "") const {
    auto it = opsets.find(domain);
    return it == opsets.end() ? 0 : it->second;
  }
};

/// The default-domain opsets the importer supports (tested: 13 to 18; the
/// operators GPT-2 exports use change only in type constraints up to 21).
/// loadModel refuses others with one line.
constexpr int64_t kMinOpset = 9;
constexpr int64_t kMaxOpset = 24;

/// Reads `path` (.onnx binary protobuf, or .onnxtext in ONNX's textual
/// syntax). External data is read relative to the model's directory; a
/// location that is absolute, contains "..", or resolves (through symlinks)
/// outside that directory is rejected. On failure returns false and sets
/// `error` to one line naming the file and the fault.
bool loadModel(const std::string &path, Model &model, std::string &error);

} // namespace onnx
} // namespace lithe

#endif // LITHE_ONNXMODEL_H
