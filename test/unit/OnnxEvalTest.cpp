//===- OnnxEvalTest.cpp - the reference evaluator for ONNX nodes ----------===//
//
// Expected values come from onnx.reference.ReferenceEvaluator (onnx 1.23,
// float32) or, where it lacks a behaviour (pre-13 Softmax coercion, Mean
// with broadcasting), from numpy; they were computed by a scratch script and
// pasted here as literals.
//
//===----------------------------------------------------------------------===//

#include "lithe/OnnxEval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace lithe::onnx;

namespace {

using Shape = std::vector<int64_t>;
using Values = std::vector<double>;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kFloatMin = -3.4028234663852886e+38; // numpy.finfo(float32).min

EvalTensor F(Shape shape, Values data) { return EvalTensor::make(kFloat, shape, data); }
EvalTensor I(Shape shape, Values data) { return EvalTensor::make(kInt64, shape, data); }
EvalTensor B(Shape shape, Values data) { return EvalTensor::make(kBool, shape, data); }
EvalTensor FS(double v) { return EvalTensor::scalar(kFloat, v); }
EvalTensor IS(double v) { return EvalTensor::scalar(kInt64, v); }

Attribute intAttr(const std::string &name, int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Int;
  a.i = v;
  return a;
}
Attribute floatAttr(const std::string &name, float v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Float;
  a.f = v;
  return a;
}
Attribute intsAttr(const std::string &name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute stringAttr(const std::string &name, const std::string &v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::String;
  a.s = v;
  return a;
}
/// A tensor attribute over bytes owned by the attribute.
Attribute tensorAttr(const std::string &name, int32_t type, Shape dims,
                     std::vector<uint8_t> bytes) {
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  auto t = std::make_shared<Tensor>();
  t->name = name;
  t->elemType = type;
  t->dims = std::move(dims);
  t->data = owner->data();
  t->nbytes = owner->size();
  t->owner = owner;
  Attribute a;
  a.name = name;
  a.kind = Attribute::TensorValue;
  a.t = t;
  return a;
}
std::vector<uint8_t> int64Bytes(std::vector<int64_t> v) {
  std::vector<uint8_t> b;
  for (int64_t x : v)
    for (int i = 0; i < 8; ++i)
      b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(x) >> (8 * i)));
  return b;
}

struct Result {
  bool ok = false;
  std::vector<EvalTensor> out;
  std::string error;
};

/// Evaluates `op` named "/test/<op>" on `inputs` (null = absent input).
Result eval(const std::string &op, int64_t opset, std::vector<const EvalTensor *> inputs,
            std::vector<Attribute> attrs = {}, int outputs = 1) {
  Node n;
  n.name = "/test/" + op;
  n.opType = op;
  for (size_t i = 0; i < inputs.size(); ++i)
    n.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  for (int i = 0; i < outputs; ++i)
    n.outputs.push_back("out" + std::to_string(i));
  n.attrs = std::move(attrs);
  Result r;
  r.ok = evalNode(n, opset, inputs, r.out, r.error);
  return r;
}

/// Exact comparison (NaN equals NaN).
void expectTensor(const EvalTensor &t, int32_t type, const Shape &shape, const Values &data) {
  EXPECT_EQ(t.type, type);
  EXPECT_EQ(t.shape, shape);
  ASSERT_EQ(t.data.size(), data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (std::isnan(data[i]))
      EXPECT_TRUE(std::isnan(t.data[i])) << "element " << i;
    else
      EXPECT_EQ(t.data[i], data[i]) << "element " << i;
  }
}

/// Comparison within `tol` relative (absolute below 1).
void expectClose(const EvalTensor &t, int32_t type, const Shape &shape, const Values &data,
                 double tol = 4e-7) {
  EXPECT_EQ(t.type, type);
  EXPECT_EQ(t.shape, shape);
  ASSERT_EQ(t.data.size(), data.size());
  for (size_t i = 0; i < data.size(); ++i)
    EXPECT_NEAR(t.data[i], data[i], tol * std::max(1.0, std::fabs(data[i]))) << "element " << i;
}

/// Runs a one-output op and checks it against exact expected values.
void expectOp(const std::string &op, int64_t opset, std::vector<const EvalTensor *> inputs,
              std::vector<Attribute> attrs, int32_t type, const Shape &shape, const Values &data) {
  Result r = eval(op, opset, std::move(inputs), std::move(attrs));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.out.size(), 1u);
  expectTensor(r.out[0], type, shape, data);
}

