//===- Import.cpp - emit lithe IR for an imported ONNX graph --------------===//

#include "lithe/Import.h"

#include "Graph.h"
#include "Normalize.h"
#include "Raise.h"
#include "lithe/Dialect.h"
#include "lithe/Weights.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace lithe {

using namespace mlir;
using import::Graph;
using import::Raised;
using import::RaisedOp;
using import::SymShape;
using import::Value;

namespace {

class Emitter {
public:
  Emitter(const Graph &g, Raised *r, MLIRContext &ctx, const ImportOptions &opts)
      : g(g), r(r), ctx(ctx), b(&ctx), opts(opts), loc(b.getUnknownLoc()) {}

  bool run(ImportResult &result, std::string &error);
  /// The first node (in graph order) left as a generic lithe.onnx op.
  /// Data-dependent nodes first: a leftover shape computation says less
  /// than the op that computes on the data.
  std::string firstGeneric() const {
    for (int n : generic) {
      int out = g.find(g.node(n).outputs[0]);
      if (out >= 0 && !g.value(out).isStatic) return g.node(n).describe();
    }
    return generic.empty() ? "" : g.node(*generic.begin()).describe();
  }

private:
  Type elemType(int32_t t) {
    switch (t) {
    case onnx::kFloat: return b.getF32Type();
    case onnx::kFloat16: return b.getF16Type();
    case onnx::kBFloat16: return b.getBF16Type();
    case onnx::kDouble: return b.getF64Type();
    case onnx::kInt64: return b.getI64Type();
    case onnx::kInt32: return b.getI32Type();
    case onnx::kInt8: return b.getI8Type();
    case onnx::kUInt8: return b.getIntegerType(8, /*isSigned=*/false);
    case onnx::kBool: return b.getI1Type();
    default: return Type();
    }
  }
  RankedTensorType tensorType(const SymShape &s, int32_t t) {
    SmallVector<int64_t> dims;
    for (const import::SymInt &d : s)
      dims.push_back(d.constant() ? *d.constant() : ShapedType::kDynamic);
    Type e = elemType(t);
    if (!e) {
      // An element type MLIR has no type for: the import fails (run()
      // returns the first error); a placeholder keeps emission going.
      fail(std::string("a value has the unsupported element type ") + onnx::elemTypeName(t));
      e = b.getF32Type();
    }
    return RankedTensorType::get(dims, e);
  }
  RankedTensorType typeOf(int v) {
    const Value &val = g.value(v);
    return tensorType(r ? r->shapeOf(g, v) : val.shape, val.elemType);
  }
  bool fail(const std::string &why) {
    if (error_.empty())
      error_ = why;
    return false;
  }

  mlir::Value weight(const std::string &name, RankedTensorType type, const uint8_t *data,
                     size_t nbytes, int32_t onnxType);
  mlir::Value weightByName(const std::string &name);
  mlir::Value constantOrWeight(const std::string &name, const onnx::Tensor &t);
  mlir::Value emitValue(int v);
  mlir::Value emitGeneric(const onnx::Node &n, int outputIndex);
  mlir::Value emitRaised(const RaisedOp &op);
  mlir::Value emitRaisedHere(const RaisedOp &op);
  Location locationOf(int value);
  NamedAttribute onnxAttrs(const onnx::Node &n);
  DenseElementsAttr denseFrom(RankedTensorType type, const uint8_t *data, int32_t t, int64_t n);
  bool writeWeights(std::string &error);

