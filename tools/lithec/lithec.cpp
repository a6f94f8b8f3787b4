//===- lithec.cpp - the Lithe compiler driver -----------------------------===//
//
//   lithec MODEL.onnx -o out/model                      native executable
//                                                       + out/model.lwt
//   lithec MODEL.onnx --emit=onnx|lithe [-o OUT.mlir]   import and print IR
//   lithec MODEL.onnx --emit=kernel|llvm|obj [-o OUT]   kernel-level program,
//                                                       LLVM IR, object file
//   lithec --describe MODEL.onnx                        what the model is
//
// With --emit=onnx|lithe and -o, the IR goes to OUT.mlir and the weights it
// references to OUT.lwt (named by the module's lithe.weights attribute).
// Without -o the IR is printed to stdout and weights are written only with
// --weights=FILE. An executable finds its tokenizer in tokenizer/ beside it,
// copied from the model's directory when one is there.
// Errors are one line naming the file and the node or flag at fault; nothing
// is left half-written.
//
//===----------------------------------------------------------------------===//

#include "Report.h"
#include "lithe/Codegen.h"
#include "lithe/Dialect.h"
#include "lithe/Import.h"
#include "lithe/ModelSummary.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
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
                                              "and NAME@MODEL for another model file (an LN-free variant)"),
                                     cl::value_desc("list"), cl::cat(category));
