//===- LitheKOps.td - lithe_k operations ---------------------*- tablegen -*-===//
//
// One op per runtime kernel (runtime/include/lithe/runtime/kernels.h), in
// destination-passing style, plus the ops that make buffers. The op ->
// kernel mapping is written once, in lithe-kernels-to-llvm; the calibration
// Evaluator interprets these ops with the same kernels.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_K_OPS_TD
#define LITHE_K_OPS_TD

include "dialects/lithe_k/LitheKDialect.td"
include "dialects/lithe_k/LitheKTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/OpBase.td"

def LitheK_Buffer : Type<CPred<"::llvm::isa<::lithe::k::BufferType>($_self)">,
                         "lithe_k buffer", "::lithe::k::BufferType">;

// Kernel ops write their `out` (or update their first operand in place).
class LitheK_KernelOp<string mnemonic, list<Trait> traits = []>
    : LitheK_Op<mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

def LitheK_WeightOp : LitheK_Op<"weight", [Pure]> {
  let summary = "a tensor of the mapped weights file";
  let description = [{
    ```mlir
    %w = lithe_k.weight %weights["h.0.mlp.c_fc.weight.packed"] cpu_panels : !lithe_k.buf<768x3072xf32>
    ```
    The buffer's shape is the logical one ([in, out] for a linear weight);
    `layout` says how the file stores it. lithe-pack-weights turns the
    `row_major` weights of linear kernels into `cpu_panels`.
  }];
  let arguments = (ins LitheK_WeightsType:$weights, StrAttr:$name,
                       DefaultValuedAttr<LitheK_Layout, "::lithe::k::Layout::row_major">:$layout);
  let results = (outs LitheK_Buffer:$result);
  let assemblyFormat = "$weights `[` $name `]` ($layout^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LitheK_ArenaOp : LitheK_Op<"arena", [Pure]> {
  let summary = "a slot of the activation arena";
  let description = [{
    A buffer of `capacity` rows in the context's arena. lithe-plan-buffers
    sets `offset` (bytes); the LLVM lowering refuses an unplanned slot.
  }];
  let arguments = (ins LitheK_ArenaType:$arena, OptionalAttr<I64Attr>:$offset);
  let results = (outs LitheK_Buffer:$result);
  let assemblyFormat = "$arena (`[` $offset^ `]`)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LitheK_TableRowsOp : LitheK_Op<"table_rows", [Pure]> {
  let summary = "rows [first, first + rows) of a table, read in place";
  let description = [{
    The position embeddings of a step: a view of the table at row `first`
    (the past length), no copy.
  }];
  let arguments = (ins LitheK_Buffer:$table, Index:$first);
  let results = (outs LitheK_Buffer:$result);
  let assemblyFormat = "$table `[` $first `]` attr-dict `:` type($table) `->` type($result)";
  let hasVerifier = 1;
}

