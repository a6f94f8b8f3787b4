//===- Report.cpp - lithec --report: pipelines side by side ---------------===//

#include "Report.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace lithe {
namespace {

struct Row {
  std::string name, model, passes;
  double ppl = 0, decode = 0, prefill = 0, p95 = 0;
  int64_t weightBytes = 0, kvBytes = 0;
};

int fail(const std::string &msg) {
  llvm::errs() << "lithec: error: --report: " << msg << "\n";
  return 1;
}

/// Runs `argv`, returning its stdout as JSON (or nullopt with `error`).
std::optional<llvm::json::Value> runJson(const std::vector<std::string> &argv, const std::string &outFile,
                                         std::string &error) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(outFile), std::nullopt};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, std::nullopt, redirects, 0, 0, &msg);
  if (rc != 0) {
    error = argv[0] + " exited with status " + std::to_string(rc) + (msg.empty() ? "" : ": " + msg);
    return std::nullopt;
  }
  if (outFile.empty()) return llvm::json::Value(nullptr);
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

std::string mib(int64_t b) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.1f", b / 1048576.0);
  return s;
}

/// Perplexity (y, log scale) against decode tokens/s (x).
void writeSvg(llvm::raw_ostream &os, const std::vector<Row> &rows, const std::string &title) {
  const double W = 720, H = 440, L = 80, R = 40, T = 50, B = 60;
  double x0 = 1e300, x1 = 0, y0 = 1e300, y1 = 0;
  for (const Row &r : rows) {
    x0 = std::min(x0, r.decode), x1 = std::max(x1, r.decode);
    y0 = std::min(y0, std::log(r.ppl)), y1 = std::max(y1, std::log(r.ppl));
  }
  double dx = std::max(x1 - x0, x1 * 0.1 + 1e-9), dy = std::max(y1 - y0, 0.05);
  x0 -= 0.1 * dx, x1 += 0.1 * dx, y0 -= 0.1 * dy, y1 += 0.1 * dy;
  auto X = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); };
  auto n = [](double v) { return llvm::format("%.1f", v); };
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << n(W) << "\" height=\"" << n(H)
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << n(W / 2) << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << title << "</text>\n";
  os << "<line x1=\"" << n(L) << "\" y1=\"" << n(H - B) << "\" x2=\"" << n(W - R) << "\" y2=\"" << n(H - B)
     << "\" stroke=\"black\"/>\n<line x1=\"" << n(L) << "\" y1=\"" << n(T) << "\" x2=\"" << n(L) << "\" y2=\"" << n(H - B)
     << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    os << "<text x=\"" << n(X(xv)) << "\" y=\"" << n(H - B + 18) << "\" text-anchor=\"middle\">"
       << llvm::format("%.0f", xv) << "</text>\n";
    os << "<text x=\"" << n(L - 8) << "\" y=\"" << n(Y(yv) + 4) << "\" text-anchor=\"end\">"
       << llvm::format("%.1f", std::exp(yv)) << "</text>\n";
  }
  os << "<text x=\"" << n((L + W - R) / 2) << "\" y=\"" << n(H - 15) << "\" text-anchor=\"middle\">decode tokens/s</text>\n";
  os << "<text x=\"18\" y=\"" << n((T + H - B) / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
     << n((T + H - B) / 2) << ")\">perplexity (log scale)</text>\n";
  for (const Row &r : rows) {
    double x = X(r.decode), y = Y(std::log(r.ppl));
    os << "<circle cx=\"" << n(x) << "\" cy=\"" << n(y) << "\" r=\"5\" fill=\""
       << (r.passes.empty() && r.model.empty() ? "black" : "steelblue") << "\"/>\n";
    os << "<text x=\"" << n(x + 8) << "\" y=\"" << n(y - 6) << "\">" << r.name << "</text>\n";
  }
  os << "</svg>\n";
}

} // namespace

