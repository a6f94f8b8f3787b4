//===- main.cpp - the command line of a compiled Lithe model --------------===//
//
// Conventions of llama.cpp:
//   model -p "Once upon a time" -n 64            greedy, streamed
//   model -f prompt.txt --temp 0.8 --top-k 40 --top-p 0.95 --seed 1
//   model -p "..." --beams 4                      beam search
//   model --perplexity wiki.txt --ctx 256 --stride 128
//   model --bench [--json]                        prefill/decode speed, memory
//   model -p "..." --draft-tokens 4               speculative decoding with the
//                                                 draft lithec --draft linked in
// Errors: one line on stderr, exit status 1.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/batcher.h"
#include "lithe/runtime/kernels.h"
#include "lithe/runtime/model.h"
#include "lithe/runtime/openai.h"
#include "lithe/runtime/sampling.h"
#include "lithe/runtime/tokenizer.h"
#ifndef LITHE_CLI_FUZZ
#include "lithe/runtime/server.h"
#endif

#include <nlohmann/json.hpp>
#include <cerrno>
#include <csignal>
#include <pthread.h>

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

/// The command line; its sampling flags (Sampling) are also the defaults of
/// batch-mode lines and server requests.
struct Options : Sampling {
  std::string prompt, promptFile, perplexityFile, weights, tokenizer;
  bool havePrompt = false;
  int64_t maxNew = 64;
  bool maxNewGiven = false, seedGiven = false;
  int64_t choices = 1;   // OpenAI's n
  int64_t logprobs = -1; // OpenAI's logprobs (with --json)
  int64_t beams = 0;
  int64_t ctx = 0, stride = 0;
  int threads = 0;
  bool bench = false, json = false, noVerify = false;
  int64_t benchPrompt = 128, benchTokens = 32, benchRuns = 3;
  // Numerics checks: run token ids directly and dump the logits.
  std::string ids, dumpLogits;
  int64_t pastSplit = 0;
  // With --ids: generate this many tokens after them (no tokenizer), for
  // `samples` seeds from --seed on.
  int64_t generateIds = 0, samples = 1;
  // Speculative decoding: draft tokens per step (0: off), adaptive K.
  int64_t draftTokens = 0;
  bool draftAuto = false;
  std::string draftWeights;
  // Batch mode: one JSON request per line in, one result per line out;
  // up to `batch` sequences decoded together per step.
  std::string promptsFile, outFile;
  int64_t batch = 8;
  int64_t prefillChunk = 128;
  int64_t promptCache = -1; // caches kept for prompt reuse (0: off; -1: the batch size)
  // --bench with several sequences decoded together.
  int64_t benchBatch = 0;
  // --serve: an OpenAI-compatible server.
  bool serve = false;
  std::string host = "127.0.0.1", alias;
  int64_t port = 8080, maxBody = 1 << 20, maxQueue = 64, maxTokensCap = 0;
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

constexpr int64_t kMaxDraftTokens = 16;

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
      "      --repeat-penalty P   divide the logits of the last --repeat-last-n tokens\n"
      "                           (default 64) by P (multiply when negative; 1: off)\n"
      "      --presence-penalty X subtract X from every generated token's logit (OpenAI)\n"
      "      --frequency-penalty X subtract X times its count so far (OpenAI)\n"
      "      --stop TEXT          stop before TEXT (repeatable; text streams once it\n"
      "                           cannot become a stop sequence). Penalties and stops\n"
      "                           apply to greedy decoding and sampling (the model\n"
      "                           alone, without --draft-tokens), not to beam search\n"
      "      --prompts FILE       batch mode: one JSON request per line ({\"prompt\": ...,\n"
      "                           \"max_tokens\", \"temperature\", \"top_k\", \"top_p\",\n"
      "                           \"seed\", \"stop\", \"n\", \"logprobs\", \"logit_bias\",\n"
      "                           \"repeat_penalty\", \"presence_penalty\",\n"
      "                           \"frequency_penalty\", \"id\"}),\n"
      "                           answered in order into --out FILE, one JSON result\n"
      "                           per line (a bad line gets its error there)\n"
      "      --batch N            batch mode: decode up to N requests together, a new\n"
      "                           one joining as soon as one finishes (default 8; the\n"
      "                           weights are read once per step for all of them).\n"
      "                           The same math in another order: a greedy text can\n"
      "                           differ from --batch 1 where two tokens tie to within\n"
      "                           float rounding\n"
      "      --choices N          N completions of the prompt (OpenAI's n; seeds S,\n"
      "                           S+1, ...; the prompt is run once)\n"
      "      --logprobs K         with --json: each generated token's log-probability\n"
      "                           and the K most likely (OpenAI's logprobs)\n"
      "      --serve              serve OpenAI's /v1/completions (stream: true for\n"
      "                           server-sent events), /v1/models and /health; the\n"
      "                           sampling flags and -n are the requests' defaults\n"
      "                           (-n: 16 unless given); concurrent requests decode\n"
      "                           together (--batch)\n"
      "      --host ADDR          --serve: the address to listen on (default 127.0.0.1)\n"
      "      --port N             --serve: the port (default 8080; 0: any free one)\n"
      "      --alias NAME         --serve: the model's name (default: the binary's)\n"
      "      --max-body BYTES     --serve: largest request body (default 1048576)\n"
      "      --max-queue N        --serve: requests in flight before answering 503\n"
      "                           (default 64)\n"
      "      --serve-max-tokens N --serve: largest max_tokens (default: the context)\n"
      "      --prefill-chunk N    batch mode and --serve: while sequences decode, run at\n"
      "                           most N tokens of new prompts per step (default 128;\n"
      "                           0: whole prompts), so a long prompt delays the\n"
      "                           others' next tokens a chunk at a time\n"
      "      --prompt-cache N     batch mode and --serve: keep N finished sequences'\n"
      "                           KV caches (default: the batch size) so that a prompt\n"
      "                           starting like an earlier one runs only the rest;\n"
      "                           0: run every prompt whole\n"
      "      --bench-batch N      --bench: also decode N sequences together (tokens/s\n"
      "                           over all of them, against one sequence)\n"
      "      --beams N            beam search with N beams\n"
      "      --perplexity FILE    sliding-window perplexity of FILE\n"
      "      --ctx N              perplexity window (default: the model's context)\n"
      "      --stride N           perplexity stride (default: ctx / 2)\n"
      "      --bench              measure prefill/decode speed and memory\n"
      "      --bench-prompt N     prompt tokens for --bench (default 128)\n"
      "      --bench-tokens N     decoded tokens for --bench (default 32)\n"
      "      --json               machine-readable output (generation: text and finish_reason)\n"
      "      --no-verify          skip the weights file checksum at load\n"
      "      --draft-tokens K     speculative decoding (binaries built with lithec --draft):\n"
      "                           the draft proposes K tokens (1..%d), the model checks\n"
      "                           them in one step; 'auto' adapts K to the acceptance\n"
      "                           rate. Output is the model's own: token for token when\n"
      "                           greedy, the same distribution when sampling. Beam\n"
      "                           search, --perplexity and --ids without --generate\n"
      "                           use the model alone; --bench adds the speculative\n"
      "                           decode speed (acceptance, draft/verify time)\n"
      "      --draft-weights FILE the draft's weights (default: the model's file, which\n"
      "                           lithec --draft writes for both)\n"
      "  -t, --threads N          threads (default: all cores)\n"
      "  -m, --weights FILE       weights file (default: <binary>.lwt)\n"
      "      --tokenizer DIR      tokenizer directory (default: <binary dir>/tokenizer)\n"
      "      --ids A,B,C          (numerics checks) run these token ids, no tokenizer\n"
      "      --past N             with --ids: run the first N ids as one step first\n"
      "      --dump-logits FILE   with --ids: write the logits of the other ids\n"
      "                           (float32, [n, vocab], row-major)\n"
      "      --generate N         with --ids: generate N tokens after them (greedy, sampling\n"
      "                           or --draft-tokens; no tokenizer, no end of text) and print\n"
      "                           their ids, one line per sample\n"
      "      --samples R          with --generate: R generations, seeds S, S+1, ...\n",
      argv0, static_cast<int>(kMaxDraftTokens));
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
    else if (a == "-n" || a == "--max-new-tokens") o.maxNew = parseInt(a, value(), 0, 1 << 20), o.maxNewGiven = true;
    else if (a == "--temp") o.temp = parseFloat(a, value(), 0, 100);
    else if (a == "--top-k") o.topK = parseInt(a, value(), 0, INT_MAX);
    else if (a == "--top-p") o.topP = parseFloat(a, value(), 0, 1);
    else if (a == "--seed") o.seed = static_cast<uint64_t>(parseInt(a, value(), 0, LLONG_MAX)), o.seedGiven = true;
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
    else if (a == "--generate") o.generateIds = parseInt(a, value(), 1, 1 << 20);
    else if (a == "--samples") o.samples = parseInt(a, value(), 1, 1 << 24);
    else if (a == "--draft-tokens") {
      const char *v = value();
      if (std::strcmp(v, "auto") == 0) o.draftAuto = true, o.draftTokens = 4;
      else o.draftTokens = parseInt(a, v, 0, kMaxDraftTokens);
    }
    else if (a == "--draft-weights") o.draftWeights = value();
    else if (a == "--repeat-penalty") o.repeatPenalty = parseFloat(a, value(), 0.01, 100);
    else if (a == "--repeat-last-n") o.repeatLastN = parseInt(a, value(), 0, 1 << 20);
    else if (a == "--presence-penalty") o.presencePenalty = parseFloat(a, value(), -2, 2);
    else if (a == "--frequency-penalty") o.frequencyPenalty = parseFloat(a, value(), -2, 2);
    else if (a == "--stop") {
      o.stops.push_back(value());
      if (o.stops.back().empty()) die("--stop needs a non-empty text");
    }
    else if (a == "--prompts") o.promptsFile = value();
    else if (a == "--batch") o.batch = parseInt(a, value(), 1, 4096);
    else if (a == "--bench-batch") o.benchBatch = parseInt(a, value(), 1, 4096);
    else if (a == "--out") o.outFile = value();
    else if (a == "--prefill-chunk") o.prefillChunk = parseInt(a, value(), 0, 1 << 20);
    else if (a == "--prompt-cache") o.promptCache = parseInt(a, value(), 0, 4096);
    else if (a == "--choices") o.choices = parseInt(a, value(), 1, 128);
    else if (a == "--logprobs") o.logprobs = parseInt(a, value(), 0, 20);
    else if (a == "--serve") o.serve = true;
    else if (a == "--host") o.host = value();
    else if (a == "--port") o.port = parseInt(a, value(), 0, 65535);
    else if (a == "--alias") o.alias = value();
    else if (a == "--max-body") o.maxBody = parseInt(a, value(), 1024, int64_t(1) << 30);
    else if (a == "--max-queue") o.maxQueue = parseInt(a, value(), 1, 4096);
    else if (a == "--serve-max-tokens") o.maxTokensCap = parseInt(a, value(), 1, 1 << 20);
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

/// Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): the draft
/// proposes K tokens one at a time, the target runs the pending token and
/// all K proposals in one forward of K+1 rows and keeps the longest prefix
/// it agrees with plus a token of its own. Greedy: a proposal is kept when it
/// is the target's argmax, so the output is the target's own greedy output.
/// Sampling: proposal d drawn from the draft's q is kept with probability
/// min(1, p(d)/q(d)); the first rejected one is replaced by a draw from
/// norm(max(0, p - q)), and when all are kept the target's next row gives one
/// more token: every emitted token is distributed as the target's p.
/// Rejected tokens are forgotten by setting each KV cache's `past` back.
struct Speculator {
  Model &target, &draft;
  const Options &o;
  std::mt19937_64 &rng;
  KVState ts, ds;
  std::unique_ptr<Context> tctx, dctx;
  int64_t k;
  // Totals for --bench and the adaptive K.
  int64_t steps = 0, proposed = 0, accepted = 0, emitted = 0, draftForwards = 0;
  double draftSec = 0, verifySec = 0;
  // Adaptive K: decayed counts of kept and rejected proposals, decayed
  // per-token draft time and per-step verify time.
  double keptW = 2, rejectedW = 1, draftTok = 0;
  std::vector<double> verifyAt = std::vector<double>(kMaxDraftTokens + 1, 0.0); // seconds, by K

