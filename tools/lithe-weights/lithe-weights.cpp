//===- lithe-weights.cpp - inspect and create Lithe weights files ---------===//
//
//   lithe-weights list FILE          one line per tensor: name dtype shape bytes
//   lithe-weights verify FILE        recompute and check the checksum
//   lithe-weights create [--allow-non-finite] OUT SPEC... write a file of synthetic tensors, where
//                                    SPEC is NAME:DTYPE:DIMS[:FILL], DIMS like
//                                    4x8 and FILL a number (default 0) or
//                                    "iota" (0, 1, 2, ...)
//
// Errors are one line on stderr and a non-zero exit status.
//
//===----------------------------------------------------------------------===//

#include "lithe/Weights.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <cerrno>
#include <unistd.h>
#include <string>
#include <vector>

using namespace lithe;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: lithe-weights list FILE | verify FILE | create [--allow-non-finite] OUT "
               "NAME:DTYPE:DIMS[:FILL]...\n");
  return 2;
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end || v < 0)
    return false;
  out = v;
  return true;
}

/// Physical memory, the bound on what `create` can build in memory.
uint64_t availableMemory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                               : UINT64_MAX;
}

template <typename T> void fill(std::vector<uint8_t> &bytes, int64_t n,
                                bool iota, double value) {
  bytes.resize(n * sizeof(T));
  T *p = reinterpret_cast<T *>(bytes.data());
  for (int64_t i = 0; i < n; ++i)
    p[i] = static_cast<T>(iota ? static_cast<double>(i) : value);
}

int create(int argc, char **argv) {
  if (argc < 4)
    return usage();
  WeightsWriter writer;
  std::string error;
  for (int a = 3; a < argc; ++a) {
    std::string spec = argv[a];
    std::vector<std::string> f = split(spec, ':');
    DType dtype;
    if (f.size() < 3 || f.size() > 4 || f[0].empty()) {
      std::fprintf(stderr, "lithe-weights: bad tensor spec '%s' (want NAME:DTYPE:DIMS[:FILL])\n",
                   spec.c_str());
      return 1;
    }
    if (!parseDType(f[1], dtype) || dtype == DType::F16 || dtype == DType::BF16) {
      std::fprintf(stderr, "lithe-weights: tensor spec '%s': dtype must be f32, i8, i32 or i64\n",
                   spec.c_str());
      return 1;
    }
    std::vector<int64_t> shape;
    int64_t n = 1;
    if (!f[2].empty())
      for (const std::string &d : split(f[2], 'x')) {
        int64_t v;
        if (!parseInt(d, v) || v > (int64_t(1) << 31)) {
          std::fprintf(stderr, "lithe-weights: tensor spec '%s': bad dimension '%s'\n",
                       spec.c_str(), d.c_str());
          return 1;
        }
        // The element count readers accept (2^48), checked before it can wrap.
        if (v > 0 && n > (int64_t(1) << 48) / v) {
          std::fprintf(stderr, "lithe-weights: tensor spec '%s': more than 2^48 elements\n",
                       spec.c_str());
          return 1;
        }
        shape.push_back(v);
        n *= v;
      }
    bool iota = f.size() == 4 && f[3] == "iota";
    double value = 0;
    if (f.size() == 4 && !iota) {
      char *end = nullptr;
      value = std::strtod(f[3].c_str(), &end);
      if (*end || f[3].empty()) {
        std::fprintf(stderr, "lithe-weights: tensor spec '%s': bad fill '%s'\n",
                     spec.c_str(), f[3].c_str());
        return 1;
      }
    }
    // The tensor is built in memory: refuse what cannot be allocated with
    // one line rather than std::bad_alloc.
    uint64_t need = static_cast<uint64_t>(n) * dtypeSize(dtype);
    if (need > availableMemory()) {
      std::fprintf(stderr,
                   "lithe-weights: tensor spec '%s': %" PRIu64
                   " bytes is more than this machine's memory (%" PRIu64 " bytes)\n",
                   spec.c_str(), need, availableMemory());
      return 1;
    }
    std::vector<uint8_t> bytes;
    try {
      switch (dtype) {
      case DType::F32: fill<float>(bytes, n, iota, value); break;
      case DType::I8: fill<int8_t>(bytes, n, iota, value); break;
      case DType::I32: fill<int32_t>(bytes, n, iota, value); break;
      default: fill<int64_t>(bytes, n, iota, value); break;
      }
    } catch (const std::bad_alloc &) {
      std::fprintf(stderr, "lithe-weights: tensor spec '%s': cannot allocate %" PRIu64 " bytes\n",
                   spec.c_str(), need);
      return 1;
    }
    if (!writer.add(f[0], dtype, shape, bytes.data(), bytes.size(), error)) {
      std::fprintf(stderr, "lithe-weights: %s\n", error.c_str());
      return 1;
    }
  }
  if (!writer.write(argv[2], error)) {
    std::fprintf(stderr, "lithe-weights: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // create --allow-non-finite: write NaN/Inf fills (test files of bad weights).
  if (argc > 2 && std::strcmp(argv[1], "create") == 0 && std::strcmp(argv[2], "--allow-non-finite") == 0) {
    setAllowNonFinite(true);
    for (int i = 2; i + 1 < argc; ++i) argv[i] = argv[i + 1];
    --argc;
  }
  if (argc < 3)
    return usage();
  std::string cmd = argv[1];
  if (cmd == "create")
    return create(argc, argv);
  if (cmd != "list" && cmd != "verify")
    return usage();
  std::string error;
  std::unique_ptr<WeightsFile> file = WeightsFile::open(argv[2], error);
  if (!file) {
    std::fprintf(stderr, "lithe-weights: %s\n", error.c_str());
    return 1;
  }
  if (cmd == "verify") {
    if (!file->verifyChecksum(error)) {
      std::fprintf(stderr, "lithe-weights: %s\n", error.c_str());
      return 1;
    }
    std::printf("%s: ok, %zu tensors, checksum %016" PRIx64 "\n", argv[2],
                file->entries().size(), file->checksum());
    return 0;
  }
  uint64_t total = 0;
  for (const TensorEntry &e : file->entries()) {
    std::string shape;
    for (size_t i = 0; i < e.shape.size(); ++i)
      shape += (i ? "x" : "") + std::to_string(e.shape[i]);
    std::printf("%s %s %s %" PRIu64 "\n", e.name.c_str(), dtypeName(e.dtype),
                shape.empty() ? "scalar" : shape.c_str(), e.nbytes);
    total += e.nbytes;
  }
  std::printf("# %zu tensors, %" PRIu64 " bytes, checksum %016" PRIx64 "\n",
              file->entries().size(), total, file->checksum());
  return 0;
}