  const Graph &g;
  Raised *r;
  MLIRContext &ctx;
  OpBuilder b;
  const ImportOptions &opts;
  Location loc;
  Block *entry = nullptr;
  std::map<int, mlir::Value> values;
  std::map<std::string, mlir::Value> weights;
  struct WeightData {
    int32_t type;
    std::vector<int64_t> dims;
    const uint8_t *data;
    size_t nbytes;
    std::function<void(uint8_t *)> fill; // a derived tensor made at write time
  };
  std::map<std::string, WeightData> weightData;
  std::vector<std::string> weightOrder;
  std::map<int, mlir::Value> extraArgs;
  mlir::Value pastLen;
  std::map<int, mlir::Value> caches; // attention layer -> cache argument
  std::set<int> generic;             // nodes emitted as lithe.onnx
  std::string error_;
};

DenseElementsAttr Emitter::denseFrom(RankedTensorType type, const uint8_t *data, int32_t t,
                                     int64_t n) {
  if (t == onnx::kFloat) {
    std::vector<float> v(n);
    if (n) std::memcpy(v.data(), data, 4 * n);
    return DenseElementsAttr::get(type, ArrayRef<float>(v));
  }
  if (t == onnx::kDouble) {
    std::vector<double> v(n);
    if (n) std::memcpy(v.data(), data, 8 * n);
    return DenseElementsAttr::get(type, ArrayRef<double>(v));
  }
  if (t == onnx::kBool) {
    SmallVector<bool> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = data[i] != 0;
    return DenseElementsAttr::get(type, ArrayRef<bool>(v));
  }
  if (t == onnx::kFloat16 || t == onnx::kBFloat16) {
    std::vector<APFloat> v;
    const llvm::fltSemantics &sem = t == onnx::kFloat16 ? APFloat::IEEEhalf() : APFloat::BFloat();
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, data + 2 * i, 2);
      v.emplace_back(sem, APInt(16, bits));
    }
    return DenseElementsAttr::get(type, v);
  }
  size_t es = onnx::elemSize(t);
  std::vector<APInt> v;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, data + es * i, es);
    v.emplace_back(8 * es, bits, t != onnx::kUInt8);
  }
  return DenseElementsAttr::get(type, v);
}

mlir::Value Emitter::weight(const std::string &name, RankedTensorType type, const uint8_t *data,
                            size_t nbytes, int32_t onnxType) {
  auto it = weights.find(name);
  if (it != weights.end())
    return it->second;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(entry);
  mlir::Value w = b.create<WeightOp>(loc, type, name);
  weights[name] = w;
  std::vector<int64_t> dims(type.getShape().begin(), type.getShape().end());
  weightData[name] = {onnxType, dims, data, nbytes};
  weightOrder.push_back(name);
  return w;
}

mlir::Value Emitter::weightByName(const std::string &name) {
  if (auto it = weights.find(name); it != weights.end())
    return it->second;
  if (r)
    for (const import::DerivedWeight &d : r->derived)
      if (d.name == name) {
        import::SymShape s;
        for (int64_t x : d.dims) s.push_back(import::SymInt(x));
        mlir::Value w = weight(name, tensorType(s, d.elemType), d.bytes.data(), d.size(), d.elemType);
        weightData[name].fill = d.fill;
        return w;
      }
  int v = g.find(name);
  if (v < 0 || !g.value(v).init) {
    fail(g.model().path + ": internal error: weight '" + name + "' not found");
    return {};
  }
  const onnx::Tensor &t = *g.value(v).init;
  return weight(name, typeOf(v), t.data, t.nbytes, t.elemType);
}

