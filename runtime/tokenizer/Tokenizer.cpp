//===- Tokenizer.cpp - GPT-2 byte-level BPE tokenizer ---------------------===//
//
// See lithe/runtime/tokenizer.h for the semantics. Layout of this file:
//   UTF-8 helpers, Unicode classes (tables generated into UnicodeTables.inc),
//   the minimal JSON reader for vocab.json, GPT-2's byte<->unicode map,
//   loading (vocab, merges), the pre-tokenizer, BPE with a word cache, decode.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>

namespace lithe::rt {

namespace {

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

/// Checks strict UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
/// Returns true if valid; otherwise sets `offset` to the start of the first
/// bad sequence (as Python's decoder reports it) and `why` to a short reason.
bool validateUtf8(std::string_view s, size_t &offset, const char *&why) {
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    const char *secondWhy = "invalid continuation byte";
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0, secondWhy = "overlong encoding";
      else if (c == 0xED) hi = 0x9F, secondWhy = "surrogate code point";
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90, secondWhy = "overlong encoding";
      else if (c == 0xF4) hi = 0x8F, secondWhy = "code point above U+10FFFF";
    } else {
      offset = i;
      why = c <= 0xBF ? "unexpected continuation byte"
            : c <= 0xC1 ? "overlong encoding" : "invalid lead byte";
      return false;
    }
    offset = i;
    if (i + 1 >= n) {
      why = "truncated sequence at end of input";
      return false;
    }
    if (p[i + 1] < lo || p[i + 1] > hi) {
      why = (p[i + 1] & 0xC0) != 0x80 ? "invalid continuation byte" : secondWhy;
      return false;
    }
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n) {
        why = "truncated sequence at end of input";
        return false;
      }
      if ((p[i + k] & 0xC0) != 0x80) {
        why = "invalid continuation byte";
        return false;
      }
    }
    i += len;
  }
  return true;
}

