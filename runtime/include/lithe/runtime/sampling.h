//===- sampling.h - choosing the next token from a model's logits -*- C++ -*-===//
//
// The sampling controls every mode of a compiled model shares (one prompt,
// batch mode, the server, speculative decoding): greedy, temperature with
// top-k and nucleus cuts, llama.cpp's repeat penalty, OpenAI's presence and
// frequency penalties and logit bias, stop sequences; and how much of a
// growing text may be shown before the next token (never a cut-off UTF-8
// character, never the start of a stop sequence).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_SAMPLING_H
#define LITHE_RUNTIME_SAMPLING_H

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lithe::rt {

struct Sampling {
  double temp = 0.0; // 0: greedy
  int64_t topK = 0;  // 0: all
  double topP = 1.0;
  uint64_t seed = 0;
  // llama.cpp's repeat penalty over the last repeatLastN tokens (prompt
  // included); OpenAI's presence and frequency penalties over the generated
  // tokens; OpenAI's logit_bias (token id, added to its logit).
  double repeatPenalty = 1.0;
  int64_t repeatLastN = 64;
  double presencePenalty = 0.0, frequencyPenalty = 0.0;
  std::vector<std::pair<int32_t, float>> logitBias;
  std::vector<std::string> stops;
  bool penalized() const {
    return repeatPenalty != 1.0 || presencePenalty != 0.0 || frequencyPenalty != 0.0 || !logitBias.empty();
  }
};

/// log-softmax of one row in place.
void logSoftmax(float *x, int64_t n);

int32_t argmax(const float *x, int64_t n);

/// The candidates sampling draws from: the top-k ids by logit (all with
/// top_k 0), cut to the smallest prefix whose mass reaches top_p, and their
/// unnormalised weights exp((logit - max) / temp), in descending order.
void candidates(const float *logits, int64_t n, const Sampling &s, std::vector<int32_t> &idx,
                std::vector<double> &w);

/// The next token: the argmax when s.temp is 0, else a draw from candidates().
int32_t sample(const std::vector<float> &logits, const Sampling &s, std::mt19937_64 &rng);

/// The distribution sample() draws from, as dense probabilities over the
/// vocabulary: what the speculative-sampling rule compares between draft
/// and target.
void distribution(const float *logits, int64_t n, const Sampling &s, std::vector<double> &p);

/// A token drawn from dense probabilities `p` (summing to `total`).
int32_t draw(const std::vector<double> &p, double total, std::mt19937_64 &rng);

/// The penalties and logit bias on the logits of the next token: `seq` is
/// the prompt followed by what was generated since `generatedFrom`.
void penalize(std::vector<float> &logits, const std::vector<int64_t> &seq, size_t generatedFrom,
              const Sampling &s);

/// Where the first stop sequence starts in `text`, or npos.
size_t findStop(const std::string &text, const std::vector<std::string> &stops);

/// How many leading bytes of a growing `text` can be shown now: all but a
/// UTF-8 character cut off at the end and the longest tail that could still
/// become one of `stops`.
size_t showable(const std::string &text, const std::vector<std::string> &stops);

} // namespace lithe::rt

#endif // LITHE_RUNTIME_SAMPLING_H