mlir::Value Emitter::constantOrWeight(const std::string &name, const onnx::Tensor &t) {
  import::SymShape s;
  for (int64_t d : t.dims) s.push_back(import::SymInt(d));
  RankedTensorType type = tensorType(s, t.elemType);
  if (!type.getElementType()) {
    fail(g.model().path + ": tensor '" + name + "' has unsupported element type " +
         onnx::elemTypeName(t.elemType));
    return {};
  }
  bool isFloat = t.elemType == onnx::kFloat || t.elemType == onnx::kFloat16 ||
                 t.elemType == onnx::kBFloat16;
  if ((isFloat && t.numElements() > 16) || t.numElements() > ConstantOp::kMaxElements ||
      t.elemType == onnx::kDouble) {
    if (t.elemType == onnx::kDouble || t.elemType == onnx::kUInt8) {
      fail(g.model().path + ": tensor '" + name + "' of type " + onnx::elemTypeName(t.elemType) +
           " is too large to inline and cannot be a weight");
      return {};
    }
    return weight(name, type, t.data, t.nbytes, t.elemType);
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(entry);
  return b.create<ConstantOp>(loc, denseFrom(type, t.data, t.elemType, t.numElements()));
}

NamedAttribute Emitter::onnxAttrs(const onnx::Node &n) {
  SmallVector<NamedAttribute> attrs;
  for (const onnx::Attribute &a : n.attrs) {
    Attribute v;
    switch (a.kind) {
    case onnx::Attribute::Int: v = b.getI64IntegerAttr(a.i); break;
    case onnx::Attribute::Float: v = b.getF32FloatAttr(a.f); break;
    case onnx::Attribute::String: v = b.getStringAttr(a.s); break;
    case onnx::Attribute::Ints: v = b.getDenseI64ArrayAttr(a.ints); break;
    case onnx::Attribute::Floats: v = b.getDenseF32ArrayAttr(a.floats); break;
    case onnx::Attribute::Strings: {
      SmallVector<Attribute> s;
      for (const std::string &x : a.strings) s.push_back(b.getStringAttr(x));
      v = b.getArrayAttr(s);
      break;
    }
    case onnx::Attribute::TensorValue:
      if (a.t && a.t->numElements() <= ConstantOp::kMaxElements) {
        import::SymShape s;
        for (int64_t d : a.t->dims) s.push_back(import::SymInt(d));
        RankedTensorType type = tensorType(s, a.t->elemType);
        if (type.getElementType() && a.t->elemType != onnx::kDouble)
          v = denseFrom(type, a.t->data, a.t->elemType, a.t->numElements());
      }
      if (!v) v = b.getStringAttr("<large tensor>");
      break;
    default: v = b.getStringAttr("<unsupported attribute kind>"); break;
    }
    attrs.push_back(b.getNamedAttr(a.name, v));
  }
  return b.getNamedAttr("onnx_attrs", b.getDictionaryAttr(attrs));
}

mlir::Value Emitter::emitGeneric(const onnx::Node &n, int outputIndex) {
  int first = g.find(n.outputs[0]);
  SmallVector<mlir::Value> operands;
  SmallVector<int64_t> absent;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty()) {
      absent.push_back(static_cast<int64_t>(i));
      continue;
    }
    mlir::Value v = emitValue(g.find(n.inputs[i]));
    if (!v) return {};
    operands.push_back(v);
  }
  SmallVector<Type> types;
  for (const std::string &o : n.outputs) {
    int id = g.find(o);
    if (id < 0) { types.push_back(RankedTensorType::get({}, b.getF32Type())); continue; }
    if (!elemType(g.value(id).elemType)) {
      // Type 0: shape inference never set it: an output the op does not have.
      fail(g.nodeError(g.value(id).producer,
                       g.value(id).elemType == 0
                           ? "output '" + o + "' has no type: " + n.opType + " does not define " +
                                 std::to_string(n.outputs.size()) + " outputs"
                           : std::string("unsupported element type ") + onnx::elemTypeName(g.value(id).elemType)));
      return {};
    }
    RankedTensorType t = tensorType(g.value(id).shape, g.value(id).elemType);
    types.push_back(t);
  }
  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("op_type", b.getStringAttr(n.opType)),
      b.getNamedAttr("opset", b.getI64IntegerAttr(g.opsetOf(n)))};
  if (!n.domain.empty()) attrs.push_back(b.getNamedAttr("domain", b.getStringAttr(n.domain)));
  if (!n.name.empty()) attrs.push_back(b.getNamedAttr("node_name", b.getStringAttr(n.name)));
  if (!n.attrs.empty()) attrs.push_back(onnxAttrs(n));
  if (!absent.empty()) attrs.push_back(b.getNamedAttr("absent_inputs", b.getDenseI64ArrayAttr(absent)));
  auto op = b.create<OnnxOp>(loc, types, operands, attrs);
  generic.insert(g.value(first).producer);
  for (size_t o = 0; o < n.outputs.size(); ++o)
    if (int id = g.find(n.outputs[o]); id >= 0) values[id] = op->getResult(o);
  return op->getResult(outputIndex);
}

mlir::Value Emitter::emitRaised(const RaisedOp &op) {
  // Inputs first (they have locations of their own), then this op at the
  // location of the ONNX node that defines its result.
  for (int v : op.ins)
    if (!emitValue(v)) return {};
  Location saved = loc;
  loc = locationOf(op.out);
  mlir::Value result = emitRaisedHere(op);
  loc = saved;
  return result;
}

