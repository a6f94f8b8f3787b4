//===- Evaluator.cpp - run a module's kernel-level program on a window ----===//
//
// The Evaluator lowers a copy of the transformer-level module with the
// compiler's own passes' cores (lowerToKernels with observe markers, then
// packWeights: lib/Lowering) and interprets the kernel level: each lithe_k
// kernel op is the call lithe::kernelCall says, made through the kernel
// table (the same mapping lithe-kernels-to-llvm compiles), so the numbers a
// pass measures are the compiled binary's. Batch 1, past 0; every arena slot
// is its own rows x cols buffer, freed after its last use; the KV caches are
// allocated once, at the model's capacity. A lithe_k.observe hands the
// value of transformer op #index to the observer, which may change it.
//
//===----------------------------------------------------------------------===//

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Lowering.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>
#include <map>
#include <unordered_map>

namespace lithe {

using namespace mlir;

struct Evaluator::Impl {
  OwningOpRef<ModuleOp> kernels; // the lowered copy
  func::FuncOp forward, head;    // its kernel-level functions
  std::vector<Operation *> ops;   // the original @forward's ops: observe index -> op
  LMHeadOp lmHead;               // the original's
  std::shared_ptr<WeightStore> store;
  /// Per kernel-level function: the arena slots whose last use each op is.
  std::unordered_map<Operation *, std::vector<Value>> dies;
  /// KV cache planes by (caches argument, index), allocated once.
  std::map<std::pair<unsigned, int64_t>, std::vector<float>> planes;

  struct Frame {
    std::unordered_map<void *, void *> ptr;          // buffer value -> data
    std::unordered_map<void *, int64_t> index;       // index value -> value
    std::unordered_map<void *, std::vector<float>> slots; // arena slots owned
  };
  bool runFunction(func::FuncOp fn, Frame &f, int64_t rows, const Observer &observe, Operation *stopAfter,
                   bool &stopped, std::string &error);
};

int64_t CalibrationData::tokens() const {
  int64_t n = 0;
  for (const auto &w : windows) n += static_cast<int64_t>(w.size());
  return n;
}

Evaluator::~Evaluator() = default;

std::unique_ptr<Evaluator> Evaluator::create(ModuleOp module, std::shared_ptr<WeightStore> store,
                                             std::string &error, bool bf16) {
  auto fn = module.lookupSymbol<func::FuncOp>("forward");
  if (!fn || fn.getBody().getBlocks().size() != 1 || fn.getNumArguments() < 2) {
    error = "calibration needs the transformer-level 'forward' function (ids, past, caches...)";
    return nullptr;
  }
  for (Operation &op : fn.getBody().front())
    if (!isa<WeightOp, PositionIdsOp, EmbeddingOp, LayerNormOp, CenterOp, LinearOp, GeluOp, AddOp, AttentionOp,
             LMHeadOp, func::ReturnOp>(op)) {
      error = "calibration cannot evaluate '" + op.getName().getStringRef().str() + "'";
      if (auto o = dyn_cast<OnnxOp>(op)) error += " (ONNX node '" + o.getOpType().str() + "' was not raised)";
      return nullptr;
    }
  std::unique_ptr<Evaluator> e(new Evaluator());
  e->impl_ = std::make_unique<Impl>();
  Impl &m = *e->impl_;
  m.store = std::move(store);
  for (Operation &op : fn.getBody().front()) {
    m.ops.push_back(&op);
    if (auto h = dyn_cast<LMHeadOp>(op)) m.lmHead = h;
  }

  // The kernel level of a copy, by the lowering passes' own code.
  std::string diag;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && diag.empty()) diag = d.str();
    return success();
  });
  m.kernels = cast<ModuleOp>(module->clone());
  LowerToKernelsOptions lower;
  lower.observe = true;
  if (failed(lowerToKernels(*m.kernels, lower)) || failed(packWeights(*m.kernels, *m.store, bf16 ? WeightPrecision::BF16 : WeightPrecision::F32))) {
    error = "calibration: " + (diag.empty() ? std::string("the module does not lower to kernels") : diag);
    return nullptr;
  }
  m.forward = m.kernels->lookupSymbol<func::FuncOp>(k::kForward);
  m.head = m.kernels->lookupSymbol<func::FuncOp>(k::kHead);
  for (func::FuncOp f : {m.forward, m.head}) {
    std::unordered_map<Operation *, size_t> order;
    for (Operation &op : f.getBody().front()) order[&op] = order.size();
    for (Operation &op : f.getBody().front())
      if (auto slot = dyn_cast<k::ArenaOp>(op)) {
        Operation *last = &op;
        for (Operation *u : slot.getResult().getUsers())
          if (order[u] > order[last]) last = u;
        m.dies[last].push_back(slot.getResult());
      }
  }
  return e;
}

