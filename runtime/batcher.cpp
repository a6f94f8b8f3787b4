//===- batcher.cpp - continuous batching of many generations --------------===//

#include "lithe/runtime/batcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace lithe::rt {

using Clock = std::chrono::steady_clock;

namespace {
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
} // namespace

struct Batcher::Job {
  uint64_t id = 0;
  GenRequest req;
  DeltaFn onDelta;
  DoneFn onDone;
  Clock::time_point t0;
  GenResult result;
  int64_t live = 0; // choices not finished
  bool firstToken = false;
  // Prefill: the prompt, how much of it has run, into which cache, and the
  // choices waiting for it.
  std::vector<int64_t> prompt;
  int64_t fed = 0;
  bool prefilling = false;
  KVState st;
  std::vector<std::unique_ptr<Seq>> waiting;
};

/// One choice of one request.
struct Batcher::Seq {
  Job *job = nullptr;
  int64_t choice = 0;
  KVState st;
  std::vector<int64_t> seq; // prompt and generated tokens
  size_t generatedFrom = 0;
  std::mt19937_64 rng;
  int64_t maxNew = 0;
  bool contextLimited = false;
  int64_t pending = -1; // the decided token the next step runs
  std::string text;     // decoded so far
  size_t shown = 0;     // bytes of text given to onDelta
  std::vector<TokenLogprob> newLogprobs;
  bool done = false;
};

const char *finishName(Finish f, bool keepEos, bool keepContext) {
  switch (f) {
  case Finish::Eos: return keepEos ? "eos" : "stop";
  case Finish::Stop: return "stop";
  case Finish::Length: return "length";
  case Finish::Context: return keepContext ? "context" : "length";
  case Finish::Cancelled: return "cancelled";
  }
  return "length";
}

Batcher::Batcher(Model &model, const Tokenizer &tok, int64_t maxBatch, int64_t prefillChunk, int64_t promptCache)
    : m_(model), tok_(tok), maxBatch_(std::max<int64_t>(1, maxBatch)), prefillChunk_(prefillChunk),
      // A GPU's caches are not reused across requests (not yet run on one).
      reusePrompts_(promptCache != 0 && !model.device()),
      spares_(reusePrompts_ ? std::max(maxBatch_, promptCache) : maxBatch_) {}

Batcher::~Batcher() = default;

uint64_t Batcher::submit(GenRequest request, DeltaFn onDelta, DoneFn onDone, std::string &error) {
  const int64_t cap = m_.capacity(), P = static_cast<int64_t>(request.prompt.size());
  if (P == 0) {
    error = "the prompt is empty";
    return 0;
  }
  if (P >= cap) {
    error = "the prompt has " + std::to_string(P) + " tokens; the model's context is " + std::to_string(cap) +
            " (at most " + std::to_string(cap - 1) + " leave room to generate)";
    return 0;
  }
  if (request.n < 1 || request.n > maxBatch_) {
    error = "n must be in [1, " + std::to_string(maxBatch_) + "] (the batch this model decodes)";
    return 0;
  }
  for (int32_t t : request.prompt)
    if (t < 0 || t >= m_.vocab()) {
      error = "token id " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(m_.vocab()) + ")";
      return 0;
    }
  auto job = std::make_unique<Job>();
  job->req = std::move(request);
  job->onDelta = std::move(onDelta);
  job->onDone = std::move(onDone);
  job->t0 = Clock::now();
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      error = "shutting down";
      return 0;
    }
    id = job->id = nextId_++;
    queue_.push_back(std::move(job));
    ++totals_.requests;
  }
  ++inFlight_;
  cv_.notify_one();
  return id;
}

void Batcher::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    cancels_.insert(id);
  }
  cv_.notify_one();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

Batcher::Totals Batcher::totals() const {
  std::lock_guard<std::mutex> l(mu_);
  return totals_;
}

namespace {
/// Tokens a and b share from the start, at most `limit`.
template <class A, class B> int64_t commonPrefix(const A *a, int64_t na, const B *b, int64_t nb, int64_t limit) {
  const int64_t n = std::min({na, nb, limit});
  int64_t l = 0;
  while (l < n && static_cast<int64_t>(a[l]) == static_cast<int64_t>(b[l])) ++l;
  return l;
}
} // namespace

