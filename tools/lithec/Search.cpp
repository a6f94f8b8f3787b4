//===- Search.cpp - lithec --search: the fastest pipeline within a budget -===//
//
// What the search does, in order (each step's figures go to search.json):
//
//  1. Imports the model once (adapters fused when given: the reference),
//     cuts the evaluation text to about --search-eval-tokens tokens at a line
//     end (search-eval.txt: the Evaluator and the binaries score exactly
//     those tokens, in windows of ctx with stride ctx) and measures the
//     reference perplexity with the Evaluator (lib/Calibration).
//  2. Measures what the data-driven passes measure, once per model state
//     rather than once per candidate: head importance (each head masked
//     alone) per LayerNorm state, and the loss of skipping each block per
//     LayerNorm state and pruned-head set, on the calibration text. These
//     are lithe-prune-heads{fraction} and lithe-drop-layers{keep metric=loss}
//     rankings; candidates name their choice explicitly (heads=, layers=),
//     so the chosen pipeline replays without calibration for those passes.
//  3. Builds every candidate of the space (LayerNorm removal x heads pruned
//     x blocks kept x KV-sharing group x weight type (f32, int8, int4, bf16)
//     x KV cache type x LayerNorm folding: always,
//     it is exact, except under --objective=memory, where folding the final
//     LayerNorm into a tied head copies the table) in process and reads its
//     shape: transformer-level ops, f32, bf16, int8 and int4 bytes read per
//     decoded token (what the linear layers and the LM head read, plus the
//     KV cache at the bench's context), weight bytes.
//  4. Calibrates a cost model: five corner candidates (exact; int8; int8
//     with the most heads pruned, which cuts bytes but no ops; int8 with the
//     fewest blocks; f32 with both), plus the plain bf16 and int4 ones when
//     the space has them, are compiled and timed with --bench (interleaved
//     rounds, median), and
//       ms/token = a * ops + b * MB f32 + c * MB int8 + d * MB bf16 + e * MB int4
//     is fitted (non-negative least squares), once for decode and once for
//     prefill. The memory objective needs no model: bytes are exact.
//  5. Evaluates candidates' perplexity with the Evaluator, best predicted
//     objective first (the exact one, LayerNorm folding only, always first).
//  6. Compiles and times the Pareto frontier (estimated objective against
//     perplexity), feasible points first, and states the cost model's error
//     against those measurements; the winner is the best measured feasible
//     candidate. It is compiled to -o, its weights compared byte for byte
//     with the search's own binary of it, and its perplexity measured by the
//     binary on search-eval.txt.
//
//===----------------------------------------------------------------------===//

#include "Search.h"
#include "Report.h"

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/Import.h"
#include "lithe/KernelDialect.h"
#include "lithe/ModelSummary.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/tokenizer.h"
#include "passes/Blocks.h"
#include "passes/Calibrate.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include <unistd.h>

namespace lithe {

std::optional<double> parseBudget(const std::string &text) {
  llvm::StringRef t = llvm::StringRef(text).trim();
  if (!t.consume_back("%")) return std::nullopt;
  t = t.trim();
  t.consume_front("+");
  double v;
  if (t.empty() || t.getAsDouble(v) || !(v >= 0) || !std::isfinite(v)) return std::nullopt;
  return v / 100.0;
}

namespace search {

std::vector<double> nnls(const std::vector<std::vector<double>> &A, const std::vector<double> &b) {
  size_t n = A.empty() ? 0 : A[0].size();
  std::vector<double> best(n, 0.0);
  double bestErr = 0;
  for (size_t i = 0; i < A.size(); ++i) bestErr += b[i] * b[i];
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    std::vector<size_t> vars;
    for (size_t j = 0; j < n; ++j)
      if (mask & (1u << j)) vars.push_back(j);
    size_t k = vars.size();
    // Normal equations on the free variables, Gaussian elimination.
    std::vector<std::vector<double>> M(k, std::vector<double>(k + 1, 0.0));
    for (size_t r = 0; r < A.size(); ++r)
      for (size_t p = 0; p < k; ++p) {
        for (size_t q = 0; q < k; ++q) M[p][q] += A[r][vars[p]] * A[r][vars[q]];
        M[p][k] += A[r][vars[p]] * b[r];
      }
    bool ok = true;
    for (size_t p = 0; p < k && ok; ++p) {
      size_t piv = p;
      for (size_t q = p + 1; q < k; ++q)
        if (std::fabs(M[q][p]) > std::fabs(M[piv][p])) piv = q;
      if (std::fabs(M[piv][p]) < 1e-12) ok = false;
      else {
        std::swap(M[p], M[piv]);
        for (size_t q = 0; q < k; ++q) {
          if (q == p) continue;
          double f = M[q][p] / M[p][p];
          for (size_t c = p; c <= k; ++c) M[q][c] -= f * M[p][c];
        }
      }
    }
    if (!ok) continue;
    std::vector<double> x(n, 0.0);
    for (size_t p = 0; p < k; ++p) x[vars[p]] = M[p][k] / M[p][p];
    if (std::any_of(x.begin(), x.end(), [](double v) { return v < 0; })) continue;
    double err = 0;
    for (size_t r = 0; r < A.size(); ++r) {
      double e = -b[r];
      for (size_t j = 0; j < n; ++j) e += A[r][j] * x[j];
      err += e * e;
    }
    if (err < bestErr - 1e-15) bestErr = err, best = x;
  }
  return best;
}

std::vector<size_t> paretoFront(const std::vector<double> &score, const std::vector<double> &ppl) {
  std::vector<size_t> front;
  for (size_t i = 0; i < score.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < score.size() && !dominated; ++j)
      dominated = j != i && score[j] >= score[i] && ppl[j] <= ppl[i] && (score[j] > score[i] || ppl[j] < ppl[i]);
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  return front;
}

} // namespace search

namespace {
using namespace mlir;
using Clock = std::chrono::steady_clock;

int fail(const std::string &msg) {
  llvm::errs() << "lithec: error: --search: " << msg << "\n";
  return 1;
}

std::string oneLine(std::string s) {
  for (char &c : s)
    if (c == '\n') c = ' ';
  return llvm::StringRef(s).trim().str();
}

std::string fmt(const char *f, double v) { return llvm::formatv("{0}", llvm::format(f, v)).str(); }

double seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

/// A temporary directory removed with everything in it.
struct TempDir {
  std::string path;
  ~TempDir() {
    if (!path.empty()) llvm::sys::fs::remove_directories(path);
  }
};

/// Runs `argv` with stdout to `outFile` and stderr to `errFile` (the
/// compiler's and binaries' chatter stays off the progress lines); the
/// error names the program and its last line of stderr.
bool runQuiet(const std::vector<std::string> &argv, const std::string &outFile, const std::string &errFile,
              std::string &error) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(outFile),
                                                llvm::StringRef(errFile)};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, std::nullopt, redirects, 0, 0, &msg);
  if (rc == 0) return true;
  std::string last;
  if (auto buf = llvm::MemoryBuffer::getFile(errFile)) {
    llvm::SmallVector<llvm::StringRef> lines;
    (*buf)->getBuffer().split(lines, '\n', -1, false);
    if (!lines.empty()) last = lines.back().trim().str();
  }
  error = llvm::sys::path::filename(argv[0]).str() + " exited with status " + std::to_string(rc) +
          (last.empty() ? (msg.empty() ? "" : ": " + msg) : ": " + last);
  return false;
}

std::optional<llvm::json::Value> runQuietJson(const std::vector<std::string> &argv, const std::string &outFile,
                                              std::string &error) {
  if (!runQuiet(argv, outFile, outFile + ".err", error)) return std::nullopt;
  return report::readJson(outFile, error);
}

/// Runs `passes` on `m` with the context's weight store; the data-driven
/// passes find the tokenizer through lithe.tokenizer, as under lithec.
bool applyPasses(MLIRContext &ctx, ModuleOp m, const std::string &passes, const std::string &tokenizer,
                 std::string &error) {
  if (passes.empty()) return true;
  PassManager pm(&ctx);
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (failed(parsePassPipeline(passes, pm, os))) {
    error = oneLine(os.str());
    return false;
  }
  std::string diag;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && diag.empty()) diag = d.str();
    return success();
  });
  m->setAttr("lithe.tokenizer", StringAttr::get(&ctx, tokenizer));
  LogicalResult ran = pm.run(m);
  m->removeAttr("lithe.tokenizer");
  if (failed(ran)) {
    error = diag.empty() ? "a pass failed" : oneLine(diag);
    return false;
  }
  return true;
}

/// What the cost model reads off a candidate's transformer-level module.
struct Features {
  int64_t ops = 0;      // transformer-level ops run per forward (not weights): kernel calls, roughly
  int64_t layers = 0, heads = 0;
  double mb32 = 0, mb8 = 0, mb16 = 0, mb4 = 0; // MB read per decoded token: f32, int8, bf16, int4
  int64_t weightBytes = 0, kvBytesPerToken = 0;
};

int64_t typeBytes(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return (t.getNumElements() * t.getElementTypeBitWidth() + 7) / 8; // i4: two a byte
}