/// Decodes the code point at `i` of already-validated UTF-8; returns its length.
inline size_t decodeAt(const unsigned char *p, size_t i, uint32_t &cp) {
  unsigned char c = p[i];
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if (c < 0xE0) {
    cp = (uint32_t(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
    return 2;
  }
  if (c < 0xF0) {
    cp = (uint32_t(c & 0x0F) << 12) | (uint32_t(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
    return 3;
  }
  cp = (uint32_t(c & 0x07) << 18) | (uint32_t(p[i + 1] & 0x3F) << 12) |
       (uint32_t(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
  return 4;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

//===----------------------------------------------------------------------===//
// Unicode classes for the pre-tokenizer
//===----------------------------------------------------------------------===//

enum CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

struct UnicodeRange {
  uint32_t first, last;
  uint8_t cls;
};

#include "UnicodeTables.inc"

constexpr size_t kNumUnicodeRanges = sizeof(kUnicodeRanges) / sizeof(kUnicodeRanges[0]);

/// Unicode White_Space (what \s matches in GPT-2's regex and in HF tokenizers).
constexpr bool isUnicodeSpace(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

struct AsciiClasses {
  uint8_t cls[128] = {};
  constexpr AsciiClasses() {
    for (int c = 0; c < 128; ++c) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) cls[c] = kLetter;
      else if (c >= '0' && c <= '9') cls[c] = kNumber;
      else if (isUnicodeSpace(uint32_t(c))) cls[c] = kSpace;
      else cls[c] = kOther;
    }
  }
};
constexpr AsciiClasses kAscii{}; // constant-initialized: safe before main()

inline uint8_t classOf(uint32_t cp) {
  if (cp < 128) return kAscii.cls[cp];
  if (isUnicodeSpace(cp)) return kSpace;
  // Last range whose first <= cp.
  const UnicodeRange *end = kUnicodeRanges + kNumUnicodeRanges;
  const UnicodeRange *it = std::upper_bound(
      kUnicodeRanges, end, cp, [](uint32_t v, const UnicodeRange &r) { return v < r.first; });
  if (it == kUnicodeRanges) return kOther;
  --it;
  return cp <= it->last ? it->cls : uint8_t(kOther);
}

//===----------------------------------------------------------------------===//
// Files and the minimal JSON reader
//===----------------------------------------------------------------------===//

/// `s` for an error message: control bytes become \xNN so it stays one line.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) {
    unsigned char c = (unsigned char)ch;
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

bool readFile(const std::string &path, const char *what, std::string &out, std::string &error) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
  bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) {
    error = std::string("error reading ") + what + " '" + path + "'";
    return false;
  }
  return true;
}

bool fileExists(const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return true;
}

/// Reads a JSON object whose values are all non-negative integers (the shape
/// of vocab.json / encoder.json). Strings may use every JSON escape, including
/// \uXXXX surrogate pairs.
class JsonVocabReader {
public:
  JsonVocabReader(std::string_view text, const std::string &path) : s_(text), path_(path) {}

  /// Calls `add(key, id)` per member; `add` returns an empty string or an error.
  template <typename Add>
  bool read(Add &&add, std::string &error) {
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3; // BOM
    skipSpace();
    if (!expect('{', "expected '{' (the vocabulary must be a JSON object)", error)) return false;
    skipSpace();
    if (peek() == '}') {
      ++pos_;
    } else {
      std::string key;
      for (;;) {
        skipSpace();
        size_t keyAt = pos_;
        if (!readString(key, error)) return false;
        skipSpace();
        if (!expect(':', "expected ':'", error)) return false;
        skipSpace();
        int64_t value = 0;
        if (!readId(value, error)) return false;
        std::string msg = add(key, int32_t(value));
        if (!msg.empty()) return fail(msg, keyAt, error);
        skipSpace();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (!expect('}', "expected ',' or '}'", error)) return false;
        break;
      }
    }
    skipSpace();
    if (pos_ != s_.size()) return fail("unexpected data after the JSON object", pos_, error);
    return true;
  }

private:
  int peek() const { return pos_ < s_.size() ? (unsigned char)s_[pos_] : -1; }

  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool fail(const std::string &msg, size_t at, std::string &error) const {
    error = path_ + ": malformed vocabulary JSON at byte " + std::to_string(at) + ": " + msg;
    return false;
  }

  bool expect(char c, const char *msg, std::string &error) {
    if (peek() != (unsigned char)c) {
      if (pos_ >= s_.size()) return fail(std::string(msg) + ", found end of file", pos_, error);
      return fail(msg, pos_, error);
    }
    ++pos_;
    return true;
  }

  bool readHex4(size_t at, uint32_t &v, std::string &error) {
    if (at + 4 > s_.size()) return fail("truncated \\u escape", at, error);
    v = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = s_[at + k];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else return fail("bad hex digit in \\u escape", at + k, error);
    }
    return true;
  }

  bool readString(std::string &out, std::string &error) {
    if (!expect('"', "expected a string", error)) return false;
    out.clear();
    for (;;) {
      if (pos_ >= s_.size()) return fail("unterminated string", pos_, error);
      unsigned char c = (unsigned char)s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in string", pos_, error);
      if (c != '\\') {
        // Copy a run of plain bytes (UTF-8 was validated for the whole file).
        size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\\' &&
               (unsigned char)s_[pos_] >= 0x20)
          ++pos_;
        out.append(s_.data() + start, pos_ - start);
        continue;
      }
      size_t escAt = pos_;
      if (pos_ + 1 >= s_.size()) return fail("unterminated string", pos_, error);
      char e = s_[pos_ + 1];
      pos_ += 2;
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t u = 0;
        if (!readHex4(pos_, u, error)) return false;
        pos_ += 4;
        if (u >= 0xDC00 && u <= 0xDFFF) return fail("lone low surrogate in \\u escape", escAt, error);
        if (u >= 0xD800 && u <= 0xDBFF) {
          uint32_t lo = 0;
          if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
            return fail("high surrogate not followed by a low surrogate", escAt, error);
          if (!readHex4(pos_ + 2, lo, error)) return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("high surrogate not followed by a low surrogate", escAt, error);
          pos_ += 6;
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, u);
        break;
      }
      default:
        return fail(std::string("invalid escape '\\") + e + "'", escAt, error);
      }
    }
  }

  bool readId(int64_t &v, std::string &error) {
    size_t start = pos_;
    if (peek() == '-') return fail("negative token id", start, error);
    if (peek() < '0' || peek() > '9') return fail("expected an integer token id", start, error);
    v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + (s_[pos_] - '0');
      if (v > kMaxId) return fail("token id too large", start, error);
      ++pos_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E')
      return fail("token id is not an integer", start, error);
    if (pos_ - start > 1 && s_[start] == '0') return fail("leading zero in token id", start, error);
    return true;
  }

public:
  static constexpr int64_t kMaxId = (int64_t(1) << 30); // sanity cap (no overflow)

private:
  std::string_view s_;
  const std::string &path_;
  size_t pos_ = 0;
};