/// Expects failure with a one-line message naming the node and `fragment`.
void expectError(const Result &r, const std::string &op, const std::string &fragment) {
  ASSERT_FALSE(r.ok);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.error.find("'/test/" + op + "' (" + op + ")"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(fragment), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
}

//===----------------------------------------------------------------------===//
// Tensors and constants
//===----------------------------------------------------------------------===//

TEST(OnnxEval, FromTensorDecodesFloat16Int64AndBool) {
  std::string error = "stale";
  Attribute h = tensorAttr("h", kFloat16, {5},
                           {0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35, 0xff, 0x7b, 0x01, 0x00});
  EvalTensor t = EvalTensor::fromTensor(*h.t, error);
  EXPECT_TRUE(error.empty()) << error;
  expectTensor(t, kFloat16, {5}, {1.0, -2.0, 0.333251953125, 65504.0, 5.960464477539063e-08});

  Attribute i = tensorAttr("i", kInt64, {2}, int64Bytes({-5, INT64_MAX}));
  t = EvalTensor::fromTensor(*i.t, error);
  EXPECT_TRUE(error.empty()) << error;
  expectTensor(t, kInt64, {2}, {-5, 9223372036854775807.0});

  Attribute b = tensorAttr("b", kBool, {3}, {0, 1, 1});
  t = EvalTensor::fromTensor(*b.t, error);
  expectTensor(t, kBool, {3}, {0, 1, 1});
}

TEST(OnnxEval, FromTensorRejectsWrongByteCount) {
  std::string error;
  Attribute a = tensorAttr("w", kFloat, {2, 2}, {0, 0, 0, 0});
  EvalTensor t = EvalTensor::fromTensor(*a.t, error);
  EXPECT_NE(error.find("'w'"), std::string::npos) << error;
  EXPECT_TRUE(t.data.empty());
}

TEST(OnnxEval, ScalarRoundsToType) {
  EXPECT_EQ(EvalTensor::scalar(kFloat, 0.1).data[0], static_cast<double>(0.1f));
  EXPECT_EQ(EvalTensor::scalar(kInt64, -2.7).data[0], -2);
  EXPECT_EQ(EvalTensor::scalar(kBool, 5).data[0], 1);
  EXPECT_EQ(EvalTensor::scalar(kInt64, 3).numElements(), 1);
  EXPECT_EQ(F({2, 0, 3}, {}).numElements(), 0);
}

TEST(OnnxEval, ConstantForms) {
  Attribute v = tensorAttr("value", kInt64, {2}, int64Bytes({3, -4}));
  expectOp("Constant", 17, {}, {v}, kInt64, {2}, {3, -4});
  expectOp("Constant", 17, {}, {floatAttr("value_float", 0.1f)}, kFloat, {}, {0.10000000149011612});
  expectOp("Constant", 17, {}, {intAttr("value_int", 7)}, kInt64, {}, {7});
  expectOp("Constant", 17, {}, {intsAttr("value_ints", {1, 2})}, kInt64, {2}, {1, 2});
  Result r = eval("Constant", 17, {}, {stringAttr("value_string", "x")});
  expectError(r, "Constant", "value_string");
}

TEST(OnnxEval, ConstantOfShape) {
  EvalTensor shape = I({2}, {2, 3});
  Attribute v = tensorAttr("value", kInt64, {1}, int64Bytes({7}));
  expectOp("ConstantOfShape", 17, {&shape}, {v}, kInt64, {2, 3}, {7, 7, 7, 7, 7, 7});
  EvalTensor two = I({1}, {2});
  expectOp("ConstantOfShape", 17, {&two}, {}, kFloat, {2}, {0, 0});
}

TEST(OnnxEval, IdentitySizeAndShape) {
  EvalTensor x = F({2, 3, 4, 5}, Values(120, 1.5));
  Result r = eval("Identity", 17, {&x});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out[0].shape, x.shape);
  expectOp("Size", 17, {&x}, {}, kInt64, {}, {120});
  expectOp("Shape", 14, {&x}, {}, kInt64, {4}, {2, 3, 4, 5});
  expectOp("Shape", 15, {&x}, {intAttr("start", 1), intAttr("end", -1)}, kInt64, {2}, {3, 4});
  expectOp("Shape", 15, {&x}, {intAttr("start", -10)}, kInt64, {4}, {2, 3, 4, 5});
}

//===----------------------------------------------------------------------===//
// Casts
//===----------------------------------------------------------------------===//

TEST(OnnxEval, CastFloatToIntTruncatesAndToBoolIsNonzero) {
  EvalTensor x = F({4}, {-1.7, 2.9, -0.2, 3.0});
  expectOp("Cast", 17, {&x}, {intAttr("to", kInt64)}, kInt64, {4}, {-1, 2, 0, 3});
  EvalTensor y = F({4}, {0, -0.0, 2, NAN});
  expectOp("Cast", 17, {&y}, {intAttr("to", kBool)}, kBool, {4}, {0, 0, 1, 1});
}

TEST(OnnxEval, CastRoundsAndWraps) {
  EvalTensor big = I({2}, {16777217, -3});
  expectOp("Cast", 17, {&big}, {intAttr("to", kFloat)}, kFloat, {2}, {16777216.0, -3.0});
  EvalTensor wide = I({3}, {2147483648.0, -2147483649.0, 5});
  expectOp("Cast", 17, {&wide}, {intAttr("to", kInt32)}, kInt32, {3},
           {-2147483648.0, 2147483647.0, 5});
  EvalTensor f = F({5}, {0.1, 65519, 65520, 1e-8, 3e-5});
  expectOp("Cast", 17, {&f}, {intAttr("to", kFloat16)}, kFloat16, {5},
           {0.0999755859375, 65504.0, kInf, 0.0, 2.9981136322021484e-05});
  Result r = eval("Cast", 17, {&f}, {intAttr("to", 8)}); // string
  expectError(r, "Cast", "cannot cast");
}

TEST(OnnxEval, CastLike) {
  EvalTensor x = F({2}, {1.9, -2.5});
  EvalTensor like = EvalTensor::make(kInt32, {1}, {0});
  expectOp("CastLike", 17, {&x, &like}, {}, kInt32, {2}, {1, -2});
}

//===----------------------------------------------------------------------===//
// Elementwise arithmetic, broadcasting, rounding
//===----------------------------------------------------------------------===//

TEST(OnnxEval, AddBroadcastsRowAndColumn) {
  EvalTensor a = F({2, 3}, {1, 2, 3, 4, 5, 6}), b = F({3}, {10, 20, 30});
  expectOp("Add", 17, {&a, &b}, {}, kFloat, {2, 3}, {11, 22, 33, 14, 25, 36});
  EvalTensor col = F({2, 1}, {1, 2}), row = F({1, 3}, {10, 20, 30});
  expectOp("Add", 17, {&col, &row}, {}, kFloat, {2, 3}, {11, 21, 31, 12, 22, 32});
}

TEST(OnnxEval, Float32RoundingMatchesFloatArithmetic) {
  EvalTensor a = FS(0.1), b = FS(0.2);
  Result r = eval("Add", 17, {&a, &b});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out[0].data[0], 0.30000001192092896);
  EXPECT_EQ(r.out[0].data[0], static_cast<double>(0.1f + 0.2f));
  EXPECT_NE(r.out[0].data[0], 0.1 + 0.2);
}

TEST(OnnxEval, Float16AndInt32ResultsRoundAndWrap) {
  // numpy: float16 sums round half to even and overflow to inf; int32 wraps.
  EvalTensor a = EvalTensor::make(kFloat16, {3}, {1, 1, 60000});
  EvalTensor b = EvalTensor::make(kFloat16, {3}, {0.00048828125, 3 * 0.00048828125, 10000});
  expectOp("Add", 17, {&a, &b}, {}, kFloat16, {3}, {1.0, 1.001953125, kInf});
  EvalTensor i = EvalTensor::make(kInt32, {1}, {2147483647}), one = EvalTensor::make(kInt32, {1}, {1});
  expectOp("Add", 17, {&i, &one}, {}, kInt32, {1}, {-2147483648.0});
}

