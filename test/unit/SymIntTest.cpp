//===- SymIntTest.cpp - symbolic shape polynomials ------------------------===//

#include "SymInt.h"

#include <gtest/gtest.h>

using lithe::import::SymInt;

namespace {
const SymInt batch = SymInt::symbol(0), seq = SymInt::symbol(1), past = SymInt::symbol(2);
const std::vector<std::string> names = {"batch", "sequence", "past_sequence"};
} // namespace

TEST(SymInt, DividesByAMonomial) {
  auto q = (SymInt(6) * batch * seq).divExact(SymInt(3) * seq);
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, SymInt(2) * batch);
  EXPECT_FALSE((SymInt(5) * batch).divExact(SymInt(2)));
  EXPECT_FALSE(batch.divExact(seq));
}

// dynamo's Reshape([batch, 4, past + seq, 16] -> [-1, past + seq, 16]).
TEST(SymInt, DividesByAPolynomial) {
  SymInt total = batch * SymInt(4) * (past + seq) * SymInt(16);
  SymInt known = (past + seq) * SymInt(16);
  auto q = total.divExact(known);
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, SymInt(4) * batch);
  EXPECT_EQ(q->str(names), "4*batch");
  // (seq + 1)^2 / (seq + 1) and a non-divisor.
  SymInt s1 = seq + SymInt(1);
  auto q2 = (s1 * s1).divExact(s1);
  ASSERT_TRUE(q2);
  EXPECT_EQ(*q2, s1);
  EXPECT_FALSE((s1 * s1 + SymInt(1)).divExact(s1));
  EXPECT_FALSE((batch * seq).divExact(past + seq));
  EXPECT_FALSE(batch.divExact(SymInt(0)));
}
