//===- Graph.cpp - value table and symbolic shape inference ---------------===//

#include "Graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lithe {
namespace import {

using onnx::EvalTensor;
using onnx::Node;

namespace {

constexpr int64_t kMaxContent = 64; // symbolic contents kept up to this size

bool isIntType(int32_t t) {
  return t == onnx::kInt64 || t == onnx::kInt32 || t == onnx::kInt8 ||
         t == onnx::kUInt8;
}

/// Reads integer elements of an initializer / constant tensor.
std::optional<std::vector<SymInt>> intContent(const onnx::Tensor &t) {
  if (!isIntType(t.elemType) || t.numElements() > kMaxContent)
    return std::nullopt;
  std::vector<SymInt> out;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    int64_t v = 0;
    switch (t.elemType) {
    case onnx::kInt64: { int64_t x; std::memcpy(&x, t.data + 8 * i, 8); v = x; break; }
    case onnx::kInt32: { int32_t x; std::memcpy(&x, t.data + 4 * i, 4); v = x; break; }
    case onnx::kInt8: v = static_cast<int8_t>(t.data[i]); break;
    default: v = t.data[i]; break;
    }
    out.push_back(SymInt(v));
  }
  return out;
}

int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

bool broadcast(const SymShape &a, const SymShape &b, SymShape &result) {
  size_t r = std::max(a.size(), b.size());
  SymShape out(r, SymInt(1));
  for (size_t i = 0; i < r; ++i) {
    const SymInt &x = i < r - a.size() ? SymInt(1) : a[i - (r - a.size())];
    const SymInt &y = i < r - b.size() ? SymInt(1) : b[i - (r - b.size())];
    if (x == SymInt(1)) out[i] = y;
    else if (y == SymInt(1) || x == y) out[i] = x;
    else if (x.isConstant() && !y.isConstant()) out[i] = x; // y must be x at run time
    else if (y.isConstant() && !x.isConstant()) out[i] = y;
    else return false;
  }
  result = out;
  return true;
}

const onnx::Attribute *attr(const Node &n, const char *name) { return n.attr(name); }
int64_t attrInt(const Node &n, const char *name, int64_t dflt) {
  const onnx::Attribute *a = n.attr(name);
  return a && a->kind == onnx::Attribute::Int ? a->i : dflt;
}

} // namespace

int Graph::find(const std::string &name) const {
  if (name.empty())
    return -1;
  auto it = byName_.find(name);
  return it == byName_.end() ? -1 : it->second;
}

int Graph::symbol(const std::string &name) const {
  auto it = symbolIds_.find(name);
  return it == symbolIds_.end() ? -1 : it->second;
}

int Graph::newSymbol(const std::string &name) {
  auto it = symbolIds_.find(name);
  if (it != symbolIds_.end())
    return it->second;
  int id = static_cast<int>(symbols_.size());
  symbols_.push_back(name);
  symbolIds_[name] = id;
  return id;
}

int Graph::addValue(Value v) {
  int id = static_cast<int>(values_.size());
  byName_[v.name] = id;
  values_.push_back(std::move(v));
  return id;
}

std::string Graph::shapeStr(const SymShape &s) const {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + s[i].str(symbols_);
  return out + "]";
}

std::string Graph::nodeError(int nodeId, const std::string &why) const {
  return model_.path + ": node " + model_.nodes[nodeId].describe() + ": " + why;
}

bool Graph::build(std::string &error) {
  for (const onnx::Tensor &t : model_.initializers) {
    Value v;
    v.name = t.name;
    v.kind = Value::Initializer;
    v.elemType = t.elemType;
    v.shapeKnown = true;
    for (int64_t d : t.dims)
      v.shape.push_back(SymInt(d));
    v.init = &t;
    v.isStatic = true;
    v.content = intContent(t);
    addValue(std::move(v));
  }
  int unnamed = 0;
  for (const onnx::ValueInfo &vi : model_.inputs) {
    Value v;
    v.name = vi.name;
    v.kind = Value::Input;
    v.elemType = vi.elemType;
    if (!vi.hasShape) {
      error = model_.path + ": graph input '" + vi.name + "' has no shape";
      return false;
    }
    v.shapeKnown = true;
    for (const onnx::Dim &d : vi.shape) {
      if (d.known())
        v.shape.push_back(SymInt(d.value));
      else
        v.shape.push_back(SymInt::symbol(newSymbol(
            d.param.empty() ? vi.name + "_dim" + std::to_string(unnamed++) : d.param)));
    }
    addValue(std::move(v));
  }
  assumeInputs();
  for (size_t n = 0; n < model_.nodes.size(); ++n) {
    const Node &node = model_.nodes[n];
    for (const std::string &in : node.inputs) {
      if (in.empty())
        continue;
      int id = find(in);
      if (id < 0) {
        error = nodeError(n, "input '" + in +
                                 "' is neither a graph input, an initializer nor "
                                 "an earlier node's output (missing initializer?)");
        return false;
      }
      values_[id].consumers.push_back(static_cast<int>(n));
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty())
        continue;
      if (find(node.outputs[o]) >= 0) {
        error = nodeError(n, "output '" + node.outputs[o] + "' is defined twice");
        return false;
      }
      Value v;
      v.name = node.outputs[o];
      v.producer = static_cast<int>(n);
      v.producerOutput = static_cast<int>(o);
      addValue(std::move(v));
    }
    std::string why;
    if (!inferNode(static_cast<int>(n), why)) {
      error = nodeError(n, why);
      return false;
    }
  }
  for (const onnx::ValueInfo &vi : model_.outputs) {
    int id = find(vi.name);
    if (id < 0) {
      error = model_.path + ": graph output '" + vi.name + "' is never computed";
      return false;
    }
    values_[id].isGraphOutput = true;
    // Check the declared shape against the inferred one where both are known.
    const Value &v = values_[id];
    if (vi.hasShape && v.shapeKnown && vi.shape.size() != v.shape.size()) {
      error = model_.path + ": graph output '" + vi.name + "' is declared with rank " +
              std::to_string(vi.shape.size()) + " but computes " + shapeStr(v.shape);
      return false;
    }
  }
  return true;
}

