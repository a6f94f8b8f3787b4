//===- weights-file.cpp - fuzz the .lwt weights-file reader ---------------===//
//
// Input: the bytes of a weights file. Opens it as the compiler and the
// compiled binary do, walks every entry's data and recomputes the checksum.
// Every malformed file must be one error, never a crash or an allocation of
// what the header claims.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "lithe/Weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = lithe_fuzz::writeScratch("w.lwt", data, size);
  std::string error;
  std::unique_ptr<lithe::WeightsFile> f = lithe::WeightsFile::open(path, error);
  if (!f) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  volatile uint64_t sum = 0;
  for (const lithe::TensorEntry &e : f->entries()) {
    if (f->find(e.name) != &e) __builtin_trap();
    const auto *p = static_cast<const uint8_t *>(f->data(e));
    if (e.nbytes) sum += p[0] + p[e.nbytes - 1]; // in bounds, or ASan says so
    sum += static_cast<uint64_t>(e.numElements());
    (void)lithe::firstNonFinite(e.dtype, p, e.nbytes);
  }
  (void)f->verifyChecksum(error);
  return 0;
}
