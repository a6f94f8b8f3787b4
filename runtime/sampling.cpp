//===- sampling.cpp - choosing the next token from a model's logits -------===//

#include "lithe/runtime/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lithe::rt {

void logSoftmax(float *x, int64_t n) {
  float m = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i] - m));
  float lse = m + static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < n; ++i) x[i] -= lse;
}

int32_t argmax(const float *x, int64_t n) { return static_cast<int32_t>(std::max_element(x, x + n) - x); }

void candidates(const float *logits, int64_t n, const Sampling &s, std::vector<int32_t> &idx,
                std::vector<double> &w) {
  idx.resize(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  int64_t k = s.topK > 0 ? std::min(s.topK, n) : n;
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  idx.resize(static_cast<size_t>(k));
  double m = logits[idx[0]];
  w.assign(static_cast<size_t>(k), 0.0);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += w[i] = std::exp((logits[idx[i]] - m) / s.temp);
  // Nucleus: the smallest prefix whose mass reaches top_p.
  double acc = 0;
  int64_t keep = k;
  for (int64_t i = 0; i < k; ++i) {
    acc += w[i] / sum;
    if (acc >= s.topP) {
      keep = i + 1;
      break;
    }
  }
  idx.resize(static_cast<size_t>(keep));
  w.resize(static_cast<size_t>(keep));
}

int32_t sample(const std::vector<float> &logits, const Sampling &s, std::mt19937_64 &rng) {
  int64_t n = static_cast<int64_t>(logits.size());
  if (s.temp <= 0) return argmax(logits.data(), n);
  std::vector<int32_t> idx;
  std::vector<double> w;
  candidates(logits.data(), n, s, idx, w);
  std::discrete_distribution<int64_t> dist(w.begin(), w.end());
  return idx[static_cast<size_t>(dist(rng))];
}

void distribution(const float *logits, int64_t n, const Sampling &s, std::vector<double> &p) {
  p.assign(static_cast<size_t>(n), 0.0);
  std::vector<int32_t> idx;
  std::vector<double> w;
  candidates(logits, n, s, idx, w);
  double kept = 0;
  for (double x : w) kept += x;
  for (size_t i = 0; i < idx.size(); ++i) p[static_cast<size_t>(idx[i])] = w[i] / kept;
}

int32_t draw(const std::vector<double> &p, double total, std::mt19937_64 &rng) {
  double r = std::uniform_real_distribution<double>(0.0, total)(rng), acc = 0;
  int32_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    acc += p[i];
    last = static_cast<int32_t>(i);
    if (r < acc) return last;
  }
  return last; // rounding at the top end
}

void penalize(std::vector<float> &logits, const std::vector<int64_t> &seq, size_t generatedFrom,
              const Sampling &s) {
  const int64_t V = static_cast<int64_t>(logits.size());
  if (s.repeatPenalty != 1.0 && s.repeatLastN > 0) {
    std::vector<char> seen(logits.size(), 0);
    size_t from = seq.size() - std::min<size_t>(seq.size(), static_cast<size_t>(s.repeatLastN));
    for (size_t i = from; i < seq.size(); ++i) {
      int64_t t = seq[i];
      if (t < 0 || t >= V || seen[t]) continue;
      seen[t] = 1;
      float &l = logits[t];
      l = l > 0 ? static_cast<float>(l / s.repeatPenalty) : static_cast<float>(l * s.repeatPenalty);
    }
  }
  if (s.presencePenalty != 0.0 || s.frequencyPenalty != 0.0) {
    std::vector<int32_t> count(logits.size(), 0);
    for (size_t i = generatedFrom; i < seq.size(); ++i)
      if (seq[i] >= 0 && seq[i] < V) ++count[seq[i]];
    for (size_t t = 0; t < logits.size(); ++t)
      if (count[t]) logits[t] -= static_cast<float>(count[t] * s.frequencyPenalty + s.presencePenalty);
  }
  for (const auto &[id, bias] : s.logitBias)
    if (id >= 0 && id < V) logits[id] += bias;
}

size_t findStop(const std::string &text, const std::vector<std::string> &stops) {
  size_t at = std::string::npos;
  for (const std::string &s : stops) at = std::min(at, text.find(s));
  return at;
}

size_t showable(const std::string &text, const std::vector<std::string> &stops) {
  size_t n = text.size(), keep = n;
  // A UTF-8 character whose lead byte is among the last three bytes but
  // whose continuation bytes have not all come yet.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue; // a continuation byte: look further back
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len > back) keep = n - back;
    break;
  }
  // The longest tail of `text` that is a proper prefix of a stop sequence.
  for (const std::string &s : stops)
    for (size_t k = s.empty() ? 0 : std::min(s.size() - 1, n); k > 0; --k)
      if (text.compare(n - k, k, s, 0, k) == 0) {
        keep = std::min(keep, n - k);
        break;
      }
  return keep;
}

} // namespace lithe::rt