def LitheK_CachePlaneOp : LitheK_Op<"cache_plane", [Pure]> {
  let summary = "the keys or values of one KV cache: [heads, capacity, head_dim]";
  let arguments = (ins LitheK_CachesType:$caches, I64Attr:$index);
  let results = (outs LitheK_Buffer:$result);
  let assemblyFormat = "$caches `[` $index `]` attr-dict `:` qualified(type($caches)) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

def LitheK_EmbeddingOp : LitheK_KernelOp<"embedding"> {
  let summary = "out[r] = table[ids[r]] (lithe_embedding, lithe_embedding_bf16, lithe_embedding_q8)";
  let description = [{
    `table` is [rows, width]: f32, bf16, or int8 with one scale per row
    (`table_scale`).
  }];
  let arguments = (ins LitheK_Buffer:$table, LitheK_Buffer:$ids, Index:$rows, LitheK_Buffer:$out,
                       Optional<LitheK_Buffer>:$table_scale);
  let assemblyFormat = [{
    $table `[` $ids `]` (`table_scale` $table_scale^ `:` type($table_scale))? `rows` $rows `->` $out attr-dict `:`
    type($table) `,` type($ids) `->` type($out)
  }];
}

def LitheK_EmbedPositionsOp : LitheK_KernelOp<"embed_positions"> {
  let summary = "out[r] = table[ids[r]] + positions[past + r] (lithe_cuda_op_embedding)";
  let description = [{
    Token and position embeddings in one kernel: what lithe-fuse-positions
    makes of `embedding`, `table_rows` and `add` for the CUDA target, where
    the past length lives in device memory (the kernel reads it there, so
    one captured decode step serves every position) and a host-side
    `table_rows` view cannot be formed. As fused, the tables are those of
    the ops it replaced (f32, or int8 with `table_scale`);
    lithe-pack-weights{target=cuda} makes both f16, which is what the
    kernel reads.
  }];
  let arguments = (ins LitheK_Buffer:$table, LitheK_Buffer:$ids, LitheK_Buffer:$positions, Index:$past,
                       Index:$rows, LitheK_Buffer:$out, Optional<LitheK_Buffer>:$table_scale);
  let assemblyFormat = [{
    $table `[` $ids `]` (`table_scale` $table_scale^ `:` type($table_scale))? `positions` $positions `[` $past `]`
    `rows` $rows `->` $out attr-dict `:` type($table) `,` type($ids) `,` type($positions) `->` type($out)
  }];
}

def LitheK_AddOp : LitheK_KernelOp<"add"> {
  let summary = "out = lhs + rhs (lithe_add)";
  let arguments = (ins LitheK_Buffer:$lhs, LitheK_Buffer:$rhs, Index:$rows, LitheK_Buffer:$out);
  let assemblyFormat = [{
    $lhs `,` $rhs `rows` $rows `->` $out attr-dict `:` type($lhs) `,` type($rhs) `->` type($out)
  }];
}

def LitheK_LayerNormOp : LitheK_KernelOp<"layer_norm", [AttrSizedOperandSegments]> {
  let summary = "out = normalize(input) * scale + bias per row (lithe_layer_norm)";
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, Optional<LitheK_Buffer>:$scale,
                       Optional<LitheK_Buffer>:$bias, F32Attr:$epsilon, LitheK_Buffer:$out);
  let assemblyFormat = [{
    $input `rows` $rows (`scale` $scale^ `:` type($scale))? (`bias` $bias^ `:` type($bias))?
    `eps` $epsilon `->` $out attr-dict `:` type($input) `->` type($out)
  }];
}

def LitheK_CenterOp : LitheK_KernelOp<"center"> {
  let summary = "out = input - mean(input) per row (lithe_center)";
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, LitheK_Buffer:$out);
  let assemblyFormat = "$input `rows` $rows `->` $out attr-dict `:` type($input) `->` type($out)";
}

def LitheK_AffineRowsOp : LitheK_KernelOp<"affine_rows", [AttrSizedOperandSegments]> {
  let summary = "data = data * scale + bias per row, in place (lithe_affine_rows)";
  let arguments = (ins LitheK_Buffer:$data, Index:$rows, Optional<LitheK_Buffer>:$scale,
                       Optional<LitheK_Buffer>:$bias);
  let assemblyFormat = [{
    $data `rows` $rows (`scale` $scale^ `:` type($scale))? (`bias` $bias^ `:` type($bias))?
    attr-dict `:` type($data)
  }];
}

def LitheK_LinearOp : LitheK_KernelOp<"linear", [AttrSizedOperandSegments]> {
  let summary = "out = [out +] act(input W + bias) (lithe_linear, lithe_linear_q8, lithe_linear_q4, lithe_linear_bf16; CUDA: lithe_cuda_op_linear_f16 / _q8)";
  let description = [{
    `weight` is [in, out]: f32 (lithe_linear), int8 (lithe_linear_q8), int4
    (lithe_linear_q4, with its `group`: inputs per scale), or bf16
    (lithe_linear_bf16), which only lithe-pack-weights{precision=bf16}
    makes, already in `cpu_panels`.
    As lowered it is the `row_major` tensor of the transformer level, an
    int8 one with its per-channel `weight_scale`, an int4 one with its
    grouped `weight_scale` [in / group, out]; lithe-pack-weights turns
    it into the kernels' `cpu_panels` layout (the scales packed in), which
    is what the LLVM lowering and the Evaluator call the kernel with.
    lithe-pack-weights{target=cuda} turns it into `cuda_rows` instead: f16
    (or int8, `weight_scale` kept) rows of [out][in].
    `epilogue`: a GELU applied to the result, or `accumulate` to add it to
    `out` (the residual connection fused).
  }];
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, LitheK_Buffer:$weight,
                       Optional<LitheK_Buffer>:$weight_scale,
                       Optional<LitheK_Buffer>:$bias,
                       DefaultValuedAttr<LitheK_Epilogue, "::lithe::k::Epilogue::none">:$epilogue,
                       OptionalAttr<I64Attr>:$group,
                       LitheK_Buffer:$out);
  let assemblyFormat = [{
    $input `rows` $rows `,` $weight (`group` $group^)? (`weight_scale` $weight_scale^ `:` type($weight_scale))?
    (`bias` $bias^ `:` type($bias))? (`epilogue` $epilogue^)?
    `->` $out attr-dict `:` type($input) `,` type($weight) `->` type($out)
  }];
  let extraClassDeclaration = [{
    /// True once the weight is in a target's packed layout (cpu_panels or cuda_rows).
    bool isPacked();
  }];
}

