//===- batcher.h - continuous batching of many generations -------*- C++ -*-===//
//
// One decoding loop for every mode of a compiled model that generates text:
// a single prompt, batch mode (--prompts) and the server (--serve). Requests
// queue from any thread; the thread that runs the loop admits them while
// there is room (the prompt prefilled once, in chunks while others decode,
// its KV cache copied for each of its n choices) and advances every live sequence by one token per step,
// reading the weights once for all of them (the model's decode_batch). A
// finished or cancelled sequence's place goes to the next request at the
// next step.
//
// Prompt reuse: a new request whose prompt starts with tokens some cache
// already holds copies those positions and runs only the rest (at least its
// last kRerunTokens: with that many rows attention takes its blocked prefill
// path and the fp32 and int8 kernels compute each row as one prefill of the
// whole prompt would, so reuse changes no number there; bf16's few-rows and
// GEMM paths sum in different orders).
// The caches searched: finished sequences' (kept, up to a batch's worth or
// more when asked, the least recently used dropped first), live sequences'
// prompts, and prompts being run; a queued request whose beginning a prompt
// now being run will hold waits for it. Prompts only: generated positions
// came from one-row decode steps.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_BATCHER_H
#define LITHE_RUNTIME_BATCHER_H

#include "lithe/runtime/model.h"
#include "lithe/runtime/sampling.h"
#include "lithe/runtime/tokenizer.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace lithe::rt {

struct GenRequest {
  std::vector<int32_t> prompt; // token ids, at least one
  Sampling sampling;
  int64_t maxTokens = 16;
  int64_t n = 1;         // choices; choice i samples with seed + i
  int64_t logprobs = -1; // < 0: none; K >= 0: each token's logprob and the K most likely
};

/// A decided token: its log-probability under the logits it was drawn from
/// (after penalties and logit bias, before temperature and cuts, as OpenAI
/// reports them) and the `logprobs` most likely alternatives.
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

enum class Finish {
  Eos,       // the model ended the text
  Stop,      // a stop sequence (the text ends before it)
  Length,    // max_tokens generated
  Context,   // the context is full (no sliding window; see README)
  Cancelled, // the client went away, or the loop stopped
};

struct ChoiceResult {
  std::string text; // bytes as decoded; a cut-off UTF-8 character may end it
  int64_t tokens = 0;
  Finish finish = Finish::Length;
  std::vector<TokenLogprob> logprobs; // when asked for
};

struct GenResult {
  std::vector<ChoiceResult> choices;
  int64_t promptTokens = 0;
  double latencyMs = 0;    // queued to done
  double firstTokenMs = 0; // queued to the first decided token
  int64_t cachedTokens = 0; // prompt tokens whose KV cache an earlier request had made (not run again)
  std::string error;       // a failed step (the request is abandoned)
};

class Batcher {
public:
  /// Called on the loop's thread, in order, with the text of choice `choice`
  /// that can be shown now (whole UTF-8 characters, never part of a stop
  /// sequence) and the tokens decided since the last call.
  using DeltaFn = std::function<void(int64_t choice, const std::string &text, const std::vector<TokenLogprob> &)>;
  /// Called once on the loop's thread when every choice has finished.
  using DoneFn = std::function<void(GenResult &&)>;

  /// Up to `maxBatch` sequences decode together. While some decode, a step
  /// runs at most `prefillChunk` tokens of new prompts (0: whole prompts),
  /// so a long prompt delays the others' next tokens a chunk at a time.
  /// `promptCache`: 0 turns prompt reuse off; N > 0 keeps up to N finished
  /// caches for it (at least `maxBatch`, kept anyway to reuse their
  /// memory); negative: `maxBatch` of them.
  Batcher(Model &model, const Tokenizer &tok, int64_t maxBatch, int64_t prefillChunk = 0, int64_t promptCache = -1);
  ~Batcher();
  Batcher(const Batcher &) = delete;
  Batcher &operator=(const Batcher &) = delete;