  Speculator(Model &t, Model &d, const Options &opts, std::mt19937_64 &r)
      : target(t), draft(d), o(opts), rng(r), ts(t.newState()), ds(d.newState()), k(opts.draftTokens) {
    std::string error;
    tctx = t.newContext(error);
    if (tctx) dctx = d.newContext(error);
    if (!tctx || !dctx) die(error);
  }

  void forward(Model &m, Context &c, KVState &s, const int64_t *ids, int64_t n) {
    std::string error;
    if (!m.forward(c, s, ids, n, error)) die(error);
  }

  /// Runs the prompt through both models; `logits` gets the target's last row.
  void prefill(const std::vector<int64_t> &prompt, std::vector<float> &logits) {
    int64_t n = static_cast<int64_t>(prompt.size());
    forward(target, *tctx, ts, prompt.data(), n);
    target.logits(*tctx, n - 1, 1, logits.data());
    forward(draft, *dctx, ds, prompt.data(), n);
  }

  /// One step. `seq` is every token so far; its last one has been emitted but
  /// not run by the target (ts.past == seq.size() - 1). Appends to `out` the
  /// 1..K+1 tokens this step decides, at most `room` (>= 1) of them.
  void step(const std::vector<int64_t> &seq, int64_t room, std::vector<int32_t> &out) {
    using clock = std::chrono::steady_clock;
    const int64_t V = target.vocab(), base = ts.past, len = static_cast<int64_t>(seq.size());
    const bool greedy = o.temp <= 0;
    int64_t K = std::max<int64_t>(0, std::min({k, room - 1, target.capacity() - base - 1}));
    std::vector<int64_t> rows(static_cast<size_t>(K + 1));
    rows[0] = seq.back();
    std::vector<std::vector<double>> q(greedy ? 0 : K);
    std::vector<float> dl(V);
    auto t0 = clock::now();
    for (int64_t j = 1; j <= K; ++j) {
      if (j == 1) {
        // The draft catches up on the tokens it has not run: the pending
        // one, and after a fully accepted step the last proposal too, in one
        // forward (two rows cost about 1.15 single rows at batch 1: the
        // weights are read once).
        ds.past = std::min(ds.past, base);
        int64_t from = ds.past, n = len - from;
        forward(draft, *dctx, ds, seq.data() + from, n);
        draft.logits(*dctx, n - 1, 1, dl.data());
      } else {
        forward(draft, *dctx, ds, &rows[j - 1], 1);
        draft.logits(*dctx, 0, 1, dl.data());
      }
      if (greedy) rows[j] = argmax(dl.data(), V);
      else {
        distribution(dl.data(), V, o, q[j - 1]);
        rows[j] = draw(q[j - 1], 1.0, rng);
      }
    }
    auto t1 = clock::now();
    forward(target, *tctx, ts, rows.data(), K + 1);
    std::vector<float> tl(static_cast<size_t>((K + 1) * V));
    target.logits(*tctx, 0, K + 1, tl.data());
    int64_t n = 0;
    int32_t next;
    if (greedy) {
      while (n < K && argmax(tl.data() + n * V, V) == rows[n + 1]) ++n;
      next = argmax(tl.data() + n * V, V);
    } else {
      std::vector<double> p;
      bool rejected = false;
      for (; n < K; ++n) {
        distribution(tl.data() + n * V, V, o, p);
        int64_t d = rows[n + 1];
        double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        if (u * q[n][d] < p[d]) continue; // kept with probability min(1, p/q)
        double total = 0;
        for (int64_t i = 0; i < V; ++i) total += p[i] = std::max(0.0, p[i] - q[n][i]);
        if (!(total > 0)) distribution(tl.data() + n * V, V, o, p), total = 1.0;
        next = draw(p, total, rng);
        rejected = true;
        break;
      }
      if (!rejected) {
        distribution(tl.data() + K * V, V, o, p);
        next = draw(p, 1.0, rng);
      }
    }
    for (int64_t i = 1; i <= n; ++i) out.push_back(static_cast<int32_t>(rows[i]));
    out.push_back(next);
    // Forget the rejected proposals: positions >= past are overwritten.
    ts.past = base + 1 + n;
    ds.past = std::min(ds.past, base + 1 + n);
    auto t2 = clock::now();
    double dsec = std::chrono::duration<double>(t1 - t0).count(), vsec = std::chrono::duration<double>(t2 - t1).count();
    ++steps, proposed += K, accepted += n, emitted += n + 1, draftForwards += K;
    draftSec += dsec, verifySec += vsec;
    if (o.draftAuto && K > 0) adapt(K, n, dsec / K, vsec);
  }

