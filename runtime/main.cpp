//===- main.cpp - the command line of a compiled Lithe model --------------===//
//
// Conventions of llama.cpp:
//   model -p "Once upon a time" -n 64            greedy, streamed
//   model -f prompt.txt --temp 0.8 --top-k 40 --top-p 0.95 --seed 1
//   model -p "..." --beams 4                      beam search
//   model --perplexity wiki.txt --ctx 256 --stride 128
//   model --bench [--json]                        prefill/decode speed, memory
// Errors: one line on stderr, exit status 1.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/kernels.h"
#include "lithe/runtime/model.h"
#include "lithe/runtime/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using namespace lithe::rt;

namespace {

struct Options {
  std::string prompt, promptFile, perplexityFile, weights, tokenizer;
  bool havePrompt = false;
  int64_t maxNew = 64;
  double temp = 0.0;
  int64_t topK = 0;
  double topP = 1.0;
  uint64_t seed = 0;
  int64_t beams = 0;
  int64_t ctx = 0, stride = 0;
  int threads = 0;
  bool bench = false, json = false, noVerify = false;
  int64_t benchPrompt = 128, benchTokens = 32, benchRuns = 3;
  // Numerics checks: run token ids directly and dump the logits.
  std::string ids, dumpLogits;
  int64_t pastSplit = 0;
};

#ifdef LITHE_CLI_FUZZ
} // namespace
/// fuzz/runtime-cli.cpp runs this file's main many times in one process:
/// leaving it throws this instead of ending the process.
struct LitheCliExit {
  int code;
};
namespace {
[[noreturn]] void exitWith(int code) { throw LitheCliExit{code}; }
#else
[[noreturn]] void exitWith(int code) { std::exit(code); }
#endif

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "error: %s\n", msg.c_str());
  exitWith(1);
}

std::string exePath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  return buf;
}

void usage(const char *argv0) {
  std::printf(
      "usage: %s [options]\n"
      "  -p, --prompt TEXT        prompt to continue\n"
      "  -f, --file FILE          read the prompt from FILE\n"
      "  -n, --max-new-tokens N   tokens to generate (default 64)\n"
      "      --temp T             sampling temperature (default 0: greedy)\n"
      "      --top-k K            keep the K most likely tokens (0: all)\n"
      "      --top-p P            nucleus sampling (default 1.0)\n"
      "      --seed S             random seed (default 0)\n"
      "      --beams N            beam search with N beams\n"
      "      --perplexity FILE    sliding-window perplexity of FILE\n"
      "      --ctx N              perplexity window (default: the model's context)\n"
      "      --stride N           perplexity stride (default: ctx / 2)\n"
      "      --bench              measure prefill/decode speed and memory\n"
      "      --bench-prompt N     prompt tokens for --bench (default 128)\n"
      "      --bench-tokens N     decoded tokens for --bench (default 32)\n"
      "      --json               machine-readable output (generation: text and finish_reason)\n"
      "      --no-verify          skip the weights file checksum at load\n"
      "  -t, --threads N          threads (default: all cores)\n"
      "  -m, --weights FILE       weights file (default: <binary>.lwt)\n"
      "      --tokenizer DIR      tokenizer directory (default: <binary dir>/tokenizer)\n"
      "      --ids A,B,C          (numerics checks) run these token ids, no tokenizer\n"
      "      --past N             with --ids: run the first N ids as one step first\n"
      "      --dump-logits FILE   with --ids: write the logits of the other ids\n"
      "                           (float32, [n, vocab], row-major)\n",
      argv0);
}

int64_t parseInt(const std::string &flag, const char *v, int64_t lo, int64_t hi) {
  char *end = nullptr;
  errno = 0;
  long long x = std::strtoll(v, &end, 10);
  if (errno || !*v || *end || x < lo || x > hi)
    die("invalid value '" + std::string(v) + "' for " + flag + " (expected an integer in [" +
        std::to_string(lo) + ", " + std::to_string(hi) + "])");
  return x;
}