// Symbolic shape (and small content) inference for one node. Returns false
// with `why` when the node is malformed or unsupported.
bool Graph::inferNode(int nodeId, std::string &why) {
  const Node &n = model_.nodes[nodeId];
  const int64_t opset = opsetOf(n);
  std::vector<const Value *> in;
  bool allStatic = true;
  for (const std::string &name : n.inputs) {
    const Value *v = name.empty() ? nullptr : &values_[find(name)];
    in.push_back(v);
    if (v && !v->isStatic)
      allStatic = false;
  }
  // An output the node does not have (fewer outputs than the op defines, or
  // an omitted optional one) is inferred into a scratch value nobody reads.
  Value unused;
  auto out = [&](size_t i) -> Value & {
    int id = i < n.outputs.size() ? find(n.outputs[i]) : -1;
    return id >= 0 ? values_[id] : unused;
  };
  auto need = [&](size_t count) {
    if (in.size() < count || n.outputs.empty()) {
      why = "expects at least " + std::to_string(count) + " inputs";
      return false;
    }
    for (size_t i = 0; i < count; ++i)
      if (!in[i] || !in[i]->shapeKnown) {
        why = "input " + std::to_string(i) + " is missing or has an unknown shape";
        return false;
      }
    return true;
  };
  auto setOut = [&](size_t i, int32_t type, SymShape shape) -> Value & {
    Value &v = out(i);
    v.elemType = type;
    v.shape = std::move(shape);
    v.shapeKnown = true;
    v.isStatic = allStatic;
    return v;
  };
  // Integer vector operand (axes, shape targets) from symbolic contents.
  auto contentOf = [&](size_t i) -> const std::vector<SymInt> * {
    if (i >= in.size() || !in[i])
      return nullptr;
    if (!in[i]->content && in[i]->isStatic)
      fitContent(find(n.inputs[i]));
    return in[i]->content ? &*in[i]->content : nullptr;
  };
  auto constInts = [&](size_t i, std::vector<int64_t> &vals) {
    const std::vector<SymInt> *c = contentOf(i);
    if (!c)
      return false;
    vals.clear();
    for (const SymInt &s : *c) {
      if (!s.constant())
        return false;
      vals.push_back(*s.constant());
    }
    return true;
  };
  auto axesOf = [&](const char *attrName, size_t inputIdx, bool fromInput,
                    std::vector<int64_t> &axes, bool &present) {
    present = false;
    if (fromInput) {
      if (inputIdx < in.size() && in[inputIdx]) {
        present = true;
        if (!constInts(inputIdx, axes)) {
          why = "axes must be a constant";
          return false;
        }
      }
      return true;
    }
    if (const onnx::Attribute *a = attr(n, attrName)) {
      present = true;
      axes = a->ints;
    }
    return true;
  };

  const std::string &op = n.opType;
  if (!n.domain.empty()) {
    why = "operator domain '" + n.domain + "' is not supported";
    return false;
  }

  if (op == "Constant") {
    const onnx::Attribute *a = attr(n, "value");
    if (a && a->t) {
      SymShape s;
      for (int64_t d : a->t->dims) s.push_back(SymInt(d));
      Value &v = setOut(0, a->t->elemType, s);
      v.isStatic = true;
      v.content = intContent(*a->t);
      return true;
    }
    if ((a = attr(n, "value_float"))) { setOut(0, onnx::kFloat, {}).isStatic = true; return true; }
    if ((a = attr(n, "value_int"))) {
      Value &v = setOut(0, onnx::kInt64, {});
      v.isStatic = true;
      v.content = std::vector<SymInt>{SymInt(a->i)};
      return true;
    }
    if ((a = attr(n, "value_ints"))) {
      Value &v = setOut(0, onnx::kInt64, {SymInt(static_cast<int64_t>(a->ints.size()))});
      v.isStatic = true;
      std::vector<SymInt> c;
      for (int64_t x : a->ints) c.push_back(SymInt(x));
      v.content = c;
      return true;
    }
    if ((a = attr(n, "value_floats"))) {
      setOut(0, onnx::kFloat, {SymInt(static_cast<int64_t>(a->floats.size()))}).isStatic = true;
      return true;
    }
    why = "Constant without a supported value attribute";
    return false;
  }
  if (op == "Shape") {
    if (!need(1)) return false;
    int64_t r = in[0]->rank();
    int64_t start = normAxis(attrInt(n, "start", 0), r);
    int64_t end = attrInt(n, "end", r);
    end = std::min(normAxis(end, r), r);
    start = std::clamp<int64_t>(start, 0, r);
    std::vector<SymInt> c;
    for (int64_t i = start; i < end; ++i) c.push_back(in[0]->shape[i]);
    Value &v = setOut(0, onnx::kInt64, {SymInt(static_cast<int64_t>(c.size()))});
    v.isStatic = true; // a shape is known without the data
    v.content = c;
    return true;
  }
  if (op == "Size") {
    if (!need(1)) return false;
    SymInt p(1);
    for (const SymInt &d : in[0]->shape) p = p * d;
    Value &v = setOut(0, onnx::kInt64, {});
    v.isStatic = true;
    v.content = std::vector<SymInt>{p};
    return true;
  }
  if (op == "Identity" || op == "Cast" || op == "CastLike") {
    if (!need(1)) return false;
    int32_t t = in[0]->elemType;
    if (op == "Cast") t = static_cast<int32_t>(attrInt(n, "to", t));
    if (op == "CastLike" && in.size() > 1 && in[1]) t = in[1]->elemType;
    Value &v = setOut(0, t, in[0]->shape);
    if (isIntType(t) && in[0]->content) v.content = in[0]->content;
    return true;
  }
  if (op == "Attention" && opset >= 23) {
    // 4-D: Q [B, H, S, d], K/V [B, H, L, d] (+ past [B, H, P, d]).
    if (!need(3)) return false;
    if (in[0]->rank() != 4 || in[1]->rank() != 4 || in[2]->rank() != 4) {
      why = "only 4-D (heads-split) inputs are supported";
      return false;
    }
    SymShape y = in[0]->shape;
    y[3] = in[2]->shape[3];
    setOut(0, in[0]->elemType, y);
    for (size_t o = 1; o <= 2 && o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      const Value *past = in.size() > 3 + o && in[3 + o] ? in[3 + o] : nullptr;
      SymShape p = in[o]->shape;
      if (past) p[2] = past->shape[2] + p[2];
      setOut(o, in[o]->elemType, p);
    }
    if (n.outputs.size() > 3 && !n.outputs[3].empty()) {
      why = "the qk_matmul_output output is not supported";
      return false;
    }
    return true;
  }
  if (op == "DequantizeLinear") {
    if (!need(2)) return false;
    setOut(0, in[1]->elemType, in[0]->shape);
    return true;
  }
  if (op == "IsNaN" || op == "IsInf") {
    if (!need(1)) return false;
    setOut(0, onnx::kBool, in[0]->shape);
    return true;
  }
  if (op == "GatherND") {
    if (!need(2)) return false;
    int64_t r = in[0]->rank(), q = in[1]->rank(), bd = attrInt(n, "batch_dims", 0);
    auto k = q > 0 ? in[1]->shape.back().constant() : std::nullopt;
    if (!k || bd < 0 || bd >= std::min(r, q) || *k < 1 || bd + *k > r) {
      why = "indices of shape " + shapeStr(in[1]->shape) + " do not fit data of shape " +
            shapeStr(in[0]->shape);
      return false;
    }
    SymShape s(in[1]->shape.begin(), in[1]->shape.end() - 1);
    s.insert(s.end(), in[0]->shape.begin() + bd + *k, in[0]->shape.end());
    setOut(0, in[0]->elemType, s);
    return true;
  }
  static const char *kUnary[] = {"Neg", "Abs", "Sqrt", "Exp", "Log", "Tanh", "Erf", "Sigmoid",
                                 "Relu", "Reciprocal", "Floor", "Ceil", "Not", "Softmax",
                                 "LogSoftmax", "Gelu", "Trilu", "CumSum", "Clip", "Dropout"};
  for (const char *u : kUnary)
    if (op == u) {
      if (!need(1)) return false;
      Value &v = setOut(0, in[0]->elemType, in[0]->shape);
      if (op == "Neg" && in[0]->content) {
        std::vector<SymInt> c;
        for (const SymInt &s : *in[0]->content) c.push_back(SymInt(0) - s);
        v.content = c;
      }
      for (size_t o = 1; o < n.outputs.size(); ++o) // Dropout mask
        if (!n.outputs[o].empty()) setOut(o, onnx::kBool, in[0]->shape);
      return true;
    }
  static const char *kBinary[] = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less",
                                  "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or",
                                  "Xor", "Min", "Max", "Sum", "Where"};
  for (const char *b : kBinary)
    if (op == b) {
      size_t count = op == "Where" ? 3 : (op == "Min" || op == "Max" || op == "Sum") ? in.size() : 2;
      if (count == 0 || !need(count)) return false;
      SymShape s = in[0]->shape;
      for (size_t i = 1; i < count; ++i)
        if (!broadcast(s, in[i]->shape, s)) {
          why = "cannot broadcast " + shapeStr(s) + " with " + shapeStr(in[i]->shape);
          return false;
        }
      bool cmp = op == "Equal" || op == "Less" || op == "LessOrEqual" || op == "Greater" ||
                 op == "GreaterOrEqual" || op == "And" || op == "Or" || op == "Xor";
      int32_t t = cmp ? onnx::kBool : (op == "Where" ? in[1]->elemType : in[0]->elemType);
      Value &v = setOut(0, t, s);
      // Integer arithmetic on symbolic contents (shape computations).
      const std::vector<SymInt> *a = contentOf(0), *c = contentOf(1);
      if (count == 2 && isIntType(t) && a && c && (a->size() == c->size() || a->size() == 1 || c->size() == 1) &&
          (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")) {
        // Broadcasting an empty vector gives an empty one (its one-element
        // partner does not make an element out of nothing).
        size_t len = a->empty() || c->empty() ? 0 : std::max(a->size(), c->size());
        std::vector<SymInt> r;
        for (size_t i = 0; i < len; ++i) {
          const SymInt &x = (*a)[a->size() == 1 ? 0 : i], &y = (*c)[c->size() == 1 ? 0 : i];
          if (op == "Add") r.push_back(x + y);
          else if (op == "Sub") r.push_back(x - y);
          else if (op == "Mul") r.push_back(x * y);
          else if (auto q = x.divExact(y)) r.push_back(*q);
          else if (x.constant() && y.constant() && *y.constant() != 0) r.push_back(SymInt(*x.constant() / *y.constant()));
          else { r.clear(); break; }
        }
        if (r.size() == len) v.content = r;
      }
      return true;
    }
  if (op == "Unsqueeze" || op == "Squeeze") {
    if (!need(1)) return false;
    std::vector<int64_t> axes;
    bool present;
    if (!axesOf("axes", 1, opset >= 13, axes, present)) return false;
    SymShape s = in[0]->shape;
    if (op == "Unsqueeze") {
      int64_t r = in[0]->rank() + static_cast<int64_t>(axes.size());
      for (int64_t &a : axes) a = normAxis(a, r);
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        if (a < 0 || a > static_cast<int64_t>(s.size())) { why = "axis out of range"; return false; }
        s.insert(s.begin() + a, SymInt(1));
      }
    } else {
      if (!present) {
        SymShape r;
        for (const SymInt &d : s) if (d != SymInt(1)) r.push_back(d);
        s = r;
      } else {
        for (int64_t &a : axes) a = normAxis(a, in[0]->rank());
        std::sort(axes.rbegin(), axes.rend());
        for (int64_t a : axes) {
          if (a < 0 || a >= static_cast<int64_t>(s.size())) { why = "axis out of range"; return false; }
          s.erase(s.begin() + a);
        }
      }
    }
    Value &v = setOut(0, in[0]->elemType, s);
    v.content = in[0]->content;
    return true;
  }
  if (op == "Concat") {
    if (in.empty() || !need(in.size())) return false;
    int64_t r = in[0]->rank();
    int64_t axis = normAxis(attrInt(n, "axis", 0), r);
    if (axis < 0 || axis >= r) { why = "axis out of range"; return false; }
    SymShape s = in[0]->shape;
    std::vector<SymInt> c;
    bool haveContent = true;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i]->rank() != r) { why = "inputs have different ranks"; return false; }
      if (i) s[axis] = s[axis] + in[i]->shape[axis];
      if (in[i]->content && r == 1) c.insert(c.end(), in[i]->content->begin(), in[i]->content->end());
      else haveContent = false;
    }
    Value &v = setOut(0, in[0]->elemType, s);
    if (haveContent) v.content = c;
    return true;
  }
  if (op == "Gather") {
    if (!need(2)) return false;
    int64_t r = in[0]->rank();
    int64_t axis = normAxis(attrInt(n, "axis", 0), r);
    if (axis < 0 || axis >= r) { why = "axis out of range"; return false; }
    SymShape s(in[0]->shape.begin(), in[0]->shape.begin() + axis);
    s.insert(s.end(), in[1]->shape.begin(), in[1]->shape.end());
    s.insert(s.end(), in[0]->shape.begin() + axis + 1, in[0]->shape.end());
    Value &v = setOut(0, in[0]->elemType, s);
    std::vector<int64_t> idx;
    if (r == 1 && in[0]->content && constInts(1, idx)) {
      std::vector<SymInt> c;
      for (int64_t i : idx) {
        int64_t k = i < 0 ? i + static_cast<int64_t>(in[0]->content->size()) : i;
        if (k < 0 || k >= static_cast<int64_t>(in[0]->content->size())) { why = "index out of range"; return false; }
        c.push_back((*in[0]->content)[k]);
      }
      v.content = c;
    }
    return true;
  }
  if (op == "Slice") {
    if (!need(1)) return false;
    std::vector<SymInt> starts, ends;
    std::vector<int64_t> axes, steps;
    if (opset < 10) {
      const onnx::Attribute *s = attr(n, "starts"), *e = attr(n, "ends"), *a = attr(n, "axes");
      if (!s || !e) { why = "missing starts/ends"; return false; }
      for (int64_t x : s->ints) starts.push_back(SymInt(x));
      for (int64_t x : e->ints) ends.push_back(SymInt(x));
      if (a) axes = a->ints;
    } else {
      if (!contentOf(1) || !contentOf(2)) { why = "starts and ends must be computable from shapes"; return false; }
      starts = *contentOf(1);
      ends = *contentOf(2);
      if (in.size() > 3 && in[3] && !constInts(3, axes)) { why = "axes must be a constant"; return false; }
      if (in.size() > 4 && in[4] && !constInts(4, steps)) { why = "steps must be a constant"; return false; }
    }
    if (axes.empty()) for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
      why = "starts, ends, axes and steps differ in length";
      return false;
    }
    SymShape s = in[0]->shape;
    std::vector<SymInt> content;
    bool sliceContent = in[0]->content && in[0]->rank() == 1;
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = normAxis(axes[i], in[0]->rank());
      if (a < 0 || a >= in[0]->rank()) { why = "axis out of range"; return false; }
      const SymInt &dim = s[a];
      auto resolve = [&](const SymInt &x, bool isEnd) -> std::optional<SymInt> {
        if (auto c = x.constant()) {
          int64_t v = *c;
          if (v >= (int64_t(1) << 40)) return dim;              // "to the end"
          if (v <= -(int64_t(1) << 40)) return SymInt(isEnd ? -1 : 0);
          if (v < 0) {
            // Clamped as ONNX does: a start before the first element is 0.
            if (auto d = dim.constant()) return SymInt(std::max(v + *d, int64_t(isEnd ? -1 : 0)));
            return dim + SymInt(v);
          }
          if (dim.constant()) return SymInt(std::min(v, *dim.constant()));
          return SymInt(v);
        }
        return x; // symbolic: assumed in range
      };
      auto st = resolve(starts[i], false), en = resolve(ends[i], true);
      int64_t step = steps[i];
      if (step == 0) { why = "step is 0"; return false; }
      SymInt len = step > 0 ? *en - *st : *st - *en;
      if (step != 1 && step != -1) {
        auto c = len.constant();
        if (!c) { why = "strided slice of a symbolic dimension"; return false; }
        int64_t absStep = step > 0 ? step : -step;
        len = SymInt((std::max<int64_t>(*c, 0) + absStep - 1) / absStep);
      }
      if (auto c = len.constant(); c && *c < 0) len = SymInt(0);
      if (sliceContent && st->constant() && en->constant() && step == 1)
        content.assign(in[0]->content->begin() + *st->constant(),
                       in[0]->content->begin() + std::max(*st->constant(), *en->constant()));
      else
        sliceContent = false;
      s[a] = len;
    }
    Value &v = setOut(0, in[0]->elemType, s);
    if (sliceContent) v.content = content;
    return true;
  }
  if (op == "Range") {
    if (!need(3)) return false;
    const std::vector<SymInt> *a = contentOf(0), *b = contentOf(1), *d = contentOf(2);
    if (!a || !b || !d || (*d)[0] != SymInt(1)) {
      // Float ranges or non-unit steps: only constant ones.
      auto s = scalarValue(find(n.inputs[0])), l = scalarValue(find(n.inputs[1])),
           st = scalarValue(find(n.inputs[2]));
      if (!s || !l || !st || *st == 0) { why = "Range needs a unit step or constant bounds"; return false; }
      int64_t len = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((*l - *s) / *st)));
      setOut(0, in[0]->elemType, {SymInt(len)});
      return true;
    }
    SymInt len = (*b)[0] - (*a)[0];
    setOut(0, in[0]->elemType, {len});
    return true;
  }
  if (op == "ConstantOfShape") {
    if (!need(1)) return false;
    const std::vector<SymInt> *c = contentOf(0);
    if (!c) { why = "the shape must be computable from shapes"; return false; }
    const onnx::Attribute *a = attr(n, "value");
    Value &v = setOut(0, a && a->t ? a->t->elemType : onnx::kFloat, *c);
    v.isStatic = true;
    return true;
  }
  if (op == "Expand") {
    if (!need(2)) return false;
    const std::vector<SymInt> *c = contentOf(1);
    if (!c) { why = "the target shape must be computable from shapes"; return false; }
    SymShape s;
    if (!broadcast(in[0]->shape, *c, s)) { why = "cannot expand " + shapeStr(in[0]->shape) + " to " + shapeStr(*c); return false; }
    setOut(0, in[0]->elemType, s);
    return true;
  }
  if (op == "Tile") {
    if (!need(2)) return false;
    const std::vector<SymInt> *c = contentOf(1);
    if (!c || c->size() != in[0]->shape.size()) { why = "repeats must be computable from shapes"; return false; }
    SymShape s = in[0]->shape;
    for (size_t i = 0; i < s.size(); ++i) s[i] = s[i] * (*c)[i];
    setOut(0, in[0]->elemType, s);
    return true;
  }
  if (op == "Reshape") {
    if (!need(2)) return false;
    const std::vector<SymInt> *c = contentOf(1);
    if (!c) { why = "the target shape must be computable from shapes"; return false; }
    bool allowZero = attrInt(n, "allowzero", 0) != 0;
    SymInt total(1), known(1);
    for (const SymInt &d : in[0]->shape) total = total * d;
    SymShape s;
    int inferred = -1;
    for (size_t i = 0; i < c->size(); ++i) {
      SymInt d = (*c)[i];
      if (auto k = d.constant(); k && *k < -1) { why = "target shape " + shapeStr(*c) + " has a negative entry other than -1"; return false; }
      if (d == SymInt(0) && !allowZero) {
        if (i >= in[0]->shape.size()) { why = "0 in the target shape has no input dimension to copy"; return false; }
        d = in[0]->shape[i];
      }
      if (d == SymInt(-1)) {
        if (inferred >= 0) { why = "target shape has two -1 entries"; return false; }
        inferred = static_cast<int>(i);
      } else {
        known = known * d;
      }
      s.push_back(d);
    }
    if (inferred >= 0) {
      auto q = total.divExact(known);
      if (!q) { why = "cannot infer -1: " + shapeStr(in[0]->shape) + " does not divide into " + shapeStr(*c); return false; }
      s[inferred] = *q;
    } else if (total != known && total.isConstant() && known.isConstant()) {
      why = "cannot reshape " + shapeStr(in[0]->shape) + " to " + shapeStr(s);
      return false;
    }
    Value &v = setOut(0, in[0]->elemType, s);
    if (in[0]->content) v.content = in[0]->content;
    return true;
  }
  if (op == "Flatten") {
    if (!need(1)) return false;
    int64_t axis = normAxis(attrInt(n, "axis", 1), in[0]->rank());
    SymInt a(1), b(1);
    for (int64_t i = 0; i < in[0]->rank(); ++i) (i < axis ? a : b) = (i < axis ? a : b) * in[0]->shape[i];
    setOut(0, in[0]->elemType, {a, b});
    return true;
  }
  if (op == "Transpose") {
    if (!need(1)) return false;
    std::vector<int64_t> perm;
    if (const onnx::Attribute *a = attr(n, "perm")) perm = a->ints;
    else for (int64_t i = in[0]->rank() - 1; i >= 0; --i) perm.push_back(i);
    if (static_cast<int64_t>(perm.size()) != in[0]->rank()) { why = "perm does not match the rank"; return false; }
    SymShape s;
    for (int64_t p : perm) {
      if (p < 0 || p >= in[0]->rank()) { why = "perm entry out of range"; return false; }
      s.push_back(in[0]->shape[p]);
    }
    setOut(0, in[0]->elemType, s);
    return true;
  }
  if (op == "MatMul") {
    if (!need(2)) return false;
    SymShape a = in[0]->shape, b = in[1]->shape;
    if (a.empty() || b.empty()) { why = "MatMul of a scalar"; return false; }
    bool va = a.size() == 1, vb = b.size() == 1;
    if (va) a.insert(a.begin(), SymInt(1));
    if (vb) b.push_back(SymInt(1));
    if (a.back() != b[b.size() - 2] && a.back().isConstant() && b[b.size() - 2].isConstant()) {
      why = "inner dimensions differ: " + shapeStr(in[0]->shape) + " x " + shapeStr(in[1]->shape);
      return false;
    }
    SymShape batch;
    if (!broadcast(SymShape(a.begin(), a.end() - 2), SymShape(b.begin(), b.end() - 2), batch)) {
      why = "batch dimensions do not broadcast";
      return false;
    }
    if (!va) batch.push_back(a[a.size() - 2]);
    if (!vb) batch.push_back(b.back());
    setOut(0, in[0]->elemType, batch);
    return true;
  }
  if (op == "Gemm") {
    if (!need(2)) return false;
    if (in[0]->rank() != 2 || in[1]->rank() != 2) { why = "Gemm needs 2-D inputs"; return false; }
    bool ta = attrInt(n, "transA", 0), tb = attrInt(n, "transB", 0);
    SymInt m = in[0]->shape[ta ? 1 : 0], k1 = in[0]->shape[ta ? 0 : 1];
    SymInt k2 = in[1]->shape[tb ? 1 : 0], nn = in[1]->shape[tb ? 0 : 1];
    if (k1 != k2 && k1.isConstant() && k2.isConstant()) { why = "inner dimensions differ"; return false; }
    setOut(0, in[0]->elemType, {m, nn});
    return true;
  }
  if (op == "Split") {
    if (!need(1)) return false;
    int64_t axis = normAxis(attrInt(n, "axis", 0), in[0]->rank());
    if (axis < 0 || axis >= in[0]->rank()) { why = "axis out of range"; return false; }
    std::vector<SymInt> sizes;
    if (opset >= 13 && in.size() > 1 && in[1]) {
      if (!contentOf(1)) { why = "split sizes must be a constant"; return false; }
      sizes = *contentOf(1);
    } else if (const onnx::Attribute *a = attr(n, "split"); a && opset < 13) {
      for (int64_t x : a->ints) sizes.push_back(SymInt(x));
    } else {
      int64_t parts = static_cast<int64_t>(n.outputs.size());
      if (const onnx::Attribute *a = attr(n, "num_outputs")) parts = a->i;
      auto q = in[0]->shape[axis].divExact(SymInt(parts));
      if (!q) { why = "dimension does not split evenly into " + std::to_string(parts); return false; }
      sizes.assign(parts, *q);
    }
    if (sizes.size() != n.outputs.size()) { why = "split sizes do not match the outputs"; return false; }
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      SymShape s = in[0]->shape;
      s[axis] = sizes[o];
      setOut(o, in[0]->elemType, s);
    }
    return true;
  }
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" ||
      op == "ReduceProd") {
    if (!need(1)) return false;
    bool fromInput = op == "ReduceSum" ? opset >= 13 : opset >= 18;
    std::vector<int64_t> axes;
    bool present;
    if (!axesOf("axes", 1, fromInput, axes, present)) return false;
    bool keep = attrInt(n, "keepdims", 1) != 0;
    SymShape s;
    std::vector<bool> reduce(in[0]->rank(), !present || axes.empty());
    if (present && axes.empty() && attrInt(n, "noop_with_empty_axes", 0)) reduce.assign(in[0]->rank(), false);
    for (int64_t a : axes) {
      a = normAxis(a, in[0]->rank());
      if (a < 0 || a >= in[0]->rank()) { why = "axis out of range"; return false; }
      reduce[a] = true;
    }
    for (int64_t i = 0; i < in[0]->rank(); ++i)
      if (!reduce[i]) s.push_back(in[0]->shape[i]);
      else if (keep) s.push_back(SymInt(1));
    setOut(0, in[0]->elemType, s);
    return true;
  }
  if (op == "LayerNormalization") {
    if (!need(2)) return false;
    // Scale and bias broadcast to the normalized dimensions (checked here so
    // a mismatch names the node, not the verifier of the raised op).
    for (size_t k = 1; k < 3 && k < in.size(); ++k) {
      if (!in[k]) continue;
      int64_t axis = normAxis(attrInt(n, "axis", -1), in[0]->rank()), r = in[k]->rank(), nr = in[0]->rank() - axis;
      for (int64_t i = 1; i <= std::min(r, nr); ++i) {
        auto a = in[k]->shape[r - i].constant(), b = in[0]->shape[in[0]->rank() - i].constant();
        if ((a && b && *a != 1 && *a != *b) || r > nr) { why = std::string(k == 1 ? "scale" : "bias") + " " + shapeStr(in[k]->shape) + " does not match the normalized dimensions of " + shapeStr(in[0]->shape); return false; }
      }
    }
    setOut(0, in[0]->elemType, in[0]->shape);
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (!n.outputs[o].empty()) {
        SymShape s = in[0]->shape;
        int64_t axis = normAxis(attrInt(n, "axis", -1), in[0]->rank());
        for (int64_t i = axis; i < in[0]->rank(); ++i) s[i] = SymInt(1);
        setOut(o, onnx::kFloat, s);
      }
    return true;
  }
  why = "unsupported operator '" + op + "' (opset " + std::to_string(opset) + ")";
  return false;
}