  /// Queues a request (any thread). Returns its id (> 0), or 0 with `error`
  /// when it cannot run: an empty prompt, one that leaves no room in the
  /// context, or more choices than the batch holds.
  uint64_t submit(GenRequest request, DeltaFn onDelta, DoneFn onDone, std::string &error);
  /// Frees request `id`'s sequences at the next step (any thread); its
  /// onDone is called with Finish::Cancelled choices. Unknown ids are ignored.
  void cancel(uint64_t id);
  /// One step on the calling thread: admit queued requests, then one token
  /// for every live sequence. False when there was nothing to do.
  bool step();
  /// Steps until stop() (any thread), sleeping while there is nothing to do;
  /// unfinished requests are then cancelled.
  void run();
  void stop();
  /// Requests submitted and not yet done.
  int64_t inFlight() const { return inFlight_.load(); }
  int64_t maxBatch() const { return maxBatch_; }
  const Model &model() const { return m_; }
  const Tokenizer &tokenizer() const { return tok_; }

  /// Totals since construction (for /health and the progress line).
  struct Totals {
    int64_t requests = 0, generated = 0, steps = 0, rows = 0;
    int64_t promptTokens = 0, cachedPromptTokens = 0; // admitted prompts; the part reused
  };
  Totals totals() const;

private:
  struct Job;
  struct Seq;
  void admit(std::unique_ptr<Job> job);
  void prefill(int64_t budget);
  void advance(Seq &s, std::vector<float> &logits);
  void commit(Seq &s, TokenLogprob lp);
  bool deviceGreedy(const Seq &s) const;
  bool deviceSampled(const Seq &s) const;
  void finishSeq(Seq &s, Finish why);
  void flush(Seq &s);
  void retire();
  /// Prompt tokens that always run again (see above).
  static constexpr int64_t kRerunTokens = LITHE_ATTENTION_BLOCK_MIN_ROWS;
  /// The cache holding the longest beginning of a prompt (at most n -
  /// kRerunTokens tokens): a spare's, a live sequence's prompt, or the run
  /// part of a prompt being prefilled.
  struct Match {
    static constexpr size_t kLive = ~size_t(0);
    const KVState *st = nullptr;
    int64_t len = 0;
    size_t spare = kLive; // its index in free_, or kLive
  };
  /// (Prompt ids as queued, int32, or as admitted, int64.)
  template <class Id> Match match(const Id *prompt, int64_t n) const;
  /// Whether queued request `j` should wait for a prompt now being run (or
  /// admitted in this step) that shares at least kWaitForPrefix more of its
  /// beginning than any cache holds now.
  static constexpr int64_t kWaitForPrefix = 32;
  bool waitsForPrefix(const Job &j, const std::vector<std::unique_ptr<Job>> &admitted) const;
  /// A cache for `prompt` whose state's past is the beginning it already
  /// holds (copied from match()'s; a spare or a new cache otherwise).
  KVState takeState(const std::vector<int64_t> &prompt = {});
  /// Keeps a cache for reuse, with the tokens its first positions hold.
  void keep(KVState st, const int64_t *tokens, int64_t n);

  Model &m_;
  const Tokenizer &tok_;
  const int64_t maxBatch_, prefillChunk_;
  const bool reusePrompts_;
  const int64_t spares_; // finished caches kept
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;  // under mu_
  std::unordered_set<uint64_t> cancels_;    // under mu_
  bool stopping_ = false;                   // under mu_
  uint64_t nextId_ = 1;                     // under mu_
  Totals totals_;                           // under mu_
  std::atomic<int64_t> inFlight_{0};
  // The loop's own (one thread at a time).
  std::vector<std::unique_ptr<Job>> jobs_;  // admitted, not done
  std::vector<std::unique_ptr<Seq>> active_;
  struct Spare {
    KVState st;
    std::vector<int64_t> tokens; // what its first positions hold (a prompt's)
  };
  std::vector<Spare> free_; // caches of finished sequences, oldest first, reused
  std::vector<float> rows_;
  std::vector<int32_t> picked_; // per live row: a token the device chose, or -1
};

/// The names of the finish reasons: OpenAI's ("stop", "length") for the
/// server; batch mode keeps "context" apart from "length"; the command
/// line's --json also keeps "eos" apart from "stop".
const char *finishName(Finish f, bool keepEos, bool keepContext);

} // namespace lithe::rt

#endif // LITHE_RUNTIME_BATCHER_H