double parseFloat(const std::string &flag, const char *v, double lo, double hi) {
  char *end = nullptr;
  double x = std::strtod(v, &end);
  if (!*v || *end || !(x >= lo && x <= hi))
    die("invalid value '" + std::string(v) + "' for " + flag + " (expected a number in [" +
        std::to_string(lo) + ", " + std::to_string(hi) + "])");
  return x;
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) die("flag " + a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") { usage(argv[0]); exitWith(0); }
    else if (a == "-p" || a == "--prompt") { o.prompt = value(); o.havePrompt = true; }
    else if (a == "-f" || a == "--file") { o.promptFile = value(); }
    else if (a == "-n" || a == "--max-new-tokens") o.maxNew = parseInt(a, value(), 0, 1 << 20);
    else if (a == "--temp") o.temp = parseFloat(a, value(), 0, 100);
    else if (a == "--top-k") o.topK = parseInt(a, value(), 0, INT_MAX);
    else if (a == "--top-p") o.topP = parseFloat(a, value(), 0, 1);
    else if (a == "--seed") o.seed = static_cast<uint64_t>(parseInt(a, value(), 0, LLONG_MAX));
    else if (a == "--beams") o.beams = parseInt(a, value(), 1, 64);
    else if (a == "--perplexity") o.perplexityFile = value();
    else if (a == "--ctx") o.ctx = parseInt(a, value(), 2, 1 << 20);
    else if (a == "--stride") o.stride = parseInt(a, value(), 1, 1 << 20);
    else if (a == "--bench") o.bench = true;
    else if (a == "--bench-prompt") o.benchPrompt = parseInt(a, value(), 1, 1 << 20);
    else if (a == "--bench-tokens") o.benchTokens = parseInt(a, value(), 1, 1 << 20);
    else if (a == "--bench-runs") o.benchRuns = parseInt(a, value(), 1, 1000);
    else if (a == "--json") o.json = true;
    else if (a == "--no-verify") o.noVerify = true;
    else if (a == "-t" || a == "--threads") o.threads = static_cast<int>(parseInt(a, value(), 0, 1024));
    else if (a == "-m" || a == "--weights") o.weights = value();
    else if (a == "--tokenizer") o.tokenizer = value();
    else if (a == "--ids") o.ids = value();
    else if (a == "--past") o.pastSplit = parseInt(a, value(), 0, 1 << 20);
    else if (a == "--dump-logits") o.dumpLogits = value();
    else die("unknown flag '" + a + "' (see --help)");
  }
  return o;
}

/// A text file as evaluations read it (universal newlines; see readText).
std::string readFile(const std::string &path) {
  std::string text, error;
  if (!readText(path, text, error)) die(path + ": cannot open: " + error);
  return text;
}

/// log-softmax of one row in place; returns nothing.
void logSoftmax(float *x, int64_t n) {
  float m = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i] - m));
  float lse = m + static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < n; ++i) x[i] -= lse;
}

int32_t sample(std::vector<float> &logits, const Options &o, std::mt19937_64 &rng) {
  int64_t n = static_cast<int64_t>(logits.size());
  if (o.temp <= 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  int64_t k = o.topK > 0 ? std::min(o.topK, n) : n;
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  idx.resize(k);
  double m = logits[idx[0]];
  std::vector<double> p(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits[idx[i]] - m) / o.temp);
  // Nucleus: the smallest prefix whose mass reaches top_p.
  double acc = 0;
  int64_t keep = k;
  for (int64_t i = 0; i < k; ++i) {
    acc += p[i] / sum;
    if (acc >= o.topP) { keep = i + 1; break; }
  }
  std::discrete_distribution<int64_t> dist(p.begin(), p.begin() + keep);
  return idx[dist(rng)];
}

/// Writes token bytes as they come; the terminal reassembles UTF-8.
void stream(const Tokenizer &tok, int32_t id) {
  std::string s = tok.decodeToken(id);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::vector<int32_t> encodeOrDie(const Tokenizer &tok, const std::string &text, const std::string &what) {
  std::vector<int32_t> ids;
  std::string error;
  if (!tok.encode(text, ids, error)) die(what + ": " + error);
  return ids;
}

/// `s` as a JSON string: control characters escaped, bytes that are not
/// UTF-8 (a continuation cut off by the token limit) as U+FFFD.
std::string jsonString(const std::string &s) {
  std::string r = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') r += '\\', r += static_cast<char>(c);
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        r += buf;
      } else r += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (c >= 0xF5) n = 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      r.append(s, i, n);
      i += n;
    } else {
      r += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return r + "\"";
}

/// --json output of a generation: finish_reason is "eos" (the model ended
/// the text), "length" (-n tokens generated) or "context" (the context is
/// full; generation stops there rather than sliding the window).
void printJson(const std::string &generated, int64_t tokens, const char *reason, int64_t context) {
  std::printf("{\"text\": %s, \"tokens\": %lld, \"finish_reason\": \"%s\", \"context\": %lld}\n",
              jsonString(generated).c_str(), static_cast<long long>(tokens), reason,
              static_cast<long long>(context));
}

