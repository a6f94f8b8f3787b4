//===- Report.h - lithec --report: pipelines side by side ----------*- C++ -*-===//

#ifndef LITHE_TOOLS_LITHEC_REPORT_H
#define LITHE_TOOLS_LITHEC_REPORT_H

#include <string>
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
};

/// Compiles MODEL once per pipeline (plus the unmodified baseline; an entry
/// may name another model file, such as an LN-free variant), runs each
/// binary's --perplexity on the text and --bench, and writes report.md
/// (table), report.json and report.svg (perplexity against decode tokens/s).
/// Returns the process exit status; errors are one line on stderr.
int runReport(const ReportOptions &options);

} // namespace lithe

#endif // LITHE_TOOLS_LITHEC_REPORT_H
