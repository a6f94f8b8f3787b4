//===- Eval.cpp - a small reference evaluator for ONNX nodes --------------===//
//
// Layout: element-type helpers, shape and broadcast helpers, the evaluation
// context (inputs, attributes, errors), one function per op family, the
// dispatch table, and evalNode. Every op writes plain doubles; evalNode rounds
// each output to its element type afterwards, so ops never round themselves.
//
//===----------------------------------------------------------------------===//

#include "lithe/OnnxEval.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

namespace lithe {
namespace onnx {
namespace {

using Shape = std::vector<int64_t>;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

bool isFloatType(int32_t t) {
  return t == kFloat || t == kFloat16 || t == kDouble || t == kBFloat16;
}
bool isIntType(int32_t t) {
  return t == kUInt8 || t == kInt8 || t == kInt32 || t == kInt64;
}
bool isSupportedType(int32_t t) {
  return isFloatType(t) || isIntType(t) || t == kBool;
}

/// Truncates `v` toward zero and clamps it to int64 (NaN gives 0).
int64_t toInt64(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9223372036854775807.0) // 2^63
    return std::numeric_limits<int64_t>::max();
  if (v <= -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

/// Rounds `v` to nearest-even with `bits` significand bits (implicit bit
/// included), normal exponents down to `minExp` (IEEE convention) with
/// gradual underflow below, and overflow to infinity above `maxFinite`.
double roundToFormat(double v, int bits, int minExp, double maxFinite) {
  if (!std::isfinite(v) || v == 0)
    return v;
  int e;
  std::frexp(v, &e); // |v| = m * 2^e, 0.5 <= m < 1
  double quantum = std::ldexp(1.0, std::max(e - bits, minExp - bits + 1));
  double r = std::nearbyint(v / quantum) * quantum;
  return std::fabs(r) > maxFinite ? std::copysign(INFINITY, v) : r;
}

/// Wraps integral `v` into a two's-complement integer of `bits` bits.
double wrapInt(double v, int bits, bool isSigned) {
  double m = std::ldexp(1.0, bits);
  if (std::isnan(v))
    return 0;
  if (std::isinf(v)) // saturate
    return v > 0 ? (isSigned ? m / 2 : m) - 1 : (isSigned ? -m / 2 : 0);
  double r = std::fmod(v, m);
  if (r < 0)
    r += m;
  if (isSigned && r >= m / 2)
    r -= m;
  return r;
}

/// `v` as a value of element type `t`.
double roundTo(int32_t t, double v) {
  switch (t) {
  case kFloat:
    if (std::fabs(v) <= FLT_MAX || std::isnan(v))
      return static_cast<double>(static_cast<float>(v));
    return roundToFormat(v, 24, -126, FLT_MAX);
  case kFloat16:
    return roundToFormat(v, 11, -14, 65504.0);
  case kBFloat16:
    return roundToFormat(v, 8, -126, 3.3895313892515355e38);
  case kBool:
    return v != 0 ? 1 : 0;
  case kInt8:
    return wrapInt(std::trunc(v), 8, true);
  case kUInt8:
    return wrapInt(std::trunc(v), 8, false);
  case kInt32:
    return wrapInt(std::trunc(v), 32, true);
  case kInt64:
    return static_cast<double>(toInt64(v));
  default:
    return v;
  }
}


//===----------------------------------------------------------------------===//
// Shapes, broadcasting, index iteration
//===----------------------------------------------------------------------===//

/// The number of elements of `shape`; false if a dim is negative or the
/// count exceeds kMaxEvalElements.
bool countOf(const Shape &shape, int64_t &n) {
  n = 1;
  for (int64_t d : shape)
    if (d < 0)
      return false;
  for (int64_t d : shape)
    if (d == 0)
      return n = 0, true;
  for (int64_t d : shape) {
    if (n > kMaxEvalElements / d)
      return false;
    n *= d;
  }
  return true;
}

/// Product of shape[begin, end) for shapes whose count passed countOf
/// (so either small or containing a zero).
int64_t product(const Shape &shape, size_t begin, size_t end) {
  end = std::min(end, shape.size());
  for (size_t i = begin; i < end; ++i)
    if (shape[i] == 0)
      return 0;
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i)
    n *= shape[i];
  return n;
}

std::string shapeStr(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Normalises a possibly negative `axis` for `rank`, allowing
/// [-rank, rank + extra). False if out of range.
bool normAxis(int64_t &axis, int64_t rank, int64_t extra = 0) {
  if (axis < -rank || axis >= rank + extra)
    return false;
  if (axis < 0)
    axis += rank;
  return true;
}

/// Numpy (multidirectional) broadcast of `a` and `b`; false if incompatible.
bool broadcastShape(const Shape &a, const Shape &b, Shape &out) {
  size_t r = std::max(a.size(), b.size());
  Shape res(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1)
      res[i] = da;
    else if (da == 1)
      res[i] = db;
    else
      return false;
  }
  out = res;
  return true;
}

/// Row-major strides of a tensor of `shape`, viewed as `outShape` (aligned
/// to the right): 0 on dims it is broadcast along.
Shape broadcastStrides(const Shape &shape, const Shape &outShape) {
  Shape strides(outShape.size(), 0);
  int64_t stride = 1;
  for (size_t i = 0; i < shape.size() && i < outShape.size(); ++i) {
    size_t d = shape.size() - 1 - i, o = outShape.size() - 1 - i;
    strides[o] = shape[d] == 1 ? 0 : stride;
    // Wraps only for zero-size shapes, whose strides are never used.
    stride = static_cast<int64_t>(static_cast<uint64_t>(stride) * static_cast<uint64_t>(shape[d]));
  }
  return strides;
}

Shape rowMajorStrides(const Shape &shape) {
  Shape strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * shape[i];
  return strides;
}

/// Visits every element of `shape` in row-major order; calls f(i, off) with
/// the linear index i and off[k] = sum over dims of index * strides[k][dim].
template <typename F>
void forEachOffset(const Shape &shape, const std::vector<Shape> &strides, F f) {
  int64_t n = product(shape, 0, shape.size());
  std::vector<int64_t> idx(shape.size(), 0), off(strides.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, off.data());
    for (size_t d = shape.size(); d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < strides.size(); ++k)
        off[k] += strides[k][d];
      if (idx[d] < shape[d])
        break;
      for (size_t k = 0; k < strides.size(); ++k)
        off[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

//===----------------------------------------------------------------------===//
// Evaluation context
//===----------------------------------------------------------------------===//

struct Ctx {
  const Node &node;
  int64_t opset;
  const std::vector<const EvalTensor *> &in;
  std::vector<EvalTensor> &out;
  std::string &error;
  std::string attrError; // first attribute of the wrong kind, if any

  bool fail(const std::string &why) {
    error = node.describe() + ": " + why;
    return false;
  }
  /// Input `i`, or null if absent.
  const EvalTensor *opt(size_t i) const { return i < in.size() ? in[i] : nullptr; }
  /// Required input `i` (presence checked by evalNode).
  const EvalTensor &x(size_t i) const { return *in[i]; }

  const Attribute *attrOf(const char *name, Attribute::Kind kind) {
    const Attribute *a = node.attr(name);
    if (a && a->kind != kind) {
      if (attrError.empty())
        attrError = std::string("attribute '") + name + "' has the wrong kind";
      return nullptr;
    }
    return a;
  }
  int64_t attrInt(const char *name, int64_t def) {
    const Attribute *a = attrOf(name, Attribute::Int);
    return a ? a->i : def;
  }
  double attrFloat(const char *name, double def) {
    const Attribute *a = attrOf(name, Attribute::Float);
    return a ? a->f : def;
  }
  std::string attrString(const char *name, const std::string &def) {
    const Attribute *a = attrOf(name, Attribute::String);
    return a ? a->s : def;
  }

  /// Appends a zero-filled output of `type` and `shape`; null (after fail())
  /// if it would be too large.
  EvalTensor *emit(int32_t type, const Shape &shape) {
    int64_t n;
    if (!countOf(shape, n)) {
      fail("result of shape " + shapeStr(shape) + " is too large");
      return nullptr;
    }
    EvalTensor t;
    t.type = type;
    t.shape = shape;
    t.data.assign(static_cast<size_t>(n), 0.0);
    out.push_back(std::move(t));
    return &out.back();
  }
  /// Appends a copy of `t` with a new shape.
  void emitAs(const EvalTensor &t, const Shape &shape) {
    out.push_back(t);
    out.back().shape = shape;
  }
};

/// Reads a rank <= 1 integer tensor as int64 values.
bool readInts(Ctx &c, const EvalTensor &t, const char *what, Shape &v) {
  if (!isIntType(t.type) || t.shape.size() > 1)
    return c.fail(std::string("'") + what + "' must be a 1-D integer tensor");
  v.clear();
  for (double d : t.data)
    v.push_back(toInt64(d));
  return true;
}

/// Reads a one-element tensor (scalar or [1]) as a double.
bool readScalar(Ctx &c, const EvalTensor &t, const char *what, double &v) {
  if (t.data.size() != 1)
    return c.fail(std::string("'") + what + "' must have exactly one element");
  v = t.data[0];
  return true;
}

/// Normalises `axis` into [0, rank + extra), or fails naming it.
bool checkAxis(Ctx &c, int64_t &axis, int64_t rank, int64_t extra = 0) {
  return normAxis(axis, rank, extra) ||
         c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
}

/// Reads the int list `name`: an attribute before `sinceOpset`, input
/// `index` from it. `present` says whether it was given at all.
bool readIntsArg(Ctx &c, const char *name, size_t index, int64_t sinceOpset,
                 Shape &v, bool &present) {
  present = false;
  v.clear();
  const Attribute *a = c.node.attr(name);
  std::string since = std::to_string(sinceOpset);
  if (c.opset >= sinceOpset) {
    if (a)
      return c.fail(std::string("'") + name + "' is an input, not an attribute, from opset " + since);
    if (!c.opt(index))
      return true;
    present = true;
    return readInts(c, *c.opt(index), name, v);
  }
  if (c.opt(index))
    return c.fail(std::string("'") + name + "' is an attribute, not an input, before opset " + since);
  if (!a)
    return true;
  if (a->kind != Attribute::Ints)
    return c.fail(std::string("attribute '") + name + "' must be a list of ints");
  v = a->ints;
  present = true;
  return true;
}

/// Checks that all present inputs share one element type.
bool sameTypes(Ctx &c, size_t from = 0) {
  const EvalTensor *first = nullptr;
  for (size_t i = from; i < c.in.size(); ++i) {
    if (!c.in[i])
      continue;
    if (first && c.in[i]->type != first->type)
      return c.fail(std::string("input types ") + elemTypeName(first->type) +
                    " and " + elemTypeName(c.in[i]->type) + " differ");
    first = c.in[i];
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

/// Broadcasts `ins` together and writes f(off) for every output element,
/// where off[k] is the element offset into ins[k].
template <typename F>
bool broadcastMap(Ctx &c, const std::vector<const EvalTensor *> &ins,
                  int32_t outType, F f) {
  Shape shape;
  for (const EvalTensor *t : ins) {
    if (broadcastShape(shape, t->shape, shape))
      continue;
    std::string shapes;
    for (const EvalTensor *u : ins)
      shapes += (shapes.empty() ? "" : " and ") + shapeStr(u->shape);
    return c.fail("cannot broadcast shapes " + shapes);
  }
  std::vector<Shape> strides;
  for (const EvalTensor *t : ins)
    strides.push_back(broadcastStrides(t->shape, shape));
  EvalTensor *o = c.emit(outType, shape);
  if (!o)
    return false;
  forEachOffset(shape, strides, [&](int64_t i, const int64_t *off) { o->data[i] = f(off); });
  return true;
}

double sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

struct UnaryDef {
  const char *op;
  double (*fn)(double);
  bool floatOnly;
};
const UnaryDef kUnary[] = {
    {"Neg", [](double x) { return -x; }, false},
    {"Abs", [](double x) { return std::fabs(x); }, false},
    {"Relu", [](double x) { return x > 0 || std::isnan(x) ? x : 0.0; }, false},
    {"Sqrt", [](double x) { return std::sqrt(x); }, true},
    {"Exp", [](double x) { return std::exp(x); }, true},
    {"Log", [](double x) { return std::log(x); }, true},
    {"Tanh", [](double x) { return std::tanh(x); }, true},
    {"Erf", [](double x) { return std::erf(x); }, true},
    {"Sigmoid", sigmoid, true},
    {"Reciprocal", [](double x) { return 1 / x; }, true},
    {"Floor", [](double x) { return std::floor(x); }, true},
    {"Ceil", [](double x) { return std::ceil(x); }, true},
};

bool evalUnary(Ctx &c) {
  const EvalTensor &a = c.x(0);
  for (const UnaryDef &u : kUnary) {
    if (c.node.opType != u.op)
      continue;
    if (a.type == kBool || (u.floatOnly && !isFloatType(a.type)))
      return c.fail(std::string("does not take ") + elemTypeName(a.type) + " input");
    c.emitAs(a, a.shape);
    for (double &v : c.out.back().data)
      v = u.fn(v);
    return true;
  }
  return c.fail("internal: unknown unary op");
}

double divInt(double a, double b) {
  int64_t x = toInt64(a), y = toInt64(b);
  return y == -1 ? -static_cast<double>(x) : static_cast<double>(x / y);
}
double modPython(double a, double b) { // sign of the divisor
  int64_t x = toInt64(a), y = toInt64(b);
  int64_t r = y == -1 ? 0 : x % y;
  return static_cast<double>(r != 0 && (r < 0) != (y < 0) ? r + y : r);
}
double modC(double a, double b) { // sign of the dividend
  int64_t x = toInt64(a), y = toInt64(b);
  return static_cast<double>(y == -1 ? 0 : x % y);
}

struct BinaryDef {
  const char *op;
  double (*fn)(double, double);
};
const BinaryDef kArith[] = {
    {"Add", [](double a, double b) { return a + b; }},
    {"Sub", [](double a, double b) { return a - b; }},
    {"Mul", [](double a, double b) { return a * b; }},
    {"Div", [](double a, double b) { return a / b; }},
    {"Pow", [](double a, double b) { return std::pow(a, b); }},
    {"Mod", [](double a, double b) { return std::fmod(a, b); }},
};
const BinaryDef kCompare[] = {
    {"Equal", [](double a, double b) { return double(a == b); }},
    {"Less", [](double a, double b) { return double(a < b); }},
    {"LessOrEqual", [](double a, double b) { return double(a <= b); }},
    {"Greater", [](double a, double b) { return double(a > b); }},
    {"GreaterOrEqual", [](double a, double b) { return double(a >= b); }},
    {"And", [](double a, double b) { return double(a != 0 && b != 0); }},
    {"Or", [](double a, double b) { return double(a != 0 || b != 0); }},
    {"Xor", [](double a, double b) { return double((a != 0) != (b != 0)); }},
};

/// Add, Sub, Mul, Div, Pow, Mod: output has the first input's type.
bool evalArith(Ctx &c) {
  const EvalTensor &a = c.x(0), &b = c.x(1);
  const std::string &op = c.node.opType;
  if (op != "Pow" && !sameTypes(c))
    return false;
  if (a.type == kBool || b.type == kBool)
    return c.fail("does not take bool inputs");
  double (*fn)(double, double) = nullptr;
  for (const BinaryDef &d : kArith)
    if (op == d.op)
      fn = d.fn;
  if (!fn)
    return c.fail("internal: unknown arithmetic op");
  if (isIntType(a.type) && (op == "Div" || op == "Mod")) {
    for (double v : b.data)
      if (toInt64(v) == 0)
        return c.fail("integer division by zero");
    fn = op == "Div" ? divInt : (c.attrInt("fmod", 0) ? modC : modPython);
  } else if (op == "Mod" && c.attrInt("fmod", 0) != 1) {
    return c.fail("fmod must be 1 for floating-point inputs");
  }
  return broadcastMap(c, {&a, &b}, a.type, [&](const int64_t *off) {
    return fn(a.data[off[0]], b.data[off[1]]);
  });
}

/// Equal, Less, ..., And, Or, Xor: bool output.
bool evalCompare(Ctx &c) {
  const EvalTensor &a = c.x(0), &b = c.x(1);
  const std::string &op = c.node.opType;
  if (!sameTypes(c))
    return false;
  bool logical = op == "And" || op == "Or" || op == "Xor";
  if (logical && a.type != kBool)
    return c.fail("takes bool inputs");
  for (const BinaryDef &d : kCompare)
    if (op == d.op)
      return broadcastMap(c, {&a, &b}, kBool, [&](const int64_t *off) {
        return d.fn(a.data[off[0]], b.data[off[1]]);
      });
  return c.fail("internal: unknown comparison");
}

bool evalNot(Ctx &c) {
  const EvalTensor &a = c.x(0);
  if (a.type != kBool)
    return c.fail("takes a bool input");
  c.emitAs(a, a.shape);
  for (double &v : c.out.back().data)
    v = v != 0 ? 0 : 1;
  return true;
}

/// IsNaN, IsInf (detect_positive / detect_negative).
bool evalIsSpecial(Ctx &c) {
  const EvalTensor &a = c.x(0);
  bool nan = c.node.opType == "IsNaN";
  bool pos = c.attrInt("detect_positive", 1) != 0, neg = c.attrInt("detect_negative", 1) != 0;
  EvalTensor *o = c.emit(kBool, a.shape);
  if (!o)
    return false;
  for (size_t i = 0; i < a.data.size(); ++i) {
    double v = a.data[i];
    o->data[i] = nan ? std::isnan(v) : std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
  }
  return true;
}

/// Min, Max, Sum, Mean over any number of broadcast inputs.
bool evalVariadic(Ctx &c) {
  if (!sameTypes(c))
    return false;
  const std::string &op = c.node.opType;
  std::vector<const EvalTensor *> ins(c.in.begin(), c.in.end());
  if (ins[0]->type == kBool)
    return c.fail("does not take bool inputs");
  return broadcastMap(c, ins, ins[0]->type, [&](const int64_t *off) {
    double acc = ins[0]->data[off[0]];
    for (size_t k = 1; k < ins.size(); ++k) {
      double v = ins[k]->data[off[k]];
      if (op == "Min" || op == "Max")
        acc = std::isnan(acc) || std::isnan(v) ? NAN
              : op == "Min" ? std::min(acc, v) : std::max(acc, v);
      else
        acc += v;
    }
    return op == "Mean" ? acc / static_cast<double>(ins.size()) : acc;
  });
}

bool evalWhere(Ctx &c) {
  const EvalTensor &cond = c.x(0), &a = c.x(1), &b = c.x(2);
  if (cond.type != kBool)
    return c.fail("condition must be bool");
  if (!sameTypes(c, 1))
    return false;
  return broadcastMap(c, {&cond, &a, &b}, a.type, [&](const int64_t *off) {
    return cond.data[off[0]] != 0 ? a.data[off[1]] : b.data[off[2]];
  });
}

bool evalClip(Ctx &c) {
  const EvalTensor &a = c.x(0);
  double lo = -INFINITY, hi = INFINITY;
  if (c.opset >= 11) {
    if (c.node.attr("min") || c.node.attr("max"))
      return c.fail("min/max are inputs, not attributes, from opset 11");
    if (!sameTypes(c))
      return false;
    if (c.opt(1) && !readScalar(c, *c.opt(1), "min", lo))
      return false;
    if (c.opt(2) && !readScalar(c, *c.opt(2), "max", hi))
      return false;
  } else {
    if (c.opt(1) || c.opt(2))
      return c.fail("min/max are attributes, not inputs, before opset 11");
    lo = c.attrFloat("min", -INFINITY);
    hi = c.attrFloat("max", INFINITY);
  }
  if (a.type == kBool)
    return c.fail("does not take bool input");
  c.emitAs(a, a.shape);
  for (double &v : c.out.back().data)
    v = std::min(std::max(v, lo), hi); // keeps NaN; min > max gives max
  return true;
}

bool evalGelu(Ctx &c) {
  const EvalTensor &a = c.x(0);
  std::string approx = c.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return c.fail("unknown approximate '" + approx + "'");
  if (!isFloatType(a.type))
    return c.fail("takes a floating-point input");
  c.emitAs(a, a.shape);
  const double kSqrt2OverPi = 0.79788456080286535588;
  for (double &x : c.out.back().data)
    x = approx == "none"
            ? 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))
            : 0.5 * x * (1 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  return true;
}

//===----------------------------------------------------------------------===//
// Constants, casts, shapes
//===----------------------------------------------------------------------===//

bool evalConstant(Ctx &c) {
  if (c.node.attrs.size() != 1)
    return c.fail("needs exactly one value attribute");
  const Attribute &a = c.node.attrs[0];
  if (a.name == "value" && a.kind == Attribute::TensorValue && a.t) {
    std::string err;
    EvalTensor t = EvalTensor::fromTensor(*a.t, err);
    if (!err.empty())
      return c.fail(err);
    c.out.push_back(std::move(t));
  } else if (a.name == "value_float" && a.kind == Attribute::Float) {
    c.out.push_back(EvalTensor::scalar(kFloat, a.f));
  } else if (a.name == "value_int" && a.kind == Attribute::Int) {
    c.out.push_back(EvalTensor::scalar(kInt64, static_cast<double>(a.i)));
  } else if (a.name == "value_floats" && a.kind == Attribute::Floats) {
    c.out.push_back(EvalTensor::make(kFloat, {int64_t(a.floats.size())},
                                     std::vector<double>(a.floats.begin(), a.floats.end())));
  } else if (a.name == "value_ints" && a.kind == Attribute::Ints) {
    std::vector<double> v;
    for (int64_t i : a.ints)
      v.push_back(static_cast<double>(i));
    c.out.push_back(EvalTensor::make(kInt64, {int64_t(a.ints.size())}, v));
  } else {
    return c.fail("value attribute '" + a.name + "' is not supported");
  }
  return true;
}

bool evalConstantOfShape(Ctx &c) {
  Shape shape;
  if (!readInts(c, c.x(0), "shape", shape))
    return false;
  EvalTensor value = EvalTensor::scalar(kFloat, 0);
  if (const Attribute *a = c.attrOf("value", Attribute::TensorValue)) {
    std::string err;
    value = a->t ? EvalTensor::fromTensor(*a->t, err) : EvalTensor();
    if (!err.empty())
      return c.fail(err);
    if (value.data.size() != 1)
      return c.fail("'value' must have exactly one element");
  }
  EvalTensor *o = c.emit(value.type, shape);
  if (!o)
    return false;
  std::fill(o->data.begin(), o->data.end(), value.data[0]);
  return true;
}

bool evalIdentity(Ctx &c) {
  c.out.push_back(c.x(0));
  return true;
}

bool evalCast(Ctx &c) {
  int64_t to = c.node.opType == "CastLike" ? c.x(1).type : c.attrInt("to", kUndefined);
  if (!isSupportedType(static_cast<int32_t>(to)))
    return c.fail("cannot cast to element type " + std::to_string(to));
  c.out.push_back(c.x(0));
  c.out.back().type = static_cast<int32_t>(to); // evalNode rounds to `to`
  return true;
}

bool evalShape(Ctx &c) {
  const Shape &s = c.x(0).shape;
  int64_t rank = static_cast<int64_t>(s.size());
  auto clampIndex = [&](int64_t i) {
    i = i < 0 ? i + rank : i;
    return std::min(std::max(i, int64_t(0)), rank);
  };
  int64_t start = clampIndex(c.attrInt("start", 0));
  int64_t end = std::max(start, clampIndex(c.attrInt("end", rank)));
  EvalTensor *o = c.emit(kInt64, {end - start});
  for (int64_t i = start; o && i < end; ++i)
    o->data[i - start] = static_cast<double>(s[i]);
  return o != nullptr;
}

bool evalSize(Ctx &c) {
  c.out.push_back(EvalTensor::scalar(kInt64, static_cast<double>(c.x(0).data.size())));
  return true;
}

bool evalReshape(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape spec;
  if (c.opset >= 5) {
    if (!c.opt(1))
      return c.fail("needs a shape input");
    if (!readInts(c, *c.opt(1), "shape", spec))
      return false;
  } else {
    const Attribute *attr = c.attrOf("shape", Attribute::Ints);
    if (c.opt(1))
      return c.fail("shape is an attribute, not an input, before opset 5");
    if (!attr)
      return c.fail("needs a shape attribute");
    spec = attr->ints;
  }
  bool allowZero = c.attrInt("allowzero", 0) != 0;
  Shape shape(spec.size());
  int64_t infer = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      if (infer >= 0)
        return c.fail("shape has two -1 entries");
      infer = static_cast<int64_t>(i);
      shape[i] = 1;
    } else if (spec[i] == 0 && !allowZero) {
      if (i >= a.shape.size())
        return c.fail("shape entry " + std::to_string(i) + " is 0 but the input has rank " +
                      std::to_string(a.shape.size()));
      shape[i] = a.shape[i];
    } else if (spec[i] < 0) {
      return c.fail("shape entry " + std::to_string(spec[i]) + " is invalid");
    } else {
      shape[i] = spec[i];
    }
  }
  int64_t total = static_cast<int64_t>(a.data.size()), known;
  bool small = countOf(shape, known);
  if (infer >= 0) {
    if (!small || known == 0 || total % known != 0)
      return c.fail("cannot infer -1 reshaping " + shapeStr(a.shape) + " to " + shapeStr(spec));
    shape[infer] = total / known;
  } else if (!small || known != total) {
    return c.fail("cannot reshape " + shapeStr(a.shape) + " to " + shapeStr(spec));
  }
  c.emitAs(a, shape);
  return true;
}

bool evalFlatten(Ctx &c) {
  const EvalTensor &a = c.x(0);
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", 1);
  if (!checkAxis(c, axis, rank, 1))
    return false;
  c.emitAs(a, {product(a.shape, 0, axis), product(a.shape, axis, rank)});
  return true;
}

bool evalUnsqueeze(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape axes;
  bool present;
  if (!readIntsArg(c, "axes", 1, 13, axes, present))
    return false;
  if (!present)
    return c.fail("needs axes");
  int64_t rank = static_cast<int64_t>(a.shape.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t ax : axes) {
    if (!normAxis(ax, rank) || inserted[ax])
      return c.fail("axes " + shapeStr(axes) + " are invalid for output rank " + std::to_string(rank));
    inserted[ax] = true;
  }
  Shape shape;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(inserted[d] ? 1 : a.shape[next++]);
  c.emitAs(a, shape);
  return true;
}

bool evalSqueeze(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape axes;
  bool present;
  if (!readIntsArg(c, "axes", 1, 13, axes, present))
    return false;
  int64_t rank = static_cast<int64_t>(a.shape.size());
  std::vector<bool> drop(rank, false);
  for (int64_t d = 0; d < rank && !present; ++d)
    drop[d] = a.shape[d] == 1;
  for (int64_t ax : axes) {
    if (!normAxis(ax, rank) || drop[ax])
      return c.fail("axes " + shapeStr(axes) + " are invalid for rank " + std::to_string(rank));
    if (a.shape[ax] != 1)
      return c.fail("cannot squeeze axis " + std::to_string(ax) + " of size " +
                    std::to_string(a.shape[ax]));
    drop[ax] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(a.shape[d]);
  c.emitAs(a, shape);
  return true;
}

bool evalExpand(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape target;
  if (!readInts(c, c.x(1), "shape", target))
    return false;
  for (int64_t d : target)
    if (d < 0)
      return c.fail("shape " + shapeStr(target) + " has a negative entry");
  EvalTensor dummy;
  dummy.shape = target;
  return broadcastMap(c, {&a, &dummy}, a.type, [&](const int64_t *off) { return a.data[off[0]]; });
}

bool evalTile(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape reps;
  if (!readInts(c, c.x(1), "repeats", reps))
    return false;
  if (reps.size() != a.shape.size())
    return c.fail("repeats has " + std::to_string(reps.size()) + " entries for rank " +
                  std::to_string(a.shape.size()));
  Shape shape(reps.size());
  for (size_t d = 0; d < reps.size(); ++d) {
    if (reps[d] < 0)
      return c.fail("repeats " + shapeStr(reps) + " has a negative entry");
    if (reps[d] > 0 && a.shape[d] > kMaxEvalElements / reps[d])
      return c.fail("result is too large");
    shape[d] = a.shape[d] * reps[d];
  }
  EvalTensor *o = c.emit(a.type, shape);
  if (!o)
    return false;
  Shape strides = rowMajorStrides(a.shape), idx(shape.size(), 0);
  for (size_t i = 0; i < o->data.size(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      off += (idx[d] % a.shape[d]) * strides[d];
    o->data[i] = a.data[off];
    for (size_t d = shape.size(); d-- > 0 && ++idx[d] == shape[d];)
      idx[d] = 0;
  }
  return true;
}

bool evalTranspose(Ctx &c) {
  const EvalTensor &a = c.x(0);
  size_t rank = a.shape.size();
  Shape perm(rank);
  for (size_t i = 0; i < rank; ++i)
    perm[i] = static_cast<int64_t>(rank - 1 - i);
  if (const Attribute *p = c.attrOf("perm", Attribute::Ints))
    perm = p->ints;
  std::vector<bool> seen(rank, false);
  if (perm.size() != rank)
    return c.fail("perm " + shapeStr(perm) + " does not match rank " + std::to_string(rank));
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p])
      return c.fail("perm " + shapeStr(perm) + " is not a permutation");
    seen[p] = true;
  }
  Shape inStrides = rowMajorStrides(a.shape), shape(rank), strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    shape[i] = a.shape[perm[i]];
    strides[i] = inStrides[perm[i]];
  }
  EvalTensor *o = c.emit(a.type, shape);
  if (o)
    forEachOffset(shape, {strides}, [&](int64_t i, const int64_t *off) { o->data[i] = a.data[off[0]]; });
  return o != nullptr;
}

bool evalRange(Ctx &c) {
  double start, limit, delta;
  if (!sameTypes(c) || !readScalar(c, c.x(0), "start", start) ||
      !readScalar(c, c.x(1), "limit", limit) || !readScalar(c, c.x(2), "delta", delta))
    return false;
  int32_t type = c.x(0).type;
  if (type == kBool)
    return c.fail("does not take bool inputs");
  if (delta == 0)
    return c.fail("delta is zero");
  double n = std::ceil(roundTo(type, limit - start) / delta);
  if (std::isnan(n) || n > static_cast<double>(kMaxEvalElements))
    return c.fail("range of " + std::to_string(n) + " elements is too large");
  EvalTensor *o = c.emit(type, {std::max(int64_t(0), toInt64(n))});
  for (size_t i = 0; o && i < o->data.size(); ++i)
    o->data[i] = start + static_cast<double>(i) * delta;
  return o != nullptr;
}

//===----------------------------------------------------------------------===//
// Indexing and data movement
//===----------------------------------------------------------------------===//

bool evalGather(Ctx &c) {
  const EvalTensor &a = c.x(0), &idx = c.x(1);
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", 0);
  if (!isIntType(idx.type))
    return c.fail("indices must be integers");
  if (!checkAxis(c, axis, rank))
    return false;
  int64_t dim = a.shape[axis];
  std::vector<int64_t> index;
  for (double v : idx.data) {
    int64_t i = toInt64(v);
    if (i < -dim || i >= dim)
      return c.fail("index " + std::to_string(i) + " is out of range for axis " +
                    std::to_string(axis) + " of size " + std::to_string(dim));
    index.push_back(i < 0 ? i + dim : i);
  }
  Shape shape(a.shape.begin(), a.shape.begin() + axis);
  shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
  shape.insert(shape.end(), a.shape.begin() + axis + 1, a.shape.end());
  EvalTensor *o = c.emit(a.type, shape);
  if (!o)
    return false;
  int64_t outer = product(a.shape, 0, axis), inner = product(a.shape, axis + 1, rank);
  int64_t n = static_cast<int64_t>(index.size());
  for (int64_t i = 0; i < outer; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < inner; ++k)
        o->data[(i * n + j) * inner + k] = a.data[(i * dim + index[j]) * inner + k];
  return true;
}

bool evalGatherElements(Ctx &c) {
  const EvalTensor &a = c.x(0), &idx = c.x(1);
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", 0);
  if (!isIntType(idx.type))
    return c.fail("indices must be integers");
  if (!normAxis(axis, rank) || idx.shape.size() != a.shape.size())
    return c.fail("axis or indices rank does not match the data");
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[d] > a.shape[d])
      return c.fail("indices shape " + shapeStr(idx.shape) + " exceeds data shape " + shapeStr(a.shape));
  int64_t dim = a.shape[axis];
  Shape strides = rowMajorStrides(a.shape);
  int64_t axisStride = strides[axis];
  strides[axis] = 0;
  EvalTensor *o = c.emit(a.type, idx.shape);
  if (!o)
    return false;
  bool ok = true;
  forEachOffset(idx.shape, {strides}, [&](int64_t i, const int64_t *off) {
    int64_t j = toInt64(idx.data[i]);
    if (j < -dim || j >= dim) {
      ok = false;
      return;
    }
    o->data[i] = a.data[off[0] + (j < 0 ? j + dim : j) * axisStride];
  });
  return ok || c.fail("an index is out of range for axis " + std::to_string(axis) +
                      " of size " + std::to_string(dim));
}

/// GatherND: out[b..., i...] = data[b..., idx[b..., i..., :]...] with
/// `batch_dims` leading batch dimensions.
bool evalGatherND(Ctx &c) {
  const EvalTensor &a = c.x(0), &idx = c.x(1);
  int64_t r = static_cast<int64_t>(a.shape.size()), q = static_cast<int64_t>(idx.shape.size());
  int64_t bd = c.attrInt("batch_dims", 0);
  if (!isIntType(idx.type))
    return c.fail("indices must be integers");
  if (q < 1 || bd < 0 || bd >= std::min(r, q))
    return c.fail("batch_dims " + std::to_string(bd) + " does not fit ranks " +
                  std::to_string(r) + " and " + std::to_string(q));
  int64_t k = idx.shape.back();
  if (k < 1 || bd + k > r)
    return c.fail("index tuples of length " + std::to_string(k) + " do not fit data of rank " +
                  std::to_string(r));
  for (int64_t d = 0; d < bd; ++d)
    if (a.shape[d] != idx.shape[d])
      return c.fail("batch dimensions of data " + shapeStr(a.shape) + " and indices " +
                    shapeStr(idx.shape) + " differ");
  Shape shape(idx.shape.begin(), idx.shape.end() - 1);
  shape.insert(shape.end(), a.shape.begin() + bd + k, a.shape.end());
  EvalTensor *o = c.emit(a.type, shape);
  if (!o)
    return false;
  Shape strides = rowMajorStrides(a.shape);
  int64_t slice = product(a.shape, bd + k, r);
  int64_t batches = product(a.shape, 0, bd);
  int64_t tuples = product(idx.shape, bd, q - 1);
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0, rem = b;
      for (int64_t d = bd - 1; d >= 0; --d) {
        off += (rem % a.shape[d]) * strides[d];
        rem /= a.shape[d];
      }
      for (int64_t j = 0; j < k; ++j) {
        int64_t dim = a.shape[bd + j];
        int64_t i = toInt64(idx.data[((b * tuples) + t) * k + j]);
        if (i < -dim || i >= dim)
          return c.fail("index " + std::to_string(i) + " is out of range for a dimension of size " +
                        std::to_string(dim));
        off += (i < 0 ? i + dim : i) * strides[bd + j];
      }
      for (int64_t e = 0; e < slice; ++e)
        o->data[(b * tuples + t) * slice + e] = a.data[off + e];
    }
  return true;
}

