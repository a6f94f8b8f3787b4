//===- KernelCalls.cpp - which runtime kernel a lithe_k op calls ----------===//
//
// The one op -> kernel mapping (see lithe/Lowering.h): lithe-kernels-to-llvm
// emits these calls, the calibration Evaluator makes them. The argument
// lists are those of runtime/include/lithe/runtime/kernels.h; kernelTable
// derives each kernel's LLVM type and an invoker from its prototype, so a
// mismatch fails to compile (invoker) or to verify (llvm.call).
//
//===----------------------------------------------------------------------===//

#include "lithe/Lowering.h"

#include "lithe/KernelDialect.h"
#include "KernelCallBuilder.h"
#include "lithe/runtime/kernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"

#include "llvm/ADT/TypeSwitch.h"

#include <type_traits>
#include <utility>

namespace lithe {

using namespace mlir;
using namespace detail;

namespace {

//===----------------------------------------------------------------------===//
// The kernels, from their prototypes
//===----------------------------------------------------------------------===//

#define LITHE_KERNEL(fn)                                                                            \
  KernelEntry { #fn, &KernelSignature<decltype(fn)>::type, &KernelSignature<decltype(fn)>::template invoke<&fn>,     \
                KernelSignature<decltype(fn)>::arity }
const KernelEntry kKernels[] = {
    LITHE_KERNEL(lithe_embedding), LITHE_KERNEL(lithe_add),         LITHE_KERNEL(lithe_layer_norm),
    LITHE_KERNEL(lithe_center),    LITHE_KERNEL(lithe_affine_rows), LITHE_KERNEL(lithe_linear),
    LITHE_KERNEL(lithe_linear_q8), LITHE_KERNEL(lithe_gelu),        LITHE_KERNEL(lithe_kv_append),
    LITHE_KERNEL(lithe_attention), LITHE_KERNEL(lithe_lm_head),     LITHE_KERNEL(lithe_lm_head_q8),
    LITHE_KERNEL(lithe_add_rows),  LITHE_KERNEL(lithe_kv_append_rows), LITHE_KERNEL(lithe_attention_rows),
    LITHE_KERNEL(lithe_linear_bf16), LITHE_KERNEL(lithe_lm_head_bf16), LITHE_KERNEL(lithe_embedding_bf16),
    LITHE_KERNEL(lithe_kv_append_f16), LITHE_KERNEL(lithe_attention_f16), LITHE_KERNEL(lithe_kv_append_rows_f16),
    LITHE_KERNEL(lithe_attention_rows_f16), LITHE_KERNEL(lithe_embedding_q8),
    LITHE_KERNEL(lithe_kv_append_q8), LITHE_KERNEL(lithe_attention_q8), LITHE_KERNEL(lithe_kv_append_rows_q8),
    LITHE_KERNEL(lithe_attention_rows_q8),
    LITHE_KERNEL(lithe_linear_q4),
};
#undef LITHE_KERNEL

//===----------------------------------------------------------------------===//
// Op -> call
//===----------------------------------------------------------------------===//

int64_t cols(Value v) { return cast<k::BufferType>(v.getType()).getCols(); }
/// The attention kernel for a cache plane or caches table: `f32` for f32
/// values, its _f16 or _q8 variant for f16 or int8 ones.
StringRef forCache(Value v, StringRef f32, StringRef f16, StringRef q8) {
  Type e = isa<k::CachesType>(v.getType()) ? cast<k::CachesType>(v.getType()).getElementType()
                                           : cast<k::BufferType>(v.getType()).getElementType();
  return e.isF16() ? f16 : e.isInteger(8) ? q8 : f32;
}
ArrayRef<int64_t> shape(Value v) { return cast<k::BufferType>(v.getType()).getShape(); }

} // namespace

std::optional<KernelCall> kernelCall(Operation *op) {
  KernelCallBuilder a(op);
  auto named = [&](StringRef kernel) -> KernelCallBuilder & { return a.named(kernel); };
  bool ok = llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](k::EmbeddingOp o) {
        Type e = cast<k::BufferType>(o.getTable().getType()).getElementType();
        if (o.getTableScale())
          named("lithe_embedding_q8").operand(o.getTable()).operand(o.getTableScale()).i64(cols(o.getTable()))
              .operand(o.getIds()).operand(o.getRows()).operand(o.getOut());
        else
          named(e.isBF16() ? "lithe_embedding_bf16" : "lithe_embedding").operand(o.getTable()).i64(cols(o.getTable()))
              .operand(o.getIds()).operand(o.getRows()).operand(o.getOut());
        return true;
      })
      .Case([&](k::AddOp o) {
        named("lithe_add").operand(o.getLhs()).operand(o.getRhs()).rowsTimes(o.getRows(), cols(o.getOut()))
            .operand(o.getOut());
        return true;
      })
      .Case([&](k::LayerNormOp o) {
        named("lithe_layer_norm").operand(o.getInput()).operand(o.getRows()).i64(cols(o.getInput()))
            .operand(o.getScale()).operand(o.getBias()).f32(o.getEpsilon().convertToFloat()).operand(o.getOut());
        return true;
      })
      .Case([&](k::CenterOp o) {
        named("lithe_center").operand(o.getInput()).operand(o.getRows()).i64(cols(o.getInput())).operand(o.getOut());
        return true;
      })
      .Case([&](k::AffineRowsOp o) {
        named("lithe_affine_rows").operand(o.getData()).operand(o.getRows()).i64(cols(o.getData()))
            .operand(o.getScale()).operand(o.getBias());
        return true;
      })
      .Case([&](k::LinearOp o) {
        auto pw = o.getWeight().getDefiningOp<k::WeightOp>();
        if (!pw || pw.getLayout() != k::Layout::cpu_panels) return false;
        auto w = shape(o.getWeight());
        Type e = cast<k::BufferType>(o.getWeight().getType()).getElementType();
        if (e.isInteger(4)) {
          named("lithe_linear_q4").operand(o.getInput()).operand(o.getRows()).i64(w[0])
              .operand(o.getWeight()).i64(w[1]).i64(*o.getGroup()).operand(o.getBias()).operand(o.getOut())
              .i32(static_cast<int32_t>(o.getEpilogue()));
          return true;
        }
        named(e.isInteger(8) ? "lithe_linear_q8" : e.isBF16() ? "lithe_linear_bf16" : "lithe_linear")
            .operand(o.getInput()).operand(o.getRows()).i64(w[0])
            .operand(o.getWeight()).i64(w[1]).operand(o.getBias()).operand(o.getOut())
            .i32(static_cast<int32_t>(o.getEpilogue()));
        return true;
      })
      .Case([&](k::GeluOp o) {
        named("lithe_gelu").operand(o.getInput()).rowsTimes(o.getRows(), cols(o.getOut())).operand(o.getOut())
            .i32(o.getTanh());
        return true;
      })
      .Case([&](k::KVAppendOp o) {
        auto p = shape(o.getKeyPlane()); // heads, capacity, head_dim
        named(forCache(o.getKeyPlane(), "lithe_kv_append", "lithe_kv_append_f16", "lithe_kv_append_q8")).operand(o.getKeyPlane()).operand(o.getValuePlane()).i64(p[0]).i64(p[2])
            .i64(p[1]).operand(o.getPast()).operand(o.getKey()).operand(o.getValue()).operand(o.getRows());
        return true;
      })
      .Case([&](k::AttentionOp o) {
        named(forCache(o.getKeyPlane(), "lithe_attention", "lithe_attention_f16", "lithe_attention_q8")).operand(o.getQuery()).operand(o.getRows()).operand(o.getKeyPlane())
            .operand(o.getValuePlane()).i64(o.getHeads()).i64(o.getHeadDim()).i64(o.getCapacity())
            .operand(o.getPast()).f32(o.getScale().convertToFloat()).i32(o.getCausal()).operand(o.getOut());
        return true;
      })
      .Case([&](k::KVAppendRowsOp o) {
        named(forCache(o.getKeyCaches(), "lithe_kv_append_rows", "lithe_kv_append_rows_f16", "lithe_kv_append_rows_q8")).operand(o.getKeyCaches()).operand(o.getValueCaches()).i64(o.getCache())
            .i64(o.getCaches()).i64(o.getHeads()).i64(o.getHeadDim()).i64(o.getCapacity())
            .operand(o.getPasts()).operand(o.getKey()).operand(o.getValue()).operand(o.getRows());
        return true;
      })
      .Case([&](k::AttentionRowsOp o) {
        named(forCache(o.getKeyCaches(), "lithe_attention_rows", "lithe_attention_rows_f16", "lithe_attention_rows_q8")).operand(o.getQuery()).operand(o.getRows()).operand(o.getKeyCaches())
            .operand(o.getValueCaches()).i64(o.getCache()).i64(o.getCaches()).i64(o.getHeads())
            .i64(o.getHeadDim()).i64(o.getCapacity()).operand(o.getPasts())
            .f32(o.getScale().convertToFloat()).operand(o.getOut());
        return true;
      })
      .Case([&](k::LMHeadOp o) {
        auto t = shape(o.getTable()); // vocab, width
        if (cast<k::BufferType>(o.getTable().getType()).getElementType().isInteger(4)) {
          // packed: the q4 panels of table^T, a [width, vocab] linear
          auto w = o.getTable().getDefiningOp<k::WeightOp>();
          if (!w || w.getLayout() != k::Layout::cpu_panels) return false;
          named("lithe_linear_q4").operand(o.getInput()).operand(o.getRows()).i64(t[1]).operand(o.getTable())
              .i64(t[0]).i64(*o.getGroup()).operand(Value()).operand(o.getOut()).i32(0);
          return true;
        }
        if (o.getTableScale())
          named("lithe_lm_head_q8").operand(o.getInput()).operand(o.getRows()).i64(t[1]).operand(o.getTable())
              .operand(o.getTableScale()).i64(t[0]).operand(o.getOut());
        else
          named(cast<k::BufferType>(o.getTable().getType()).getElementType().isBF16() ? "lithe_lm_head_bf16"
                                                                                      : "lithe_lm_head")
              .operand(o.getInput()).operand(o.getRows()).i64(t[1]).operand(o.getTable())
              .i64(t[0]).operand(o.getOut());
        return true;
      })
      .Case([&](k::AddRowsOp o) {
        named("lithe_add_rows").operand(o.getData()).operand(o.getRows()).i64(cols(o.getData()))
            .operand(o.getBias());
        return true;
      })
      .Default([](Operation *) { return false; });
  if (!ok) return std::nullopt;
  return a.call;
}

ArrayRef<KernelEntry> kernelTable() { return kKernels; }

const KernelEntry *findKernel(StringRef name) {
  for (const KernelEntry &e : kKernels)
    if (e.name == name) return &e;
  return nullptr;
}

} // namespace lithe
