//===- Codegen.cpp - lithe forward function to kernel calls in LLVM -------===//

#include "lithe/Codegen.h"

#include "lithe/Dialect.h"
#include "lithe/WeightStore.h"
#include "lithe/Weights.h"
#include "lithe/runtime/kernels.h"
#include "lithe/runtime/model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
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

// lithe_config[] indices and the ABI version are the runtime's.
using namespace lithe::rt;
constexpr int kCfgCount = kCfgLayers + 1;

std::string where(Operation *op) {
  if (auto o = dyn_cast<OnnxOp>(op))
    return "ONNX " + o.getOpType().str() +
           (o.getNodeName() ? " node '" + o.getNodeName()->str() + "'" : std::string(" node"));
  // Raised ops carry the ONNX node that defined their result as location.
  std::string what = "'" + op->getName().getStringRef().str() + "'";
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    what += " (from ONNX node '" + name.getName().str() + "')";
  return what;
}

int64_t lastDim(mlir::Value v) {
  return cast<RankedTensorType>(v.getType()).getShape().back();
}

/// The plan: which buffer each activation lives in, what each op calls.
class Planner {
public:
  Planner(func::FuncOp fn, int64_t capacity) : fn(fn), capacity(capacity) {}

  bool plan(std::string &error);

  struct Slot {
    int64_t offset = 0; // bytes into the arena
    int64_t cols = 0;   // floats per row
  };
  func::FuncOp fn;
  int64_t capacity;
  llvm::DenseMap<mlir::Value, int> slotOf, posOffset; // value -> slot; pos embeds -> none
  std::vector<Slot> slots;
  std::set<Operation *> fusedAway;        // ops folded into a neighbour
  std::map<Operation *, int> epilogue;    // linear -> flags
  llvm::DenseMap<Operation *, mlir::Value> accumulateInto; // linear -> residual value
  mlir::Value hidden;                     // lm_head input (written to the caller's buffer)
  LMHeadOp head;
  int64_t arenaBytes = 0;
};