bool evalConcat(Ctx &c) {
  const EvalTensor &first = c.x(0);
  if (!c.node.attr("axis"))
    return c.fail("needs an axis attribute");
  int64_t rank = static_cast<int64_t>(first.shape.size()), axis = c.attrInt("axis", 0);
  if (!sameTypes(c))
    return false;
  if (!checkAxis(c, axis, rank))
    return false;
  Shape shape = first.shape;
  shape[axis] = 0;
  for (const EvalTensor *t : c.in) {
    Shape s = t->shape;
    if (s.size() != first.shape.size())
      return c.fail("inputs have different ranks");
    shape[axis] += s[axis];
    s[axis] = shape[axis];
    if (s != shape)
      return c.fail("input shapes " + shapeStr(first.shape) + " and " + shapeStr(t->shape) +
                    " differ off the axis");
  }
  EvalTensor *o = c.emit(first.type, shape);
  if (!o)
    return false;
  int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, rank);
  size_t pos = 0;
  for (int64_t i = 0; i < outer; ++i)
    for (const EvalTensor *t : c.in) {
      int64_t chunk = t->shape[axis] * inner;
      std::copy_n(t->data.begin() + i * chunk, chunk, o->data.begin() + pos);
      pos += chunk;
    }
  return true;
}

bool evalSplit(Ctx &c) {
  const EvalTensor &a = c.x(0);
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", 0);
  if (!checkAxis(c, axis, rank))
    return false;
  int64_t dim = a.shape[axis], n = static_cast<int64_t>(c.node.outputs.size());
  Shape sizes;
  bool present;
  if (!readIntsArg(c, "split", 1, 13, sizes, present))
    return false;
  const Attribute *numOutputs = c.opset >= 18 ? c.attrOf("num_outputs", Attribute::Int) : nullptr;
  if (present && numOutputs)
    return c.fail("takes either 'split' or 'num_outputs', not both");
  if (numOutputs && numOutputs->i != n)
    return c.fail("num_outputs is " + std::to_string(numOutputs->i) + " but the node has " +
                  std::to_string(n) + " outputs");
  if (!present) {
    int64_t chunk = numOutputs ? (dim + n - 1) / n : dim / n;
    if (!numOutputs && dim % n != 0)
      return c.fail("cannot split size " + std::to_string(dim) + " into " + std::to_string(n) + " equal parts");
    sizes.assign(n, chunk);
    sizes.back() = dim - chunk * (n - 1);
  }
  int64_t sum = 0;
  for (int64_t s : sizes)
    sum = s < 0 || s > dim || sum < 0 ? -1 : sum + s;
  if (static_cast<int64_t>(sizes.size()) != n || sum != dim)
    return c.fail("split " + shapeStr(sizes) + " does not divide size " + std::to_string(dim) +
                  " into " + std::to_string(n) + " outputs");
  int64_t outer = product(a.shape, 0, axis), inner = product(a.shape, axis + 1, rank);
  int64_t begin = 0;
  for (int64_t s : sizes) {
    Shape shape = a.shape;
    shape[axis] = s;
    EvalTensor *o = c.emit(a.type, shape);
    if (!o)
      return false;
    for (int64_t i = 0; i < outer; ++i)
      std::copy_n(a.data.begin() + (i * dim + begin) * inner, s * inner,
                  o->data.begin() + i * s * inner);
    begin += s;
  }
  return true;
}