namespace {
bool nameHas(const std::string &name, const char *part) {
  return name.find(part) != std::string::npos;
}
} // namespace

// Hugging Face models take an attention mask and, from some exporters,
// position ids and a merged decoder's use_cache_branch flag. A single
// unpadded sequence needs none of them at run time: the mask is all ones,
// the positions are past_length + j, and the cache branch is taken. Marking
// them static with those values lets the mask arithmetic fold into the
// causal mask that raising checks, and the position ids into the position
// embedding.
void Graph::assumeInputs() {
  int ids = -1;
  for (size_t i = 0; i < values_.size(); ++i) {
    const Value &v = values_[i];
    if (v.kind != Value::Input || v.rank() != 2 || !isIntType(v.elemType)) continue;
    if (nameHas(v.name, "mask") || nameHas(v.name, "position")) continue;
    if (ids < 0 || v.name == "input_ids") ids = static_cast<int>(i);
  }
  if (ids < 0) return;
  auto symOf = [&](const SymInt &d) {
    for (size_t s = 0; s < symbols_.size(); ++s)
      if (d == SymInt::symbol(static_cast<int>(s))) return static_cast<int>(s);
    return -1;
  };
  batchSym_ = symOf(values_[ids].shape[0]);
  seqSym_ = symOf(values_[ids].shape[1]);
  // Past inputs a graph never reads (a merged decoder's without-past
  // branch) do not make the mask longer.
  std::set<std::string> read;
  for (const Node &n : model_.nodes)
    read.insert(n.inputs.begin(), n.inputs.end());
  for (const Value &v : values_)
    if (v.kind == Value::Input && v.rank() == 4 && read.count(v.name) &&
        (nameHas(v.name, "past") || nameHas(v.name, "cache")))
      if (int s = symOf(v.shape[2]); s >= 0) { pastSym_ = s; break; }
  if (seqSym_ < 0 && !values_[ids].shape[1].isConstant()) return;
  SymInt seq = values_[ids].shape[1];
  SymInt total = pastSym_ >= 0 ? SymInt::symbol(pastSym_) + seq : seq;
  for (Value &v : values_) {
    if (v.kind != Value::Input) continue;
    if (v.rank() == 2 && nameHas(v.name, "attention_mask") &&
        (isIntType(v.elemType) || v.elemType == onnx::kFloat || v.elemType == onnx::kBool ||
         v.elemType == onnx::kFloat16)) {
      v.assumed = Value::AllOnes;
      v.shape[1] = total;
      assumptions_.push_back("input '" + v.name + "' is assumed all ones (one unpadded sequence)");
    } else if (v.rank() == 2 && nameHas(v.name, "position_ids") && isIntType(v.elemType)) {
      v.assumed = Value::Positions;
      v.shape[1] = seq;
      assumptions_.push_back("input '" + v.name + "' is assumed past_length + position");
    } else if (v.elemType == onnx::kBool && v.rank() <= 1 && nameHas(v.name, "use_cache")) {
      v.assumed = Value::True;
      assumptions_.push_back("input '" + v.name + "' is assumed true (the cache branch is compiled)");
    } else {
      continue;
    }
    v.isStatic = true;
  }
}

