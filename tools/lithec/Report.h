//===- Report.h - lithec --report: pipelines side by side ----------*- C++ -*-===//

#ifndef LITHE_TOOLS_LITHEC_REPORT_H
#define LITHE_TOOLS_LITHEC_REPORT_H

#include "llvm/Support/JSON.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lithe {

struct ReportOptions {
  std::string lithec;   // this executable
  std::string model;    // MODEL.onnx
  std::string text;     // evaluation text
  std::string outDir;   // where binaries, report.md/.json/.svg go
  struct Entry {
    std::string name;
    std::string model;  // empty: `model` above (the baseline's)
    std::string passes; // may be empty for another model file as it is
  };
  std::vector<Entry> pipelines;
  int64_t ctx = 0, stride = 0, benchPrompt = 128, benchTokens = 32;
  int threads = 0;
  /// Timed runs per row (each a separate --bench process), interleaved
  /// across rows; one more untimed warm-up round comes first.
  int runs = 5;
  /// When set, speed is measured on this model (a larger one of the same
  /// family) compiled with each row's speed pipeline; perplexity still comes
  /// from the row's own model.
  std::string speedModel;
  /// Speed pipelines by row name; a row without one uses its own passes with
  /// adapter fusion left out (adapters only change weight values).
  std::map<std::string, std::string> speedPipelines;
};

/// Compiles MODEL once per pipeline (plus the unmodified baseline; an entry
/// may name another model file, such as an LN-free variant), runs each
/// binary's --perplexity on the text, times every binary's --bench in
/// interleaved rounds (median, min, max), groups rows whose kernel programs
/// are identical, and writes report.md (table), report.json and report.svg
/// (perplexity against decode tokens/s).
/// Returns the process exit status; errors are one line on stderr.
int runReport(const ReportOptions &options);

namespace report {

/// Median (mean of the middle two for an even count), min and max.
struct Spread {
  double median = 0, min = 0, max = 0;
  std::vector<double> runs; // in the order they were taken
};
Spread spread(std::vector<double> runs);

/// The order rows are timed in: `rounds` rounds over `rows` rows, round r
/// starting at row r % rows (so no row is always first or last after another).
std::vector<size_t> interleavedOrder(size_t rows, int rounds);

/// The speed pipeline for a row's passes when none is given: every
/// lithe-fuse-adapters pass dropped and `adapters=` options removed.
std::string withoutAdapters(const std::string &passes);

/// A --report-pipelines entry "PASSES --draft=DRAFT" as {PASSES, DRAFT}: a
/// speculative row (the model made by PASSES decoding with a draft made by
/// DRAFT); {entry, ""} without a draft.
std::pair<std::string, std::string> splitDraft(const std::string &entry);

/// A --report-pipelines entry with a "--precision=P" word (anywhere after
/// the passes) as {the entry without it, P}; {entry, ""} without one.
std::pair<std::string, std::string> splitPrecision(const std::string &entry);

/// The kernel-level program (lithe_k) with what only names weight data
/// (tensor names, the weights file) removed: equal for two binaries that
/// run the same code.
std::string programKey(const std::string &kernelIR);

/// Runs `argv` (argv[0] a path) with stdout to `outFile` (if not empty);
/// false with `error` naming the program and its exit status.
bool run(const std::vector<std::string> &argv, const std::string &outFile, std::string &error);

/// `path` parsed as JSON (nullopt with `error` naming the file).
std::optional<llvm::json::Value> readJson(const std::string &path, std::string &error);

/// The 1, 5 and 15 minute load averages ("" where unknown) and the CPU's
/// model name, for the host lines of reports.
std::string loadAverage();
std::string cpuName();

/// Runs `argv` with stdout to `outFile` and parses that file as JSON
/// (nullopt with `error`). Used for the binaries' --perplexity/--bench --json.
std::optional<llvm::json::Value> runJson(const std::vector<std::string> &argv, const std::string &outFile,
                                         std::string &error);

} // namespace report
} // namespace lithe

#endif // LITHE_TOOLS_LITHEC_REPORT_H