//===----------------------------------------------------------------------===//
// GPT-2's byte <-> unicode map
//===----------------------------------------------------------------------===//

struct ByteMap {
  uint32_t byteToCp[256] = {};
  int16_t cpToByte[324] = {}; // the mapped code points are all < 0x144; -1 = none
  constexpr ByteMap() {
    bool direct[256] = {};
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) byteToCp[b] = direct[b] ? uint32_t(b) : uint32_t(256 + n++);
    for (int16_t &v : cpToByte) v = -1;
    for (int b = 0; b < 256; ++b) cpToByte[byteToCp[b]] = int16_t(b);
  }
};
constexpr ByteMap kByteMap{}; // constant-initialized: safe before main()

//===----------------------------------------------------------------------===//
// Pair -> (rank, merged id): open addressing over 64-bit keys
//===----------------------------------------------------------------------===//

class MergeTable {
public:
  struct Value {
    int32_t rank;
    int32_t id;
  };

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, Value{0, 0});
    mask_ = cap - 1;
    size_ = 0;
  }

  /// Inserts or overwrites (a later duplicate merge line wins, as in GPT-2's
  /// dict(zip(merges, range(...))) and HF tokenizers).
  void put(int32_t a, int32_t b, Value v) {
    if ((size_ + 1) * 2 > keys_.size()) grow();
    uint64_t k = key(a, b);
    size_t i = slot(k);
    while (keys_[i] != kEmpty && keys_[i] != k) i = (i + 1) & mask_;
    if (keys_[i] == kEmpty) ++size_;
    keys_[i] = k;
    vals_[i] = v;
  }

  const Value *find(int32_t a, int32_t b) const {
    uint64_t k = key(a, b);
    size_t i = slot(k);
    for (;;) {
      if (keys_[i] == k) return &vals_[i];
      if (keys_[i] == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

private:
  static constexpr uint64_t kEmpty = ~uint64_t(0); // ids are < 2^31: never a real key
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  size_t slot(uint64_t k) const { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }

  void grow() {
    std::vector<uint64_t> oldK = std::move(keys_);
    std::vector<Value> oldV = std::move(vals_);
    reserve(oldK.size());
    for (size_t i = 0; i < oldK.size(); ++i)
      if (oldK[i] != kEmpty) put(int32_t(oldK[i] >> 32), int32_t(oldK[i] & 0xFFFFFFFFu), oldV[i]);
  }

  std::vector<uint64_t> keys_ = std::vector<uint64_t>(16, kEmpty);
  std::vector<Value> vals_ = std::vector<Value>(16);
  size_t mask_ = 15;
  size_t size_ = 0;
};

const char kEndOfText[] = "<|endoftext|>";

} // namespace

//===----------------------------------------------------------------------===//
// Tokenizer::Impl
//===----------------------------------------------------------------------===//

struct Tokenizer::Impl {
  std::vector<std::string> idBytes; // id -> raw bytes
  int32_t byteId[256];
  MergeTable merges;
  int32_t eos = -1;

  // Word cache: pre-token bytes -> ids. Keys live in `cacheArena`; values are
  // slices of `cachePool`. Bounded: once full, new words are not cached.
  static constexpr size_t kMaxCacheEntries = 1 << 17;
  static constexpr size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cacheMutex;
  mutable std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  mutable std::vector<std::unique_ptr<char[]>> cacheArena;
  mutable size_t arenaUsed = 0, arenaCap = 0;
  mutable std::vector<int32_t> cachePool;

  // Scratch for bpe(); used only under cacheMutex.
  struct Sym {
    int32_t id, prev, next;
  };
  struct Cand {
    int32_t rank, pos, left, right, merged;
  };
  mutable std::vector<Sym> syms;
  mutable std::vector<Cand> heap, pending;

  void bpe(std::string_view word, std::vector<int32_t> &out) const;
  void encodeWord(std::string_view word, std::vector<int32_t> &out) const;
  void encodeOrdinary(std::string_view text, std::vector<int32_t> &out) const;
};

/// BPE of one pre-token exactly as GPT-2's encoder.py: repeatedly take the
/// lowest-ranked adjacent pair and merge all its non-overlapping occurrences
/// left to right; pairs created by that pass are considered only after it.
/// Done with a min-heap of (rank, position) candidates validated lazily.
void Tokenizer::Impl::bpe(std::string_view word, std::vector<int32_t> &out) const {
  const size_t n = word.size();
  syms.resize(n);
  for (size_t i = 0; i < n; ++i)
    syms[i] = Sym{byteId[(unsigned char)word[i]], int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1};

  auto later = [](const Cand &a, const Cand &b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  heap.clear();
  pending.clear();
  auto candidate = [&](int32_t pos, std::vector<Cand> &into) {
    int32_t nx = syms[pos].next;
    if (nx < 0) return;
    if (const MergeTable::Value *v = merges.find(syms[pos].id, syms[nx].id))
      into.push_back(Cand{v->rank, pos, syms[pos].id, syms[nx].id, v->id});
  };
  for (size_t i = 0; i + 1 < n; ++i) candidate(int32_t(i), heap);
  std::make_heap(heap.begin(), heap.end(), later);

  int32_t curRank = -1;
  for (;;) {
    if (heap.empty() || heap.front().rank != curRank) {
      // The pass for curRank is over: the pairs it created join now.
      for (const Cand &c : pending) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end(), later);
      }
      pending.clear();
      if (heap.empty()) break;
    }
    std::pop_heap(heap.begin(), heap.end(), later);
    Cand c = heap.back();
    heap.pop_back();
    curRank = c.rank;
    Sym &s = syms[c.pos];
    if (s.id != c.left || s.next < 0 || syms[s.next].id != c.right) continue; // stale
    Sym &r = syms[s.next];
    s.id = c.merged;
    s.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.pos;
    r.id = -1;
    if (s.prev >= 0) candidate(s.prev, pending);
    candidate(c.pos, pending);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void Tokenizer::Impl::encodeWord(std::string_view word, std::vector<int32_t> &out) const {
  if (word.size() == 1) {
    out.push_back(byteId[(unsigned char)word[0]]);
    return;
  }
  auto it = cache.find(word);
  if (it != cache.end()) {
    out.insert(out.end(), cachePool.begin() + it->second.first,
               cachePool.begin() + it->second.first + it->second.second);
    return;
  }
  size_t before = out.size();
  bpe(word, out);
  if (word.size() > kMaxCachedWordBytes || cache.size() >= kMaxCacheEntries) return;
  if (arenaUsed + word.size() > arenaCap) {
    arenaCap = 1 << 16;
    cacheArena.emplace_back(new char[arenaCap]);
    arenaUsed = 0;
  }
  char *key = cacheArena.back().get() + arenaUsed;
  std::memcpy(key, word.data(), word.size());
  arenaUsed += word.size();
  uint32_t off = uint32_t(cachePool.size()), len = uint32_t(out.size() - before);
  cachePool.insert(cachePool.end(), out.begin() + before, out.end());
  cache.emplace(std::string_view(key, word.size()), std::make_pair(off, len));
}

/// GPT-2's pre-tokenizer, by hand:
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// `text` is valid UTF-8.
void Tokenizer::Impl::encodeOrdinary(std::string_view text, std::vector<int32_t> &out) const {
  const auto *p = reinterpret_cast<const unsigned char *>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    size_t end = 0;
    // 's 't 're 've 'm 'll 'd
    if (p[i] == '\'' && i + 1 < n) {
      unsigned char a = p[i + 1];
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        end = i + 2;
      } else if (i + 2 < n) {
        unsigned char b = p[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
          end = i + 3;
      }
    }
    if (end == 0) {
      uint32_t cp;
      size_t len = decodeAt(p, i, cp);
      uint8_t cls = classOf(cp);
      size_t j = i + len;
      if (cp == ' ' && j < n) {
        // " ?X+" with the optional space: X is the class of the next char.
        uint32_t cp2;
        size_t len2 = decodeAt(p, j, cp2);
        uint8_t cls2 = classOf(cp2);
        if (cls2 != kSpace) {
          cls = cls2;
          j += len2;
        }
      }
      if (cls != kSpace) {
        // \p{L}+, \p{N}+ or [^\s\p{L}\p{N}]+ (after an optional space).
        while (j < n) {
          uint32_t c;
          size_t l = decodeAt(p, j, c);
          if (classOf(c) != cls) break;
          j += l;
        }
        end = j;
      } else {
        // A whitespace run. \s+(?!\S) takes all of it at the end of the text,
        // or all but its last char when a non-space follows and it has two or
        // more; otherwise \s+ takes the single char.
        size_t last = i, count = 1;
        while (j < n) {
          uint32_t c;
          size_t l = decodeAt(p, j, c);
          if (classOf(c) != kSpace) break;
          last = j;
          j += l;
          ++count;
        }
        end = (j == n || count == 1) ? j : last;
      }
    }
    encodeWord(text.substr(start, end - start), out);
    i = end;
  }
}

//===----------------------------------------------------------------------===//
// Tokenizer
//===----------------------------------------------------------------------===//

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string &dir, std::string &error) {
  std::string base = dir;
  if (!base.empty() && base.back() != '/') base += '/';
  const char *layouts[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
  for (auto &l : layouts)
    if (fileExists(base + l[0]) && fileExists(base + l[1])) return loadFiles(base + l[0], base + l[1], error);
  error = "no GPT-2 tokenizer in directory '" + dir +
          "': expected vocab.json + merges.txt or encoder.json + vocab.bpe";
  return nullptr;
}

std::unique_ptr<Tokenizer> Tokenizer::loadFiles(const std::string &vocabJson,
                                                const std::string &mergesPath,
                                                std::string &error) {
  try {
    auto impl = std::make_unique<Impl>();

    // --- vocabulary
    std::string text;
    if (!readFile(vocabJson, "vocabulary file", text, error)) return nullptr;
    size_t badAt;
    const char *why;
    if (!validateUtf8(text, badAt, why)) {
      error = vocabJson + ": invalid UTF-8 at byte " + std::to_string(badAt) + ": " + why;
      return nullptr;
    }
    std::unordered_map<std::string, int32_t> tokenToId;
    tokenToId.reserve(65536);
    JsonVocabReader reader(text, vocabJson);
    bool ok = reader.read(
        [&](const std::string &key, int32_t id) -> std::string {
          if (!tokenToId.emplace(key, id).second) return "duplicate token \"" + printable(key) + "\"";
          return {};
        },
        error);
    if (!ok) return nullptr;
    if (tokenToId.empty()) {
      error = vocabJson + ": the vocabulary is empty";
      return nullptr;
    }
    int32_t maxId = 0;
    for (const auto &kv : tokenToId) maxId = std::max(maxId, kv.second);
    if (size_t(maxId) >= 2 * tokenToId.size() + 256) {
      error = vocabJson + ": token ids are too sparse (" + std::to_string(tokenToId.size()) +
              " tokens, largest id " + std::to_string(maxId) + ")";
      return nullptr;
    }
    impl->idBytes.resize(size_t(maxId) + 1);
    std::vector<bool> idPresent(size_t(maxId) + 1, false);
    for (const auto &kv : tokenToId) {
      const std::string &key = kv.first;
      size_t id = size_t(kv.second);
      if (idPresent[id]) {
        error = vocabJson + ": duplicate token id " + std::to_string(id);
        return nullptr;
      }
      idPresent[id] = true;
      // Raw bytes: undo the byte->unicode map; other chars (in added tokens)
      // keep their UTF-8.
      std::string &bytes = impl->idBytes[id];
      const auto *kp = reinterpret_cast<const unsigned char *>(key.data());
      for (size_t k = 0; k < key.size();) {
        uint32_t cp;
        size_t l = decodeAt(kp, k, cp);
        if (cp < 324 && kByteMap.cpToByte[cp] >= 0) bytes += char(kByteMap.cpToByte[cp]);
        else bytes.append(key, k, l);
        k += l;
      }
    }
    for (int b = 0; b < 256; ++b) {
      std::string tok;
      appendUtf8(tok, kByteMap.byteToCp[b]);
      auto it = tokenToId.find(tok);
      if (it == tokenToId.end()) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", b);
        error = vocabJson + ": not a byte-level BPE vocabulary: no token for byte " + hex +
                " (\"" + tok + "\")";
        return nullptr;
      }
      impl->byteId[b] = it->second;
    }
    auto eos = tokenToId.find(kEndOfText);
    if (eos != tokenToId.end()) impl->eos = eos->second;

    // --- merges
    if (!readFile(mergesPath, "merges file", text, error)) return nullptr;
    impl->merges.reserve(65536);
    int32_t rank = 0;
    size_t lineNo = 0;
    std::string joined;
    for (size_t pos = 0; pos < text.size();) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      std::string_view line(text.data() + pos, eol - pos);
      pos = eol + 1;
      ++lineNo;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (lineNo == 1 && line.substr(0, 8) == "#version") continue;
      if (line.empty()) continue;
      auto where = [&] { return mergesPath + ":" + std::to_string(lineNo) + ": "; };
      size_t sp = line.find(' ');
      if (sp == 0 || sp == std::string_view::npos || sp + 1 == line.size() ||
          line.find(' ', sp + 1) != std::string_view::npos) {
        error = where() + "expected two tokens separated by one space";
        return nullptr;
      }
      std::string a(line.substr(0, sp)), b(line.substr(sp + 1));
      auto ia = tokenToId.find(a), ib = tokenToId.find(b);
      joined = a + b;
      auto ij = tokenToId.find(joined);
      if (ia == tokenToId.end() || ib == tokenToId.end() || ij == tokenToId.end()) {
        const std::string &missing = ia == tokenToId.end() ? a : ib == tokenToId.end() ? b : joined;
        error = where() + "token \"" + printable(missing) + "\" is not in the vocabulary";
        return nullptr;
      }
      impl->merges.put(ia->second, ib->second, MergeTable::Value{rank++, ij->second});
    }
    return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
  } catch (const std::bad_alloc &) {
    error = "out of memory loading tokenizer '" + vocabJson + "'";
  } catch (const std::exception &e) {
    error = "error loading tokenizer '" + vocabJson + "': " + e.what();
  }
  return nullptr;
}