def LitheK_LinearSplitOp : LitheK_KernelOp<"linear_split", [AttrSizedOperandSegments]> {
  let summary = "outs = input W + bias, W's columns split among the outputs (lithe_cuda_op_linear_split)";
  let description = [{
    Several linears reading one input as one: `weight` is their weights'
    columns side by side ([in, sum of the outputs' widths]), `bias` theirs
    likewise, and output i gets the columns after the first i outputs'
    widths. lithe-fuse-qkv makes it of attention's Q, K and V projections
    for the CUDA target, where one GEMV over the three reads the input once
    and costs one launch instead of three.
  }];
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, LitheK_Buffer:$weight,
                       Optional<LitheK_Buffer>:$weight_scale, Optional<LitheK_Buffer>:$bias,
                       Variadic<LitheK_Buffer>:$outs);
  let assemblyFormat = [{
    $input `rows` $rows `,` $weight (`weight_scale` $weight_scale^ `:` type($weight_scale))?
    (`bias` $bias^ `:` type($bias))? `->` $outs attr-dict `:` type($input) `,` type($weight) `->` type($outs)
  }];
}

def LitheK_GeluOp : LitheK_KernelOp<"gelu"> {
  let summary = "out = gelu(input) (lithe_gelu)";
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, UnitAttr:$tanh, LitheK_Buffer:$out);
  let assemblyFormat = "$input `rows` $rows (`tanh` $tanh^)? `->` $out attr-dict `:` type($input) `->` type($out)";
}

def LitheK_KVAppendOp : LitheK_KernelOp<"kv_append",
    [AllTypesMatch<["key_plane", "value_plane"]>, AllTypesMatch<["key", "value"]>]> {
  let summary = "append a step's keys and values to a KV cache (lithe_kv_append)";
  let description = [{
    Writes positions [past, past + rows) of the cache planes. The result is
    the kernel's status: 0, or non-zero when the cache would overflow (the
    forward returns the or of all statuses).
  }];
  let arguments = (ins LitheK_Buffer:$key, LitheK_Buffer:$value, Index:$rows,
                       LitheK_Buffer:$key_plane, LitheK_Buffer:$value_plane, Index:$past);
  let results = (outs I32:$status);
  let assemblyFormat = [{
    $key `,` $value `rows` $rows `->` $key_plane `,` $value_plane `[` $past `]` attr-dict `:`
    type($key) `->` type($key_plane)
  }];
}

def LitheK_AttentionOp : LitheK_KernelOp<"attention",
    [AllTypesMatch<["key_plane", "value_plane"]>]> {
  let summary = "multi-head attention of rows queries over a KV cache (lithe_attention)";
  let arguments = (ins LitheK_Buffer:$query, Index:$rows, LitheK_Buffer:$key_plane,
                       LitheK_Buffer:$value_plane, Index:$past, F32Attr:$scale, UnitAttr:$causal,
                       LitheK_Buffer:$out);
  let assemblyFormat = [{
    $query `rows` $rows `,` $key_plane `,` $value_plane `[` $past `]` `scale` $scale (`causal` $causal^)?
    `->` $out attr-dict `:` type($query) `,` type($key_plane) `->` type($out)
  }];
  let extraClassDeclaration = [{
    int64_t getHeads() { return getKeyPlane().getType().getShape()[0]; }
    int64_t getHeadDim() { return getKeyPlane().getType().getShape()[2]; }
    int64_t getCapacity() { return getKeyPlane().getType().getShape()[1]; }
  }];
}

