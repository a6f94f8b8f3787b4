//===- lithec.cpp - the Lithe compiler driver -----------------------------===//
//
//   lithec MODEL.onnx -o out/model                      native executable
//                                                       + out/model.lwt
//   lithec MODEL.onnx --emit=onnx|lithe [-o OUT.mlir]   import and print IR
//   lithec MODEL.onnx --emit=kernel|llvm|obj [-o OUT]   kernel-level program
//                                                       (lithe_k), LLVM IR,
//                                                       object file
//   lithec M.mlir -o out/model                          the same from a
//                                                       transformer- or
//                                                       kernel-level module
//   lithec --describe MODEL.onnx                        what the model is
//
// With --emit=onnx|lithe|kernel and -o, the IR goes to OUT.mlir and the
// weights it references to OUT.lwt (named by the module's lithe.weights
// attribute).
// Without -o the IR is printed to stdout and weights are written only with
// --weights=FILE. An executable finds its tokenizer in tokenizer/ beside it,
// copied from the model's directory when one is there.
// Errors are one line naming the file and the node or flag at fault; nothing
// is left half-written.
//
//===----------------------------------------------------------------------===//

#include "Report.h"
#include "Search.h"
#include "lithe/Codegen.h"
#include "lithe/Dialect.h"
#include "lithe/Import.h"
#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/ModelSummary.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <set>
#include <fcntl.h>
#include <unistd.h>

namespace cl = llvm::cl;

namespace {

enum class Emit { Onnx, Lithe, Kernel, LLVM, Obj, Exe };

cl::OptionCategory category("lithec options");
cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx|model.onnxtext>"),
                               cl::cat(category));
cl::opt<Emit> emit("emit", cl::desc("Stage to stop at (default: exe)"), cl::init(Emit::Exe),
                   cl::values(clEnumValN(Emit::Onnx, "onnx", "one lithe.onnx op per ONNX node"),
                              clEnumValN(Emit::Lithe, "lithe", "transformer-level lithe ops"),
                              clEnumValN(Emit::Kernel, "kernel", "kernel-level program (LLVM-dialect calls into the runtime)"),
                              clEnumValN(Emit::LLVM, "llvm", "LLVM IR of the kernel-level program"),
                              clEnumValN(Emit::Obj, "obj", "object file"),
                              clEnumValN(Emit::Exe, "exe", "executable linked with the runtime")),
                   cl::cat(category));
cl::opt<int64_t> capacity("capacity", cl::desc("Context length compiled in (default: the model's)"),
                          cl::init(0), cl::cat(category));
