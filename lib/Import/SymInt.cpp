//===- SymInt.cpp - symbolic integers for shapes --------------------------===//

#include "SymInt.h"

#include <algorithm>

namespace lithe {
namespace import {

void SymInt::normalize() {
  for (auto it = terms_.begin(); it != terms_.end();)
    it = it->second == 0 ? terms_.erase(it) : std::next(it);
}

SymInt SymInt::operator+(const SymInt &o) const {
  SymInt r = *this;
  for (const auto &[m, c] : o.terms_)
    r.terms_[m] += c;
  r.normalize();
  return r;
}

SymInt SymInt::operator-(const SymInt &o) const {
  SymInt r = *this;
  for (const auto &[m, c] : o.terms_)
    r.terms_[m] -= c;
  r.normalize();
  return r;
}

SymInt SymInt::operator*(const SymInt &o) const {
  SymInt r;
  for (const auto &[m1, c1] : terms_)
    for (const auto &[m2, c2] : o.terms_) {
      Monomial m = m1;
      m.insert(m.end(), m2.begin(), m2.end());
      std::sort(m.begin(), m.end());
      r.terms_[m] += c1 * c2;
    }
  r.normalize();
  return r;
}

std::optional<SymInt> SymInt::divExact(const SymInt &o) const {
  // Divisor must be a single term c * monomial.
  if (o.terms_.size() != 1)
    return *this == o ? std::optional<SymInt>(SymInt(1)) : std::nullopt;
  const auto &[dm, dc] = *o.terms_.begin();
  if (dc == 0)
    return std::nullopt;
  SymInt r;
  for (const auto &[m, c] : terms_) {
    if (c % dc != 0)
      return std::nullopt;
    // Remove dm's symbols from m (multiset difference).
    Monomial rest;
    size_t j = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      if (j < dm.size() && m[i] == dm[j]) { ++j; continue; }
      rest.push_back(m[i]);
    }
    if (j != dm.size())
      return std::nullopt;
    r.terms_[rest] += c / dc;
  }
  r.normalize();
  return r;
}

int64_t SymInt::evaluate(const std::vector<int64_t> &point) const {
  int64_t v = 0;
  for (const auto &[m, c] : terms_) {
    int64_t t = c;
    for (int s : m)
      t *= point.at(s);
    v += t;
  }
  return v;
}

std::string SymInt::str(const std::vector<std::string> &names) const {
  if (terms_.empty())
    return "0";
  std::string out;
  bool first = true;
  // Symbols first, constant last: "sequence + past_sequence + 1".
  for (auto it = terms_.rbegin(); it != terms_.rend(); ++it) {
    const auto &[m, c] = *it;
    int64_t coef = c;
    if (!first)
      out += coef < 0 ? " - " : " + ";
    else if (coef < 0)
      out += "-";
    if (coef < 0)
      coef = -coef;
    std::string term;
    if (m.empty() || coef != 1)
      term = std::to_string(coef);
    for (int s : m)
      term += (term.empty() ? "" : "*") + names.at(s);
    out += term;
    first = false;
  }
  return out;
}

} // namespace import
} // namespace lithe
