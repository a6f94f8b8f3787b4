//===- KernelCallBuilder.h - shared by the targets' op -> call mappings -*- C++ -*-===//
//
// Private to lib/Lowering: a kernel's LLVM type from its C prototype
// (KernelSignature) and the builder of a KernelCall's argument list, used
// by KernelCalls.cpp (CPU) and CudaKernelCalls.cpp (CUDA).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_LOWERING_KERNELCALLBUILDER_H
#define LITHE_LOWERING_KERNELCALLBUILDER_H

#include "lithe/Lowering.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/IR/Operation.h"

#include <type_traits>
#include <utility>

namespace lithe {
namespace detail {

using namespace mlir;

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

template <typename Fn> struct KernelSignature;
template <typename R, typename... A> struct KernelSignature<R(A...)> {
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

struct KernelCallBuilder {
  explicit KernelCallBuilder(Operation *op) : op(op) {}
  Operation *op;
  KernelCall call;
  KernelCallBuilder &named(StringRef kernel) {
    call.kernel = kernel;
    return *this;
  }
  KernelCallBuilder &operand(Value v) {
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
  KernelCallBuilder &i64(int64_t v) { return push(KernelArg::I64, v); }
  KernelCallBuilder &i32(int64_t v) { return push(KernelArg::I32, v); }
  KernelCallBuilder &f32(float v) {
    call.args.push_back({KernelArg::F32, 0, 0, v});
    return *this;
  }
  KernelCallBuilder &rowsTimes(Value rows, int64_t n) {
    operand(rows);
    call.args.back().kind = KernelArg::RowsTimes;
    call.args.back().i = n;
    return *this;
  }
  KernelCallBuilder &push(KernelArg::Kind k, int64_t v) {
    call.args.push_back({k, 0, v});
    return *this;
  }
};

} // namespace detail
} // namespace lithe

#endif // LITHE_LOWERING_KERNELCALLBUILDER_H
