// A minimal stand-in for GoogleTest, for a GPU machine that has nvcc but no
// gtest: enough of TEST, GTEST_SKIP, ASSERT_EQ / NE / NEAR / TRUE, EXPECT_EQ / TRUE
// (with `<<` messages; EXPECT_* stop the test here, unlike GoogleTest),
// SCOPED_TRACE and a main() to build test/unit/CudaKernelsTest.cpp unchanged.
// Used by scripts/gpu-check.sh only when no prebuilt GoogleTest binary runs.
// Include it from one translation unit only (it defines main).
#ifndef LITHE_GTEST_SHIM_H
#define LITHE_GTEST_SHIM_H

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace shim {
struct Failure {};
struct Skip {};
struct Msg {
  std::ostringstream s;
  template <class T> Msg &operator<<(const T &v) { s << v; return *this; }
};
struct Test { const char *suite, *name; void (*fn)(); };
inline std::vector<std::string> &traces() { static std::vector<std::string> t; return t; }
struct Trace {
  explicit Trace(const Msg &m) { traces().push_back(m.s.str()); }
  ~Trace() { traces().pop_back(); }
};
inline std::vector<Test> &registry() { static std::vector<Test> r; return r; }
struct Reg { Reg(const char *s, const char *n, void (*f)()) { registry().push_back({s, n, f}); } };
struct FailThrower {
  const char *file; int line; std::string what;
  void operator=(const Msg &m) const {
    printf("%s:%d: Failure\n  %s\n  %s\n", file, line, what.c_str(), m.s.str().c_str());
    for (const std::string &t : traces()) printf("  trace: %s\n", t.c_str());
    throw Failure{};
  }
};
struct SkipThrower {
  void operator=(const Msg &m) const { printf("  skipped: %s\n", m.s.str().c_str()); throw Skip{}; }
};
template <class A, class B> std::string show(const char *ea, const A &a, const char *eb, const B &b) {
  std::ostringstream s;
  s.precision(9);
  s << ea << " = " << a << ", " << eb << " = " << b;
  return s.str();
}
} // namespace shim
namespace testing {
using Message = shim::Msg;
}

#define TEST(S, N)                                                  \
  static void S##_##N##_body();                                     \
  static shim::Reg S##_##N##_reg(#S, #N, S##_##N##_body);           \
  static void S##_##N##_body()
#define GTEST_SKIP() return shim::SkipThrower{} = shim::Msg()
#define ASSERT_EQ(a, b)                                             \
  if ((a) == (b)) {                                                 \
  } else                                                            \
    shim::FailThrower{__FILE__, __LINE__, shim::show(#a, (a), #b, (b))} = shim::Msg()
#define ASSERT_NE(a, b)                                             \
  if ((a) != (b)) {                                                 \
  } else                                                            \
    shim::FailThrower{__FILE__, __LINE__, shim::show(#a, (a), #b, (b))} = shim::Msg()
#define EXPECT_EQ(a, b) ASSERT_EQ(a, b)
#define ASSERT_TRUE(c) EXPECT_TRUE(c)
#define EXPECT_TRUE(c)                                              \
  if (c) {                                                          \
  } else                                                            \
    shim::FailThrower{__FILE__, __LINE__, #c " is false"} = shim::Msg()
#define LITHE_SHIM_CAT2(a, b) a##b
#define LITHE_SHIM_CAT(a, b) LITHE_SHIM_CAT2(a, b)
#define SCOPED_TRACE(m) shim::Trace LITHE_SHIM_CAT(shim_trace_, __LINE__)(m)
#define ASSERT_NEAR(a, b, tol)                                      \
  if (std::fabs((double)(a) - (double)(b)) <= (double)(tol)) {      \
  } else                                                            \
    shim::FailThrower{__FILE__, __LINE__, shim::show(#a, (a), #b, (b)) + ", tolerance " #tol} = shim::Msg()

int main(int argc, char **argv) {
  const char *json = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--gtest_list_tests")) {
      for (auto &t : shim::registry()) printf("%s.%s\n", t.suite, t.name);
      return 0;
    }
    if (!strncmp(argv[i], "--gtest_output=json:", 20)) json = argv[i] + 20;
  }
  int passed = 0, failed = 0, skipped = 0;
  std::string rows;
  printf("[==========] Running %zu tests (GoogleTest stand-in)\n", shim::registry().size());
  for (auto &t : shim::registry()) {
    printf("[ RUN      ] %s.%s\n", t.suite, t.name);
    const char *status = "OK";
    try { t.fn(); ++passed; }
    catch (shim::Failure &) { status = "FAILED"; ++failed; }
    catch (shim::Skip &) { status = "SKIPPED"; ++skipped; }
    printf("[ %8s ] %s.%s\n", status, t.suite, t.name);
    rows += std::string(rows.empty() ? "" : ",\n") + "  {\"name\": \"" + t.suite + "." + t.name +
            "\", \"result\": \"" + status + "\"}";
  }
  printf("[  PASSED  ] %d tests.\n", passed);
  if (skipped) printf("[  SKIPPED ] %d tests\n", skipped);
  if (failed) printf("[  FAILED  ] %d tests\n", failed);
  if (json) {
    if (FILE *f = fopen(json, "w")) {
      fprintf(f, "{\"runner\": \"gtest_shim\", \"passed\": %d, \"failed\": %d, \"skipped\": %d, \"tests\": [\n%s\n]}\n",
              passed, failed, skipped, rows.c_str());
      fclose(f);
    }
  }
  return failed ? 1 : 0;
}

#endif // LITHE_GTEST_SHIM_H
