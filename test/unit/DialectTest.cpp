//===- DialectTest.cpp - building and verifying lithe ops from C++ --------===//

#include "lithe/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

struct DialectTest : ::testing::Test {
  DialectTest() {
    ctx.loadDialect<lithe::LitheDialect, func::FuncDialect>();
  }

  /// Parses `src`, returning the module or null; diagnostics go to `diag`.
  OwningOpRef<ModuleOp> parse(llvm::StringRef src) {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      diag += d.str();
      diag += "\n";
      return success();
    });
    return parseSourceString<ModuleOp>(src, &ctx);
  }

  MLIRContext ctx;
  std::string diag;
};

TEST_F(DialectTest, KVCacheTypeBytes) {
  auto t = lithe::KVCacheType::get(&ctx, 12, 64, Float16Type::get(&ctx));
  EXPECT_EQ(t.getBytesPerPosition(), 2 * 12 * 64 * 2);
  auto f = lithe::KVCacheType::get(&ctx, 12, 64, Float32Type::get(&ctx));
  EXPECT_EQ(f.getBytesPerPosition(), 2 * 12 * 64 * 4);
}

TEST_F(DialectTest, BuildAttentionAndVerify) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  auto module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module.getBody());
  auto act = RankedTensorType::get({1, ShapedType::kDynamic, 64}, b.getF32Type());
  auto cacheType = lithe::KVCacheType::get(&ctx, 4, 16, b.getF32Type());
  auto fn = b.create<func::FuncOp>(
      loc, "f", b.getFunctionType({act, b.getIndexType(), cacheType}, {act}));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  Value q = entry->getArgument(0);
  auto attn = b.create<lithe::AttentionOp>(
      loc, act, q, q, q, entry->getArgument(2), entry->getArgument(1),
      /*num_heads=*/uint64_t(4), /*head_dim=*/uint64_t(16),
      /*scale=*/llvm::APFloat(0.25), /*causal=*/true);
  b.create<func::ReturnOp>(loc, attn.getResult());
  EXPECT_TRUE(attn.writesCache());
  EXPECT_TRUE(succeeded(verify(module)));

  // 64 is not 3 x 16: the verifier must say so.
  attn.setNumHeads(3);
  std::string msg;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      msg = d.str();
      return success();
    });
    EXPECT_TRUE(failed(verify(module)));
  }
  EXPECT_NE(msg.find("query width 64 is not divisible by the head count 3"),
            std::string::npos)
      << msg;
  module->destroy();
}

TEST_F(DialectTest, ParsesGPT2BlockAndRejectsBadLinear) {
  auto good = parse(R"mlir(
    func.func @f(%x: tensor<1x8x64xf32>) -> tensor<1x8x256xf32> {
      %w = lithe.weight "fc.weight" : tensor<64x256xf32>
      %b = lithe.weight "fc.bias" : tensor<256xf32>
      %y = lithe.linear %x, %w bias %b : (tensor<1x8x64xf32>, tensor<64x256xf32>, tensor<256xf32>) -> tensor<1x8x256xf32>
      %g = lithe.gelu %y none : tensor<1x8x256xf32>
      return %g : tensor<1x8x256xf32>
    })mlir");
  ASSERT_TRUE(good) << diag;

  diag.clear();
  auto bad = parse(R"mlir(
    func.func @f(%x: tensor<1x8x32xf32>) -> tensor<1x8x256xf32> {
      %w = lithe.weight "fc.weight" : tensor<64x256xf32>
      %y = lithe.linear %x, %w : (tensor<1x8x32xf32>, tensor<64x256xf32>) -> tensor<1x8x256xf32>
      return %y : tensor<1x8x256xf32>
    })mlir");
  EXPECT_FALSE(bad);
  EXPECT_NE(diag.find("input width 32 does not match the weight's input dimension 64"),
            std::string::npos)
      << diag;
}

TEST_F(DialectTest, ConstantFoldsToItsValue) {
  auto m = parse(R"mlir(
    func.func @f() -> tensor<2xi64> {
      %c = lithe.constant dense<[3, 4]> : tensor<2xi64>
      return %c : tensor<2xi64>
    })mlir");
  ASSERT_TRUE(m) << diag;
  lithe::ConstantOp c;
  m->walk([&](lithe::ConstantOp op) { c = op; });
  ASSERT_TRUE(c);
  SmallVector<OpFoldResult> folded;
  ASSERT_TRUE(succeeded(c->fold(folded)));
  ASSERT_EQ(folded.size(), 1u);
  auto attr = dyn_cast<DenseIntElementsAttr>(folded[0].get<Attribute>());
  ASSERT_TRUE(attr);
  EXPECT_EQ((*attr.value_begin<int64_t>()), 3);
}

} // namespace
