//===- Report.cpp - lithec --report: pipelines side by side ---------------===//
//
// Timing method (what report.md and report.json state): every row's binary is
// run with --bench as a separate process; one untimed warm-up round over all
// rows comes first, then `runs` rounds, each visiting every row once (round r
// starts at row r mod rows), so slow drifts of the machine (other jobs,
// frequency) fall on every row alike. A row's figure is the median of its
// runs, with min and max kept. Rows whose kernel-level programs are identical
// (a fused adapter changes weight values only) are grouped, and the report
// says whether their ranges overlap, i.e. whether the timing can tell apart
// what is the same computation.
//
//===----------------------------------------------------------------------===//

#include "Report.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MD5.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <map>
#include <cmath>
#include <optional>
#include <set>
#include <cstring>
#include <thread>

#include <sys/utsname.h>

namespace lithe {

namespace report {

Spread spread(std::vector<double> runs) {
  Spread s;
  s.runs = runs;
  if (runs.empty()) return s;
  std::sort(runs.begin(), runs.end());
  size_t n = runs.size();
  s.median = n % 2 ? runs[n / 2] : 0.5 * (runs[n / 2 - 1] + runs[n / 2]);
  s.min = runs.front(), s.max = runs.back();
  return s;
}

std::vector<size_t> interleavedOrder(size_t rows, int rounds) {
  std::vector<size_t> order;
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < rows; ++i) order.push_back((static_cast<size_t>(r) + i) % rows);
  return order;
}

std::string withoutAdapters(const std::string &passes) {
  // Top-level passes are separated by commas outside braces.
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : passes) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  std::string out;
  for (std::string p : parts) {
    llvm::StringRef t = llvm::StringRef(p).trim();
    if (t.empty() || t.starts_with("lithe-fuse-adapters")) continue;
    size_t open = t.find('{');
    std::string kept = t.str();
    if (open != llvm::StringRef::npos && t.ends_with("}")) {
      llvm::SmallVector<llvm::StringRef> opts;
      t.substr(open + 1, t.size() - open - 2).split(opts, ' ', -1, false);
      std::string body;
      for (llvm::StringRef opt : opts)
        if (!opt.starts_with("adapters=")) body += (body.empty() ? "" : " ") + opt.str();
      kept = t.substr(0, open).str() + (body.empty() ? "" : "{" + body + "}");
    }
    out += (out.empty() ? "" : ",") + kept;
  }
  return out;
}

std::pair<std::string, std::string> splitDraft(const std::string &entry) {
  llvm::StringRef e(entry);
  size_t at = e.find("--draft=");
  if (at == llvm::StringRef::npos) return {entry, ""};
  return {e.substr(0, at).trim().str(), e.substr(at + strlen("--draft=")).trim().str()};
}

std::pair<std::string, std::string> splitPrecision(const std::string &entry) {
  llvm::StringRef e(entry);
  size_t at = e.find("--precision=");
  if (at == llvm::StringRef::npos) return {entry, ""};
  llvm::StringRef rest = e.substr(at + strlen("--precision="));
  size_t end = rest.find_first_of(" \t");
  llvm::StringRef value = rest.substr(0, end);
  std::string without = (e.substr(0, at).rtrim() + (end == llvm::StringRef::npos ? "" : " " + rest.substr(end).ltrim()))
                            .str();
  return {llvm::StringRef(without).trim().str(), value.str()};
}

std::string programKey(const std::string &kernelIR) {
  // The kernel level (lithec --emit=kernel, lithe_k): weights are named,
  // not placed, so only the names (and the file the module names) tell two
  // binaries with the same code apart; they become "W".
  auto blank = [](std::string &l, const std::string &open, const std::string &close) {
    for (size_t at = l.find(open); at != std::string::npos; at = l.find(open, at + open.size() + 1)) {
      size_t from = at + open.size(), to = l.find(close, from);
      if (to == std::string::npos) return;
      l.replace(from, to - from, "W");
    }
  };
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(kernelIR).split(lines, '\n');
  std::string key;
  for (llvm::StringRef line : lines) {
    std::string l = line.str();
    if (line.contains("lithe_k.weight ")) blank(l, "[\"", "\"]");
    blank(l, "lithe.weights = \"", "\"");
    key += l + "\n";
  }
  return key;
}