bool Batcher::waitsForPrefix(const Job &j, const std::vector<std::unique_ptr<Job>> &admitted) const {
  if (!reusePrompts_) return false;
  const int32_t *p = j.req.prompt.data();
  const int64_t n = static_cast<int64_t>(j.req.prompt.size());
  int64_t ahead = 0; // the longest beginning a prompt being run (or admitted this step) will hold
  for (const auto &a : jobs_)
    if (a->prefilling)
      ahead = std::max(ahead, commonPrefix(a->prompt.data(), static_cast<int64_t>(a->prompt.size()), p, n,
                                           n - kRerunTokens));
  for (const auto &a : admitted)
    ahead = std::max(ahead, commonPrefix(a->req.prompt.data(), static_cast<int64_t>(a->req.prompt.size()), p, n,
                                         n - kRerunTokens));
  return ahead >= kWaitForPrefix && ahead >= match(p, n).len + kWaitForPrefix;
}

template <class Id> Batcher::Match Batcher::match(const Id *prompt, int64_t n) const {
  Match best;
  const int64_t limit = reusePrompts_ ? n - kRerunTokens : 0;
  if (limit <= 0) return best;
  auto consider = [&](const KVState *st, const int64_t *t, int64_t nt, size_t spare) {
    const int64_t l = commonPrefix(t, std::min(nt, st->past), prompt, n, limit);
    if (l > 0 && l >= best.len) best = {st, l, spare}; // ties: the later (more recent) one
  };
  for (size_t i = 0; i < free_.size(); ++i)
    consider(&free_[i].st, free_[i].tokens.data(), static_cast<int64_t>(free_[i].tokens.size()), i);
  // Live caches: a decoding sequence's prompt positions, a prompt's run part
  // (positions once written never change).
  for (const auto &s : active_)
    if (!s->done) consider(&s->st, s->seq.data(), static_cast<int64_t>(s->generatedFrom), Match::kLive);
  for (const auto &j : jobs_)
    if (j->prefilling) consider(&j->st, j->prompt.data(), j->fed, Match::kLive);
  return best;
}

KVState Batcher::takeState(const std::vector<int64_t> &prompt) {
  Match mt = match(prompt.data(), static_cast<int64_t>(prompt.size()));
  // While the spares are fewer than kept, a new cache, so that none of
  // theirs is lost; else the least recently used spare's.
  const bool fresh = reusePrompts_ && static_cast<int64_t>(free_.size()) < spares_;
  if (mt.len == 0) {
    if (free_.empty()) return m_.newState();
    if (fresh)
      if (KVState s = m_.newState(); s.ok()) return s;
    KVState s = std::move(free_.front().st);
    free_.erase(free_.begin());
    s.past = 0;
    return s;
  }
  // The match stays where it is (a spare becomes the most recent one: a
  // shared beginning, a system prompt say, serves every request that
  // follows); its first `len` positions are copied into the new request's
  // cache (a memcpy per head: far less than running them again).
  const bool spare = mt.spare != Match::kLive;
  if (spare) {
    std::rotate(free_.begin() + static_cast<std::ptrdiff_t>(mt.spare),
                free_.begin() + static_cast<std::ptrdiff_t>(mt.spare) + 1, free_.end());
    mt.st = &free_.back().st;
  }
  const size_t others = free_.size() - (spare ? 1 : 0); // spares that are not the match
  KVState s;
  if (others > 0 && !fresh) {
    s = std::move(free_.front().st);
    free_.erase(free_.begin());
    if (spare) mt.st = &free_.back().st;
  } else {
    s = m_.newState();
    if (!s.ok()) {
      if (spare) { // no memory for a copy: take the match itself
        s = std::move(free_.back().st);
        free_.pop_back();
        s.past = mt.len;
        return s;
      }
      if (others == 0) return s; // nothing else to give (the caller's forward reports it)
      s = std::move(free_.front().st);
      free_.erase(free_.begin());
    }
  }
  s.copyFrom(*mt.st, mt.len);
  s.past = mt.len;
  return s;
}

void Batcher::keep(KVState st, const int64_t *tokens, int64_t n) {
  Spare sp;
  n = std::min(n, st.past);
  if (reusePrompts_ && n > 0) sp.tokens.assign(tokens, tokens + n);
  sp.st = std::move(st);
  free_.push_back(std::move(sp));
}

/// Gives onDelta what can be shown of `s` now.
void Batcher::flush(Seq &s) {
  size_t upTo = s.done ? s.text.size() : showable(s.text, s.job->req.sampling.stops);
  if (upTo <= s.shown && s.newLogprobs.empty()) return;
  std::string delta = upTo > s.shown ? s.text.substr(s.shown, upTo - s.shown) : std::string();
  s.shown = std::max(s.shown, upTo);
  if (s.job->onDelta) s.job->onDelta(s.choice, delta, s.newLogprobs);
  s.newLogprobs.clear();
}

