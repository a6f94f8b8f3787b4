// The calibration Evaluator (lib/Calibration) against ONNX Runtime's recorded
// logits of the bundled lithe-tiny, and what its observers can do.

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/Import.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace {

const std::string kTiny = LITHE_TINY_DIR;

/// A little-endian float32 or int64 .npy file's data (C order).
template <typename T> std::vector<T> readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() < 10 || s.compare(1, 5, "NUMPY") != 0) return {};
  size_t headerLen = static_cast<unsigned char>(s[8]) | (static_cast<unsigned char>(s[9]) << 8);
  size_t off = 10 + headerLen;
  std::vector<T> out((s.size() - off) / sizeof(T));
  std::memcpy(out.data(), s.data() + off, out.size() * sizeof(T));
  return out;
}

struct Tiny {
  mlir::MLIRContext ctx;
  lithe::ImportResult result;
  std::shared_ptr<lithe::WeightStore> store;
  std::string weights = "/tmp/lithe-evaluator-test-" + std::to_string(::getpid()) + ".lwt";
  Tiny() {
    ctx.loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
    lithe::ImportOptions o;
    o.weightsPath = weights;
    std::string error;
    EXPECT_TRUE(lithe::importOnnx(kTiny + "/model.onnx", ctx, o, result, error)) << error;
    store = lithe::WeightStore::open(weights, error);
    EXPECT_TRUE(store) << error;
  }
  ~Tiny() { std::remove(weights.c_str()); }
};

TEST(Evaluator, LogitsMatchOnnxRuntime) {
  Tiny t;
  ASSERT_TRUE(t.store);
  std::string error;
  auto eval = lithe::Evaluator::create(*t.result.module, t.store, error);
  ASSERT_TRUE(eval) << error;
  const std::string kase = kTiny + "/cases/prompt8_past0";
  std::vector<int64_t> ids = readNpy<int64_t>(kase + "/inputs/input_ids.npy");
  std::vector<float> ref = readNpy<float>(kase + "/outputs/logits.npy");
  ASSERT_EQ(ids.size(), 8u);
  ASSERT_EQ(ref.size(), 8u * 50257u);
  std::vector<float> logits;
  lithe::Observer grab = [&](mlir::Operation *op, float *x, int64_t rows, int64_t cols) {
    if (mlir::isa<lithe::LMHeadOp>(op)) logits.assign(x, x + rows * cols);
  };
  double nll = 0;
  int64_t count = 0;
  ASSERT_TRUE(eval->run(ids, grab, &nll, &count, error)) << error;
  ASSERT_EQ(logits.size(), ref.size());
  double maxDiff = 0;
  for (size_t i = 0; i < ref.size(); ++i) maxDiff = std::max(maxDiff, double(std::fabs(logits[i] - ref[i])));
  // The same tolerance as the compiled binary's end-to-end check.
  EXPECT_LT(maxDiff, 1e-4);

  // The loss is the mean next-token NLL of the reference logits.
  double want = 0;
  for (int r = 0; r < 7; ++r) {
    const float *z = ref.data() + r * 50257;
    double mx = z[0], sum = 0;
    for (int v = 0; v < 50257; ++v) mx = std::max(mx, double(z[v]));
    for (int v = 0; v < 50257; ++v) sum += std::exp(z[v] - mx);
    want += std::log(sum) + mx - z[ids[r + 1]];
  }
  EXPECT_EQ(count, 7);
  EXPECT_NEAR(nll, want, 1e-3);
}

// The Evaluator runs f16 and int8 KV caches (lithe-kv-precision) with the
// kernels the binary calls: logits near ONNX Runtime's, as the compiled
// binaries' e2e checks measure them (4.8e-4 and 9.9e-3).
TEST(Evaluator, RunsF16AndInt8Caches) {
  Tiny t;
  ASSERT_TRUE(t.store);
  const std::string kase = kTiny + "/cases/prompt8_past0";
  std::vector<int64_t> ids = readNpy<int64_t>(kase + "/inputs/input_ids.npy");
  std::vector<float> ref = readNpy<float>(kase + "/outputs/logits.npy");
  ASSERT_EQ(ref.size(), 8u * 50257u);
  for (auto [type, tolerance] : {std::pair<const char *, double>{"f16", 3e-3}, {"int8", 0.03}}) {
    mlir::OwningOpRef<mlir::ModuleOp> m = mlir::cast<mlir::ModuleOp>(t.result.module->getOperation()->clone());
    mlir::PassManager pm(&t.ctx);
    lithe::LitheKVPrecisionOptions o;
    o.type = type;
    pm.addPass(lithe::createLitheKVPrecision(o));
    ASSERT_TRUE(mlir::succeeded(pm.run(*m))) << type;
    std::string error;
    auto eval = lithe::Evaluator::create(*m, t.store, error);
    ASSERT_TRUE(eval) << type << ": " << error;
    std::vector<float> logits;
    lithe::Observer grab = [&](mlir::Operation *op, float *x, int64_t rows, int64_t cols) {
      if (mlir::isa<lithe::LMHeadOp>(op)) logits.assign(x, x + rows * cols);
    };
    double nll = 0;
    int64_t count = 0;
    ASSERT_TRUE(eval->run(ids, grab, &nll, &count, error)) << type << ": " << error;
    ASSERT_EQ(logits.size(), ref.size());
    double maxDiff = 0;
    for (size_t i = 0; i < ref.size(); ++i) maxDiff = std::max(maxDiff, double(std::fabs(logits[i] - ref[i])));
    EXPECT_LT(maxDiff, tolerance) << type;
  }
}

