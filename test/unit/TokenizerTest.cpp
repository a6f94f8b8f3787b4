//===- TokenizerTest.cpp - the GPT-2 byte-level BPE tokenizer -------------===//
//
// Reference encodings were recorded from Hugging Face GPT2TokenizerFast by
// Inputs/tokenizer/gen_cases.py (cases.txt, corpus.txt). Paths come from the
// compiler command line:
//   LITHE_TOKENIZER_DIR  GPT-2 files (vocab.json+merges.txt or encoder.json+vocab.bpe)
//   LITHE_TEST_INPUTS    test/unit/Inputs
//   LITHE_DATA_DIR       the data files named in corpus.txt (tests skip if absent)
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef LITHE_TOKENIZER_DIR
#define LITHE_TOKENIZER_DIR "/work/shared/data/gpt2-tokenizer"
#endif
#ifndef LITHE_TEST_INPUTS
#define LITHE_TEST_INPUTS "/work/main/test/unit/Inputs"
#endif
#ifndef LITHE_DATA_DIR
#define LITHE_DATA_DIR "/work/shared/data"
#endif

using lithe::rt::Tokenizer;

// Sanitizer builds (-DLITHE_SANITIZE=ON) keep the correctness checks and
// drop the speed bounds.
#if defined(__SANITIZE_ADDRESS__)
#define LITHE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LITHE_SANITIZED 1
#endif
#endif
#ifndef LITHE_SANITIZED
#define LITHE_SANITIZED 0
#endif