int generate(Model &m, const Tokenizer &tok, const Options &o, const std::string &text) {
  std::vector<int32_t> prompt = encodeOrDie(tok, text, "prompt");
  if (prompt.empty()) die("the prompt is empty (give text with -p or -f)");
  int64_t cap = m.capacity();
  if (static_cast<int64_t>(prompt.size()) >= cap)
    die("the prompt has " + std::to_string(prompt.size()) + " tokens; the model's context is " +
        std::to_string(cap) + " (at most " + std::to_string(cap - 1) + " leave room to generate)");
  // Generation stops when the context is full (no sliding window: the
  // model was trained on windows of at most `cap` tokens and a slid window
  // would silently change what it conditions on). Said on stderr and in
  // --json's finish_reason.
  int64_t room = cap - static_cast<int64_t>(prompt.size());
  int64_t maxNew = std::min<int64_t>(o.maxNew, room);
  bool contextLimited = o.maxNew > room;
  auto contextFull = [&]() {
    std::fprintf(stderr, "stopped: the context of %lld tokens is full\n", static_cast<long long>(cap));
  };
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  std::vector<float> logits(m.vocab());

  if (o.beams > 0) {
    // Beam search: each beam has its own caches; reorder by copying.
    struct Beam { KVState s; std::vector<int32_t> out; double score = 0; bool done = false; };
    std::vector<Beam> beams;
    beams.push_back({m.newState(), {}, 0, false});
    m.forward(beams[0].s, ids.data(), static_cast<int64_t>(ids.size()));
    std::vector<std::vector<float>> lp(1, std::vector<float>(m.vocab()));
    m.logits(static_cast<int64_t>(ids.size()) - 1, 1, lp[0].data());
    logSoftmax(lp[0].data(), m.vocab());
    for (int64_t step = 0; step < maxNew; ++step) {
      struct Cand { size_t beam; int32_t tok; double score; };
      std::vector<Cand> cands;
      for (size_t b = 0; b < beams.size(); ++b) {
        if (beams[b].done) { cands.push_back({b, -1, beams[b].score}); continue; }
        std::vector<int32_t> idx(m.vocab());
        std::iota(idx.begin(), idx.end(), 0);
        size_t k = std::min<size_t>(static_cast<size_t>(o.beams), idx.size());
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                          [&](int32_t x, int32_t y) { return lp[b][x] > lp[b][y]; });
        for (size_t i = 0; i < k; ++i) cands.push_back({b, idx[i], beams[b].score + lp[b][idx[i]]});
      }
      std::sort(cands.begin(), cands.end(), [](const Cand &a, const Cand &b) { return a.score > b.score; });
      cands.resize(std::min<size_t>(cands.size(), static_cast<size_t>(o.beams)));
      std::vector<Beam> next;
      for (const Cand &c : cands) {
        Beam nb{m.newState(), beams[c.beam].out, c.score, beams[c.beam].done};
        nb.s.copyFrom(beams[c.beam].s, beams[c.beam].s.past);
        if (c.tok >= 0) {
          nb.out.push_back(c.tok);
          if (c.tok == tok.eosId()) nb.done = true;
        }
        next.push_back(std::move(nb));
      }
      beams = std::move(next);
      bool all = true;
      lp.assign(beams.size(), std::vector<float>(m.vocab()));
      for (size_t b = 0; b < beams.size(); ++b) {
        if (beams[b].done) continue;
        all = false;
        int64_t t = beams[b].out.back();
        m.forward(beams[b].s, &t, 1);
        m.logits(0, 1, lp[b].data());
        logSoftmax(lp[b].data(), m.vocab());
      }
      if (all) break;
    }
    const Beam &best = *std::max_element(beams.begin(), beams.end(), [](const Beam &a, const Beam &b) {
      return a.score / std::max<size_t>(1, a.out.size()) < b.score / std::max<size_t>(1, b.out.size());
    });
    const char *reason = best.done ? "eos" : contextLimited && static_cast<int64_t>(best.out.size()) >= maxNew
                                                 ? "context" : "length";
    if (std::strcmp(reason, "context") == 0) contextFull();
    if (o.json) {
      printJson(tok.decode(best.out), static_cast<int64_t>(best.out.size()), reason, cap);
      return 0;
    }
    std::string s = text + tok.decode(best.out);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::printf("\n");
    return 0;
  }

  std::mt19937_64 rng(o.seed);
  KVState st = m.newState();
  if (!o.json) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  m.forward(st, ids.data(), static_cast<int64_t>(ids.size()));
  m.logits(static_cast<int64_t>(ids.size()) - 1, 1, logits.data());
  std::vector<int32_t> out;
  const char *reason = "length";
  for (int64_t i = 0; i < maxNew; ++i) {
    int32_t next = sample(logits, o, rng);
    if (next == tok.eosId()) {
      reason = "eos";
      break;
    }
    out.push_back(next);
    if (!o.json) stream(tok, next);
    if (i + 1 == maxNew) {
      if (contextLimited) reason = "context";
      break;
    }
    int64_t t = next;
    m.forward(st, &t, 1);
    m.logits(0, 1, logits.data());
  }
  if (o.json) printJson(tok.decode(out), static_cast<int64_t>(out.size()), reason, cap);
  else std::printf("\n");
  if (std::strcmp(reason, "context") == 0) {
    std::fflush(stdout);
    contextFull();
  }
  return 0;
}