def LitheK_KVAppendRowsOp : LitheK_KernelOp<"kv_append_rows",
    [AllTypesMatch<["key", "value"]>, AllTypesMatch<["key_caches", "value_caches"]>]> {
  let summary = "batched decode: row b's key and value into sequence b's cache (lithe_kv_append_rows)";
  let description = [{
    Row b of `key` and `value` is the one new token of sequence b, appended
    at position `pasts[b]` of cache `cache` of sequence b (the tables hold
    `caches` caches per sequence). The result is the kernel's status (non-
    zero when a sequence's cache is full).
  }];
  let arguments = (ins LitheK_Buffer:$key, LitheK_Buffer:$value, Index:$rows,
                       LitheK_CachesType:$key_caches, LitheK_CachesType:$value_caches,
                       LitheK_Buffer:$pasts, I64Attr:$cache, I64Attr:$caches, I64Attr:$heads,
                       I64Attr:$head_dim, I64Attr:$capacity);
  let results = (outs I32:$status);
  let assemblyFormat = [{
    $key `,` $value `rows` $rows `->` $key_caches `,` $value_caches `[` $pasts `]` attr-dict `:`
    type($key) `,` type($pasts) `,` qualified(type($key_caches))
  }];
}

def LitheK_AttentionRowsOp : LitheK_KernelOp<"attention_rows",
    [AllTypesMatch<["key_caches", "value_caches"]>]> {
  let summary = "batched decode: row b attends over sequence b's cache (lithe_attention_rows)";
  let arguments = (ins LitheK_Buffer:$query, Index:$rows, LitheK_CachesType:$key_caches,
                       LitheK_CachesType:$value_caches, LitheK_Buffer:$pasts, I64Attr:$cache,
                       I64Attr:$caches, I64Attr:$heads, I64Attr:$head_dim, I64Attr:$capacity,
                       F32Attr:$scale, LitheK_Buffer:$out);
  let assemblyFormat = [{
    $query `rows` $rows `,` $key_caches `,` $value_caches `[` $pasts `]` `scale` $scale `->` $out
    attr-dict `:` type($query) `,` type($pasts) `,` qualified(type($key_caches)) `->` type($out)
  }];
}

def LitheK_LMHeadOp : LitheK_KernelOp<"lm_head"> {
  let summary = "logits = input table^T (lithe_lm_head, lithe_lm_head_q8, lithe_lm_head_bf16, lithe_linear_q4)";
  let description = [{
    `table` is [vocab, width], row-major: f32, int8 with one scale per row
    (`table_scale`), or bf16 (lithe-pack-weights{precision=bf16}'s copy);
    or int4 with one scale per row and `group` columns (`table_scale`
    [vocab, width / group]), which lithe-pack-weights turns into
    `cpu_panels`: the q4 panels of the transposed table, computed by
    lithe_linear_q4 (the head as a [width, vocab] linear).
  }];
  let arguments = (ins LitheK_Buffer:$input, Index:$rows, LitheK_Buffer:$table,
                       Optional<LitheK_Buffer>:$table_scale, OptionalAttr<I64Attr>:$group,
                       LitheK_Buffer:$out);
  let assemblyFormat = [{
    $input `rows` $rows `,` $table (`group` $group^)? (`table_scale` $table_scale^ `:` type($table_scale))? `->` $out
    attr-dict `:` type($input) `,` type($table) `->` type($out)
  }];
}

def LitheK_AddRowsOp : LitheK_KernelOp<"add_rows"> {
  let summary = "data[r] += bias for every row, in place (lithe_add_rows)";
  let arguments = (ins LitheK_Buffer:$data, Index:$rows, LitheK_Buffer:$bias);
  let assemblyFormat = "$data `rows` $rows `,` $bias attr-dict `:` type($data) `,` type($bias)";
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def LitheK_ObserveOp : LitheK_Op<"observe"> {
  let summary = "hand a transformer-level value to the calibration Evaluator's observer";
  let description = [{
    Inserted by lithe-lower-to-kernels{observe=true} after the kernels that
    computed the value of the transformer-level op number `index` of
    @forward (in block order). The calibration Evaluator, which interprets
    the kernel level, calls its observer here; the observer may change the
    buffer (masking a head, skipping a block). lithe-kernels-to-llvm drops
    it.
  }];
  let arguments = (ins LitheK_Buffer:$value, Index:$rows, I64Attr:$index);
  let assemblyFormat = "$value `rows` $rows `index` $index attr-dict `:` type($value)";
}

#endif // LITHE_K_OPS_TD