/// `bf16`: lithec --precision=bf16, which stores every f32 linear weight and
/// LM-head table as bf16 below the transformer level (half the bytes).
Features features(ModuleOp m, int64_t kvPositions, bool bf16) {
  Features f;
  ModelSummary s = summarizeModel(m);
  f.layers = static_cast<int64_t>(s.layers.size());
  for (const auto &l : s.layers) f.heads += l.heads;
  f.kvBytesPerToken = s.kvBytesPerPosition;
  double b32 = static_cast<double>(s.kvBytesPerPosition) * static_cast<double>(kvPositions), b8 = 0, b16 = 0,
         b4 = 0;
  auto add = [&](Value w, bool matrix) {
    if (!w) return;
    auto t = cast<RankedTensorType>(w.getType());
    double bytes = static_cast<double>(typeBytes(w));
    if (t.getElementType().isInteger(8)) b8 += bytes;
    else if (t.getElementType().isInteger(4)) b4 += bytes;
    else if (bf16 && matrix && t.getElementType().isF32()) b16 += bytes / 2;
    else b32 += bytes;
  };
  func::FuncOp fn = modelFunction(m);
  // Weight bytes: distinct tensors some op still reads (a pass may leave a
  // dead lithe.weight behind; the binary's weights file has none of those).
  // bf16 stores the f32 linear weights and LM-head tables as bf16 (an
  // embedding reads that copy when it gathers from the head's own table;
  // another table, the positions' say, stays f32).
  std::set<std::string> used, halved;
  auto name = [](Value v) {
    auto w = v ? v.getDefiningOp<WeightOp>() : WeightOp();
    return w ? w.getName().str() : std::string();
  };
  if (fn && bf16)
    fn.walk([&](Operation *op) {
      Value v = isa<LinearOp>(op) ? cast<LinearOp>(op).getWeight()
                : isa<LMHeadOp>(op) ? cast<LMHeadOp>(op).getTable() : Value();
      if (v && cast<RankedTensorType>(v.getType()).getElementType().isF32() && !name(v).empty())
        halved.insert(name(v));
    });
  f.weightBytes = 0;
  if (fn)
    fn.walk([&](WeightOp w) {
      if (!w->use_empty() && used.insert(w.getName().str()).second)
        f.weightBytes += typeBytes(w.getResult()) / (halved.count(w.getName().str()) ? 2 : 1);
    });
  if (fn)
    fn.walk([&](Operation *op) {
      if (isa<WeightOp, ConstantOp, func::ReturnOp, func::FuncOp>(op)) return;
      ++f.ops;
      if (auto lin = dyn_cast<LinearOp>(op)) {
        add(lin.getWeight(), true), add(lin.getBias(), false), add(lin.getWeightScale(), false);
      } else if (auto head = dyn_cast<LMHeadOp>(op)) {
        add(head.getTable(), true), add(head.getBias(), false), add(head.getTableScale(), false);
      }
    });
  f.mb32 = b32 / 1e6, f.mb8 = b8 / 1e6, f.mb16 = b16 / 1e6, f.mb4 = b4 / 1e6;
  return f;
}

/// Mean next-token loss of `m` on `data` (exp: perplexity), with `observe`.
bool meanLoss(ModuleOp m, std::shared_ptr<WeightStore> store, const CalibrationData &data, const Observer &observe,
              double &loss, std::string &error, bool bf16 = false) {
  std::unique_ptr<Evaluator> ev = Evaluator::create(m, std::move(store), error, bf16);
  return ev && ev->meanNll(data, observe, loss, error);
}

/// Heads in increasing importance (loss rise when masked alone): the
/// ranking lithe-prune-heads{fraction=} computes.
struct HeadRank {
  struct Head {
    double importance;
    int64_t layer, head;
  };
  std::vector<Head> order;
  std::vector<int64_t> headsPerLayer;
  double baseLoss = 0;
};

bool rankHeads(ModuleOp m, std::shared_ptr<WeightStore> store, const CalibrationData &data, HeadRank &r,
               std::string &error) {
  func::FuncOp fn = modelFunction(m);
  std::vector<AttentionOp> layers = attentionLayers(fn);
  std::unique_ptr<Evaluator> ev = Evaluator::create(m, store, error);
  if (!ev || !ev->meanNll(data, nullptr, r.baseLoss, error)) return false;
  for (int64_t l = 0; l < static_cast<int64_t>(layers.size()); ++l) {
    Operation *at = layers[l];
    int64_t H = layers[l].getNumHeads(), d = layers[l].getHeadDim();
    r.headsPerLayer.push_back(H);
    for (int64_t h = 0; h < H; ++h) {
      Observer mask = [&](Operation *op, float *x, int64_t rows, int64_t cols) {
        if (op != at) return;
        for (int64_t i = 0; i < rows; ++i) std::fill(x + i * cols + h * d, x + i * cols + (h + 1) * d, 0.0f);
      };
      double loss = 0;
      if (!ev->meanNll(data, mask, loss, error)) return false;
      r.order.push_back({loss - r.baseLoss, l, h});
    }
  }
  std::stable_sort(r.order.begin(), r.order.end(),
                   [](const HeadRank::Head &a, const HeadRank::Head &b) { return a.importance < b.importance; });
  return true;
}

/// lithe-prune-heads' choice for `fraction`: the least important heads, at
/// least one left per layer, as its heads= option ("" when none).
std::string headsFor(const HeadRank &r, double fraction, int64_t &chosen) {
  int64_t target = static_cast<int64_t>(std::llround(fraction * static_cast<double>(r.order.size())));
  std::map<int64_t, std::set<int64_t>> plan;
  chosen = 0;
  for (const auto &h : r.order) {
    if (chosen == target) break;
    if (static_cast<int64_t>(plan[h.layer].size()) + 1 >= r.headsPerLayer[h.layer]) continue;
    plan[h.layer].insert(h.head);
    ++chosen;
  }
  std::string list;
  for (auto &[l, hs] : plan)
    if (!hs.empty()) list += (list.empty() ? "" : "/") + std::to_string(l) + ":" + formatIndexList(hs);
  return list;
}

/// Blocks in increasing loss rise when skipped alone: the ranking
/// lithe-drop-layers{metric=loss} computes.
bool rankLayers(ModuleOp m, std::shared_ptr<WeightStore> store, const CalibrationData &data,
                std::vector<int64_t> &order, std::string &error) {
  func::FuncOp fn = modelFunction(m);
  std::vector<AttentionOp> blocks = attentionLayers(fn);
  int64_t L = static_cast<int64_t>(blocks.size());
  std::vector<Value> stream;
  for (AttentionOp a : blocks) stream.push_back(blockInput(a));
  stream.push_back(finalResidual(fn));
  for (int64_t i = 0; i <= L; ++i)
    if (!stream[i] || !stream[i].getDefiningOp()) {
      error = "cannot find the residual stream " +
              (i < L ? "entering layer " + std::to_string(i) : std::string("leaving the last layer"));
      return false;
    }
  std::unique_ptr<Evaluator> ev = Evaluator::create(m, store, error);
  double base = 0;
  std::vector<std::pair<double, int64_t>> cost;
  if (!ev || !lossRiseBySkipping(*ev, data, stream, base, cost, error)) return false;
  std::stable_sort(cost.begin(), cost.end());
  order.clear();
  for (auto &c : cost) order.push_back(c.second);
  return true;
}

/// The search space: lithe-simplify's options, each a list of values.
struct Space {
  std::vector<bool> removeLN = {false, true};
  std::vector<double> prune = {0, 0.125, 0.25, 0.375, 0.5};
  std::vector<int64_t> keep; // default: L down to ceil(L/2)
  std::vector<int64_t> share = {1, 2};
  std::vector<std::string> weights = {"f32", "int8", "int4", "bf16"}; // weight types (kWeightTypes)
  std::vector<bool> fold; // default: true; false too for --objective=memory
  std::vector<std::string> kv = {"f32"}; // KV cache element types (lithe-kv-precision)
};

/// The weight types the search knows: int8 and int4 by lithe-quantize-weights
/// (int4: groups of 64, round to nearest, the LM head int8; int4-awq: the
/// same calibrated on --calibration, activation-aware), bf16 by lithec
/// --precision=bf16.
const char *const kWeightTypes[] = {"f32", "int8", "int4", "int4-awq", "bf16"};

