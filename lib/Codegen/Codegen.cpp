//===- Codegen.cpp - run lithe-lower-cpu, emit the object, link -----------===//
//
// Code generation is the pass pipeline of passes/Pipelines.cpp
// (buildLowerCpu: lower to kernels, fuse, pack, plan, write weights, kernels
// to LLVM); this file runs it, translates the LLVM dialect to LLVM IR,
// emits the object file and links the executable.
//

#include "lithe/Codegen.h"

#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"
#include "lithe/Weights.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <map>
#include <set>

namespace lithe {

using namespace mlir;

namespace {

/// Runs `build`'s passes on `module`; the first error becomes `error`.
bool runPasses(ModuleOp module, llvm::function_ref<void(OpPassManager &)> build, std::string &error) {
  MLIRContext *ctx = module.getContext();
  std::string diag;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    if (d.getSeverity() != DiagnosticSeverity::Error || !diag.empty()) return success();
    diag = d.str();
    // Every stage keeps the ONNX node an op came from as its location: an
    // error names it unless the message already does.
    Location loc = d.getLocation();
    if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
      loc = fused.getLocations().front();
    if (auto name = dyn_cast<NameLoc>(loc); name && diag.find("ONNX node") == std::string::npos)
      diag += " (ONNX node '" + name.getName().str() + "')";
    return success();
  });
  PassManager pm(ctx);
  build(pm);
  if (failed(pm.run(module))) {
    error = diag.empty() ? "a lowering pass failed" : diag;
    return false;
  }
  return true;
}

LowerCpuOptions lowerOptions(const CodegenOptions &o) {
  LowerCpuOptions l;
  l.capacity = o.capacity;
  l.modelName = o.modelName;
  l.mainQuery = o.mainQuery;
  l.weights = o.outputWeights;
  l.weightsRef = o.outputWeights;
  l.precision = o.precision;
  l.target = o.target;
  return l;
}

/// The transformer-level module to the kernel level, in place, and what
/// the plan says.
bool toKernelLevel(ModuleOp module, const CodegenOptions &opts, CodegenReport &report, std::string &error) {
  MLIRContext *ctx = module.getContext();
  // The weights the passes left (attached store), else the given file.
  if (!ctx->getOrLoadDialect<LitheDialect>()->weightStore && !opts.sourceWeights.empty()) {
    std::shared_ptr<WeightStore> store = WeightStore::open(opts.sourceWeights, error);
    if (!store) return false;
    setWeightStore(ctx, store);
  }
  // A kernel-level module (lithec --emit=kernel wrote it) is fused, packed
  // and planned again (each pass leaves what it already did alone).
  auto fwd = module.lookupSymbol<func::FuncOp>(k::kForward);
  bool kernelLevel = fwd && fwd.getNumArguments() > 0 && isa<k::WeightsType>(fwd.getArgument(0).getType());
  if (!runPasses(
          module,
          [&](OpPassManager &pm) {
            if (!kernelLevel) return buildLowerToKernelLevel(pm, lowerOptions(opts));
            pm.addPass(createLitheFuseKernels());
            if (opts.target == "cuda") {
              pm.addPass(createLitheFusePositions());
              pm.addPass(createLitheFuseQKV());
            }
            LithePackWeightsOptions pack;
            pack.target = opts.target;
            pm.addPass(createLithePackWeights(pack));
            pm.addPass(createLithePlanBuffers());
          },
          error))
    return false;
  report.capacity = module->getAttrOfType<IntegerAttr>(k::kCapacityAttr).getInt();
  report.arenaBytes = module->getAttrOfType<IntegerAttr>(k::kArenaBytesAttr).getInt();
  ArrayRef<int64_t> shapes = module->getAttrOfType<DenseI64ArrayAttr>(k::kCacheShapesAttr).asArrayRef();
  int64_t cacheBytes = 4;
  if (auto f = module.lookupSymbol<func::FuncOp>(k::kForward); f && f.getNumArguments() > 2)
    if (auto c = dyn_cast<k::CachesType>(f.getArgument(2).getType())) cacheBytes = c.getElementBytes();
  for (size_t i = 0; i + 1 < shapes.size(); i += 2) // int8: and a float scale per head
    report.kvBytesPerPosition += 2 * shapes[i] * (shapes[i + 1] * cacheBytes + (cacheBytes == 1 ? 4 : 0));
  module.walk([&](k::LinearOp l) {
    if (l.getEpilogue() != k::Epilogue::none) ++report.fusedEpilogues;
  });
  if (auto head = module.lookupSymbol<func::FuncOp>(k::kHead)) {
    report.width = cast<k::BufferType>(head.getArgument(1).getType()).getCols();
    report.vocab = cast<k::BufferType>(head.getArgument(3).getType()).getCols();
  }
  return true;
}

