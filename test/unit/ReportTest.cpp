//===- ReportTest.cpp - lithec --report's timing and grouping helpers -----===//

#include "Report.h"

#include <gtest/gtest.h>

using namespace lithe::report;

TEST(Report, SpreadIsMedianMinMax) {
  Spread s = spread({5, 1, 4, 2, 3});
  EXPECT_EQ(s.median, 3);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 5);
  EXPECT_EQ(s.runs, (std::vector<double>{5, 1, 4, 2, 3})); // in the order taken
  EXPECT_EQ(spread({4, 1, 3, 2}).median, 2.5);
  // One outlier moves the median of five by nothing.
  EXPECT_EQ(spread({10, 10, 10, 10, 1000}).median, 10);
}

TEST(Report, RoundsVisitEveryRowStartingOneLater) {
  std::vector<size_t> o = interleavedOrder(3, 4);
  EXPECT_EQ(o, (std::vector<size_t>{0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2}));
  // Every row is timed once per round.
  for (size_t r = 0; r < 4; ++r) {
    std::vector<int> seen(3);
    for (size_t i = 0; i < 3; ++i) ++seen[o[3 * r + i]];
    EXPECT_EQ(seen, (std::vector<int>{1, 1, 1}));
  }
}

TEST(Report, SpeedPipelineLeavesAdaptersOut) {
  EXPECT_EQ(withoutAdapters("lithe-fuse-adapters{adapters=a/lora}"), "");
  EXPECT_EQ(withoutAdapters("lithe-fuse-adapters{adapters=a/lora},lithe-quantize-weights"), "lithe-quantize-weights");
  EXPECT_EQ(withoutAdapters("lithe-simplify{adapters=a/lora remove-layernorm=true quantize=true}"),
            "lithe-simplify{remove-layernorm=true quantize=true}");
  EXPECT_EQ(withoutAdapters("lithe-prune-heads{heads=0:0,1/1:0,1},lithe-share-kv{group=2}"),
            "lithe-prune-heads{heads=0:0,1/1:0,1},lithe-share-kv{group=2}");
}

TEST(Report, SpeculativeEntries) {
  EXPECT_EQ(splitDraft("lithe-fold-layernorm"), std::make_pair(std::string("lithe-fold-layernorm"), std::string()));
  EXPECT_EQ(splitDraft("lithe-fold-layernorm --draft=lithe-quantize-weights"),
            std::make_pair(std::string("lithe-fold-layernorm"), std::string("lithe-quantize-weights")));
  EXPECT_EQ(splitDraft("--draft=lithe-drop-layers{layers=1},lithe-quantize-weights"),
            std::make_pair(std::string(), std::string("lithe-drop-layers{layers=1},lithe-quantize-weights")));
}

TEST(Report, PrecisionEntries) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(splitPrecision("lithe-fold-layernorm"), P("lithe-fold-layernorm", ""));
  EXPECT_EQ(splitPrecision("lithe-fold-layernorm --precision=bf16"), P("lithe-fold-layernorm", "bf16"));
  EXPECT_EQ(splitPrecision("--precision=bf16"), P("", "bf16"));
  // Before a draft, or after it: the rest stays whole.
  EXPECT_EQ(splitPrecision("lithe-fold-layernorm --precision=bf16 --draft=lithe-quantize-weights"),
            P("lithe-fold-layernorm --draft=lithe-quantize-weights", "bf16"));
  EXPECT_EQ(splitPrecision("lithe-fold-layernorm --draft=lithe-quantize-weights --precision=bf16"),
            P("lithe-fold-layernorm --draft=lithe-quantize-weights", "bf16"));
}

TEST(Report, ProgramKeyIgnoresWeightNames) {
  const char *a = "module attributes {lithe.weights = \"a.lwt\", lithe_k.arena_bytes = 4096 : i64} {\n"
                  "    %5 = lithe_k.weight %arg0[\"h.0.attn.c_attn.weight.packed\"] cpu_panels : <8x24xf32>\n"
                  "    %6 = lithe_k.arena %arg1[96] : <?x24xf32>\n";
  std::string b = a, c = a, d = a;
  b.replace(b.find("a.lwt"), 5, "b.lwt");                              // another weights file
  b.replace(b.find("c_attn.weight.packed"), 20, "c_attn.weight.lora.packed"); // fused adapters
  c.replace(c.find("[96]"), 4, "[97]");                                // an activation offset: another program
  d.replace(d.find("<8x24xf32>"), 10, "<8x24xi8>");                    // int8: another program
  EXPECT_EQ(programKey(a), programKey(b));
  EXPECT_NE(programKey(a), programKey(c));
  EXPECT_NE(programKey(a), programKey(d));
}