cl::opt<std::string> precision("precision",
                               cl::desc("What the f32 weights become in the binary: fp32 (default) or bf16 "
                                        "(half the bytes; AVX512-BF16 dot products where the CPU has them); "
                                        "with --target=cuda: fp16 (default), bf16 or fp32"),
                               cl::init("fp32"), cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("What the executable runs on: cpu (default) or cuda (an NVIDIA GPU of compute "
                                     "capability 8.0 or newer; --precision fp16 (default), bf16 or fp32 weights, int8 "
                                     "ones from lithe-quantize-weights kept; f16 KV cache)"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<std::string> modelName("model-name",
                              cl::desc("C identifier naming the model's symbols (lithe_NAME_query), so "
                                       "several compiled models link into one program (default: model)"),
                              cl::init("model"));
cl::opt<std::string> outputPath("o", cl::desc("Output IR file (weights go beside it, .lwt)"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> weightsPath("weights", cl::desc("Write the weights file here"),
                                 cl::value_desc("file"), cl::cat(category));
cl::opt<bool> describe("describe", cl::desc("Print what the model is and exit"),
                       cl::cat(category));
cl::opt<std::string> reportDir("report",
                               cl::desc("Compile one binary per --report-pipelines entry (plus the unmodified "
                                        "model), measure perplexity and speed, write DIR/report.{md,json,svg}"),
                               cl::value_desc("dir"), cl::cat(category));
cl::opt<std::string> reportPipelines("report-pipelines",
                                     cl::desc("Entries separated by '|': NAME=PASSES, or NAME@MODEL=PASSES "
                                              "and NAME@MODEL for another model file (an LN-free variant); "
                                              "NAME=PASSES --draft=DRAFT times speculative decoding with a draft; "
                                              "--precision=bf16 in an entry compiles it with bf16 weights"),
                                     cl::value_desc("list"), cl::cat(category));
cl::opt<std::string> reportText("report-text", cl::desc("Evaluation text for --report"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<int64_t> reportCtx("report-ctx", cl::desc("Perplexity window for --report (default: the model's context)"),
                           cl::init(0), cl::cat(category));
cl::opt<int64_t> reportStride("report-stride", cl::desc("Perplexity stride for --report"), cl::init(0),
                              cl::cat(category));
cl::opt<int> reportRuns("report-runs",
                        cl::desc("Timed --bench runs per --report row, interleaved across rows (median, min-max)"),
                        cl::init(5), cl::cat(category));
cl::opt<int64_t> reportBenchTokens("report-bench-tokens",
                                   cl::desc("Tokens each --report speed run decodes (after a 128-token prompt)"),
                                   cl::init(32), cl::cat(category));
cl::opt<int> reportThreads("report-threads", cl::desc("Threads for --report's runs (default: all cores)"),
                           cl::init(0), cl::cat(category));
cl::opt<std::string> reportSpeedModel("report-speed-model",
                                      cl::desc("Measure --report speed on this larger model of the same family "
                                               "(perplexity still from each row's model)"),
                                      cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> reportSpeedPipelines("report-speed-pipelines",
                                          cl::desc("NAME=PASSES entries separated by '|': the passes a row runs on "
                                                   "--report-speed-model (default: its own without adapters)"),
                                          cl::value_desc("list"), cl::cat(category));
cl::opt<std::string> pipeline("pipeline",
                              cl::desc("Passes to run on the transformer-level module, as for "
                                       "lithe-opt --pass-pipeline (e.g. lithe-fold-layernorm)"),
                              cl::value_desc("passes"), cl::cat(category));

cl::opt<std::string> draftPipeline("draft",
                                   cl::desc("Also compile a speculative-decoding draft of the same model made by "
                                            "these passes (e.g. lithe-quantize-weights) into the executable; its "
                                            "weights go into OUT.lwt beside the model's, shared tensors stored once (runtime: --draft-tokens K)"),
                                   cl::value_desc("passes"), cl::cat(category));

cl::opt<bool> allowNonFinite("allow-non-finite",
                             cl::desc("Accept NaN or Inf in weights and adapters (refused by default: "
                                      "they make every output garbage)"),
                             cl::cat(category));

int fail(const std::string &msg) {
  llvm::errs() << "lithec: error: " << msg << "\n";
  return 1;
}

std::string human(int64_t bytes) {
  char buf[64];
  if (bytes >= (int64_t(1) << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  return buf;
}

void replaceAll(std::string &s, const std::string &from, const std::string &to);

/// importOnnx with MLIR's diagnostics captured: a module that fails to
/// verify (a mismatch raising did not catch) is one line with the verifier's
/// reason, not the reason on one line and "internal error" on the next.
bool importModel(mlir::MLIRContext &ctx, const lithe::ImportOptions &opts, lithe::ImportResult &result,
                 std::string &error) {
  std::string diag;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && diag.empty()) diag = d.str();
    return mlir::success();
  });
  if (lithe::importOnnx(inputPath, ctx, opts, result, error)) return true;
  if (!diag.empty()) {
    for (char &c : diag)
      if (c == '\n') c = ' ';
    replaceAll(error, "internal error: the imported module does not verify", "the imported module does not verify: " + diag);
  }
  return false;
}

/// Errors of the weights writer name the tensor, not the model: prefix it.
std::string withInput(const std::string &error) {
  return llvm::StringRef(error).starts_with(inputPath.getValue()) ? error : inputPath + ": " + error;
}

int runDescribe(mlir::MLIRContext &ctx) {
  lithe::ImportOptions opts;
  opts.requireModel = true; // never "layers: 0" with exit 0
  lithe::ImportResult result;
  std::string error;
  if (!importModel(ctx, opts, result, error))
    return fail(withInput(error));
  lithe::ModelSummary s = lithe::summarizeModel(*result.module);
  auto &os = llvm::outs();
  os << "model: " << inputPath << "\n";
  os << "producer: " << (result.producer.empty() ? "unknown" : result.producer) << ", opset "
     << result.opset << ", " << result.onnxNodes << " nodes\n";
  os << "layers: " << s.layers.size() << "\n";
  os << "heads:";
  for (const auto &l : s.layers) os << " " << l.heads;
  os << "\nhead_dim: " << (s.layers.empty() ? 0 : s.layers[0].headDim) << "\n";
  os << "width: " << s.width << "\n";
  os << "context: " << result.context << "\n";
  os << "vocab: " << s.vocab << "\n";
  os << "tied_head: " << (s.tiedHead ? "yes" : "no") << "\n";
  // LayerNorm: present, absent, or disabled (huge epsilon, as in published
  // LN-free checkpoints).
  int64_t lns = 0, disabled = 0;
  double eps = 0;
  result.module->walk([&](lithe::LayerNormOp op) {
    ++lns;
    eps = op.getEpsilon().convertToDouble();
    if (eps >= 1e6) ++disabled;
  });
  os << "layer_norm: ";
  if (lns == 0) os << "absent\n";
  else if (disabled == lns) os << "disabled (" << lns << " nodes with epsilon >= 1e6)\n";
  else if (disabled) os << "partly disabled (" << disabled << " of " << lns << ")\n";
  else os << "present (" << lns << ", epsilon " << llvm::format("%g", eps) << ")\n";
  os << "parameters: " << s.parameters << "\n";
  os << "weight_bytes: " << s.weightBytes << " (" << human(s.weightBytes)
     << ") after de-duplication, " << result.initializerBytes << " ("
     << human(result.initializerBytes) << ") in the ONNX file\n";
  os << "kv_bytes_per_token: " << s.kvBytesPerPosition << "\n";
  os << "generic_ops: " << result.genericNodes.size() << "\n";
  for (const std::string &n : result.genericNodes) os << "  not raised: " << n << "\n";
  for (const std::string &n : result.notes) os << "note: " << n << "\n";
  return 0;
}

/// tokenizer/ in the model's directory or the one above it (variants of a
/// model often sit in a subdirectory); empty if neither has one.
std::string findTokenizerDir() {
  llvm::StringRef modelDir = llvm::sys::path::parent_path(inputPath.getValue());
  for (llvm::StringRef dir : {modelDir, llvm::sys::path::parent_path(modelDir)}) {
    llvm::SmallString<256> candidate(dir.empty() ? "." : dir);
    llvm::sys::path::append(candidate, "tokenizer");
    if (llvm::sys::fs::is_directory(candidate)) return std::string(candidate);
  }
  return "";
}

/// Attaches the import's weights as the store passes read and write, then
/// runs --pipeline over the module. The data-driven passes find the model's
/// tokenizer through the `lithe.tokenizer` attribute, set while they run.
/// Returns false with `error` set.
bool runPipeline(mlir::MLIRContext &ctx, mlir::ModuleOp module, const std::string &weights,
                 std::string &error, const std::string &pipeline = ::pipeline) {
  std::shared_ptr<lithe::WeightStore> store = lithe::WeightStore::open(weights, error);
  if (!store) return false;
  lithe::setWeightStore(&ctx, store);
  if (pipeline.empty()) return true;
  mlir::PassManager pm(&ctx);
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (failed(mlir::parsePassPipeline(pipeline, pm, os))) {
    error = "--pipeline: " + os.str();
    for (char &c : error)
      if (c == '\n') c = ' ';
    return false;
  }
  // Diagnostics of failing passes become the one-line error.
  std::string diag;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && diag.empty()) diag = d.str();
    return mlir::success();
  });
  llvm::SmallString<256> tok(findTokenizerDir());
  if (!tok.empty()) {
    llvm::sys::fs::make_absolute(tok);
    module->setAttr("lithe.tokenizer", mlir::StringAttr::get(&ctx, tok));
  }
  mlir::LogicalResult ran = pm.run(module);
  module->removeAttr("lithe.tokenizer");
  if (failed(ran)) {
    error = "--pipeline " + pipeline + ": " + (diag.empty() ? "a pass failed" : diag);
    return false;
  }
  if (!store->checkFinite(lithe::referencedWeights(module), error)) {
    error = "--pipeline " + pipeline + ": " + error;
    return false;
  }
  return true;
}

/// Removes the files in `paths` when it goes out of scope.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const std::string &p : paths) llvm::sys::fs::remove(p);
  }
};

void replaceAll(std::string &s, const std::string &from, const std::string &to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

/// The files this compile reads: the model and every existing path named in
/// --pipeline (adapter directories and their files, calibration text,
/// tokenizer). An output may be none of them, not even through a hard link.
std::vector<std::string> inputFiles() {
  std::vector<std::string> in = {inputPath};
  llvm::SmallVector<llvm::StringRef> tokens;
  std::string p = pipeline + "," + draftPipeline;
  for (char &c : p)
    if (c == '{' || c == '}' || c == ' ' || c == '=' || c == ',' || c == '\'' || c == '"') c = '\n';
  llvm::StringRef(p).split(tokens, '\n', -1, false);
  for (llvm::StringRef t : tokens) {
    if (llvm::sys::fs::is_regular_file(t)) in.push_back(t.str());
    else if (llvm::sys::fs::is_directory(t)) {
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(t, ec), end; !ec && it != end; it.increment(ec))
        if (llvm::sys::fs::is_regular_file(it->path())) in.push_back(it->path());
    }
  }
  // External data files beside the model: an .onnx names each one in a
  // StringStringEntry {key: "location", value: NAME}, i.e. the bytes
  // "location" 0x12 len NAME. Files of the model's directory whose names
  // appear that way are inputs too.
  if (auto buf = llvm::MemoryBuffer::getFile(inputPath.getValue(), /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false)) {
    llvm::StringRef bytes = (*buf)->getBuffer();
    llvm::StringRef modelDir = llvm::sys::path::parent_path(inputPath.getValue());
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(modelDir.empty() ? "." : modelDir, ec), end; !ec && it != end;
         it.increment(ec)) {
      llvm::StringRef name = llvm::sys::path::filename(it->path());
      if (name.empty() || name.size() > 127) continue;
      std::string key = std::string("location") + char(0x12) + char(name.size()) + name.str();
      if (bytes.contains(key)) in.push_back(it->path());
    }
  }
  if (std::string tok = findTokenizerDir(); !tok.empty()) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(tok, ec), end; !ec && it != end; it.increment(ec))
      in.push_back(it->path());
  }
  return in;
}