void Batcher::finishSeq(Seq &s, Finish why) {
  s.done = true;
  ChoiceResult &r = s.job->result.choices[static_cast<size_t>(s.choice)];
  r.finish = why;
  r.tokens = static_cast<int64_t>(s.seq.size() - s.generatedFrom);
  r.text = s.text;
  if (why != Finish::Cancelled) flush(s);
  --s.job->live;
}

/// Whether `s`'s next token is the argmax of unaltered logits with no
/// log-probabilities reported: on a GPU, Model::greedy computes it there and
/// only the id crosses the bus.
bool Batcher::deviceGreedy(const Seq &s) const {
  const Sampling &sp = s.job->req.sampling;
  return m_.device() && sp.temp <= 0 && !sp.penalized() && s.job->req.logprobs < 0;
}

/// Whether a GPU can draw `s`'s next token itself (Model::sampleOnDevice):
/// sampling without penalties or log-probabilities, from the top 1..1024
/// logits (the device kernel's limit; top_k 0, all of them, stays on the host).
bool Batcher::deviceSampled(const Seq &s) const {
  const Sampling &sp = s.job->req.sampling;
  return m_.device() && sp.temp > 0 && !sp.penalized() && s.job->req.logprobs < 0 && sp.topK >= 1 &&
         sp.topK <= 1024;
}