/// The kernel level to the LLVM dialect, writing the binary's weights file
/// first unless it is written already (writeSharedWeights).
bool toLLVMDialect(ModuleOp module, const CodegenOptions &opts, CodegenReport &report, bool writeWeights,
                   std::string &error) {
  LowerCpuOptions lower = lowerOptions(opts);
  if (!runPasses(
          module,
          [&](OpPassManager &pm) {
            LitheWriteWeightsOptions write;
            write.file = lower.weights;
            write.ref = lower.weightsRef;
            if (writeWeights) pm.addPass(createLitheWriteWeights(write));
            LitheKernelsToLLVMOptions llvm;
            llvm.modelName = lower.modelName;
            llvm.mainQuery = lower.mainQuery;
            llvm.target = lower.target;
            pm.addPass(createLitheKernelsToLLVM(llvm));
          },
          error))
    return false;
  module.walk([&](LLVM::CallOp c) {
    if (c.getCallee() && c.getCallee()->starts_with("lithe_")) ++report.kernelCalls;
  });
  std::unique_ptr<WeightsFile> out = WeightsFile::open(opts.outputWeights, error);
  if (!out) return false;
  for (const TensorEntry &e : out->entries()) report.weightBytes += static_cast<int64_t>(e.nbytes);
  return true;
}

/// `module` (transformer level, or kernel level with its weights written:
/// `lowered`) to LLVM IR.
bool toLLVM(ModuleOp module, const CodegenOptions &opts, CodegenReport &report, bool lowered,
            llvm::LLVMContext &llctx, std::unique_ptr<llvm::Module> &llmod, std::string &error) {
  MLIRContext *ctx = module.getContext();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  if ((!lowered && !toKernelLevel(module, opts, report, error)) ||
      !toLLVMDialect(module, opts, report, /*writeWeights=*/!lowered, error))
    return false;
  llmod = translateModuleToLLVMIR(module, llctx, "lithe_model");
  if (!llmod) {
    error = "internal error: translation to LLVM IR failed";
    return false;
  }
  llmod->setTargetTriple(llvm::sys::getProcessTriple());
  return true;
}

/// Emits `llmod` as an object file for the host.
bool emitObjectFile(llvm::Module &llmod, const std::string &path, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) return false;
  llvm::TargetOptions to;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "generic", "", to, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Default));
  llmod.setDataLayout(tm->createDataLayout());
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = path + ": cannot write: " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(llmod);
  os.flush();
  return true;
}

} // namespace

bool lowerToKernelLevel(ModuleOp module, const CodegenOptions &options, CodegenReport &report,
                        std::string &error) {
  return toKernelLevel(module, options, report, error);
}

bool writeSharedWeights(ArrayRef<WeightsSource> models, const std::string &path, int64_t &sharedBytes,
                        std::string &error) {
  sharedBytes = 0;
  WeightsWriter writer;
  // Name in the file -> the model (index) and name it was taken from.
  std::map<std::string, std::pair<size_t, std::string>> written;
  for (size_t m = 0; m < models.size(); ++m) {
    const WeightsSource &src = models[m];
    std::map<std::string, std::string> renamed;
    for (const std::string &name : referencedWeights(ModuleOp(src.module))) {
      auto it = written.find(name);
      if (it != written.end()) {
        const WeightsSource &first = models[it->second.first];
        if (src.store->sameTensor(name, *first.store, it->second.second)) {
          if (auto v = first.store->get(it->second.second)) sharedBytes += static_cast<int64_t>(v->nbytes);
          continue; // stored once
        }
        // The same name for other bytes: this model's gets its own.
        std::string own = src.prefix + "/" + name;
        renamed[name] = own;
        if (!src.store->addTo(writer, name, own, error)) return false;
        written[own] = {m, name};
        continue;
      }
      if (!src.store->addTo(writer, name, name, error)) return false;
      written[name] = {m, name};
    }
    ModuleOp module = src.module;
    module.walk([&](k::WeightOp w) {
      if (auto r = renamed.find(w.getName().str()); r != renamed.end())
        w.setNameAttr(StringAttr::get(w.getContext(), r->second));
    });
  }
  if (!writer.write(path, error)) return false;
  for (const WeightsSource &src : models) {
    ModuleOp module = src.module;
    module->setAttr(LitheDialect::kWeightsAttrName, StringAttr::get(module.getContext(), path));
  }
  return true;
}

bool emitObject(ModuleOp module, const CodegenOptions &options, CodegenReport &report, std::string &error) {
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  if (!toLLVM(module, options, report, /*lowered=*/true, llctx, llmod, error)) return false;
  return emitObjectFile(*llmod, options.objectPath, error);
}