bool evalSlice(Ctx &c) {
  const EvalTensor &a = c.x(0);
  Shape starts, ends, axes, steps;
  if (c.opset >= 10) {
    if (c.node.attr("starts") || c.node.attr("ends"))
      return c.fail("starts/ends are inputs, not attributes, from opset 10");
    if (!c.opt(1) || !c.opt(2))
      return c.fail("needs starts and ends inputs");
    if (!readInts(c, *c.opt(1), "starts", starts) || !readInts(c, *c.opt(2), "ends", ends) ||
        (c.opt(3) && !readInts(c, *c.opt(3), "axes", axes)) ||
        (c.opt(4) && !readInts(c, *c.opt(4), "steps", steps)))
      return false;
  } else {
    const Attribute *s = c.attrOf("starts", Attribute::Ints), *e = c.attrOf("ends", Attribute::Ints);
    if (!s || !e || c.in.size() > 1)
      return c.fail("takes starts/ends attributes before opset 10");
    starts = s->ints;
    ends = e->ints;
    if (const Attribute *ax = c.attrOf("axes", Attribute::Ints))
      axes = ax->ints;
  }
  size_t n = starts.size();
  if (axes.empty() && !(c.opt(3) || c.node.attr("axes")))
    for (size_t i = 0; i < n; ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty() && !c.opt(4))
    steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n)
    return c.fail("starts, ends, axes and steps differ in length");
  int64_t rank = static_cast<int64_t>(a.shape.size());
  Shape begin(rank, 0), step(rank, 1), shape = a.shape;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < n; ++i) {
    int64_t ax = axes[i], dim, s = starts[i], e = ends[i], st = steps[i];
    if (!normAxis(ax, rank) || seen[ax])
      return c.fail("axes " + shapeStr(axes) + " are invalid for rank " + std::to_string(rank));
    if (st == 0)
      return c.fail("step is zero");
    seen[ax] = true;
    dim = a.shape[ax];
    s = s < 0 ? s + dim : s;
    e = e < 0 ? e + dim : e;
    int64_t count = 0;
    if (st > 0) {
      s = std::min(std::max(s, int64_t(0)), dim);
      e = std::min(std::max(e, int64_t(0)), dim);
      count = e > s ? (e - s - 1) / st + 1 : 0;
    } else if (dim > 0) {
      s = std::min(std::max(s, int64_t(0)), dim - 1);
      e = std::min(std::max(e, int64_t(-1)), dim - 1);
      uint64_t mag = uint64_t(0) - static_cast<uint64_t>(st);
      count = s > e ? static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / mag + 1) : 0;
    }
    begin[ax] = s;
    step[ax] = count > 1 ? st : 1; // a huge step that is never taken cannot overflow
    shape[ax] = count;
  }
  Shape inStrides = rowMajorStrides(a.shape), strides(rank);
  int64_t base = 0;
  for (int64_t d = 0; d < rank; ++d) {
    base += shape[d] > 0 ? begin[d] * inStrides[d] : 0;
    strides[d] = step[d] * inStrides[d];
  }
  EvalTensor *o = c.emit(a.type, shape);
  if (o)
    forEachOffset(shape, {strides}, [&](int64_t i, const int64_t *off) { o->data[i] = a.data[base + off[0]]; });
  return o != nullptr;
}