/// Final outputs, each written to a temporary beside it (same directory, so
/// the rename is atomic) and renamed only when everything succeeded. Until
/// commit(), destruction removes the temporaries and any directory created
/// for them: a failed compile leaves nothing behind and no existing file
/// changed.
class Outputs {
public:
  /// Checks `path` can be written and is no input; returns its temporary.
  bool add(const std::string &path, std::string &temp, std::string &error) {
    if (llvm::sys::fs::is_directory(path)) {
      error = path + ": is a directory (give the output file's path)";
      return false;
    }
    llvm::SmallString<256> dir(llvm::sys::path::parent_path(path));
    if (dir.empty()) dir = ".";
    if (!llvm::sys::fs::is_directory(dir)) {
      error = path + ": cannot write: directory '" + std::string(dir) + "' does not exist";
      return false;
    }
    if (::access(dir.c_str(), W_OK) != 0) {
      error = path + ": cannot write: directory '" + std::string(dir) + "' is not writable";
      return false;
    }
    for (const std::string &in : inputs_) {
      bool same = false;
      if (!llvm::sys::fs::equivalent(in, path, same) && same) {
        error = path + ": is an input of this compile" + (in == path ? "" : " ('" + in + "', same file)") +
                "; refusing to overwrite it";
        return false;
      }
    }
    for (const File &f : files_)
      if (f.path == path) {
        error = path + ": named twice as an output";
        return false;
      }
    temp = path + ".tmp" + std::to_string(::getpid());
    // access() says yes to root everywhere; a file system may still say no
    // (read-only, sysfs): try, so a bad -o fails before any work.
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      error = path + ": cannot write: directory '" + std::string(dir) + "' is not writable (" +
              std::strerror(errno) + ")";
      return false;
    }
    ::close(fd);
    ::unlink(temp.c_str());
    files_.push_back({path, temp});
    return true;
  }
  /// Creates `dir` if missing (removed again unless committed).
  bool makeDir(const std::string &dir, std::string &error) {
    if (llvm::sys::fs::is_directory(dir)) return true;
    if (auto ec = llvm::sys::fs::create_directory(dir)) {
      error = dir + ": cannot create directory: " + ec.message();
      return false;
    }
    dirs_.push_back(dir);
    return true;
  }
  /// Error text names the user's paths, never a temporary.
  std::string userPaths(std::string msg) const {
    for (const File &f : files_) replaceAll(msg, f.temp, f.path);
    return msg;
  }
  /// Renames every temporary to its final path (all or, on failure, those
  /// already renamed stay: the rename of files in one directory only fails
  /// on a concurrent change).
  bool commit(std::string &error) {
    for (const File &f : files_)
      if (auto ec = llvm::sys::fs::rename(f.temp, f.path)) {
        error = f.path + ": cannot write: " + ec.message();
        return false;
      }
    committed_ = true;
    return true;
  }
  ~Outputs() {
    if (committed_) return;
    for (const File &f : files_) llvm::sys::fs::remove(f.temp);
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) llvm::sys::fs::remove(*it);
  }
  void setInputs(std::vector<std::string> in) { inputs_ = std::move(in); }