  /// --draft-tokens auto: the K that maximizes expected tokens per second,
  /// (1 - a^(K+1)) / (1 - a) tokens for K draft forwards and one verify of
  /// K+1 rows, with a the decayed acceptance rate and the costs measured so
  /// far (the verify's per K; an unmeasured K is estimated from the nearest
  /// measured one, +10% per row). K moves by at most 2 per step, so it
  /// measures the costs it moves to.
  void adapt(int64_t K, int64_t kept, double draftPerToken, double verify) {
    const double decay = 0.9;
    keptW = decay * keptW + static_cast<double>(kept);
    rejectedW = decay * rejectedW + (kept < K ? 1.0 : 0.0);
    draftTok = draftTok > 0 ? decay * draftTok + (1 - decay) * draftPerToken : draftPerToken;
    double &v = verifyAt[static_cast<size_t>(K)];
    v = v > 0 ? decay * v + (1 - decay) * verify : verify;
    double a = std::min(0.99, keptW / (keptW + rejectedW)), best = -1;
    int64_t from = std::max<int64_t>(1, k - 2), to = std::min(kMaxDraftTokens, k + 2), pick = k;
    for (int64_t c = from; c <= to; ++c) {
      double cost = verifyAt[static_cast<size_t>(c)];
      for (int64_t d = 1; !(cost > 0) && d <= kMaxDraftTokens; ++d)
        for (int64_t n : {c - d, c + d})
          if (n >= 1 && n <= kMaxDraftTokens && verifyAt[static_cast<size_t>(n)] > 0 && !(cost > 0))
            cost = verifyAt[static_cast<size_t>(n)] * std::max(0.5, 1 + 0.1 * static_cast<double>(c - n));
      double rate = (1 - std::pow(a, static_cast<double>(c + 1))) / (1 - a) / (c * draftTok + cost);
      if (rate > best) best = rate, pick = c;
    }
    k = pick;
  }
};

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
/// the text), "stop" (a --stop sequence; the text ends before it), "length"
/// (-n tokens generated) or "context" (the context is full; generation
/// stops there rather than sliding the window).
void printJson(const std::string &generated, int64_t tokens, const char *reason, int64_t context,
               const std::string &extra = "") {
  std::printf("{\"text\": %s, \"tokens\": %lld, \"finish_reason\": \"%s\", \"context\": %lld%s}\n",
              jsonString(generated).c_str(), static_cast<long long>(tokens), reason,
              static_cast<long long>(context), extra.c_str());
}

/// Generation; `draft` (speculative decoding) is used by greedy decoding and
/// sampling, never by beam search.
int generate(Model &m, Model *draft, const Tokenizer &tok, const Options &o, const std::string &text) {
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
      // The live beams' next tokens in one batched step (weights read once
      // for all of them; one by one when the binary has no decode_batch).
      lp.assign(beams.size(), std::vector<float>(m.vocab()));
      std::vector<size_t> live;
      std::vector<KVState *> states;
      std::vector<int64_t> toks;
      for (size_t b = 0; b < beams.size(); ++b)
        if (!beams[b].done) {
          live.push_back(b);
          states.push_back(&beams[b].s);
          toks.push_back(beams[b].out.back());
        }
      if (live.empty()) break;
      std::string error;
      if (m.hasDecodeBatch()) {
        if (!m.decodeBatch(states.data(), toks.data(), static_cast<int64_t>(live.size()), error)) die(error);
        std::vector<float> rows(live.size() * static_cast<size_t>(m.vocab()));
        m.logits(0, static_cast<int64_t>(live.size()), rows.data());
        for (size_t i = 0; i < live.size(); ++i)
          std::copy(rows.begin() + i * m.vocab(), rows.begin() + (i + 1) * m.vocab(), lp[live[i]].begin());
      } else {
        for (size_t i = 0; i < live.size(); ++i) {
          m.forward(*states[i], &toks[i], 1);
          m.logits(0, 1, lp[live[i]].data());
        }
      }
      for (size_t b : live) logSoftmax(lp[b].data(), m.vocab());
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

  if (draft && !o.penalized() && o.stops.empty() && o.choices == 1 && o.logprobs < 0) {
    std::mt19937_64 rng(o.seed);
    if (!o.json) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    std::vector<int32_t> out;
    const char *reason = "length";
    Speculator sp(m, *draft, o, rng);
    sp.prefill(ids, logits);
    std::vector<int64_t> seq = ids;
    std::vector<int32_t> decided;
    if (maxNew > 0) decided.push_back(sample(logits, o, rng));
    while (!decided.empty()) {
      for (int32_t next : decided) {
        if (next == tok.eosId()) {
          reason = "eos";
          break;
        }
        out.push_back(next);
        seq.push_back(next);
        if (!o.json) stream(tok, next);
        if (static_cast<int64_t>(out.size()) == maxNew) {
          if (contextLimited) reason = "context";
          break;
        }
      }
      if (std::strcmp(reason, "length") != 0 || static_cast<int64_t>(out.size()) == maxNew) break;
      decided.clear();
      sp.step(seq, maxNew - static_cast<int64_t>(out.size()), decided);
    }
    if (o.json) printJson(tok.decode(out), static_cast<int64_t>(out.size()), reason, cap);
    else std::printf("\n");
    if (std::strcmp(reason, "context") == 0) {
      std::fflush(stdout);
      contextFull();
    }
    return 0;
  }

  // Greedy decoding and sampling: the loop batch mode and the server run.
  // One choice streams as it comes (never a cut-off character or the start
  // of a stop sequence); several are printed when all are done.
  Batcher batcher(m, tok, o.choices);
  GenRequest r;
  r.prompt = prompt;
  r.sampling = o;
  r.maxTokens = o.maxNew;
  r.n = o.choices;
  r.logprobs = o.logprobs;
  const bool streaming = !o.json && o.choices == 1;
  if (streaming) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  Batcher::DeltaFn onDelta;
  if (streaming)
    onDelta = [](int64_t, const std::string &delta, const std::vector<TokenLogprob> &) {
      std::fwrite(delta.data(), 1, delta.size(), stdout);
      std::fflush(stdout);
    };
  GenResult result;
  std::string error;
  if (!batcher.submit(std::move(r), onDelta, [&](GenResult &&g) { result = std::move(g); }, error)) die(error);
  while (batcher.step()) {
  }
  if (!result.error.empty()) die(result.error);
  bool full = false;
  for (const ChoiceResult &c : result.choices) full = full || c.finish == Finish::Context;
  if (o.json) {
    // The first choice as before; all of them under "choices" when there
    // are several; OpenAI's logprobs object when asked for.
    const ChoiceResult &c0 = result.choices[0];
    std::string extra;
    if (o.logprobs >= 0) extra += ", \"logprobs\": " + dumpJson(logprobsJson(tok, c0.logprobs));
    if (o.choices > 1) {
      nlohmann::json all = nlohmann::json::array();
      for (size_t i = 0; i < result.choices.size(); ++i) {
        const ChoiceResult &c = result.choices[i];
        nlohmann::json j{{"index", i}, {"text", c.text}, {"tokens", c.tokens},
                         {"finish_reason", finishName(c.finish, true, true)}};
        if (o.logprobs >= 0) j["logprobs"] = logprobsJson(tok, c.logprobs);
        all.push_back(j);
      }
      extra += ", \"choices\": " + dumpJson(all);
    }
    printJson(c0.text, c0.tokens, finishName(c0.finish, true, true), cap, extra);
  } else if (streaming) {
    std::printf("\n");
  } else {
    for (size_t i = 0; i < result.choices.size(); ++i) {
      std::string s = (i ? "\n" : "") + text + result.choices[i].text + "\n";
      std::fwrite(s.data(), 1, s.size(), stdout);
    }
  }
  if (full) {
    std::fflush(stdout);
    contextFull();
  }
  return 0;
}

