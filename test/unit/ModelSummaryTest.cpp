//===- ModelSummaryTest.cpp - reading a model's shape off its IR ----------===//

#include "lithe/Dialect.h"
#include "lithe/ModelSummary.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

// Two layers: 4 heads writing their own cache, then 2 heads (pruned) reading
// a shared one. Untied head. One weight referenced twice.
const char *kModel = R"mlir(
module {
  func.func @forward(%ids: tensor<1x?xi64>, %past: index,
                     %c0: !lithe.kv_cache<4x16xf32>, %c1: !lithe.kv_cache<2x16xf32>)
      -> tensor<1x?x100xf32> {
    %wte = lithe.weight "wte" : tensor<100x64xf32>
    %wpe = lithe.weight "wpe" : tensor<32x64xf32>
    %tok = lithe.embedding %wte[%ids] : tensor<100x64xf32>, tensor<1x?xi64> -> tensor<1x?x64xf32>
    %p = lithe.position_ids %ids, %past : tensor<1x?xi64> -> tensor<1x?xi64>
    %pos = lithe.embedding %wpe[%p] : tensor<32x64xf32>, tensor<1x?xi64> -> tensor<1x?x64xf32>
    %h = lithe.add %tok, %pos : tensor<1x?x64xf32>
    %n = lithe.layer_norm %h eps 1.0e-05 : (tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    %a0 = lithe.attention %n, %n, %n cache %c0[%past] heads 4 head_dim 16 scale 0.25 causal
        : (tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>, !lithe.kv_cache<4x16xf32>, index) -> tensor<1x?x64xf32>
    %w = lithe.weight "proj" : tensor<64x32xf32>
    %w2 = lithe.weight "proj" : tensor<64x32xf32>
    %q = lithe.linear %a0, %w : (tensor<1x?x64xf32>, tensor<64x32xf32>) -> tensor<1x?x32xf32>
    %a1 = lithe.attention %q cache %c1[%past] heads 2 head_dim 16 scale 0.25 causal
        : (tensor<1x?x32xf32>, !lithe.kv_cache<2x16xf32>, index) -> tensor<1x?x32xf32>
    %head = lithe.weight "lm_head" : tensor<100x64xi8>
    %s = lithe.weight "lm_head.scale" : tensor<100xf32>
    %logits = lithe.lm_head %n, %head table_scale %s : (tensor<1x?x64xf32>, tensor<100x64xi8>, tensor<100xf32>) -> tensor<1x?x100xf32>
    return %logits : tensor<1x?x100xf32>
  }
}
)mlir";

TEST(ModelSummary, CountsLayersHeadsAndBytes) {
  MLIRContext ctx;
  ctx.loadDialect<lithe::LitheDialect, func::FuncDialect>();
  auto m = parseSourceString<ModuleOp>(kModel, &ctx);
  ASSERT_TRUE(m);
  lithe::ModelSummary s = lithe::summarizeModel(*m);
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_EQ(s.layers[0].heads, 4);
  EXPECT_TRUE(s.layers[0].writesCache);
  EXPECT_EQ(s.layers[1].heads, 2);
  EXPECT_FALSE(s.layers[1].writesCache);
  EXPECT_EQ(s.width, 64);
  EXPECT_EQ(s.vocab, 100);
  EXPECT_FALSE(s.tiedHead);
  EXPECT_EQ(s.layerNorms, 1);
  // wte, wpe, proj (once), lm_head, lm_head.scale
  EXPECT_EQ(s.weightTensors, 5);
  EXPECT_EQ(s.parameters, 6400 + 2048 + 2048 + 6400 + 100);
  EXPECT_EQ(s.weightBytes, 4 * (6400 + 2048 + 2048) + 6400 + 4 * 100);
  EXPECT_EQ(s.kvBytesPerPosition, 2 * 4 * 16 * 4 + 2 * 2 * 16 * 4);
}

} // namespace