cl::opt<std::string> reportText("report-text", cl::desc("Evaluation text for --report"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<int64_t> reportCtx("report-ctx", cl::desc("Perplexity window for --report (default: the model's context)"),
                           cl::init(0), cl::cat(category));
cl::opt<int64_t> reportStride("report-stride", cl::desc("Perplexity stride for --report"), cl::init(0),
                              cl::cat(category));
cl::opt<std::string> pipeline("pipeline",
                              cl::desc("Passes to run on the transformer-level module, as for "
                                       "lithe-opt --pass-pipeline (e.g. lithe-fold-layernorm)"),
                              cl::value_desc("passes"), cl::cat(category));

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

int runDescribe(mlir::MLIRContext &ctx) {
  lithe::ImportOptions opts;
  lithe::ImportResult result;
  std::string error;
  if (!lithe::importOnnx(inputPath, ctx, opts, result, error))
    return fail(error);
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
                 std::string &error) {
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
    error = "--pipeline " + pipeline.getValue() + ": " + (diag.empty() ? "a pass failed" : diag);
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

int runCodegen(mlir::MLIRContext &ctx) {
  if (capacity < 0) return fail("--capacity must be positive");
  if (outputPath.empty() && emit != Emit::LLVM && emit != Emit::Kernel)
    return fail("give -o OUT: the executable (or object file) to write");
  std::string out = outputPath;
  std::string base = out;
  if (out.empty() || out == "-") {
    llvm::SmallString<256> tmp;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    llvm::sys::path::append(tmp, "lithec");
    base = std::string(tmp);
  }
  TempFiles temps;
  std::string pid = std::to_string(::getpid());
  std::string srcWeights = base + ".src.lwt.tmp" + pid;
  std::string binWeights = base + ".lwt.tmp" + pid;
  std::string obj = base + ".o.tmp" + pid;
  std::string exe = base + ".tmp" + pid;
  temps.paths = {srcWeights, binWeights, obj, exe};

  lithe::ImportOptions opts;
  opts.level = lithe::ImportLevel::Lithe;
  opts.weightsPath = srcWeights;
  lithe::ImportResult result;
  std::string error;
  if (!lithe::importOnnx(inputPath, ctx, opts, result, error)) return fail(error);
  if (!runPipeline(ctx, *result.module, srcWeights, error)) return fail(inputPath + ": " + error);

  lithe::CodegenOptions cg;
  cg.sourceWeights = srcWeights;
  cg.outputWeights = binWeights;
  cg.objectPath = obj;
  cg.capacity = capacity;
  if (emit == Emit::LLVM || emit == Emit::Kernel) {
    std::string ir;
    bool ok = emit == Emit::LLVM ? lithe::generateLLVMIR(*result.module, cg, ir, error)
                                 : lithe::generateKernelIR(*result.module, cg, ir, error);
    if (!ok) return fail(inputPath + ": " + error);
    if (out.empty() || out == "-") {
      llvm::outs() << ir;
      return 0;
    }
    std::error_code ec;
    llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_Text);
    if (ec) return fail(out + ": cannot write: " + ec.message());
    file.os() << ir;
    file.keep();
    return 0;
  }
  lithe::CodegenReport report;
  if (!lithe::generateObject(*result.module, cg, report, error)) return fail(inputPath + ": " + error);
  if (emit == Emit::Obj) {
    if (auto ec = llvm::sys::fs::rename(obj, out)) return fail(out + ": cannot write: " + ec.message());
    return 0;
  }
  if (!lithe::linkExecutable(obj, exe, error)) return fail(error);
  // The tokenizer goes beside the executable.
  llvm::SmallString<256> tokSrc(findTokenizerDir());
  llvm::SmallString<256> tokDst(llvm::sys::path::parent_path(out));
  llvm::sys::path::append(tokDst, "tokenizer");
  if (!tokSrc.empty() && tokSrc != tokDst) {
    llvm::sys::fs::create_directories(tokDst);
    for (const char *f : {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "LICENSE"}) {
      llvm::SmallString<256> from(tokSrc), to(tokDst);
      llvm::sys::path::append(from, f);
      llvm::sys::path::append(to, f);
      if (llvm::sys::fs::exists(from))
        if (auto ec = llvm::sys::fs::copy_file(from, to)) return fail(std::string(to) + ": " + ec.message());
    }
  }
  if (auto ec = llvm::sys::fs::rename(binWeights, out + ".lwt")) return fail(out + ".lwt: cannot write: " + ec.message());
  if (auto ec = llvm::sys::fs::rename(exe, out)) return fail(out + ": cannot write: " + ec.message());
  llvm::errs() << "lithec: wrote " << out << " and " << out << ".lwt (" << report.kernelCalls
               << " kernel calls, " << report.fusedEpilogues << " fused epilogues, context "
               << report.capacity << ", " << report.arenaBytes << " bytes of activations)\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  lithe::registerLithePasses();
  lithe::registerLithePipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Lithe: ahead-of-time compiler for GPT-2-class ONNX models\n");
  if (inputPath.empty())
    return fail("no input model given (usage: lithec MODEL.onnx [--emit=onnx|lithe] [-o OUT.mlir] | --describe MODEL.onnx)");

  if (!reportDir.empty()) {
    lithe::ReportOptions r;
    r.lithec = llvm::sys::fs::getMainExecutable(argv[0], reinterpret_cast<void *>(&fail));
    r.model = inputPath;
    r.text = reportText;
    r.outDir = reportDir;
    r.ctx = reportCtx;
    r.stride = reportStride;
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
    return lithe::runReport(r);
  }

  mlir::MLIRContext ctx;
  ctx.loadDialect<lithe::LitheDialect, mlir::func::FuncDialect>();
  if (describe)
    return runDescribe(ctx);

  if (emit == Emit::Kernel || emit == Emit::LLVM || emit == Emit::Obj || emit == Emit::Exe)
    return runCodegen(ctx);

  lithe::ImportOptions opts;
  opts.level = emit == Emit::Onnx ? lithe::ImportLevel::Onnx : lithe::ImportLevel::Lithe;
  std::string weights = weightsPath;
  if (weights.empty() && !outputPath.empty() && outputPath != "-") {
    llvm::SmallString<256> w(outputPath.getValue());
    llvm::sys::path::replace_extension(w, "lwt");
    weights = std::string(w);
  }
  // With passes, the import's weights go to a temporary first; the passes'
  // results are then written to `weights`.
  std::string importWeights = weights;
  TempFiles temps;
  if (!pipeline.empty() && emit != Emit::Onnx) {
    llvm::SmallString<256> tmp;
    llvm::sys::path::system_temp_directory(true, tmp);
    llvm::sys::path::append(tmp, "lithec-import-" + std::to_string(::getpid()) + ".lwt");
    importWeights = std::string(tmp);
    temps.paths.push_back(importWeights);
  }
  opts.weightsPath = importWeights;
  if (!weights.empty())
    opts.weightsRef = std::string(llvm::sys::path::filename(weights));

  lithe::ImportResult result;
  std::string error;
  if (!lithe::importOnnx(inputPath, ctx, opts, result, error))
    return fail(error);
  if (!pipeline.empty()) {
    if (emit == Emit::Onnx) return fail("--pipeline runs on the transformer level: use --emit=lithe");
    if (!runPipeline(ctx, *result.module, importWeights, error)) return fail(inputPath + ": " + error);
    std::shared_ptr<lithe::WeightStore> store = lithe::getWeightStore(*result.module, error);
    if (!store) return fail(error);
    if (!weights.empty() && !store->write(weights, lithe::referencedWeights(*result.module), error))
      return fail(error);
  }

  std::string out = outputPath.empty() ? "-" : outputPath.getValue();
  std::error_code ec;
  // ToolOutputFile writes to a temporary and renames on keep().
  llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    if (!weights.empty()) llvm::sys::fs::remove(weights);
    return fail(out + ": cannot write: " + ec.message());
  }
  result.module->print(file.os());
  file.os() << "\n";
  file.os().flush();
  if (file.os().has_error()) {
    if (!weights.empty()) llvm::sys::fs::remove(weights);
    return fail(out + ": write failed");
  }
  file.keep();
  return 0;
}