/// --prompts IN --out OUT: every request line answered, one result line
/// each in input order, written to a temporary file renamed to OUT at the
/// end. Continuous batching (the Batcher): up to --batch sequences decode
/// together, one token each per step; a finished sequence's place goes to
/// the next request.
int runBatch(Model &m, const Tokenizer &tok, const Options &o) {
  if (o.outFile.empty()) die("--prompts needs --out FILE (where the results go)");
  if (!m.hasDecodeBatch() && o.batch > 1) die("--batch: this binary was compiled without batched decoding");
  std::string input = readFile(o.promptsFile);
  std::vector<std::string> lines;
  for (size_t at = 0; at < input.size();) {
    size_t nl = input.find('\n', at);
    if (nl == std::string::npos) nl = input.size();
    lines.push_back(input.substr(at, nl - at));
    at = nl + 1;
  }
  std::string tmp = o.outFile + ".tmp" + std::to_string(::getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) die(o.outFile + ": cannot write: " + std::strerror(errno));

  // Every request's result, in input order; the valid ones are submitted.
  Batcher batcher(m, tok, o.batch, o.prefillChunk, o.promptCache);
  std::vector<nlohmann::json> results;
  size_t done = 0;
  int64_t generated = 0;
  auto started = std::chrono::steady_clock::now();
  auto progress = [&]() {
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "\rbatch: %zu/%zu requests, %.1f tokens/s", done, results.size(),
                 sec > 0 ? generated / sec : 0.0);
  };
  std::vector<std::pair<size_t, GenRequest>> valid;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json result;
    result["line"] = i + 1;
    nlohmann::json j = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("id")) result["id"] = j["id"];
    GenRequest r;
    r.sampling = o;
    r.maxTokens = o.maxNew;
    std::string why, at = "line " + std::to_string(i + 1) + ": ";
    auto prompt = j.is_object() ? j.find("prompt") : j.end();
    if (j.is_discarded()) result["error"] = at + "not valid JSON";
    else if (!j.is_object()) result["error"] = at + "a request is a JSON object";
    else if (prompt == j.end() || !prompt->is_string()) result["error"] = at + "\"prompt\" (a string) is missing";
    else if (!readRequest(j, tok, r, why)) result["error"] = at + why;
    else if (!tok.encode(prompt->get<std::string>(), r.prompt, why)) result["error"] = at + "\"prompt\": " + why;
    else valid.push_back({results.size(), std::move(r)});
    results.push_back(result);
  }
  done = results.size() - valid.size();
  for (auto &[index, r] : valid) {
    const int64_t logprobs = r.logprobs, n = r.n;
    auto onDone = [&, index = index, logprobs, n](GenResult &&g) {
      nlohmann::json &out = results[index];
      if (!g.error.empty()) die(g.error);
      const ChoiceResult &c0 = g.choices[0];
      out["completion"] = c0.text;
      out["prompt_tokens"] = g.promptTokens;
      if (g.cachedTokens > 0) out["prompt_tokens_cached"] = g.cachedTokens;
      out["completion_tokens"] = c0.tokens;
      out["finish_reason"] = finishName(c0.finish, false, true);
      if (logprobs >= 0) out["logprobs"] = logprobsJson(tok, c0.logprobs);
      if (n > 1) {
        nlohmann::json all = nlohmann::json::array();
        for (const ChoiceResult &c : g.choices) {
          nlohmann::json j{{"completion", c.text}, {"completion_tokens", c.tokens},
                           {"finish_reason", finishName(c.finish, false, true)}};
          if (logprobs >= 0) j["logprobs"] = logprobsJson(tok, c.logprobs);
          all.push_back(j);
          generated += c.tokens;
        }
        out["choices"] = all;
      } else {
        generated += c0.tokens;
      }
      out["latency_ms"] = std::round(g.latencyMs * 1000) / 1000;
      ++done;
      progress();
    };
    std::string error;
    if (!batcher.submit(std::move(r), nullptr, onDone, error)) {
      results[index]["error"] = "line " + std::to_string(results[index]["line"].get<size_t>()) + ": " + error;
      ++done;
    }
  }
  progress();
  while (batcher.step()) {
  }
  progress();
  std::fprintf(stderr, "\n");
  for (const nlohmann::json &r : results) {
    std::string s = dumpJson(r) + "\n";
    if (std::fwrite(s.data(), 1, s.size(), f) != s.size()) {
      std::fclose(f);
      std::remove(tmp.c_str());
      die(o.outFile + ": write failed");
    }
  }
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), o.outFile.c_str()) != 0) {
    std::remove(tmp.c_str());
    die(o.outFile + ": cannot write: " + std::strerror(errno));
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

/// Greedy decode speed of `m` alone: seconds per token over `T` tokens after
/// the prompt `ids`, every run; `tokens` gets the first run's tokens (the
/// one the prefill picks, then T more).
std::vector<double> decodeLatencies(Model &m, const std::vector<int64_t> &ids, int64_t T, int64_t runs,
                                    double *bestPrefill, std::vector<int64_t> *tokens) {
  int64_t P = static_cast<int64_t>(ids.size());
  std::vector<double> lat;
  for (int64_t run = 0; run < runs; ++run) {
    KVState st = m.newState();
    auto t0 = std::chrono::steady_clock::now();
    m.forward(st, ids.data(), P);
    int64_t t = m.greedy(P - 1);
    if (bestPrefill)
      *bestPrefill = std::min(*bestPrefill, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (tokens && run == 0) tokens->push_back(t);
    for (int64_t i = 0; i < T; ++i) {
      auto s = std::chrono::steady_clock::now();
      m.forward(st, &t, 1);
      t = m.greedy(0);
      lat.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
      if (tokens && run == 0) tokens->push_back(t);
    }
  }
  return lat;
}

int bench(Model &m, Model *draft, const Options &o) {
  int64_t P = o.benchPrompt, T = o.benchTokens;
  if (P + T > m.capacity())
    die("--bench-prompt + --bench-tokens (" + std::to_string(P + T) + ") exceed the context " +
        std::to_string(m.capacity()));
  std::vector<int64_t> ids(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) ids[i] = (i * 7919 + 13) % m.vocab();
  double bestPrefill = 1e30;
  std::vector<int64_t> reference;
  std::vector<double> lat, dlat;
  // Speculative decoding (--draft-tokens): greedy, the same prompt and token
  // count, output checked against the model's own. Each run measures the
  // model alone, the draft alone and the speculative decode back to back, so
  // load from other processes hits all three alike.
  Options g = o;
  g.temp = 0;
  std::mt19937_64 rng(0);
  int64_t steps = 0, proposed = 0, kept = 0, emitted = 0, tokens = 0;
  double draftSec = 0, verifySec = 0, decodeSec = 0;
  bool identical = true;
  // One untimed run of each model first: page faults of the mapped
  // weights, cold caches.
  decodeLatencies(m, ids, T, 1, nullptr, nullptr);
  if (draft) decodeLatencies(*draft, ids, T, 1, nullptr, nullptr);
  for (int64_t run = 0; run < o.benchRuns; ++run) {
    std::vector<double> l = decodeLatencies(m, ids, T, 1, &bestPrefill, run == 0 ? &reference : nullptr);
    lat.insert(lat.end(), l.begin(), l.end());
    if (!draft) continue;
    l = decodeLatencies(*draft, ids, T, 1, nullptr, nullptr);
    dlat.insert(dlat.end(), l.begin(), l.end());
    Speculator sp(m, *draft, g, rng);
    std::vector<float> logits(m.vocab());
    sp.prefill(ids, logits);
    std::vector<int64_t> seq = ids;
    seq.push_back(argmax(logits.data(), m.vocab()));
    std::vector<int32_t> decided;
    auto t0 = std::chrono::steady_clock::now();
    while (static_cast<int64_t>(seq.size()) < P + 1 + T) {
      decided.clear();
      sp.step(seq, P + 1 + T - static_cast<int64_t>(seq.size()), decided);
      seq.insert(seq.end(), decided.begin(), decided.end());
    }
    decodeSec += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tokens += T;
    identical = identical && std::equal(reference.begin(), reference.end(), seq.begin() + P);
    steps += sp.steps, proposed += sp.proposed, kept += sp.accepted, emitted += sp.emitted;
    draftSec += sp.draftSec, verifySec += sp.verifySec;
  }
  double mean = std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size();
  std::string specText, specJson;
  if (draft) {
    double draftMean = std::accumulate(dlat.begin(), dlat.end(), 0.0) / dlat.size();
    double rate = proposed ? static_cast<double>(kept) / proposed : 0, perStep = static_cast<double>(kept) / steps,
           tps = tokens / decodeSec;
    char buf[1024];
    std::string k = o.draftAuto ? "\"auto\"" : std::to_string(o.draftTokens);
    std::snprintf(buf, sizeof buf,
                  ", \"draft_tokens\": %s, \"draft_decode_tokens_per_s\": %.2f, \"spec_steps\": %lld, "
                  "\"acceptance_rate\": %.4f, \"mean_accepted\": %.3f, \"tokens_per_step\": %.3f, "
                  "\"draft_ms_per_step\": %.3f, \"verify_ms_per_step\": %.3f, \"spec_decode_tokens_per_s\": %.2f, "
                  "\"spec_speedup\": %.3f, \"spec_identical\": %s",
                  k.c_str(), 1.0 / draftMean, static_cast<long long>(steps), rate, perStep,
                  static_cast<double>(emitted) / steps, 1e3 * draftSec / steps, 1e3 * verifySec / steps, tps,
                  tps * mean, identical ? "true" : "false");
    specJson = buf;
    std::snprintf(buf, sizeof buf,
                  "draft alone: %.1f tokens/s\nspeculative (--draft-tokens %s): %.1f tokens/s, %.2fx the model alone, "
                  "output %s\n  acceptance rate %.1f%%, %.2f drafts kept per step (%.2f tokens per step, %lld steps)\n"
                  "  per step: draft %.3f ms, verify %.3f ms\n",
                  1.0 / draftMean, o.draftAuto ? "auto" : std::to_string(o.draftTokens).c_str(), tps, tps * mean,
                  identical ? "identical" : "DIFFERENT", 100 * rate, perStep, static_cast<double>(emitted) / steps,
                  static_cast<long long>(steps), 1e3 * draftSec / steps, 1e3 * verifySec / steps);
    specText = buf;
  }
  if (o.benchBatch > 0) {
    // Batched decode: N sequences with different prompts, prefilled one by
    // one, then T steps of one token for each of them (the model's
    // decode_batch). The first step is checked against one-sequence decode.
    const int64_t N = o.benchBatch, V = m.vocab();
    if (!m.hasDecodeBatch()) die("--bench-batch: this binary was compiled without batched decoding");
    if (N > m.capacity()) die("--bench-batch: at most " + std::to_string(m.capacity()) + " sequences");
    std::vector<KVState> st;
    std::vector<int64_t> toks(static_cast<size_t>(N));
    std::vector<float> row(static_cast<size_t>(V)), rows;
    for (int64_t n = 0; n < N; ++n) {
      std::vector<int64_t> p(static_cast<size_t>(P));
      for (int64_t i = 0; i < P; ++i) p[i] = (i * 7919 + 13 + n * 104729) % V;
      st.push_back(m.newState());
      m.forward(st.back(), p.data(), P);
      m.logits(P - 1, 1, row.data());
      toks[n] = argmax(row.data(), V);
    }
    KVState ref = m.newState();
    ref.copyFrom(st[0], st[0].past);
    ref.past = st[0].past;
    m.forward(ref, &toks[0], 1);
    m.logits(0, 1, row.data());
    std::vector<KVState *> states;
    for (KVState &s : st) states.push_back(&s);
    double maxDiff = 0;
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t t = 0; t < T; ++t) {
      if (!m.decodeBatch(states.data(), toks.data(), N, error)) die(error);
      rows.resize(static_cast<size_t>(N * V));
      m.logits(0, N, rows.data());
      if (t == 0)
        for (int64_t v = 0; v < V; ++v) maxDiff = std::max(maxDiff, std::fabs(double(rows[v]) - double(row[v])));
      for (int64_t n = 0; n < N; ++n) toks[n] = argmax(rows.data() + n * V, V);
    }
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double tps = static_cast<double>(N * T) / sec;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  ", \"batch\": %lld, \"batch_decode_tokens_per_s\": %.2f, \"batch_speedup\": %.3f, "
                  "\"batch_max_abs_logit_diff\": %.3g",
                  static_cast<long long>(N), tps, tps * mean, maxDiff);
    specJson += buf;
    std::snprintf(buf, sizeof buf,
                  "batched decode (%lld sequences): %.1f tokens/s in all, %.2fx one sequence; logits within %.2g "
                  "of one-sequence decode\n",
                  static_cast<long long>(N), tps, tps * mean, maxDiff);
    specText += buf;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long rss = static_cast<long long>(ru.ru_maxrss) * 1024;
  long long kv = static_cast<long long>(m.kvBytesPerPosition() * m.capacity());
  if (!m.device()) { // the CPU kernels' code path, so a result says what ran
    const char *isa = lithe_kernels_isa_name(lithe_kernels_isa()), *route = lithe_kernels_q8_route(),
               *amx = lithe_kernels_amx_status();
    const bool dot = lithe_kernels_bf16_dot(-1) != 0;
    char buf[384];
    std::snprintf(buf, sizeof buf, ", \"isa\": \"%s\", \"int8_route\": \"%s\", \"bf16_dot\": %s, \"amx\": \"%s\"",
                  isa, route, dot ? "true" : "false", amx);
    specJson += buf;
    std::snprintf(buf, sizeof buf, "kernels: %s, int8 route %s, bf16 dot products %s, AMX: %s\n", isa, route,
                  dot ? "on" : "off", amx);
    specText += buf;
  }
  if (const Device *d = m.device()) { // a GPU model: where it ran and what it holds there
    std::string name = d->describe();
    for (char &c : name)
      if (c == '"' || c == '\\') c = '\'';
    char buf[320];
    std::snprintf(buf, sizeof buf, ", \"device\": \"%s\", \"device_bytes\": %lld", name.c_str(),
                  static_cast<long long>(d->deviceBytes()));
    specJson += buf;
    std::snprintf(buf, sizeof buf, "device: %s, %.1f MiB of GPU memory held\n", name.c_str(),
                  d->deviceBytes() / 1048576.0);
    specText += buf;
  }
  if (o.json)
    std::printf("{\"threads\": %d, \"prompt_tokens\": %lld, \"decode_tokens\": %lld, \"prefill_tokens_per_s\": %.2f, "
                "\"decode_tokens_per_s\": %.2f, \"decode_ms_p50\": %.3f, \"decode_ms_p95\": %.3f, "
                "\"peak_rss_bytes\": %lld, \"kv_cache_bytes\": %lld, \"kv_bytes_per_token\": %lld, "
                "\"workspace_bytes\": %lld, \"workspace_misses\": %lld, \"weight_bytes\": %lld%s}\n",
                lithe_threads_count(), static_cast<long long>(P), static_cast<long long>(T), P / bestPrefill,
                1.0 / mean, 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.95), rss, kv,
                static_cast<long long>(m.kvBytesPerPosition()), static_cast<long long>(m.workspaceBytes()),
                static_cast<long long>(lithe_workspace_misses()), static_cast<long long>(m.weightBytes()),
                specJson.c_str());
  else
    std::printf("threads: %d\nprefill: %lld tokens, %.1f tokens/s\ndecode: %lld tokens after %lld, %.1f tokens/s "
                "(p50 %.3f ms, p95 %.3f ms)\npeak RSS: %.1f MiB\nKV cache: %.1f MiB (%lld bytes/token, %lld tokens)\n"
                "weights: %.1f MiB\n",
                lithe_threads_count(), static_cast<long long>(P), P / bestPrefill, static_cast<long long>(T),
                static_cast<long long>(P), 1.0 / mean, 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.95),
                rss / 1048576.0, kv / 1048576.0, static_cast<long long>(m.kvBytesPerPosition()),
                static_cast<long long>(m.capacity()), m.weightBytes() / 1048576.0);
  if (!o.json) std::fputs(specText.c_str(), stdout);
  return 0;
}