int runReport(const ReportOptions &o) {
  if (o.text.empty()) return fail("give --report-text FILE (the evaluation text)");
  if (auto ec = llvm::sys::fs::create_directories(o.outDir)) return fail(o.outDir + ": " + ec.message());
  std::vector<ReportOptions::Entry> all = {{"baseline", "", ""}};
  all.insert(all.end(), o.pipelines.begin(), o.pipelines.end());
  std::vector<Row> rows;
  for (auto &[name, entryModel, passes] : all) {
    const std::string &model = entryModel.empty() ? o.model : entryModel;
    if (!llvm::sys::fs::exists(model)) return fail("pipeline '" + name + "': " + model + ": no such model file");
    llvm::SmallString<256> dir(o.outDir);
    llvm::sys::path::append(dir, name);
    llvm::sys::fs::create_directories(dir);
    llvm::SmallString<256> exe(dir);
    llvm::sys::path::append(exe, "model");
    std::string error;
    std::vector<std::string> compile = {o.lithec, model, "-o", std::string(exe)};
    if (!passes.empty()) compile.insert(compile.end(), {"--pipeline", passes});
    if (!runJson(compile, "", error)) return fail("pipeline '" + name + "': " + error);
    std::string threads = std::to_string(o.threads);
    std::vector<std::string> ppl = {std::string(exe), "--perplexity", o.text, "--json", "-t", threads};
    if (o.ctx) ppl.insert(ppl.end(), {"--ctx", std::to_string(o.ctx)});
    if (o.stride) ppl.insert(ppl.end(), {"--stride", std::to_string(o.stride)});
    auto pj = runJson(ppl, std::string(exe) + ".perplexity.json", error);
    if (!pj) return fail("pipeline '" + name + "': " + error);
    auto bj = runJson({std::string(exe), "--bench", "--json", "-t", threads, "--bench-prompt",
                       std::to_string(o.benchPrompt), "--bench-tokens", std::to_string(o.benchTokens)},
                      std::string(exe) + ".bench.json", error);
    if (!bj) return fail("pipeline '" + name + "': " + error);
    const llvm::json::Object *p = pj->getAsObject(), *b = bj->getAsObject();
    Row r{name, entryModel, passes};
    r.ppl = p ? p->getNumber("perplexity").value_or(0) : 0;
    r.decode = b ? b->getNumber("decode_tokens_per_s").value_or(0) : 0;
    r.prefill = b ? b->getNumber("prefill_tokens_per_s").value_or(0) : 0;
    r.p95 = b ? b->getNumber("decode_ms_p95").value_or(0) : 0;
    r.weightBytes = b ? b->getInteger("weight_bytes").value_or(0) : 0;
    r.kvBytes = b ? b->getInteger("kv_bytes_per_token").value_or(0) : 0;
    if (r.ppl <= 0 || r.decode <= 0) return fail("pipeline '" + name + "': the binary's JSON lacks numbers");
    llvm::errs() << "lithec: --report: " << name << ": perplexity " << llvm::format("%.3f", r.ppl)
                 << ", decode " << llvm::format("%.1f", r.decode) << " tokens/s\n";
    rows.push_back(r);
  }

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
  bool ok = writeFile("report.md", [&](llvm::raw_ostream &os) {
    os << "| pipeline | perplexity | vs baseline | decode tok/s | prefill tok/s | decode p95 ms | weight MiB | KV bytes/token |\n";
    os << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const Row &r : rows)
      os << "| " << r.name << (r.model.empty() ? "" : " (" + llvm::sys::path::filename(r.model).str() + ")")
         << (r.passes.empty() ? "" : " (`" + r.passes + "`)") << " | "
         << llvm::format("%.3f", r.ppl) << " | " << llvm::format("%+.2f%%", 100 * (r.ppl / base.ppl - 1)) << " | "
         << llvm::format("%.1f", r.decode) << " | " << llvm::format("%.1f", r.prefill) << " | "
         << llvm::format("%.2f", r.p95) << " | " << mib(r.weightBytes) << " | " << r.kvBytes << " |\n";
  });
  ok = ok && writeFile("report.json", [&](llvm::raw_ostream &os) {
    llvm::json::Array arr;
    for (const Row &r : rows)
      arr.push_back(llvm::json::Object{{"name", r.name},
                                       {"model", r.model.empty() ? o.model : r.model},
                                       {"pipeline", r.passes},
                                       {"perplexity", r.ppl},
                                       {"decode_tokens_per_s", r.decode},
                                       {"prefill_tokens_per_s", r.prefill},
                                       {"decode_ms_p95", r.p95},
                                       {"weight_bytes", r.weightBytes},
                                       {"kv_bytes_per_token", r.kvBytes}});
    os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                     {"model", o.model}, {"text", o.text}, {"rows", std::move(arr)}}))
       << "\n";
  });
  ok = ok && writeFile("report.svg", [&](llvm::raw_ostream &os) {
    writeSvg(os, rows, "perplexity vs decode speed: " + llvm::sys::path::filename(o.model).str());
  });
  if (!ok) return fail(o.outDir + ": cannot write the report files");
  return 0;
}

} // namespace lithe