TEST(OnnxEval, SubMulDivPow) {
  EvalTensor a = F({3}, {1.5, -2, 7}), b = F({3}, {0.5, 3, -2});
  expectOp("Sub", 17, {&a, &b}, {}, kFloat, {3}, {1.0, -5.0, 9.0});
  expectOp("Mul", 17, {&a, &b}, {}, kFloat, {3}, {0.75, -6.0, -14.0});
  expectOp("Div", 17, {&a, &b}, {}, kFloat, {3}, {3.0, -0.6666666865348816, -3.5});
  EvalTensor base = F({3}, {2, 3, 0.5}), ex = F({3}, {3, 0.5, 2});
  // float32(sqrt(3)) correctly rounded; numpy's vectorised powf (and so
  // onnx.reference) returns the neighbour 1.732050895690918, one ulp off.
  expectOp("Pow", 17, {&base, &ex}, {}, kFloat, {3}, {8.0, 1.7320507764816284, 0.25});
}

TEST(OnnxEval, IntegerDivTruncatesTowardZero) {
  EvalTensor a = I({4}, {-7, 7, -7, 7}), b = I({4}, {2, 2, -2, -2});
  expectOp("Div", 17, {&a, &b}, {}, kInt64, {4}, {-3, 3, 3, -3});
  EvalTensor zero = I({4}, {1, 0, 1, 1});
  expectError(eval("Div", 17, {&a, &zero}), "Div", "division by zero");
}

TEST(OnnxEval, ModFollowsFmodAttribute) {
  EvalTensor a = I({4}, {-7, 7, -7, 7}), b = I({4}, {3, 3, -3, -3});
  expectOp("Mod", 17, {&a, &b}, {}, kInt64, {4}, {2, 1, -1, -2});
  expectOp("Mod", 17, {&a, &b}, {intAttr("fmod", 1)}, kInt64, {4}, {-1, 1, -1, 1});
  EvalTensor x = F({2}, {-7.5, 7.5}), y = F({2}, {2, -2});
  expectOp("Mod", 17, {&x, &y}, {intAttr("fmod", 1)}, kFloat, {2}, {-1.5, 1.5});
  expectError(eval("Mod", 17, {&x, &y}), "Mod", "fmod");
}

TEST(OnnxEval, UnaryOps) {
  EvalTensor x = F({5}, {-2.5, -0.5, 0.0, 0.7, 3.2});
  expectOp("Neg", 17, {&x}, {}, kFloat, {5}, {2.5, 0.5, -0.0, -0.699999988079071, -3.200000047683716});
  expectOp("Abs", 17, {&x}, {}, kFloat, {5}, {2.5, 0.5, 0.0, 0.699999988079071, 3.200000047683716});
  expectOp("Relu", 17, {&x}, {}, kFloat, {5}, {0.0, 0.0, 0.0, 0.699999988079071, 3.200000047683716});
  expectOp("Floor", 17, {&x}, {}, kFloat, {5}, {-3.0, -1.0, 0.0, 0.0, 3.0});
  expectOp("Ceil", 17, {&x}, {}, kFloat, {5}, {-2.0, -0.0, 0.0, 1.0, 4.0});
  struct Case {
    const char *op;
    Values expected;
  } cases[] = {
      {"Exp", {0.0820850059390068, 0.6065306663513184, 1.0, 2.0137526988983154, 24.532529830932617}},
      {"Tanh", {-0.9866142868995667, -0.46211719512939453, 0.0, 0.6043677926063538, 0.9966824054718018}},
      {"Erf", {-0.9995930194854736, -0.5204998850822449, 0.0, 0.6778011918067932, 0.9999939799308777}},
      {"Sigmoid", {0.07585818320512772, 0.3775406777858734, 0.5, 0.6681877970695496, 0.960834264755249}},
  };
  for (const Case &c : cases) {
    Result r = eval(c.op, 17, {&x});
    ASSERT_TRUE(r.ok) << r.error;
    expectClose(r.out[0], kFloat, {5}, c.expected);
  }
  EvalTensor y = F({3}, {0.25, 2, 9});
  expectOp("Sqrt", 17, {&y}, {}, kFloat, {3}, {0.5, 1.4142135381698608, 3.0});
  expectOp("Reciprocal", 17, {&y}, {}, kFloat, {3}, {4.0, 0.5, 0.1111111119389534});
  Result r = eval("Log", 17, {&y});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {3}, {-1.3862943649291992, 0.6931471824645996, 2.1972246170043945});
  EvalTensor i = I({1}, {4});
  expectError(eval("Sqrt", 17, {&i}), "Sqrt", "int64");
}

TEST(OnnxEval, VariadicMinMaxSumMean) {
  EvalTensor a = F({3}, {1, 5, 3}), b = F({2, 1}, {2, 4}), c = FS(3);
  expectOp("Min", 17, {&a, &b, &c}, {}, kFloat, {2, 3}, {1, 2, 2, 1, 3, 3});
  expectOp("Max", 17, {&a, &b, &c}, {}, kFloat, {2, 3}, {3, 5, 3, 4, 5, 4});
  expectOp("Sum", 17, {&a, &b, &c}, {}, kFloat, {2, 3}, {6, 10, 8, 8, 12, 10});
  expectOp("Mean", 17, {&a, &b, &c}, {}, kFloat, {2, 3},
           {2.0, 3.3333332538604736, 2.6666667461395264, 2.6666667461395264, 4.0, 3.3333332538604736});
}

TEST(OnnxEval, ClipInputsFromOpset11AttributesBefore) {
  EvalTensor x = F({5}, {-3, -0.5, 0.5, 1.5, 3}), lo = FS(0), hi = FS(2), one = FS(1);
  expectOp("Clip", 11, {&x, &lo, &hi}, {}, kFloat, {5}, {0, 0, 0.5, 1.5, 2});
  expectOp("Clip", 11, {&x, nullptr, &one}, {}, kFloat, {5}, {-3, -0.5, 0.5, 1, 1});
  expectOp("Clip", 6, {&x}, {floatAttr("min", -1), floatAttr("max", 1)}, kFloat, {5},
           {-1, -0.5, 0.5, 1, 1});
  expectError(eval("Clip", 13, {&x}, {floatAttr("min", -1)}), "Clip", "opset 11");
}

//===----------------------------------------------------------------------===//
// Comparison and logic
//===----------------------------------------------------------------------===//