Location Emitter::locationOf(int value) {
  int node = value >= 0 ? g.value(value).producer : -1;
  if (node < 0) return b.getUnknownLoc();
  const onnx::Node &n = g.node(node);
  std::string name = n.name.empty() ? n.outputs[0] : n.name;
  return NameLoc::get(b.getStringAttr(name), FileLineColLoc::get(b.getStringAttr(g.model().path), 0, 0));
}

mlir::Value Emitter::emitRaisedHere(const RaisedOp &op) {
  auto in = [&](size_t i) { return emitValue(op.ins.at(i)); };
  RankedTensorType outType = typeOf(op.out);
  switch (op.kind) {
  case RaisedOp::Embedding: {
    mlir::Value ids = in(0), table = weightByName(op.weight);
    if (!ids || !table) return {};
    return b.create<EmbeddingOp>(loc, outType, table, ids, /*table_scale=*/mlir::Value());
  }
  case RaisedOp::PositionEmbedding: {
    mlir::Value ids = in(0), table = weightByName(op.weight);
    if (!ids || !table) return {};
    if (!pastLen) {
      fail(g.model().path + ": internal error: position embedding without a past length");
      return {};
    }
    mlir::Value pos = b.create<PositionIdsOp>(loc, ids.getType(), ids, pastLen);
    return b.create<EmbeddingOp>(loc, outType, table, pos, /*table_scale=*/mlir::Value());
  }
  case RaisedOp::LayerNorm: {
    mlir::Value x = in(0);
    mlir::Value scale = op.scale.empty() ? mlir::Value() : weightByName(op.scale);
    mlir::Value bias = op.bias.empty() ? mlir::Value() : weightByName(op.bias);
    if (!x) return {};
    return b.create<LayerNormOp>(loc, outType, x, scale, bias, b.getF32FloatAttr(static_cast<float>(op.eps)));
  }
  case RaisedOp::Center: {
    mlir::Value x = in(0);
    mlir::Value scale = op.scale.empty() ? mlir::Value() : weightByName(op.scale);
    mlir::Value bias = op.bias.empty() ? mlir::Value() : weightByName(op.bias);
    if (!x) return {};
    return b.create<CenterOp>(loc, outType, x, scale, bias);
  }
  case RaisedOp::Linear: {
    mlir::Value x = in(0);
    if (!x) return {};
    std::string wname = op.weight;
    if (op.weightTransposed) {
      // Store [out, in] weights as [in, out].
      int v = g.find(op.weight);
      const onnx::Tensor &t = *g.value(v).init;
      r->derived.push_back(import::DerivedWeight::transposed(op.weight + ".T", t.data, t.dims[0], t.dims[1]));
      wname = op.weight + ".T";
    }
    mlir::Value w = weightByName(wname);
    mlir::Value bias = op.bias.empty() ? mlir::Value() : weightByName(op.bias);
    mlir::Value scale = op.weightScale.empty() ? mlir::Value() : weightByName(op.weightScale);
    if (!w || (!op.weightScale.empty() && !scale)) return {};
    return b.create<LinearOp>(loc, outType, x, w, bias, scale);
  }
  case RaisedOp::Gelu: {
    mlir::Value x = in(0);
    if (!x) return {};
    return b.create<GeluOp>(loc, outType, x, op.geluTanh ? GeluApproximation::tanh
                                                         : GeluApproximation::none);
  }
  case RaisedOp::Add: {
    mlir::Value x = in(0), y = in(1);
    if (!x || !y) return {};
    // Canonical operand order (the earlier-defined value first), so every
    // exporter's residual adds print alike.
    auto before = [](mlir::Value a, mlir::Value b) {
      if (!a.getDefiningOp()) return true;
      if (!b.getDefiningOp()) return false;
      return a.getDefiningOp()->isBeforeInBlock(b.getDefiningOp());
    };
    if (!before(x, y)) std::swap(x, y);
    return b.create<AddOp>(loc, outType, x, y);
  }
  case RaisedOp::Attention: {
    mlir::Value q = in(0), k = in(1), v = in(2);
    if (!q || !k || !v) return {};
    return b.create<AttentionOp>(loc, outType, q, k, v, caches.at(op.layer), pastLen,
                                 static_cast<uint64_t>(op.heads), static_cast<uint64_t>(op.headDim),
                                 APFloat(op.attnScale), op.causal);
  }
  case RaisedOp::LMHead: {
    mlir::Value x = in(0), table = weightByName(op.weight);
    mlir::Value scale = op.weightScale.empty() ? mlir::Value() : weightByName(op.weightScale);
    if (!x || !table || (!op.weightScale.empty() && !scale)) return {};
    return b.create<LMHeadOp>(loc, outType, x, table, mlir::Value(), scale);
  }
  }
  return {};
}