bool parseSpace(const std::string &text, int64_t L, Space &s, std::string &error) {
  for (int64_t k = L; k >= (L + 1) / 2 && k >= 1; --k) s.keep.push_back(k);
  llvm::SmallVector<llvm::StringRef> items;
  llvm::StringRef(text).split(items, ' ', -1, false);
  auto bad = [&](llvm::StringRef item, const std::string &why) {
    error = "--search-space: '" + item.str() + "': " + why;
    return false;
  };
  for (llvm::StringRef item : items) {
    auto [key, list] = item.split('=');
    llvm::SmallVector<llvm::StringRef> vals;
    list.split(vals, ',', -1, false);
    if (vals.empty()) return bad(item, "want KEY=V,V,... (keys: remove-layernorm, prune-heads, keep-layers, "
                                       "share-kv, weights, quantize, fold-layernorm, kv-cache)");
    if (key == "remove-layernorm" || key == "quantize" || key == "fold-layernorm") {
      std::vector<bool> out;
      for (llvm::StringRef v : vals) {
        if (v != "true" && v != "false") return bad(item, "values are true or false");
        out.push_back(v == "true");
      }
      if (key == "quantize") { // the older spelling: false is f32, true int8
        s.weights.clear();
        for (bool q : out) s.weights.push_back(q ? "int8" : "f32");
      } else {
        (key == "fold-layernorm" ? s.fold : s.removeLN) = out;
      }
    } else if (key == "weights") {
      s.weights.clear();
      for (llvm::StringRef v : vals) {
        if (std::find(std::begin(kWeightTypes), std::end(kWeightTypes), v) == std::end(kWeightTypes))
          return bad(item, "values are f32, int8, int4, int4-awq or bf16");
        s.weights.push_back(v.str());
      }
    } else if (key == "kv-cache") {
      s.kv.clear();
      for (llvm::StringRef v : vals) {
        if (v != "f32" && v != "f16" && v != "int8") return bad(item, "values are f32, f16 or int8");
        s.kv.push_back(v.str());
      }
    } else if (key == "prune-heads") {
      s.prune.clear();
      for (llvm::StringRef v : vals) {
        double f;
        if (v.getAsDouble(f) || !(f >= 0 && f < 1)) return bad(item, "fractions in [0, 1)");
        s.prune.push_back(f);
      }
    } else if (key == "keep-layers" || key == "share-kv") {
      std::vector<int64_t> out;
      for (llvm::StringRef v : vals) {
        int64_t n;
        if (v.getAsInteger(10, n) || n < 1) return bad(item, "positive whole numbers");
        if (key == "keep-layers" && n > L)
          return bad(item, "the model has " + std::to_string(L) + " layers");
        out.push_back(n);
      }
      (key == "keep-layers" ? s.keep : s.share) = out;
    } else {
      return bad(item, "unknown key (keys: remove-layernorm, prune-heads, keep-layers, share-kv, weights, "
                           "quantize, fold-layernorm, kv-cache)");
    }
  }
  return true;
}

struct Timing {
  std::vector<double> decode, prefill;
  report::Spread decodeS, prefillS;
  int64_t weightBytes = 0, kvBytes = 0, threads = 0;
};

struct Candidate {
  int id = 0;
  bool removeLN = false, fold = true;
  std::string weights = "f32"; // weight type (kWeightTypes)
  double prune = 0;
  int64_t prunedHeads = 0, keep = 0, share = 1;
  std::string kv = "f32"; // KV cache element type
  std::string heads, layers; // explicit choices
  std::string label, pipeline, suffix; // suffix: the passes after the state's prefix
  std::string status = "not evaluated"; // ok | invalid: ... | not evaluated
  bool valid = true, evaluated = false, feasible = false, frontier = false, measured = false, calibrates = false;
  Features f;
  double predDecode = 0, predPrefill = 0, ppl = 0, binaryPpl = 0;
  Timing t;
  std::string exe;
  size_t state = 0;
};

/// One LayerNorm state: the reference module with (or without) calibrated
/// LayerNorm removal, and the weights file it reads.
struct State {
  bool removeLN = false;
  OwningOpRef<ModuleOp> module;
  std::string weights, prefix, error;
  HeadRank heads;
  bool haveHeads = false;
  std::map<std::string, std::vector<int64_t>> layerOrder; // by heads= list
  std::map<std::string, std::string> layerError;
};

/// lithec's flags for a candidate: its pipeline and, for bf16, the precision.
std::vector<std::string> compileFlags(const Candidate &c) {
  std::vector<std::string> flags;
  if (!c.pipeline.empty()) flags.insert(flags.end(), {"--pipeline", c.pipeline});
  if (c.weights == "bf16") flags.insert(flags.end(), {"--precision", "bf16"});
  return flags;
}

/// The same as a command line a user replays (quoted: a shell would
/// brace-expand heads={1:2,5/...}).
std::string replayFlags(const Candidate &c) {
  std::string s = "--pipeline=\"" + c.pipeline + "\"";
  if (c.weights == "bf16") s += " --precision=bf16";
  return s;
}

std::string simplifyLabel(const Candidate &c, int64_t L) {
  std::string s;
  auto add = [&](const std::string &p) { s += (s.empty() ? "" : " ") + p; };
  if (c.removeLN) add("remove-layernorm=true");
  if (c.prunedHeads) add("prune-heads=" + fmt("%g", c.prune));
  if (c.keep < L) add("keep-layers=" + std::to_string(c.keep));
  if (c.share > 1) add("share-kv=" + std::to_string(c.share));
  if (c.weights != "f32") add("weights=" + c.weights);
  if (c.kv != "f32") add("kv-cache=" + c.kv);
  if (s.empty()) return c.fold ? "exact (fold-layernorm)" : "unmodified (no passes)";
  return c.fold ? s : s + " fold-layernorm=false";
}

bool writeText(const std::string &path, const std::string &text, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = path + ": cannot write: " + ec.message();
    return false;
  }
  os << text;
  os.close();
  if (os.has_error()) {
    error = path + ": write failed: " + os.error().message();
    return false;
  }
  return true;
}

bool sameBytes(const std::string &a, const std::string &b) {
  auto x = llvm::MemoryBuffer::getFile(a, false, false), y = llvm::MemoryBuffer::getFile(b, false, false);
  return x && y && (*x)->getBuffer() == (*y)->getBuffer();
}

class Search {
public:
  explicit Search(const SearchOptions &o) : o(o) {}
  int run();

private:
  const SearchOptions &o;
  MLIRContext ctx;
  TempDir tmp;
  Clock::time_point start = Clock::now();
  std::string evalFile, tokenizer, adaptersPass, outDir;
  int64_t L = 0, context = 0, evalCtx = 0, kvPositions = 0;
  CalibrationData evalData, calibData;
  double refPpl = 0;
  std::vector<State> states;
  std::vector<Candidate> cands;
  std::vector<double> decodeFit, prefillFit;
  std::vector<int> calibrationSet, measuredSet;
  int evaluatedCount = 0, toEvaluate = 0, best = -1, chosen = -1;
  std::string fitNote;
  bool identical = false;
  double finalPpl = 0;
  std::string loadStart, loadEnd;