TEST(OnnxEval, Comparisons) {
  EvalTensor a = I({3}, {1, 2, 3}), b = I({3}, {2, 2, 2});
  expectOp("Equal", 17, {&a, &b}, {}, kBool, {3}, {0, 1, 0});
  expectOp("Less", 17, {&a, &b}, {}, kBool, {3}, {1, 0, 0});
  expectOp("LessOrEqual", 17, {&a, &b}, {}, kBool, {3}, {1, 1, 0});
  expectOp("Greater", 17, {&a, &b}, {}, kBool, {3}, {0, 0, 1});
  expectOp("GreaterOrEqual", 17, {&a, &b}, {}, kBool, {3}, {0, 1, 1});
  EvalTensor f = F({3}, {1, 2, 3});
  expectError(eval("Equal", 17, {&a, &f}), "Equal", "differ");
}

TEST(OnnxEval, LogicOps) {
  EvalTensor a = B({4}, {1, 1, 0, 0}), b = B({4}, {1, 0, 1, 0});
  expectOp("And", 17, {&a, &b}, {}, kBool, {4}, {1, 0, 0, 0});
  expectOp("Or", 17, {&a, &b}, {}, kBool, {4}, {1, 1, 1, 0});
  expectOp("Xor", 17, {&a, &b}, {}, kBool, {4}, {0, 1, 1, 0});
  expectOp("Not", 17, {&a}, {}, kBool, {4}, {0, 0, 1, 1});
  EvalTensor i = I({4}, {1, 0, 1, 0});
  expectError(eval("And", 17, {&i, &i}), "And", "bool");
}

TEST(OnnxEval, WhereBroadcastsAllThree) {
  EvalTensor cond = B({2, 1}, {1, 0}), x = F({3}, {1, 2, 3}), y = FS(-1);
  expectOp("Where", 17, {&cond, &x, &y}, {}, kFloat, {2, 3}, {1, 2, 3, -1, -1, -1});
}

//===----------------------------------------------------------------------===//
// Indexing
//===----------------------------------------------------------------------===//

TEST(OnnxEval, GatherAxis0NegativeIndicesAndScalarAxis1) {
  EvalTensor g = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EvalTensor idx = I({2, 2}, {0, -1, 1, 2});
  expectOp("Gather", 13, {&g, &idx}, {}, kFloat, {2, 2, 4},
           {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11});
  EvalTensor last = IS(-1);
  expectOp("Gather", 13, {&g, &last}, {intAttr("axis", 1)}, kFloat, {3}, {3, 7, 11});
}

TEST(OnnxEval, GatherIndexOutOfRange) {
  EvalTensor g = F({3, 4}, Values(12, 0)), idx = I({1}, {3});
  expectError(eval("Gather", 13, {&g, &idx}), "Gather", "out of range");
}

TEST(OnnxEval, GatherElements) {
  EvalTensor d = F({2, 2}, {1, 2, 3, 4}), idx = I({2, 2}, {0, 0, 1, 0});
  expectOp("GatherElements", 13, {&d, &idx}, {intAttr("axis", 1)}, kFloat, {2, 2}, {1, 1, 4, 3});
  EvalTensor d3 = F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), idx3 = I({2, 3}, {1, 2, 0, 2, 0, -1});
  expectOp("GatherElements", 13, {&d3, &idx3}, {}, kFloat, {2, 3}, {4, 8, 3, 7, 2, 9});
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

TEST(OnnxEval, UnsqueezeAttributeBefore13InputFrom13) {
  EvalTensor x = F({3}, {1, 2, 3}), axes = I({2}, {2, 0});
  expectOp("Unsqueeze", 11, {&x}, {intsAttr("axes", {0, -1})}, kFloat, {1, 3, 1}, {1, 2, 3});
  expectOp("Unsqueeze", 13, {&x, &axes}, {}, kFloat, {1, 3, 1}, {1, 2, 3});
  expectError(eval("Unsqueeze", 13, {&x}, {intsAttr("axes", {0})}), "Unsqueeze", "input");
  expectError(eval("Unsqueeze", 11, {&x, &axes}), "Unsqueeze", "attribute");
  EvalTensor dup = I({2}, {0, 0});
  expectError(eval("Unsqueeze", 13, {&x, &dup}), "Unsqueeze", "invalid");
}

TEST(OnnxEval, Squeeze) {
  EvalTensor x = F({1, 3, 1}, {0, 0, 0}), last = I({1}, {-1}), mid = I({1}, {1});
  expectOp("Squeeze", 13, {&x}, {}, kFloat, {3}, {0, 0, 0});
  expectOp("Squeeze", 13, {&x, &last}, {}, kFloat, {1, 3}, {0, 0, 0});
  expectOp("Squeeze", 11, {&x}, {intsAttr("axes", {0})}, kFloat, {3, 1}, {0, 0, 0});
  expectError(eval("Squeeze", 13, {&x, &mid}), "Squeeze", "size 3");
}

TEST(OnnxEval, ConcatNegativeAxis) {
  EvalTensor a = F({2, 2}, {1, 2, 3, 4}), b = F({2, 1}, {5, 6});
  expectOp("Concat", 13, {&a, &b}, {intAttr("axis", -1)}, kFloat, {2, 3}, {1, 2, 5, 3, 4, 6});
  expectError(eval("Concat", 13, {&a, &b}, {intAttr("axis", 0)}), "Concat", "differ");
  expectError(eval("Concat", 13, {&a, &b}, {intAttr("axis", 2)}), "Concat", "out of range");
}