mlir::Value Emitter::emitValue(int v) {
  if (v < 0) {
    fail(g.model().path + ": internal error: missing value");
    return {};
  }
  if (auto it = values.find(v); it != values.end())
    return it->second;
  const Value &val = g.value(v);
  mlir::Value result;
  if (r) {
    auto it = r->claimed.find(v);
    if (it != r->claimed.end() && !r->ops[it->second].dead) {
      result = emitRaised(r->ops[it->second]);
      if (result) values[v] = result;
      return result;
    }
  }
  switch (val.kind) {
  case Value::Input: {
    // Raised models take ids, past length and caches; other inputs (used by
    // generic ops) become extra arguments.
    RankedTensorType t = tensorType(val.shape, val.elemType);
    if (!t.getElementType()) {
      fail(g.model().path + ": graph input '" + val.name + "' has unsupported element type " +
           onnx::elemTypeName(val.elemType));
      return {};
    }
    result = entry->addArgument(t, loc);
    extraArgs[v] = result;
    break;
  }
  case Value::Initializer:
    result = constantOrWeight(val.name, *val.init);
    break;
  case Value::NodeOutput: {
    const onnx::Node &n = g.node(val.producer);
    if (n.opType == "Constant") {
      const onnx::Attribute *a = n.attr("value");
      if (a && a->t) { result = constantOrWeight(val.name, *a->t); break; }
    }
    // Static, symbol-free and small: fold into a constant.
    if (val.isStatic && r && n.opType != "Constant") {
      if (auto c = g.constantValue(v)) {
        if (static_cast<int64_t>(c->data.size()) <= ConstantOp::kMaxElements &&
            (val.elemType == onnx::kInt64 || val.elemType == onnx::kFloat || val.elemType == onnx::kBool)) {
          RankedTensorType t = tensorType(val.shape, val.elemType);
          DenseElementsAttr attr;
          if (val.elemType == onnx::kFloat) {
            std::vector<float> f(c->data.begin(), c->data.end());
            attr = DenseElementsAttr::get(t, ArrayRef<float>(f));
          } else if (val.elemType == onnx::kBool) {
            SmallVector<bool> f;
            for (double d : c->data) f.push_back(d != 0);
            attr = DenseElementsAttr::get(t, ArrayRef<bool>(f));
          } else {
            std::vector<int64_t> f(c->data.begin(), c->data.end());
            attr = DenseElementsAttr::get(t, ArrayRef<int64_t>(f));
          }
          result = b.create<ConstantOp>(loc, attr);
          break;
        }
      }
    }
    {
      Location saved = loc;
      loc = locationOf(v);
      result = emitGeneric(n, val.producerOutput);
      loc = saved;
    }
    break;
  }
  }
  if (result) values[v] = result;
  return result;
}

bool Emitter::writeWeights(std::string &error) {
  WeightsWriter writer;
  for (const std::string &name : weightOrder) {
    const WeightData &d = weightData[name];
    DType t;
    switch (d.type) {
    case onnx::kFloat: t = DType::F32; break;
    case onnx::kFloat16: t = DType::F16; break;
    case onnx::kBFloat16: t = DType::BF16; break;
    case onnx::kInt8: t = DType::I8; break;
    case onnx::kInt32: t = DType::I32; break;
    case onnx::kInt64: t = DType::I64; break;
    case onnx::kBool: t = DType::I1; break;
    default:
      error = g.model().path + ": tensor '" + name + "' has a type the weights file cannot hold";
      return false;
    }
    // The model's tensors stay mapped (and derived ones owned) until the
    // file is written: no copy.
    if (d.fill) {
      auto fill = d.fill;
      if (!writer.addGenerated(name, t, d.dims, d.nbytes,
                               [fill](uint8_t *out, std::string &) { fill(out); return true; }, error))
        return false;
      continue;
    }
    if (!writer.addBorrowed(name, t, d.dims, d.data, d.nbytes, error))
      return false;
  }
  return writer.write(opts.weightsPath, error);
}

