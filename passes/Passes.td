//===- Passes.td - lithe passes ------------------------------*- tablegen -*-===//
//
// Every Lithe pass is declared here, one def per pass, named `lithe-*`, and
// implemented in passes/<Name>.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_PASSES_TD
#define LITHE_PASSES_TD

include "mlir/Pass/PassBase.td"

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
  let summary = "Delete LayerNorms that LN-free models keep disabled (exact)";
  let description = [{
    Published LN-free GPT-2 checkpoints keep their LayerNorm nodes but set
    epsilon to ~1e12 (weights scaled to compensate), which turns
    `(x - mean) / sqrt(var + eps) * g + b` into `(x - mean) * g / sqrt(eps) + b`:
    in f32, `var + eps` rounds to `eps` for any variance below ulp(eps) / 2
    (32768 at eps = 1e12). Each LayerNorm with epsilon >= `min-epsilon`
    becomes `lithe.center` with scale `g / sqrt(eps)` and the same bias;
    lithe-fold-layernorm then folds that into the next linear layers.
    Calibrated removal for ordinary models (a constant standard deviation
    measured on calibration text) is not implemented yet.
  }];
  let options = [
    Option<"minEpsilon", "min-epsilon", "double", /*default=*/"1.0e6",
           "LayerNorms with at least this epsilon count as disabled">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

def LitheQuantizeWeights : Pass<"lithe-quantize-weights", "mlir::ModuleOp"> {
  let summary = "int8 weight-only quantization, per output channel (LM head included)";
  let description = [{
    Every f32 linear weight becomes int8 with one f32 scale per output
    channel (symmetric: scale = max |W[:, n]| / 127), and, with `lm-head`,
    the LM head's table becomes int8 with one scale per vocabulary row. The
    token embedding keeps its f32 table (a tied head gets its own int8
    copy): decoding reads one byte per weight instead of four. Activations
    stay f32. Approximate: measure the cost with --perplexity.
  }];
  let options = [
    Option<"lmHead", "lm-head", "bool", /*default=*/"true",
           "Quantize the LM head too (about a third of the bytes read per token in GPT-2 small)">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
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
  let summary = "Remove attention heads by an explicit list per layer";
  let description = [{
    `heads=L:h,h;L:h` (or `L:h,h/L:h`; layers and heads counted from 0)
    removes those heads: their columns of the query, key and value weights
    and biases and their rows of the output projection are physically
    deleted, the attention computes fewer heads and its KV cache shrinks.
    Approximate: measure the cost with --perplexity. (Pruning by measured
    importance is not implemented yet.)
  }];
  let options = [
    Option<"heads", "heads", "std::string", /*default=*/"\"\"", "Heads to remove, as L:h,h;L:h">,
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

def LitheDropLayers : Pass<"lithe-drop-layers", "mlir::ModuleOp"> {
  let summary = "Remove whole transformer blocks by an explicit list";
  let description = [{
    `layers=i,j` (counted from 0) removes those blocks: the residual stream
    skips them, their weights and their KV caches are gone. Approximate:
    measure the cost with --perplexity. (Choosing blocks by similarity on
    calibration text is not implemented yet.)
  }];
  let options = [
    Option<"layers", "layers", "std::string", /*default=*/"\"\"", "Blocks to remove, as i,j,...">,
  ];
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
    Option<"weightsDir", "weights-dir", "std::string", /*default=*/"\"\"",
           "Directory a relative lithe.weights path is resolved against">,
  ];
}

#endif // LITHE_PASSES_TD
