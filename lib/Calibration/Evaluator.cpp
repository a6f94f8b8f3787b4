//===- Evaluator.cpp - run a transformer-level module with the CPU kernels ===//
//
// Op by op over the `forward` function, batch 1, past 0: every activation is
// a rows x cols f32 matrix (the last dimension is cols), ids are int64
// vectors, each KV cache holds exactly the window. Activations are freed
// after their last use, so a GPT-2-small window stays within a few MB per
// live value.
//
//===----------------------------------------------------------------------===//

#include "lithe/Calibration.h"
#include "lithe/Dialect.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cmath>
#include <unordered_map>

namespace lithe {

using namespace mlir;

namespace {
struct Cache {
  std::vector<float> k, v;
  int64_t heads = 0, headDim = 0, capacity = 0;
};
int64_t lastDim(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }
} // namespace

struct Evaluator::Impl {
  func::FuncOp fn;
  std::shared_ptr<WeightStore> store;
  std::vector<Operation *> ops;
  std::unordered_map<Operation *, size_t> index;
  /// For each op, the values whose last use it is.
  std::vector<std::vector<Value>> dies;
  std::unordered_map<std::string, std::vector<uint8_t>> packed;

  /// The data of weight `v`, which must be `want` with `elements` elements;
  /// null with `error` otherwise. The store keeps it alive.
  const void *weight(Value v, DType want, int64_t elements, std::string &error) {
    auto w = v.getDefiningOp<WeightOp>();
    if (!w) {
      error = "operand is not a lithe.weight";
      return nullptr;
    }
    auto view = store->get(w.getName().str());
    if (!view) {
      error = "weight '" + w.getName().str() + "' is not in the weights store";
      return nullptr;
    }
    int64_t n = 1;
    for (int64_t d : view->shape) n *= d;
    if (view->dtype != want || n != elements) {
      error = "weight '" + w.getName().str() + "' has an unexpected type or size";
      return nullptr;
    }
    return view->data;
  }
  const float *f32(Value v, int64_t elements, std::string &error) {
    return static_cast<const float *>(weight(v, DType::F32, elements, error));
  }
  const int8_t *i8(Value v, int64_t elements, std::string &error) {
    return static_cast<const int8_t *>(weight(v, DType::I8, elements, error));
  }