TEST(OnnxEval, SplitOpsetForms) {
  EvalTensor s = F({2, 3}, {0, 1, 2, 3, 4, 5}), sizes = I({2}, {1, 2});
  Result r = eval("Split", 13, {&s, &sizes}, {intAttr("axis", 1)}, 2);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.out.size(), 2u);
  expectTensor(r.out[0], kFloat, {2, 1}, {0, 3});
  expectTensor(r.out[1], kFloat, {2, 2}, {1, 2, 4, 5});

  EvalTensor seven = F({7}, {0, 1, 2, 3, 4, 5, 6});
  r = eval("Split", 18, {&seven}, {intAttr("num_outputs", 3)}, 3);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.out.size(), 3u);
  expectTensor(r.out[0], kFloat, {3}, {0, 1, 2});
  expectTensor(r.out[1], kFloat, {3}, {3, 4, 5});
  expectTensor(r.out[2], kFloat, {1}, {6});

  EvalTensor six = F({6}, {0, 1, 2, 3, 4, 5});
  r = eval("Split", 11, {&six}, {}, 3);
  ASSERT_TRUE(r.ok) << r.error;
  expectTensor(r.out[2], kFloat, {2}, {4, 5});
  r = eval("Split", 11, {&six}, {intsAttr("split", {4, 2})}, 2);
  ASSERT_TRUE(r.ok) << r.error;
  expectTensor(r.out[0], kFloat, {4}, {0, 1, 2, 3});
  expectTensor(r.out[1], kFloat, {2}, {4, 5});

  expectError(eval("Split", 13, {&seven}, {}, 3), "Split", "equal parts");
  expectError(eval("Split", 17, {&seven}, {intAttr("num_outputs", 3)}, 3), "Split", "equal parts");
  expectError(eval("Split", 13, {&six}, {intsAttr("split", {4, 2})}, 2), "Split", "input");
}

