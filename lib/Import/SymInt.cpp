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

namespace {
// Graded order on monomials (sorted multisets of symbol ids): higher degree
// first, then lexicographic. Any monomial order makes the leading term of a
// product the product of the leading terms, which is what exact division by
// a polynomial needs.
bool monomialLess(const SymInt::Monomial &a, const SymInt::Monomial &b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}
/// a / b for monomials, if b's symbols are a sub-multiset of a's.
std::optional<SymInt::Monomial> monomialDiv(const SymInt::Monomial &a, const SymInt::Monomial &b) {
  SymInt::Monomial rest;
  size_t j = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (j < b.size() && a[i] == b[j]) { ++j; continue; }
    rest.push_back(a[i]);
  }
  if (j != b.size()) return std::nullopt;
  return rest;
}
} // namespace

std::optional<SymInt> SymInt::divExact(const SymInt &o) const {
  // Multivariate polynomial division by leading terms: exact when the
  // remainder reaches zero. `[batch, 4, past + seq, 16]` reshaped to
  // `[-1, past + seq, 16]` divides 64*batch*(past + seq) by 16*(past + seq).
  if (o.terms_.empty())
    return std::nullopt;
  auto leading = [](const SymInt &p) {
    auto best = p.terms_.begin();
    for (auto it = p.terms_.begin(); it != p.terms_.end(); ++it)
      if (monomialLess(best->first, it->first)) best = it;
    return best;
  };
  auto [dm, dc] = *leading(o);
  SymInt rem = *this, q;
  for (int guard = 0; !rem.terms_.empty(); ++guard) {
    if (guard > 1000) return std::nullopt;
    auto [pm, pc] = *leading(rem);
    if (pc % dc != 0) return std::nullopt;
    auto m = monomialDiv(pm, dm);
    if (!m) return std::nullopt;
    SymInt t;
    t.terms_[*m] = pc / dc;
    q = q + t;
    rem = rem - t * o;
  }
  return q;
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