/// Decides `s`'s next token from `logits` (its row of the last step).
void Batcher::advance(Seq &s, std::vector<float> &logits) {
  const Sampling &sp = s.job->req.sampling;
  if (sp.penalized()) penalize(logits, s.seq, s.generatedFrom, sp);
  TokenLogprob lp;
  const int64_t K = s.job->req.logprobs;
  if (K >= 0) {
    std::vector<float> l = logits;
    logSoftmax(l.data(), static_cast<int64_t>(l.size()));
    std::vector<int32_t> idx(l.size());
    std::iota(idx.begin(), idx.end(), 0);
    size_t k = std::min<size_t>(static_cast<size_t>(K), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    for (size_t i = 0; i < k; ++i) lp.top.push_back({idx[i], l[idx[i]]});
    lp.id = sample(logits, sp, s.rng);
    lp.logprob = l[lp.id];
  } else {
    lp.id = sample(logits, sp, s.rng);
  }
  commit(s, std::move(lp));
}

/// Appends the token `lp` to `s` (or ends it: end of text, a stop sequence,
/// its length).
void Batcher::commit(Seq &s, TokenLogprob lp) {
  const Sampling &sp = s.job->req.sampling;
  const int64_t K = s.job->req.logprobs;
  const int32_t next = lp.id;
  Job &job = *s.job;
  if (!job.firstToken) {
    job.firstToken = true;
    job.result.firstTokenMs = msSince(job.t0);
  }
  if (next == tok_.eosId()) {
    if (K >= 0) job.result.choices[static_cast<size_t>(s.choice)].logprobs.push_back(lp), s.newLogprobs.push_back(lp);
    finishSeq(s, Finish::Eos);
    return;
  }
  s.seq.push_back(next);
  if (K >= 0) {
    job.result.choices[static_cast<size_t>(s.choice)].logprobs.push_back(lp);
    s.newLogprobs.push_back(std::move(lp));
  }
  s.text += tok_.decodeToken(next);
  if (!sp.stops.empty()) {
    if (size_t at = findStop(s.text, sp.stops); at != std::string::npos) {
      s.text.resize(at);
      finishSeq(s, Finish::Stop);
      return;
    }
  }
  if (static_cast<int64_t>(s.seq.size() - s.generatedFrom) >= s.maxNew) {
    finishSeq(s, s.contextLimited ? Finish::Context : Finish::Length);
    return;
  }
  s.pending = next;
  flush(s);
}

void Batcher::admit(std::unique_ptr<Job> job) {
  Job &j = *job;
  const int64_t P = static_cast<int64_t>(j.req.prompt.size()), cap = m_.capacity();
  j.result.promptTokens = P;
  j.result.choices.assign(static_cast<size_t>(j.req.n), ChoiceResult{});
  j.live = j.req.n;
  int64_t room = cap - P;
  int64_t maxNew = std::min(j.req.maxTokens, room);
  bool contextLimited = j.req.maxTokens > room;
  jobs_.push_back(std::move(job));
  j.prompt.assign(j.req.prompt.begin(), j.req.prompt.end());
  for (int64_t c = 0; c < j.req.n; ++c) {
    auto s = std::make_unique<Seq>();
    s->job = &j;
    s->choice = c;
    s->seq = j.prompt;
    s->generatedFrom = j.prompt.size();
    s->rng.seed(j.req.sampling.seed + static_cast<uint64_t>(c));
    s->maxNew = maxNew;
    s->contextLimited = contextLimited;
    j.waiting.push_back(std::move(s));
  }
  if (maxNew <= 0) {
    for (auto &s : j.waiting) finishSeq(*s, contextLimited ? Finish::Context : Finish::Length);
    j.waiting.clear();
    return;
  }
  j.st = takeState(j.prompt);
  j.fed = j.st.past; // a reused prefix: already in the cache
  j.result.cachedTokens = j.fed;
  {
    std::lock_guard<std::mutex> l(mu_);
    totals_.promptTokens += P;
    totals_.cachedPromptTokens += j.fed;
  }
  j.prefilling = true;
}

/// Runs admitted prompts, at most `budget` tokens of them (all when
/// negative); a prompt that completes samples its choices' first tokens
/// and its sequences join the decoding ones.
void Batcher::prefill(int64_t budget) {
  for (auto &jp : jobs_) {
    Job &j = *jp;
    if (!j.prefilling) continue;
    if (budget == 0) break;
    const int64_t P = static_cast<int64_t>(j.prompt.size());
    int64_t take = P - j.fed;
    if (budget > 0) take = std::min(take, budget), budget -= take;
    m_.forward(j.st, j.prompt.data() + j.fed, take);
    j.fed += take;
    if (j.fed < P) continue;
    // The prompt once; its cache copied for the other choices.
    j.prefilling = false;
    std::vector<float> logits(static_cast<size_t>(m_.vocab())), row;
    m_.logits(take - 1, 1, logits.data());
    for (size_t c = 0; c < j.waiting.size(); ++c) {
      Seq &s = *j.waiting[c];
      if (c + 1 < j.waiting.size()) {
        s.st = takeState();
        s.st.copyFrom(j.st, P);
      } else {
        s.st = std::move(j.st);
      }
    }
    for (auto &s : j.waiting) {
      row = logits;
      advance(*s, row);
      if (!s->done) active_.push_back(std::move(s));
      else keep(std::move(s->st), j.prompt.data(), P);
    }
    j.waiting.clear();
  }
}

/// Calls onDone for every request whose choices have all finished.
void Batcher::retire() {
  for (size_t i = 0; i < jobs_.size();) {
    Job &j = *jobs_[i];
    if (j.live > 0) {
      ++i;
      continue;
    }
    j.result.latencyMs = msSince(j.t0);
    int64_t generated = 0;
    for (const ChoiceResult &c : j.result.choices) generated += c.tokens;
    {
      std::lock_guard<std::mutex> l(mu_);
      totals_.generated += generated;
    }
    std::unique_ptr<Job> done = std::move(jobs_[i]);
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
    --inFlight_;
    if (done->onDone) done->onDone(std::move(done->result));
  }
}

bool Batcher::step() {
  // Cancellations and admissions, decided under the lock; run outside it.
  std::unordered_set<uint64_t> cancels;
  std::vector<std::unique_ptr<Job>> admitted, dropped;
  {
    std::lock_guard<std::mutex> l(mu_);
    cancels.swap(cancels_);
    for (auto it = queue_.begin(); it != queue_.end();)
      if (cancels.count((*it)->id)) dropped.push_back(std::move(*it)), it = queue_.erase(it);
      else ++it;
    int64_t live = static_cast<int64_t>(active_.size());
    for (auto &j : jobs_)
      if (j->prefilling) live += j->req.n;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (live > 0 && live + (*it)->req.n > maxBatch_) break;
      // A prompt that starts like one now being run waits for it (it then
      // copies that beginning instead of running it too).
      if (waitsForPrefix(**it, admitted)) {
        ++it;
        continue;
      }
      live += (*it)->req.n;
      admitted.push_back(std::move(*it));
      it = queue_.erase(it);
    }
  }
  for (auto &j : dropped) {
    j->result.choices.assign(static_cast<size_t>(j->req.n), ChoiceResult{});
    for (ChoiceResult &c : j->result.choices) c.finish = Finish::Cancelled;
    j->live = 0;
    jobs_.push_back(std::move(j));
  }
  bool worked = !admitted.empty() || !dropped.empty();
  for (auto &j : admitted) admit(std::move(j));
  if (!cancels.empty()) {
    for (auto &s : active_)
      if (!s->done && cancels.count(s->job->id)) finishSeq(*s, Finish::Cancelled);
    for (auto &j : jobs_)
      if (j->prefilling && cancels.count(j->id)) {
        for (auto &s : j->waiting) finishSeq(*s, Finish::Cancelled);
        j->waiting.clear();
        j->prefilling = false;
        keep(std::move(j->st), j->prompt.data(), j->fed);
      }
  }
  // Prompts: a bounded chunk while other sequences wait for their next
  // token (so a long prompt delays them by one chunk at a time), all of
  // them when none do.
  bool decoding = false;
  for (auto &s : active_) decoding = decoding || !s->done;
  bool prefilling = false;
  for (auto &j : jobs_) prefilling = prefilling || j->prefilling;
  if (prefilling) {
    worked = true;
    prefill(decoding && prefillChunk_ > 0 ? prefillChunk_ : -1);
  }

  // One token for every live sequence: one batched step.
  std::vector<Seq *> live;
  for (auto &s : active_)
    if (!s->done) live.push_back(s.get());
  const int64_t B = static_cast<int64_t>(live.size()), V = m_.vocab();
  if (B > 0) {
    worked = true;
    std::string error;
    bool ok = true;
    rows_.resize(static_cast<size_t>(B * V));
    if (B == 1 || !m_.hasDecodeBatch()) {
      // One at a time (admission keeps every sequence within the context).
      // A GPU's greedy and plainly sampled sequences take their token from
      // the device (-1 in `picked`: the logits row was copied instead).
      picked_.assign(static_cast<size_t>(B), -1);
      for (int64_t b = 0; b < B; ++b) {
        m_.forward(live[b]->st, &live[b]->pending, 1);
        Seq &q = *live[b];
        const Sampling &sp = q.job->req.sampling;
        if (deviceGreedy(q)) picked_[b] = static_cast<int32_t>(m_.greedy(0));
        else if (deviceSampled(q)) // the sequence's own generator keys the device's draw
          picked_[b] = static_cast<int32_t>(m_.sampleOnDevice(0, static_cast<float>(sp.temp), sp.topK,
                                                             static_cast<float>(sp.topP), q.rng()));
        else m_.logits(0, 1, rows_.data() + b * V);
      }
    } else {
      std::vector<KVState *> states;
      std::vector<int64_t> ids;
      for (Seq *s : live) states.push_back(&s->st), ids.push_back(s->pending);
      picked_.assign(static_cast<size_t>(B), -1);
      ok = m_.decodeBatch(states.data(), ids.data(), B, error);
      if (ok) m_.logits(0, B, rows_.data());
    }
    if (!ok) {
      for (Seq *s : live) {
        s->job->result.error = error;
        finishSeq(*s, Finish::Cancelled);
      }
    } else {
      std::vector<float> logits(static_cast<size_t>(V));
      for (int64_t b = 0; b < B; ++b) {
        if (picked_[b] >= 0) {
          TokenLogprob lp;
          lp.id = picked_[b];
          commit(*live[b], std::move(lp));
          continue;
        }
        std::copy(rows_.begin() + b * V, rows_.begin() + (b + 1) * V, logits.begin());
        advance(*live[b], logits);
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    ++totals_.steps;
    totals_.rows += B;
  }
  // Finished sequences give their caches back.
  for (size_t i = 0; i < active_.size();) {
    if (active_[i]->done) {
      Seq &s = *active_[i];
      keep(std::move(s.st), s.seq.data(), static_cast<int64_t>(s.generatedFrom)); // the prompt's positions
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    } else ++i;
  }
  // Keep the most recent spare caches (a batch's worth, or --prompt-cache).
  if (static_cast<int64_t>(free_.size()) > spares_)
    free_.erase(free_.begin(), free_.end() - static_cast<std::ptrdiff_t>(spares_));
  retire();
  return worked;
}

void Batcher::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty() || !cancels_.empty() || !active_.empty() || !jobs_.empty(); });
      if (stopping_) break;
    }
    step();
  }
  // Stopping: everything still queued or live is cancelled.
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto &j : queue_) cancels_.insert(j->id);
    for (auto &j : jobs_) cancels_.insert(j->id);
  }
  step();
}

} // namespace lithe::rt