TEST(OnnxEval, SliceNegativeStepAndInt64Clamping) {
  EvalTensor x = F({10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  EvalTensor starts = I({1}, {-1}), ends = I({1}, {static_cast<double>(INT64_MIN)}), steps = I({1}, {-2});
  expectOp("Slice", 13, {&x, &starts, &ends, nullptr, &steps}, {}, kFloat, {5}, {9, 7, 5, 3, 1});
  EvalTensor m = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EvalTensor s2 = I({2}, {1, -3}), e2 = I({2}, {static_cast<double>(INT64_MAX), 3}), a2 = I({2}, {0, 1});
  expectOp("Slice", 13, {&m, &s2, &e2, &a2}, {}, kFloat, {2, 2}, {5, 6, 9, 10});
  EvalTensor s3 = I({2}, {3, 0}), e3 = I({2}, {0, 10}), a3 = I({2}, {-1, 0}), st3 = I({2}, {-1, 2});
  expectOp("Slice", 13, {&m, &s3, &e3, &a3, &st3}, {}, kFloat, {2, 3}, {3, 2, 1, 11, 10, 9});
  EvalTensor zero = I({1}, {0});
  expectError(eval("Slice", 13, {&x, &starts, &ends, nullptr, &zero}), "Slice", "step is zero");
}

TEST(OnnxEval, SliceAttributesBeforeOpset10) {
  EvalTensor x = F({10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  expectOp("Slice", 9, {&x},
           {intsAttr("starts", {2}), intsAttr("ends", {1000}), intsAttr("axes", {0})}, kFloat, {8},
           {2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(OnnxEval, ReshapeZeroCopiesAndMinusOneInfers) {
  Values v(24);
  for (int i = 0; i < 24; ++i)
    v[i] = i;
  EvalTensor x = F({2, 3, 4}, v), spec = I({2}, {0, -1});
  expectOp("Reshape", 14, {&x, &spec}, {}, kFloat, {2, 12}, v);
  EvalTensor empty = F({0, 3}, {}), spec2 = I({2}, {3, 0});
  expectOp("Reshape", 14, {&empty, &spec2}, {intAttr("allowzero", 1)}, kFloat, {3, 0}, {});
  Result r = eval("Reshape", 14, {&empty, &spec2});
  expectError(r, "Reshape", "cannot reshape");
}

TEST(OnnxEval, ReshapeTwoMinusOnes) {
  EvalTensor x = F({2, 3}, Values(6, 0)), spec = I({2}, {-1, -1});
  Result r = eval("Reshape", 14, {&x, &spec});
  expectError(r, "Reshape", "shape has two -1 entries");
  EXPECT_EQ(r.error, "'/test/Reshape' (Reshape): shape has two -1 entries");
}

TEST(OnnxEval, FlattenExpandTile) {
  EvalTensor x = F({2, 3, 4}, Values(24, 1));
  Result r = eval("Flatten", 13, {&x}, {intAttr("axis", 2)});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out[0].shape, (Shape{6, 4}));
  EvalTensor y = F({2, 3}, {0, 1, 2, 3, 4, 5});
  expectOp("Flatten", 13, {&y}, {intAttr("axis", 0)}, kFloat, {1, 6}, {0, 1, 2, 3, 4, 5});

  EvalTensor col = F({3, 1}, {1, 2, 3}), shape = I({3}, {2, 1, 4});
  expectOp("Expand", 13, {&col, &shape}, {}, kFloat, {2, 3, 4},
           {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  EvalTensor bad = I({2}, {2, 2});
  expectError(eval("Expand", 13, {&col, &bad}), "Expand", "cannot broadcast shapes [3,1] and [2,2]");

  EvalTensor t = F({2, 2}, {1, 2, 3, 4}), reps = I({2}, {2, 3});
  expectOp("Tile", 13, {&t, &reps}, {}, kFloat, {4, 6},
           {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
}

TEST(OnnxEval, TransposeDefaultReversesAndPerm) {
  Values v(24);
  for (int i = 0; i < 24; ++i)
    v[i] = i;
  EvalTensor x = F({2, 3, 4}, v);
  expectOp("Transpose", 13, {&x}, {}, kFloat, {4, 3, 2},
           {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23});
  expectOp("Transpose", 13, {&x}, {intsAttr("perm", {1, 0, 2})}, kFloat, {3, 2, 4},
           {0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23});
  expectError(eval("Transpose", 13, {&x}, {intsAttr("perm", {0, 0, 1})}), "Transpose", "permutation");
}

TEST(OnnxEval, Range) {
  EvalTensor z = IS(0), ten = IS(10), three = IS(3);
  expectOp("Range", 11, {&z, &ten, &three}, {}, kInt64, {4}, {0, 3, 6, 9});
  EvalTensor fs = FS(1), fl = FS(2), fd = FS(0.3);
  expectOp("Range", 11, {&fs, &fl, &fd}, {}, kFloat, {4},
           {1.0, 1.2999999523162842, 1.600000023841858, 1.9000000953674316});
  EvalTensor five = IS(5), m2 = IS(-2), two = IS(2);
  expectOp("Range", 11, {&five, &z, &m2}, {}, kInt64, {3}, {5, 3, 1});
  expectOp("Range", 11, {&five, &z, &two}, {}, kInt64, {0}, {});
  EvalTensor huge = IS(1e15), one = IS(1);
  expectError(eval("Range", 11, {&z, &huge, &one}), "Range", "too large");
}

TEST(OnnxEval, Trilu) {
  EvalTensor m = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), km1 = IS(-1), k1 = IS(1);
  expectOp("Trilu", 14, {&m}, {}, kFloat, {3, 4}, {0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11});
  expectOp("Trilu", 14, {&m, &km1}, {intAttr("upper", 0)}, kFloat, {3, 4},
           {0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0});
  expectOp("Trilu", 14, {&m, &k1}, {}, kFloat, {3, 4}, {0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11});
}

TEST(OnnxEval, CumSum) {
  EvalTensor x = F({4}, {1, 2, 3, 4}), axis = IS(0);
  expectOp("CumSum", 14, {&x, &axis}, {}, kFloat, {4}, {1, 3, 6, 10});
  expectOp("CumSum", 14, {&x, &axis}, {intAttr("exclusive", 1)}, kFloat, {4}, {0, 1, 3, 6});
  expectOp("CumSum", 14, {&x, &axis}, {intAttr("reverse", 1)}, kFloat, {4}, {10, 9, 7, 4});
  expectOp("CumSum", 14, {&x, &axis}, {intAttr("reverse", 1), intAttr("exclusive", 1)}, kFloat,
           {4}, {9, 7, 4, 0});
  EvalTensor s = F({2, 3}, {0, 1, 2, 3, 4, 5});
  EvalTensor last = EvalTensor::make(kInt32, {}, {-1});
  expectOp("CumSum", 14, {&s, &last}, {}, kFloat, {2, 3}, {0, 1, 3, 3, 7, 12});
}

//===----------------------------------------------------------------------===//
// Reductions, softmax, normalisation
//===----------------------------------------------------------------------===//

TEST(OnnxEval, ReduceMeanAxesAttributeAt17InputAt18) {
  EvalTensor r = F({2, 3}, {1, 2, 3, 4, 5, 7}), ax = I({1}, {1}), neg = I({1}, {-1});
  expectOp("ReduceMean", 17, {&r}, {intsAttr("axes", {1})}, kFloat, {2, 1}, {2.0, 5.333333492279053});
  expectOp("ReduceMean", 18, {&r, &ax}, {}, kFloat, {2, 1}, {2.0, 5.333333492279053});
  expectOp("ReduceMean", 18, {&r, &neg}, {intAttr("keepdims", 0)}, kFloat, {2},
           {2.0, 5.333333492279053});
  expectOp("ReduceMean", 18, {&r}, {}, kFloat, {1, 1}, {3.6666667461395264});
  expectError(eval("ReduceMean", 18, {&r}, {intsAttr("axes", {1})}), "ReduceMean", "opset 18");
  expectError(eval("ReduceMean", 17, {&r, &ax}), "ReduceMean", "attribute");
}

TEST(OnnxEval, ReduceSumFromOpset13AndOtherReductions) {
  EvalTensor r = F({2, 3}, {1, 2, 3, 4, 5, 7}), none = I({0}, {});
  expectOp("ReduceSum", 13, {&r, &none}, {intAttr("noop_with_empty_axes", 1)}, kFloat, {2, 3},
           {1, 2, 3, 4, 5, 7});
  expectOp("ReduceSum", 13, {&r}, {intAttr("keepdims", 0)}, kFloat, {}, {22});
  expectOp("ReduceSum", 11, {&r}, {intsAttr("axes", {0})}, kFloat, {1, 3}, {5, 7, 10});
  expectOp("ReduceMax", 17, {&r}, {intsAttr("axes", {0}), intAttr("keepdims", 0)}, kFloat, {3},
           {4, 5, 7});
  expectOp("ReduceMin", 17, {&r}, {intsAttr("axes", {1}), intAttr("keepdims", 0)}, kFloat, {2},
           {1, 4});
  expectOp("ReduceProd", 17, {&r}, {intsAttr("axes", {0}), intAttr("keepdims", 0)}, kFloat, {3},
           {4, 10, 21});
  expectError(eval("ReduceSum", 13, {&r}, {intsAttr("axes", {5})}), "ReduceSum", "opset 13");
  EvalTensor bad = I({1}, {5});
  expectError(eval("ReduceSum", 13, {&r, &bad}), "ReduceSum", "invalid");
}

const Values kSm = {1, 2, 3, 0, 0, 1, -1, 0, 1, 2, 2, 2};

TEST(OnnxEval, SoftmaxOpset13LastAxis) {
  EvalTensor x = F({2, 2, 3}, kSm);
  Result r = eval("Softmax", 13, {&x});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 2, 3},
              {0.09003057330846786, 0.2447284609079361, 0.6652409434318542, 0.21194155514240265,
               0.21194155514240265, 0.5761169195175171, 0.09003057330846786, 0.2447284609079361,
               0.6652409434318542, 0.3333333432674408, 0.3333333432674408, 0.3333333432674408});
  r = eval("Softmax", 13, {&x}, {intAttr("axis", 1)});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 2, 3},
              {0.7310585975646973, 0.8807970285415649, 0.8807970285415649, 0.26894140243530273,
               0.11920291930437088, 0.11920291930437088, 0.04742587357759476, 0.11920291930437088,
               0.26894140243530273, 0.9525741338729858, 0.8807970285415649, 0.7310585975646973});
}

TEST(OnnxEval, SoftmaxBeforeOpset13CoercesTo2D) {
  EvalTensor x = F({2, 2, 3}, kSm);
  Result r = eval("Softmax", 11, {&x}); // axis 1: rows of 6
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 2, 3},
              {0.07786284387111664, 0.21165314316749573, 0.5753328800201416, 0.02864413894712925,
               0.02864413894712925, 0.07786284387111664, 0.01401267759501934, 0.038090407848358154,
               0.10354045778512955, 0.28145214915275574, 0.28145214915275574, 0.28145214915275574});
  r = eval("LogSoftmax", 11, {&x});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 2, 3},
              {-2.5528063774108887, -1.5528064966201782, -0.5528064370155334, -3.5528063774108887,
               -3.5528063774108887, -2.5528063774108887, -4.267792701721191, -3.2677929401397705,
               -2.2677929401397705, -1.267792820930481, -1.267792820930481, -1.267792820930481});
}

TEST(OnnxEval, LogSoftmaxOpset13) {
  EvalTensor x = F({2, 2, 3}, kSm);
  Result r = eval("LogSoftmax", 13, {&x});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 2, 3},
              {-2.4076058864593506, -1.4076060056686401, -0.40760597586631775, -1.5514447689056396,
               -1.5514447689056396, -0.5514446496963501, -2.4076058864593506, -1.4076060056686401,
               -0.40760597586631775, -1.0986123085021973, -1.0986123085021973, -1.0986123085021973});
}

