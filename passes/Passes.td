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

#endif // LITHE_PASSES_TD
