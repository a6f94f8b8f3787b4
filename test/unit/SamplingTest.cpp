//===- SamplingTest.cpp - the runtime's sampling controls -----------------===//

#include "lithe/runtime/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace lithe::rt;

// What may be shown of a growing text: never a cut-off UTF-8 character,
// never a tail that could still become a stop sequence.
TEST(Sampling, ShowableHoldsBackCutCharacters) {
  EXPECT_EQ(showable("abc", {}), 3u);
  EXPECT_EQ(showable("", {}), 0u);
  EXPECT_EQ(showable("a\xC3", {}), 1u);            // 2-byte character, 1 byte come
  EXPECT_EQ(showable("a\xC3\xA9", {}), 3u);        // é complete
  EXPECT_EQ(showable("a\xE2\x82", {}), 1u);        // 3-byte character, 2 bytes come
  EXPECT_EQ(showable("a\xE2\x82\xAC", {}), 4u);    // € complete
  EXPECT_EQ(showable("a\xF0\x9F\x98", {}), 1u);    // 4-byte character, 3 bytes come
  EXPECT_EQ(showable("a\xF0\x9F\x98\x80", {}), 5u);
}

TEST(Sampling, ShowableHoldsBackStopPrefixes) {
  EXPECT_EQ(showable("hello wor", {"world"}), 6u);
  EXPECT_EQ(showable("hello w", {"world", "wx"}), 6u);
  EXPECT_EQ(showable("hello", {"world"}), 5u);
  EXPECT_EQ(showable("hello\n", {"\n\n"}), 5u);
  // The longest held-back tail wins across stops.
  EXPECT_EQ(showable("abcab", {"abx", "cabz"}), 2u);
  EXPECT_EQ(showable("x", {""}), 1u); // an empty stop holds nothing back
}

TEST(Sampling, FindStopFindsTheEarliest) {
  EXPECT_EQ(findStop("one two three", {"three", "two"}), 4u);
  EXPECT_EQ(findStop("one", {"two"}), std::string::npos);
}

TEST(Sampling, PenaltiesAndLogitBias) {
  Sampling s;
  s.repeatPenalty = 2.0;
  s.repeatLastN = 2;
  std::vector<float> l = {2.0f, -2.0f, 1.0f, 1.0f};
  // Tokens 0 and 1 are in the last 2; token 2 is older.
  penalize(l, {2, 0, 1}, 3, s);
  EXPECT_FLOAT_EQ(l[0], 1.0f);  // positive: divided
  EXPECT_FLOAT_EQ(l[1], -4.0f); // negative: multiplied
  EXPECT_FLOAT_EQ(l[2], 1.0f);

  Sampling o;
  o.presencePenalty = 0.5;
  o.frequencyPenalty = 0.25;
  o.logitBias = {{3, -100.0f}};
  l = {0.0f, 0.0f, 0.0f, 0.0f};
  // Generated (from index 1): token 1 twice, token 2 once; token 0 is prompt.
  penalize(l, {0, 1, 1, 2}, 1, o);
  EXPECT_FLOAT_EQ(l[0], 0.0f);
  EXPECT_FLOAT_EQ(l[1], -1.0f);
  EXPECT_FLOAT_EQ(l[2], -0.75f);
  EXPECT_FLOAT_EQ(l[3], -100.0f);
  EXPECT_TRUE(o.penalized());
}

TEST(Sampling, GreedyTopKAndNucleus) {
  std::mt19937_64 rng(1);
  std::vector<float> l = {0.0f, 3.0f, 1.0f, 2.0f};
  Sampling g;
  EXPECT_EQ(sample(l, g, rng), 1);
  // top_k 1 at any temperature is greedy.
  Sampling k1;
  k1.temp = 5.0;
  k1.topK = 1;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample(l, k1, rng), 1);
  // top_k 2: only the two best are ever drawn; both are.
  Sampling k2;
  k2.temp = 1.0;
  k2.topK = 2;
  int seen[4] = {0, 0, 0, 0};
  for (int i = 0; i < 400; ++i) ++seen[sample(l, k2, rng)];
  EXPECT_EQ(seen[0] + seen[2], 0);
  EXPECT_GT(seen[1], seen[3]);
  EXPECT_GT(seen[3], 0);
  // The dense distribution sums to one over the kept candidates.
  std::vector<double> p;
  Sampling nucleus;
  nucleus.temp = 1.0;
  nucleus.topP = 0.5;
  distribution(l.data(), 4, nucleus, p);
  EXPECT_NEAR(p[1], 1.0, 1e-12); // softmax(3) is 0.64 >= 0.5: only the best is kept
}

TEST(Sampling, LogSoftmax) {
  std::vector<float> l = {1.0f, 2.0f, 3.0f};
  logSoftmax(l.data(), 3);
  double sum = 0;
  for (float x : l) sum += std::exp(x);
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_NEAR(l[2] - l[1], 1.0, 1e-6);
}
