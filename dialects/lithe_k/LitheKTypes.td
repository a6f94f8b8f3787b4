//===- LitheKTypes.td - lithe_k types and enums --------------*- tablegen -*-===//

#ifndef LITHE_K_TYPES_TD
#define LITHE_K_TYPES_TD

include "dialects/lithe_k/LitheKDialect.td"

def LitheK_BufferType : TypeDef<LitheK_Dialect, "Buffer"> {
  let mnemonic = "buf";
  let summary = "a dense row-major view of memory";
  let description = [{
    `!lithe_k.buf<?x768xf32>`: `rows` x 768 floats, one row per token of the
    step (`?`); `!lithe_k.buf<768x2304xi8>`: a static tensor. Only a
    pointer at run time: the shape is what verifiers check and what the
    lowering turns into sizes.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The last dimension (elements per row).
    int64_t getCols() const { return getShape().back(); }
    /// True when the first dimension is the step's row count.
    bool isRows() const { return mlir::ShapedType::isDynamic(getShape().front()); }
    /// Bytes of one element.
    int64_t getElementBytes() const;
  }];
}

def LitheK_WeightsType : TypeDef<LitheK_Dialect, "Weights"> {
  let mnemonic = "weights";
  let summary = "the model's mapped weights file";
}

def LitheK_ArenaType : TypeDef<LitheK_Dialect, "Arena"> {
  let mnemonic = "arena";
  let summary = "the context's activation arena";
}

def LitheK_CachesType : TypeDef<LitheK_Dialect, "Caches"> {
  let mnemonic = "caches";
  let summary = "one plane (keys or values) per KV cache of the context";
  let description = [{
    A table of plane pointers. `!lithe_k.caches` holds f32 planes,
    `!lithe_k.caches<f16>` f16 ones and `!lithe_k.caches<i8>` int8 ones
    (lithe-kv-precision), each int8 plane followed by its per-head,
    per-position scales (kernels.h, lithe_kv_q8_plane_bytes): what the
    attention kernels read and append.
  }];
  let parameters = (ins "mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of one cached value (4, 2 or 1; int8 planes add a 4-byte scale
    /// per head and position).
    int64_t getElementBytes() const { return getElementType().getIntOrFloatBitWidth() / 8; }
  }];
}

def LitheK_Epilogue : I32EnumAttr<"Epilogue", "what a linear kernel does after its product", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"gelu_tanh", 1>,   // LITHE_EPI_GELU_TANH
    I32EnumAttrCase<"gelu_erf", 2>,    // LITHE_EPI_GELU_ERF
    I32EnumAttrCase<"accumulate", 4>   // LITHE_EPI_ACCUMULATE: out += x W + b
  ]> {
  let cppNamespace = "::lithe::k";
}

def LitheK_Layout : I32EnumAttr<"Layout", "how a weight is laid out in the weights file", [
    I32EnumAttrCase<"row_major", 0>,
    // The CPU linear kernels' column panels (lithe_pack_linear: f32;
    // lithe_pack_linear_q8: per-channel scales then int8 panels;
    // lithe_pack_linear_q4: grouped scales then nibble panels;
    // lithe_pack_linear_bf16: bf16 with k in pairs).
    I32EnumAttrCase<"cpu_panels", 1>,
    // The CUDA kernels' rows: a linear weight as [out][in] (nn.Linear's
    // layout; cuda_kernels.h, lithe_cuda_gemv_f16 / _q8 and the cuBLASLt
    // GEMM), f16, or int8 with its per-output `weight_scale` kept beside.
    I32EnumAttrCase<"cuda_rows", 2>
  ]> {
  let cppNamespace = "::lithe::k";
}

#endif // LITHE_K_TYPES_TD