bool Evaluator::Impl::runFunction(func::FuncOp fn, Frame &f, int64_t rows, const Observer &observe,
                                  Operation *stopAfter, bool &stopped, std::string &error) {
  auto fail = [&](Operation *op, const std::string &msg) {
    error = op->getName().getStringRef().str() + ": " + msg;
    return false;
  };
  auto key = [](Value v) { return v.getAsOpaquePointer(); };
  for (Operation &op : fn.getBody().front()) {
    if (auto w = dyn_cast<k::WeightOp>(op)) {
      auto view = store->get(w.getName().str());
      auto t = w.getResult().getType();
      if (!view) return fail(&op, "weight '" + w.getName().str() + "' is not in the weights store");
      if (w.getLayout() == k::Layout::row_major) {
        int64_t n = 1;
        for (int64_t d : t.getShape()) n *= d;
        if (static_cast<int64_t>(view->nbytes) != n * t.getElementBytes())
          return fail(&op, "weight '" + w.getName().str() + "' has an unexpected type or size");
      }
      f.ptr[key(w.getResult())] = const_cast<void *>(view->data);
    } else if (auto a = dyn_cast<k::ArenaOp>(op)) {
      std::vector<float> &slot = f.slots[key(a.getResult())];
      slot.assign(static_cast<size_t>(rows * a.getResult().getType().getCols()), 0.0f);
      f.ptr[key(a.getResult())] = slot.data();
    } else if (auto v = dyn_cast<k::TableRowsOp>(op)) {
      int64_t first = f.index.at(key(v.getFirst()));
      if (first + rows > cast<k::BufferType>(v.getTable().getType()).getShape()[0])
        return fail(&op, "the window is longer than the position table");
      f.ptr[key(v.getResult())] =
          static_cast<float *>(f.ptr.at(key(v.getTable()))) + first * v.getResult().getType().getCols();
    } else if (auto p = dyn_cast<k::CachePlaneOp>(op)) {
      auto shape = p.getResult().getType().getShape();
      std::vector<float> &plane = planes[{cast<BlockArgument>(p.getCaches()).getArgNumber(), p.getIndex()}];
      // f32 or f16 values, or int8 ones followed by their scales
      // (lithe-kv-precision; kernels.h), in float-sized storage
      int64_t bytes = p.getResult().getType().getElementBytes();
      size_t planeBytes = bytes == 1 ? lithe_kv_q8_plane_bytes(shape[0], shape[2], shape[1])
                                     : static_cast<size_t>(shape[0] * shape[1] * shape[2] * bytes);
      plane.resize((planeBytes + 3) / 4);
      f.ptr[key(p.getResult())] = plane.data();
    } else if (auto o = dyn_cast<k::ObserveOp>(op)) {
      Operation *original = ops.at(static_cast<size_t>(o.getIndex()));
      if (observe)
        observe(original, static_cast<float *>(f.ptr.at(key(o.getValue()))), rows,
                o.getValue().getType().getCols());
      if (original == stopAfter) {
        stopped = true;
        return true;
      }
    } else if (isa<arith::ConstantOp, arith::OrIOp, func::ReturnOp>(op)) {
      // the status: each append is checked where it is made
    } else if (std::optional<KernelCall> call = kernelCall(&op)) {
      const KernelEntry *kernel = findKernel(call->kernel);
      if (!kernel || kernel->arity != call->args.size()) return fail(&op, "no kernel " + call->kernel.str());
      KernelValue args[16];
      for (size_t i = 0; i < call->args.size(); ++i) {
        const KernelArg &a = call->args[i];
        switch (a.kind) {
        case KernelArg::Operand: {
          Value v = op.getOperand(a.operand);
          if (v.getType().isIndex()) args[i].i = f.index.at(key(v));
          else args[i].p = f.ptr.at(key(v));
          break;
        }
        case KernelArg::Null: args[i].p = nullptr; break;
        case KernelArg::I64:
        case KernelArg::I32: args[i].i = a.i; break;
        case KernelArg::F32: args[i].f = a.f; break;
        case KernelArg::RowsTimes: args[i].i = f.index.at(key(op.getOperand(a.operand))) * a.i; break;
        }
      }
      if (kernel->invoke(args) != 0) return fail(&op, call->kernel.str() + " failed");
    } else {
      return fail(&op, "the Evaluator cannot run it");
    }
    if (auto it = dies.find(&op); it != dies.end())
      for (Value v : it->second) f.slots.erase(key(v));
  }
  return true;
}