  std::string path(const std::string &name) const {
    llvm::SmallString<256> p(tmp.path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  bool prepareEval(std::string &error);
  bool build(const Candidate &c, OwningOpRef<ModuleOp> &m, std::shared_ptr<WeightStore> &store,
             std::string &error);
  bool compile(Candidate &c, std::string &error);
  bool timeAll(const std::vector<int> &ids, std::string &error);
  double score(const Candidate &c, bool measured) const;
  double objectiveBytes(const Candidate &c) const {
    return static_cast<double>(c.f.weightBytes) + static_cast<double>(c.f.kvBytesPerToken) * context;
  }
  void progress(const Candidate &c);
  bool writeOutputs(std::string &error);
};

bool Search::prepareEval(std::string &error) {
  // The bounded evaluation text: the first evalTokens tokens, cut back to a
  // line end. The Evaluator and every binary read this file whole.
  std::string terr, text;
  std::unique_ptr<rt::Tokenizer> tok = rt::Tokenizer::load(tokenizer, terr);
  if (!tok) {
    error = "tokenizer " + tokenizer + ": " + terr;
    return false;
  }
  if (!rt::readText(o.eval, text, terr)) {
    error = "--eval=" + o.eval + ": cannot read (" + terr + ")";
    return false;
  }
  std::vector<int32_t> ids;
  if (!tok->encode(text, ids, terr)) {
    error = "--eval=" + o.eval + ": " + terr;
    return false;
  }
  if (ids.size() < 16) {
    error = "--eval=" + o.eval + ": fewer than 16 tokens of text";
    return false;
  }
  if (static_cast<int64_t>(ids.size()) > o.evalTokens) {
    std::string prefix = tok->decode(std::vector<int32_t>(ids.begin(), ids.begin() + o.evalTokens));
    size_t nl = prefix.rfind('\n');
    if (nl != std::string::npos && nl > prefix.size() / 2) prefix.resize(nl + 1);
    text = prefix;
  }
  evalFile = path("search-eval.txt");
  if (!writeText(evalFile, text, error)) return false;
  return true;
}

bool Search::build(const Candidate &c, OwningOpRef<ModuleOp> &m, std::shared_ptr<WeightStore> &store,
                   std::string &error) {
  State &s = states[c.state];
  store = WeightStore::open(s.weights, error);
  if (!store) return false;
  setWeightStore(&ctx, store);
  m = cast<ModuleOp>(s.module->getOperation()->clone());
  return applyPasses(ctx, *m, c.suffix, tokenizer, error);
}

bool Search::compile(Candidate &c, std::string &error) {
  if (!c.exe.empty()) return true;
  llvm::SmallString<256> dir(path("bin"));
  llvm::sys::path::append(dir, "c" + std::to_string(c.id));
  if (auto ec = llvm::sys::fs::create_directories(dir)) {
    error = std::string(dir) + ": " + ec.message();
    return false;
  }
  std::string exe = std::string(dir) + "/model";
  std::vector<std::string> cmd = {o.lithec, o.model, "-o", exe};
  for (const std::string &f : compileFlags(c)) cmd.push_back(f);
  if (!runQuiet(cmd, "", exe + ".compile.log", error)) return false;
  c.exe = exe;
  // The binary's own perplexity on the same tokens (windows of evalCtx,
  // stride evalCtx): what the Evaluator figure must match.
  auto pj = runQuietJson({exe, "--perplexity", evalFile, "--ctx", std::to_string(evalCtx), "--stride",
                          std::to_string(evalCtx), "--json", "-t", std::to_string(o.threads)},
                         exe + ".perplexity.json", error);
  if (!pj) return false;
  const llvm::json::Object *p = pj->getAsObject();
  c.binaryPpl = p ? p->getNumber("perplexity").value_or(0) : 0;
  return true;
}

bool Search::timeAll(const std::vector<int> &ids, std::string &error) {
  auto bench = [&](Candidate &c, bool keep) -> bool {
    auto bj = runQuietJson({c.exe, "--bench", "--json", "-t", std::to_string(o.threads), "--bench-prompt",
                            std::to_string(o.benchPrompt), "--bench-tokens", std::to_string(o.benchTokens)},
                           c.exe + ".bench.json", error);
    if (!bj) return false;
    const llvm::json::Object *b = bj->getAsObject();
    double p50 = b ? b->getNumber("decode_ms_p50").value_or(0) : 0;
    double prefill = b ? b->getNumber("prefill_tokens_per_s").value_or(0) : 0;
    if (p50 <= 0 || prefill <= 0) {
      error = c.exe + ": the bench JSON lacks numbers";
      return false;
    }
    if (!keep) return true;
    c.t.decode.push_back(1000.0 / p50);
    c.t.prefill.push_back(prefill);
    c.t.weightBytes = b->getInteger("weight_bytes").value_or(0);
    c.t.kvBytes = b->getInteger("kv_bytes_per_token").value_or(0);
    c.t.threads = b->getInteger("threads").value_or(0);
    return true;
  };
  for (int id : ids) {
    cands[id].t = Timing();
    if (!bench(cands[id], false)) return false;
  }
  for (size_t k : report::interleavedOrder(ids.size(), o.runs))
    if (!bench(cands[ids[k]], true)) return false;
  for (int id : ids) {
    Candidate &c = cands[id];
    c.t.decodeS = report::spread(c.t.decode);
    c.t.prefillS = report::spread(c.t.prefill);
    c.measured = true;
  }
  return true;
}

double Search::score(const Candidate &c, bool measured) const {
  if (o.objective == "memory") return -objectiveBytes(c) / 1048576.0;
  if (o.objective == "prefill") return measured ? c.t.prefillS.median : c.predPrefill;
  return measured ? c.t.decodeS.median : c.predDecode;
}

void Search::progress(const Candidate &c) {
  double threshold = refPpl * (1 + o.budget);
  auto &os = llvm::errs();
  os << "lithec: --search: [" << evaluatedCount << "/" << toEvaluate << "] " << c.label << ": ";
  if (!c.evaluated) {
    os << c.status << "\n";
    return;
  }
  os << "perplexity " << llvm::format("%.3f", c.ppl) << " (" << llvm::format("%+.2f%%", 100 * (c.ppl / refPpl - 1))
     << (c.ppl <= threshold ? ", within" : ", over") << " budget), est. ";
  if (o.objective == "memory") os << llvm::format("%.2f MiB", objectiveBytes(c) / 1048576.0);
  else os << llvm::format("%.0f", o.objective == "prefill" ? c.predPrefill : c.predDecode) << " tok/s";
  os << "; best so far: ";
  if (best < 0) os << "none within budget\n";
  else os << cands[best].label << "\n";
}

int Search::run() {
  std::string error;
  llvm::SmallString<256> t;
  if (auto ec = llvm::sys::fs::createUniqueDirectory("lithec-search", t))
    return fail("cannot create a temporary directory: " + ec.message());
  tmp.path = std::string(t);
  outDir = llvm::sys::path::parent_path(o.out).str();
  if (outDir.empty()) outDir = ".";
  llvm::SmallString<256> tok(o.tokenizer);
  llvm::sys::fs::make_absolute(tok);
  tokenizer = std::string(tok);
  loadStart = report::loadAverage();

  ctx.loadDialect<LitheDialect, k::LitheKDialect, func::FuncDialect, arith::ArithDialect>();
  // 1. Import; fuse adapters: the reference.
  ImportOptions io;
  io.level = ImportLevel::Lithe;
  io.requireModel = true;
  io.weightsPath = path("import.lwt");
  ImportResult imported;
  if (!importOnnx(o.model, ctx, io, imported, error)) return fail(error);
  context = imported.context;
  evalCtx = std::min<int64_t>(o.ctx, context);
  kvPositions = o.benchPrompt + o.benchTokens / 2;
  OwningOpRef<ModuleOp> reference = std::move(imported.module);
  std::string refWeights = io.weightsPath;
  {
    std::shared_ptr<WeightStore> store = WeightStore::open(refWeights, error);
    if (!store) return fail(error);
    setWeightStore(&ctx, store);
    if (!o.adapters.empty()) {
      adaptersPass = "lithe-fuse-adapters{adapters=" + llvm::join(o.adapters, ",") + "}";
      if (!applyPasses(ctx, *reference, adaptersPass, tokenizer, error))
        return fail("--adapters: " + error);
      refWeights = path("adapted.lwt");
      if (!store->write(refWeights, referencedWeights(*reference), error)) return fail(error);
    }
  }
  L = static_cast<int64_t>(summarizeModel(*reference).layers.size());
  Space space;
  if (!parseSpace(o.space, L, space, error)) return fail(error);
  if (space.fold.empty()) space.fold = o.objective == "memory" ? std::vector<bool>{false, true} : std::vector<bool>{true};
  if (!prepareEval(error)) return fail(error);
  {
    std::shared_ptr<WeightStore> store = WeightStore::open(refWeights, error);
    if (!store) return fail(error);
    setWeightStore(&ctx, store);
    if (!loadCalibration(*reference, {evalFile, tokenizer, int64_t(1) << 40, evalCtx}, evalData, error))
      return fail("--eval=" + o.eval + ": " + error);
    if (!loadCalibration(*reference, {o.calibration, tokenizer, o.calibrationTokens, 256}, calibData, error))
      return fail("--calibration=" + o.calibration + ": " + error);
    double loss = 0;
    if (!meanLoss(*reference, store, evalData, nullptr, loss, error)) return fail(error);
    refPpl = std::exp(loss);
  }
  llvm::errs() << "lithec: --search: reference perplexity " << llvm::format("%.3f", refPpl) << " on "
               << evalData.tokens() << " tokens of " << llvm::sys::path::filename(o.eval)
               << (o.adapters.empty() ? "" : " (adapters fused)") << "; budget " << o.budgetText << ": at most "
               << llvm::format("%.3f", refPpl * (1 + o.budget)) << "\n";

  // 2. LayerNorm states, head importance, layer losses.
  bool anyPrune = std::any_of(space.prune.begin(), space.prune.end(), [](double f) { return f > 0; });
  bool anyDrop = std::any_of(space.keep.begin(), space.keep.end(), [&](int64_t k) { return k < L; });
  std::string calOpts = "calibration=" + o.calibration + " calibration-tokens=" + std::to_string(o.calibrationTokens);
  for (bool rm : space.removeLN) {
    State s;
    s.removeLN = rm;
    s.module = cast<ModuleOp>(reference->getOperation()->clone());
    s.weights = refWeights;
    if (rm) {
      s.prefix = "lithe-remove-layernorm{" + calOpts + "}";
      std::shared_ptr<WeightStore> store = WeightStore::open(refWeights, error);
      if (!store) return fail(error);
      setWeightStore(&ctx, store);
      if (!applyPasses(ctx, *s.module, s.prefix, tokenizer, s.error)) {
        llvm::errs() << "lithec: --search: LayerNorm removal fails (" << s.error << "); its candidates are skipped\n";
      } else {
        s.weights = path("state" + std::to_string(states.size()) + ".lwt");
        if (!store->write(s.weights, referencedWeights(*s.module), error)) return fail(error);
      }
    }
    states.push_back(std::move(s));
  }
  for (State &s : states) {
    if (!s.error.empty()) continue;
    auto t0 = Clock::now();
    std::shared_ptr<WeightStore> store = WeightStore::open(s.weights, error);
    if (!store) return fail(error);
    setWeightStore(&ctx, store);
    if (anyPrune) {
      if (!rankHeads(*s.module, store, calibData, s.heads, error))
        return fail("head importance: " + error);
      s.haveHeads = true;
      llvm::errs() << "lithec: --search: head importance" << (s.removeLN ? " (LayerNorm removed)" : "") << ": "
                   << s.heads.order.size() << " heads masked one at a time on " << calibData.tokens()
                   << " calibration tokens (" << llvm::format("%.1f", seconds(t0)) << " s)\n";
    }
    if (!anyDrop) continue;
    std::set<std::string> lists;
    for (double f : space.prune) {
      int64_t n = 0;
      lists.insert(f > 0 && s.haveHeads ? headsFor(s.heads, f, n) : "");
    }
    t0 = Clock::now();
    for (const std::string &heads : lists) {
      std::shared_ptr<WeightStore> st = WeightStore::open(s.weights, error);
      if (!st) return fail(error);
      setWeightStore(&ctx, st);
      OwningOpRef<ModuleOp> m = cast<ModuleOp>(s.module->getOperation()->clone());
      std::string lerr;
      if (!heads.empty() && !applyPasses(ctx, *m, "lithe-prune-heads{heads=" + heads + "}", tokenizer, lerr)) {
        s.layerError[heads] = lerr;
        continue;
      }
      std::vector<int64_t> order;
      if (!rankLayers(*m, st, calibData, order, lerr)) s.layerError[heads] = lerr;
      else s.layerOrder[heads] = order;
    }
    llvm::errs() << "lithec: --search: layer losses" << (s.removeLN ? " (LayerNorm removed)" : "") << ": "
                 << L << " blocks skipped one at a time for " << lists.size() << " pruned-head sets ("
                 << llvm::format("%.1f", seconds(t0)) << " s)\n";
  }

  // 3. Candidates: build each, read its shape.
  std::set<std::string> seen;
  auto t3 = Clock::now();
  // One candidate: the state's module, then the explicit passes.
  auto addCandidate = [&](size_t si, double f, int64_t k, int64_t g, const std::string &wt, bool fold,
                          const std::string &kv) {
    State &s = states[si];
    Candidate c;
    c.state = si, c.removeLN = s.removeLN, c.prune = f, c.keep = k, c.share = g, c.weights = wt;
    c.fold = fold, c.kv = kv;
    if (f > 0 && s.haveHeads) c.heads = headsFor(s.heads, f, c.prunedHeads);
    std::vector<std::string> suffix;
    if (!c.heads.empty()) suffix.push_back("lithe-prune-heads{heads=" + c.heads + "}");
    if (k < L) {
      auto it = s.layerOrder.find(c.heads);
      if (it == s.layerOrder.end()) {
        c.valid = false;
        auto e = s.layerError.find(c.heads);
        c.status = "invalid: layer losses: " + (e != s.layerError.end() ? e->second : s.error);
      } else {
        std::set<int64_t> drop(it->second.begin(), it->second.begin() + (L - k));
        c.layers = formatIndexList(drop);
        suffix.push_back("lithe-drop-layers{layers=" + c.layers + "}");
      }
    }
    if (g > 1) suffix.push_back("lithe-share-kv{group=" + std::to_string(g) + "}");
    // int4: groups of 64 inputs, or the largest power of two below that
    // dividing every linear's input width after the structural passes (a
    // pruned attention projection reads heads x head width).
    int64_t group = 64;
    if ((wt == "int4" || wt == "int4-awq") && c.valid) {
      Candidate probe = c;
      probe.suffix = llvm::join(suffix, ",");
      OwningOpRef<ModuleOp> m;
      std::shared_ptr<WeightStore> store;
      std::string perr;
      if (!build(probe, m, store, perr)) {
        c.valid = false, c.status = "invalid: " + perr;
      } else {
        modelFunction(*m).walk([&](LinearOp lin) {
          int64_t K = cast<RankedTensorType>(lin.getWeight().getType()).getDimSize(0);
          while (group >= 4 && K % group) group /= 2;
        });
        if (group < 4) c.valid = false, c.status = "invalid: no int4 group (4 to 64) divides every linear's input";
      }
    }
    const std::string q4 = "lithe-quantize-weights{bits=4 group=" + std::to_string(group);
    // int4-awq scales the LayerNorms feeding linears, so it runs before
    // folding them (which leaves quantized linears as they are).
    if (wt == "int4-awq") suffix.push_back(q4 + " method=awq " + calOpts + "}");
    if (fold) suffix.push_back("lithe-fold-layernorm");
    if (wt == "int8") suffix.push_back("lithe-quantize-weights");
    if (wt == "int4") suffix.push_back(q4 + "}");
    if (kv != "f32") suffix.push_back("lithe-kv-precision{type=" + kv + "}");
    c.suffix = llvm::join(suffix, ",");
    std::vector<std::string> all;
    if (!adaptersPass.empty()) all.push_back(adaptersPass);
    if (!s.prefix.empty()) all.push_back(s.prefix);
    if (!c.suffix.empty()) all.push_back(c.suffix);
    c.pipeline = llvm::join(all, ",");
    c.label = simplifyLabel(c, L);
    // (bf16 is the same pipeline with another lowering.)
    if (!seen.insert(c.pipeline + "|" + wt).second) return; // a fraction too small to prune a head, say
    if (!s.error.empty()) c.valid = false, c.status = "invalid: LayerNorm removal: " + s.error;
    if (c.valid) {
      OwningOpRef<ModuleOp> m;
      std::shared_ptr<WeightStore> store;
      std::string berr;
      if (!build(c, m, store, berr)) c.valid = false, c.status = "invalid: " + berr;
      else c.f = features(*m, kvPositions, wt == "bf16");
    }
    c.id = static_cast<int>(cands.size());
    cands.push_back(c);
  };
  for (size_t si = 0; si < states.size(); ++si)
    for (double f : space.prune)
      for (int64_t k : space.keep)
        for (int64_t g : space.share)
          for (const std::string &wt : space.weights)
            for (bool fold : space.fold)
              for (const std::string &kv : space.kv) addCandidate(si, f, k, g, wt, fold, kv);
  int valid = static_cast<int>(std::count_if(cands.begin(), cands.end(), [](auto &c) { return c.valid; }));
  llvm::errs() << "lithec: --search: " << cands.size() << " candidates, " << valid << " valid ("
               << llvm::format("%.1f", seconds(t3)) << " s to build them all)\n";
  if (valid == 0 || !cands[0].valid) return fail("the exact candidate (" + cands[0].pipeline + ") fails: " + cands[0].status);

  // 4. Cost model: corner candidates compiled and timed.
  auto find = [&](bool rm, bool maxPrune, bool minKeep, const std::string &wt) -> int {
    double f = maxPrune ? *std::max_element(space.prune.begin(), space.prune.end()) : 0.0;
    int64_t k = minKeep ? *std::min_element(space.keep.begin(), space.keep.end()) : L;
    for (const Candidate &c : cands)
      if (c.valid && c.removeLN == rm && c.prune == f && c.keep == k && c.share == 1 && c.weights == wt &&
          c.fold == space.fold.back() && c.kv == space.kv.front())
        return c.id;
    return -1;
  };
  // Corners that tell the terms apart: pruning heads cuts bytes but no ops,
  // dropping blocks cuts both, int8 moves bytes from f32 to int8; bf16 and
  // int4 (either method: the same bytes) their own.
  std::vector<int> corners = {find(false, false, false, "f32"), find(false, false, false, "int8"),
                              find(false, true, false, "int8"), find(false, false, true, "int8"),
                              find(false, true, true, "f32"), find(false, false, false, "bf16")};
  int int4 = find(false, false, false, "int4");
  corners.push_back(int4 >= 0 ? int4 : find(false, false, false, "int4-awq"));
  for (int id : corners)
    if (id >= 0 && std::find(calibrationSet.begin(), calibrationSet.end(), id) == calibrationSet.end())
      calibrationSet.push_back(id);
  if (calibrationSet.empty()) calibrationSet.push_back(0);
  auto t4 = Clock::now();
  for (int id : calibrationSet) {
    if (!compile(cands[id], error)) return fail("compiling " + cands[id].label + ": " + error);
    cands[id].calibrates = true;
  }
  if (!timeAll(calibrationSet, error)) return fail(error);
  {
    std::vector<std::vector<double>> A;
    std::vector<double> bd, bp;
    for (int id : calibrationSet) {
      const Candidate &c = cands[id];
      A.push_back({static_cast<double>(c.f.ops), c.f.mb32, c.f.mb8, c.f.mb16, c.f.mb4});
      bd.push_back(1000.0 / c.t.decodeS.median);
      bp.push_back(1000.0 / c.t.prefillS.median);
    }
    decodeFit = search::nnls(A, bd);
    prefillFit = search::nnls(A, bp);
  }
  auto predict = [](const std::vector<double> &fit, const Features &f) {
    double ms = fit[0] * static_cast<double>(f.ops) + fit[1] * f.mb32 + fit[2] * f.mb8 + fit[3] * f.mb16 +
                fit[4] * f.mb4;
    return ms > 0 ? 1000.0 / ms : 0.0;
  };
  for (Candidate &c : cands)
    if (c.valid) c.predDecode = predict(decodeFit, c.f), c.predPrefill = predict(prefillFit, c.f);
  // The terms of weight types the space has (the others are 0).
  auto terms = [&](const std::vector<double> &fit) {
    std::string t = llvm::formatv("{0:e3} x ops + {1:e3} x MB f32", fit[0], fit[1]).str();
    auto has = [&](std::initializer_list<const char *> types) {
      return std::any_of(types.begin(), types.end(), [&](const char *w) {
        return std::find(space.weights.begin(), space.weights.end(), w) != space.weights.end();
      });
    };
    if (has({"int8", "int4", "int4-awq"})) t += llvm::formatv(" + {0:e3} x MB int8", fit[2]).str();
    if (has({"bf16"})) t += llvm::formatv(" + {0:e3} x MB bf16", fit[3]).str();
    if (has({"int4", "int4-awq"})) t += llvm::formatv(" + {0:e3} x MB int4", fit[4]).str();
    return t;
  };
  fitNote = "decode ms/token = " + terms(decodeFit) + "; prefill ms/token = " + terms(prefillFit);
  llvm::errs() << "lithec: --search: cost model from " << calibrationSet.size() << " timed binaries ("
               << llvm::format("%.1f", seconds(t4)) << " s): " << fitNote << "\n";

  // 5. Perplexity, best predicted objective first (the exact one first).
  std::vector<int> order;
  for (const Candidate &c : cands)
    if (c.valid && c.id != 0) order.push_back(c.id);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return score(cands[a], false) > score(cands[b], false); });
  order.insert(order.begin(), 0);
  if (o.maxCandidates > 0 && static_cast<int>(order.size()) > o.maxCandidates) order.resize(o.maxCandidates);
  double threshold = refPpl * (1 + o.budget);
  toEvaluate = static_cast<int>(order.size());
  for (int id : order) {
    Candidate &c = cands[id];
    OwningOpRef<ModuleOp> m;
    std::shared_ptr<WeightStore> store;
    double loss = 0;
    ++evaluatedCount;
    if (!build(c, m, store, error) || !meanLoss(*m, store, evalData, nullptr, loss, error, c.weights == "bf16")) {
      c.valid = false, c.status = "invalid: " + error;
      progress(c);
      continue;
    }
    c.ppl = std::exp(loss);
    c.evaluated = true;
    c.status = "ok";
    // Within budget; the exact candidate also when it differs from the
    // reference by rounding only.
    c.feasible = c.ppl <= threshold || (c.id == 0 && c.ppl <= refPpl * (1 + 1e-6));
    if (c.feasible && (best < 0 || score(c, false) > score(cands[best], false))) best = c.id;
    progress(c);
  }
  if (best < 0) return fail("no candidate is within --budget=" + o.budgetText);