bool Planner::plan(std::string &error) {
  Block &body = fn.getBody().front();
  // An ONNX op that raising left generic is the most useful thing to name.
  for (Operation &op : body)
    if (isa<OnnxOp>(op)) {
      error = "cannot compile " + where(&op) + ": not a transformer-level op (it was not raised)";
      return false;
    }
  // Batch: the compiled forward serves one sequence (its own KV caches and
  // past length); several sequences are several contexts. A module whose ids
  // fix another batch size is refused rather than compiled as batch 1.
  if (fn.getNumArguments() > 0)
    if (auto ids = dyn_cast<RankedTensorType>(fn.getArgument(0).getType());
        ids && ids.getRank() == 2 && !ids.isDynamicDim(0) && ids.getDimSize(0) != 1) {
      error = "@forward takes a batch of " + std::to_string(ids.getDimSize(0)) +
              " sequences; a compiled model runs one sequence per context (batch 1): "
              "export with a dynamic or unit batch";
      return false;
    }
  // Order and last use of every value.
  std::map<Operation *, int> order;
  int i = 0;
  for (Operation &op : body) order[&op] = i++;
  auto lastUse = [&](mlir::Value v) {
    int last = -1;
    for (Operation *u : v.getUsers()) last = std::max(last, order[u]);
    return last;
  };

  for (Operation &op : body) {
    if (isa<WeightOp, func::ReturnOp, PositionIdsOp>(op)) continue;
    if (auto h = dyn_cast<LMHeadOp>(op)) {
      if (head) { error = "more than one lm_head"; return false; }
      head = h;
      hidden = h.getInput();
      continue;
    }
    if (!isa<EmbeddingOp, AddOp, LayerNormOp, CenterOp, LinearOp, GeluOp, AttentionOp>(op)) {
      error = "cannot compile " + where(&op) + ": not a transformer-level op (it was not raised)";
      return false;
    }
    for (mlir::Value r : op.getResults()) {
      auto t = cast<RankedTensorType>(r.getType());
      if (t.getRank() < 2 || t.getRank() > 3 || (t.getRank() == 3 && t.getDimSize(0) > 1) ||
          ShapedType::isDynamic(t.getShape().back())) {
        error = "cannot compile " + where(&op) + ": result " +
                std::string(llvm::formatv("{0}", t)) + " is not [1, tokens, width]";
        return false;
      }
    }
  }
  if (!head) { error = "the model has no lm_head"; return false; }

  // Fusions: linear -> gelu (single use) becomes a GELU epilogue; an add of
  // a linear's result to a residual whose last use it is accumulates into
  // the residual's buffer.
  for (Operation &op : body) {
    if (auto g = dyn_cast<GeluOp>(op)) {
      auto lin = g.getInput().getDefiningOp<LinearOp>();
      if (lin && lin->hasOneUse() && !epilogue.count(lin)) {
        epilogue[lin] = g.getApproximation() == GeluApproximation::tanh ? LITHE_EPI_GELU_TANH
                                                                         : LITHE_EPI_GELU_ERF;
        fusedAway.insert(&op);
      }
    }
  }
  for (Operation &op : body) {
    auto add = dyn_cast<AddOp>(op);
    if (!add) continue;
    for (int k = 0; k < 2; ++k) {
      mlir::Value lv = add->getOperand(k), res = add->getOperand(1 - k);
      // The linear may be followed by a fused GELU: then it is not its value.
      auto lin = lv.getDefiningOp<LinearOp>();
      if (!lin || !lv.hasOneUse() || epilogue.count(lin) || accumulateInto.count(lin)) continue;
      if (lastUse(res) != order[&op] || !res.getDefiningOp() || isa<WeightOp>(res.getDefiningOp()))
        continue;
      if (res.getDefiningOp<EmbeddingOp>() &&
          res.getDefiningOp<EmbeddingOp>().getIds().getDefiningOp<PositionIdsOp>())
        continue; // a position embedding is a view into the weights
      // No other reader of the residual between the linear and the add.
      bool clean = true;
      for (Operation *u : res.getUsers())
        if (u != &op && order[u] > order[lin]) clean = false;
      if (!clean) continue;
      accumulateInto[lin] = res;
      fusedAway.insert(&op);
      break;
    }
  }

  // Buffer assignment: first fit over freed slots, in program order.
  std::vector<int> freeSlots;
  std::map<int, int> slotEnd; // slot -> last use order of its current value
  auto release = [&](int now) {
    for (auto it = slotEnd.begin(); it != slotEnd.end();) {
      if (it->second < now) { freeSlots.push_back(it->first); it = slotEnd.erase(it); }
      else ++it;
    }
  };
  auto assign = [&](mlir::Value v, int now) {
    int64_t cols = lastDim(v);
    int best = -1;
    for (size_t f = 0; f < freeSlots.size(); ++f)
      if (slots[freeSlots[f]].cols >= cols && (best < 0 || slots[freeSlots[f]].cols < slots[freeSlots[best]].cols))
        best = static_cast<int>(f);
    int slot;
    if (best >= 0) {
      slot = freeSlots[best];
      freeSlots.erase(freeSlots.begin() + best);
    } else {
      slot = static_cast<int>(slots.size());
      slots.push_back({0, cols});
    }
    slotOf[v] = slot;
    slotEnd[slot] = std::max(lastUse(v), now);
  };
  for (Operation &op : body) {
    int now = order[&op];
    release(now);
    if (isa<WeightOp, func::ReturnOp, PositionIdsOp, LMHeadOp>(op)) continue;
    mlir::Value r = op.getResult(0);
    if (auto e = dyn_cast<EmbeddingOp>(op); e && e.getIds().getDefiningOp<PositionIdsOp>()) {
      posOffset[r] = 1; // rows [past, past + n) of the table, read in place
      continue;
    }
    if (r == hidden) continue; // written straight to the caller's buffer
    if (auto g = dyn_cast<GeluOp>(op); g && fusedAway.count(&op)) {
      // The linear computed the GELU already: share its buffer.
      slotOf[r] = slotOf[g.getInput()];
      slotEnd[slotOf[r]] = std::max(slotEnd[slotOf[r]], lastUse(r));
      continue;
    }
    if (auto add = dyn_cast<AddOp>(op); add && fusedAway.count(&op)) {
      // Result lives where the residual was (the linear accumulated there).
      for (auto &[lin, res] : accumulateInto)
        if (lin->getResult(0) == add.getLhs() || lin->getResult(0) == add.getRhs()) {
          slotOf[r] = slotOf[res];
          slotEnd[slotOf[r]] = std::max(slotEnd[slotOf[r]], lastUse(r));
        }
      continue;
    }
    if (auto lin = dyn_cast<LinearOp>(op); lin && accumulateInto.count(&op)) {
      slotOf[r] = slotOf[accumulateInto[&op]];
      continue;
    }
    assign(r, now);
  }
  for (Slot &s : slots) {
    s.offset = arenaBytes;
    arenaBytes += (capacity * s.cols * 4 + 63) / 64 * 64;
  }
  return true;
}