bool evalTrilu(Ctx &c) {
  const EvalTensor &a = c.x(0);
  double kv = 0;
  if (c.opt(1) && !readScalar(c, *c.opt(1), "k", kv))
    return false;
  int64_t k = toInt64(kv), rank = static_cast<int64_t>(a.shape.size());
  bool upper = c.attrInt("upper", 1) != 0;
  if (rank < 2)
    return c.fail("needs an input of rank >= 2");
  int64_t rows = a.shape[rank - 2], cols = a.shape[rank - 1];
  c.emitAs(a, a.shape);
  std::vector<double> &d = c.out.back().data;
  for (size_t i = 0; i < d.size(); ++i) {
    int64_t col = static_cast<int64_t>(i) % cols, row = static_cast<int64_t>(i) / cols % rows;
    bool keep = upper ? col - row >= k : col - row <= k;
    if (!keep)
      d[i] = 0;
  }
  return true;
}

bool evalCumSum(Ctx &c) {
  const EvalTensor &a = c.x(0);
  double axisValue;
  if (!readScalar(c, c.x(1), "axis", axisValue))
    return false;
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = toInt64(axisValue);
  if (!isIntType(c.x(1).type) || !normAxis(axis, rank))
    return c.fail("axis is not a valid integer axis for rank " + std::to_string(rank));
  bool exclusive = c.attrInt("exclusive", 0) != 0, reverse = c.attrInt("reverse", 0) != 0;
  int64_t outer = product(a.shape, 0, axis), n = a.shape[axis], inner = product(a.shape, axis + 1, rank);
  c.emitAs(a, a.shape);
  std::vector<double> &d = c.out.back().data;
  for (int64_t i = 0; i < outer; ++i)
    for (int64_t k = 0; k < inner; ++k) {
      double acc = 0;
      for (int64_t j = 0; j < n; ++j) {
        size_t p = static_cast<size_t>((i * n + (reverse ? n - 1 - j : j)) * inner + k);
        double v = a.data[p];
        d[p] = exclusive ? acc : roundTo(a.type, acc + v);
        acc = roundTo(a.type, acc + v); // accumulate in the element type, like numpy
      }
    }
  return true;
}