  // 6. The frontier, compiled and timed; the winner measured.
  std::vector<int> evaluated;
  std::vector<double> sc, pp;
  for (const Candidate &c : cands)
    if (c.evaluated) evaluated.push_back(c.id), sc.push_back(score(c, false)), pp.push_back(c.ppl);
  std::vector<size_t> front = search::paretoFront(sc, pp);
  std::vector<int> feasibleFront, otherFront;
  for (auto it = front.rbegin(); it != front.rend(); ++it) {
    Candidate &c = cands[evaluated[*it]];
    c.frontier = true;
    (c.feasible ? feasibleFront : otherFront).push_back(c.id);
  }
  // Feasible points by estimated objective (best first), then the others
  // nearest the budget (least perplexity first).
  for (int id : feasibleFront)
    if (static_cast<int>(measuredSet.size()) < std::max(1, o.measure)) measuredSet.push_back(id);
  std::reverse(otherFront.begin(), otherFront.end());
  for (int id : otherFront)
    if (static_cast<int>(measuredSet.size()) < o.measure) measuredSet.push_back(id);
  if (std::find(measuredSet.begin(), measuredSet.end(), best) == measuredSet.end()) measuredSet.push_back(best);
  auto t6 = Clock::now();
  for (int id : measuredSet)
    if (!compile(cands[id], error)) return fail("compiling " + cands[id].label + ": " + error);
  if (!timeAll(measuredSet, error)) return fail(error);
  llvm::errs() << "lithec: --search: timed " << measuredSet.size() << " frontier binaries ("
               << llvm::format("%.1f", seconds(t6)) << " s)\n";
  for (int id : measuredSet) {
    const Candidate &c = cands[id];
    if (!c.feasible) continue;
    if (chosen < 0 || score(c, true) > score(cands[chosen], true) ||
        (score(c, true) == score(cands[chosen], true) && c.ppl < cands[chosen].ppl))
      chosen = id;
  }
  loadEnd = report::loadAverage();