int perplexity(Model &m, const Tokenizer &tok, const Options &o) {
  std::string text = readFile(o.perplexityFile);
  std::vector<int32_t> ids32 = encodeOrDie(tok, text, o.perplexityFile);
  std::vector<int64_t> ids(ids32.begin(), ids32.end());
  int64_t n = static_cast<int64_t>(ids.size());
  int64_t ctx = o.ctx ? o.ctx : m.capacity();
  if (ctx > m.capacity())
    die("--ctx " + std::to_string(ctx) + " exceeds the model's context " + std::to_string(m.capacity()));
  int64_t stride = o.stride ? o.stride : ctx / 2;
  if (stride > ctx) die("--stride must not exceed --ctx");
  if (n < 2) die(o.perplexityFile + ": fewer than two tokens");
  // HF's sliding-window recipe, token-weighted (examples/gpt2/common.py).
  double total = 0;
  int64_t count = 0, prevEnd = 0;
  const int64_t chunk = 64; // logits rows computed per head call
  std::vector<float> logits(static_cast<size_t>(chunk * m.vocab()));
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < n; begin += stride) {
    int64_t end = std::min(begin + ctx, n), trg = end - prevEnd, w = end - begin;
    KVState st = m.newState();
    m.forward(st, ids.data() + begin, w);
    // Token t of the window is predicted by the logits of row t - 1.
    for (int64_t t = std::max<int64_t>(w - trg, 1); t < w; t += chunk) {
      int64_t rows = std::min(chunk, w - t);
      m.logits(t - 1, rows, logits.data());
      for (int64_t r = 0; r < rows; ++r) {
        float *row = logits.data() + r * m.vocab();
        logSoftmax(row, m.vocab());
        total -= row[ids[begin + t + r]];
        ++count;
      }
    }
    prevEnd = end;
    if (end == n) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double nll = total / count;
  if (o.json)
    std::printf("{\"perplexity\": %.6f, \"nll\": %.8f, \"tokens_scored\": %lld, \"tokens\": %lld, "
                "\"context\": %lld, \"stride\": %lld, \"seconds\": %.3f}\n",
                std::exp(nll), nll, static_cast<long long>(count), static_cast<long long>(n),
                static_cast<long long>(ctx), static_cast<long long>(stride), secs);
  else
    std::printf("perplexity: %.4f (nll %.6f over %lld tokens; context %lld, stride %lld; %.1f s)\n",
                std::exp(nll), nll, static_cast<long long>(count), static_cast<long long>(ctx),
                static_cast<long long>(stride), secs);
  return 0;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

int bench(Model &m, const Options &o) {
  int64_t P = o.benchPrompt, T = o.benchTokens;
  if (P + T > m.capacity())
    die("--bench-prompt + --bench-tokens (" + std::to_string(P + T) + ") exceed the context " +
        std::to_string(m.capacity()));
  std::vector<int64_t> ids(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) ids[i] = (i * 7919 + 13) % m.vocab();
  std::vector<float> logits(m.vocab());
  double bestPrefill = 1e30;
  std::vector<double> lat;
  // One untimed run first: page faults of the mapped weights, cold caches.
  for (int64_t run = -1; run < o.benchRuns; ++run) {
    KVState st = m.newState();
    auto t0 = std::chrono::steady_clock::now();
    m.forward(st, ids.data(), P);
    m.logits(P - 1, 1, logits.data());
    if (run >= 0)
      bestPrefill = std::min(bestPrefill, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    int64_t t = std::max_element(logits.begin(), logits.end()) - logits.begin();
    for (int64_t i = 0; i < T; ++i) {
      auto s = std::chrono::steady_clock::now();
      m.forward(st, &t, 1);
      m.logits(0, 1, logits.data());
      t = std::max_element(logits.begin(), logits.end()) - logits.begin();
      if (run >= 0) lat.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    }
  }
  double mean = std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long rss = static_cast<long long>(ru.ru_maxrss) * 1024;
  long long kv = static_cast<long long>(m.kvBytesPerPosition() * m.capacity());
  if (o.json)
    std::printf("{\"threads\": %d, \"prompt_tokens\": %lld, \"decode_tokens\": %lld, \"prefill_tokens_per_s\": %.2f, "
                "\"decode_tokens_per_s\": %.2f, \"decode_ms_p50\": %.3f, \"decode_ms_p95\": %.3f, "
                "\"peak_rss_bytes\": %lld, \"kv_cache_bytes\": %lld, \"kv_bytes_per_token\": %lld, "
                "\"weight_bytes\": %lld}\n",
                lithe_threads_count(), static_cast<long long>(P), static_cast<long long>(T), P / bestPrefill,
                1.0 / mean, 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.95), rss, kv,
                static_cast<long long>(m.kvBytesPerPosition()), static_cast<long long>(m.weightBytes()));
  else
    std::printf("threads: %d\nprefill: %lld tokens, %.1f tokens/s\ndecode: %lld tokens after %lld, %.1f tokens/s "
                "(p50 %.3f ms, p95 %.3f ms)\npeak RSS: %.1f MiB\nKV cache: %.1f MiB (%lld bytes/token, %lld tokens)\n"
                "weights: %.1f MiB\n",
                lithe_threads_count(), static_cast<long long>(P), P / bestPrefill, static_cast<long long>(T),
                static_cast<long long>(P), 1.0 / mean, 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.95),
                rss / 1048576.0, kv / 1048576.0, static_cast<long long>(m.kvBytesPerPosition()),
                static_cast<long long>(m.capacity()), m.weightBytes() / 1048576.0);
  return 0;
}

