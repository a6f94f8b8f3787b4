//===- tokenizer.h - GPT-2 byte-level BPE tokenizer ----------------*- C++ -*-===//
//
// The tokenizer compiled Lithe binaries use to turn prompts into token ids and
// generated ids back into text. Plain C++17, no third-party libraries, no
// exceptions escape the API; errors are one-line strings naming the file (or
// the byte offset, for bad input text).
//
// Semantics are those of GPT-2 as implemented by Hugging Face's
// GPT2TokenizerFast / GPT2Tokenizer (tokenizers 0.23):
//
//  * "<|endoftext|>" (when the vocabulary has it) is a special token wherever
//    it appears in the text: the text is split on every occurrence, each piece
//    between them is encoded on its own and the occurrence becomes id 50256.
//    No whitespace around it is stripped (HF: lstrip=rstrip=false), so
//    "a <|endoftext|> b" encodes as [a, " ", <|endoftext|>, " b"].
//  * The pieces are pre-tokenized with GPT-2's pattern
//      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//    evaluated by hand over Unicode code points. \p{L} / \p{N} are the Unicode
//    16.0 general categories L* / N* (the version HF tokenizers' regex engine
//    uses); \s is the Unicode White_Space property (U+0009-000D, U+0020,
//    U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F,
//    U+3000; not U+001C-001F). Contractions are case-sensitive, as in GPT-2.
//  * Each pre-token's UTF-8 bytes are mapped through GPT-2's byte->unicode
//    table and merged by BPE (lowest merge rank first, all non-overlapping
//    occurrences left to right), exactly as GPT-2's encoder.py.
//
// Thread safety: a loaded Tokenizer may be used from several threads at once
// (the internal word cache is guarded by a mutex).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_TOKENIZER_H
#define LITHE_RUNTIME_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lithe::rt {

/// Reads a text file with universal newlines ("\r\n" and "\r" become "\n"),
/// as Python's open() does, so token counts and perplexities agree with the
/// standard Python evaluation of the same file. False with `error` (the
/// system's reason, e.g. "No such file or directory") when it cannot be read.
bool readText(const std::string &path, std::string &text, std::string &error);

class Tokenizer {
public:
  ~Tokenizer();
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;

  /// Loads from a directory holding vocab.json + merges.txt (Hugging Face
  /// names) or encoder.json + vocab.bpe (OpenAI names); the HF pair is tried
  /// first. Returns null and sets `error` on failure.
  static std::unique_ptr<Tokenizer> load(const std::string &dir, std::string &error);

  /// Loads from explicit files: a JSON object mapping token strings to ids,
  /// and a merges file ("A B" per line, lowest rank first; an optional first
  /// line starting with "#version" and blank lines are skipped). Returns null
  /// and sets `error` (naming the file, and the line or byte offset) on failure.
  static std::unique_ptr<Tokenizer> loadFiles(const std::string &vocabJson,
                                              const std::string &merges,
                                              std::string &error);

  /// Encodes UTF-8 text; `ids` is overwritten. Returns false (with `error`
  /// naming the byte offset, and `ids` left empty) on invalid UTF-8: bad lead
  /// or continuation bytes, truncated sequences, overlong forms, surrogates
  /// and code points above U+10FFFF are all rejected.
  bool encode(std::string_view text, std::vector<int32_t> &ids, std::string &error) const;

  /// Decodes ids to bytes. Decoding a whole encoded sequence gives the original
  /// text back; a single token may hold part of a UTF-8 character. Ids outside
  /// [0, vocabSize()) decode to nothing.
  std::string decode(const std::vector<int32_t> &ids) const;

  /// Raw bytes of one token (for streaming output); empty for an unknown id.
  std::string decodeToken(int32_t id) const;

  /// One more than the largest id in the vocabulary (50257 for GPT-2).
  int32_t vocabSize() const;

  /// Id of "<|endoftext|>" (50256 for GPT-2), or -1 if the vocabulary has none.
  int32_t eosId() const;

  struct Impl;

private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace lithe::rt

#endif // LITHE_RUNTIME_TOKENIZER_H