bool Evaluator::run(const std::vector<int64_t> &ids, const Observer &observe, double *nll, int64_t *count,
                    std::string &error, Operation *stopAfter) {
  Impl &m = *impl_;
  const int64_t S = static_cast<int64_t>(ids.size());
  if (S < 1) {
    error = "empty calibration window";
    return false;
  }
  int64_t capacity = m.kernels.get()->getAttrOfType<IntegerAttr>(k::kCapacityAttr).getInt();
  if (S > capacity) {
    error = "a calibration window of " + std::to_string(S) + " tokens is longer than the model's context (" +
            std::to_string(capacity) + ")";
    return false;
  }
  auto fwdTable = cast<k::BufferType>(m.head.getArgument(3).getType());
  int64_t V = fwdTable.getCols(), D = cast<k::BufferType>(m.head.getArgument(1).getType()).getCols();
  for (int64_t id : ids)
    if (id < 0 || id >= V) {
      error = "lithe.embedding: id " + std::to_string(id) + " outside the table";
      return false;
    }
  std::vector<float> hidden(static_cast<size_t>(S * D));
  std::vector<int64_t> idv = ids;
  auto key = [](Value v) { return v.getAsOpaquePointer(); };
  // @forward(weights, arena, keys, values, ids, rows, past, hidden)
  Impl::Frame f;
  Block &fb = m.forward.getBody().front();
  f.ptr[key(fb.getArgument(4))] = idv.data();
  f.index[key(fb.getArgument(5))] = S;
  f.index[key(fb.getArgument(6))] = 0;
  f.ptr[key(fb.getArgument(7))] = hidden.data();
  bool stopped = false;
  if (!m.runFunction(m.forward, f, S, observe, stopAfter, stopped, error)) return false;
  if (stopped || !nll) return true;

  // @head(weights, hidden, rows, logits)
  std::vector<float> logits(static_cast<size_t>(S * V));
  Impl::Frame h;
  Block &hb = m.head.getBody().front();
  h.ptr[key(hb.getArgument(1))] = hidden.data();
  h.index[key(hb.getArgument(2))] = S;
  h.ptr[key(hb.getArgument(3))] = logits.data();
  if (!m.runFunction(m.head, h, S, observe, stopAfter, stopped, error)) return false;
  float *y = logits.data();
  if (observe) observe(m.lmHead, y, S, V);
  // -log softmax(row)[target], the softmax by the (vectorized) kernel; a
  // probability too small for f32 is recomputed in double.
  std::vector<float> row(static_cast<size_t>(V));
  for (int64_t r = 0; r + 1 < S; ++r) {
    int64_t target = ids[r + 1];
    const float *z = y + r * V;
    lithe_softmax(z, 1, V, row.data());
    if (row[target] > 1e-30f) {
      *nll -= std::log(static_cast<double>(row[target]));
    } else {
      float mx = z[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, z[v]);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(z[v] - mx));
      *nll += std::log(sum) + mx - z[target];
    }
    ++*count;
  }
  return true;
}

bool Evaluator::meanNll(const CalibrationData &data, const Observer &observe, double &mean, std::string &error) {
  double sum = 0;
  int64_t count = 0;
  for (const auto &w : data.windows)
    if (!run(w, observe, &sum, &count, error)) return false;
  if (!count) {
    error = "the calibration text scores no tokens";
    return false;
  }
  mean = sum / static_cast<double>(count);
  return true;
}

} // namespace lithe