private:
  struct File {
    std::string path, temp;
  };
  std::vector<File> files_;
  std::vector<std::string> dirs_;
  std::vector<std::string> inputs_;
  bool committed_ = false;
};

/// Failure injection for tests of the no-partial-output guarantee:
/// LITHEC_INJECT_FAILURE=STAGE makes the compile fail at STAGE (import,
/// codegen, link, tokenizer, commit) as if that step had failed.
bool injected(const char *stage) {
  const char *v = std::getenv("LITHEC_INJECT_FAILURE");
  return v && std::strcmp(v, stage) == 0;
}

/// Physical memory of this machine in bytes (0 if unknown).
uint64_t physicalMemory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

std::string gib(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  return buf;
}

/// Prints `module` to `tmp` (staged for `out`, which errors name).
bool printModule(mlir::ModuleOp module, const std::string &tmp, const std::string &out, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream file(tmp, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = out + ": cannot write: " + ec.message();
    return false;
  }
  module.print(file);
  file << "\n";
  file.close();
  if (file.has_error()) {
    error = out + ": write failed: " + file.error().message();
    return false;
  }
  return true;
}

bool isMlirInput() { return llvm::StringRef(inputPath.getValue()).ends_with(".mlir"); }

/// A transformer-level module written by `lithec --emit=lithe` or
/// `lithe-opt`, with the weights file its `lithe.weights` attribute names
/// (relative to the module's directory). `weights` gets that file's path.
bool loadMlir(mlir::MLIRContext &ctx, lithe::ImportResult &result, std::string &weights,
              std::string &error) {
  std::string diag;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && diag.empty()) {
      diag = d.str();
      if (auto fl = mlir::dyn_cast<mlir::FileLineColLoc>(d.getLocation()))
        diag = std::to_string(fl.getLine()) + ":" + std::to_string(fl.getColumn()) + ": " + diag;
    }
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceFile<mlir::ModuleOp>(inputPath, &ctx);
  if (!module) {
    error = inputPath + ":" + (diag.empty() ? " cannot parse" : diag);
    return false;
  }
  auto attr = (*module)->getAttrOfType<mlir::StringAttr>(lithe::LitheDialect::kWeightsAttrName);
  if (!attr) {
    error = inputPath + ": the module names no weights file (attribute lithe.weights)";
    return false;
  }
  llvm::SmallString<256> w(attr.getValue());
  if (!llvm::sys::path::is_absolute(w)) {
    llvm::SmallString<256> dir(llvm::sys::path::parent_path(inputPath.getValue()));
    llvm::sys::path::append(dir, w);
    w = dir;
  }
  if (!llvm::sys::fs::exists(w)) {
    error = inputPath + ": its weights file " + std::string(w) + " does not exist";
    return false;
  }
  weights = std::string(w);
  result.module = std::move(module);
  return true;
}

