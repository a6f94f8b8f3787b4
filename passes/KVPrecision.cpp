//===- KVPrecision.cpp - lithe-kv-precision --------------------------------===//
//
// The element type of the model's KV caches: f16 halves the bytes a cached
// position takes (and attention reads per decoded token), int8 with a scale
// per head and position nearly quarters them; the kernels round keys and
// values as they append them and widen them as they read.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "lithe/Passes.h"

#include "mlir/IR/Builders.h"

namespace lithe {
#define GEN_PASS_DEF_LITHEKVPRECISION
#include "passes/Passes.h.inc"

namespace {
using namespace mlir;

struct KVPrecisionPass : impl::LitheKVPrecisionBase<KVPrecisionPass> {
  using LitheKVPrecisionBase::LitheKVPrecisionBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(module.getContext());
    Type element = type == "f16"    ? Type(b.getF16Type())
                   : type == "f32"  ? Type(b.getF32Type())
                   : type == "int8" ? Type(b.getI8Type())
                                    : Type();
    if (!element) {
      module.emitError() << "lithe-kv-precision: type must be f32, f16 or int8, got '" << type << "'";
      return signalPassFailure();
    }
    func::FuncOp fn = modelFunction(module);
    if (!fn) {
      module.emitError("lithe-kv-precision: needs one model function");
      return signalPassFailure();
    }
    SmallVector<Type> args(fn.getArgumentTypes());
    for (BlockArgument arg : fn.getArguments()) {
      auto cache = dyn_cast<KVCacheType>(arg.getType());
      if (!cache) continue;
      auto changed = KVCacheType::get(module.getContext(), cache.getHeads(), cache.getHeadDim(), element);
      arg.setType(changed);
      args[arg.getArgNumber()] = changed;
    }
    fn.setType(FunctionType::get(fn.getContext(), args, fn.getResultTypes()));
  }
};

} // namespace
} // namespace lithe
