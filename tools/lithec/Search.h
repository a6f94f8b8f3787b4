//===- Search.h - lithec --search: the fastest pipeline within a budget -*- C++ -*-===//

#ifndef LITHE_TOOLS_LITHEC_SEARCH_H
#define LITHE_TOOLS_LITHEC_SEARCH_H

#include "llvm/Support/CommandLine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lithe {

struct SearchOptions {
  std::string lithec;      // this executable (compiles and confirms binaries)
  std::string model;       // MODEL.onnx
  std::string tokenizer;   // the model's tokenizer directory
  std::string calibration; // text head importance and layer losses are measured on
  std::string eval;        // text perplexity is measured on
  double budget = 0;       // allowed relative perplexity rise (0.02 = +2%)
  std::string budgetText;  // as given ("+2%")
  std::string objective = "decode"; // decode | prefill | memory
  std::vector<std::string> adapters; // PEFT adapter directories, fused first
  std::string out;         // -o: the chosen executable
  std::string space;       // --search-space ("" = the default grid)
  int maxCandidates = 0;   // 0: every candidate of the space
  int64_t evalTokens = 4096, calibrationTokens = 1024, ctx = 256;
  int measure = 5;         // frontier binaries compiled and timed
  int runs = 3;            // timed --bench runs per binary (interleaved)
  int threads = 1;
  int64_t benchPrompt = 128, benchTokens = 32;
  std::string plotScript;  // bench/plot_search.py ("" or missing: no plot)
};

/// What lithec hands the search: its own path, the model, -o, the model's
/// tokenizer directory, and the first of lithec's flags that --search
/// excludes which was given ("" if none).
struct SearchDriver {
  std::string argv0, model, out, tokenizer, conflict;
};

/// lithec's --search entry point; the --search flags are defined in
/// Search.cpp. Returns -1 when neither --search nor any of its flags was
/// given (lithec carries on), else the exit status.
int searchMain(const SearchDriver &driver);

/// The --search flags' category (for lithec --help).
llvm::cl::OptionCategory &searchOptionCategory();

/// Parses "+2%", "2%", "+0.5 %" into 0.02 / 0.005; nullopt otherwise.
std::optional<double> parseBudget(const std::string &text);

/// Searches lithe-simplify's options (LayerNorm removal, heads pruned by
/// importance, layers dropped by calibration loss, KV sharing, int8 weights,
/// LayerNorm folding always) for the pipeline that maximises the objective
/// with perplexity on the evaluation text within the budget, compiles it to
/// `out`, and writes search.{md,json,svg} and search-eval.txt beside it.
/// Returns the process exit status; errors are one line on stderr.
int runSearch(const SearchOptions &options);

namespace search {

/// Non-negative least squares for a few unknowns: minimises |A x - b| with
/// x >= 0 by trying every set of free variables. Rows of A are equations.
std::vector<double> nnls(const std::vector<std::vector<double>> &A, const std::vector<double> &b);

/// Indices of the points no other point beats on both (higher `score`,
/// lower `ppl`), by increasing score.
std::vector<size_t> paretoFront(const std::vector<double> &score, const std::vector<double> &ppl);

} // namespace search
} // namespace lithe

#endif // LITHE_TOOLS_LITHEC_SEARCH_H