bool Emitter::run(ImportResult &result, std::string &error) {
  ModuleOp module = ModuleOp::create(loc);
  result.module = module;
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(loc, "forward", b.getFunctionType({}, {}));
  entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);

  SmallVector<mlir::Value> results;
  if (!r) {
    // ONNX level: every graph input in order, every node, every output.
    for (const onnx::ValueInfo &vi : g.model().inputs)
      if (!emitValue(g.find(vi.name))) break;
    for (size_t i = 0; i < g.model().nodes.size() && error_.empty(); ++i) {
      const onnx::Node &n = g.node(i);
      bool needed = false;
      for (const std::string &o : n.outputs)
        if (g.find(o) >= 0 && !values.count(g.find(o))) needed = true;
      if (needed) {
        if (n.opType == "Constant") emitValue(g.find(n.outputs[0]));
        else emitGeneric(n, 0);
      }
    }
    for (const onnx::ValueInfo &vi : g.model().outputs)
      if (mlir::Value v = emitValue(g.find(vi.name))) results.push_back(v);
  } else {
    // Raised GPT-2 signature: (ids, past_len, one KV cache per attention
    // layer); graph inputs that generic ops still read follow as extra
    // arguments. A fragment without a token embedding keeps its inputs.
    if (r->inputIds >= 0) {
      const Value &ids = g.value(r->inputIds);
      values[r->inputIds] = entry->addArgument(tensorType(ids.shape, ids.elemType), loc);
      pastLen = entry->addArgument(b.getIndexType(), loc);
    }
    std::set<int> presents;
    for (const RaisedOp &op : r->ops) {
      if (op.dead || op.kind != RaisedOp::Attention) continue;
      if (!pastLen) pastLen = entry->addArgument(b.getIndexType(), loc);
      caches[op.layer] = entry->addArgument(
          KVCacheType::get(&ctx, op.heads, op.headDim, b.getF32Type()), loc);
      presents.insert(op.presentKey);
      presents.insert(op.presentValue);
    }
    for (const onnx::ValueInfo &vi : g.model().outputs) {
      int v = g.find(vi.name);
      bool isPresent = false;
      for (int p : presents)
        if (p >= 0 && (p == v || g.value(v).producer >= 0 &&
                                     g.node(g.value(v).producer).inputs.size() == 1 &&
                                     g.find(g.node(g.value(v).producer).inputs[0]) == p))
          isPresent = true;
      if (isPresent) continue; // lives in the KV cache
      if (mlir::Value m = emitValue(v)) results.push_back(m);
    }
    for (int n : generic) result.genericNodes.push_back(g.node(n).describe());
  }
  if (!error_.empty()) {
    error = error_;
    return false;
  }
  b.create<func::ReturnOp>(loc, results);
  SmallVector<Type> argTypes(entry->getArgumentTypes());
  fn.setFunctionType(b.getFunctionType(argTypes, TypeRange(ValueRange(results))));

  if (!opts.weightsRef.empty() || !opts.weightsPath.empty()) {
    std::string ref = opts.weightsRef;
    if (ref.empty()) {
      size_t slash = opts.weightsPath.find_last_of('/');
      ref = slash == std::string::npos ? opts.weightsPath : opts.weightsPath.substr(slash + 1);
    }
    module->setAttr(LitheDialect::kWeightsAttrName, b.getStringAttr(ref));
  }
  if (failed(verify(module))) {
    error = g.model().path + ": internal error: the imported module does not verify";
    return false;
  }
  if (!opts.weightsPath.empty() && !writeWeights(error))
    return false;
  return true;
}

} // namespace