namespace {

const std::string kTokDir = LITHE_TOKENIZER_DIR;
const std::string kInputs = std::string(LITHE_TEST_INPUTS) + "/tokenizer/";
const std::string kDataDir = LITHE_DATA_DIR;

bool readAll(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

std::string tempPath(const std::string &tag) {
  return std::string(::testing::TempDir()) + "lithe-tok-" + std::to_string(::getpid()) + "-" + tag;
}

/// FNV-1a 64 over each id as 4 little-endian bytes (as gen_cases.py).
std::string fnv1a64(const std::vector<int32_t> &ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t id : ids) {
    uint32_t u = uint32_t(id);
    for (int k = 0; k < 4; ++k) {
      h ^= (u >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

std::vector<std::string> splitTabs(const std::string &line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == '\t') out.emplace_back();
    else out.back() += c;
  }
  return out;
}

std::vector<int32_t> parseIds(const std::string &s) {
  std::vector<int32_t> ids;
  std::istringstream in(s);
  int32_t v;
  while (in >> v) ids.push_back(v);
  return ids;
}

std::string unhex(const std::string &hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

struct RefCase {
  std::string name, text;
  std::vector<int32_t> ids;
};

void PrintTo(const RefCase &c, std::ostream *os) { *os << c.name; }

std::vector<RefCase> loadCases() {
  std::vector<RefCase> cases;
  std::ifstream in(kInputs + "cases.txt", std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = splitTabs(line);
    if (f.size() != 3) continue;
    cases.push_back({f[0], unhex(f[1]), parseIds(f[2])});
  }
  return cases;
}

const std::vector<RefCase> &refCases() {
  static const std::vector<RefCase> cases = loadCases();
  return cases;
}

/// The GPT-2 tokenizer, loaded once.
const Tokenizer *gpt2() {
  static std::string error;
  static std::unique_ptr<Tokenizer> tok = Tokenizer::load(kTokDir, error);
  EXPECT_TRUE(tok) << error;
  return tok.get();
}

std::vector<int32_t> enc(const Tokenizer &tok, std::string_view text) {
  std::vector<int32_t> ids;
  std::string error;
  EXPECT_TRUE(tok.encode(text, ids, error)) << error;
  return ids;
}

/// Files of the tokenizer in `kTokDir`, whichever layout it uses.
void gpt2Files(std::string &vocab, std::string &merges) {
  if (exists(kTokDir + "/vocab.json")) {
    vocab = kTokDir + "/vocab.json";
    merges = kTokDir + "/merges.txt";
  } else {
    vocab = kTokDir + "/encoder.json";
    merges = kTokDir + "/vocab.bpe";
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST(Tokenizer, LoadsGpt2) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->vocabSize(), 50257);
  EXPECT_EQ(tok->eosId(), 50256);
  EXPECT_EQ(tok->decodeToken(50256), "<|endoftext|>");
  EXPECT_EQ(tok->decodeToken(220), " ");
  EXPECT_EQ(tok->decodeToken(198), "\n");
  EXPECT_EQ(tok->decodeToken(262), " the");
}

TEST(Tokenizer, LoadsBothDirectoryLayouts) {
  std::string vocabPath, mergesPath, vocab, merges;
  gpt2Files(vocabPath, mergesPath);
  ASSERT_TRUE(readAll(vocabPath, vocab) && readAll(mergesPath, merges));
  const char *layouts[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
  for (int l = 0; l < 2; ++l) {
    std::string dir = tempPath("layout" + std::to_string(l));
    ASSERT_EQ(::system(("mkdir -p '" + dir + "'").c_str()), 0);
    writeAll(dir + "/" + layouts[l][0], vocab);
    writeAll(dir + "/" + layouts[l][1], merges);
    std::string error;
    auto tok = Tokenizer::load(dir + (l ? "/" : ""), error); // with and without a slash
    ASSERT_TRUE(tok) << error;
    EXPECT_EQ(tok->vocabSize(), 50257);
    EXPECT_EQ(enc(*tok, "Hello world"), (std::vector<int32_t>{15496, 995}));
    std::remove((dir + "/" + layouts[l][0]).c_str());
    std::remove((dir + "/" + layouts[l][1]).c_str());
    ::rmdir(dir.c_str());
  }
}

TEST(Tokenizer, LoadsExplicitFiles) {
  std::string vocabPath, mergesPath, error;
  gpt2Files(vocabPath, mergesPath);
  auto tok = Tokenizer::loadFiles(vocabPath, mergesPath, error);
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(enc(*tok, " the"), (std::vector<int32_t>{262}));
}

//===----------------------------------------------------------------------===//
// Reference encodings from HF GPT2TokenizerFast
//===----------------------------------------------------------------------===//

TEST(Tokenizer, ReferenceCasesPresent) {
  EXPECT_GE(refCases().size(), 40u) << "missing or short " << kInputs << "cases.txt";
}

class TokenizerReference : public ::testing::TestWithParam<RefCase> {};

TEST_P(TokenizerReference, MatchesHuggingFace) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  const RefCase &c = GetParam();
  std::vector<int32_t> ids = enc(*tok, c.text);
  EXPECT_EQ(ids, c.ids);
  EXPECT_EQ(tok->decode(ids), c.text);
  std::string streamed;
  for (int32_t id : ids) streamed += tok->decodeToken(id);
  EXPECT_EQ(streamed, c.text);
}

INSTANTIATE_TEST_SUITE_P(Hf, TokenizerReference, ::testing::ValuesIn(refCases()),
                         [](const ::testing::TestParamInfo<RefCase> &info) { return info.param.name; });

namespace {

struct CorpusRef {
  std::string file;
  size_t prefix = 0;
  size_t count = 0;
  std::string hash;
};

bool findCorpusRef(const std::string &file, bool wantPrefix, CorpusRef &out) {
  std::ifstream in(kInputs + "corpus.txt", std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = splitTabs(line);
    if (f.size() != 4 || f[0] != file) continue;
    size_t prefix = std::stoul(f[1]);
    if ((prefix != 0) != wantPrefix) continue;
    out = CorpusRef{f[0], prefix, std::stoul(f[2]), f[3]};
    return true;
  }
  return false;
}

/// Encodes (a prefix of) a data file and checks count and hash against HF.
void checkCorpus(const std::string &file, bool prefix, double *ms = nullptr) {
  CorpusRef ref;
  ASSERT_TRUE(findCorpusRef(file, prefix, ref)) << "no entry for " << file << " in corpus.txt";
  std::string text;
  if (!readAll(kDataDir + "/" + file, text)) GTEST_SKIP() << "no " << kDataDir << "/" << file;
  if (ref.prefix) {
    ASSERT_GE(text.size(), ref.prefix);
    text.resize(ref.prefix);
  }
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  std::vector<int32_t> ids;
  std::string error;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(tok->encode(text, ids, error)) << error;
  auto t1 = std::chrono::steady_clock::now();
  if (ms) *ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  EXPECT_EQ(ids.size(), ref.count);
  EXPECT_EQ(fnv1a64(ids), ref.hash);
  EXPECT_TRUE(tok->decode(ids) == text) << "decode(encode(text)) != text";
}

} // namespace

TEST(TokenizerCorpus, WikiText2TestFirst200KB) { checkCorpus("wikitext-2-raw-test.txt", true); }

TEST(TokenizerCorpus, WikiText2TestWholeFileAndSpeed) {
  // Fresh tokenizer: the timing includes filling the word cache.
  double ms = 0;
  checkCorpus("wikitext-2-raw-test.txt", false, &ms);
  if (ms > 0) std::printf("[ info ] encoded wikitext-2-raw-test (1.3 MB) in %.1f ms\n", ms);
#if defined(__OPTIMIZE__) && !LITHE_SANITIZED
  EXPECT_LT(ms, 1000.0); // a speed bound: not in sanitizer builds (2-3x slower)
#endif
}

TEST(TokenizerCorpus, GrimmTalesWholeFile) { checkCorpus("grimm-tales.txt", false); }

//===----------------------------------------------------------------------===//
// Behaviour
//===----------------------------------------------------------------------===//

TEST(Tokenizer, EndOfTextIsSpecialAnywhere) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  EXPECT_EQ(enc(*tok, "<|endoftext|>"), (std::vector<int32_t>{50256}));
  EXPECT_EQ(enc(*tok, "a<|endoftext|>b"), (std::vector<int32_t>{64, 50256, 65}));
  // No stripping of the surrounding spaces.
  EXPECT_EQ(enc(*tok, "a <|endoftext|> b"), (std::vector<int32_t>{64, 220, 50256, 275}));
  // A partial marker is ordinary text.
  std::vector<int32_t> partial = enc(*tok, "<|endoftext|");
  EXPECT_EQ(std::count(partial.begin(), partial.end(), 50256), 0);
  EXPECT_EQ(tok->decode({64, 50256, 65}), "a<|endoftext|>b");
}

TEST(Tokenizer, EncodeOverwritesIds) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  std::vector<int32_t> ids = {1, 2, 3};
  std::string error;
  ASSERT_TRUE(tok->encode("", ids, error));
  EXPECT_TRUE(ids.empty());
  ASSERT_TRUE(tok->encode("Hello", ids, error));
  EXPECT_EQ(ids, (std::vector<int32_t>{15496}));
}

TEST(Tokenizer, DecodeTokenGivesRawBytes) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  std::string emoji = "\xF0\x9F\x98\x80"; // U+1F600, split over several tokens
  std::vector<int32_t> ids = enc(*tok, emoji);
  ASSERT_GT(ids.size(), 1u);
  std::string joined;
  for (int32_t id : ids) {
    std::string piece = tok->decodeToken(id);
    EXPECT_LT(piece.size(), emoji.size());
    joined += piece;
  }
  EXPECT_EQ(joined, emoji);
  EXPECT_EQ(tok->decodeToken(-1), "");
  EXPECT_EQ(tok->decodeToken(50257), "");
  EXPECT_EQ(tok->decode({15496, -5, 99999, 995}), "Hello world");
}

TEST(Tokenizer, PathologicalRunsAreFast) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  std::vector<std::string> texts = {std::string(200000, ' ') + "x", std::string(200000, 'a'),
                                    std::string(100000, '\n'), std::string(100000, '7')};
  std::string mixed;
  for (int i = 0; i < 50000; ++i) mixed += "\xC3\xA9"; // e-acute
  texts.push_back(mixed);
  auto t0 = std::chrono::steady_clock::now();
  for (const std::string &t : texts) EXPECT_TRUE(tok->decode(enc(*tok, t)) == t);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 10000.0);
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  std::vector<std::string> texts;
  for (const RefCase &c : refCases()) texts.push_back(c.text);
  ASSERT_FALSE(texts.empty());
  std::vector<std::vector<int32_t>> expect;
  for (const std::string &t : texts) expect.push_back(enc(*tok, t));
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<int32_t> ids;
      std::string error;
      for (int rep = 0; rep < 20; ++rep)
        for (size_t i = 0; i < texts.size(); ++i) {
          size_t k = (i + size_t(t) * 7) % texts.size();
          if (!tok->encode(texts[k], ids, error) || ids != expect[k]) ++failures[size_t(t)];
        }
    });
  for (auto &th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(TokenizerErrors, InvalidUtf8NamesByteOffset) {
  const Tokenizer *tok = gpt2();
  ASSERT_TRUE(tok);
  struct Bad {
    std::string text;
    size_t offset;
  } bad[] = {
      {"abc\xFF", 3},               // never valid
      {"\x80", 0},                  // stray continuation byte
      {"ok \xC3", 3},               // truncated at the end
      {"ab\xE2\x82x", 2},           // missing continuation byte
      {"\xC0\xAF", 0},              // overlong '/'
      {"\xE0\x80\xAF", 0},          // overlong (3 bytes)
      {"xy\xED\xA0\x80z", 2},       // UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0},      // above U+10FFFF
      {"\xF5\x80\x80\x80", 0},      // invalid lead byte
      {"fine \xE2\x82\xAC then \xFE", 14},
  };
  for (const Bad &b : bad) {
    std::vector<int32_t> ids = {7};
    std::string error;
    EXPECT_FALSE(tok->encode(b.text, ids, error));
    EXPECT_TRUE(ids.empty());
    EXPECT_NE(error.find("invalid UTF-8"), std::string::npos) << error;
    EXPECT_NE(error.find("byte offset " + std::to_string(b.offset) + " "), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(TokenizerErrors, MissingFilesNameThePath) {
  std::string error;
  EXPECT_FALSE(Tokenizer::load("/nonexistent/lithe-tok-dir", error));
  EXPECT_NE(error.find("/nonexistent/lithe-tok-dir"), std::string::npos) << error;

  error.clear();
  EXPECT_FALSE(Tokenizer::loadFiles("/nonexistent/vocab.json", "/nonexistent/merges.txt", error));
  EXPECT_NE(error.find("/nonexistent/vocab.json"), std::string::npos) << error;

  std::string vocabPath, mergesPath;
  gpt2Files(vocabPath, mergesPath);
  error.clear();
  EXPECT_FALSE(Tokenizer::loadFiles(vocabPath, "/nonexistent/merges.txt", error));
  EXPECT_NE(error.find("/nonexistent/merges.txt"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;

  // A directory with only half of a layout.
  std::string dir = tempPath("half");
  ASSERT_EQ(::system(("mkdir -p '" + dir + "'").c_str()), 0);
  writeAll(dir + "/vocab.json", "{}");
  error.clear();
  EXPECT_FALSE(Tokenizer::load(dir, error));
  EXPECT_NE(error.find(dir), std::string::npos) << error;
  std::remove((dir + "/vocab.json").c_str());
  ::rmdir(dir.c_str());
}

namespace {

/// GPT-2's byte -> unicode map, as in encoder.py.
std::vector<uint32_t> byteToUnicode() {
  std::vector<uint32_t> map(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    map[size_t(b)] = direct ? uint32_t(b) : uint32_t(256 + n++);
  }
  return map;
}

/// A JSON string literal for a code point, \u-escaped unless plain ASCII.
std::string jsonChar(uint32_t cp) {
  if (cp == '"') return "\\\"";
  if (cp == '\\') return "\\\\";
  if (cp >= 0x20 && cp < 0x7F) return std::string(1, char(cp));
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04X", cp);
  return buf;
}

/// A small byte-level vocabulary written with escapes: the 256 byte tokens,
/// then " t"(256) "he"(257) " the"(258), then tokens exercising every escape.
std::string tinyVocab(const std::string &extra = "") {
  std::vector<uint32_t> map = byteToUnicode();
  std::string json = "{\n";
  for (int b = 0; b < 256; ++b)
    json += "  \"" + jsonChar(map[size_t(b)]) + "\": " + std::to_string(b) + ",\n";
  json += "  \"\\u0120t\": 256, \"he\": 257, \"\\u0120the\"  :  258,\n"
          "  \"\\\"q\\\"\": 259, \"\\\\\\\\\": 260, \"\\/x\": 261, \"\\b\\f\\n\\r\\t\": 262,\n"
          "  \"\\ud83d\\uDE00\": 263, \"<|endoftext|>\": 264" +
          extra + "\n}\n";
  return json;
}

const char kTinyMerges[] = "#version: 0.2\n\xC4\xA0 t\nh e\r\n\n\xC4\xA0t he\n";

struct TinyFiles {
  std::string vocab, merges;
  TinyFiles(const std::string &tag, const std::string &vocabText, const std::string &mergesText) {
    vocab = tempPath(tag + "-vocab.json");
    merges = tempPath(tag + "-merges.txt");
    writeAll(vocab, vocabText);
    writeAll(merges, mergesText);
  }
  ~TinyFiles() {
    std::remove(vocab.c_str());
    std::remove(merges.c_str());
  }
};

} // namespace

TEST(TokenizerJson, EscapesAndTinyVocabulary) {
  TinyFiles files("tiny", tinyVocab(), kTinyMerges);
  std::string error;
  auto tok = Tokenizer::loadFiles(files.vocab, files.merges, error);
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->vocabSize(), 265);
  EXPECT_EQ(tok->eosId(), 264);
  EXPECT_EQ(tok->decodeToken('A'), "A"); // byte tokens have id == byte here
  EXPECT_EQ(tok->decodeToken(259), "\"q\"");
  EXPECT_EQ(tok->decodeToken(260), "\\\\");
  EXPECT_EQ(tok->decodeToken(261), "/x");
  EXPECT_EQ(tok->decodeToken(262), "\b\f\n\r\t");
  EXPECT_EQ(tok->decodeToken(263), "\xF0\x9F\x98\x80"); // surrogate pair -> U+1F600
  EXPECT_EQ(tok->decodeToken(264), "<|endoftext|>");
  // Byte tokens undo GPT-2's byte->unicode map.
  EXPECT_EQ(tok->decodeToken(' '), " ");
  EXPECT_EQ(tok->decodeToken(0), std::string(1, '\0'));
  EXPECT_EQ(tok->decodeToken(255), "\xFF");
  // BPE with the three merges (the CRLF and blank line in merges are fine).
  EXPECT_EQ(enc(*tok, " the"), (std::vector<int32_t>{258}));
  EXPECT_EQ(enc(*tok, "the"), (std::vector<int32_t>{'t', 257}));
  EXPECT_EQ(enc(*tok, " the<|endoftext|> t"), (std::vector<int32_t>{258, 264, 256}));
}

TEST(TokenizerErrors, MalformedVocabulary) {
  const std::string good = tinyVocab();
  struct Bad {
    const char *what;
    std::string json;
  } bad[] = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"not an object", "[\"a\", 1]"},
      {"empty object", "{}"},
      {"bad escape", "{\"\\q\": 1}"},
      {"lone low surrogate", "{\"\\uDC00\": 1}"},
      {"unpaired high surrogate", "{\"\\uD83Dx\": 1}"},
      {"bad hex", "{\"\\u12G4\": 1}"},
      {"string value", "{\"a\": \"1\"}"},
      {"fractional id", "{\"a\": 1.5}"},
      {"negative id", "{\"a\": -1}"},
      {"huge id", "{\"a\": 99999999999}"},
      {"missing colon", "{\"a\" 1}"},
      {"trailing comma", "{\"a\": 1,}"},
      {"trailing garbage", "{\"a\": 1} x"},
      {"raw newline in string", "{\"a\nb\": 1}"},
      {"invalid UTF-8", "{\"\xFF\": 1}"},
      {"duplicate key", good.substr(0, good.rfind('}')) + ", \"he\": 300}"},
      {"duplicate key with control chars",
       good.substr(0, good.rfind('}')) + ", \"\\b\\f\\n\\r\\t\": 265}"},
      {"duplicate id", good.substr(0, good.rfind('}')) + ", \"zz\": 257}"},
      {"sparse ids", good.substr(0, good.rfind('}')) + ", \"zz\": 100000}"},
      {"missing byte tokens", "{\"a\": 0, \"b\": 1}"},
  };
  for (const Bad &b : bad) {
    TinyFiles files("bad", b.json, kTinyMerges);
    std::string error;
    EXPECT_FALSE(Tokenizer::loadFiles(files.vocab, files.merges, error)) << b.what;
    EXPECT_NE(error.find(files.vocab), std::string::npos) << b.what << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << b.what << ": " << error;
  }
}

TEST(TokenizerErrors, MalformedMerges) {
  struct Bad {
    const char *merges;
    const char *where;
  } bad[] = {
      {"#version: 0.2\nh e\nonlyone\n", ":3:"},
      {"h e\nh  e\n", ":2:"},
      {"h e x\n", ":1:"},
      {"#version: 0.2\nh e\nq \xE2\x82\xAC\n", ":3:"}, // token not in vocabulary
      {"h e\nh t\n", ":2:"},                            // "ht" not in vocabulary
  };
  for (const Bad &b : bad) {
    TinyFiles files("badmerges", tinyVocab(), b.merges);
    std::string error;
    EXPECT_FALSE(Tokenizer::loadFiles(files.vocab, files.merges, error)) << b.merges;
    EXPECT_NE(error.find(files.merges + b.where), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}