  // The chosen pipeline compiled to -o, as a user would replay it.
  Candidate &w = cands[chosen];
  std::vector<std::string> cmd = {o.lithec, o.model, "-o", o.out};
  for (const std::string &f : compileFlags(w)) cmd.push_back(f);
  if (!runQuiet(cmd, "", path("final.compile.log"), error)) return fail("compiling the chosen pipeline: " + error);
  identical = sameBytes(o.out + ".lwt", w.exe + ".lwt");
  auto pj = runQuietJson({o.out, "--perplexity", evalFile, "--ctx", std::to_string(evalCtx), "--stride",
                          std::to_string(evalCtx), "--json", "-t", std::to_string(o.threads)},
                         path("final.perplexity.json"), error);
  if (!pj) return fail(o.out + ": " + error);
  finalPpl = pj->getAsObject() ? pj->getAsObject()->getNumber("perplexity").value_or(0) : 0;
  if (!writeOutputs(error)) return fail(error);

  double agree = 100 * std::fabs(finalPpl / w.ppl - 1);
  llvm::errs() << "lithec: --search: chose " << w.label << ": perplexity " << llvm::format("%.3f", w.ppl) << " ("
               << llvm::format("%+.2f%%", 100 * (w.ppl / refPpl - 1)) << "; the binary's "
               << llvm::format("%.3f", finalPpl) << ", " << llvm::format("%.3f%%", agree) << " apart), decode "
               << llvm::format("%.0f", w.t.decodeS.median) << " tok/s measured"
               << (cands[0].measured ? " (exact: " + fmt("%.0f", cands[0].t.decodeS.median) + ")" : std::string())
               << (o.objective == "prefill" ? ", prefill " + fmt("%.0f", w.t.prefillS.median) + " tok/s" : std::string())
               << (o.objective == "memory" ? ", " + fmt("%.2f", objectiveBytes(w) / 1048576.0) +
                                                 " MiB of weights and full-context KV cache"
                                           : std::string())
               << ", "
               << evaluatedCount << " candidates evaluated in " << llvm::format("%.0f", seconds(start))
               << " s; wrote " << o.out << " and " << outDir << "/search.{md,json,svg}\n";
  if (!identical)
    llvm::errs() << "lithec: warning: --search: " << o.out << ".lwt differs from the search's own build of it\n";
  if (agree > 0.1)
    llvm::errs() << "lithec: warning: --search: the binary's perplexity is " << llvm::format("%.3f%%", agree)
                 << " away from the Evaluator's\n";
  llvm::outs() << replayFlags(w) << "\n";
  return 0;
}

