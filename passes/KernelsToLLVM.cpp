//===- KernelsToLLVM.cpp - lithe-kernels-to-llvm --------------------------===//
//
// Kernel level to the LLVM dialect, as a dialect conversion (MLIR's Toy
// chapter 6 does the same): buffers become `!llvm.ptr`, index becomes i64,
// each lithe_k op becomes pointer arithmetic or one call of its runtime
// kernel. Which kernel and which arguments is lithe::kernelCall
// (lib/Lowering/KernelCalls.cpp), the mapping the calibration Evaluator
// uses too; kernel declarations come from lithe::kernelTable, derived from
// the prototypes in runtime/include/lithe/runtime/kernels.h (the one list
// of kernels).
//
// Then the model's ABI (runtime/include/lithe/runtime/abi.h): the two
// functions become private `lithe_<name>_forward` / `lithe_<name>_head`,
// the constants private globals, and `lithe_<name>_query` fills the
// descriptor (its weak alias `main-query` is what the executable's main
// calls).
//
//===----------------------------------------------------------------------===//

#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/Passes.h"
#include "lithe/Weights.h"
#include "lithe/runtime/model.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <map>

namespace lithe {
#define GEN_PASS_DEF_LITHEKERNELSTOLLVM
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// What every pattern needs: the weights file's offsets, the capacity.
struct Shared {
  std::map<std::string, uint64_t> weightOffset;
  int64_t capacity = 0;
  int64_t maxLinear = 0; // largest linear width (config[kCfgMaxLinear])
};

/// Emits constants, pointer arithmetic and kernel calls at one op.
struct Emit {
  ConversionPatternRewriter &r;
  Location loc;
  Type ptr = LLVM::LLVMPointerType::get(r.getContext());
  Value i64(int64_t v) { return r.create<LLVM::ConstantOp>(loc, r.getI64Type(), r.getI64IntegerAttr(v)); }
  Value i32(int32_t v) { return r.create<LLVM::ConstantOp>(loc, r.getI32Type(), r.getI32IntegerAttr(v)); }
  Value f32(float v) { return r.create<LLVM::ConstantOp>(loc, r.getF32Type(), r.getF32FloatAttr(v)); }
  Value orNull(Value v) { return v ? v : r.create<LLVM::ZeroOp>(loc, ptr).getResult(); }
  Value offset(Value base, Value bytes) {
    return r.create<LLVM::GEPOp>(loc, ptr, r.getI8Type(), base, ArrayRef<LLVM::GEPArg>{bytes});
  }
  Value mul(Value a, int64_t b) { return r.create<LLVM::MulOp>(loc, a, i64(b)); }
  LLVM::CallOp call(Operation *op, StringRef kernel, ArrayRef<Value> args) {
    auto fn = op->getParentOfType<ModuleOp>().lookupSymbol<LLVM::LLVMFuncOp>(kernel);
    return r.create<LLVM::CallOp>(loc, fn, args);
  }
};

int64_t cols(Value v) { return cast<k::BufferType>(v.getType()).getCols(); }

template <typename Op> struct KernelPattern : OpConversionPattern<Op> {
  KernelPattern(TypeConverter &tc, MLIRContext *ctx, const Shared &shared)
      : OpConversionPattern<Op>(tc, ctx), shared(shared) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor a, ConversionPatternRewriter &r) const override {
    Emit e{r, op.getLoc()};
    return lower(op, a, e);
  }
  LogicalResult lower(Op op, typename Op::Adaptor a, Emit &e) const;
  const Shared &shared;
};

// Buffers.
template <> LogicalResult KernelPattern<k::WeightOp>::lower(k::WeightOp op, k::WeightOp::Adaptor a, Emit &e) const {
  auto it = shared.weightOffset.find(op.getName().str());
  if (it == shared.weightOffset.end()) return failure(); // checked before the conversion
  e.r.replaceOp(op, e.offset(a.getWeights(), e.i64(static_cast<int64_t>(it->second))));
  return success();
}
template <> LogicalResult KernelPattern<k::ArenaOp>::lower(k::ArenaOp op, k::ArenaOp::Adaptor a, Emit &e) const {
  if (!op.getOffset()) return failure(); // checked before the conversion
  e.r.replaceOp(op, e.offset(a.getArena(), e.i64(*op.getOffset())));
  return success();
}
template <>
LogicalResult KernelPattern<k::TableRowsOp>::lower(k::TableRowsOp op, k::TableRowsOp::Adaptor a, Emit &e) const {
  e.r.replaceOp(op, e.offset(a.getTable(), e.mul(a.getFirst(), cols(op.getTable()) * 4)));
  return success();
}
template <>
LogicalResult KernelPattern<k::CachePlaneOp>::lower(k::CachePlaneOp op, k::CachePlaneOp::Adaptor a,
                                                    Emit &e) const {
  Value slot = e.offset(a.getCaches(), e.i64(op.getIndex() * 8));
  e.r.replaceOpWithNewOp<LLVM::LoadOp>(op, e.ptr, slot);
  return success();
}

