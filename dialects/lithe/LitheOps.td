//===- LitheOps.td - lithe operations ----------------------*- tablegen -*-===//

#ifndef LITHE_OPS_TD
#define LITHE_OPS_TD

include "dialects/lithe/LitheDialect.td"
include "dialects/lithe/LitheTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Lithe_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Lithe_IdTensor : RankedTensorOf<[I32, I64]>;
// Weights may be float, int8 or int4 (weight-only quantization; an i4
// tensor is stored one value per byte, as i8 in [-8, 7]); integer and
// boolean tensors appear as the large constants of ONNX-level graphs.
def Lithe_WeightTensor : RankedTensorOf<[F32, F16, BF16, I8, I<4>]>;
def Lithe_AnyWeightTensor : RankedTensorOf<[F32, F16, BF16, I1, I<4>, I8, I32, I64]>;

//===----------------------------------------------------------------------===//
// Weights and constants
//===----------------------------------------------------------------------===//

def Lithe_WeightOp : Lithe_Op<"weight", [Pure]> {
  let summary = "a named tensor read from the model's weights file";
  let description = [{
    References the tensor `name` in the weights file named by the module
    attribute `lithe.weights`. The data never appears in the IR, so printing
    a 124M-parameter model is as cheap as printing its structure.

    ```mlir
    %wte = lithe.weight "transformer.wte.weight" : tensor<50257x768xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Lithe_AnyWeightTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Lithe_ConstantOp : Lithe_Op<"constant",
    [ConstantLike, Pure, AllTypesMatch<["value", "result"]>]> {
  let summary = "a small inline constant (shapes, scalars, masks)";
  let description = [{
    Holds small constants such as the shape tensors and scalars of an ONNX
    graph. Anything larger than 16384 elements is rejected: large tensors are
    weights and belong in the weights file (`lithe.weight`).
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    static constexpr int64_t kMaxElements = 16384;
  }];
}

//===----------------------------------------------------------------------===//
// ONNX level
//===----------------------------------------------------------------------===//

def Lithe_OnnxOp : Lithe_Op<"onnx"> {
  let summary = "one ONNX node, as imported";
  let description = [{
    A node of the imported ONNX graph, before raising: `op_type` and `domain`
    name the ONNX operator, `opset` is the opset version the model imports
    for that domain, and `onnx_attrs` holds the node's attributes after the
    importer has normalised them across opset versions. Result types are
    the shapes the importer inferred.

    ```mlir
    %0 = lithe.onnx "MatMul"(%a, %b) {opset = 17 : i64}
           : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$op_type, DefaultValuedStrAttr<StrAttr, "">:$domain,
                       I64Attr:$opset,
                       OptionalAttr<StrAttr>:$node_name,
                       OptionalAttr<DictionaryAttr>:$onnx_attrs,
                       Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$outputs);
  let assemblyFormat = [{
    $op_type `(` $inputs `)` attr-dict `:` functional-type($inputs, $outputs)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Transformer level
//===----------------------------------------------------------------------===//

def Lithe_EmbeddingOp : Lithe_Op<"embedding", [Pure]> {
  let summary = "rows of an embedding table, gathered by id";
  let description = [{
    `result[..., :] = table[ids[...], :]` for token or position embeddings.
    An int8 table (lithe-quantize-weights: a token embedding tied to an int8
    LM head reads its table) needs `table_scale`, one f32 scale per row.

    ```mlir
    %x = lithe.embedding %wte[%ids] : tensor<50257x768xf32>, tensor<1x?xi64> -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins Lithe_WeightTensor:$table, Lithe_IdTensor:$ids,
                       Optional<Lithe_FloatTensor>:$table_scale);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` (`table_scale` $table_scale^ `:` type($table_scale))? attr-dict `:`
    type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lithe_PositionIdsOp : Lithe_Op<"position_ids", [Pure]> {
  let summary = "absolute positions of the tokens of a step";
  let description = [{
    `result[b, s] = past_len + s`: the positions of the `S` new tokens that
    follow `past_len` cached ones. `ids` only supplies the shape.
  }];
  let arguments = (ins Lithe_IdTensor:$ids, Index:$past_len);
  let results = (outs Lithe_IdTensor:$result);
  let assemblyFormat = "$ids `,` $past_len attr-dict `:` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def Lithe_LayerNormOp : Lithe_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "layer normalization over the last dimension";
  let description = [{
    `(x - mean(x)) / sqrt(var(x) + epsilon) * scale + bias` over the last
    dimension. `scale` and `bias` are optional: after LayerNorm folding the
    affine part lives in the following linear layers.

    ```mlir
    %y = lithe.layer_norm %x scale %g bias %b eps 1.0e-05
           : (tensor<1x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins Lithe_FloatTensor:$input,
                       Optional<Lithe_FloatTensor>:$scale,
                       Optional<Lithe_FloatTensor>:$bias,
                       F32Attr:$epsilon);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`bias` $bias^)? `eps` $epsilon attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lithe_CenterOp : Lithe_Op<"center", [Pure, AttrSizedOperandSegments]> {
  let summary = "subtract the mean over the last dimension, then scale and shift";
  let description = [{
    `(x - mean(x)) * scale + bias` over the last dimension: what is left of a
    LayerNorm in an LN-free model, whose variance was replaced by a constant
    folded into `scale` (and then, by lithe-fold-layernorm, into the
    following linear layers).
  }];
  let arguments = (ins Lithe_FloatTensor:$input,
                       Optional<Lithe_FloatTensor>:$scale,
                       Optional<Lithe_FloatTensor>:$bias);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lithe_LinearOp : Lithe_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "x W + b, with W stored input-major [K, N]";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[k, n] + bias[n]`. The
    weight is stored as in GPT-2's Conv1D, `[in, out]`. An int8 weight
    (weight-only quantization) needs `weight_scale`, one f32 scale per
    output channel: `W[k, n] = weight[k, n] * weight_scale[n]`. An int4
    weight (values in [-8, 7]) needs grouped scales `[in / G, out]`, one per
    group of G consecutive inputs (G a multiple of 4) and output channel:
    `W[k, n] = weight[k, n] * weight_scale[k / G, n]`.

    ```mlir
    %y = lithe.linear %x, %w bias %b
           : (tensor<1x?x768xf32>, tensor<768x2304xf32>, tensor<2304xf32>) -> tensor<1x?x2304xf32>
    ```
  }];
  let arguments = (ins Lithe_FloatTensor:$input, Lithe_WeightTensor:$weight,
                       Optional<Lithe_FloatTensor>:$bias,
                       Optional<Lithe_FloatTensor>:$weight_scale);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`weight_scale` $weight_scale^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lithe_GeluOp : Lithe_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "GELU activation, exact (erf) or tanh approximation";
  let arguments = (ins Lithe_FloatTensor:$input,
                       Lithe_GeluApproximationAttr:$approximation);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = "$input `` $approximation attr-dict `:` type($result)";
}

def Lithe_AddOp : Lithe_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "elementwise add of two activations (the residual connection)";
  let arguments = (ins Lithe_FloatTensor:$lhs, Lithe_FloatTensor:$rhs);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Lithe_AttentionOp : Lithe_Op<"attention", [AttrSizedOperandSegments]> {
  let summary = "multi-head scaled dot-product attention over a KV cache";
  let description = [{
    Multi-head attention of the `S` new tokens of a step, whose queries are
    `query` (`[B, S, num_heads * head_dim]`, heads side by side).

    If `key` and `value` are given, they are appended to `cache` at
    positions `[past_len, past_len + S)` first. The queries then attend over
    the cached positions `[0, past_len + S)`; with `causal`, query `s` sees
    only positions `<= past_len + s`. Scores are scaled by `scale` (usually
    `1/sqrt(head_dim)`) before the softmax.

    An attention op without `key` and `value` only reads the cache, which
    another layer fills: cross-layer KV sharing.

    ```mlir
    %o = lithe.attention %q, %k, %v cache %c [%past] heads 12 head_dim 64
           scale 1.250000e-01 causal
           : (tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32>,
              !lithe.kv_cache<12x64xf32>, index) -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins Lithe_FloatTensor:$query,
                       Optional<Lithe_FloatTensor>:$key,
                       Optional<Lithe_FloatTensor>:$value,
                       Arg<Lithe_KVCacheType, "the layer's KV cache",
                           [MemRead, MemWrite]>:$cache,
                       Index:$past_len,
                       I64Attr:$num_heads, I64Attr:$head_dim, F64Attr:$scale,
                       UnitAttr:$causal);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $query (`,` $key^ `,` $value)? `cache` $cache `[` $past_len `]`
    `heads` $num_heads `head_dim` $head_dim `scale` $scale (`causal` $causal^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when this op appends keys and values to its cache.
    bool writesCache() { return getKey() != nullptr; }
  }];
}

def Lithe_LMHeadOp : Lithe_Op<"lm_head", [Pure, AttrSizedOperandSegments]> {
  let summary = "logits: hidden states times the transposed vocabulary table";
  let description = [{
    `logits[..., v] = sum_d input[..., d] * table[v, d] + bias[v]`. With a
    tied head the table is the token embedding itself (one copy of the
    weights). `bias` appears when a final LayerNorm's shift is folded into
    the head. An int8 table needs `table_scale`, one f32 scale per row; an
    int4 one (values in [-8, 7]) one per row and group of G columns,
    `[vocab, width / G]`.
  }];
  let arguments = (ins Lithe_FloatTensor:$input, Lithe_WeightTensor:$table,
                       Optional<Lithe_FloatTensor>:$bias,
                       Optional<Lithe_FloatTensor>:$table_scale);
  let results = (outs Lithe_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $table (`bias` $bias^)? (`table_scale` $table_scale^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // LITHE_OPS_TD