/// Builds the LLVM-dialect module with lithe_forward / lithe_head.
class Emitter {
public:
  Emitter(ModuleOp src, const CodegenOptions &opts, CodegenReport &report)
      : src(src), opts(opts), report(report), ctx(src.getContext()), b(ctx) {}
  bool run(OwningOpRef<ModuleOp> &out, std::string &error);

private:
  bool writeWeights(func::FuncOp fn, std::string &error);
  LLVM::LLVMFuncOp declare(StringRef name, Type result, ArrayRef<Type> args);
  mlir::Value i64(int64_t v) { return b.create<LLVM::ConstantOp>(loc, b.getI64Type(), b.getI64IntegerAttr(v)); }
  mlir::Value i32(int32_t v) { return b.create<LLVM::ConstantOp>(loc, b.getI32Type(), b.getI32IntegerAttr(v)); }
  mlir::Value f32(double v) { return b.create<LLVM::ConstantOp>(loc, b.getF32Type(), b.getF32FloatAttr(static_cast<float>(v))); }
  mlir::Value null() { return b.create<LLVM::ZeroOp>(loc, ptrTy); }
  mlir::Value offset(mlir::Value base, mlir::Value bytes) {
    return b.create<LLVM::GEPOp>(loc, ptrTy, b.getI8Type(), base, ArrayRef<LLVM::GEPArg>{bytes});
  }
  mlir::Value weightPtr(mlir::Value weights, const std::string &name);
  void call(StringRef name, ArrayRef<mlir::Value> args) {
    b.create<LLVM::CallOp>(loc, funcs.at(name.str()), args);
    ++report.kernelCalls;
  }

  ModuleOp src;
  const CodegenOptions &opts;
  CodegenReport &report;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc = UnknownLoc::get(ctx);
  Type ptrTy;
  std::map<std::string, LLVM::LLVMFuncOp> funcs;
  std::map<std::string, uint64_t> weightOffset; // name in the binary's weights file
  uint64_t checksum = 0;
};

LLVM::LLVMFuncOp Emitter::declare(StringRef name, Type result, ArrayRef<Type> args) {
  auto fn = b.create<LLVM::LLVMFuncOp>(loc, name, LLVM::LLVMFunctionType::get(result, args));
  funcs[name.str()] = fn;
  return fn;
}

mlir::Value Emitter::weightPtr(mlir::Value weights, const std::string &name) {
  return offset(weights, i64(static_cast<int64_t>(weightOffset.at(name))));
}

