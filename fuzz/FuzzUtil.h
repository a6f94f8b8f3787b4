//===- FuzzUtil.h - helpers shared by the libFuzzer targets ------*- C++ -*-===//
//
// The readers under test take paths, so each input is written to a file in a
// per-process scratch directory first (tmpfs is fine; the files are small).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_FUZZ_FUZZUTIL_H
#define LITHE_FUZZ_FUZZUTIL_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace lithe_fuzz {

/// A scratch directory for this process, created on first use.
inline const std::string &scratchDir() {
  static std::string dir = [] {
    const char *base = std::getenv("TMPDIR");
    std::string d = std::string(base && *base ? base : "/tmp") + "/lithe-fuzz-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  return dir;
}

/// Writes `size` bytes to scratchDir()/name and returns the path.
inline std::string writeScratch(const std::string &name, const uint8_t *data, size_t size) {
  std::string path = scratchDir() + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

} // namespace lithe_fuzz

#endif // LITHE_FUZZ_FUZZUTIL_H
