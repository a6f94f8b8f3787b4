//===- Pipelines.cpp - named lithe pipelines ------------------------------===//
//
// `lithe-simplify`: the simplifications in the order they compose, each
// enabled by an option, so `lithe-opt --pass-pipeline` and `lithec
// --pipeline` run the same thing:
//
//   fuse adapters -> remove LayerNorm -> prune heads -> drop layers
//     -> share KV -> fold LayerNorm -> int8 weights -> f16 KV cache
//
// `lithe-lower-cpu`: the transformer level to LLVM-dialect calls of the CPU
// kernels, the same passes lithec runs (lib/Codegen):
//
//   lower to kernels -> fuse epilogues -> pack weights -> plan buffers
//     -> write the binary's weights file -> kernels to LLVM
//
// `lithe-lower-cuda`: the same stages for the CUDA target (lithec
// --target=cuda), differing only where the target does:
//
//   f16 KV cache -> lower to kernels (no batched decode) -> fuse epilogues
//     -> fuse position embeddings -> fuse Q, K, V -> pack weights{target=cuda}
//     -> plan buffers -> write weights (.cuda.lwt) -> kernels to LLVM{target=cuda}
//
// Adapters go first (they target the original weights and LayerNorms);
// LayerNorm removal and the data-driven choices then measure the adapted
// model; folding (exact) runs on whatever LayerNorms or centerings are left;
// int8 comes last, after every f32 rewrite.
//
//===----------------------------------------------------------------------===//

#include "lithe/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