bool Emitter::writeWeights(func::FuncOp fn, std::string &error) {
  // The weights the passes left (attached store), else the import's file.
  std::shared_ptr<WeightStore> source;
  if (!opts.sourceWeights.empty() &&
      !ctx->getOrLoadDialect<LitheDialect>()->weightStore)
    source = WeightStore::open(opts.sourceWeights, error);
  else
    source = getWeightStore(src, error);
  if (!source) return false;
  WeightsWriter writer;
  std::set<std::string> done;
  auto copy = [&](WeightOp w) -> bool {
    std::string name = w.getName().str();
    if (done.count(name)) return true;
    auto e = source->get(name);
    if (!e) { error = "weight '" + name + "' is missing from the weights"; return false; }
    done.insert(name);
    // The source stays mapped until the file is written: no copy.
    return writer.addBorrowed(name, e->dtype, e->shape, e->data, e->nbytes, error);
  };
  bool ok = true;
  fn.walk([&](Operation *op) {
    if (!ok) return;
    if (auto lin = dyn_cast<LinearOp>(op)) {
      auto w = lin.getWeight().getDefiningOp<WeightOp>();
      if (!w) { error = "linear weight is not a lithe.weight"; ok = false; return; }
      std::string packed = w.getName().str() + ".packed";
      if (!done.count(packed)) {
        auto e = source->get(w.getName().str());
        bool q8 = lin.getWeightScale() != nullptr;
        if (!e || e->dtype != (q8 ? DType::I8 : DType::F32) || e->shape.size() != 2) {
          error = "linear weight '" + w.getName().str() + "' must be an " + (q8 ? "i8" : "f32") +
                  " [in, out] tensor";
          ok = false;
          return;
        }
        int64_t K = e->shape[0], N = e->shape[1];
        // Packed while the file is written, one tensor in memory at a time.
        size_t bytes;
        WeightsWriter::Producer fill;
        const void *data = e->data;
        if (q8) {
          auto sw = lin.getWeightScale().getDefiningOp<WeightOp>();
          const float *scale = sw ? source->getF32(sw.getName().str(), N, error) : nullptr;
          if (!scale) { ok = false; return; }
          bytes = lithe_pack_linear_q8_size(K, N);
          fill = [=](uint8_t *out, std::string &) {
            lithe_pack_linear_q8(static_cast<const int8_t *>(data), scale, K, N, out);
            return true;
          };
        } else {
          bytes = lithe_pack_linear_size(K, N);
          fill = [=](uint8_t *out, std::string &) {
            lithe_pack_linear(static_cast<const float *>(data), K, N, out);
            return true;
          };
        }
        done.insert(packed);
        ok = writer.addGenerated(packed, DType::I8, {static_cast<int64_t>(bytes)}, bytes, fill, error);
      }
      if (ok && lin.getBias()) ok = copy(lin.getBias().getDefiningOp<WeightOp>());
    } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
      if (ln.getScale()) ok = ok && copy(ln.getScale().getDefiningOp<WeightOp>());
      if (ln.getBias()) ok = ok && copy(ln.getBias().getDefiningOp<WeightOp>());
    } else if (auto c = dyn_cast<CenterOp>(op)) {
      if (c.getScale()) ok = ok && copy(c.getScale().getDefiningOp<WeightOp>());
      if (c.getBias()) ok = ok && copy(c.getBias().getDefiningOp<WeightOp>());
    } else if (auto e = dyn_cast<EmbeddingOp>(op)) {
      ok = copy(e.getTable().getDefiningOp<WeightOp>());
    } else if (auto h = dyn_cast<LMHeadOp>(op)) {
      ok = copy(h.getTable().getDefiningOp<WeightOp>());
      if (ok && h.getTableScale()) ok = copy(h.getTableScale().getDefiningOp<WeightOp>());
      if (ok && h.getBias()) ok = copy(h.getBias().getDefiningOp<WeightOp>());
    }
  });
  if (!ok) return false;
  if (!writer.write(opts.outputWeights, error)) return false;
  std::unique_ptr<WeightsFile> out = WeightsFile::open(opts.outputWeights, error);
  if (!out) return false;
  for (const TensorEntry &e : out->entries()) {
    weightOffset[e.name] = out->fileOffset(e);
    report.weightBytes += static_cast<int64_t>(e.nbytes);
  }
  checksum = out->checksum();
  return true;
}