//===----------------------------------------------------------------------===//
// Reductions and normalisations
//===----------------------------------------------------------------------===//

bool evalReduce(Ctx &c) {
  const EvalTensor &a = c.x(0);
  const std::string &op = c.node.opType;
  Shape axes;
  bool present;
  if (!readIntsArg(c, "axes", 1, op == "ReduceSum" ? 13 : 18, axes, present))
    return false;
  if (a.type == kBool)
    return c.fail("does not take bool input");
  int64_t rank = static_cast<int64_t>(a.shape.size());
  bool keepDims = c.attrInt("keepdims", 1) != 0;
  if (axes.empty() && c.attrInt("noop_with_empty_axes", 0) != 0) {
    c.out.push_back(a);
    return true;
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t ax : axes) {
    if (!normAxis(ax, rank) || reduced[ax])
      return c.fail("axes " + shapeStr(axes) + " are invalid for rank " + std::to_string(rank));
    reduced[ax] = true;
  }
  Shape keptShape = a.shape, shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d])
      keptShape[d] = 1;
    if (!reduced[d] || keepDims)
      shape.push_back(keptShape[d]);
  }
  Shape strides = rowMajorStrides(keptShape);
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[d])
      strides[d] = 0;
  double init = op == "ReduceProd" ? 1 : op == "ReduceMax" ? -INFINITY : op == "ReduceMin" ? INFINITY : 0;
  EvalTensor *o = c.emit(a.type, shape);
  if (!o)
    return false;
  std::fill(o->data.begin(), o->data.end(), init);
  forEachOffset(a.shape, {strides}, [&](int64_t i, const int64_t *off) {
    double &acc = o->data[off[0]], v = a.data[i];
    if (op == "ReduceMax")
      acc = std::isnan(v) || v > acc ? v : acc;
    else if (op == "ReduceMin")
      acc = std::isnan(v) || v < acc ? v : acc;
    else if (op == "ReduceProd")
      acc *= v;
    else
      acc += v;
  });
  if (op == "ReduceMean") {
    double count = static_cast<double>(a.data.size()) / std::max<double>(1, static_cast<double>(o->data.size()));
    for (double &v : o->data)
      v /= count;
  }
  return true;
}