int runCodegen(mlir::MLIRContext &ctx) {
  if (capacity < 0) return fail("--capacity must be positive");
  if (target != "cpu" && target != "cuda") return fail("--target: unknown '" + target + "' (known: cpu, cuda)");
  if (target == "cuda") {
    if (precision.getNumOccurrences() && precision != "fp16" && precision != "bf16" && precision != "fp32")
      return fail("--precision: unknown '" + precision + "' for --target=cuda (known: fp16, the default; bf16; fp32)");
    if (!draftPipeline.empty()) return fail("--draft: speculative decoding is not on --target=cuda yet");
    if (emit == Emit::Exe && !lithe::canLinkCuda())
      return fail("--target=cuda: this lithec was built without CUDA (nvcc was not found when it was built), so it "
                  "cannot link the executable; --emit=kernel|llvm|obj still work");
  } else if (lithe::WeightPrecision p; !lithe::parseWeightPrecision(precision, p)) {
    return fail("--precision: unknown '" + precision + "' (known: " + lithe::kWeightPrecisionNames + ")");
  }
  if (!weightsPath.empty())
    return fail("--weights applies to --emit=onnx|lithe; an executable's weights file is written beside it (OUT.lwt)");
  if (outputPath.empty() && emit != Emit::LLVM && emit != Emit::Kernel)
    return fail("give -o OUT: the executable (or object file) to write");
  {
    const std::string &n = modelName;
    bool ident = !n.empty() && !std::isdigit(static_cast<unsigned char>(n[0]));
    for (char c : n) ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ident) return fail("--model-name '" + n + "' is not a C identifier (letters, digits, _)");
  }
  std::string out = outputPath;
  bool toStdout = out.empty() || out == "-";
  std::string error;
  // Every output is checked and staged before any work: a bad -o fails in
  // milliseconds and leaves nothing behind.
  Outputs outputs;
  outputs.setInputs(inputFiles());
  std::string outTmp, lwtTmp;
  if (!toStdout && !outputs.add(out, outTmp, error)) return fail(error);
  // An executable or an object file for embedding maps OUT.lwt.
  if ((emit == Emit::Exe || emit == Emit::Obj) && !outputs.add(out + ".lwt", lwtTmp, error))
    return fail(error);
  // --draft: a second model, "draft", linked into the same executable.
  if (!draftPipeline.empty()) {
    if (emit != Emit::Exe) return fail("--draft applies to executables (--emit=exe)");
    if (modelName == "draft") return fail("--model-name draft is the --draft model's name: choose another");
  }
  std::string base = out;
  if (toStdout) {
    llvm::SmallString<256> tmp;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    llvm::sys::path::append(tmp, "lithec");
    base = std::string(tmp);
  }
  TempFiles temps;
  std::string pid = std::to_string(::getpid());
  std::string srcWeights = base + ".src.lwt.tmp" + pid;
  std::string obj = base + ".o.tmp" + pid;
  temps.paths = {srcWeights, obj};
  // Names of intermediates are the compiler's business: errors name OUT.
  auto failOut = [&](std::string msg) {
    replaceAll(msg, srcWeights, out + " (the imported weights)");
    replaceAll(msg, obj, out + " (the object file)");
    return fail(outputs.userPaths(msg));
  };

  lithe::ImportOptions opts;
  opts.level = lithe::ImportLevel::Lithe;
  opts.requireModel = true; // name the first node not raised, not a codegen symptom
  opts.weightsPath = srcWeights;
  lithe::ImportResult result;
  if (isMlirInput()) {
    // The module's own weights file is read, never removed.
    if (!loadMlir(ctx, result, srcWeights, error)) return fail(error);
    temps.paths = {obj};
  } else if (!importModel(ctx, opts, result, error)) {
    return failOut(withInput(error));
  }
  if (injected("import")) return failOut(srcWeights + ": injected failure");
  if (!runPipeline(ctx, *result.module, srcWeights, error)) return failOut(inputPath + ": " + error);

  lithe::CodegenOptions cg;
  cg.sourceWeights = srcWeights;
  cg.outputWeights = emit == Emit::Exe || emit == Emit::Obj ? lwtTmp : base + ".lwt.tmp" + pid;
  if (emit != Emit::Exe && emit != Emit::Obj) temps.paths.push_back(cg.outputWeights);
  cg.modelName = modelName;
  cg.objectPath = obj;
  cg.capacity = capacity;
  cg.precision = target == "cuda" && !precision.getNumOccurrences() ? "" : precision.getValue();
  cg.target = target;
  if (emit == Emit::Kernel && !toStdout) {
    // OUT.mlir and the weights it references (packed ones included) in
    // OUT.lwt: lithec OUT.mlir compiles it.
    llvm::SmallString<256> w(out);
    llvm::sys::path::replace_extension(w, "lwt");
    std::string wTmp;
    if (!outputs.add(std::string(w), wTmp, error)) return fail(error);
    lithe::CodegenReport kreport;
    if (!lithe::lowerToKernelLevel(*result.module, cg, kreport, error)) return failOut(inputPath + ": " + error);
    std::shared_ptr<lithe::WeightStore> store = lithe::getWeightStore(*result.module, error);
    if (!store || !store->write(wTmp, lithe::referencedWeights(*result.module), error))
      return failOut(inputPath + ": " + error);
    (*result.module)
        ->setAttr(lithe::LitheDialect::kWeightsAttrName,
                  mlir::StringAttr::get(&ctx, llvm::sys::path::filename(w)));
    if (!printModule(*result.module, outTmp, out, error)) return failOut(error);
    if (!outputs.commit(error)) return fail(error);
    return 0;
  }
  if (emit == Emit::LLVM || emit == Emit::Kernel) {
    std::string ir;
    bool ok = emit == Emit::LLVM ? lithe::generateLLVMIR(*result.module, cg, ir, error)
                                 : lithe::generateKernelIR(*result.module, cg, ir, error);
    if (!ok) return failOut(inputPath + ": " + error);
    if (toStdout) {
      llvm::outs() << ir;
      return 0;
    }
    std::error_code ec;
    llvm::raw_fd_ostream file(outTmp, ec, llvm::sys::fs::OF_Text);
    if (ec) return failOut(out + ": cannot write: " + ec.message());
    file << ir;
    file.close();
    if (file.has_error()) return failOut(out + ": write failed: " + file.error().message());
    if (!outputs.commit(error)) return fail(error);
    return 0;
  }
  lithe::CodegenReport report;
  std::vector<std::string> objects = {obj};
  int64_t sharedBytes = 0;
  if (draftPipeline.empty()) {
    if (!lithe::generateObject(*result.module, cg, report, error)) return failOut(inputPath + ": " + error);
  } else {
    // --draft: the model to the kernel level; then the draft, the same model
    // imported again and transformed by --draft, with its own symbols
    // (lithe_draft_query, weak lithe_main_draft_query) and KV cache, for the
    // model's capacity; then one weights file for both, every tensor they
    // share stored once.
    if (!lithe::lowerToKernelLevel(*result.module, cg, report, error)) return failOut(inputPath + ": " + error);
    std::shared_ptr<lithe::WeightStore> store = lithe::getWeightStore(*result.module, error);
    if (!store) return failOut(inputPath + ": " + error);
    std::string draftSrc = base + ".draft.src.lwt.tmp" + pid, draftObj = base + ".draft.o.tmp" + pid;
    temps.paths.push_back(draftSrc);
    temps.paths.push_back(draftObj);
    auto failDraft = [&](std::string msg) {
      replaceAll(msg, draftSrc, out + " (the draft's imported weights)");
      replaceAll(msg, draftObj, out + " (the draft's object file)");
      return failOut(msg);
    };
    lithe::ImportResult draft;
    lithe::ImportOptions dopts = opts;
    dopts.weightsPath = draftSrc;
    if (!lithe::importOnnx(inputPath, ctx, dopts, draft, error)) return failDraft(withInput(error));
    if (!runPipeline(ctx, *draft.module, draftSrc, error, draftPipeline)) {
      // The pass errors name --pipeline; here they are --draft's.
      if (llvm::StringRef(error).starts_with("--pipeline")) error = error.substr(10);
      return failDraft(inputPath + ": --draft" + error);
    }
    lithe::CodegenOptions dcg = cg;
    dcg.sourceWeights = draftSrc;
    dcg.objectPath = draftObj;
    dcg.modelName = "draft";
    dcg.mainQuery = "lithe_main_draft_query";
    dcg.capacity = report.capacity;
    lithe::CodegenReport dreport;
    if (!lithe::lowerToKernelLevel(*draft.module, dcg, dreport, error))
      return failDraft(inputPath + ": --draft: " + error);
    std::shared_ptr<lithe::WeightStore> dstore = lithe::getWeightStore(*draft.module, error);
    if (!dstore) return failDraft(inputPath + ": --draft: " + error);
    if (!lithe::writeSharedWeights({{*result.module, store, modelName}, {*draft.module, dstore, "draft"}},
                                   cg.outputWeights, sharedBytes, error))
      return failDraft(error);
    if (!lithe::emitObject(*result.module, cg, report, error)) return failOut(inputPath + ": " + error);
    if (!lithe::emitObject(*draft.module, dcg, dreport, error)) return failDraft(inputPath + ": --draft: " + error);
    objects.push_back(draftObj);
  }
  if (injected("codegen")) return failOut(cg.outputWeights + ": injected failure");
  // What the binary maps and allocates for one sequence: the weights file,
  // the activation arena, the final hidden states and a full KV cache.
  {
    double width = 0;
    uint64_t lwtBytes = 0;
    if (std::unique_ptr<lithe::WeightsFile> f = lithe::WeightsFile::open(cg.outputWeights, error))
      lwtBytes = f->size();
    width = static_cast<double>(report.width);
    double kv = static_cast<double>(report.kvBytesPerPosition) * report.capacity;
    double need = kv + static_cast<double>(report.arenaBytes) + static_cast<double>(lwtBytes) +
                  4.0 * width * report.capacity;
    uint64_t have = physicalMemory();
    if (have && need > static_cast<double>(have))
      return failOut(out + ": the binary would need " + llvm::formatv("{0:F0}", need).str() + " bytes (" + gib(need) +
                     ") at run time with a context of " + std::to_string(report.capacity) + " tokens (KV cache " +
                     gib(kv) + ", activations " + gib(report.arenaBytes) + ", weights " + gib(lwtBytes) +
                     "); this machine has " + gib(have) + ": give a smaller --capacity");
  }
  if (emit == Emit::Obj) {
    if (auto ec = llvm::sys::fs::rename(obj, outTmp)) return failOut(out + ": cannot write: " + ec.message());
    if (!outputs.commit(error)) return fail(error);
    return 0;
  }
  if (!lithe::linkExecutable(objects, outTmp, error, target)) return failOut(error);
  if (injected("link")) return failOut(outTmp + ": injected failure");
  // The tokenizer goes beside the executable, staged like the other outputs.
  llvm::SmallString<256> tokSrc(findTokenizerDir());
  llvm::SmallString<256> tokDst(llvm::sys::path::parent_path(out));
  llvm::sys::path::append(tokDst, "tokenizer");
  bool sameTok = false;
  if (!tokSrc.empty() && llvm::sys::fs::is_directory(tokDst))
    llvm::sys::fs::equivalent(tokSrc, tokDst, sameTok);
  if (!tokSrc.empty() && tokSrc != tokDst && !sameTok) {
    if (!outputs.makeDir(std::string(tokDst), error)) return failOut(error);
    for (const char *f : {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "LICENSE"}) {
      llvm::SmallString<256> from(tokSrc), to(tokDst);
      llvm::sys::path::append(from, f);
      llvm::sys::path::append(to, f);
      if (!llvm::sys::fs::exists(from)) continue;
      std::string toTmp;
      if (!outputs.add(std::string(to), toTmp, error)) return failOut(error);
      if (auto ec = llvm::sys::fs::copy_file(from, toTmp)) return failOut(std::string(to) + ": cannot write: " + ec.message());
      if (injected("tokenizer")) return failOut(toTmp + ": injected failure");
    }
  }
  if (injected("commit")) return failOut(outTmp + ": injected failure");
  if (!outputs.commit(error)) return fail(error);
  llvm::errs() << "lithec: wrote " << out << " and " << out << ".lwt"
               << (draftPipeline.empty() ? "" : " (model and draft: " + std::to_string(sharedBytes) +
                                                    " bytes of weights shared, stored once)")
               << " (" << report.kernelCalls << " kernel calls, " << report.fusedEpilogues
               << " fused epilogues, context " << report.capacity << ", " << report.arenaBytes
               << " bytes of activations)\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  lithe::registerLithePasses();
  lithe::registerLithePipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  cl::HideUnrelatedOptions({&category, &lithe::searchOptionCategory()});
  // --mlir-print-debuginfo shows each op's ONNX node (its location).
  mlir::registerAsmPrinterCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "Lithe: ahead-of-time compiler for GPT-2-class ONNX models\n");
  if (inputPath.empty())
    return fail("no input model given (usage: lithec MODEL.onnx [--emit=onnx|lithe] [-o OUT.mlir] | --describe MODEL.onnx)");

  lithe::setAllowNonFinite(allowNonFinite);

  // lithec --search (Search.cpp, where its flags are defined).
  {
    const char *conflict = emit.getNumOccurrences() ? "--emit" : !pipeline.empty() ? "--pipeline"
                           : !reportDir.empty() ? "--report" : !draftPipeline.empty() ? "--draft"
                           : target.getNumOccurrences() ? "--target"
                           : describe ? "--describe" : !weightsPath.empty() ? "--weights" : "";
    int rc = lithe::searchMain({argv[0], inputPath, outputPath, findTokenizerDir(), conflict});
    if (rc >= 0) return rc;
  }

  if (!reportDir.empty()) {
    if (target.getNumOccurrences()) return fail("--report measures CPU binaries: --target does not apply");
    lithe::ReportOptions r;
    r.lithec = llvm::sys::fs::getMainExecutable(argv[0], reinterpret_cast<void *>(&fail));
    r.model = inputPath;
    r.text = reportText;
    r.outDir = reportDir;
    r.ctx = reportCtx;
    r.stride = reportStride;
    r.runs = reportRuns;
    r.threads = reportThreads;
    r.benchTokens = reportBenchTokens;
    r.speedModel = reportSpeedModel;
    llvm::SmallVector<llvm::StringRef> speedEntries;
    llvm::StringRef(reportSpeedPipelines).split(speedEntries, '|', -1, false);
    for (llvm::StringRef e : speedEntries) {
      auto [name, passes] = e.split('=');
      if (name.trim().empty() || !e.contains('='))
        return fail("--report-speed-pipelines: bad entry '" + e.str() + "' (want NAME=PASSES, separated by '|')");
      r.speedPipelines[name.trim().str()] = passes.trim().str();
    }
    llvm::SmallVector<llvm::StringRef> entries;
    llvm::StringRef(reportPipelines).split(entries, '|', -1, false);
    for (llvm::StringRef e : entries) {
      // NAME=PASSES, NAME@MODEL=PASSES or NAME@MODEL (another model file as it is).
      auto [head, passes] = e.split('=');
      auto [name, model] = head.split('@');
      name = name.trim(), model = model.trim(), passes = passes.trim();
      if (name.empty() || name.contains('/') || (passes.empty() && model.empty()))
        return fail("--report-pipelines: bad entry '" + e.str() +
                    "' (want NAME=PASSES, NAME@MODEL=PASSES or NAME@MODEL, separated by '|')");
      r.pipelines.push_back({name.str(), model.str(), passes.str()});
    }
    // Everything --report can check without compiling is checked before the
    // baseline is compiled and measured (minutes on a real model).
    if (reportText.empty()) return fail("--report: give --report-text FILE (the evaluation text)");
    if (!llvm::sys::fs::is_regular_file(reportText.getValue()))
      return fail("--report: --report-text " + reportText + ": no such file");
    if (::access(reportText.c_str(), R_OK) != 0)
      return fail("--report: --report-text " + reportText + ": cannot read");
    if (!llvm::sys::fs::is_regular_file(inputPath.getValue()))
      return fail(inputPath + ": no such model file");
    std::set<std::string> names = {"baseline"};
    mlir::MLIRContext pctx;
    pctx.loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
    for (const auto &e : r.pipelines) {
      if (!names.insert(e.name).second)
        return fail("--report: pipeline '" + e.name + "': the name is used twice");
      if (!e.model.empty() && !llvm::sys::fs::is_regular_file(e.model))
        return fail("--report: pipeline '" + e.name + "': " + e.model + ": no such model file");
      // The model's passes and, for a speculative row, the draft's.
      auto [noPrecision, precision] = lithe::report::splitPrecision(e.passes);
      lithe::WeightPrecision wp;
      if (!precision.empty() && !lithe::parseWeightPrecision(precision, wp))
        return fail("--report: pipeline '" + e.name + "': --precision=" + precision + ": want one of " +
                    lithe::kWeightPrecisionNames);
      auto [passes, draft] = lithe::report::splitDraft(noPrecision);
      for (const std::string &p : {passes, draft}) {
        if (p.empty()) continue;
        mlir::PassManager pm(&pctx);
        std::string msg;
        llvm::raw_string_ostream os(msg);
        if (failed(mlir::parsePassPipeline(p, pm, os))) {
          for (char &c : msg)
            if (c == '\n') c = ' ';
          return fail("--report: pipeline '" + e.name + "': " + (p == draft ? "--draft: " : "") +
                      llvm::StringRef(msg).trim().str());
        }
      }
    }
    return lithe::runReport(r);
  }

  mlir::MLIRContext ctx;
  ctx.loadDialect<lithe::LitheDialect, lithe::k::LitheKDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect>();
  if (describe)
    return runDescribe(ctx);

  if (emit == Emit::Kernel || emit == Emit::LLVM || emit == Emit::Obj || emit == Emit::Exe)
    return runCodegen(ctx);
  if (precision.getNumOccurrences())
    return fail("--precision applies to compiled stages (--emit=kernel|llvm|obj|exe)");
  if (target.getNumOccurrences())
    return fail("--target applies to compiled stages (--emit=kernel|llvm|obj|exe)");

  lithe::ImportOptions opts;
  opts.level = emit == Emit::Onnx ? lithe::ImportLevel::Onnx : lithe::ImportLevel::Lithe;
  if (!pipeline.empty() && emit == Emit::Onnx)
    return fail("--pipeline runs on the transformer level: use --emit=lithe");
  std::string out = outputPath.empty() ? "-" : outputPath.getValue();
  std::string weights = weightsPath;
  if (weights.empty() && out != "-") {
    llvm::SmallString<256> w(out);
    llvm::sys::path::replace_extension(w, "lwt");
    weights = std::string(w);
  }
  // Both outputs are staged beside their targets and renamed together at
  // the end; the module names the final weights file.
  Outputs outputs;
  outputs.setInputs(inputFiles());
  std::string error, outTmp, weightsTmp;
  if (out != "-" && !outputs.add(out, outTmp, error)) return fail(error);
  if (!weights.empty() && !outputs.add(weights, weightsTmp, error)) return fail(error);
  // With passes, the import's weights go to a temporary first; the passes'
  // results are then written to `weights`.
  std::string importWeights = weightsTmp;
  TempFiles temps;
  if (!pipeline.empty()) {
    llvm::SmallString<256> tmp;
    llvm::sys::path::system_temp_directory(true, tmp);
    llvm::sys::path::append(tmp, "lithec-import-" + std::to_string(::getpid()) + ".lwt");
    importWeights = std::string(tmp);
    temps.paths.push_back(importWeights);
  }
  opts.weightsPath = importWeights;
  if (!weights.empty())
    opts.weightsRef = std::string(llvm::sys::path::filename(weights));
  auto failOut = [&](std::string msg) {
    replaceAll(msg, importWeights, weights.empty() ? "the imported weights" : weights);
    return fail(outputs.userPaths(msg));
  };

  lithe::ImportResult result;
  if (!importModel(ctx, opts, result, error))
    return failOut(withInput(error));
  if (!pipeline.empty()) {
    if (!runPipeline(ctx, *result.module, importWeights, error)) return failOut(inputPath + ": " + error);
    std::shared_ptr<lithe::WeightStore> store = lithe::getWeightStore(*result.module, error);
    if (!store) return failOut(error);
    if (!weights.empty() && !store->write(weightsTmp, lithe::referencedWeights(*result.module), error))
      return failOut(withInput(error));
  }

  if (out == "-") {
    result.module->print(llvm::outs());
    llvm::outs() << "\n";
    llvm::outs().flush();
    if (!outputs.commit(error)) return fail(error);
    return 0;
  }
  if (!printModule(*result.module, outTmp, out, error)) return failOut(error);
  if (injected("commit")) return failOut(outTmp + ": injected failure");
  if (!outputs.commit(error)) return fail(error);
  return 0;
}
