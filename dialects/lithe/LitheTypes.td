//===- LitheTypes.td - lithe types and attributes ----------*- tablegen -*-===//

#ifndef LITHE_TYPES_TD
#define LITHE_TYPES_TD

include "dialects/lithe/LitheDialect.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def Lithe_KVCacheType : TypeDef<Lithe_Dialect, "KVCache"> {
  let mnemonic = "kv_cache";
  let summary = "the key/value cache of one attention layer";
  let description = [{
    Keys and values of `heads` heads of size `head_dim`, stored as
    `elementType`, for every position seen so far. The capacity (the context
    length) is fixed at code generation. Several attention ops may read one
    cache (cross-layer KV sharing); only ops given keys and values append.

    An i8 cache holds one f32 scale per head and position beside its
    values (symmetric int8, lithe-kv-precision{type=int8}).

    Example: `!lithe.kv_cache<12x64xf32>`
  }];
  let parameters = (ins "int64_t":$heads, "int64_t":$headDim,
                        "mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of K and V stored per cached position.
    int64_t getBytesPerPosition() const;
  }];
}

def Lithe_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how gelu is computed", [
      I32EnumAttrCase<"none", 0>,   // exact: 0.5 x (1 + erf(x / sqrt 2))
      I32EnumAttrCase<"tanh", 1>    // 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
    ]> {
  let cppNamespace = "::lithe";
  let genSpecializedAttr = 0;
}

def Lithe_GeluApproximationAttr
    : EnumAttr<Lithe_Dialect, Lithe_GeluApproximation, "gelu_approximation">;

#endif // LITHE_TYPES_TD