/// Softmax and LogSoftmax. From opset 13 along one axis (default -1);
/// before, over the input coerced to 2-D at `axis` (default 1).
bool evalSoftmax(Ctx &c) {
  const EvalTensor &a = c.x(0);
  bool modern = c.opset >= 13, logSoftmax = c.node.opType == "LogSoftmax";
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", modern ? -1 : 1);
  if (!isFloatType(a.type))
    return c.fail("takes a floating-point input");
  if (!checkAxis(c, axis, rank, modern ? 0 : 1))
    return false;
  int64_t outer = product(a.shape, 0, axis);
  int64_t n = modern ? a.shape[axis] : product(a.shape, axis, rank);
  int64_t inner = modern ? product(a.shape, axis + 1, rank) : 1;
  c.emitAs(a, a.shape);
  std::vector<double> &d = c.out.back().data;
  for (int64_t i = 0; i < outer; ++i)
    for (int64_t k = 0; k < inner; ++k) {
      auto at = [&](int64_t j) -> double & { return d[(i * n + j) * inner + k]; };
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; ++j)
        mx = std::max(mx, at(j));
      for (int64_t j = 0; j < n; ++j)
        sum += std::exp(at(j) - mx);
      for (int64_t j = 0; j < n; ++j)
        at(j) = logSoftmax ? at(j) - mx - std::log(sum) : std::exp(at(j) - mx) / sum;
    }
  return true;
}

