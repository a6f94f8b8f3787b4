//===- CudaKernelCalls.cpp - lithe_k op -> CUDA host op -------------------===//
//
// The CUDA target's op -> call mapping, the counterpart of KernelCalls.cpp:
// which lithe_cuda_op_* function (runtime/include/lithe/runtime/cuda_ops.h,
// the one list of them) a lithe_k op becomes, with which arguments.
// lithe-kernels-to-llvm{target=cuda} turns each into an llvm.call; the
// functions' LLVM types come from their prototypes, so the compiler needs
// the header, not the CUDA runtime.
//
// What differs from the CPU mapping: linear weights are `cuda_rows` (f16, bf16
// or f32, or int8 with the per-row scale beside); tables are plain rows of the
// precision; the past length is
// never an argument (the kernels read it from device memory); the KV cache
// is f16; token and position embeddings are one op (lithe-fuse-positions).
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "KernelCallBuilder.h"
#include "lithe/runtime/cuda_ops.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"

#include "llvm/ADT/TypeSwitch.h"

namespace lithe {

using namespace mlir;
using namespace detail;

namespace {

#define LITHE_CUDA_OP(fn)                                                                           \
  KernelEntry { #fn, &KernelSignature<decltype(fn)>::type, nullptr, KernelSignature<decltype(fn)>::arity }
const KernelEntry kCudaOps[] = {
    LITHE_CUDA_OP(lithe_cuda_op_embedding),  LITHE_CUDA_OP(lithe_cuda_op_add),
    LITHE_CUDA_OP(lithe_cuda_op_layer_norm), LITHE_CUDA_OP(lithe_cuda_op_center),
    LITHE_CUDA_OP(lithe_cuda_op_affine_rows), LITHE_CUDA_OP(lithe_cuda_op_linear),
    LITHE_CUDA_OP(lithe_cuda_op_linear_q8),  LITHE_CUDA_OP(lithe_cuda_op_gelu),
    LITHE_CUDA_OP(lithe_cuda_op_kv_append),  LITHE_CUDA_OP(lithe_cuda_op_attention),
    LITHE_CUDA_OP(lithe_cuda_op_lm_head),    LITHE_CUDA_OP(lithe_cuda_op_linear_split),
};
#undef LITHE_CUDA_OP

int64_t cols(Value v) { return cast<k::BufferType>(v.getType()).getCols(); }
ArrayRef<int64_t> shape(Value v) { return cast<k::BufferType>(v.getType()).getShape(); }
Type element(Value v) { return cast<k::BufferType>(v.getType()).getElementType(); }
bool f16Plane(Value v) { return element(v).isF16(); }
/// cuda_kernels.h's LITHE_CUDA_F32 / F16 / BF16 for a float buffer; -1 for others.
int cudaType(Value v) {
  Type e = element(v);
  return e.isF32() ? 0 : e.isF16() ? 1 : e.isBF16() ? 2 : -1;
}

} // namespace

std::optional<KernelCall> cudaKernelCall(Operation *op, std::string *why) {
  KernelCallBuilder a(op);
  auto refuse = [&](const Twine &msg) {
    if (why) *why = msg.str();
    return false;
  };
  bool ok = llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](k::EmbedPositionsOp o) {
        if (cudaType(o.getTable()) < 0 || element(o.getTable()) != element(o.getPositions()))
          return refuse("the CUDA embedding reads two tables of one float type (run lithe-pack-weights{target=cuda})");
        a.named("lithe_cuda_op_embedding").operand(o.getTable()).operand(o.getPositions()).i32(cudaType(o.getTable()))
            .i64(cols(o.getTable())).operand(o.getIds()).operand(o.getRows()).operand(o.getOut());
        return true;
      })
      .Case([&](k::EmbeddingOp) {
        return refuse("the CUDA target embeds tokens and positions in one op "
                      "(run lithe-fuse-positions: embedding + table_rows + add -> embed_positions)");
      })
      .Case([&](k::AddOp o) {
        a.named("lithe_cuda_op_add").operand(o.getLhs()).operand(o.getRhs()).rowsTimes(o.getRows(), cols(o.getOut()))
            .operand(o.getOut());
        return true;
      })
      .Case([&](k::LayerNormOp o) {
        a.named("lithe_cuda_op_layer_norm").operand(o.getInput()).operand(o.getRows()).i64(cols(o.getInput()))
            .operand(o.getScale()).operand(o.getBias()).f32(o.getEpsilon().convertToFloat()).operand(o.getOut());
        return true;
      })
      .Case([&](k::CenterOp o) {
        a.named("lithe_cuda_op_center").operand(o.getInput()).operand(o.getRows()).i64(cols(o.getInput()))
            .operand(o.getOut());
        return true;
      })
      .Case([&](k::AffineRowsOp o) {
        a.named("lithe_cuda_op_affine_rows").operand(o.getData()).operand(o.getRows()).i64(cols(o.getData()))
            .operand(o.getScale()).operand(o.getBias());
        return true;
      })
      .Case([&](k::AddRowsOp o) {
        a.named("lithe_cuda_op_affine_rows").operand(o.getData()).operand(o.getRows()).i64(cols(o.getData()))
            .operand(Value()).operand(o.getBias());
        return true;
      })
      .Case([&](k::LinearOp o) {
        auto w = o.getWeight().getDefiningOp<k::WeightOp>();
        if (!w || w.getLayout() != k::Layout::cuda_rows)
          return refuse("a linear weight is not in the cuda_rows layout (run lithe-pack-weights{target=cuda})");
        auto s = shape(o.getWeight()); // [in, out]
        if (element(o.getWeight()).isInteger(8))
          a.named("lithe_cuda_op_linear_q8").operand(o.getInput()).operand(o.getRows()).i64(s[0])
              .operand(o.getWeight()).operand(o.getWeightScale()).i64(s[1]).operand(o.getBias()).operand(o.getOut())
              .i32(static_cast<int32_t>(o.getEpilogue()));
        else
          a.named("lithe_cuda_op_linear").operand(o.getInput()).operand(o.getRows()).i64(s[0])
              .operand(o.getWeight()).i32(cudaType(o.getWeight())).i64(s[1]).operand(o.getBias()).operand(o.getOut())
              .i32(static_cast<int32_t>(o.getEpilogue()));
        return true;
      })
      .Case([&](k::LinearSplitOp o) {
        auto w = o.getWeight().getDefiningOp<k::WeightOp>();
        if (!w || w.getLayout() != k::Layout::cuda_rows)
          return refuse("a split linear's weight is not in the cuda_rows layout (run lithe-pack-weights{target=cuda})");
        auto outs = o.getOuts();
        a.named("lithe_cuda_op_linear_split").operand(o.getInput()).operand(o.getRows()).i64(shape(o.getWeight())[0])
            .operand(o.getWeight()).i32(element(o.getWeight()).isInteger(8) ? 3 : cudaType(o.getWeight()))
            .operand(o.getWeightScale()).operand(o.getBias()).operand(outs[0]).i64(cols(outs[0]))
            .operand(outs[1]).i64(cols(outs[1]));
        if (outs.size() == 3) a.operand(outs[2]).i64(cols(outs[2]));
        else a.operand(Value()).i64(0);
        return true;
      })
      .Case([&](k::GeluOp o) {
        a.named("lithe_cuda_op_gelu").operand(o.getInput()).rowsTimes(o.getRows(), cols(o.getOut()))
            .operand(o.getOut()).i32(o.getTanh());
        return true;
      })
      .Case([&](k::KVAppendOp o) {
        if (!f16Plane(o.getKeyPlane())) return refuse("the CUDA KV cache is f16 (lithe-kv-precision{type=f16})");
        auto p = shape(o.getKeyPlane()); // heads, capacity, head_dim
        a.named("lithe_cuda_op_kv_append").operand(o.getKeyPlane()).operand(o.getValuePlane()).i64(p[0]).i64(p[2])
            .i64(p[1]).operand(o.getKey()).operand(o.getValue()).operand(o.getRows());
        return true;
      })
      .Case([&](k::AttentionOp o) {
        if (!f16Plane(o.getKeyPlane())) return refuse("the CUDA KV cache is f16 (lithe-kv-precision{type=f16})");
        if (!o.getCausal()) return refuse("non-causal attention has no CUDA kernel");
        if (o.getHeadDim() > 128) return refuse("the CUDA attention kernels take head_dim <= 128");
        a.named("lithe_cuda_op_attention").operand(o.getQuery()).operand(o.getRows()).operand(o.getKeyPlane())
            .operand(o.getValuePlane()).i64(o.getHeads()).i64(o.getHeadDim()).i64(o.getCapacity())
            .f32(o.getScale().convertToFloat()).operand(o.getOut());
        return true;
      })
      .Case([&](k::LMHeadOp o) {
        if (cudaType(o.getTable()) < 0 || o.getTableScale())
          return refuse("the CUDA LM head reads an f32, f16 or bf16 table (run lithe-pack-weights{target=cuda})");
        auto t = shape(o.getTable()); // vocab, width
        a.named("lithe_cuda_op_lm_head").operand(o.getInput()).operand(o.getRows()).i64(t[1]).operand(o.getTable())
            .i32(cudaType(o.getTable())).i64(t[0]).operand(o.getOut());
        return true;
      })
      .Case<k::KVAppendRowsOp, k::AttentionRowsOp>([&](Operation *) {
        return refuse("batched decoding has no CUDA kernels yet (lower with decode-batch=false)");
      })
      .Default([](Operation *) { return false; });
  if (!ok) return std::nullopt;
  return a.call;
}

ArrayRef<KernelEntry> cudaKernelTable() { return kCudaOps; }

} // namespace lithe
