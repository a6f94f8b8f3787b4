//===- openai.h - the JSON of OpenAI's completions API ------------*- C++ -*-===//
//
// What the server's requests, batch mode's lines and the command line's
// --json share: reading a request's sampling fields (OpenAI's, and
// llama.cpp's top_k, repeat_penalty, repeat_last_n, ignore_eos) and writing
// a choice's "logprobs" object.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_OPENAI_H
#define LITHE_RUNTIME_OPENAI_H

#include "lithe/runtime/batcher.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lithe::rt {

/// Reads max_tokens, temperature, top_p, top_k, seed, stop, n, logprobs,
/// presence_penalty, frequency_penalty, logit_bias, repeat_penalty,
/// repeat_last_n and ignore_eos from `j` on top of `r` (fields absent or
/// null keep r's values); false with `why` naming the field when one is
/// invalid. The prompt is the caller's.
bool readRequest(const nlohmann::json &j, const Tokenizer &tok, GenRequest &r, std::string &why);

/// OpenAI's legacy completions "logprobs" object of a choice: tokens,
/// token_logprobs, top_logprobs and text_offset (counted from `offset`).
nlohmann::json logprobsJson(const Tokenizer &tok, const std::vector<TokenLogprob> &lps, size_t offset = 0);

/// `j` as one line of JSON; bytes that are not UTF-8 (a character cut off
/// by the token limit) become U+FFFD.
std::string dumpJson(const nlohmann::json &j);

} // namespace lithe::rt

#endif // LITHE_RUNTIME_OPENAI_H