bool evalLayerNorm(Ctx &c) {
  const EvalTensor &a = c.x(0), &scale = c.x(1), *bias = c.opt(2);
  int64_t rank = static_cast<int64_t>(a.shape.size()), axis = c.attrInt("axis", -1);
  double eps = c.attrFloat("epsilon", static_cast<float>(1e-5));
  int32_t stash = static_cast<int32_t>(c.attrInt("stash_type", kFloat));
  if (!isFloatType(a.type) || !isFloatType(stash) || !sameTypes(c))
    return c.fail("takes floating-point inputs of one type");
  if (!checkAxis(c, axis, rank))
    return false;
  for (const EvalTensor *t : {&scale, bias}) {
    Shape b;
    if (t && (!broadcastShape(a.shape, t->shape, b) || b != a.shape ||
              t->shape.size() > static_cast<size_t>(rank - axis)))
      return c.fail("scale/bias shape " + shapeStr(t->shape) + " does not fit input " + shapeStr(a.shape));
  }
  Shape statShape = a.shape;
  for (int64_t d = axis; d < rank; ++d)
    statShape[d] = 1;
  size_t nOut = c.node.outputs.size();
  c.emitAs(a, a.shape);
  for (size_t k = 1; k < nOut; ++k)
    c.emit(stash, statShape);
  int64_t outer = product(a.shape, 0, axis), n = product(a.shape, axis, rank);
  std::vector<double> &y = c.out[0].data;
  for (int64_t i = 0; i < outer; ++i) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; ++j)
      mean += a.data[i * n + j];
    mean /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j)
      var += (a.data[i * n + j] - mean) * (a.data[i * n + j] - mean);
    double inv = 1 / std::sqrt(var / static_cast<double>(n) + eps);
    for (int64_t j = 0; j < n; ++j)
      y[i * n + j] = (a.data[i * n + j] - mean) * inv;
    if (nOut > 1)
      c.out[1].data[i] = mean;
    if (nOut > 2)
      c.out[2].data[i] = inv;
  }
  // y = y * scale + bias, with scale and bias broadcast over the input.
  std::vector<Shape> strides = {broadcastStrides(scale.shape, a.shape)};
  if (bias)
    strides.push_back(broadcastStrides(bias->shape, a.shape));
  forEachOffset(a.shape, strides, [&](int64_t i, const int64_t *off) {
    y[i] = y[i] * scale.data[off[0]] + (bias ? bias->data[off[1]] : 0.0);
  });
  return true;
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

bool evalMatMul(Ctx &c) {
  const EvalTensor &a = c.x(0), &b = c.x(1);
  if (!sameTypes(c))
    return false;
  if (a.shape.empty() || b.shape.empty() || a.type == kBool)
    return c.fail("takes non-bool inputs of rank >= 1");
  Shape sa = a.shape, sb = b.shape;
  bool dropM = sa.size() == 1, dropN = sb.size() == 1;
  if (dropM)
    sa.insert(sa.begin(), 1);
  if (dropN)
    sb.push_back(1);
  int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  Shape batchA(sa.begin(), sa.end() - 2), batchB(sb.begin(), sb.end() - 2), batch;
  if (sb[sb.size() - 2] != k || !broadcastShape(batchA, batchB, batch))
    return c.fail("shapes " + shapeStr(a.shape) + " and " + shapeStr(b.shape) + " do not multiply");
  Shape shape = batch;
  if (!dropM)
    shape.push_back(m);
  if (!dropN)
    shape.push_back(n);
  EvalTensor *o = c.emit(a.type, shape);
  if (!o)
    return false;
  Shape strideA = broadcastStrides(batchA, batch), strideB = broadcastStrides(batchB, batch);
  for (int64_t &s : strideA)
    s *= m * k;
  for (int64_t &s : strideB)
    s *= k * n;
  forEachOffset(batch, {strideA, strideB}, [&](int64_t bi, const int64_t *off) {
    const double *pa = a.data.data() + off[0], *pb = b.data.data() + off[1];
    double *po = o->data.data() + bi * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += pa[i * k + p] * pb[p * n + j];
        po[i * n + j] = acc;
      }
  });
  return true;
}

bool evalGemm(Ctx &c) {
  const EvalTensor &a = c.x(0), &b = c.x(1), *bias = c.opt(2);
  if (!sameTypes(c))
    return false;
  bool ta = c.attrInt("transA", 0) != 0, tb = c.attrInt("transB", 0) != 0;
  double alpha = c.attrFloat("alpha", 1), beta = c.attrFloat("beta", 1);
  if (a.shape.size() != 2 || b.shape.size() != 2 || a.type == kBool)
    return c.fail("takes 2-D non-bool inputs");
  int64_t m = a.shape[ta ? 1 : 0], k = a.shape[ta ? 0 : 1];
  int64_t k2 = b.shape[tb ? 1 : 0], n = b.shape[tb ? 0 : 1];
  Shape cs;
  if (k != k2 || (bias && (!broadcastShape({m, n}, bias->shape, cs) || cs != Shape{m, n})))
    return c.fail("shapes " + shapeStr(a.shape) + ", " + shapeStr(b.shape) +
                  (bias ? ", " + shapeStr(bias->shape) : "") + " do not fit");
  EvalTensor *o = c.emit(a.type, {m, n});
  if (!o)
    return false;
  Shape biasStrides = bias ? broadcastStrides(bias->shape, {m, n}) : Shape{0, 0};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += a.data[ta ? p * m + i : i * k + p] * b.data[tb ? j * k + p : p * n + j];
      double cv = bias ? bias->data[i * biasStrides[0] + j * biasStrides[1]] : 0;
      o->data[i * n + j] = alpha * acc + beta * cv;
    }
  return true;
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

constexpr int kVariadic = -1;

struct OpDef {
  const char *op;
  bool (*eval)(Ctx &);
  int minInputs;  // the first minInputs inputs must be present
  int maxInputs;  // kVariadic: any number >= minInputs, all present
  int maxOutputs; // kVariadic: any number
};