bool Tokenizer::encode(std::string_view text, std::vector<int32_t> &ids, std::string &error) const {
  ids.clear();
  size_t badAt;
  const char *why;
  if (!validateUtf8(text, badAt, why)) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "invalid UTF-8 in input at byte offset %zu (byte 0x%02X): %s",
                  badAt, (unsigned)(unsigned char)text[badAt], why);
    error = buf;
    return false;
  }
  try {
    ids.reserve(text.size() / 3 + 8);
    std::lock_guard<std::mutex> lock(impl_->cacheMutex);
    std::string_view rest = text;
    if (impl_->eos >= 0) {
      const std::string_view special(kEndOfText);
      size_t at;
      while ((at = rest.find(special)) != std::string_view::npos) {
        impl_->encodeOrdinary(rest.substr(0, at), ids);
        ids.push_back(impl_->eos);
        rest.remove_prefix(at + special.size());
      }
    }
    impl_->encodeOrdinary(rest, ids);
    return true;
  } catch (const std::bad_alloc &) {
    ids.clear();
    error = "out of memory encoding " + std::to_string(text.size()) + " bytes";
    return false;
  }
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids) const {
  std::string out;
  for (int32_t id : ids)
    if (id >= 0 && size_t(id) < impl_->idBytes.size()) out += impl_->idBytes[size_t(id)];
  return out;
}

std::string Tokenizer::decodeToken(int32_t id) const {
  if (id < 0 || size_t(id) >= impl_->idBytes.size()) return {};
  return impl_->idBytes[size_t(id)];
}

int32_t Tokenizer::vocabSize() const { return int32_t(impl_->idBytes.size()); }

int32_t Tokenizer::eosId() const { return impl_->eos; }

bool readText(const std::string &path, std::string &text, std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = std::strerror(errno);
    return false;
  }
  std::string raw;
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) raw.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) {
    error = "read error";
    return false;
  }
  text.clear();
  text.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      text += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      text += raw[i];
    }
  }
  return true;
}

} // namespace lithe::rt