bool Search::writeOutputs(std::string &error) {
  const Candidate &w = cands[chosen];
  double threshold = refPpl * (1 + o.budget);
  // Cost model error on the measured (frontier) binaries.
  double errSum = 0, errMax = 0, perrSum = 0, perrMax = 0;
  int n = 0;
  for (int id : measuredSet) {
    const Candidate &c = cands[id];
    double e = 100 * (c.predDecode / c.t.decodeS.median - 1), p = 100 * (c.predPrefill / c.t.prefillS.median - 1);
    errSum += std::fabs(e), errMax = std::max(errMax, std::fabs(e));
    perrSum += std::fabs(p), perrMax = std::max(perrMax, std::fabs(p));
    ++n;
  }
  double errMean = n ? errSum / n : 0, perrMean = n ? perrSum / n : 0;
  double wall = seconds(start);
  std::string host = report::cpuName() + ", " + std::to_string(std::thread::hardware_concurrency()) + " logical cores";

  // search.json
  llvm::json::Array arr;
  for (const Candidate &c : cands) {
    llvm::json::Object r{{"id", c.id},
                         {"label", c.label},
                         {"pipeline", c.pipeline},
                         {"status", c.status},
                         {"remove_layernorm", c.removeLN},
                         {"prune_heads", c.prune},
                         {"pruned_heads", c.prunedHeads},
                         {"heads", c.heads},
                         {"keep_layers", c.keep},
                         {"layers_dropped", c.layers},
                         {"share_kv", c.share},
                         {"weights", c.weights},
                         {"fold_layernorm", c.fold},
                         {"kv_cache", c.kv}};
    if (c.valid || c.evaluated) {
      r["kernel_ops"] = c.f.ops;
      r["mb_f32_per_token"] = c.f.mb32;
      r["mb_int8_per_token"] = c.f.mb8;
      r["mb_bf16_per_token"] = c.f.mb16;
      r["mb_int4_per_token"] = c.f.mb4;
      r["weight_bytes"] = c.f.weightBytes;
      r["kv_bytes_per_token"] = c.f.kvBytesPerToken;
      r["predicted_decode_tokens_per_s"] = c.predDecode;
      r["predicted_prefill_tokens_per_s"] = c.predPrefill;
    }
    if (c.evaluated) {
      r["perplexity"] = c.ppl;
      r["vs_reference_pct"] = 100 * (c.ppl / refPpl - 1);
      r["within_budget"] = c.feasible;
      r["frontier"] = c.frontier;
    }
    if (c.measured) {
      r["decode_tokens_per_s"] = c.t.decodeS.median;
      r["decode_tokens_per_s_min"] = c.t.decodeS.min;
      r["decode_tokens_per_s_max"] = c.t.decodeS.max;
      r["prefill_tokens_per_s"] = c.t.prefillS.median;
      r["binary_perplexity"] = c.binaryPpl;
      r["binary_weight_bytes"] = c.t.weightBytes;
      r["calibrates_cost_model"] = c.calibrates;
      // Timed in the final round, among which the winner is chosen (the
      // cost model's corners alone were timed in an earlier round).
      r["timed_for_choice"] = std::find(measuredSet.begin(), measuredSet.end(), c.id) != measuredSet.end();
    }
    r["chosen"] = c.id == chosen;
    arr.push_back(std::move(r));
  }
  llvm::json::Array adapters;
  for (const std::string &a : o.adapters) adapters.push_back(a);
  auto ids = [](const std::vector<int> &v) {
    llvm::json::Array a;
    for (int i : v) a.push_back(i);
    return a;
  };
  llvm::json::Object top{
      {"model", o.model},
      {"adapters", std::move(adapters)},
      {"eval_text", o.eval},
      {"eval_file", "search-eval.txt"},
      {"eval_tokens_scored", static_cast<int64_t>(evalData.tokens() - evalData.windows.size())},
      {"eval_ctx", evalCtx},
      {"model_context", context},
      {"calibration_text", o.calibration},
      {"calibration_tokens", calibData.tokens()},
      {"objective", o.objective},
      {"budget", o.budget},
      {"budget_text", o.budgetText},
      {"reference_pipeline", adaptersPass},
      {"reference_perplexity", refPpl},
      {"perplexity_limit", threshold},
      {"cost_model",
       llvm::json::Object{{"decode_ms_per_token", llvm::json::Object{{"per_op", decodeFit[0]},
                                                                    {"per_mb_f32", decodeFit[1]},
                                                                    {"per_mb_int8", decodeFit[2]}}},
                          {"prefill_ms_per_token", llvm::json::Object{{"per_op", prefillFit[0]},
                                                                     {"per_mb_f32", prefillFit[1]},
                                                                     {"per_mb_int8", prefillFit[2]}}},
                          {"calibration_candidates", ids(calibrationSet)},
                          {"kv_positions", kvPositions},
                          {"decode_error_pct_mean", errMean},
                          {"decode_error_pct_max", errMax},
                          {"prefill_error_pct_mean", perrMean},
                          {"prefill_error_pct_max", perrMax},
                          {"error_measured_on", ids(measuredSet)}}},
      {"timing", llvm::json::Object{{"runs", o.runs},
                                    {"warmup_rounds", 1},
                                    {"order", "interleaved"},
                                    {"bench_prompt_tokens", o.benchPrompt},
                                    {"bench_decode_tokens", o.benchTokens},
                                    {"threads", o.threads},
                                    {"decode_tokens_per_s", "1000 / the run's median per-token latency (ms)"}}},
      {"host", llvm::json::Object{{"cpu", host}, {"loadavg_before", loadStart}, {"loadavg_after", loadEnd}}},
      {"candidates_total", static_cast<int64_t>(cands.size())},
      {"candidates_evaluated", evaluatedCount},
      {"chosen",
       llvm::json::Object{{"id", w.id},
                          {"label", w.label},
                          {"pipeline", w.pipeline},
                          {"precision", w.weights == "bf16" ? "bf16" : "fp32"},
                          {"perplexity", w.ppl},
                          {"binary_perplexity", finalPpl},
                          {"binary_vs_evaluator_pct", 100 * (finalPpl / w.ppl - 1)},
                          {"decode_tokens_per_s", w.t.decodeS.median},
                          {"prefill_tokens_per_s", w.t.prefillS.median},
                          {"reference_decode_tokens_per_s", cands[0].measured ? cands[0].t.decodeS.median : 0.0},
                          {"weights_identical_to_search_build", identical}}},
      {"wall_seconds", wall},
      {"candidates", std::move(arr)}};

  // search.md
  std::string md;
  llvm::raw_string_ostream os(md);
  os << "# lithec --search: " << o.model << "\n\n";
  os << "- **Chosen** (" << o.objective << ", budget " << o.budgetText << "): " << w.label << "\n\n"
     << "  `" << replayFlags(w) << "`\n\n";
  os << "- **Perplexity**: reference " << llvm::format("%.3f", refPpl) << " ("
     << (o.adapters.empty() ? "the unmodified model" : "adapters fused: `" + adaptersPass + "`") << "), limit "
     << llvm::format("%.3f", threshold) << "; the chosen " << llvm::format("%.3f", w.ppl) << " ("
     << llvm::format("%+.2f%%", 100 * (w.ppl / refPpl - 1)) << "), its binary's `--perplexity` "
     << llvm::format("%.3f", finalPpl) << " (" << llvm::format("%+.4f%%", 100 * (finalPpl / w.ppl - 1))
     << " from the Evaluator's). Text: search-eval.txt, the first " << evalData.tokens() << " tokens of "
     << o.eval << " (cut at a line end), windows of " << evalCtx << " tokens, stride " << evalCtx << ".\n";
  os << "- **Speed**: decode " << llvm::format("%.0f", w.t.decodeS.median) << " tok/s, prefill "
     << llvm::format("%.0f", w.t.prefillS.median) << " tok/s measured for the chosen";
  if (cands[0].measured)
    os << ", " << llvm::format("%.0f", cands[0].t.decodeS.median) << " and "
       << llvm::format("%.0f", cands[0].t.prefillS.median) << " for the exact one";
  os << "; weights " << llvm::format("%.2f", w.t.weightBytes / 1048576.0) << " MiB, KV cache "
     << w.t.kvBytes << " bytes per token (the binary's)";
  os << " (median of " << o.runs << " interleaved `--bench` runs after a warm-up round, " << o.threads
     << " thread(s), " << o.benchPrompt << "-token prompt, " << o.benchTokens << " decoded; host " << host
     << ", load " << loadStart << " before, " << loadEnd << " after).\n";
  os << "- **Cost model**: " << fitNote << "; fitted (non-negative least squares) on " << calibrationSet.size()
     << " compiled binaries; against the " << measuredSet.size() << " measured frontier binaries its decode estimate is off by "
     << llvm::format("%.1f", errMean) << "% on average (at most " << llvm::format("%.1f", errMax) << "%), prefill "
     << llvm::format("%.1f", perrMean) << "% (at most " << llvm::format("%.1f", perrMax) << "%).\n";
  os << "- **Calibration**: head importance and layer losses measured once per model state on "
     << calibData.tokens() << " tokens of " << o.calibration << ".\n";
  os << "- **Search**: " << evaluatedCount << " of " << cands.size() << " candidates evaluated in "
     << llvm::format("%.0f", wall) << " s; `" << o.out << ".lwt` is " << (identical ? "" : "NOT ")
     << "byte-identical to the search's own build of the chosen pipeline.\n\n";
  os << "| # | candidate | perplexity | vs reference | est. decode tok/s | measured decode tok/s [min–max] | est. "
        "prefill tok/s | measured prefill tok/s | weight MiB | KV bytes/token | |\n";
  os << "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n";
  std::vector<const Candidate *> rows;
  for (const Candidate &c : cands)
    if (c.evaluated) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(), [](auto *a, auto *b) { return a->ppl < b->ppl; });
  for (const Candidate *c : rows) {
    os << "| " << c->id << " | " << c->label << " | " << llvm::format("%.3f", c->ppl) << " | "
       << llvm::format("%+.2f%%", 100 * (c->ppl / refPpl - 1)) << " | " << llvm::format("%.0f", c->predDecode)
       << " | ";
    if (c->measured)
      os << llvm::format("%.0f", c->t.decodeS.median) << " [" << llvm::format("%.0f", c->t.decodeS.min) << "–"
         << llvm::format("%.0f", c->t.decodeS.max) << "]";
    os << " | " << llvm::format("%.0f", c->predPrefill) << " | ";
    if (c->measured) os << llvm::format("%.0f", c->t.prefillS.median);
    os << " | " << llvm::format("%.2f", c->f.weightBytes / 1048576.0) << " | " << c->f.kvBytesPerToken << " | ";
    std::vector<std::string> tags;
    if (c->id == chosen) tags.push_back("**chosen**");
    if (c->frontier) tags.push_back("frontier");
    if (!c->feasible) tags.push_back("over budget");
    if (c->calibrates) tags.push_back("cost model");
    os << llvm::join(tags, ", ") << " |\n";
  }
  std::vector<const Candidate *> skipped;
  for (const Candidate &c : cands)
    if (!c.evaluated) skipped.push_back(&c);
  if (!skipped.empty()) {
    os << "\nNot evaluated (" << skipped.size() << "):";
    for (const Candidate *c : skipped) os << " " << c->id << " " << c->label << " (" << c->status << ");";
    os << "\n";
  }
  os << "\nPipelines:\n\n";
  for (const Candidate *c : rows) os << "- " << c->id << ": `" << replayFlags(*c) << "`\n";

  // Staged beside their targets, renamed together at the end.
  std::string pid = std::to_string(::getpid());
  struct Out {
    std::string tmp, dst;
  };
  std::vector<Out> outs;
  auto stage = [&](const std::string &name, const std::string &text) -> bool {
    llvm::SmallString<256> dst(outDir);
    llvm::sys::path::append(dst, name);
    Out f{std::string(dst) + ".tmp" + pid, std::string(dst)};
    outs.push_back(f);
    return writeText(f.tmp, text, error);
  };
  auto cleanup = [&] {
    for (const Out &f : outs) llvm::sys::fs::remove(f.tmp);
  };
  std::string json;
  llvm::raw_string_ostream js(json);
  js << llvm::formatv("{0:2}", llvm::json::Value(std::move(top))) << "\n";
  auto evalText = llvm::MemoryBuffer::getFile(evalFile);
  if (!evalText) {
    error = evalFile + ": cannot read";
    return false;
  }
  if (!stage("search.json", js.str()) || !stage("search.md", os.str()) ||
      !stage("search-eval.txt", (*evalText)->getBuffer().str())) {
    cleanup();
    return false;
  }
  // The plot, drawn from the staged JSON by bench/plot_search.py.
  llvm::SmallString<256> svg(outDir);
  llvm::sys::path::append(svg, "search.svg");
  Out plot{std::string(svg) + ".tmp" + pid + ".svg", std::string(svg)};
  std::string why;
  auto py = llvm::sys::findProgramByName("python3");
  if (o.plotScript.empty() || !llvm::sys::fs::exists(o.plotScript)) why = "bench/plot_search.py not found";
  else if (!py) why = "python3 not found";
  else if (!runQuiet({*py, o.plotScript, outs[0].tmp, "-o", plot.tmp}, path("plot.log"), path("plot.err"), why))
    why = "bench/plot_search.py: " + why;
  if (why.empty()) outs.push_back(plot);
  else
    llvm::errs() << "lithec: warning: --search: search.svg not drawn (" << why << "); draw it with "
                 << "python3 bench/plot_search.py " << outDir << "/search.json\n";
  for (const Out &f : outs)
    if (auto ec = llvm::sys::fs::rename(f.tmp, f.dst)) {
      error = f.dst + ": cannot write: " + ec.message();
      cleanup();
      return false;
    }
  return true;
}