template <>
LogicalResult KernelPattern<k::ObserveOp>::lower(k::ObserveOp op, k::ObserveOp::Adaptor, Emit &e) const {
  e.r.eraseOp(op); // the Evaluator's hook: nothing to run
  return success();
}

/// Every kernel op: the call lithe::kernelCall (lib/Lowering/KernelCalls.cpp)
/// or, for CUDA, lithe::cudaKernelCall (CudaKernelCalls.cpp) says.
struct KernelCallPattern : ConversionPattern {
  KernelCallPattern(TypeConverter &tc, MLIRContext *ctx, bool cuda)
      : ConversionPattern(tc, MatchAnyOpTypeTag(), 1, ctx), cuda(cuda) {}
  bool cuda;
  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &r) const override {
    if (!isa<k::LitheKDialect>(op->getDialect())) return failure();
    std::optional<KernelCall> call = cuda ? cudaKernelCall(op) : kernelCall(op);
    if (!call) return failure();
    Emit e{r, op->getLoc()};
    SmallVector<Value> args;
    for (const KernelArg &a : call->args) switch (a.kind) {
      case KernelArg::Operand: args.push_back(operands[a.operand]); break;
      case KernelArg::Null: args.push_back(e.orNull(Value())); break;
      case KernelArg::I64: args.push_back(e.i64(a.i)); break;
      case KernelArg::I32: args.push_back(e.i32(static_cast<int32_t>(a.i))); break;
      case KernelArg::F32: args.push_back(e.f32(a.f)); break;
      case KernelArg::RowsTimes: args.push_back(e.mul(operands[a.operand], a.i)); break;
      }
    LLVM::CallOp c = e.call(op, call->kernel, args);
    if (op->getNumResults()) r.replaceOp(op, c.getResults());
    else r.eraseOp(op);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct KernelsToLLVMPass : impl::LitheKernelsToLLVMBase<KernelsToLLVMPass> {
  using LitheKernelsToLLVMBase::LitheKernelsToLLVMBase;

  void runOnOperation() override {
    if (failed(run())) signalPassFailure();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto fail = [&](Operation *at, const Twine &msg) {
      at->emitError() << "lithe-kernels-to-llvm: " << msg;
      return failure();
    };
    const std::string &name = modelName;
    bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ident) return fail(module, "model-name '" + name + "' is not a C identifier");
    if (target != "cpu" && target != "cuda") return fail(module, "unknown target '" + target + "' (known: cpu, cuda)");
    const bool cuda = target == "cuda";

    // What the descriptor says, read before the functions are converted.
    auto fwd = module.lookupSymbol<func::FuncOp>(k::kForward);
    auto head = module.lookupSymbol<func::FuncOp>(k::kHead);
    auto capacity = module->getAttrOfType<IntegerAttr>(k::kCapacityAttr);
    auto arenaBytes = module->getAttrOfType<IntegerAttr>(k::kArenaBytesAttr);
    auto cacheShapes = module->getAttrOfType<DenseI64ArrayAttr>(k::kCacheShapesAttr);
    auto layers = module->getAttrOfType<IntegerAttr>(k::kLayersAttr);
    if (!fwd || !head || !capacity || !cacheShapes || !layers || fwd.getNumArguments() != 8 ||
        head.getNumArguments() != 4)
      return fail(module, "not a kernel-level module (run lithe-lower-to-kernels first)");
    if (!arenaBytes) return fail(module, "buffers are not placed (run lithe-plan-buffers first)");
    Shared shared;
    shared.capacity = capacity.getInt();
    int64_t width = cast<k::BufferType>(head.getArgument(1).getType()).getCols();
    module.walk([&](k::LinearOp l) {
      for (int64_t d : cast<k::BufferType>(l.getWeight().getType()).getShape())
        shared.maxLinear = std::max(shared.maxLinear, d);
    });
    int64_t vocab = cast<k::BufferType>(head.getArgument(3).getType()).getCols();
    auto caches = dyn_cast<k::CachesType>(fwd.getArgument(2).getType());
    if (!caches) return fail(module, "@forward's third argument is not a !lithe_k.caches table");
    int64_t cacheBytes = caches.getElementBytes();

    // Every slot placed, every linear packed, every weight in the file.
    auto weightsAttr = module->getAttrOfType<StringAttr>(LitheDialect::kWeightsAttrName);
    if (!weightsAttr) return fail(module, "the module names no weights file (lithe.weights)");
    llvm::SmallString<256> path(weightsAttr.getValue());
    if (!weightsDir.empty() && !llvm::sys::path::is_absolute(path)) {
      llvm::SmallString<256> dir(weightsDir.getValue());
      llvm::sys::path::append(dir, path);
      path = dir;
    }
    std::string error;
    std::unique_ptr<WeightsFile> file = WeightsFile::open(std::string(path), error);
    if (!file) return fail(module, error);
    for (const TensorEntry &t : file->entries()) shared.weightOffset[t.name] = file->fileOffset(t);
    LogicalResult checked = success();
    module.walk([&](Operation *op) {
      if (failed(checked)) return;
      if (auto w = dyn_cast<k::WeightOp>(op); w && !shared.weightOffset.count(w.getName().str()))
        checked = fail(op, "weight '" + w.getName() + "' is not in " + std::string(path) +
                               " (run lithe-write-weights first)");
      else if (auto s = dyn_cast<k::ArenaOp>(op); s && !s.getOffset())
        checked = fail(op, "an arena slot has no offset (run lithe-plan-buffers first)");
      else if (auto l = dyn_cast<k::LinearOp>(op);
               l && (!l.getWeight().getDefiningOp<k::WeightOp>() ||
                     l.getWeight().getDefiningOp<k::WeightOp>().getLayout() !=
                         (cuda ? k::Layout::cuda_rows : k::Layout::cpu_panels)))
        checked = fail(op, std::string("a linear weight is not packed for the ") + (cuda ? "cuda" : "cpu") +
                               " target (run lithe-pack-weights{target=" + (cuda ? "cuda" : "cpu") + "} first)");
      else if (auto l = dyn_cast<k::LinearSplitOp>(op);
               l && (!cuda || !l.getWeight().getDefiningOp<k::WeightOp>() ||
                     l.getWeight().getDefiningOp<k::WeightOp>().getLayout() != k::Layout::cuda_rows))
        checked = fail(op, cuda ? "a split linear's weight is not packed for the cuda target (run "
                                  "lithe-pack-weights{target=cuda} first)"
                                : "a split linear has no CPU kernel (lithe-fuse-qkv is the CUDA target's)");
      else if (cuda && isa<k::TableRowsOp>(op))
        checked = fail(op, "a table_rows view needs the past length on the host; the CUDA target reads it on "
                           "the device (run lithe-fuse-positions first)");
      else if (std::string why; cuda && isa<k::LitheKDialect>(op->getDialect()) &&
                                !isa<k::WeightOp, k::ArenaOp, k::CachePlaneOp, k::ObserveOp, k::TableRowsOp>(op) &&
                                !cudaKernelCall(op, &why))
        checked = fail(op, "'" + op->getName().getStringRef() + "' has no CUDA kernel" +
                               (why.empty() ? std::string() : ": " + why));
    });
    if (failed(checked)) return failure();

    // Kernel declarations.
    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    for (const KernelEntry &kernel : cuda ? cudaKernelTable() : kernelTable())
      if (!module.lookupSymbol(kernel.name))
        b.create<LLVM::LLVMFuncOp>(module.getLoc(), kernel.name, kernel.type(ctx));

    // The conversion.
    LLVMTypeConverter types(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    types.addConversion([ptr](k::BufferType) { return ptr; });
    types.addConversion([ptr](k::WeightsType) { return ptr; });
    types.addConversion([ptr](k::ArenaType) { return ptr; });
    types.addConversion([ptr](k::CachesType) { return ptr; });
    RewritePatternSet patterns(ctx);
    populateFuncToLLVMConversionPatterns(types, patterns);
    arith::populateArithToLLVMConversionPatterns(types, patterns);
    patterns.add<KernelPattern<k::WeightOp>, KernelPattern<k::ArenaOp>, KernelPattern<k::TableRowsOp>,
                 KernelPattern<k::CachePlaneOp>, KernelPattern<k::ObserveOp>>(types, ctx, shared);
    patterns.add<KernelCallPattern>(types, ctx, cuda);
    LLVMConversionTarget target(*ctx);
    target.addLegalOp<ModuleOp>();
    if (failed(applyFullConversion(module, target, std::move(patterns)))) return failure();
    OpPassManager reconcile("builtin.module");
    reconcile.addPass(createReconcileUnrealizedCastsPass());
    if (failed(runPipeline(reconcile, module))) return failure();

    // The ABI: private functions and constants, one exported query.
    using namespace lithe::rt;
    const std::string prefix = "lithe_" + name + "_";
    Type i64 = b.getI64Type(), voidTy = LLVM::LLVMVoidType::get(ctx);
    bool hasBatch = false;
    for (auto [from, to] : {std::pair<StringRef, std::string>{k::kForward, prefix + "forward"},
                            std::pair<StringRef, std::string>{k::kHead, prefix + "head"},
                            std::pair<StringRef, std::string>{k::kDecodeBatch, prefix + "decode_batch"}}) {
      auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(from);
      if (!f && from == k::kDecodeBatch) continue; // lowered without it: the descriptor says null
      if (!f) return fail(module, "@" + from + " was not converted");
      hasBatch |= from == k::kDecodeBatch;
      f.setSymName(to);
      f.setLinkage(LLVM::Linkage::Internal);
    }
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    auto global = [&](StringRef sym, ArrayRef<int64_t> values) {
      auto type = LLVM::LLVMArrayType::get(i64, values.size());
      auto attr = DenseElementsAttr::get(RankedTensorType::get({static_cast<int64_t>(values.size())}, i64), values);
      b.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true, LLVM::Linkage::Internal, sym, attr);
    };
    std::vector<int64_t> config(kCfgCount);
    config[kCfgVersion] = kAbiVersion;
    config[kCfgVocab] = vocab;
    config[kCfgWidth] = width;
    config[kCfgCaches] = static_cast<int64_t>(cacheShapes.size() / 2);
    config[kCfgCapacity] = shared.capacity;
    config[kCfgArenaBytes] = arenaBytes.getInt();
    config[kCfgLayers] = layers.getInt();
    config[kCfgMaxLinear] = shared.maxLinear;
    config[kCfgCacheElementBytes] = cacheBytes;
    config[kCfgTarget] = cuda ? kTargetCuda : kTargetCpu;
    global(prefix + "config", config);
    std::vector<int64_t> shapes(cacheShapes.asArrayRef());
    if (shapes.empty()) shapes = {0, 0};
    global(prefix + "cache_shapes", shapes);

    // void lithe_<name>_query(LitheModelDescriptor *d): {abiVersion, config,
    // cacheShapes, weightsChecksum, forward, head, decodeBatch}.
    auto descTy = LLVM::LLVMStructType::getLiteral(ctx, {i64, ptr, ptr, i64, ptr, ptr, ptr});
    std::vector<std::pair<std::string, LLVM::Linkage>> queries = {{prefix + "query", LLVM::Linkage::External}};
    if (!mainQuery.empty()) queries.push_back({mainQuery, LLVM::Linkage::Weak});
    for (auto [sym, linkage] : queries) {
      b.setInsertionPointToEnd(module.getBody());
      auto q = b.create<LLVM::LLVMFuncOp>(loc, sym, LLVM::LLVMFunctionType::get(voidTy, {ptr}), linkage);
      Block *qb = q.addEntryBlock(b);
      b.setInsertionPointToEnd(qb);
      Value d = qb->getArgument(0);
      auto field = [&](int i, Value v) {
        Value p = b.create<LLVM::GEPOp>(loc, ptr, descTy, d, ArrayRef<LLVM::GEPArg>{0, i});
        b.create<LLVM::StoreOp>(loc, v, p);
      };
      auto addr = [&](StringRef s) -> Value { return b.create<LLVM::AddressOfOp>(loc, ptr, s); };
      auto cst = [&](int64_t v) -> Value { return b.create<LLVM::ConstantOp>(loc, i64, b.getI64IntegerAttr(v)); };
      field(0, cst(kAbiVersion));
      field(1, addr(prefix + "config"));
      field(2, addr(prefix + "cache_shapes"));
      field(3, cst(static_cast<int64_t>(file->checksum())));
      field(4, addr(prefix + "forward"));
      field(5, addr(prefix + "head"));
      field(6, hasBatch ? addr(prefix + "decode_batch") : b.create<LLVM::ZeroOp>(loc, ptr).getResult());
      b.create<LLVM::ReturnOp>(loc, ValueRange{});
    }
    for (StringRef attr : {k::kCapacityAttr, k::kArenaBytesAttr, k::kCacheShapesAttr, k::kLayersAttr})
      module->removeAttr(attr);
    return success();
  }
};

} // namespace
} // namespace lithe
