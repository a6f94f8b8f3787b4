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

TEST(Report, ProgramKeyIgnoresWeightOffsetsAndChecksum) {
  const char *a = "  llvm.mlir.global external constant @lithe_weights_checksum(1 : i64) : i64\n"
                  "  llvm.func @lithe_forward(%arg0: !llvm.ptr, %arg1: !llvm.ptr) {\n"
                  "    %0 = llvm.mlir.constant(6848 : i64) : i64\n"
                  "    %1 = llvm.getelementptr %arg0[%0] : (!llvm.ptr, i64) -> !llvm.ptr, i8\n"
                  "    %2 = llvm.mlir.constant(96 : i64) : i64\n"
                  "    %3 = llvm.getelementptr %arg1[%2] : (!llvm.ptr, i64) -> !llvm.ptr, i8\n";
  std::string b = a, c = a;
  b.replace(b.find("(1 :"), 2, "(7");     // another checksum
  b.replace(b.find("6848"), 4, "7168");   // weights laid out differently
  c.replace(c.find("(96 :"), 3, "(97");   // an activation offset: another program
  EXPECT_EQ(programKey(a), programKey(b));
  EXPECT_NE(programKey(a), programKey(c));
}
