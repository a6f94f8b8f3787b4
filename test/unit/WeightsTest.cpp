//===- WeightsTest.cpp - the weights file format --------------------------===//

#include "lithe/Weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

using namespace lithe;

namespace {

std::string tempPath(const char *tag) {
  return std::string(::testing::TempDir()) + "lithe-weights-" + tag + "-" +
         std::to_string(::getpid()) + ".lwt";
}

std::vector<char> readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeAll(const std::string &path, const std::vector<char> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Writes a file with a 3x5 f32 tensor, an i8 vector and an i64 scalar.
std::string writeSample(const char *tag) {
  std::string path = tempPath(tag);
  WeightsWriter w;
  std::string error;
  std::vector<float> a(15);
  for (int i = 0; i < 15; ++i)
    a[i] = 0.5f * i;
  std::vector<int8_t> b = {-3, 7, 127};
  int64_t c = 42;
  EXPECT_TRUE(w.add("a", DType::F32, {3, 5}, a.data(), a.size() * 4, error)) << error;
  EXPECT_TRUE(w.add("layer.0.b", DType::I8, {3}, b.data(), b.size(), error)) << error;
  EXPECT_TRUE(w.add("c", DType::I64, {}, &c, sizeof(c), error)) << error;
  EXPECT_TRUE(w.write(path, error)) << error;
  return path;
}

TEST(Weights, RoundTrip) {
  std::string path = writeSample("roundtrip");
  std::string error;
  auto f = WeightsFile::open(path, error);
  ASSERT_TRUE(f) << error;
  ASSERT_EQ(f->entries().size(), 3u);

  const TensorEntry *a = f->find("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(a->nbytes, 60u);
  const float *ad = static_cast<const float *>(f->data(*a));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ad) % 64, 0u) << "tensors are 64-byte aligned";
  for (int i = 0; i < 15; ++i)
    EXPECT_FLOAT_EQ(ad[i], 0.5f * i);

  const TensorEntry *b = f->find("layer.0.b");
  ASSERT_TRUE(b);
  const int8_t *bd = static_cast<const int8_t *>(f->data(*b));
  EXPECT_EQ(bd[0], -3);
  EXPECT_EQ(bd[2], 127);

  const TensorEntry *c = f->find("c");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->shape.empty());
  EXPECT_EQ(c->numElements(), 1);
  EXPECT_EQ(*static_cast<const int64_t *>(f->data(*c)), 42);

  EXPECT_EQ(f->find("missing"), nullptr);
  EXPECT_TRUE(f->verifyChecksum(error)) << error;
  std::remove(path.c_str());
}

TEST(Weights, ChecksumDependsOnContent) {
  std::string p1 = writeSample("sum1");
  std::string error;
  // Same names and shapes, one different value.
  std::string p2 = tempPath("sum2");
  WeightsWriter w;
  std::vector<float> a(15, 0.0f);
  std::vector<int8_t> b = {-3, 7, 127};
  int64_t c = 42;
  ASSERT_TRUE(w.add("a", DType::F32, {3, 5}, a.data(), 60, error));
  ASSERT_TRUE(w.add("layer.0.b", DType::I8, {3}, b.data(), 3, error));
  ASSERT_TRUE(w.add("c", DType::I64, {}, &c, 8, error));
  ASSERT_TRUE(w.write(p2, error));
  auto f1 = WeightsFile::open(p1, error), f2 = WeightsFile::open(p2, error);
  ASSERT_TRUE(f1 && f2);
  EXPECT_NE(f1->checksum(), f2->checksum());
  std::remove(p1.c_str());
  std::remove(p2.c_str());
}