TEST(OnnxEval, LayerNormalizationWithStatistics) {
  EvalTensor x = F({2, 4}, {0.5, -1.25, 2.0, 3.5, 1, 1, 1, 1.5});
  EvalTensor scale = F({4}, {1, 0.5, 2, -1}), bias = F({4}, {0.1, 0.2, 0.3, 0.4});
  Result r = eval("LayerNormalization", 17, {&x, &scale, &bias}, {floatAttr("epsilon", 1e-5f)}, 3);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.out.size(), 3u);
  expectClose(r.out[0], kFloat, {2, 4},
              {-0.290129154920578, -0.4915925860404968, 1.2221235036849976, -0.91225266456604,
               -0.47728869318962097, -0.08864434063434601, -0.854577362537384, -1.3318661451339722},
              2e-6);
  expectClose(r.out[1], kFloat, {2, 1}, {1.1875, 1.125});
  expectClose(r.out[2], kFloat, {2, 1}, {0.5674605965614319, 4.618309497833252}, 2e-6);
  r = eval("LayerNormalization", 17, {&x, &scale});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {2, 4},
              {-0.3901291489601135, -0.6915925741195679, 0.9221234917640686, -1.3122526407241821,
               -0.5772886872291565, -0.28864434361457825, -1.154577374458313, -1.7318661212921143},
              2e-6);
  EvalTensor wrong = F({3}, {1, 1, 1});
  expectError(eval("LayerNormalization", 17, {&x, &wrong}), "LayerNormalization", "scale");
}

TEST(OnnxEval, GeluOpset20) {
  EvalTensor x = F({7}, {-3, -1, -0.5, 0, 0.5, 1, 2.5});
  Result r = eval("Gelu", 20, {&x});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {7},
              {-0.0040496885776519775, -0.15865525603294373, -0.1542687714099884, 0.0,
               0.3457312285900116, 0.8413447141647339, 2.48447585105896});
  r = eval("Gelu", 20, {&x}, {stringAttr("approximate", "tanh")});
  ASSERT_TRUE(r.ok) << r.error;
  expectClose(r.out[0], kFloat, {7},
              {-0.003637343645095825, -0.15880799293518066, -0.1542859971523285, 0.0,
               0.3457140028476715, 0.8411920070648193, 2.4849157333374023});
  expectError(eval("Gelu", 20, {&x}, {stringAttr("approximate", "fast")}), "Gelu", "fast");
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

TEST(OnnxEval, MatMulBatchBroadcast) {
  Values av(12), bv(18);
  for (int i = 0; i < 12; ++i)
    av[i] = i;
  for (int i = 0; i < 18; ++i)
    bv[i] = i - 5;
  EvalTensor a = F({2, 1, 2, 3}, av), b = F({3, 3, 2}, bv);
  expectOp("MatMul", 13, {&a, &b}, {}, kFloat, {2, 3, 2, 2},
           {-5, -2, -32, -20, 13, 16, 40, 52, 31, 34, 112, 124,
            -59, -38, -86, -56, 67, 88, 94, 124, 193, 214, 274, 304});
}

TEST(OnnxEval, MatMulOneDimensionalPromotion) {
  EvalTensor v = F({3}, {1, 2, 3}), w = F({3}, {4, 5, 6});
  EvalTensor m32 = F({3, 2}, {0, 1, 2, 3, 4, 5}), m23 = F({2, 3}, {0, 1, 2, 3, 4, 5});
  expectOp("MatMul", 13, {&v, &m32}, {}, kFloat, {2}, {16, 22});
  expectOp("MatMul", 13, {&m23, &v}, {}, kFloat, {2}, {8, 26});
  expectOp("MatMul", 13, {&v, &w}, {}, kFloat, {}, {32});
  expectError(eval("MatMul", 13, {&m23, &m23}), "MatMul", "do not multiply");
}

TEST(OnnxEval, GemmTransposesAlphaBetaAndBroadcastC) {
  EvalTensor a = F({3, 2}, {0, 1, 2, 3, 4, 5});
  EvalTensor b = F({4, 3}, {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5});
  EvalTensor c = F({4}, {1, -1, 2, -2});
  expectOp("Gemm", 13, {&a, &b, &c},
           {intAttr("transA", 1), intAttr("transB", 1), floatAttr("alpha", 0.5f), floatAttr("beta", 2.0f)},
           kFloat, {2, 4}, {4.5, 5.0, 15.5, 12.0, 5.25, 8.0, 20.75, 19.5});
  EvalTensor at = F({2, 3}, {0, 2, 4, 1, 3, 5});
  EvalTensor bt = F({3, 4}, {0, 1.5, 3, 4.5, 0.5, 2, 3.5, 5, 1, 2.5, 4, 5.5});
  expectOp("Gemm", 13, {&at, &bt}, {}, kFloat, {2, 4}, {5.0, 14.0, 23.0, 32.0, 6.5, 20.0, 33.5, 47.0});
}

//===----------------------------------------------------------------------===//
// Errors and robustness
//===----------------------------------------------------------------------===//

TEST(OnnxEval, UnsupportedOpAndDomain) {
  EvalTensor x = FS(1);
  Result r = eval("Foo", 17, {&x});
  expectError(r, "Foo", "not supported by the evaluator");
  EXPECT_EQ(r.error, "'/test/Foo' (Foo): not supported by the evaluator");
  Node n;
  n.name = "g";
  n.opType = "Gelu";
  n.domain = "com.microsoft";
  n.outputs = {"y"};
  std::vector<EvalTensor> out;
  std::string error;
  EXPECT_FALSE(evalNode(n, 1, {&x}, out, error));
  EXPECT_EQ(error, "'g' (com.microsoft:Gelu): domain 'com.microsoft' is not supported by the evaluator");
  EXPECT_TRUE(canEvaluate("Gelu"));
  EXPECT_TRUE(canEvaluate("LayerNormalization"));
  EXPECT_FALSE(canEvaluate("Einsum"));
  EXPECT_FALSE(canEvaluate("Foo"));
}