bool Emitter::run(OwningOpRef<ModuleOp> &out, std::string &error) {
  auto fn = src.lookupSymbol<func::FuncOp>("forward");
  if (!fn || fn.getBody().getBlocks().size() != 1) {
    error = "the module has no single-block func.func @forward";
    return false;
  }
  // Arguments: ids, past_len, then one KV cache per attention layer.
  auto args = fn.getArguments();
  if (args.size() < 2 || !isa<RankedTensorType>(args[0].getType()) || !args[1].getType().isIndex()) {
    error = "@forward must take (ids, past_len, caches...): import a GPT-2 model with lithec";
    return false;
  }
  std::vector<KVCacheType> caches;
  for (size_t a = 2; a < args.size(); ++a) {
    auto c = dyn_cast<KVCacheType>(args[a].getType());
    if (!c || !c.getElementType().isF32()) {
      error = "@forward argument " + std::to_string(a) + " is not an f32 !lithe.kv_cache";
      return false;
    }
    caches.push_back(c);
    report.kvBytesPerPosition += c.getBytesPerPosition();
  }
  int64_t capacity = opts.capacity;
  int64_t layers = 0, vocab = 0, width = 0;
  fn.walk([&](EmbeddingOp e) {
    if (e.getIds().getDefiningOp<PositionIdsOp>() && !opts.capacity)
      capacity = cast<RankedTensorType>(e.getTable().getType()).getDimSize(0);
  });
  fn.walk([&](AttentionOp) { ++layers; });
  if (capacity <= 0) {
    error = "no context length: give --capacity";
    return false;
  }
  Planner plan(fn, capacity);
  if (!plan.plan(error)) return false;
  vocab = cast<RankedTensorType>(plan.head.getTable().getType()).getDimSize(0);
  width = cast<RankedTensorType>(plan.head.getTable().getType()).getDimSize(1);
  report.capacity = capacity;
  report.arenaBytes = plan.arenaBytes;
  if (!writeWeights(fn, error)) return false;

  out = ModuleOp::create(loc);
  b.setInsertionPointToEnd(out->getBody());
  ptrTy = LLVM::LLVMPointerType::get(ctx);
  Type voidTy = LLVM::LLVMVoidType::get(ctx), i64Ty = b.getI64Type(), i32Ty = b.getI32Type(),
       f32Ty = b.getF32Type();
  // Runtime kernels (runtime/include/lithe/runtime/kernels.h).
  declare("lithe_embedding", voidTy, {ptrTy, i64Ty, ptrTy, i64Ty, ptrTy});
  declare("lithe_add", voidTy, {ptrTy, ptrTy, i64Ty, ptrTy});
  declare("lithe_layer_norm", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, ptrTy, f32Ty, ptrTy});
  declare("lithe_center", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy});
  declare("lithe_linear", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, i64Ty, ptrTy, ptrTy, i32Ty});
  declare("lithe_gelu", voidTy, {ptrTy, i64Ty, ptrTy, i32Ty});
  declare("lithe_kv_append", i32Ty, {ptrTy, ptrTy, i64Ty, i64Ty, i64Ty, i64Ty, ptrTy, ptrTy, i64Ty});
  declare("lithe_attention", voidTy,
          {ptrTy, i64Ty, ptrTy, ptrTy, i64Ty, i64Ty, i64Ty, i64Ty, f32Ty, i32Ty, ptrTy});
  declare("lithe_lm_head", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, i64Ty, ptrTy});
  declare("lithe_lm_head_q8", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, ptrTy, i64Ty, ptrTy});
  declare("lithe_linear_q8", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, i64Ty, ptrTy, ptrTy, i32Ty});
  declare("lithe_add_rows", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy});
  declare("lithe_affine_rows", voidTy, {ptrTy, i64Ty, i64Ty, ptrTy, ptrTy});

  // Constants the runtime reads.
  // Every symbol of this model is private except its query function, so
  // several models link into one process (runtime/include/lithe/runtime/model.h).
  const std::string prefix = "lithe_" + opts.modelName + "_";
  auto global = [&](StringRef name, ArrayRef<int64_t> values) {
    auto type = LLVM::LLVMArrayType::get(i64Ty, values.size());
    auto attr = DenseElementsAttr::get(RankedTensorType::get({static_cast<int64_t>(values.size())}, i64Ty), values);
    b.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true, LLVM::Linkage::Internal, name, attr);
  };
  std::vector<int64_t> config(kCfgCount);
  config[kCfgVersion] = kAbiVersion;
  config[kCfgVocab] = vocab;
  config[kCfgWidth] = width;
  config[kCfgCaches] = static_cast<int64_t>(caches.size());
  config[kCfgCapacity] = capacity;
  config[kCfgArenaBytes] = plan.arenaBytes;
  config[kCfgLayers] = layers;
  global(prefix + "config", config);
  std::vector<int64_t> shapes;
  for (KVCacheType c : caches) { shapes.push_back(c.getHeads()); shapes.push_back(c.getHeadDim()); }
  if (shapes.empty()) shapes = {0, 0};
  global(prefix + "cache_shapes", shapes);

  // i32 forward(weights, arena, kcache**, vcache**, ids, rows, past, hidden):
  // 0, or the first kernel failure (a KV append past the capacity).
  auto fwd = b.create<LLVM::LLVMFuncOp>(
      loc, prefix + "forward",
      LLVM::LLVMFunctionType::get(i32Ty, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, i64Ty, i64Ty, ptrTy}),
      LLVM::Linkage::Internal);
  Block *entry = fwd.addEntryBlock(b);
  b.setInsertionPointToEnd(entry);
  mlir::Value status = i32(0);
  mlir::Value weights = entry->getArgument(0), arena = entry->getArgument(1),
              kcs = entry->getArgument(2), vcs = entry->getArgument(3), ids = entry->getArgument(4),
              rows = entry->getArgument(5), past = entry->getArgument(6),
              hiddenOut = entry->getArgument(7);

  auto bufferOf = [&](mlir::Value v) -> mlir::Value {
    if (v == plan.hidden) return hiddenOut;
    auto it = plan.slotOf.find(v);
    if (it == plan.slotOf.end()) return {};
    return offset(arena, i64(plan.slots[it->second].offset));
  };
  auto weightOf = [&](mlir::Value v) {
    return weightPtr(weights, v.getDefiningOp<WeightOp>().getName().str());
  };
  llvm::DenseMap<mlir::Value, mlir::Value> viewOf; // position embeddings: pointers into the table
  auto ptrOf = [&](mlir::Value v) -> mlir::Value {
    if (auto it = viewOf.find(v); it != viewOf.end()) return it->second;
    return bufferOf(v);
  };
  auto cacheIndex = [&](mlir::Value c) { return cast<BlockArgument>(c).getArgNumber() - 2; };
  auto loadCache = [&](mlir::Value table, int64_t idx) {
    mlir::Value slot = offset(table, i64(idx * 8));
    return b.create<LLVM::LoadOp>(loc, ptrTy, slot).getResult();
  };

  bool ok = true;
  for (Operation &op : fn.getBody().front()) {
    if (!ok) break;
    if (plan.fusedAway.count(&op)) continue;
    if (auto e = dyn_cast<EmbeddingOp>(op)) {
      int64_t D = cast<RankedTensorType>(e.getTable().getType()).getDimSize(1);
      if (e.getIds().getDefiningOp<PositionIdsOp>()) {
        mlir::Value byteOff = b.create<LLVM::MulOp>(loc, past, i64(D * 4));
        viewOf[e.getResult()] = offset(weightOf(e.getTable()), byteOff);
        continue;
      }
      if (e.getIds() != fn.getArgument(0)) { error = "token embedding must read the ids argument"; ok = false; break; }
      call("lithe_embedding", {weightOf(e.getTable()), i64(D), ids, rows, bufferOf(e.getResult())});
    } else if (auto a = dyn_cast<AddOp>(op)) {
      mlir::Value n = b.create<LLVM::MulOp>(loc, rows, i64(lastDim(a.getResult())));
      call("lithe_add", {ptrOf(a.getLhs()), ptrOf(a.getRhs()), n, bufferOf(a.getResult())});
    } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
      call("lithe_layer_norm", {ptrOf(ln.getInput()), rows, i64(lastDim(ln.getInput())),
                                ln.getScale() ? weightOf(ln.getScale()) : null(),
                                ln.getBias() ? weightOf(ln.getBias()) : null(),
                                f32(ln.getEpsilon().convertToDouble()), bufferOf(ln.getResult())});
    } else if (auto c = dyn_cast<CenterOp>(op)) {
      call("lithe_center", {ptrOf(c.getInput()), rows, i64(lastDim(c.getInput())), bufferOf(c.getResult())});
      if (c.getScale() || c.getBias())
        call("lithe_affine_rows", {bufferOf(c.getResult()), rows, i64(lastDim(c.getInput())),
                                   c.getScale() ? weightOf(c.getScale()) : null(),
                                   c.getBias() ? weightOf(c.getBias()) : null()});
    } else if (auto lin = dyn_cast<LinearOp>(op)) {
      auto wt = cast<RankedTensorType>(lin.getWeight().getType());
      int flags = 0;
      if (auto it = plan.epilogue.find(&op); it != plan.epilogue.end()) { flags |= it->second; ++report.fusedEpilogues; }
      if (plan.accumulateInto.count(&op)) { flags |= LITHE_EPI_ACCUMULATE; ++report.fusedEpilogues; }
      std::string packed = lin.getWeight().getDefiningOp<WeightOp>().getName().str() + ".packed";
      call(lin.getWeightScale() ? "lithe_linear_q8" : "lithe_linear", {ptrOf(lin.getInput()), rows, i64(wt.getDimSize(0)), weightPtr(weights, packed),
                            i64(wt.getDimSize(1)), lin.getBias() ? weightOf(lin.getBias()) : null(),
                            bufferOf(lin.getResult()), i32(flags)});
    } else if (auto g = dyn_cast<GeluOp>(op)) {
      mlir::Value n = b.create<LLVM::MulOp>(loc, rows, i64(lastDim(g.getResult())));
      call("lithe_gelu", {ptrOf(g.getInput()), n, bufferOf(g.getResult()),
                          i32(g.getApproximation() == GeluApproximation::tanh)});
    } else if (auto at = dyn_cast<AttentionOp>(op)) {
      int64_t idx = cacheIndex(at.getCache());
      mlir::Value kc = loadCache(kcs, idx), vc = loadCache(vcs, idx);
      int64_t H = at.getNumHeads(), hd = at.getHeadDim();
      if (at.getKey()) {
        auto append = b.create<LLVM::CallOp>(
            loc, funcs.at("lithe_kv_append"),
            ValueRange{kc, vc, i64(H), i64(hd), i64(capacity), past, ptrOf(at.getKey()),
                       ptrOf(at.getValue()), rows});
        status = b.create<LLVM::OrOp>(loc, status, append.getResult());
      }
      call("lithe_attention", {ptrOf(at.getQuery()), rows, kc, vc, i64(H), i64(hd), i64(capacity), past,
                               f32(at.getScale().convertToDouble()), i32(at.getCausal() ? 1 : 0),
                               bufferOf(at.getResult())});
    }
  }
  if (!ok) return false;
  b.create<LLVM::ReturnOp>(loc, ValueRange{status});

  // head(weights, hidden, rows, logits)
  b.setInsertionPointToEnd(out->getBody());
  auto headFn = b.create<LLVM::LLVMFuncOp>(
      loc, prefix + "head", LLVM::LLVMFunctionType::get(voidTy, {ptrTy, ptrTy, i64Ty, ptrTy}),
      LLVM::Linkage::Internal);
  Block *hb = headFn.addEntryBlock(b);
  b.setInsertionPointToEnd(hb);
  mlir::Value table = weightPtr(hb->getArgument(0),
                                plan.head.getTable().getDefiningOp<WeightOp>().getName().str());
  if (plan.head.getTableScale())
    call("lithe_lm_head_q8",
         {hb->getArgument(1), hb->getArgument(2), i64(width), table,
          weightPtr(hb->getArgument(0), plan.head.getTableScale().getDefiningOp<WeightOp>().getName().str()),
          i64(vocab), hb->getArgument(3)});
  else
    call("lithe_lm_head", {hb->getArgument(1), hb->getArgument(2), i64(width), table, i64(vocab),
                           hb->getArgument(3)});
  if (plan.head.getBias())
    call("lithe_add_rows", {hb->getArgument(3), hb->getArgument(2), i64(vocab),
                            weightPtr(hb->getArgument(0),
                                      plan.head.getBias().getDefiningOp<WeightOp>().getName().str())});
  b.create<LLVM::ReturnOp>(loc, ValueRange{});

  // void lithe_<name>_query(LitheModelDescriptor *d): fills the descriptor
  // {abiVersion, config, cacheShapes, weightsChecksum, forward, head}. The
  // executable's copy, lithe_main_query (lithe_main_draft_query for a
  // speculative-decoding draft), is weak: embedders link several.
  auto descTy = LLVM::LLVMStructType::getLiteral(ctx, {i64Ty, ptrTy, ptrTy, i64Ty, ptrTy, ptrTy});
  std::vector<std::pair<std::string, LLVM::Linkage>> queries = {{prefix + "query", LLVM::Linkage::External}};
  if (!opts.mainQuery.empty()) queries.push_back({opts.mainQuery, LLVM::Linkage::Weak});
  for (auto [name, linkage] : queries) {
    b.setInsertionPointToEnd(out->getBody());
    auto q = b.create<LLVM::LLVMFuncOp>(loc, name, LLVM::LLVMFunctionType::get(voidTy, {ptrTy}), linkage);
    Block *qb = q.addEntryBlock(b);
    b.setInsertionPointToEnd(qb);
    mlir::Value d = qb->getArgument(0);
    auto field = [&](int i, mlir::Value v) {
      mlir::Value p = b.create<LLVM::GEPOp>(loc, ptrTy, descTy, d, ArrayRef<LLVM::GEPArg>{0, i});
      b.create<LLVM::StoreOp>(loc, v, p);
    };
    auto addr = [&](StringRef sym) -> mlir::Value { return b.create<LLVM::AddressOfOp>(loc, ptrTy, sym); };
    field(0, i64(kAbiVersion));
    field(1, addr(prefix + "config"));
    field(2, addr(prefix + "cache_shapes"));
    field(3, i64(static_cast<int64_t>(checksum)));
    field(4, addr(prefix + "forward"));
    field(5, addr(prefix + "head"));
    b.create<LLVM::ReturnOp>(loc, ValueRange{});
  }
  return true;
}