std::string loadAverage() {
  auto buf = llvm::MemoryBuffer::getFileAsStream("/proc/loadavg");
  if (!buf) return "";
  llvm::SmallVector<llvm::StringRef> f;
  (*buf)->getBuffer().split(f, ' ');
  return f.size() >= 3 ? (f[0] + " " + f[1] + " " + f[2]).str() : "";
}

std::string cpuName() {
  auto buf = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo");
  if (!buf) return "unknown CPU";
  llvm::SmallVector<llvm::StringRef> lines;
  (*buf)->getBuffer().split(lines, '\n');
  for (llvm::StringRef l : lines)
    if (l.starts_with("model name")) return l.split(':').second.trim().str();
  return "unknown CPU";
}

} // namespace report

namespace {

using report::Spread;

struct Row {
  std::string name, model, passes, speedPasses;
  std::string draft; // a speculative row: the draft's passes (lithec --draft)
  std::string precision; // lithec --precision (empty: the default, fp32)
  double ppl = 0;
  Spread decode, prefill, p95;
  int64_t weightBytes = 0, kvBytes = 0;
  int threads = 0;
  std::string exe, speedExe, programHash;
  int program = 0; // 1-based id of the timed kernel program
  std::vector<double> decodeRuns, decodeMeanRuns, prefillRuns, p95Runs;
  Spread decodeMean; // from the mean per-token latency, for comparison
};

int fail(const std::string &msg) {
  llvm::errs() << "lithec: error: --report: " << msg << "\n";
  return 1;
}

} // namespace

// Shared with lithec --search (Search.cpp).
namespace report {

/// Runs `argv` with stdout to `outFile` (if given); false with `error`.
bool run(const std::vector<std::string> &argv, const std::string &outFile, std::string &error) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(outFile), std::nullopt};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, std::nullopt, redirects, 0, 0, &msg);
  if (rc != 0) {
    error = argv[0] + " exited with status " + std::to_string(rc) + (msg.empty() ? "" : ": " + msg);
    return false;
  }
  return true;
}

std::optional<llvm::json::Value> runJson(const std::vector<std::string> &argv, const std::string &outFile,
                                         std::string &error) {
  if (!run(argv, outFile, error)) return std::nullopt;
  return readJson(outFile, error);
}

std::optional<llvm::json::Value> readJson(const std::string &outFile, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(outFile);
  if (!buf) {
    error = outFile + ": cannot read";
    return std::nullopt;
  }
  auto v = llvm::json::parse((*buf)->getBuffer());
  if (!v) {
    error = outFile + ": " + llvm::toString(v.takeError());
    return std::nullopt;
  }
  return std::move(*v);
}

} // namespace report