const OpDef kOps[] = {
    {"Constant", evalConstant, 0, 0, 1},
    {"ConstantOfShape", evalConstantOfShape, 1, 1, 1},
    {"Identity", evalIdentity, 1, 1, 1},
    {"Cast", evalCast, 1, 1, 1},
    {"CastLike", evalCast, 2, 2, 1},
    {"Shape", evalShape, 1, 1, 1},
    {"Size", evalSize, 1, 1, 1},
    {"Gather", evalGather, 2, 2, 1},
    {"GatherElements", evalGatherElements, 2, 2, 1},
    {"GatherND", evalGatherND, 2, 2, 1},
    {"IsNaN", evalIsSpecial, 1, 1, 1}, {"IsInf", evalIsSpecial, 1, 1, 1},
    {"Unsqueeze", evalUnsqueeze, 1, 2, 1},
    {"Squeeze", evalSqueeze, 1, 2, 1},
    {"Concat", evalConcat, 1, kVariadic, 1},
    {"Split", evalSplit, 1, 2, kVariadic},
    {"Slice", evalSlice, 1, 5, 1},
    {"Reshape", evalReshape, 1, 2, 1},
    {"Flatten", evalFlatten, 1, 1, 1},
    {"Expand", evalExpand, 2, 2, 1},
    {"Tile", evalTile, 2, 2, 1},
    {"Transpose", evalTranspose, 1, 1, 1},
    {"Range", evalRange, 3, 3, 1},
    {"Where", evalWhere, 3, 3, 1},
    {"Equal", evalCompare, 2, 2, 1}, {"Less", evalCompare, 2, 2, 1},
    {"LessOrEqual", evalCompare, 2, 2, 1}, {"Greater", evalCompare, 2, 2, 1},
    {"GreaterOrEqual", evalCompare, 2, 2, 1}, {"And", evalCompare, 2, 2, 1},
    {"Or", evalCompare, 2, 2, 1}, {"Xor", evalCompare, 2, 2, 1},
    {"Not", evalNot, 1, 1, 1},
    {"Add", evalArith, 2, 2, 1}, {"Sub", evalArith, 2, 2, 1}, {"Mul", evalArith, 2, 2, 1},
    {"Div", evalArith, 2, 2, 1}, {"Mod", evalArith, 2, 2, 1}, {"Pow", evalArith, 2, 2, 1},
    {"Neg", evalUnary, 1, 1, 1}, {"Abs", evalUnary, 1, 1, 1}, {"Sqrt", evalUnary, 1, 1, 1},
    {"Exp", evalUnary, 1, 1, 1}, {"Log", evalUnary, 1, 1, 1}, {"Tanh", evalUnary, 1, 1, 1},
    {"Erf", evalUnary, 1, 1, 1}, {"Sigmoid", evalUnary, 1, 1, 1}, {"Relu", evalUnary, 1, 1, 1},
    {"Reciprocal", evalUnary, 1, 1, 1}, {"Floor", evalUnary, 1, 1, 1}, {"Ceil", evalUnary, 1, 1, 1},
    {"Min", evalVariadic, 1, kVariadic, 1}, {"Max", evalVariadic, 1, kVariadic, 1},
    {"Sum", evalVariadic, 1, kVariadic, 1}, {"Mean", evalVariadic, 1, kVariadic, 1},
    {"Clip", evalClip, 1, 3, 1},
    {"Gelu", evalGelu, 1, 1, 1},
    {"Trilu", evalTrilu, 1, 2, 1},
    {"CumSum", evalCumSum, 2, 2, 1},
    {"ReduceMean", evalReduce, 1, 2, 1}, {"ReduceSum", evalReduce, 1, 2, 1},
    {"ReduceMax", evalReduce, 1, 2, 1}, {"ReduceMin", evalReduce, 1, 2, 1},
    {"ReduceProd", evalReduce, 1, 2, 1},
    {"Softmax", evalSoftmax, 1, 1, 1}, {"LogSoftmax", evalSoftmax, 1, 1, 1},
    {"MatMul", evalMatMul, 2, 2, 1},
    {"Gemm", evalGemm, 2, 3, 1},
    {"LayerNormalization", evalLayerNorm, 2, 3, 3},
};

const OpDef *findOp(const std::string &opType) {
  for (const OpDef &d : kOps)
    if (opType == d.op)
      return &d;
  return nullptr;
}

/// Checks an input tensor handed in by the caller.
bool validInput(const EvalTensor &t) {
  int64_t n;
  return isSupportedType(t.type) && countOf(t.shape, n) &&
         static_cast<size_t>(n) == t.data.size();
}

} // namespace

//===----------------------------------------------------------------------===//
// EvalTensor
//===----------------------------------------------------------------------===//

int64_t EvalTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d == 0)
      return 0;
  }
  for (int64_t d : shape)
    n = n > std::numeric_limits<int64_t>::max() / d ? std::numeric_limits<int64_t>::max() : n * d;
  return n;
}

EvalTensor EvalTensor::scalar(int32_t type, double v) {
  return make(type, {}, {v});
}

EvalTensor EvalTensor::make(int32_t type, std::vector<int64_t> shape, std::vector<double> data) {
  EvalTensor t;
  t.type = type;
  t.shape = std::move(shape);
  t.data = std::move(data);
  for (double &v : t.data)
    v = roundTo(type, v);
  return t;
}

EvalTensor EvalTensor::fromTensor(const Tensor &t, std::string &error) {
  std::string what = "tensor '" + t.name + "'";
  int64_t n;
  size_t size = elemSize(t.elemType);
  if (!isSupportedType(t.elemType)) {
    error = what + " has unsupported element type " + elemTypeName(t.elemType);
    return EvalTensor();
  }
  if (!countOf(t.dims, n)) {
    error = what + " of shape " + shapeStr(t.dims) + " is invalid or too large";
    return EvalTensor();
  }
  if (t.nbytes != static_cast<size_t>(n) * size || (n > 0 && !t.data)) {
    error = what + " has " + std::to_string(t.nbytes) + " bytes, expected " +
            std::to_string(static_cast<size_t>(n) * size);
    return EvalTensor();
  }
  EvalTensor r;
  r.type = t.elemType;
  r.shape = t.dims;
  r.data.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < r.data.size(); ++i) {
    const uint8_t *p = t.data + i * size;
    uint64_t bits = 0;
    for (size_t b = 0; b < size; ++b) // little-endian, independent of the host
      bits |= static_cast<uint64_t>(p[b]) << (8 * b);
    double v = 0;
    switch (t.elemType) {
    case kFloat: {
      uint32_t u = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &u, 4);
      v = f;
      break;
    }
    case kDouble:
      std::memcpy(&v, &bits, 8);
      break;
    case kFloat16:
    case kBFloat16:
      v = halfToFloat(static_cast<uint16_t>(bits), t.elemType == kBFloat16);
      break;
    case kInt8:
      v = static_cast<int8_t>(bits);
      break;
    case kInt32:
      v = static_cast<int32_t>(static_cast<uint32_t>(bits));
      break;
    case kInt64:
      v = static_cast<double>(static_cast<int64_t>(bits));
      break;
    case kBool:
      v = bits != 0;
      break;
    default: // uint8
      v = static_cast<double>(bits);
    }
    r.data[i] = v;
  }
  error.clear();
  return r;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

bool canEvaluate(const std::string &opType) { return findOp(opType) != nullptr; }

bool evalNode(const Node &node, int64_t opset, const std::vector<const EvalTensor *> &inputs,
              std::vector<EvalTensor> &outputs, std::string &error) {
  outputs.clear();
  Ctx c{node, opset, inputs, outputs, error, std::string()};
  const OpDef *def = node.domain.empty() ? findOp(node.opType) : nullptr;
  if (!def)
    return c.fail(node.domain.empty() ? "not supported by the evaluator"
                                      : "domain '" + node.domain + "' is not supported by the evaluator");
  if (opset <= 0)
    return c.fail("opset " + std::to_string(opset) + " is invalid");
  int nIn = static_cast<int>(inputs.size());
  int nOut = static_cast<int>(node.outputs.size());
  if (nIn < def->minInputs || (def->maxInputs != kVariadic && nIn > def->maxInputs))
    return c.fail("takes " + std::to_string(def->minInputs) +
                  (def->maxInputs == kVariadic ? " or more"
                                               : " to " + std::to_string(def->maxInputs)) +
                  " inputs, got " + std::to_string(nIn));
  if (nOut < 1 || (def->maxOutputs != kVariadic && nOut > def->maxOutputs))
    return c.fail("cannot produce " + std::to_string(nOut) + " outputs");
  for (int i = 0; i < nIn; ++i) {
    bool required = i < def->minInputs || def->maxInputs == kVariadic;
    if (!inputs[i] && required)
      return c.fail("input " + std::to_string(i) + " is missing");
    if (inputs[i] && !validInput(*inputs[i]))
      return c.fail("input " + std::to_string(i) + " is malformed (type " +
                    elemTypeName(inputs[i]->type) + ", shape " + shapeStr(inputs[i]->shape) +
                    ", " + std::to_string(inputs[i]->data.size()) + " values)");
  }
  outputs.reserve(static_cast<size_t>(nOut));
  bool ok = def->eval(c);
  if (ok && !c.attrError.empty())
    ok = c.fail(c.attrError);
  if (ok && static_cast<int>(outputs.size()) != nOut)
    ok = c.fail("internal: produced " + std::to_string(outputs.size()) + " outputs");
  if (!ok) {
    outputs.clear();
    return false;
  }
  for (EvalTensor &t : outputs)
    for (double &v : t.data)
      v = roundTo(t.type, v);
  return true;
}

} // namespace onnx
} // namespace lithe