namespace lithe {
namespace {

struct SimplifyOptions : mlir::PassPipelineOptions<SimplifyOptions> {
  Option<std::string> adapters{*this, "adapters", llvm::cl::desc("PEFT adapter directories to fuse, comma-separated"),
                               llvm::cl::init("")};
  Option<bool> removeLayerNorm{*this, "remove-layernorm",
                               llvm::cl::desc("Remove LayerNorms: disabled ones exactly; with calibration, all"),
                               llvm::cl::init(false)};
  Option<double> pruneHeads{*this, "prune-heads",
                            llvm::cl::desc("Fraction of heads to prune by importance (needs calibration)"),
                            llvm::cl::init(0.0)};
  Option<int64_t> keepLayers{*this, "keep-layers",
                             llvm::cl::desc("Blocks to keep, dropping the others by similarity (needs calibration)"),
                             llvm::cl::init(0)};
  Option<std::string> dropMetric{*this, "drop-metric", llvm::cl::desc("bi, angular or loss (see lithe-drop-layers)"),
                                 llvm::cl::init("bi")};
  Option<int64_t> shareKV{*this, "share-kv", llvm::cl::desc("Share the KV cache in groups of this many layers"),
                          llvm::cl::init(1)};
  Option<bool> fold{*this, "fold-layernorm", llvm::cl::desc("Fold LayerNorm affine parts (exact)"),
                    llvm::cl::init(true)};
  Option<bool> quantize{*this, "quantize", llvm::cl::desc("int8 weights, LM head included"), llvm::cl::init(false)};
  Option<std::string> kvCache{*this, "kv-cache",
                              llvm::cl::desc("KV cache element type: f32, f16 or int8 (lithe-kv-precision)"),
                              llvm::cl::init("f32")};
  Option<std::string> calibration{*this, "calibration", llvm::cl::desc("Calibration text"), llvm::cl::init("")};
  Option<std::string> tokenizer{*this, "tokenizer", llvm::cl::desc("Tokenizer directory for the calibration text"),
                                llvm::cl::init("")};
  Option<int64_t> calibrationTokens{*this, "calibration-tokens", llvm::cl::desc("Calibration tokens to use"),
                                    llvm::cl::init(1024)};
  Option<std::string> weightsDir{*this, "weights-dir",
                                 llvm::cl::desc("Directory a relative lithe.weights path is resolved against"),
                                 llvm::cl::init("")};
};

/// The calibration options every data-driven pass takes, from the pipeline's.
template <typename PassOptions> PassOptions calibrated(const SimplifyOptions &o) {
  PassOptions p;
  p.calibration = o.calibration;
  p.tokenizer = o.tokenizer;
  p.calibrationTokens = o.calibrationTokens;
  p.weightsDir = o.weightsDir;
  return p;
}

void buildSimplify(mlir::OpPassManager &pm, const SimplifyOptions &o) {
  if (!o.adapters.empty()) {
    LitheFuseAdaptersOptions a;
    a.adapters = o.adapters;
    a.weightsDir = o.weightsDir;
    pm.addPass(createLitheFuseAdapters(a));
  }
  if (o.removeLayerNorm) {
    pm.addPass(createLitheRemoveLayerNorm(calibrated<LitheRemoveLayerNormOptions>(o)));
  }
  if (o.pruneHeads != 0.0) {
    auto p = calibrated<LithePruneHeadsOptions>(o);
    p.fraction = o.pruneHeads;
    pm.addPass(createLithePruneHeads(p));
  }
  if (o.keepLayers != 0) {
    auto d = calibrated<LitheDropLayersOptions>(o);
    d.keep = o.keepLayers;
    d.metric = o.dropMetric;
    pm.addPass(createLitheDropLayers(d));
  }
  if (o.shareKV > 1) {
    LitheShareKVOptions s;
    s.group = o.shareKV;
    pm.addPass(createLitheShareKV(s));
  }
  if (o.fold) {
    LitheFoldLayerNormOptions f;
    f.weightsDir = o.weightsDir;
    pm.addPass(createLitheFoldLayerNorm(f));
  }
  if (o.quantize) {
    LitheQuantizeWeightsOptions q;
    q.weightsDir = o.weightsDir;
    pm.addPass(createLitheQuantizeWeights(q));
  }
  if (o.kvCache != "f32") {
    LitheKVPrecisionOptions k;
    k.type = o.kvCache;
    pm.addPass(createLitheKVPrecision(k));
  }
}

/// lithe-lower-cpu's options: LowerCpuOptions as pipeline options.
struct LowerCpuPipelineOptions : mlir::PassPipelineOptions<LowerCpuPipelineOptions> {
  Option<int64_t> capacity{*this, "capacity", llvm::cl::desc("Context length (0: the position table's rows)"),
                           llvm::cl::init(0)};
  Option<std::string> modelName{*this, "model-name", llvm::cl::desc("Symbol name: lithe_<model-name>_query"),
                                llvm::cl::init("model")};
  Option<std::string> mainQuery{*this, "main-query",
                                llvm::cl::desc("Weak alias of the query function (lithe_main_query)"),
                                llvm::cl::init("")};
  Option<std::string> weights{*this, "weights",
                              llvm::cl::desc("The binary's weights file to write (default: the module's "
                                             "weights file with .lwt replaced by .cpu.lwt)"),
                              llvm::cl::init("")};
  Option<std::string> weightsDir{*this, "weights-dir",
                                 llvm::cl::desc("Directory a relative lithe.weights path is resolved against"),
                                 llvm::cl::init("")};
  Option<std::string> precision{*this, "precision",
                                llvm::cl::desc("What f32 weights become (lithe-pack-weights): cpu: fp32 (default) "
                                               "or bf16; cuda: fp16 (default)"),
                                llvm::cl::init("")};
  enum class Stop { Kernel, LLVM };
  Option<Stop> emit{*this, "emit", llvm::cl::desc("Where to stop"), llvm::cl::init(Stop::LLVM),
                    llvm::cl::values(clEnumValN(Stop::Kernel, "kernel",
                                                "the planned lithe_k level (nothing written)"),
                                     clEnumValN(Stop::LLVM, "llvm", "LLVM-dialect kernel calls (default)"))};
  LowerCpuOptions get(llvm::StringRef target) const {
    LowerCpuOptions o;
    o.target = target.str();
    o.capacity = capacity;
    o.modelName = modelName;
    o.mainQuery = mainQuery;
    o.weights = weights;
    o.weightsDir = weightsDir;
    o.precision = precision;
    return o;
  }
};

} // namespace

void buildLowerToKernelLevel(mlir::OpPassManager &pm, const LowerCpuOptions &o) {
  const bool cuda = o.target == "cuda";
  if (cuda) { // the CUDA attention kernels read f16 caches
    LitheKVPrecisionOptions kv;
    kv.type = "f16";
    pm.addPass(createLitheKVPrecision(kv));
  }
  LitheLowerToKernelsOptions lower;
  lower.capacity = o.capacity;
  lower.decodeBatch = !cuda;
  pm.addPass(createLitheLowerToKernels(lower));
  pm.addPass(createLitheFuseKernels());
  if (cuda) {
    pm.addPass(createLitheFusePositions());
    LitheFuseQKVOptions qkv;
    qkv.weightsDir = o.weightsDir;
    pm.addPass(createLitheFuseQKV(qkv));
  }
  LithePackWeightsOptions pack;
  pack.weightsDir = o.weightsDir;
  pack.precision = o.precision;
  pack.target = o.target;
  pm.addPass(createLithePackWeights(pack));
  pm.addPass(createLithePlanBuffers());
}

void buildLowerCpu(mlir::OpPassManager &pm, const LowerCpuOptions &o) {
  buildLowerToKernelLevel(pm, o);
  LitheWriteWeightsOptions write;
  write.file = o.weights;
  write.ref = o.weightsRef;
  if (!o.weights.empty() && o.weightsRef.empty()) {
    // Found again by lithe-kernels-to-llvm wherever the module came from.
    llvm::SmallString<256> abs(o.weights);
    llvm::sys::fs::make_absolute(abs);
    write.ref = std::string(abs);
  }
  if (o.weights.empty()) write.suffix = o.target == "cuda" ? ".cuda.lwt" : ".cpu.lwt";
  write.weightsDir = o.weightsDir;
  pm.addPass(createLitheWriteWeights(write));
  LitheKernelsToLLVMOptions llvm;
  llvm.modelName = o.modelName;
  llvm.mainQuery = o.mainQuery;
  llvm.weightsDir = o.weightsDir;
  llvm.target = o.target;
  pm.addPass(createLitheKernelsToLLVM(llvm));
}

void registerLithePipelines() {
  mlir::PassPipelineRegistration<LowerCpuPipelineOptions>(
      "lithe-lower-cpu",
      "Transformer level to LLVM-dialect kernel calls: lower to kernels, fuse epilogues, pack weights, "
      "plan buffers, write the binary's weights file, lower to LLVM",
      [](mlir::OpPassManager &pm, const LowerCpuPipelineOptions &o) {
        if (o.emit == LowerCpuPipelineOptions::Stop::Kernel) return buildLowerToKernelLevel(pm, o.get("cpu"));
        buildLowerCpu(pm, o.get("cpu"));
      });
  mlir::PassPipelineRegistration<LowerCpuPipelineOptions>(
      "lithe-lower-cuda",
      "Transformer level to LLVM-dialect host code launching the CUDA kernels: f16 KV cache, lower to kernels, "
      "fuse epilogues and position embeddings, pack weights for CUDA, plan buffers, write the binary's weights "
      "file (.cuda.lwt), lower to LLVM",
      [](mlir::OpPassManager &pm, const LowerCpuPipelineOptions &o) {
        if (o.emit == LowerCpuPipelineOptions::Stop::Kernel) return buildLowerToKernelLevel(pm, o.get("cuda"));
        buildLowerCpu(pm, o.get("cuda"));
      });
  mlir::PassPipelineRegistration<SimplifyOptions>(
      "lithe-simplify",
      "Fuse adapters, remove LayerNorm, prune heads, drop layers, share KV, fold LayerNorm, int8 weights "
      "(each by an option)",
      buildSimplify);
}

} // namespace lithe
