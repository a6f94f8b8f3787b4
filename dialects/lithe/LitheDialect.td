//===- LitheDialect.td - the lithe dialect ------------------*- tablegen -*-===//
//
// The lithe dialect describes GPT-2-class decoder models at two levels:
//  * the ONNX level: `lithe.onnx`, one op per imported ONNX node, kept generic;
//  * the transformer level: embedding, layer_norm, linear, attention, gelu,
//    add (residual), lm_head, over ranked tensors, with weights referenced by
//    name from an external weights file (never inlined as large constants).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_DIALECT_TD
#define LITHE_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Lithe_Dialect : Dialect {
  let name = "lithe";
  let cppNamespace = "::lithe";
  let summary = "Transformer-level ops for GPT-2-class models";
  let description = [{
    Ops for compiling GPT-2-class decoders ahead of time. Weights are
    `lithe.weight` references into an external weights file named by the
    module attribute `lithe.weights`; the KV cache of each attention layer is
    a `!lithe.kv_cache` value that `lithe.attention` reads and appends to.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute holding the path of the weights file.
    static constexpr llvm::StringLiteral kWeightsAttrName = "lithe.weights";

    /// The weights passes read and write for modules of this context (see
    /// lithe/WeightStore.h); set by the driver or opened on first use.
    std::shared_ptr<::lithe::WeightStore> weightStore;

  private:
    void registerTypes();

  public:
  }];
}

class Lithe_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lithe_Dialect, mnemonic, traits>;

#endif // LITHE_DIALECT_TD