bool importOnnx(const std::string &path, MLIRContext &context, const ImportOptions &options,
                ImportResult &result, std::string &error) {
  context.loadDialect<LitheDialect, func::FuncDialect>();
  onnx::Model model;
  if (!onnx::loadModel(path, model, error))
    return false;
  int moved = import::sortNodesTopologically(model);
  // A merged decoder: the other branch is raised too, as a check.
  std::optional<onnx::Model> withoutPast;
  if (options.level == ImportLevel::Lithe && import::hasCacheBranch(model)) withoutPast = model;
  std::vector<std::string> normalized;
  if (!import::normalizeModel(model, normalized, error))
    return false;
  Graph graph(model);
  graph.halfPrecisionOrigin = !normalized.empty() &&
                              normalized.front().find("float16") != std::string::npos;
  if (!graph.build(error))
    return false;
  result.producer = model.producer;
  result.opset = model.opset("");
  result.onnxNodes = static_cast<int64_t>(model.nodes.size());
  for (const onnx::Tensor &t : model.initializers)
    result.initializerBytes += static_cast<int64_t>(t.nbytes);

  Raised raised;
  Raised *rp = nullptr;
  if (options.level == ImportLevel::Lithe) {
    if (!import::raiseGraph(graph, raised, error))
      return false;
    rp = &raised;
    for (const RaisedOp &op : raised.ops)
      if (!op.dead && op.kind == RaisedOp::PositionEmbedding)
        if (int v = graph.find(op.weight); v >= 0 && graph.value(v).init)
          result.context = graph.value(v).init->dims[0];
  }
  Emitter emitter(graph, rp, context, options);
  if (!emitter.run(result, error)) {
    result.module = nullptr;
    return false;
  }
  if (options.requireModel && rp) {
    int layers = 0;
    bool head = false;
    for (const RaisedOp &op : raised.ops) {
      if (op.dead) continue;
      layers += op.kind == RaisedOp::Attention;
      head |= op.kind == RaisedOp::LMHead;
    }
    std::string why;
    if (!emitter.firstGeneric().empty())
      why = "node " + emitter.firstGeneric() + " is not part of a recognised GPT-2 pattern";
    else if (raised.inputIds < 0)
      why = "no token embedding (Gather of an initializer by an integer input) was found";
    else if (!layers)
      why = "no attention layer was found";
    else if (!head)
      why = "no LM head (a linear layer to the vocabulary feeding an output) was found";
    if (!why.empty()) {
      // The raising note that explains it, when there is one.
      for (const std::string &note : raised.notes)
        if (note.find("left generic") != std::string::npos) { why += " (" + note + ")"; break; }
      error = path + ": not recognised as a GPT-2: " + why;
      result.module = nullptr;
      return false;
    }
  }
  std::string branchNote;
  if (withoutPast) {
    // Both branches of a merged decoder must be the same GPT-2: the
    // without-past one raised on its own has as many attention layers.
    std::vector<std::string> unused;
    std::string why;
    int layers = 0, branchLayers = 0;
    for (const RaisedOp &op : raised.ops) layers += !op.dead && op.kind == RaisedOp::Attention;
    Raised other;
    bool ok = import::normalizeModel(*withoutPast, unused, why, /*useCacheBranch=*/false);
    std::optional<Graph> g2;
    if (ok) {
      g2.emplace(*withoutPast);
      ok = g2->build(why) && import::raiseGraph(*g2, other, why);
    }
    for (const RaisedOp &op : other.ops) branchLayers += !op.dead && op.kind == RaisedOp::Attention;
    if (ok && branchLayers == layers)
      branchNote = ("the merged decoder's without-past branch raises too: " +
                             std::to_string(branchLayers) + " attention layers, like the compiled one");
    else
      branchNote = ("warning: the merged decoder's without-past branch does not raise like "
                             "the with-past one (" + std::to_string(branchLayers) + " vs " +
                             std::to_string(layers) + " attention layers" +
                             (why.empty() ? "" : "; " + why) + ")");
  }
  if (moved)
    result.notes.push_back(std::to_string(moved) +
                           " nodes were out of topological order and were re-sorted");
  result.notes.insert(result.notes.end(), normalized.begin(), normalized.end());
  for (const std::string &a : graph.assumptions()) result.notes.push_back(a);
  result.notes.insert(result.notes.end(), raised.notes.begin(), raised.notes.end());
  if (!branchNote.empty()) result.notes.push_back(branchNote);
  return true;
}

} // namespace lithe