TEST(OnnxEval, AddShapeMismatch) {
  EvalTensor a = F({2, 3}, Values(6, 0)), b = F({4}, Values(4, 0));
  Result r = eval("Add", 17, {&a, &b});
  expectError(r, "Add", "cannot broadcast shapes [2,3] and [4]");
}

TEST(OnnxEval, WrongInputCountsAndMissingInputs) {
  EvalTensor a = FS(1);
  expectError(eval("Add", 17, {&a}), "Add", "inputs, got 1");
  expectError(eval("Add", 17, {&a, &a, &a}), "Add", "inputs, got 3");
  expectError(eval("Add", 17, {&a, nullptr}), "Add", "input 1 is missing");
  expectError(eval("Sum", 17, {&a, nullptr, &a}), "Sum", "input 1 is missing");
  expectError(eval("Relu", 17, {&a}, {}, 2), "Relu", "outputs");
}

TEST(OnnxEval, MalformedInputsAndAttributes) {
  EvalTensor bad = F({2, 2}, {1, 2, 3}); // 3 values for 4 elements
  expectError(eval("Relu", 17, {&bad}), "Relu", "malformed");
  EvalTensor neg;
  neg.shape = {-1};
  expectError(eval("Relu", 17, {&neg}), "Relu", "malformed");
  EvalTensor x = F({2}, {1, 2});
  expectError(eval("Flatten", 13, {&x}, {floatAttr("axis", 1)}), "Flatten", "wrong kind");
  expectError(eval("Gather", 13, {&x, &x}), "Gather", "integers");
  EvalTensor s = FS(1);
  expectError(eval("Relu", 0, {&s}), "Relu", "opset");
}

TEST(OnnxEval, RefusesHugeResults) {
  EvalTensor shape = I({2}, {1 << 20, 1 << 20});
  expectError(eval("ConstantOfShape", 17, {&shape}), "ConstantOfShape", "too large");
  EvalTensor x = F({4}, {1, 2, 3, 4}), reps = I({1}, {1e17});
  expectError(eval("Tile", 13, {&x, &reps}), "Tile", "too large");
  EvalTensor target = I({3}, {1 << 14, 1 << 14, 4});
  expectError(eval("Expand", 13, {&x, &target}), "Expand", "too large");
  EvalTensor overflow = I({3}, {4e18, 4e18, 0});
  expectOp("ConstantOfShape", 17, {&overflow}, {}, kFloat, {static_cast<int64_t>(4e18),
           static_cast<int64_t>(4e18), 0}, {});
}

//===----------------------------------------------------------------------===//
// Small graphs
//===----------------------------------------------------------------------===//

/// Evaluates one node and returns its only output (fails the test otherwise).
EvalTensor step(const std::string &op, int64_t opset, std::vector<const EvalTensor *> inputs,
                std::vector<Attribute> attrs = {}) {
  Result r = eval(op, opset, std::move(inputs), std::move(attrs));
  EXPECT_TRUE(r.ok) << r.error;
  return r.ok ? r.out[0] : EvalTensor();
}

TEST(OnnxEval, CausalMaskGraph) {
  // mask[i][j] = j <= i ? 0 : finfo(float32).min, built as GPT-2 exports do.
  EvalTensor zero = IS(0), seq = IS(4), one = IS(1), ax0 = I({1}, {0}), ax1 = I({1}, {1});
  EvalTensor r = step("Range", 17, {&zero, &seq, &one});
  EvalTensor row = step("Unsqueeze", 17, {&r, &ax1});
  EvalTensor col = step("Unsqueeze", 17, {&r, &ax0});
  EvalTensor allowed = step("LessOrEqual", 17, {&col, &row});
  EvalTensor fzero = FS(0), fmin = FS(kFloatMin), ninf = FS(-kInf);
  EvalTensor mask = step("Where", 17, {&allowed, &fzero, &fmin});
  const double m = kFloatMin;
  expectTensor(mask, kFloat, {4, 4}, {0, m, m, m, 0, 0, m, m, 0, 0, 0, m, 0, 0, 0, 0});
  const double n = -kInf;
  EvalTensor maskInf = step("Where", 17, {&allowed, &fzero, &ninf});
  expectTensor(maskInf, kFloat, {4, 4}, {0, n, n, n, 0, 0, n, n, 0, 0, 0, n, 0, 0, 0, 0});
}

TEST(OnnxEval, TanhGeluSubgraphMatchesClosedForm) {
  Values xs = {-3, -1, -0.5, 0, 0.5, 1, 2.5};
  EvalTensor x = F({7}, xs);
  EvalTensor three = FS(3), c = FS(0.044715), k = FS(0.7978845834732056), one = FS(1), half = FS(0.5);
  EvalTensor x3 = step("Pow", 17, {&x, &three});
  EvalTensor cx3 = step("Mul", 17, {&x3, &c});
  EvalTensor inner = step("Add", 17, {&x, &cx3});
  EvalTensor scaled = step("Mul", 17, {&inner, &k});
  EvalTensor t = step("Tanh", 17, {&scaled});
  EvalTensor t1 = step("Add", 17, {&t, &one});
  EvalTensor xt = step("Mul", 17, {&x, &t1});
  EvalTensor y = step("Mul", 17, {&xt, &half});
  // onnx.reference on the same float32 graph:
  expectClose(y, kFloat, {7},
              {-0.003637343645095825, -0.15880799293518066, -0.1542859822511673, 0.0,
               0.3457140326499939, 0.8411920070648193, 2.4849157333374023});
  // The closed form 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) in double:
  expectClose(y, kFloat, {7},
              {-0.0036373920817729943, -0.1588080093917233, -0.15428599017485606, 0.0,
               0.34571400982514394, 0.8411919906082768, 2.484915733910001},
              2e-5);
  // ... and the Gelu op with approximate="tanh" agrees.
  EvalTensor g = step("Gelu", 20, {&x}, {stringAttr("approximate", "tanh")});
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_NEAR(g.data[i], y.data[i], 1e-6 * std::max(1.0, std::fabs(y.data[i])));
}

} // namespace
