//===- openai.cpp - the JSON of OpenAI's completions API ------------------===//

#include "lithe/runtime/openai.h"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace lithe::rt {

using json = nlohmann::json;

namespace {

bool number(const json &j, const char *key, double lo, double hi, double &out, std::string &why) {
  auto f = j.find(key);
  if (f == j.end() || f->is_null()) return true;
  if (!f->is_number() || !(f->get<double>() >= lo && f->get<double>() <= hi)) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", lo, hi);
    why = std::string("\"") + key + "\" must be a number in " + range;
    return false;
  }
  out = f->get<double>();
  return true;
}

bool integer(const json &j, const char *key, int64_t lo, int64_t hi, int64_t &out, std::string &why) {
  auto f = j.find(key);
  if (f == j.end() || f->is_null()) return true;
  if (!f->is_number_integer() || f->get<int64_t>() < lo || f->get<int64_t>() > hi) {
    why = std::string("\"") + key + "\" must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return false;
  }
  out = f->get<int64_t>();
  return true;
}

} // namespace

bool readRequest(const json &j, const Tokenizer &tok, GenRequest &r, std::string &why) {
  Sampling &s = r.sampling;
  double seed = static_cast<double>(s.seed);
  if (!integer(j, "max_tokens", 0, 1 << 20, r.maxTokens, why) || !number(j, "temperature", 0, 100, s.temp, why) ||
      !integer(j, "top_k", 0, 1 << 30, s.topK, why) || !number(j, "top_p", 0, 1, s.topP, why) ||
      !number(j, "seed", 0, 9e15, seed, why) || !number(j, "repeat_penalty", 0.01, 100, s.repeatPenalty, why) ||
      !integer(j, "repeat_last_n", 0, 1 << 20, s.repeatLastN, why) ||
      !number(j, "presence_penalty", -2, 2, s.presencePenalty, why) ||
      !number(j, "frequency_penalty", -2, 2, s.frequencyPenalty, why) || !integer(j, "n", 1, 128, r.n, why) ||
      !integer(j, "logprobs", 0, 20, r.logprobs, why))
    return false;
  s.seed = static_cast<uint64_t>(seed);
  if (auto f = j.find("stop"); f != j.end() && !f->is_null()) {
    s.stops.clear();
    const char *bad = "\"stop\" must be a string or an array of at most 16 strings";
    if (f->is_string()) s.stops.push_back(f->get<std::string>());
    else if (f->is_array() && f->size() <= 16) {
      for (const json &x : *f) {
        if (!x.is_string()) {
          why = bad;
          return false;
        }
        s.stops.push_back(x.get<std::string>());
      }
    } else {
      why = bad;
      return false;
    }
    for (const std::string &x : s.stops)
      if (x.empty()) {
        why = "\"stop\" sequences must not be empty";
        return false;
      }
  }
  if (auto f = j.find("logit_bias"); f != j.end() && !f->is_null()) {
    if (!f->is_object()) {
      why = "\"logit_bias\" must be an object of token ids to numbers in [-100, 100]";
      return false;
    }
    for (auto it = f->begin(); it != f->end(); ++it) {
      char *end = nullptr;
      long long id = std::strtoll(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end || id < 0 || id >= tok.vocabSize() || !it->is_number() ||
          !(it->get<double>() >= -100 && it->get<double>() <= 100)) {
        why = "\"logit_bias\": \"" + it.key() + "\" must be a token id in [0, " + std::to_string(tok.vocabSize()) +
              ") with a number in [-100, 100]";
        return false;
      }
      s.logitBias.push_back({static_cast<int32_t>(id), it->get<float>()});
    }
  }
  if (auto f = j.find("ignore_eos"); f != j.end() && !f->is_null()) {
    if (!f->is_boolean()) {
      why = "\"ignore_eos\" must be true or false";
      return false;
    }
    if (f->get<bool>() && tok.eosId() >= 0)
      s.logitBias.push_back({tok.eosId(), -std::numeric_limits<float>::infinity()});
  }
  return true;
}

json logprobsJson(const Tokenizer &tok, const std::vector<TokenLogprob> &lps, size_t offset) {
  json tokens = json::array(), logprobs = json::array(), top = json::array(), offsets = json::array();
  for (const TokenLogprob &lp : lps) {
    std::string t = tok.decodeToken(lp.id);
    tokens.push_back(t);
    logprobs.push_back(lp.logprob);
    json alts = json::object();
    for (const auto &[id, l] : lp.top) alts[tok.decodeToken(id)] = l;
    top.push_back(alts);
    offsets.push_back(offset);
    offset += t.size();
  }
  return json{{"tokens", tokens}, {"token_logprobs", logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

std::string dumpJson(const json &j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

} // namespace lithe::rt