TEST(Weights, CorruptDataFailsChecksum) {
  std::string path = writeSample("corrupt");
  std::vector<char> bytes = readAll(path);
  // Flip a bit of the stored 3.5f (element 7 of tensor "a").
  float needle = 3.5f;
  auto it = std::search(bytes.begin(), bytes.end(),
                        reinterpret_cast<const char *>(&needle),
                        reinterpret_cast<const char *>(&needle) + 4);
  ASSERT_NE(it, bytes.end());
  *it ^= 0x01;
  writeAll(path, bytes);
  std::string error;
  auto f = WeightsFile::open(path, error);
  ASSERT_TRUE(f) << error; // structure is intact...
  EXPECT_FALSE(f->verifyChecksum(error)); // ...but the content is not
  EXPECT_NE(error.find("checksum mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos) << "error names the file";
  std::remove(path.c_str());
}

TEST(Weights, RejectsNonWeightsFile) {
  std::string path = tempPath("garbage");
  writeAll(path, std::vector<char>(200, 'x'));
  std::string error;
  EXPECT_FALSE(WeightsFile::open(path, error));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line";
  std::remove(path.c_str());
}

TEST(Weights, RejectsTruncatedFile) {
  std::string path = writeSample("truncated");
  std::vector<char> bytes = readAll(path);
  bytes.resize(bytes.size() / 2);
  writeAll(path, bytes);
  std::string error;
  EXPECT_FALSE(WeightsFile::open(path, error));
  EXPECT_NE(error.find("out of bounds"), std::string::npos) << error;

  bytes.resize(10);
  writeAll(path, bytes);
  EXPECT_FALSE(WeightsFile::open(path, error));
  EXPECT_NE(error.find("too short"), std::string::npos) << error;
  std::remove(path.c_str());
}

TEST(Weights, MissingFileNamesThePath) {
  std::string error;
  EXPECT_FALSE(WeightsFile::open("/nonexistent/dir/model.lwt", error));
  EXPECT_NE(error.find("/nonexistent/dir/model.lwt"), std::string::npos) << error;
}

TEST(Weights, WriterRejectsBadTensors) {
  WeightsWriter w;
  std::string error;
  float x[4] = {};
  EXPECT_FALSE(w.add("x", DType::F32, {2, 3}, x, sizeof(x), error));
  EXPECT_NE(error.find("needs 24"), std::string::npos) << error;
  EXPECT_TRUE(w.add("x", DType::F32, {4}, x, sizeof(x), error));
  EXPECT_FALSE(w.add("x", DType::F32, {4}, x, sizeof(x), error));
  EXPECT_NE(error.find("twice"), std::string::npos) << error;
  EXPECT_FALSE(w.add("", DType::F32, {4}, x, sizeof(x), error));
}

TEST(Weights, FailedWriteLeavesNothing) {
  WeightsWriter w;
  std::string error;
  float x = 1;
  ASSERT_TRUE(w.add("x", DType::F32, {1}, &x, 4, error));
  EXPECT_FALSE(w.write("/nonexistent/dir/out.lwt", error));
  EXPECT_NE(error.find("/nonexistent/dir/out.lwt"), std::string::npos) << error;
}

TEST(Weights, DTypeNames) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::I32, DType::I64}) {
    DType back;
    ASSERT_TRUE(parseDType(dtypeName(t), back));
    EXPECT_EQ(back, t);
  }
  DType t;
  EXPECT_FALSE(parseDType("f64", t));
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
}

// Issue 11: a header whose tensor count the index cannot hold is rejected
// before anything is reserved (it was std::bad_alloc).
TEST(Weights, RejectsAbsurdTensorCount) {
  std::string path = writeSample("count");
  std::vector<char> bytes = readAll(path);
  std::memset(bytes.data() + 12, 0xFF, 4);
  writeAll(path, bytes);
  std::string error;
  EXPECT_FALSE(WeightsFile::open(path, error));
  EXPECT_NE(error.find("corrupt header: 4294967295 tensors"), std::string::npos) << error;
  std::remove(path.c_str());
}

// Sizes whose element count wraps or passes the readers' 2^48 limit.
TEST(Weights, WriterRejectsWrappingShapes) {
  WeightsWriter w;
  std::string error;
  float x = 0;
  EXPECT_FALSE(w.add("w", DType::F32, {int64_t(1) << 31, int64_t(1) << 31}, &x, 0, error));
  EXPECT_NE(error.find("more than 2^48 elements"), std::string::npos) << error;
}

// NaN and Inf are refused by name unless allowed.
TEST(Weights, WriterRejectsNonFinite) {
  std::string error;
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    WeightsWriter w;
    float v[3] = {1, bad, 2};
    EXPECT_FALSE(w.add("t", DType::F32, {3}, v, sizeof v, error));
    EXPECT_NE(error.find("tensor 't' has a non-finite value (NaN or Inf) at element 1"), std::string::npos) << error;
  }
  uint16_t half[2] = {0x3C00, 0x7C00}; // 1.0, +Inf in f16
  WeightsWriter w;
  EXPECT_FALSE(w.add("h", DType::F16, {2}, half, sizeof half, error));
  int32_t ints[2] = {0x7F800000, -1}; // an Inf bit pattern is fine as an integer
  EXPECT_TRUE(w.add("i", DType::I32, {2}, ints, sizeof ints, error)) << error;
  setAllowNonFinite(true);
  float v[1] = {std::nanf("")};
  EXPECT_TRUE(w.add("allowed", DType::F32, {1}, v, sizeof v, error)) << error;
  setAllowNonFinite(false);
  EXPECT_EQ(firstNonFinite(DType::F32, v, sizeof v), 0);
}

} // namespace