bool toLLVM(ModuleOp module, const CodegenOptions &opts, CodegenReport &report,
            llvm::LLVMContext &llctx, std::unique_ptr<llvm::Module> &llmod, std::string &error) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<LLVM::LLVMDialect>();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  OwningOpRef<ModuleOp> lowered;
  Emitter emitter(module, opts, report);
  if (!emitter.run(lowered, error)) return false;
  llmod = translateModuleToLLVMIR(*lowered, llctx, "lithe_model");
  if (!llmod) {
    error = "internal error: translation to LLVM IR failed";
    return false;
  }
  llmod->setTargetTriple(llvm::sys::getProcessTriple());
  return true;
}

} // namespace

bool generateKernelIR(ModuleOp module, const CodegenOptions &options, std::string &ir,
                      std::string &error) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<LLVM::LLVMDialect>();
  CodegenReport report;
  OwningOpRef<ModuleOp> lowered;
  Emitter emitter(module, options, report);
  if (!emitter.run(lowered, error)) return false;
  llvm::raw_string_ostream os(ir);
  lowered->print(os);
  return true;
}

bool generateLLVMIR(ModuleOp module, const CodegenOptions &options, std::string &ir,
                    std::string &error) {
  CodegenReport report;
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  if (!toLLVM(module, options, report, llctx, llmod, error)) return false;
  llvm::raw_string_ostream os(ir);
  llmod->print(os, nullptr);
  return true;
}

bool generateObject(ModuleOp module, const CodegenOptions &options, CodegenReport &report,
                    std::string &error) {
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  if (!toLLVM(module, options, report, llctx, llmod, error)) return false;

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) return false;
  llvm::TargetOptions to;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "generic", "", to, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Default));
  llmod->setDataLayout(tm->createDataLayout());
  std::error_code ec;
  llvm::raw_fd_ostream os(options.objectPath, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = options.objectPath + ": cannot write: " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(*llmod);
  os.flush();
  return true;
}

bool linkExecutable(const std::string &objectPath, const std::string &exePath, std::string &error) {
  return linkExecutable(std::vector<std::string>{objectPath}, exePath, error);
}

bool linkExecutable(const std::vector<std::string> &objectPaths, const std::string &exePath,
                    std::string &error) {
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
  for (llvm::StringRef a : {llvm::StringRef(runtime), llvm::StringRef("-o"), llvm::StringRef(exePath),
                            llvm::StringRef("-pthread"), llvm::StringRef("-lm")})
    argv.push_back(a);
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
