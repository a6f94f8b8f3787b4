//===- SymInt.h - symbolic integers for shapes --------------------*- C++ -*-===//
//
// A dimension of an imported value is a polynomial with integer
// coefficients over the model's symbolic dimensions (batch, sequence,
// past_sequence, ...): `sequence + past_sequence`, `batch * sequence`, 768.
// That is enough to follow every shape computation of a GPT-2 export
// (Shape -> Gather -> Concat -> Reshape, -1 inference, Range lengths).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_IMPORT_SYMINT_H
#define LITHE_IMPORT_SYMINT_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lithe {
namespace import {

class SymInt {
public:
  using Monomial = std::vector<int>; // sorted symbol ids; {} is the constant
  SymInt() = default;
  SymInt(int64_t c) { if (c) terms_[{}] = c; }
  static SymInt symbol(int id) { SymInt s; s.terms_[{id}] = 1; return s; }

  bool isConstant() const { return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty()); }
  std::optional<int64_t> constant() const {
    if (!isConstant()) return std::nullopt;
    return terms_.empty() ? 0 : terms_.begin()->second;
  }
  bool operator==(const SymInt &o) const { return terms_ == o.terms_; }
  bool operator!=(const SymInt &o) const { return !(*this == o); }

  SymInt operator+(const SymInt &o) const;
  SymInt operator-(const SymInt &o) const;
  SymInt operator*(const SymInt &o) const;
  /// Exact division; nullopt when `o` does not divide this polynomial.
  std::optional<SymInt> divExact(const SymInt &o) const;
  /// Value at a point (symbol id -> value).
  int64_t evaluate(const std::vector<int64_t> &point) const;
  /// "768", "sequence + past_sequence", "batch*sequence"...
  std::string str(const std::vector<std::string> &names) const;

private:
  void normalize();
  std::map<Monomial, int64_t> terms_;
};

using SymShape = std::vector<SymInt>;

} // namespace import
} // namespace lithe

#endif // LITHE_IMPORT_SYMINT_H