int runIds(Model &m, const Options &o) {
  std::vector<int64_t> ids;
  std::stringstream ss(o.ids);
  for (std::string item; std::getline(ss, item, ',');) {
    int64_t id = parseInt("--ids", item.c_str(), 0, m.vocab() - 1);
    ids.push_back(id);
  }
  int64_t n = static_cast<int64_t>(ids.size());
  if (n == 0) die("--ids is empty");
  if (o.pastSplit >= n) die("--past must be smaller than the number of --ids");
  if (n > m.capacity()) die("--ids has " + std::to_string(n) + " tokens; the model's context is " + std::to_string(m.capacity()));
  KVState st = m.newState();
  if (o.pastSplit > 0) m.forward(st, ids.data(), o.pastSplit);
  int64_t rows = n - o.pastSplit;
  m.forward(st, ids.data() + o.pastSplit, rows);
  std::vector<float> logits(static_cast<size_t>(rows * m.vocab()));
  m.logits(0, rows, logits.data());
  if (o.dumpLogits.empty()) {
    for (int64_t r = 0; r < rows; ++r)
      std::printf("%lld\n", static_cast<long long>(std::max_element(logits.begin() + r * m.vocab(),
                                                                     logits.begin() + (r + 1) * m.vocab()) -
                                                    (logits.begin() + r * m.vocab())));
    return 0;
  }
  FILE *f = std::fopen(o.dumpLogits.c_str(), "wb");
  if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) != logits.size() || std::fclose(f) != 0)
    die(o.dumpLogits + ": cannot write: " + std::strerror(errno));
  return 0;
}

} // namespace

#ifdef LITHE_CLI_FUZZ
#define main lithe_cli_main
#endif
int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  int modes = (o.havePrompt || !o.promptFile.empty()) + !o.perplexityFile.empty() + o.bench + !o.ids.empty();
  if (modes == 0) die("nothing to do: give a prompt (-p/-f), --perplexity FILE or --bench (see --help)");
  if (modes > 1) die("give only one of a prompt, --perplexity, --bench and --ids");
  if (o.havePrompt && !o.promptFile.empty()) die("give -p or -f, not both");
  lithe_threads_init(o.threads);

  std::string exe = exePath();
  std::string dir = exe.substr(0, exe.find_last_of('/') + 1);
  std::string weights = o.weights.empty() ? exe + ".lwt" : o.weights;
  std::string error;
  std::unique_ptr<Model> m = Model::load(weights, error, !o.noVerify);
  if (!m) die(error);
  if (o.bench) return bench(*m, o);
  if (!o.ids.empty()) return runIds(*m, o);

  std::string tokDir = o.tokenizer.empty() ? dir + "tokenizer" : o.tokenizer;
  std::unique_ptr<Tokenizer> tok = Tokenizer::load(tokDir, error);
  if (!tok) die(error);
  if (!o.perplexityFile.empty()) return perplexity(*m, *tok, o);
  std::string text = o.havePrompt ? o.prompt : readFile(o.promptFile);
  return generate(*m, *tok, o, text);
}