bool generateKernelIR(ModuleOp module, const CodegenOptions &options, std::string &ir, std::string &error) {
  CodegenReport report;
  if (!toKernelLevel(module, options, report, error)) return false;
  llvm::raw_string_ostream os(ir);
  module.print(os);
  return true;
}

bool generateLLVMIR(ModuleOp module, const CodegenOptions &options, std::string &ir, std::string &error) {
  CodegenReport report;
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  if (!toLLVM(module, options, report, /*lowered=*/false, llctx, llmod, error)) return false;
  llvm::raw_string_ostream os(ir);
  llmod->print(os, nullptr);
  return true;
}

bool generateObject(ModuleOp module, const CodegenOptions &options, CodegenReport &report,
                    std::string &error) {
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  if (!toLLVM(module, options, report, /*lowered=*/false, llctx, llmod, error)) return false;
  return emitObjectFile(*llmod, options.objectPath, error);
}

bool linkExecutable(const std::string &objectPath, const std::string &exePath, std::string &error,
                    const std::string &target) {
  return linkExecutable(std::vector<std::string>{objectPath}, exePath, error, target);
}

/// What a CUDA executable links besides the runtime: LITHE_CUDA_LINK when
/// set (tests link the host emulation, runtime/cuda/host_emulation.cpp),
/// else the CUDA runtime this lithec was built with; empty without either.
static std::string cudaLinkArgs() {
  if (const char *env = getenv("LITHE_CUDA_LINK")) return env;
#ifdef LITHE_CUDA_LINK_ARGS
  return LITHE_CUDA_LINK_ARGS;
#else
  return "";
#endif
}

bool canLinkCuda() { return !cudaLinkArgs().empty(); }

bool linkExecutable(const std::vector<std::string> &objectPaths, const std::string &exePath,
                    std::string &error, const std::string &target) {
  if (target == "cuda" && !canLinkCuda()) {
    error = "this lithec was built without CUDA (nvcc was not found), so it cannot link --target=cuda executables";
    return false;
  }
  const char *env = getenv("LITHE_RUNTIME_LIB");
  std::string runtime = env ? env : LITHE_RUNTIME_LIB;
  if (!llvm::sys::fs::exists(runtime)) {
    error = "runtime library not found at " + runtime + " (set LITHE_RUNTIME_LIB)";
    return false;
  }
#ifdef LITHE_LINK_DRIVER
  // A sanitizer build: link with the compiler (and its sanitizer runtimes)
  // that built the instrumented runtime library.
  llvm::ErrorOr<std::string> cxx = std::string(LITHE_LINK_DRIVER);
#else
  auto cxx = llvm::sys::findProgramByName("c++");
  if (!cxx) cxx = llvm::sys::findProgramByName("g++");
#endif
  if (!cxx) {
    error = "no C++ linker driver (c++ or g++) on PATH";
    return false;
  }
  std::vector<llvm::StringRef> argv = {*cxx};
  for (const std::string &o : objectPaths) argv.push_back(o);
  // The CUDA runtime before the core archive, whose Model finds it through a weak symbol.
  const std::string cudaArgsText = target == "cuda" ? cudaLinkArgs() : "";
  llvm::SmallVector<llvm::StringRef> cudaArgs;
  llvm::StringRef(cudaArgsText).split(cudaArgs, ' ', -1, false);
  argv.insert(argv.end(), cudaArgs.begin(), cudaArgs.end());
  // The whole runtime archive: the server library (--serve) calls into it.
  for (llvm::StringRef a : {llvm::StringRef("-Wl,--whole-archive"), llvm::StringRef(runtime),
                            llvm::StringRef("-Wl,--no-whole-archive"), llvm::StringRef("-o"),
                            llvm::StringRef(exePath), llvm::StringRef("-pthread"), llvm::StringRef("-lm")})
    argv.push_back(a);
  // What the runtime archive needs besides (dlopen; the runtime exported).
  llvm::SmallVector<llvm::StringRef> systemLibs;
  llvm::StringRef(LITHE_RUNTIME_SYSTEM_LIBS).split(systemLibs, ' ', -1, false);
  argv.insert(argv.end(), systemLibs.begin(), systemLibs.end());
#ifdef LITHE_LINK_FLAGS
  llvm::SmallVector<llvm::StringRef> extra;
  llvm::StringRef(LITHE_LINK_FLAGS).split(extra, ' ', -1, false);
  argv.insert(argv.end(), extra.begin(), extra.end());
#endif
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(*cxx, argv, std::nullopt, {}, 0, 0, &msg);
  if (rc != 0) {
    error = "linking " + exePath + " failed" + (msg.empty() ? "" : ": " + msg);
    return false;
  }
  return true;
}

} // namespace lithe