  /// The packed form of a linear op's weight (f32 or int8 + scales).
  const void *packedWeight(LinearOp lin, std::string &error) {
    auto w = lin.getWeight().getDefiningOp<WeightOp>();
    if (!w) {
      error = "weight is not a lithe.weight";
      return nullptr;
    }
    std::string key = w.getName().str();
    if (auto s = lin.getWeightScale())
      if (auto sw = s.getDefiningOp<WeightOp>()) key += "|" + sw.getName().str();
    auto it = packed.find(key);
    if (it != packed.end()) return it->second.data();
    auto t = cast<RankedTensorType>(lin.getWeight().getType());
    int64_t K = t.getDimSize(0), N = t.getDimSize(1);
    std::vector<uint8_t> buf;
    if (lin.getWeightScale()) {
      const int8_t *q = i8(lin.getWeight(), K * N, error);
      const float *scale = f32(lin.getWeightScale(), N, error);
      if (!q || !scale) return nullptr;
      buf.resize(lithe_pack_linear_q8_size(K, N));
      lithe_pack_linear_q8(q, scale, K, N, buf.data());
    } else {
      const float *p = f32(lin.getWeight(), K * N, error);
      if (!p) return nullptr;
      buf.resize(lithe_pack_linear_size(K, N));
      lithe_pack_linear(p, K, N, buf.data());
    }
    return (packed[key] = std::move(buf)).data();
  }
};

int64_t CalibrationData::tokens() const {
  int64_t n = 0;
  for (const auto &w : windows) n += static_cast<int64_t>(w.size());
  return n;
}

Evaluator::~Evaluator() = default;

std::unique_ptr<Evaluator> Evaluator::create(ModuleOp module, std::shared_ptr<WeightStore> store,
                                             std::string &error) {
  auto fn = module.lookupSymbol<func::FuncOp>("forward");
  if (!fn || fn.getBody().getBlocks().size() != 1 || fn.getNumArguments() < 2) {
    error = "calibration needs the transformer-level 'forward' function (ids, past, caches...)";
    return nullptr;
  }
  std::unique_ptr<Evaluator> e(new Evaluator());
  e->impl_ = std::make_unique<Impl>();
  Impl &m = *e->impl_;
  m.fn = fn;
  m.store = std::move(store);
  for (Operation &op : fn.getBody().front()) {
    if (!isa<WeightOp, PositionIdsOp, EmbeddingOp, LayerNormOp, CenterOp, LinearOp, GeluOp, AddOp,
             AttentionOp, LMHeadOp, func::ReturnOp>(op)) {
      error = "calibration cannot evaluate '" + op.getName().getStringRef().str() + "'";
      if (auto o = dyn_cast<OnnxOp>(op)) error += " (ONNX node '" + o.getOpType().str() + "' was not raised)";
      return nullptr;
    }
    m.index[&op] = m.ops.size();
    m.ops.push_back(&op);
  }
  m.dies.resize(m.ops.size());
  for (Operation *op : m.ops)
    for (Value r : op->getResults()) {
      size_t last = m.index[op];
      for (Operation *u : r.getUsers()) last = std::max(last, m.index[u]);
      m.dies[last].push_back(r);
    }
  return e;
}

bool Evaluator::run(const std::vector<int64_t> &ids, const Observer &observe, double *nll, int64_t *count,
                    std::string &error, Operation *stopAfter) {
  Impl &m = *impl_;
  const int64_t S = static_cast<int64_t>(ids.size());
  if (S < 1) {
    error = "empty calibration window";
    return false;
  }
  Value idsArg = m.fn.getArgument(0);
  std::unordered_map<void *, std::vector<float>> acts; // Value impl -> rows x cols
  std::unordered_map<void *, std::vector<int64_t>> idv;
  std::unordered_map<void *, Cache> caches;
  idv[idsArg.getAsOpaquePointer()] = ids;
  auto act = [&](Value v) -> std::vector<float> & { return acts[v.getAsOpaquePointer()]; };
  auto out = [&](Value v, int64_t cols) -> float * {
    std::vector<float> &o = act(v);
    o.assign(static_cast<size_t>(S * cols), 0.0f);
    return o.data();
  };
  auto fail = [&](Operation *op, const std::string &msg) {
    error = op->getName().getStringRef().str() + ": " + msg;
    return false;
  };

  for (Operation *op : m.ops) {
    std::string werr;
    if (isa<WeightOp, func::ReturnOp>(op)) {
      // nothing to compute
    } else if (auto p = dyn_cast<PositionIdsOp>(op)) {
      std::vector<int64_t> &pos = idv[p.getResult().getAsOpaquePointer()];
      pos.resize(S);
      for (int64_t s = 0; s < S; ++s) pos[s] = s;
    } else if (auto e = dyn_cast<EmbeddingOp>(op)) {
      auto t = cast<RankedTensorType>(e.getTable().getType());
      int64_t V = t.getDimSize(0), D = t.getDimSize(1);
      const float *table = m.f32(e.getTable(), V * D, werr);
      if (!table) return fail(op, werr);
      auto it = idv.find(e.getIds().getAsOpaquePointer());
      if (it == idv.end()) return fail(op, "ids are not the forward's ids or positions");
      for (int64_t id : it->second)
        if (id < 0 || id >= V) return fail(op, "id " + std::to_string(id) + " outside the table");
      lithe_embedding(table, D, it->second.data(), S, out(e.getResult(), D));
    } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
      int64_t D = lastDim(ln.getInput());
      const float *g = ln.getScale() ? m.f32(ln.getScale(), D, werr) : nullptr;
      const float *b = ln.getBias() ? m.f32(ln.getBias(), D, werr) : nullptr;
      if (!werr.empty()) return fail(op, werr);
      lithe_layer_norm(act(ln.getInput()).data(), S, D, g, b, ln.getEpsilon().convertToFloat(),
                       out(ln.getResult(), D));
    } else if (auto c = dyn_cast<CenterOp>(op)) {
      int64_t D = lastDim(c.getInput());
      const float *g = c.getScale() ? m.f32(c.getScale(), D, werr) : nullptr;
      const float *b = c.getBias() ? m.f32(c.getBias(), D, werr) : nullptr;
      if (!werr.empty()) return fail(op, werr);
      float *y = out(c.getResult(), D);
      lithe_center(act(c.getInput()).data(), S, D, y);
      for (int64_t r = 0; r < S; ++r)
        for (int64_t d = 0; d < D; ++d) y[r * D + d] = y[r * D + d] * (g ? g[d] : 1.0f) + (b ? b[d] : 0.0f);
    } else if (auto lin = dyn_cast<LinearOp>(op)) {
      auto t = cast<RankedTensorType>(lin.getWeight().getType());
      int64_t K = t.getDimSize(0), N = t.getDimSize(1);
      const void *w = m.packedWeight(lin, werr);
      const float *b = lin.getBias() ? m.f32(lin.getBias(), N, werr) : nullptr;
      if (!w || !werr.empty()) return fail(op, werr);
      float *y = out(lin.getResult(), N);
      if (lin.getWeightScale())
        lithe_linear_q8(act(lin.getInput()).data(), S, K, w, N, b, y, LITHE_EPI_NONE);
      else
        lithe_linear(act(lin.getInput()).data(), S, K, w, N, b, y, LITHE_EPI_NONE);
    } else if (auto g = dyn_cast<GeluOp>(op)) {
      int64_t D = lastDim(g.getInput());
      lithe_gelu(act(g.getInput()).data(), S * D, out(g.getResult(), D),
                 g.getApproximation() == GeluApproximation::tanh);
    } else if (auto a = dyn_cast<AddOp>(op)) {
      int64_t D = lastDim(a.getResult());
      lithe_add(act(a.getLhs()).data(), act(a.getRhs()).data(), S * D, out(a.getResult(), D));
    } else if (auto at = dyn_cast<AttentionOp>(op)) {
      int64_t H = at.getNumHeads(), hd = at.getHeadDim();
      Cache &c = caches[at.getCache().getAsOpaquePointer()];
      if (at.writesCache()) {
        c.heads = H, c.headDim = hd, c.capacity = S;
        c.k.assign(static_cast<size_t>(H * S * hd), 0.0f);
        c.v.assign(c.k.size(), 0.0f);
        lithe_kv_append(c.k.data(), c.v.data(), H, hd, S, 0, act(at.getKey()).data(), act(at.getValue()).data(), S);
      } else if (c.heads != H || c.headDim != hd) {
        return fail(op, "reads a KV cache no earlier layer of the same shape filled");
      }
      lithe_attention(act(at.getQuery()).data(), S, c.k.data(), c.v.data(), H, hd, S, 0,
                      static_cast<float>(at.getScale().convertToDouble()), at.getCausal() ? 1 : 0,
                      out(at.getResult(), H * hd));
    } else if (auto h = dyn_cast<LMHeadOp>(op)) {
      if (!nll) continue;
      auto t = cast<RankedTensorType>(h.getTable().getType());
      int64_t V = t.getDimSize(0), D = t.getDimSize(1);
      float *y = out(h.getResult(), V);
      const float *x = act(h.getInput()).data();
      if (h.getTableScale()) {
        const int8_t *q = m.i8(h.getTable(), V * D, werr);
        const float *scale = m.f32(h.getTableScale(), V, werr);
        if (!q || !scale) return fail(op, werr);
        lithe_lm_head_q8(x, S, D, q, scale, V, y);
      } else {
        const float *table = m.f32(h.getTable(), V * D, werr);
        if (!table) return fail(op, werr);
        lithe_lm_head(x, S, D, table, V, y);
      }
      if (h.getBias()) {
        const float *b = m.f32(h.getBias(), V, werr);
        if (!b) return fail(op, werr);
        for (int64_t r = 0; r < S; ++r)
          for (int64_t v = 0; v < V; ++v) y[r * V + v] += b[v];
      }
      if (observe) observe(op, y, S, V);
      // -log softmax(row)[target], the softmax by the (vectorized) kernel;
      // a probability too small for f32 is recomputed in double.
      std::vector<float> row(static_cast<size_t>(V));
      for (int64_t r = 0; r + 1 < S; ++r) {
        int64_t target = ids[r + 1];
        if (target < 0 || target >= V) return fail(op, "token id outside the vocabulary");
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
    }
    if (op->getNumResults() == 1 && !isa<LMHeadOp>(op)) {
      auto it = acts.find(op->getResult(0).getAsOpaquePointer());
      if (observe && it != acts.end()) observe(op, it->second.data(), S, lastDim(op->getResult(0)));
    }
    if (op == stopAfter) return true;
    for (Value v : m.dies[m.index[op]]) {
      acts.erase(v.getAsOpaquePointer());
      idv.erase(v.getAsOpaquePointer());
    }
  }
  if (nll && !*count && S > 1) {
    error = "the module has no lithe.lm_head";
    return false;
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
