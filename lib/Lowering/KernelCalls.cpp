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
#include "lithe/runtime/kernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"

#include "llvm/ADT/TypeSwitch.h"

#include <type_traits>
#include <utility>

namespace lithe {

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// The kernels, from their prototypes
//===----------------------------------------------------------------------===//

template <typename T> Type llvmType(MLIRContext *ctx) {
  if constexpr (std::is_void_v<T>) return LLVM::LLVMVoidType::get(ctx);
  else if constexpr (std::is_pointer_v<T>) return LLVM::LLVMPointerType::get(ctx);
  else if constexpr (std::is_same_v<T, float>) return Float32Type::get(ctx);
  else {
    static_assert(std::is_integral_v<T>, "kernel argument of an unknown C type");
    return IntegerType::get(ctx, sizeof(T) * 8);
  }
}

template <typename T> T as(const KernelValue &v) {
  if constexpr (std::is_pointer_v<T>) return static_cast<T>(v.p);
  else if constexpr (std::is_same_v<T, float>) return v.f;
  else return static_cast<T>(v.i);
}

template <typename Fn> struct Kernel;
template <typename R, typename... A> struct Kernel<R(A...)> {
  static LLVM::LLVMFunctionType type(MLIRContext *ctx) {
    return LLVM::LLVMFunctionType::get(llvmType<R>(ctx), {llvmType<A>(ctx)...});
  }
  template <R (*Fn)(A...), size_t... I>
  static int64_t call(const KernelValue *args, std::index_sequence<I...>) {
    if constexpr (std::is_void_v<R>) {
      Fn(as<A>(args[I])...);
      return 0;
    } else {
      return static_cast<int64_t>(Fn(as<A>(args[I])...));
    }
  }
  template <R (*Fn)(A...)> static int64_t invoke(const KernelValue *args) {
    return call<Fn>(args, std::index_sequence_for<A...>{});
  }
  static constexpr size_t arity = sizeof...(A);
};

#define LITHE_KERNEL(fn)                                                                            \
  KernelEntry { #fn, &Kernel<decltype(fn)>::type, &Kernel<decltype(fn)>::template invoke<&fn>,     \
                Kernel<decltype(fn)>::arity }
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

struct Args {
  Operation *op;
  KernelCall call;
  Args &operand(Value v) {
    if (!v) {
      call.args.push_back({KernelArg::Null});
      return *this;
    }
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      if (op->getOperand(i) == v) {
        call.args.push_back({KernelArg::Operand, i});
        return *this;
      }
    llvm_unreachable("not an operand of the op");
  }
  Args &i64(int64_t v) { return push(KernelArg::I64, v); }
  Args &i32(int64_t v) { return push(KernelArg::I32, v); }
  Args &f32(float v) {
    call.args.push_back({KernelArg::F32, 0, 0, v});
    return *this;
  }
  Args &rowsTimes(Value rows, int64_t n) {
    operand(rows);
    call.args.back().kind = KernelArg::RowsTimes;
    call.args.back().i = n;
    return *this;
  }
  Args &push(KernelArg::Kind k, int64_t v) {
    call.args.push_back({k, 0, v});
    return *this;
  }
};

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
  Args a{op, {}};
  auto named = [&](StringRef kernel) -> Args & {
    a.call.kernel = kernel;
    return a;
  };
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
        if (!o.isPacked()) return false;
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