TEST(Evaluator, ObserversMaskAndStop) {
  Tiny t;
  ASSERT_TRUE(t.store);
  std::string error;
  auto eval = lithe::Evaluator::create(*t.result.module, t.store, error);
  ASSERT_TRUE(eval) << error;
  std::vector<int64_t> ids = {28782, 5354, 17628, 1718, 465, 9294, 422, 262};
  double base = 0, masked = 0;
  int64_t n = 0, m = 0;
  ASSERT_TRUE(eval->run(ids, nullptr, &base, &n, error)) << error;
  // Zeroing every attention output changes the loss.
  lithe::Observer zero = [&](mlir::Operation *op, float *x, int64_t rows, int64_t cols) {
    if (mlir::isa<lithe::AttentionOp>(op)) std::fill(x, x + rows * cols, 0.0f);
  };
  ASSERT_TRUE(eval->run(ids, zero, &masked, &m, error)) << error;
  EXPECT_EQ(n, m);
  EXPECT_GT(std::fabs(masked - base), 1e-3);
  // Stopping after the first attention: no op after it runs, no loss.
  mlir::Operation *first = nullptr;
  t.result.module->walk([&](lithe::AttentionOp a) {
    if (!first) first = a;
  });
  int seenAfter = 0;
  bool reached = false;
  lithe::Observer watch = [&](mlir::Operation *op, float *, int64_t, int64_t) {
    if (reached) ++seenAfter;
    if (op == first) reached = true;
  };
  ASSERT_TRUE(eval->run(ids, watch, nullptr, nullptr, error, first)) << error;
  EXPECT_TRUE(reached);
  EXPECT_EQ(seenAfter, 0);
}

// An int4 module (linears and LM head, lithe-quantize-weights{bits=4
// lm-head-bits=4}) runs through the same kernels (lithe_linear_q4): its loss
// stays near fp32's.
TEST(Evaluator, RunsInt4Weights) {
  Tiny t;
  ASSERT_TRUE(t.store);
  lithe::setWeightStore(&t.ctx, t.store);
  std::string error;
  std::vector<int64_t> ids = {28782, 5354, 17628, 1718, 465, 9294, 422, 262, 3290, 286, 257, 1110};
  double base = 0, q4 = 0;
  int64_t n = 0, m = 0;
  {
    auto eval = lithe::Evaluator::create(*t.result.module, t.store, error);
    ASSERT_TRUE(eval) << error;
    ASSERT_TRUE(eval->run(ids, nullptr, &base, &n, error)) << error;
  }
  mlir::PassManager pm(&t.ctx);
  lithe::LitheQuantizeWeightsOptions o;
  o.bits = 4;
  o.group = 32;
  o.lmHeadBits = 4;
  pm.addPass(lithe::createLitheQuantizeWeights(o));
  ASSERT_TRUE(mlir::succeeded(pm.run(*t.result.module)));
  int int4 = 0;
  t.result.module->walk([&](lithe::LinearOp l) {
    int4 += mlir::cast<mlir::RankedTensorType>(l.getWeight().getType()).getElementType().isInteger(4);
  });
  EXPECT_GT(int4, 0);
  auto eval = lithe::Evaluator::create(*t.result.module, t.store, error);
  ASSERT_TRUE(eval) << error;
  ASSERT_TRUE(eval->run(ids, nullptr, &q4, &m, error)) << error;
  EXPECT_EQ(n, m);
  EXPECT_NE(q4, base);                             // quantized
  EXPECT_NEAR(q4 / m, base / n, 0.05 * base / n); // but close (+2.6% perplexity on WikiText-2)
}

TEST(Evaluator, RefusesUnraisedModules) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
  lithe::ImportOptions o;
  o.level = lithe::ImportLevel::Onnx;
  lithe::ImportResult result;
  std::string error;
  ASSERT_TRUE(lithe::importOnnx(kTiny + "/model.onnx", ctx, o, result, error)) << error;
  auto store = lithe::WeightStore::open("", error);
  EXPECT_FALSE(lithe::Evaluator::create(*result.module, store, error));
  EXPECT_NE(error.find("calibration cannot evaluate"), std::string::npos) << error;
}

TEST(Calibration, WindowsAndErrors) {
  Tiny t;
  lithe::CalibrationOptions o;
  o.text = std::string(LITHE_TEST_INPUTS) + "/../../e2e/Inputs/calibration-wikitext-2-valid-excerpt.txt";
  o.tokenizer = kTiny + "/tokenizer";
  o.tokens = 300;
  o.ctx = 128;
  lithe::CalibrationData data;
  std::string error;
  ASSERT_TRUE(lithe::loadCalibration(*t.result.module, o, data, error)) << error;
  ASSERT_EQ(data.windows.size(), 3u);
  EXPECT_EQ(data.windows[0].size(), 128u);
  EXPECT_EQ(data.windows[2].size(), 44u);
  EXPECT_EQ(data.tokens(), 300);
  o.text = "/nonexistent/calibration.txt";
  EXPECT_FALSE(lithe::loadCalibration(*t.result.module, o, data, error));
  EXPECT_NE(error.find("/nonexistent/calibration.txt"), std::string::npos) << error;
  o.text = std::string(LITHE_TEST_INPUTS) + "/../../e2e/Inputs/calibration-wikitext-2-valid-excerpt.txt";
  o.tokenizer = "";
  EXPECT_FALSE(lithe::loadCalibration(*t.result.module, o, data, error));
  EXPECT_NE(error.find("tokenizer"), std::string::npos) << error;
}

} // namespace
