//===- SearchTest.cpp - lithec --search's budget, cost-model fit and frontier -===//

#include "Search.h"

#include <gtest/gtest.h>

using namespace lithe;

TEST(Search, BudgetIsAPercentRise) {
  EXPECT_DOUBLE_EQ(*parseBudget("+2%"), 0.02);
  EXPECT_DOUBLE_EQ(*parseBudget("2%"), 0.02);
  EXPECT_DOUBLE_EQ(*parseBudget("+0.5 %"), 0.005);
  EXPECT_DOUBLE_EQ(*parseBudget("0%"), 0.0);
  for (const char *bad : {"abc", "2", "-1%", "%", "+%", "2%%", "nan%", "inf%", ""})
    EXPECT_FALSE(parseBudget(bad).has_value()) << bad;
}

TEST(Search, NonNegativeLeastSquares) {
  // Consistent equations: the exact coefficients come back.
  std::vector<std::vector<double>> A = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
  std::vector<double> x = search::nnls(A, {2, 3, 0.5, 5.5});
  EXPECT_NEAR(x[0], 2, 1e-9);
  EXPECT_NEAR(x[1], 3, 1e-9);
  EXPECT_NEAR(x[2], 0.5, 1e-9);
  // A negative least-squares coefficient is held at zero, the others refit.
  std::vector<std::vector<double>> B = {{1, 1}, {2, 1}, {3, 1}};
  x = search::nnls(B, {3, 2, 1}); // y = -x + 4 unconstrained
  EXPECT_EQ(x[0], 0);
  EXPECT_NEAR(x[1], 2, 1e-9);
}

TEST(Search, ParetoFrontByIncreasingScore) {
  // score (higher is better) and perplexity (lower is better)
  std::vector<double> score = {1, 3, 2, 3, 4, 0.5};
  std::vector<double> ppl = {10, 12, 11, 13, 20, 9};
  // 3 loses to 1 (same score, higher perplexity); the others each win somewhere.
  EXPECT_EQ(search::paretoFront(score, ppl), (std::vector<size_t>{5, 0, 2, 1, 4}));
}