/// --ids with --generate: token ids in, token ids out, for numerics and
/// distribution tests of decoding (with and without a draft).
int generateFromIds(Model &m, Model *draft, const Options &o, const std::vector<int64_t> &ids) {
  int64_t n = static_cast<int64_t>(ids.size()), N = o.generateIds;
  if (n + N > m.capacity())
    die("--ids and --generate need " + std::to_string(n + N) + " positions; the model's context is " +
        std::to_string(m.capacity()));
  std::vector<float> logits(m.vocab());
  std::string line;
  for (int64_t r = 0; r < o.samples; ++r) {
    std::mt19937_64 rng(o.seed + static_cast<uint64_t>(r));
    std::vector<int64_t> seq = ids;
    if (draft) {
      Speculator sp(m, *draft, o, rng);
      sp.prefill(ids, logits);
      seq.push_back(sample(logits, o, rng));
      std::vector<int32_t> decided;
      while (static_cast<int64_t>(seq.size()) < n + N) {
        decided.clear();
        sp.step(seq, n + N - static_cast<int64_t>(seq.size()), decided);
        seq.insert(seq.end(), decided.begin(), decided.end());
      }
    } else {
      KVState st = m.newState();
      m.forward(st, ids.data(), n);
      m.logits(n - 1, 1, logits.data());
      seq.push_back(sample(logits, o, rng));
      while (static_cast<int64_t>(seq.size()) < n + N) {
        m.forward(st, &seq.back(), 1);
        m.logits(0, 1, logits.data());
        seq.push_back(sample(logits, o, rng));
      }
    }
    line.clear();
    for (int64_t i = n; i < n + N; ++i) line += (i > n ? "," : "") + std::to_string(seq[i]);
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int runIds(Model &m, Model *draft, const Options &o) {
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
  if (o.generateIds > 0) return generateFromIds(m, draft, o, ids);
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
  int modes = (o.havePrompt || !o.promptFile.empty()) + !o.perplexityFile.empty() + o.bench + !o.ids.empty() +
              !o.promptsFile.empty() + o.serve;
  if (modes == 0)
    die("nothing to do: give a prompt (-p/-f), --prompts FILE, --serve, --perplexity FILE or --bench (see --help)");
  if (modes > 1) die("give only one of a prompt, --prompts, --serve, --perplexity, --bench and --ids");
  if (o.logprobs >= 0 && !o.json && !o.serve && o.promptsFile.empty())
    die("--logprobs goes with --json (the log-probabilities are in its output)");
  if (o.choices > 1 && (o.beams > 0 || o.draftTokens > 0)) die("--choices goes with greedy decoding or sampling");
#ifdef LITHE_CLI_FUZZ
  if (o.serve) die("--serve is not in the fuzzing build");
#else
  if (o.serve) {
    // Stop signals go to the server's own thread: block them before any
    // thread (the kernels' pool) starts, so every thread inherits the mask.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  }
#endif
  if (!o.outFile.empty() && o.promptsFile.empty()) die("--out goes with --prompts (batch mode)");
  if (o.havePrompt && !o.promptFile.empty()) die("give -p or -f, not both");
  lithe_threads_init(o.threads);

  std::string exe = exePath();
  std::string dir = exe.substr(0, exe.find_last_of('/') + 1);
  std::string weights = o.weights.empty() ? exe + ".lwt" : o.weights;
  std::string error;
  std::unique_ptr<Model> m = Model::load(weights, error, !o.noVerify);
  if (!m) die(error);
  // The draft (lithec --draft) for speculative decoding of generation.
  std::unique_ptr<Model> draft;
  if (o.draftTokens > 0 && (o.havePrompt || !o.promptFile.empty() || o.bench || o.generateIds > 0) &&
      o.beams == 0) {
    if (!lithe_main_draft_query)
      die("--draft-tokens: this binary has no draft model (compile it with lithec --draft=PASSES)");
    LitheModelDescriptor d{};
    lithe_main_draft_query(&d);
    // lithec --draft writes both models' weights to one file, each tensor
    // they share once: the draft maps nothing of its own.
    draft = o.draftWeights.empty() ? Model::loadBeside(d, *m, error)
                                   : Model::load(d, o.draftWeights, error, !o.noVerify);
    if (!draft) die(error);
    if (draft->vocab() != m->vocab() || draft->capacity() != m->capacity())
      die("--draft-tokens: the draft's vocabulary or context differs from the model's");
  }
  if (o.bench) return bench(*m, draft.get(), o);
  if (!o.ids.empty()) return runIds(*m, draft.get(), o);

  std::string tokDir = o.tokenizer.empty() ? dir + "tokenizer" : o.tokenizer;
  std::unique_ptr<Tokenizer> tok = Tokenizer::load(tokDir, error);
  if (!tok) die(error);
  if (!o.perplexityFile.empty()) return perplexity(*m, *tok, o);
  if (!o.promptsFile.empty()) return runBatch(*m, *tok, o);
#ifndef LITHE_CLI_FUZZ
  if (o.serve) {
    if (!m->hasDecodeBatch() && o.batch > 1) die("--batch: this binary was compiled without batched decoding");
    ServeOptions so;
    so.host = o.host;
    so.port = static_cast<int>(o.port);
    so.modelName = o.alias.empty() ? exe.substr(exe.find_last_of('/') + 1) : o.alias;
    so.maxBodyBytes = o.maxBody;
    so.maxTokens = o.maxTokensCap;
    so.maxQueued = o.maxQueue;
    so.defaultMaxTokens = o.maxNewGiven ? o.maxNew : 16;
    so.randomSeed = !o.seedGiven;
    so.defaults = o;
    Batcher batcher(*m, *tok, o.batch, o.prefillChunk, o.promptCache);
    return serveFromLibrary(batcher, so);
  }
#endif
  std::string text = o.havePrompt ? o.prompt : readFile(o.promptFile);
  return generate(*m, draft.get(), *tok, o, text);
}