namespace cl = llvm::cl;

cl::OptionCategory searchCategory("lithec --search options");
cl::opt<bool> searchFlag("search",
                         cl::desc("Find the pipeline (lithe-simplify's options) that maximises --objective with "
                                  "perplexity on --eval within --budget, compile it to -o and write "
                                  "DIR/search.{md,json,svg} beside it"),
                         cl::cat(searchCategory));
cl::opt<std::string> budgetFlag("budget", cl::desc("--search: perplexity rise allowed over the reference, e.g. +2%"),
                                cl::value_desc("+N%"), cl::cat(searchCategory));
cl::opt<std::string> calibrationFlag("calibration",
                                     cl::desc("--search: text head importance and layer losses are measured on"),
                                     cl::value_desc("file"), cl::cat(searchCategory));
cl::opt<std::string> evalFlag("eval", cl::desc("--search: text perplexity is measured on (held out)"),
                              cl::value_desc("file"), cl::cat(searchCategory));
cl::opt<std::string> objectiveFlag("objective",
                                   cl::desc("--search: what to maximise: decode (tokens/s, default), prefill "
                                            "(tokens/s) or memory (least weight + full-context KV bytes)"),
                                   cl::init("decode"), cl::cat(searchCategory));
cl::opt<std::string> adaptersFlag("adapters",
                                  cl::desc("--search: PEFT adapter directories (comma-separated) fused first; "
                                           "the budget is then relative to the adapted model"),
                                  cl::value_desc("dir,..."), cl::cat(searchCategory));
cl::opt<std::string> spaceFlag("search-space",
                               cl::desc("--search: the values to try, e.g. \"prune-heads=0,0.25 keep-layers=6,5 "
                                        "share-kv=1,2 weights=f32,int8 remove-layernorm=false\" (default: "
                                        "prune-heads 0..0.5 by 1/8, keep-layers L..L/2, share-kv 1,2, "
                                        "weights f32,int8,int4,bf16, remove-layernorm both ways, kv-cache f32; "
                                        "weights=int4-awq adds calibrated int4 (costly: calibration per candidate), "
                                        "kv-cache=f32,f16,int8 tries the KV cache types too; quantize=false,true is "
                                        "weights=f32,int8)"),
                               cl::cat(searchCategory));
cl::opt<int> maxCandidatesFlag("search-max-candidates",
                               cl::desc("--search: evaluate at most N candidates, best estimated first (0: all)"),
                               cl::init(0), cl::cat(searchCategory));
cl::opt<int64_t> evalTokensFlag("search-eval-tokens", cl::desc("--search: tokens of --eval scored (default 4096)"),
                                cl::init(4096), cl::cat(searchCategory));
cl::opt<int64_t> calibrationTokensFlag("search-calibration-tokens",
                                       cl::desc("--search: tokens of --calibration used (default 1024)"),
                                       cl::init(1024), cl::cat(searchCategory));
cl::opt<int> measureFlag("search-measure",
                         cl::desc("--search: frontier binaries compiled and timed (default 5)"), cl::init(5),
                         cl::cat(searchCategory));
cl::opt<int> runsFlag("search-runs", cl::desc("--search: timed --bench runs per binary, interleaved (default 3)"),
                      cl::init(3), cl::cat(searchCategory));
cl::opt<int> threadsFlag("search-threads", cl::desc("--search: threads for the binaries' runs (default 1)"),
                         cl::init(1), cl::cat(searchCategory));

} // namespace

llvm::cl::OptionCategory &searchOptionCategory() { return searchCategory; }

int searchMain(const SearchDriver &d) {
  cl::Option *all[] = {&searchFlag,    &budgetFlag,        &calibrationFlag,       &evalFlag,
                       &objectiveFlag, &adaptersFlag,      &spaceFlag,             &maxCandidatesFlag,
                       &evalTokensFlag, &calibrationTokensFlag, &measureFlag,      &runsFlag,
                       &threadsFlag};
  if (!searchFlag) {
    for (cl::Option *opt : all)
      if (opt->getNumOccurrences())
      {
        llvm::errs() << "lithec: error: --" << opt->ArgStr << " applies to --search only (give --search, or drop it)\n";
        return 1;
      }
    return -1;
  }
  // Everything checked before the minutes of work; one line naming the flag.
  if (!d.conflict.empty()) return fail(d.conflict + " does not go with --search (it chooses the passes and compiles an executable)");
  if (budgetFlag.empty()) return fail("give --budget=+N% (the perplexity rise allowed, e.g. +2%)");
  std::optional<double> budget = parseBudget(budgetFlag);
  if (!budget) return fail("--budget=" + budgetFlag + ": want a perplexity rise in percent, such as +2%");
  if (evalFlag.empty()) return fail("give --eval=FILE (the text perplexity is measured on)");
  if (calibrationFlag.empty())
    return fail("give --calibration=FILE (the text head importance and layer losses are measured on)");
  if (objectiveFlag != "decode" && objectiveFlag != "prefill" && objectiveFlag != "memory")
    return fail("--objective=" + objectiveFlag + ": want decode, prefill or memory");
  if (d.out.empty() || d.out == "-") return fail("give -o OUT (the executable the chosen pipeline compiles to)");
  if (evalTokensFlag < 16) return fail("--search-eval-tokens must be at least 16");
  if (calibrationTokensFlag < 2) return fail("--search-calibration-tokens must be at least 2");
  if (maxCandidatesFlag < 0) return fail("--search-max-candidates must not be negative");
  if (measureFlag < 1) return fail("--search-measure must be at least 1");
  if (runsFlag < 1) return fail("--search-runs must be at least 1");
  if (threadsFlag < 0) return fail("--search-threads must not be negative");
  if (!llvm::sys::fs::is_regular_file(d.model)) return fail(d.model + ": no such model file");
  for (auto [flag, file] : {std::pair<const char *, std::string>{"--eval", evalFlag},
                            std::pair<const char *, std::string>{"--calibration", calibrationFlag}})
    if (!llvm::sys::fs::is_regular_file(file) || ::access(file.c_str(), R_OK) != 0)
      return fail(std::string(flag) + "=" + file + ": no such readable file");
  SearchOptions o;
  llvm::SmallVector<llvm::StringRef> dirs;
  llvm::StringRef(adaptersFlag).split(dirs, ',', -1, false);
  for (llvm::StringRef a : dirs) {
    if (!llvm::sys::fs::is_directory(a.trim())) return fail("--adapters: " + a.trim().str() + ": no such directory");
    o.adapters.push_back(a.trim().str());
  }
  if (d.tokenizer.empty()) return fail(d.model + ": no tokenizer/ directory beside the model (the texts need one)");
  llvm::StringRef outDir = llvm::sys::path::parent_path(d.out);
  if (outDir.empty()) outDir = ".";
  if (!llvm::sys::fs::is_directory(outDir)) return fail("-o " + d.out + ": directory '" + outDir.str() + "' does not exist");
  if (::access(outDir.str().c_str(), W_OK) != 0) return fail("-o " + d.out + ": directory '" + outDir.str() + "' is not writable");
  for (const std::string &in : {d.model, evalFlag.getValue(), calibrationFlag.getValue()}) {
    bool same = false;
    if (!llvm::sys::fs::equivalent(in, d.out, same) && same) return fail("-o " + d.out + ": is an input; refusing to overwrite it");
  }
  o.lithec = llvm::sys::fs::getMainExecutable(d.argv0.c_str(), reinterpret_cast<void *>(&fail));
  o.model = d.model;
  o.tokenizer = d.tokenizer;
  o.calibration = calibrationFlag;
  o.eval = evalFlag;
  o.budget = *budget;
  o.budgetText = budgetFlag;
  o.objective = objectiveFlag;
  o.out = d.out;
  o.space = spaceFlag;
  o.maxCandidates = maxCandidatesFlag;
  o.evalTokens = evalTokensFlag;
  o.calibrationTokens = calibrationTokensFlag;
  o.measure = measureFlag;
  o.runs = runsFlag;
  o.threads = threadsFlag;
#ifdef LITHE_SOURCE_DIR
  o.plotScript = LITHE_SOURCE_DIR "/bench/plot_search.py";
#endif
  if (const char *p = std::getenv("LITHE_PLOT_SEARCH")) o.plotScript = p;
  {
    // A bad --search-space is found before the import (seconds on GPT-2).
    Space probe;
    std::string error;
    if (!parseSpace(o.space, 1 << 20, probe, error)) return fail(error);
  }
  return runSearch(o);
}

int runSearch(const SearchOptions &options) {
  Search s(options);
  return s.run();
}

} // namespace lithe