namespace {

using report::run;
using report::runJson;

std::string fmt(const char *f, double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format(f, v);
  return s;
}

std::string mib(int64_t b) { return fmt("%.1f", b / 1048576.0); }

/// "median [min–max]"
std::string range(const Spread &s, const char *f) {
  return fmt(f, s.median) + " [" + fmt(f, s.min) + "–" + fmt(f, s.max) + "]";
}


struct Host {
  std::string cpu, os;
  unsigned cores = 0;
  std::string loadStart, loadEnd;
};

using report::loadAverage;

Host host() {
  Host h;
  h.cpu = report::cpuName();
  h.cores = std::thread::hardware_concurrency();
  struct utsname u;
  if (uname(&u) == 0) h.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  h.loadStart = loadAverage();
  return h;
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
double niceStep(double raw) {
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

/// Round tick values within [lo, hi], about `want` of them.
std::vector<double> niceTicks(double lo, double hi, int want) {
  double step = niceStep((hi - lo) / want);
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(v);
  return t;
}

std::string esc(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

/// The built-in plot (no Python needed): perplexity (y, log scale) against
/// median decode tokens/s (x) with min–max bars, points numbered and named
/// in a legend column beside the plot (so names never overlap), round ticks,
/// dashed lines through the baseline. bench/plot_report.py draws the fuller
/// one (Pareto frontier, labels placed at the points) from report.json.
void writeSvg(llvm::raw_ostream &os, const std::vector<Row> &rows, const std::string &title,
              const std::string &subtitle, const std::string &xLabel, const std::string &yLabel) {
  const double L = 80, T = 64, B = 64, PW = 560, legendW = 260;
  const double PH = std::max(380.0, 18.0 * rows.size() + 20);
  const double W = L + PW + 30 + legendW, H = T + PH + B;
  double x0 = 1e300, x1 = 0, y0 = 1e300, y1 = 0;
  for (const Row &r : rows) {
    x0 = std::min(x0, r.decode.min), x1 = std::max(x1, r.decode.max);
    y0 = std::min(y0, r.ppl), y1 = std::max(y1, r.ppl);
  }
  double dx = std::max(x1 - x0, x1 * 0.1 + 1e-9);
  x0 = std::max(0.0, x0 - 0.08 * dx), x1 += 0.08 * dx;
  double ly0 = std::log(y0), ly1 = std::log(y1), dy = std::max(ly1 - ly0, 0.05);
  ly0 -= 0.08 * dy, ly1 += 0.08 * dy;
  auto X = [&](double v) { return L + (v - x0) / (x1 - x0) * PW; };
  auto Y = [&](double v) { return T + PH - (std::log(v) - ly0) / (ly1 - ly0) * PH; };
  auto n = [](double v) { return llvm::format("%.1f", v); };
  auto tick = [](double v) {
    std::string s = fmt("%.6g", v);
    return s;
  };
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << n(W) << "\" height=\"" << n(H)
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << n(L) << "\" y=\"24\" font-size=\"15\" font-weight=\"bold\">" << esc(title) << "</text>\n";
  os << "<text x=\"" << n(L) << "\" y=\"44\" font-size=\"11\" fill=\"#444\">" << esc(subtitle) << "</text>\n";
  os << "<rect x=\"" << n(L) << "\" y=\"" << n(T) << "\" width=\"" << n(PW) << "\" height=\"" << n(PH)
     << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (double v : niceTicks(x0, x1, 6)) {
    os << "<line x1=\"" << n(X(v)) << "\" y1=\"" << n(T + PH) << "\" x2=\"" << n(X(v)) << "\" y2=\"" << n(T + PH + 5)
       << "\" stroke=\"black\"/>\n";
    os << "<text x=\"" << n(X(v)) << "\" y=\"" << n(T + PH + 19) << "\" text-anchor=\"middle\">" << tick(v)
       << "</text>\n";
  }
  std::vector<double> yt = niceTicks(std::exp(ly0), std::exp(ly1), 6);
  for (double v : yt) {
    if (v <= 0) continue;
    os << "<line x1=\"" << n(L - 5) << "\" y1=\"" << n(Y(v)) << "\" x2=\"" << n(L) << "\" y2=\"" << n(Y(v))
       << "\" stroke=\"black\"/>\n";
    os << "<text x=\"" << n(L - 8) << "\" y=\"" << n(Y(v) + 4) << "\" text-anchor=\"end\">" << tick(v) << "</text>\n";
  }
  os << "<text x=\"" << n(L + PW / 2) << "\" y=\"" << n(H - 18) << "\" text-anchor=\"middle\">" << esc(xLabel)
     << "</text>\n";
  os << "<text x=\"20\" y=\"" << n(T + PH / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 20 "
     << n(T + PH / 2) << ")\">" << esc(yLabel) << "</text>\n";
  // The baseline's lines.
  const Row &base = rows.front();
  os << "<line x1=\"" << n(X(base.decode.median)) << "\" y1=\"" << n(T) << "\" x2=\"" << n(X(base.decode.median))
     << "\" y2=\"" << n(T + PH) << "\" stroke=\"gray\" stroke-dasharray=\"4 3\"/>\n";
  os << "<line x1=\"" << n(L) << "\" y1=\"" << n(Y(base.ppl)) << "\" x2=\"" << n(L + PW) << "\" y2=\""
     << n(Y(base.ppl)) << "\" stroke=\"gray\" stroke-dasharray=\"4 3\"/>\n";
  // Points with min–max bars; numbers placed where they hit no other number.
  std::vector<std::array<double, 4>> placed; // x0 y0 x1 y1
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row &r = rows[i];
    double x = X(r.decode.median), y = Y(r.ppl);
    os << "<line x1=\"" << n(X(r.decode.min)) << "\" y1=\"" << n(y) << "\" x2=\"" << n(X(r.decode.max))
       << "\" y2=\"" << n(y) << "\" stroke=\"steelblue\"/>\n";
    os << "<circle cx=\"" << n(x) << "\" cy=\"" << n(y) << "\" r=\"4\" fill=\"" << (i == 0 ? "black" : "steelblue")
       << "\"/>\n";
    std::string label = std::to_string(i + 1);
    double w = 7.0 * label.size(), h = 11;
    static const double offs[][2] = {{6, -6}, {6, 14}, {-6, -6}, {-6, 14}, {0, -10}, {0, 20},
                                     {14, 4}, {-14, 4}, {18, -16}, {-18, -16}, {18, 24}, {-18, 24}};
    double bx = x + 6, by = y - 6;
    for (auto &o : offs) {
      double cx = o[0] >= 0 ? x + o[0] : x + o[0] - w, cy = y + o[1];
      std::array<double, 4> box = {cx, cy - h, cx + w, cy};
      bool clash = box[0] < L || box[2] > L + PW || box[1] < T || box[3] > T + PH;
      for (auto &p : placed)
        clash = clash || !(box[2] <= p[0] || p[2] <= box[0] || box[3] <= p[1] || p[3] <= box[1]);
      if (!clash) {
        bx = cx, by = cy;
        break;
      }
    }
    placed.push_back({bx, by - h, bx + w, by});
    os << "<text x=\"" << n(bx) << "\" y=\"" << n(by) << "\" font-size=\"11\">" << label << "</text>\n";
    os << "<text x=\"" << n(L + PW + 30) << "\" y=\"" << n(T + 12 + 18 * i) << "\">" << label << "  " << esc(r.name)
       << (r.program ? " (P" + std::to_string(r.program) + ")" : "") << "</text>\n";
  }
  os << "</svg>\n";
}

} // namespace

int runReport(const ReportOptions &o) {
  if (o.text.empty()) return fail("give --report-text FILE (the evaluation text)");
  if (o.runs < 1) return fail("--report-runs must be at least 1");
  if (auto ec = llvm::sys::fs::create_directories(o.outDir)) return fail(o.outDir + ": " + ec.message());
  bool speedMode = !o.speedModel.empty();
  if (speedMode && !llvm::sys::fs::exists(o.speedModel)) return fail(o.speedModel + ": no such speed model file");
  std::vector<ReportOptions::Entry> all = {{"baseline", "", ""}};
  all.insert(all.end(), o.pipelines.begin(), o.pipelines.end());
  for (auto &[name, passes] : o.speedPipelines)
    if (std::none_of(all.begin(), all.end(), [&](auto &e) { return e.name == name; }))
      return fail("--report-speed-pipelines: no row named '" + name + "'");
  Host h = host();
  std::vector<Row> rows;
  std::map<std::string, int> programs; // program text hash -> id
  std::string threads = std::to_string(o.threads);

  // Compiles `model` with `passes` to DIR/NAME and hashes its kernel program.
  auto compile = [&](const std::string &dir, const std::string &model, const std::string &passes,
                     const std::string &draft, const std::string &precision, std::string &exe, std::string &hash,
                     std::string &error) -> bool {
    llvm::sys::fs::create_directories(dir);
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "model");
    exe = std::string(path);
    std::vector<std::string> cmd = {o.lithec, model, "-o", exe};
    if (!passes.empty()) cmd.insert(cmd.end(), {"--pipeline", passes});
    if (!draft.empty()) cmd.insert(cmd.end(), {"--draft", draft});
    if (!precision.empty()) cmd.insert(cmd.end(), {"--precision", precision});
    if (!run(cmd, "", error)) return false;
    std::vector<std::string> kernel = {o.lithec, model, "--emit=kernel"};
    if (!passes.empty()) kernel.insert(kernel.end(), {"--pipeline", passes});
    if (!precision.empty()) kernel.insert(kernel.end(), {"--precision", precision});
    if (!run(kernel, exe + ".kernel.mlir", error)) return false;
    auto buf = llvm::MemoryBuffer::getFile(exe + ".kernel.mlir");
    if (!buf) {
      error = exe + ".kernel.mlir: cannot read";
      return false;
    }
    llvm::MD5 md5;
    md5.update(report::programKey((*buf)->getBuffer().str()));
    if (!draft.empty()) md5.update("with the draft " + draft); // another program: decoding differs
    llvm::MD5::MD5Result res;
    md5.final(res);
    hash = res.digest().str().str();
    return true;
  };

  for (auto &[name, entryModel, entryPasses] : all) {
    const std::string &model = entryModel.empty() ? o.model : entryModel;
    if (!llvm::sys::fs::exists(model)) return fail("pipeline '" + name + "': " + model + ": no such model file");
    llvm::SmallString<256> dir(o.outDir);
    llvm::sys::path::append(dir, name);
    // "PASSES --draft=DRAFT": speculative decoding with a draft made by DRAFT.
    auto [entryNoPrecision, precision] = report::splitPrecision(entryPasses);
    auto [passes, draft] = report::splitDraft(entryNoPrecision);
    Row r{name, entryModel, passes};
    r.draft = draft;
    r.precision = precision;
    std::string error;
    if (!compile(std::string(dir), model, passes, draft, precision, r.exe, r.programHash, error))
      return fail("pipeline '" + name + "': " + error);
    std::vector<std::string> ppl = {r.exe, "--perplexity", o.text, "--json", "-t", threads};
    if (o.ctx) ppl.insert(ppl.end(), {"--ctx", std::to_string(o.ctx)});
    if (o.stride) ppl.insert(ppl.end(), {"--stride", std::to_string(o.stride)});
    auto pj = runJson(ppl, r.exe + ".perplexity.json", error);
    if (!pj) return fail("pipeline '" + name + "': " + error);
    const llvm::json::Object *p = pj->getAsObject();
    r.ppl = p ? p->getNumber("perplexity").value_or(0) : 0;
    if (r.ppl <= 0) return fail("pipeline '" + name + "': the binary's perplexity JSON lacks a number");
    r.speedExe = r.exe;
    if (speedMode) {
      auto it = o.speedPipelines.find(name);
      r.speedPasses = it != o.speedPipelines.end() ? it->second : report::withoutAdapters(passes);
      llvm::SmallString<256> sdir(dir);
      llvm::sys::path::append(sdir, "speed");
      if (!compile(std::string(sdir), o.speedModel, r.speedPasses, r.draft, r.precision, r.speedExe, r.programHash,
                   error))
        return fail("pipeline '" + name + "': speed model: " + error);
    }
    auto [pit, fresh] = programs.try_emplace(r.programHash, static_cast<int>(programs.size()) + 1);
    r.program = pit->second;
    llvm::errs() << "lithec: --report: " << name << ": perplexity " << llvm::format("%.3f", r.ppl) << ", program P"
                 << r.program << "\n";
    rows.push_back(r);
  }

  // Timing: a warm-up round, then o.runs interleaved rounds.
  auto bench = [&](Row &r, bool keep, std::string &error) -> bool {
    std::vector<std::string> cmd = {r.speedExe, "--bench", "--json", "-t", threads, "--bench-prompt",
                                    std::to_string(o.benchPrompt), "--bench-tokens", std::to_string(o.benchTokens)};
    if (!r.draft.empty()) cmd.insert(cmd.end(), {"--draft-tokens", "auto"});
    auto bj = runJson(cmd, r.speedExe + ".bench.json", error);
    if (!bj) return false;
    const llvm::json::Object *b = bj->getAsObject();
    // Decode speed from the run's median per-token latency: a co-running job
    // that takes the core away for a while slows some tokens, not the median.
    // Speculative steps emit several tokens at once: their rate over the run.
    double p50 = b ? b->getNumber("decode_ms_p50").value_or(0) : 0;
    double decode = p50 > 0 ? 1000.0 / p50 : 0;
    if (b && !r.draft.empty()) decode = b->getNumber("spec_decode_tokens_per_s").value_or(0);
    if (decode <= 0) {
      error = "the binary's bench JSON lacks numbers";
      return false;
    }
    if (!keep) return true;
    r.decodeRuns.push_back(decode);
    r.decodeMeanRuns.push_back(r.draft.empty() ? b->getNumber("decode_tokens_per_s").value_or(0) : decode);
    r.prefillRuns.push_back(b->getNumber("prefill_tokens_per_s").value_or(0));
    r.p95Runs.push_back(b->getNumber("decode_ms_p95").value_or(0));
    r.weightBytes = b->getInteger("weight_bytes").value_or(0);
    r.kvBytes = b->getInteger("kv_bytes_per_token").value_or(0);
    r.threads = static_cast<int>(b->getInteger("threads").value_or(0));
    return true;
  };
  std::string error;
  llvm::errs() << "lithec: --report: timing: warm-up round, then " << o.runs << " rounds over " << rows.size()
               << " rows\n";
  for (Row &r : rows)
    if (!bench(r, false, error)) return fail("pipeline '" + r.name + "': " + error);
  std::vector<size_t> order = report::interleavedOrder(rows.size(), o.runs);
  for (size_t k = 0; k < order.size(); ++k) {
    if (k % rows.size() == 0)
      llvm::errs() << "lithec: --report: round " << k / rows.size() + 1 << " starts at " << rows[order[k]].name
                   << "\n";
    if (!bench(rows[order[k]], true, error)) return fail("pipeline '" + rows[order[k]].name + "': " + error);
  }
  h.loadEnd = loadAverage();
  for (Row &r : rows) {
    r.decode = report::spread(r.decodeRuns);
    r.decodeMean = report::spread(r.decodeMeanRuns);
    r.prefill = report::spread(r.prefillRuns);
    r.p95 = report::spread(r.p95Runs);
    llvm::errs() << "lithec: --report: " << r.name << ": decode " << range(r.decode, "%.1f") << " tokens/s\n";
  }

  // Rows sharing a kernel program: do their ranges overlap?
  struct Group {
    int program;
    std::vector<size_t> rows;
    bool agree;
    double medianSpreadPct;
  };
  std::vector<Group> groups;
  for (auto &[hash, id] : programs) {
    Group g{id, {}, true, 0};
    for (size_t i = 0; i < rows.size(); ++i)
      if (rows[i].program == id) g.rows.push_back(i);
    if (g.rows.size() < 2) continue;
    double lo = 0, hi = 1e300, mlo = 1e300, mhi = 0;
    for (size_t i : g.rows) {
      lo = std::max(lo, rows[i].decode.min), hi = std::min(hi, rows[i].decode.max);
      mlo = std::min(mlo, rows[i].decode.median), mhi = std::max(mhi, rows[i].decode.median);
    }
    g.agree = lo <= hi;
    g.medianSpreadPct = 100 * (mhi - mlo) / mlo;
    groups.push_back(g);
  }
  std::sort(groups.begin(), groups.end(), [](auto &a, auto &b) { return a.program < b.program; });
  int threadCount = rows.front().threads;

  auto writeFile = [&](const char *file, auto body) -> bool {
    llvm::SmallString<256> path(o.outDir);
    llvm::sys::path::append(path, file);
    std::error_code ec;
    llvm::ToolOutputFile f(path, ec, llvm::sys::fs::OF_Text);
    if (ec) return false;
    body(f.os());
    f.keep();
    return true;
  };
  const Row &base = rows.front();
  std::string modelName = llvm::sys::path::filename(o.model).str();
  // DIR/model.onnx: the directory says which model it is.
  std::string speedName;
  if (speedMode) {
    llvm::StringRef dir = llvm::sys::path::filename(llvm::sys::path::parent_path(o.speedModel));
    speedName = (dir.empty() ? "" : dir.str() + "/") + llvm::sys::path::filename(o.speedModel).str();
  }
  std::string hostLine = h.cpu + ", " + std::to_string(h.cores) + " logical cores, " + h.os;
  std::string method = "median of " + std::to_string(o.runs) +
                       " --bench runs per row, interleaved across rows (round r starts at row r mod rows) "
                       "after one untimed warm-up round; [min–max] of the runs in brackets";
  auto groupText = [&](const Group &g) {
    std::string s;
    for (size_t i : g.rows) s += (s.empty() ? "" : ", ") + rows[i].name;
    return s;
  };
  bool ok = writeFile("report.md", [&](llvm::raw_ostream &os) {
    os << "- **Perplexity**: " << modelName << " on " << llvm::sys::path::filename(o.text);
    if (o.ctx) os << ", context " << o.ctx;
    if (o.stride) os << ", stride " << o.stride;
    os << ".\n";
    os << "- **Speed**: ";
    if (speedMode)
      os << "measured on **" << speedName
         << "** (a larger model of the same family), compiled with each row's speed pipeline (its passes without "
            "adapter fusion unless given), not on " << modelName << "; ";
    os << "`--bench` with a " << o.benchPrompt << "-token prompt and " << o.benchTokens
       << " decoded tokens (each run: 3 repetitions in one process after one untimed); a run's decode tokens/s is "
          "1000 / its median per-token latency in ms (a job that takes the core away slows some tokens, not the "
          "median; report.json also has the mean-based figure); "
       << method << ".\n";
    os << "- **Threads**: " << threadCount << ". **Host**: " << hostLine << "; load average " << h.loadStart
       << " before timing, " << h.loadEnd << " after.\n";
    os << "- **Programs**: rows with the same P number run the identical kernel program (their weights differ): "
          "a speed difference between them is measurement noise.";
    for (const Group &g : groups)
      os << " P" << g.program << " (" << groupText(g) << "): decode medians within "
         << fmt("%.1f", g.medianSpreadPct) << "%, ranges "
         << (g.agree ? "overlap (agree within their spread)." : "do NOT overlap (the timing is disturbed).");
    os << "\n\n";
    std::string speedCols = speedMode ? " (" + speedName + ")" : "";
    os << "| pipeline | program | perplexity | vs baseline | decode tok/s" << speedCols
       << " median [min–max] | prefill tok/s" << speedCols << " median [min–max] | decode p95 ms | weight MiB"
       << speedCols << " | KV bytes/token" << speedCols << " |\n";
    os << "| --- | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const Row &r : rows) {
      os << "| " << r.name << (r.model.empty() ? "" : " (" + llvm::sys::path::filename(r.model).str() + ")")
         << (r.passes.empty() ? "" : " (`" + r.passes + "`)")
         << (r.draft.empty() ? "" : " + draft `" + r.draft + "` (speculative, `--draft-tokens auto`)")
         << (r.precision.empty() ? "" : " `--precision=" + r.precision + "`");
      if (speedMode && r.speedPasses != r.passes)
        os << " speed: " << (r.speedPasses.empty() ? "no passes" : "`" + r.speedPasses + "`");
      os << " | P" << r.program << " | " << llvm::format("%.3f", r.ppl) << " | "
         << llvm::format("%+.2f%%", 100 * (r.ppl / base.ppl - 1)) << " | " << range(r.decode, "%.1f") << " | "
         << range(r.prefill, "%.0f") << " | " << llvm::format("%.2f", r.p95.median) << " | " << mib(r.weightBytes)
         << " | " << r.kvBytes << " |\n";
    }
  });
  ok = ok && writeFile("report.json", [&](llvm::raw_ostream &os) {
    llvm::json::Array arr;
    auto runsArr = [](const std::vector<double> &v) {
      llvm::json::Array a;
      for (double d : v) a.push_back(d);
      return a;
    };
    for (const Row &r : rows) {
      llvm::json::Object row{{"name", r.name},
                             {"model", r.model.empty() ? o.model : r.model},
                             {"pipeline", r.passes},
                             {"draft", r.draft},
                             {"precision", r.precision.empty() ? "fp32" : r.precision},
                             {"perplexity", r.ppl},
                             {"decode_tokens_per_s", r.decode.median},
                             {"decode_tokens_per_s_min", r.decode.min},
                             {"decode_tokens_per_s_max", r.decode.max},
                             {"decode_runs", runsArr(r.decode.runs)},
                             {"decode_tokens_per_s_from_mean", r.decodeMean.median},
                             {"decode_from_mean_runs", runsArr(r.decodeMean.runs)},
                             {"prefill_tokens_per_s", r.prefill.median},
                             {"prefill_tokens_per_s_min", r.prefill.min},
                             {"prefill_tokens_per_s_max", r.prefill.max},
                             {"prefill_runs", runsArr(r.prefill.runs)},
                             {"decode_ms_p95", r.p95.median},
                             {"weight_bytes", r.weightBytes},
                             {"kv_bytes_per_token", r.kvBytes},
                             {"program", "P" + std::to_string(r.program)},
                             {"program_hash", r.programHash}};
      if (speedMode) row["speed_pipeline"] = r.speedPasses;
      arr.push_back(std::move(row));
    }
    llvm::json::Array garr;
    for (const Group &g : groups) {
      llvm::json::Array names;
      for (size_t i : g.rows) names.push_back(rows[i].name);
      garr.push_back(llvm::json::Object{{"program", "P" + std::to_string(g.program)},
                                        {"rows", std::move(names)},
                                        {"agree_within_spread", g.agree},
                                        {"decode_median_spread_pct", g.medianSpreadPct}});
    }
    llvm::json::Object top{
        {"model", o.model},
        {"text", o.text},
        {"ctx", o.ctx},
        {"stride", o.stride},
        {"speed_model", speedMode ? llvm::json::Value(o.speedModel) : llvm::json::Value(nullptr)},
        {"timing",
         llvm::json::Object{{"runs", o.runs},
                            {"warmup_rounds", 1},
                            {"order", "interleaved: round r visits every row, starting at row r mod rows"},
                            {"statistic", "median, with min and max"},
                            {"decode_tokens_per_s", "1000 / the run's median per-token decode latency (ms)"},
                            {"bench_prompt_tokens", o.benchPrompt},
                            {"bench_decode_tokens", o.benchTokens},
                            {"threads", threadCount}}},
        {"host", llvm::json::Object{{"cpu", h.cpu},
                                    {"logical_cores", static_cast<int64_t>(h.cores)},
                                    {"os", h.os},
                                    {"loadavg_before", h.loadStart},
                                    {"loadavg_after", h.loadEnd}}},
        {"same_program_groups", std::move(garr)},
        {"rows", std::move(arr)}};
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(top))) << "\n";
  });
  ok = ok && writeFile("report.svg", [&](llvm::raw_ostream &os) {
    std::string title = modelName + ": perplexity on " + llvm::sys::path::filename(o.text).str() +
                        " against decode speed";
    std::string sub = "median of " + std::to_string(o.runs) + " interleaved runs, bars min–max; " +
                      std::to_string(threadCount) + " threads, " + h.cpu;
    std::string xl = "decode speed (tokens/s" + (speedMode ? ", measured on " + speedName : std::string()) + ")";
    writeSvg(os, rows, title, sub, xl, "perplexity (log scale)");
  });
  if (!ok) return fail(o.outDir + ": cannot write the report files");
  for (const Group &g : groups)
    if (!g.agree)
      llvm::errs() << "lithec: warning: --report: rows " << groupText(g)
                   << " run the same kernel program but their decode timings do not overlap\n";
  return 0;
}

} // namespace lithe