EvalTensor Graph::assumedValue(const Value &v, const std::vector<int64_t> &point) const {
  EvalTensor t;
  t.type = v.elemType;
  for (const SymInt &d : v.shape) t.shape.push_back(d.evaluate(point));
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  if (v.assumed == Value::Positions) {
    int64_t past = pastSym_ >= 0 ? point[pastSym_] : 0, s = t.shape.back();
    for (int64_t i = 0; i < n; ++i) t.data.push_back(static_cast<double>(past + i % s));
  } else {
    t.data.assign(static_cast<size_t>(n), 1.0);
  }
  return t;
}

// A small static integer vector whose symbolic contents could not be
// followed op by op (e.g. built with Where/Equal): evaluate it at probe
// points and fit each element as an affine function of the symbols,
// checked at an extra point.
void Graph::fitContent(int id) {
  Value &v = values_[id];
  if (!isIntType(v.elemType) || v.rank() > 1 || fitTried_.count(id))
    return;
  fitTried_.insert(id);
  size_t ns = symbols_.size();
  std::vector<int64_t> base(ns);
  for (size_t k = 0; k < ns; ++k) base[k] = 3 + 2 * static_cast<int64_t>(k);
  std::string error;
  EvalTensor t0;
  if (!evalStatic(id, base, t0, error) || t0.data.size() > static_cast<size_t>(kMaxContent))
    return;
  std::vector<SymInt> fit(t0.data.size());
  for (size_t e = 0; e < t0.data.size(); ++e) fit[e] = SymInt(static_cast<int64_t>(t0.data[e]));
  for (size_t k = 0; k < ns; ++k) {
    std::vector<int64_t> p = base;
    p[k] += 1;
    EvalTensor tk;
    if (!evalStatic(id, p, tk, error) || tk.data.size() != t0.data.size())
      return;
    for (size_t e = 0; e < fit.size(); ++e) {
      int64_t slope = static_cast<int64_t>(tk.data[e] - t0.data[e]);
      fit[e] = fit[e] + SymInt(slope) * (SymInt::symbol(static_cast<int>(k)) - SymInt(base[k]));
    }
  }
  std::vector<int64_t> check(ns);
  for (size_t k = 0; k < ns; ++k) check[k] = 2 + 5 * static_cast<int64_t>(k) + static_cast<int64_t>(k * k);
  EvalTensor tc;
  if (!evalStatic(id, check, tc, error) || tc.data.size() != fit.size())
    return;
  for (size_t e = 0; e < fit.size(); ++e)
    if (static_cast<double>(fit[e].evaluate(check)) != tc.data[e])
      return;
  v.content = fit;
}

