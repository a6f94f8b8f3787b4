//===- tokenizer.cpp - fuzz the GPT-2 tokenizer on arbitrary text ---------===//
//
// Input: prompt bytes. Encodes them with lithe-tiny's GPT-2 tokenizer (what a
// compiled binary does with -p/-f text); valid UTF-8 must round-trip through
// decode exactly, invalid UTF-8 must be an error naming the byte offset.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/tokenizer.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#ifndef LITHE_FUZZ_TOKENIZER_DIR
#error "LITHE_FUZZ_TOKENIZER_DIR must name a tokenizer directory"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lithe::rt::Tokenizer *tok = [] {
    std::string error;
    auto t = lithe::rt::Tokenizer::load(LITHE_FUZZ_TOKENIZER_DIR, error);
    if (!t) std::abort();
    return t.release();
  }();
  std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<int32_t> ids;
  std::string error;
  if (!tok->encode(text, ids, error)) {
    if (error.empty() || !ids.empty()) __builtin_trap();
    return 0;
  }
  for (int32_t id : ids)
    if (id < 0 || id >= tok->vocabSize()) __builtin_trap();
  if (tok->decode(ids) != text) __builtin_trap(); // lossless on valid UTF-8
  std::string streamed;
  for (int32_t id : ids) streamed += tok->decodeToken(id);
  if (streamed != text) __builtin_trap();
  return 0;
}
