//===- Passes.td - lithe passes ------------------------------*- tablegen -*-===//
//
// Every Lithe pass is declared here, one def per pass, named `lithe-*`, and
// implemented in passes/<Name>.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_PASSES_TD
#define LITHE_PASSES_TD

include "mlir/Pass/PassBase.td"

// Options of the data-driven passes: the calibration text they measure the
// model on (see include/lithe/Calibration.h).
defvar CalibrationOptions = [
  Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
         "Calibration text (UTF-8) to measure the model on">,
  Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
         "Tokenizer directory (default: the tokenizer/ lithec found beside the model)">,
  Option<"calibrationTokens", "calibration-tokens", "int64_t", /*default=*/"1024",
         "Tokens of the calibration text to use">,
  Option<"calibrationCtx", "calibration-ctx", "int64_t", /*default=*/"256",
         "Window length the calibration text is cut into">,
];

def LitheCheckWeights : Pass<"lithe-check-weights", "mlir::ModuleOp"> {
  let summary = "Check every lithe.weight against the module's weights file";
  let description = [{
    Opens the weights file named by the module attribute `lithe.weights`
    (or the `file` option) and checks that each `lithe.weight` names a tensor
    that exists there with the same element type and shape. A relative path
    is resolved against `dir` (default: the current directory).
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "Weights file to check against (default: the module's lithe.weights)">,
    Option<"dir", "dir", "std::string", /*default=*/"\"\"",
           "Directory a relative weights path is resolved against">,
    Option<"verifyChecksum", "verify-checksum", "bool", /*default=*/"false",
           "Also recompute the file's checksum">,
  ];
}

def LitheSummarize : Pass<"lithe-summarize", "mlir::ModuleOp"> {
  let summary = "Print layers, heads, width, vocabulary, parameters and KV bytes";
  let description = [{
    An analysis pass: prints the model summary (see lithe/ModelSummary.h) to
    standard error, or attaches it as the module attribute
    `lithe.summary` with `attach=true`. The IR is left unchanged otherwise.
  }];
  let options = [
    Option<"attach", "attach", "bool", /*default=*/"false",
           "Attach the summary as a module attribute instead of printing it">,
  ];
}

def LitheFoldLayerNorm : Pass<"lithe-fold-layernorm", "mlir::ModuleOp"> {
  let summary = "Fold LayerNorm scale and shift into the following linear layers (exact)";
  let description = [{
    `LN(x) * g + b` feeding `x W + c` equals `normalize(x)` feeding
    `W' = diag(g) W`, `c' = b W + c`. Every LayerNorm (or LN-free
    `lithe.center`) whose result only
    feeds linear layers (and, with `into-head`, the LM head) loses its affine
    part; the new weights go to the weights store under fresh names. A tied
    LM head gets its own scaled copy of the table (the embedding keeps the
    original), plus a bias for the shift.
  }];
  let options = [
    Option<"intoHead", "into-head", "bool", /*default=*/"true",
           "Also fold the final LayerNorm into the LM head (copies a tied table)">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

def LitheRemoveLayerNorm : Pass<"lithe-remove-layernorm", "mlir::ModuleOp"> {
  let summary = "Delete disabled LayerNorms (exact); with calibration, replace the others by constant scales";
  let description = [{
    Published LN-free GPT-2 checkpoints keep their LayerNorm nodes but set
    epsilon to ~1e12 (weights scaled to compensate), which turns
    `(x - mean) / sqrt(var + eps) * g + b` into `(x - mean) * g / sqrt(eps) + b`:
    in f32, `var + eps` rounds to `eps` for any variance below ulp(eps) / 2
    (32768 at eps = 1e12). Each LayerNorm with epsilon >= `min-epsilon`
    becomes `lithe.center` with scale `g / sqrt(eps)` and the same bias;
    lithe-fold-layernorm then folds that into the next linear layers.

    With `calibration=FILE`, ordinary LayerNorms go too (approximate): in
    program order, each one's standard deviation `sqrt(var + eps)` is
    measured over the calibration tokens on the model as simplified so far,
    and the LayerNorm becomes `lithe.center` with scale `g / s`. With
    `statistic=lsq` (the default), `1 / s` is the constant that best fits
    the normalization in least squares, `sum(s_t) / sum(s_t^2)` over the
    tokens' deviations `s_t`; `median` and `mean` take those of `s_t`.
    Without fine-tuning this costs much more than a fine-tuned LN-free
    model: measure it with --perplexity.
  }];
  let options = !listconcat([
    Option<"minEpsilon", "min-epsilon", "double", /*default=*/"1.0e6",
           "LayerNorms with at least this epsilon count as disabled">,
    Option<"statistic", "statistic", "std::string", /*default=*/"\"lsq\"",
           "Constant that replaces each calibrated LayerNorm's deviation: lsq, median or mean">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ], CalibrationOptions);
  // The calibration Evaluator lowers a copy of the module to lithe_k.
  let dependentDialects = ["::lithe::k::LitheKDialect", "::mlir::arith::ArithDialect"];
}

def LitheQuantizeWeights : Pass<"lithe-quantize-weights", "mlir::ModuleOp"> {
  let summary = "int8 or int4 weight-only quantization (LM head included)";
  let description = [{
    Every f32 linear weight becomes int8 with one f32 scale per output
    channel (symmetric: scale = max |W[:, n]| / 127), and, with `lm-head`,
    the LM head's table becomes int8 with one scale per vocabulary row; with
    `embedding` too, a token embedding tied to the head gathers its rows
    from that int8 table (dequantized), and any other token embedding (an
    untied model's, or the original table after lithe-fold-layernorm gave
    the head a scaled copy) from an int8 copy of its own, per row, so no f32
    token table is stored. Decoding reads one byte per weight instead of
    four. At run time
    lithe_linear_q8 quantizes the activations per row and computes in int32
    (LITHE_Q8=float keeps them f32: weight-only compute; see kernels.h).

    With `bits=4` every f32 linear weight becomes int4 in [-8, 7] with one
    scale per group of `group` consecutive inputs and output channel
    (`weight_scale` [in / group, out], symmetric: scale = max |W| / 7 over
    the group), computed by lithe_linear_q4: half the bytes of int8. The
    LM head stays int8 per row unless `lm-head-bits=4`: then its copy of
    the table is int4 too, one scale per row and group of `group` columns
    (`table_scale` [vocab, width / group]), computed by lithe_linear_q4 over
    the transposed table, and a tied embedding gathers from an int8 copy of
    it (with `embedding`). It is about 45% of what an int4 GPT-2 small reads
    per token, and most of the perplexity cost (docs/benchmarks.md). `group` must be a multiple of 4
    dividing every linear's input width (and the head's width).

    `method=awq` (bits=4, with `calibration`) is activation-aware: the f32
    model runs on the calibration text (the Evaluator); for each LayerNorm
    whose output only linears read (GPT-2: c_attn, c_fc), a per-input-
    channel scale s = a^alpha (a: mean |x| per channel; alpha from 0, i.e.
    round to nearest, to 1 in steps of 0.1) minimising those linears' output
    error on the calibration rows multiplies the weight's rows before
    quantizing, and 1/s is folded into the norm's scale and bias (exact in
    f32); an int4 LM head counts as a [width, vocab] linear behind the
    final norm. Attention's output projection (c_proj) is scaled the same
    way, 1/s folded into the value linear's output columns and bias (exact:
    attention's output is a convex combination of value rows), when the
    attention fills a KV cache no other layer reads. Every int4 linear's
    group ranges are then clipped (ratios 1 to 0.7) to the least
    activation-weighted error sum_k E[x_k^2] (W - Wq)^2. The layer fed by
    GELU (the MLP's c_proj) gets the clipping only.
    Approximate: measure the cost with --perplexity.
  }];
  let options = !listconcat([
    Option<"lmHead", "lm-head", "bool", /*default=*/"true",
           "Quantize the LM head too, to int8 (about a third of the bytes read per token in GPT-2 small)">,
    Option<"embedding", "embedding", "bool", /*default=*/"true",
           "With a quantized LM head: token embeddings read int8 tables (lithe_embedding_q8): one "
           "tied to the head its int8 table (an int8 copy for an int4 head), any other (the head's "
           "table scaled by lithe-fold-layernorm, an untied model) an int8 copy of its own, per row; "
           "so no f32 token table is stored (GPT-2 small: 154 MB less)">,
    Option<"bits", "bits", "int64_t", /*default=*/"8", "Linear weights' bits: 8 (per channel) or 4 (grouped)">,
    Option<"lmHeadBits", "lm-head-bits", "int64_t", /*default=*/"8",
           "The LM head's bits: 8 (per row) or 4 (per row and group of `group` columns)">,
    Option<"group", "group", "int64_t", /*default=*/"64",
           "bits=4: inputs per scale (a multiple of 4 dividing every linear's input width)">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "bits=4: rtn (round to nearest) or awq (activation-aware scales and clipping; needs calibration)">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ], CalibrationOptions);
  // method=awq: the calibration Evaluator lowers a copy of the module to lithe_k.
  let dependentDialects = ["::lithe::k::LitheKDialect", "::mlir::arith::ArithDialect"];
}

def LitheFuseAdapters : Pass<"lithe-fuse-adapters", "mlir::ModuleOp"> {
  let summary = "Fold PEFT adapters (LoRA, IA3, BitFit) into the weights (exact)";
  let description = [{
    Reads each adapter directory in `adapters` (comma-separated, applied in
    order): PEFT's own format (`adapter_config.json` with peft_type LORA or
    IA3, plus `adapter_model.safetensors`) or BitFit (`bitfit.json` plus the
    safetensors file it names, holding replacement biases). Adapter tensors
    are matched to linear layers and LayerNorms by their module names
    (`transformer.h.0.attn.c_attn`, with or without an export prefix; fused
    QKV weights split at import are handled). LoRA adds
    `scale * (lora_alpha / r) * (B A)^T` to W; IA3 scales W's output columns
    (and the bias) or, for feed-forward modules, its input rows; BitFit
    replaces biases. `scale` (default 1) blends each adapter in. A tensor
    that matches no layer, or whose shape does not fit, is an error naming it.
  }];
  let options = [
    Option<"adapters", "adapters", "std::string", /*default=*/"\"\"",
           "Adapter directories, comma-separated">,
    Option<"scale", "scale", "double", /*default=*/"1.0", "Strength of each adapter">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

def LithePruneHeads : Pass<"lithe-prune-heads", "mlir::ModuleOp"> {
  let summary = "Remove attention heads: an explicit list per layer, or the least important by calibration";
  let description = [{
    `heads=L:h,h;L:h` (or `L:h,h/L:h`; layers and heads counted from 0)
    removes those heads: their columns of the query, key and value weights
    and biases and their rows of the output projection are physically
    deleted, the attention computes fewer heads and its KV cache shrinks.

    Or `fraction=F calibration=FILE`: each head's importance is the increase
    of the calibration text's mean next-token loss when that head alone is
    masked (its output zeroed); the `round(F * heads)` least important heads
    of the whole model go, keeping at least one per layer. The chosen heads
    are printed (as a `heads=` list) to standard error.
    Approximate: measure the cost with --perplexity.
  }];
  let options = !listconcat([
    Option<"heads", "heads", "std::string", /*default=*/"\"\"", "Heads to remove, as L:h,h;L:h">,
    Option<"fraction", "fraction", "double", /*default=*/"0",
           "Fraction of all heads to remove, the least important on the calibration text">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ], CalibrationOptions);
  // The calibration Evaluator lowers a copy of the module to lithe_k.
  let dependentDialects = ["::lithe::k::LitheKDialect", "::mlir::arith::ArithDialect"];
}

def LitheDropLayers : Pass<"lithe-drop-layers", "mlir::ModuleOp"> {
  let summary = "Remove whole transformer blocks: an explicit list, or the most redundant by calibration";
  let description = [{
    `layers=i,j` (counted from 0) removes those blocks: the residual stream
    skips them, their weights and their KV caches are gone.

    Or `keep=N calibration=FILE`: the residual stream entering each block
    (and leaving the last) is recorded on the calibration text, and blocks
    go until N are left. `metric=bi` (Block Influence, ShortGPT) removes the
    blocks with the smallest mean `1 - cos(input, output)`; `metric=angular`
    (Gromov et al.) removes the run of consecutive blocks whose input and
    output are closest in mean angular distance `arccos(cos) / pi`;
    `metric=loss` removes the blocks whose skipping alone raises the
    calibration loss least (one evaluation per block). The
    chosen blocks are printed (as a `layers=` list) to standard error.
    Approximate: measure the cost with --perplexity.
  }];
  let options = !listconcat([
    Option<"layers", "layers", "std::string", /*default=*/"\"\"", "Blocks to remove, as i,j,...">,
    Option<"keep", "keep", "int64_t", /*default=*/"0",
           "Blocks to keep, choosing which to drop on the calibration text">,
    Option<"metric", "metric", "std::string", /*default=*/"\"bi\"",
           "How keep= chooses: bi (Block Influence), angular (a run of blocks) or loss">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ], CalibrationOptions);
  // The calibration Evaluator lowers a copy of the module to lithe_k.
  let dependentDialects = ["::lithe::k::LitheKDialect", "::mlir::arith::ArithDialect"];
}

def LitheShareKV : Pass<"lithe-share-kv", "mlir::ModuleOp"> {
  let summary = "Cross-layer KV sharing: layers in a group read the first one's cache";
  let description = [{
    Groups consecutive attention layers in groups of `group`; in each
    group the later layers stop computing keys and values and attend over
    the first layer's KV cache, so the cache (and --bench's KV bytes)
    shrinks by the group size. Layers of a group must have the same heads.
    Approximate: measure the cost with --perplexity.
  }];
  let options = [
    Option<"group", "group", "int64_t", /*default=*/"2", "Layers per group">,
  ];
}

def LitheKVPrecision : Pass<"lithe-kv-precision", "mlir::ModuleOp"> {
  let summary = "Store the KV caches as f16 or int8 (half or about a quarter of the bytes per position)";
  let description = [{
    Gives every `!lithe.kv_cache` argument of the model function the element
    type `type`: f16, int8 or f32. With f16 the attention kernels round each
    appended key and value to nearest even (saturated to +-65504); with int8
    each head's keys (values) of a position become symmetric int8 with one
    f32 scale. They widen them to f32 as they read them, accumulating in
    f32: a decoded token at a long context reads half (f16) or about a
    quarter (int8) of the cache's bytes. Approximate (f16 keeps 11
    significant bits, int8 about 8): measure the cost with --perplexity.
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"f16\"", "Cache element type: f16, int8 or f32">,
  ];
}

def LitheWriteWeights : Pass<"lithe-write-weights", "mlir::ModuleOp"> {
  let summary = "Write the weights the module references to a new weights file";
  let description = [{
    Persists what passes put in the weights store: writes every tensor a
    `lithe.weight` names to `file` and points the module's `lithe.weights`
    attribute at it (by file name, or `ref` when given).
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"", "Weights file to write">,
    Option<"ref", "ref", "std::string", /*default=*/"\"\"",
           "Value for the lithe.weights attribute (default: file's name)">,
    Option<"suffix", "suffix", "std::string", /*default=*/"\"\"",
           "Without file: write beside the module's weights file, .lwt replaced by this">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

//===----------------------------------------------------------------------===//
// Lowering: transformer level -> kernel level (lithe_k) -> LLVM dialect.
// `lithe-lower-cpu` (passes/Pipelines.cpp) runs them in this order.
//===----------------------------------------------------------------------===//

def LitheLowerToKernels : Pass<"lithe-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Lower the transformer-level forward to kernel ops over buffers (lithe_k)";
  let description = [{
    Rewrites `func.func @forward` (transformer level) into two kernel-level
    functions in destination-passing style:

    * `@forward(weights, arena, key planes, value planes, ids, rows, past,
      hidden) -> i32`: one `lithe_k` op per kernel call, every activation a
      fresh (unplanned) `lithe_k.arena` slot, position embeddings a
      `lithe_k.table_rows` view of the table, the last hidden states
      written to the caller's `hidden` buffer; returns the or of the KV
      appends' statuses;
    * `@decode_batch(weights, arena, keys, values, ids, rows, pasts, hidden)
      -> i32` (unless `decode-batch=false`): one new token of each of `rows`
      sequences, each on its own caches (the tables hold every sequence's,
      sequence-major) at its own position `pasts[b]`: the linear layers read
      their weights once for all of them;
    * `@head(weights, hidden, rows, logits)`: the LM head.

    Weights stay `row_major` (lithe-pack-weights packs them). The module
    gets `lithe_k.capacity` (rows per step and KV cache capacity: the
    `capacity` option, else the position table's rows), `lithe_k.cache_shapes`
    and `lithe_k.layers`. Errors name the op and its ONNX node.
  }];
  let options = [
    Option<"capacity", "capacity", "int64_t", /*default=*/"0",
           "Context length (0: the rows of the position embedding)">,
    Option<"observe", "observe", "bool", /*default=*/"false",
           "Mark each transformer-level value with lithe_k.observe (the calibration Evaluator's hooks)">,
    Option<"decodeBatch", "decode-batch", "bool", /*default=*/"true",
           "Also make @decode_batch: one new token of each of several sequences per call">,
  ];
  let dependentDialects = ["::lithe::k::LitheKDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def LitheFuseKernels : Pass<"lithe-fuse-kernels", "mlir::ModuleOp"> {
  let summary = "Fuse GELU and residual adds into the linear kernels' epilogues";
  let description = [{
    Two rewrite patterns on the kernel level:

    * a `lithe_k.gelu` reading a buffer that only one `lithe_k.linear`
      writes and nothing else reads becomes that linear's `gelu_tanh` /
      `gelu_erf` epilogue;
    * a `lithe_k.add` of such a linear's buffer and a residual buffer whose
      last reader it is (and that nothing reads between the linear and the
      add) becomes the linear's `accumulate` epilogue into the residual.

    Buffers the fusions free disappear with their `lithe_k.arena` ops.
  }];
  let dependentDialects = ["::lithe::k::LitheKDialect"];
}

def LitheFuseQKV : Pass<"lithe-fuse-qkv", "mlir::ModuleOp"> {
  let summary = "Fuse linears that read one input one after another into lithe_k.linear_split (CUDA)";
  let description = [{
    Two or three consecutive `lithe_k.linear`s with the same input and rows,
    no epilogue and row-major weights of one element type (f32 or int8)
    become one `lithe_k.linear_split`: attention's Q, K and V projections,
    which the importer keeps apart. The weights store makes the weights'
    columns side by side (`<first weight>.split<n>`), the biases and int8
    scales likewise. Exact. The CUDA target runs it (one GEMV launch for the
    three); the CPU target does not.
  }];
  let options = [
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
  let dependentDialects = ["::lithe::k::LitheKDialect"];
}

def LitheFusePositions : Pass<"lithe-fuse-positions", "mlir::ModuleOp"> {
  let summary = "Fuse token embedding, position rows and their add into lithe_k.embed_positions (CUDA)";
  let description = [{
    A `lithe_k.add` of a buffer only a `lithe_k.embedding` writes and a
    `lithe_k.table_rows` view becomes one `lithe_k.embed_positions`. The
    CUDA target needs it: its past length lives in device memory, so the
    position rows cannot be a host-side view. Exact.
  }];
  let dependentDialects = ["::lithe::k::LitheKDialect"];
}

def LithePackWeights : Pass<"lithe-pack-weights", "mlir::ModuleOp"> {
  let summary = "Put the linear kernels' weights in their packed layout";
  let description = [{
    Every `row_major` weight of a `lithe_k.linear` becomes
    `<name>.packed` in the target's layout (`cpu_panels`: f32 panels, or
    int8 panels with the per-channel scales in front), added to the weights
    store as a tensor made while the weights file is written (so packing
    never holds a second copy of the model in memory). With
    `precision=bf16`, f32 weights become `<name>.packed.bf16` (bf16 panels,
    k in pairs) and each f32 LM-head table gets a row-major bf16 copy
    `<name>.bf16`; int8 weights stay int8.

    `target=cuda`: every linear weight becomes `cuda_rows`, [out][in] as
    the CUDA kernels read it: f32 ones `<name>.cuda.<f16|bf16|f32>` (the
    precision, fp16 by default), int8 ones `<name>.cuda.i8` with their
    per-output scales kept; every table the LM heads and embeddings read
    becomes a copy `<name>.<f16|bf16>` in the precision (an int8 table
    dequantized; an f32 table at fp32 is read as it is), shared by the ops
    reading the same table. int4 weights have no CUDA kernel and are
    refused.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Kernel target: cpu (panels) or cuda (f16 / int8 [out][in] rows, f16 tables)">,
    Option<"precision", "precision", "std::string", /*default=*/"\"\"",
           "What f32 weights become: cpu: fp32 (default) or bf16 (linear panels and a copy of each "
           "LM-head table); cuda: fp16 (default), bf16 or fp32">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
  let dependentDialects = ["::lithe::k::LitheKDialect"];
}

def LithePlanBuffers : Pass<"lithe-plan-buffers", "mlir::ModuleOp"> {
  let summary = "Place every activation buffer in the arena (liveness, first fit)";
  let description = [{
    Walks each kernel-level function in order; a `lithe_k.arena` slot lives
    from its definition to its last use. A new slot takes the smallest freed
    one with enough columns, else a new one; each is `capacity` rows, 64-byte
    aligned. Sets every `lithe_k.arena` op's offset and the module's
    `lithe_k.arena_bytes`.
  }];
  let dependentDialects = ["::lithe::k::LitheKDialect"];
}

def LitheKernelsToLLVM : Pass<"lithe-kernels-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower kernel-level functions to LLVM-dialect calls into the runtime";
  let description = [{
    A dialect conversion (every `lithe_k` op illegal): buffers become
    pointers (arena slots and weights by their planned and file offsets, cache
    planes loaded from the context's tables), each kernel op a call of its
    runtime kernel, declared from the prototypes of
    `runtime/include/lithe/runtime/kernels.h` (the one list of kernels).
    Then the ABI (runtime/include/lithe/runtime/abi.h): private
    `lithe_<model-name>_forward` / `_head` / `_config` / `_cache_shapes` and
    the exported `lithe_<model-name>_query` (plus the weak `main-query`
    alias). Weight offsets and the checksum come from the weights file the
    module's `lithe.weights` names (lithe-write-weights writes it).

    `target=cuda`: the same host functions, whose buffers are device
    pointers, call the CUDA ops of `runtime/include/lithe/runtime/cuda_ops.h`
    instead (lib/Lowering/CudaKernelCalls.cpp says which); the past length
    is not passed to them (the kernels read it from device memory) and
    config[kCfgTarget] says the code is CUDA's. An op with no CUDA kernel is
    an error naming it.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Whose kernels the calls go to: cpu (kernels.h) or cuda (cuda_ops.h)">,
    Option<"modelName", "model-name", "std::string", /*default=*/"\"model\"",
           "The model's symbol name: lithe_<model-name>_query">,
    Option<"mainQuery", "main-query", "std::string", /*default=*/"\"\"",
           "Weak alias of the query function (lithe_main_query for an executable)">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LITHE_PASSES_TD