bool Graph::evalStatic(int id, const std::vector<int64_t> &point, EvalTensor &out,
                       std::string &error) const {
  const Value &v = values_[id];
  if (!v.isStatic) {
    error = model_.path + ": value '" + v.name + "' depends on input data";
    return false;
  }
  auto key = std::make_pair(id, point);
  if (auto it = evalCache_.find(key); it != evalCache_.end()) {
    out = it->second;
    return true;
  }
  if (v.kind == Value::Input) {
    if (v.assumed == Value::NotAssumed) {
      error = model_.path + ": value '" + v.name + "' depends on input data";
      return false;
    }
    out = assumedValue(v, point);
    evalCache_[key] = out;
    return true;
  }
  if (v.kind == Value::Initializer) {
    if (v.init->numElements() > (int64_t(1) << 26)) {
      error = model_.path + ": initializer '" + v.name + "' is too large to evaluate";
      return false;
    }
    out = EvalTensor::fromTensor(*v.init, error);
    if (!error.empty())
      return false;
    evalCache_[key] = out;
    return true;
  }
  if (v.producer < 0) {
    error = model_.path + ": value '" + v.name + "' has no producer";
    return false;
  }
  const Node &n = model_.nodes[v.producer];
  std::vector<EvalTensor> results;
  if (n.opType == "Shape") {
    // The shape of a data value at this point: its symbolic contents.
    EvalTensor t;
    t.type = onnx::kInt64;
    for (const SymInt &d : *v.content)
      t.data.push_back(static_cast<double>(d.evaluate(point)));
    t.shape = {static_cast<int64_t>(t.data.size())};
    results.push_back(t);
  } else {
    std::vector<EvalTensor> args(n.inputs.size());
    std::vector<const EvalTensor *> ptrs;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) {
        ptrs.push_back(nullptr);
        continue;
      }
      int in = find(n.inputs[i]);
      const Value &iv = values_[in];
      if (!iv.isStatic && n.opType != "Size") {
        error = model_.path + ": value '" + v.name + "' depends on input data";
        return false;
      }
      if (!evalStatic(in, point, args[i], error))
        return false;
      ptrs.push_back(&args[i]);
    }
    if (n.opType == "Size") {
      SymInt p(1);
      for (const SymInt &d : values_[find(n.inputs[0])].shape) p = p * d;
      results.push_back(EvalTensor::scalar(onnx::kInt64, static_cast<double>(p.evaluate(point))));
    } else if (!onnx::evalNode(n, opsetOf(n), ptrs, results, error)) {
      error = model_.path + ": " + error;
      return false;
    }
  }
  for (size_t o = 0; o < n.outputs.size() && o < results.size(); ++o)
    if (!n.outputs[o].empty())
      evalCache_[std::make_pair(find(n.outputs[o]), point)] = results[o];
  out = results.at(v.producerOutput);
  return true;
}

std::optional<EvalTensor> Graph::constantValue(int id) const {
  if (id < 0 || !values_[id].isStatic || !values_[id].shapeKnown)
    return std::nullopt;
  for (const SymInt &d : values_[id].shape)
    if (!d.isConstant())
      return std::nullopt;
  // Evaluate at two different points: a symbol-free value agrees.
  std::vector<int64_t> p1(symbols_.size(), 3), p2(symbols_.size(), 5);
  EvalTensor a, b;
  std::string error;
  if (!evalStatic(id, p1, a, error) || !evalStatic(id, p2, b, error) || a.data != b.data)
    return std::nullopt;
  return a;
}

std::optional<double> Graph::scalarValue(int id) const {
  if (id < 0)
    return std::nullopt;
  auto t = constantValue(id);
  if (!t || t->data.size() != 1)
    return std::nullopt;
  return t->data[0];
}

} // namespace import
} // namespace lithe
