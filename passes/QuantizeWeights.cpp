//===- QuantizeWeights.cpp - lithe-quantize-weights -----------------------===//
//
// int8 weight-only, symmetric, per output channel: linear W[K, N] gets one
// scale per column n, the LM head's table T[V, D] one per row v; a token
// embedding tied to an int8 head reads the head's int8 table, any other one
// an int8 copy of its own table (per row).
// int4 (bits=4): linear W[K, N] gets one scale per (group of `group` rows
// k, column n), values in [-8, 7]; the LM head stays int8 unless
// lm-head-bits=4 (then a tied embedding gets its own int8 copy).
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"
#include "lithe/Dialect.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"
#include "lithe/WeightStore.h"
#include "lithe/runtime/kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace lithe {
#define GEN_PASS_DEF_LITHEQUANTIZEWEIGHTS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

/// Quantizes `n` groups of `len` values; element i of group g is at
/// data[g * groupStride + i * elemStride].
void quantize(const float *data, int64_t groups, int64_t len, int64_t groupStride,
              int64_t elemStride, std::vector<uint8_t> &q, std::vector<float> &scale) {
  scale.assign(groups, 1.0f);
  for (int64_t g = 0; g < groups; ++g) {
    float m = 0;
    for (int64_t i = 0; i < len; ++i) m = std::max(m, std::fabs(data[g * groupStride + i * elemStride]));
    float s = m > 0 ? m / 127.0f : 1.0f;
    scale[g] = s;
    for (int64_t i = 0; i < len; ++i) {
      int64_t at = g * groupStride + i * elemStride;
      long v = std::lround(data[at] / s);
      q[at] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp<long>(v, -127, 127)));
    }
  }
}

inline int8_t q4(float w, float s) { return static_cast<int8_t>(std::clamp<long>(std::lround(w / s), -8, 7)); }

/// int4 of W [K, N] in groups of G rows, q in [-8, 7]. Round to nearest:
/// scale[g][n] = max |W| / 7 over the group (1 for an all-zero one). With
/// `h` (method=awq: E[x_k^2] of row k's input on the calibration text), the
/// range is also shrunk by the ratios of kClip (clipping the largest
/// weights), keeping the one with the least sum_k h_k (W - q s)^2 per group
/// and column.
constexpr float kClip[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f};
void quantizeQ4(const float *W, int64_t K, int64_t N, int64_t G, const float *h, std::vector<uint8_t> &q,
                std::vector<float> &scale) {
  q.assign(K * N, 0);
  scale.assign(K / G * N, 1.0f);
  for (int64_t g = 0; g < K / G; ++g)
    for (int64_t n = 0; n < N; ++n) {
      float m = 0;
      for (int64_t k = g * G; k < (g + 1) * G; ++k) m = std::max(m, std::fabs(W[k * N + n]));
      float s = m > 0 ? m / 7.0f : 1.0f;
      if (h && m > 0) {
        double best = -1;
        for (float r : kClip) {
          float c = m * r / 7.0f;
          double err = 0;
          for (int64_t k = g * G; k < (g + 1) * G; ++k) {
            double d = W[k * N + n] - q4(W[k * N + n], c) * c;
            err += h[k] * d * d;
          }
          if (best < 0 || err < best) best = err, s = c;
        }
      }
      scale[g * N + n] = s;
      for (int64_t k = g * G; k < (g + 1) * G; ++k)
        q[k * N + n] = static_cast<uint8_t>(q4(W[k * N + n], s));
    }
}

/// A linear's calibrated int4 (method=awq): its weight's rows are scaled by
/// `s` before quantizing (the input divided by s where it is made), `h` the
/// rows' importance for clipping (E[(x_k / s_k)^2]).
struct AwqChoice {
  std::vector<float> s, h;
};

/// The calibration inputs of the linears read by one op's result: the
/// first kAwqRows rows kept, per-channel mean |x| and mean x^2 over all.
constexpr int64_t kAwqRows = 256;
struct Inputs {
  int64_t cols = 0, rows = 0, kept = 0;
  std::vector<float> x;
  std::vector<double> absSum, sqSum;
};

/// sum over the kept rows of |X (W - W_eff)|^2 with W_eff = diag(1/s) .
/// dequant(q4(diag(s) W)), computed with the runtime's f32 linear kernel.
double awqLoss(const Inputs &in, const float *W, int64_t K, int64_t N, int64_t G, const std::vector<float> &s,
               const std::vector<float> &h) {
  std::vector<float> ws(K * N), scale, diff(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) ws[k * N + n] = W[k * N + n] * s[k];
  std::vector<uint8_t> q;
  quantizeQ4(ws.data(), K, N, G, h.data(), q, scale);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      diff[k * N + n] = W[k * N + n] - static_cast<int8_t>(q[k * N + n]) * scale[(k / G) * N + n] / s[k];
  std::vector<uint8_t> packed(lithe_pack_linear_size(K, N) + 64);
  void *p = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
  lithe_pack_linear(diff.data(), K, N, p);
  std::vector<float> e(in.kept * N);
  lithe_linear(in.x.data(), in.kept, K, p, N, nullptr, e.data(), LITHE_EPI_NONE);
  double loss = 0;
  for (float v : e) loss += static_cast<double>(v) * v;
  return loss;
}

struct QuantizeWeightsPass : impl::LitheQuantizeWeightsBase<QuantizeWeightsPass> {
  using LitheQuantizeWeightsBase::LitheQuantizeWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (bits != 8 && bits != 4) {
      module.emitError() << "lithe-quantize-weights: bits must be 8 or 4, got " << static_cast<int64_t>(bits);
      return signalPassFailure();
    }
    if (lmHeadBits != 8 && lmHeadBits != 4) {
      module.emitError() << "lithe-quantize-weights: lm-head-bits must be 8 or 4, got "
                         << static_cast<int64_t>(lmHeadBits);
      return signalPassFailure();
    }
    if ((bits == 4 || lmHeadBits == 4) && (group <= 0 || group % 4 != 0)) {
      module.emitError() << "lithe-quantize-weights: group must be a positive multiple of 4, got " << static_cast<int64_t>(group);
      return signalPassFailure();
    }
    if (method != "rtn" && method != "awq") {
      module.emitError() << "lithe-quantize-weights: method must be rtn or awq, got '" << method << "'";
      return signalPassFailure();
    }
    if (method == "awq" && (bits != 4 || calibration.empty())) {
      module.emitError() << "lithe-quantize-weights: method=awq needs bits=4 and a calibration text (calibration=FILE)";
      return signalPassFailure();
    }
    std::string error;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    if (!store) {
      module.emitError() << "lithe-quantize-weights: " << error;
      return signalPassFailure();
    }
    if (method == "awq" && failed(calibrate(module, store))) return signalPassFailure();
    bool ok = true;
    module.walk([&](Operation *op) {
      if (!ok) return;
      if (auto lin = dyn_cast<LinearOp>(op)) {
        if (!lin.getWeightScale()) ok = succeeded(quantizeLinear(lin, *store));
      } else if (auto head = dyn_cast<LMHeadOp>(op)) {
        if (lmHead && !head.getTableScale()) ok = succeeded(quantizeHead(head, *store));
      }
    });
    // Token embeddings still on an f32 table (one the head no longer shares:
    // lithe-fold-layernorm gave the head its own scaled copy, or the model
    // never tied them) gather from an int8 copy of it, per row.
    if (ok && embedding && lmHead) {
      std::map<std::string, std::pair<WeightRef, WeightRef>> copies; // by f32 table name
      module.walk([&](EmbeddingOp e) {
        if (ok && !e.getTableScale() && !e.getIds().getDefiningOp<PositionIdsOp>())
          ok = succeeded(quantizeEmbedding(e, *store, copies));
      });
    }
    if (!ok) signalPassFailure();
  }

  struct WeightRef {
    std::string name;
    Type type;
  };

  LogicalResult quantizeEmbedding(EmbeddingOp e, WeightStore &store,
                                  std::map<std::string, std::pair<WeightRef, WeightRef>> &copies) {
    auto w = e.getTable().getDefiningOp<WeightOp>();
    auto tt = cast<RankedTensorType>(e.getTable().getType());
    if (!w || tt.getRank() != 2 || !tt.getElementType().isF32()) return success();
    const std::string name = w.getName().str();
    auto it = copies.find(name);
    if (it == copies.end()) {
      const int64_t V = tt.getDimSize(0), D = tt.getDimSize(1);
      const float *T = values(e, e.getTable(), V * D, store);
      if (!T) return failure();
      std::vector<uint8_t> q(V * D);
      std::vector<float> scale;
      quantize(T, V, D, /*groupStride=*/D, /*elemStride=*/1, q, scale); // per row
      auto [qv, sv] = put(e, store, name, {V, D}, std::move(q), scale);
      auto qw = qv.getDefiningOp<WeightOp>(), sw = sv.getDefiningOp<WeightOp>();
      it = copies.emplace(name, std::make_pair(WeightRef{qw.getName().str(), qv.getType()},
                                               WeightRef{sw.getName().str(), sv.getType()})).first;
      qw.erase(), sw.erase(); // made again below, as for every embedding of this table
    }
    OpBuilder b(e);
    const auto &[qr, sr] = it->second;
    e.getTableMutable().assign(b.create<WeightOp>(e.getLoc(), qr.type, qr.name));
    e.getTableScaleMutable().assign(b.create<WeightOp>(e.getLoc(), sr.type, sr.name));
    if (w->use_empty()) w.erase();
    return success();
  }

  std::map<Operation *, AwqChoice> awq; // per linear (and int4 LM head), method=awq

  /// An LM head this pass makes int4 (lm-head-bits=4, f32 table [V, D]).
  bool headEligible(LMHeadOp head) {
    auto tt = cast<RankedTensorType>(head.getTable().getType());
    return lmHeadBits == 4 && lmHead && !head.getTableScale() && tt.getElementType().isF32() &&
           tt.getDimSize(1) % group == 0 && head.getTable().getDefiningOp<WeightOp>();
  }

  /// A linear this pass makes int4 (f32 weight [K, N], K a multiple of group).
  bool eligible(LinearOp lin) {
    auto wt = cast<RankedTensorType>(lin.getWeight().getType());
    return !lin.getWeightScale() && wt.getElementType().isF32() && wt.getDimSize(0) % group == 0 &&
           lin.getWeight().getDefiningOp<WeightOp>();
  }

  /// method=awq: runs the f32 model on the calibration text, keeping each
  /// linear's inputs; then per LayerNorm (or center) whose result only
  /// linears read, picks the per-input-channel scale s = a^alpha (a: mean
  /// |x| per channel, alpha on a grid, alpha = 0 being round to nearest)
  /// with the least output error of those linears on the kept rows, and
  /// folds 1/s into the norm's scale and bias (exact); every linear's
  /// groups are clipped by their activation-weighted error.
  LogicalResult calibrate(ModuleOp module, std::shared_ptr<WeightStore> store) {
    std::string error;
    CalibrationData data;
    if (!loadCalibration(module, LITHE_PASS_CALIBRATION_OPTIONS(), data, error)) {
      module.emitError() << "lithe-quantize-weights: calibration: " << error;
      return failure();
    }
    std::map<Operation *, Inputs> inputs; // by the op whose result linears read
    std::vector<LinearOp> linears;
    module.walk([&](LinearOp lin) {
      if (!eligible(lin)) return;
      Operation *producer = lin.getInput().getDefiningOp();
      if (!producer) return;
      linears.push_back(lin);
      inputs[producer].cols = cast<RankedTensorType>(lin.getInput().getType()).getShape().back();
    });
    module.walk([&](LMHeadOp head) { // an int4 head is a [width, vocab] linear over table^T
      if (Operation *producer = head.getInput().getDefiningOp(); producer && headEligible(head))
        inputs[producer].cols = cast<RankedTensorType>(head.getTable().getType()).getDimSize(1);
    });
    std::unique_ptr<Evaluator> eval = Evaluator::create(module, store, error);
    if (!eval) {
      module.emitError() << "lithe-quantize-weights: calibration: " << error;
      return failure();
    }
    Observer observe = [&](Operation *op, float *x, int64_t rows, int64_t cols) {
      auto it = inputs.find(op);
      if (it == inputs.end() || cols != it->second.cols) return;
      Inputs &in = it->second;
      in.absSum.resize(cols, 0.0), in.sqSum.resize(cols, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float *row = x + r * cols;
        for (int64_t c = 0; c < cols; ++c) in.absSum[c] += std::fabs(row[c]), in.sqSum[c] += double(row[c]) * row[c];
        if (in.kept < kAwqRows) in.x.insert(in.x.end(), row, row + cols), ++in.kept;
      }
      in.rows += rows;
    };
    for (const auto &w : data.windows)
      if (!eval->run(w, observe, nullptr, nullptr, error)) {
        module.emitError() << "lithe-quantize-weights: calibration: " << error;
        return failure();
      }
    eval.reset();
    int64_t scaled = 0;
    double alphaSum = 0;
    for (auto &[producer, in] : inputs) {
      if (in.rows == 0) {
        producer->emitError() << "lithe-quantize-weights: calibration saw no rows of this op";
        return failure();
      }
      const int64_t K = in.cols;
      std::vector<float> a(K), m2(K);
      for (int64_t k = 0; k < K; ++k) {
        a[k] = static_cast<float>(std::max(in.absSum[k] / in.rows, 1e-6));
        m2[k] = static_cast<float>(in.sqSum[k] / in.rows);
      }
      // The linears reading it; a scale is folded only into a norm that
      // nothing else reads.
      std::vector<Operation *> readers;
      bool foldable = isa<LayerNormOp, CenterOp>(producer) ||
                      (isa<AttentionOp>(producer) && valueFoldable(cast<AttentionOp>(producer)));
      for (Operation *u : producer->getResult(0).getUsers()) {
        auto lin = dyn_cast<LinearOp>(u);
        auto head = dyn_cast<LMHeadOp>(u);
        if (lin && lin.getInput() == producer->getResult(0) && eligible(lin)) readers.push_back(lin);
        else if (head && head.getInput() == producer->getResult(0) && headEligible(head)) readers.push_back(head);
        else foldable = false;
      }
      std::vector<float> best(K, 1.0f);
      if (foldable) {
        std::vector<const float *> Ws;
        std::vector<int64_t> Ns;
        std::vector<std::vector<float>> transposed; // LM-head tables as [width, vocab]
        transposed.reserve(readers.size());
        for (Operation *r : readers) {
          if (auto lin = dyn_cast<LinearOp>(r)) {
            int64_t N = cast<RankedTensorType>(lin.getWeight().getType()).getDimSize(1);
            const float *W = values(lin, lin.getWeight(), K * N, *store);
            if (!W) return failure();
            Ws.push_back(W), Ns.push_back(N);
          } else {
            auto head = cast<LMHeadOp>(r);
            int64_t V = cast<RankedTensorType>(head.getTable().getType()).getDimSize(0);
            const float *T = values(head, head.getTable(), V * K, *store);
            if (!T) return failure();
            std::vector<float> &t = transposed.emplace_back(V * K);
            for (int64_t v = 0; v < V; ++v)
              for (int64_t k = 0; k < K; ++k) t[k * V + v] = T[v * K + k];
            Ws.push_back(t.data()), Ns.push_back(V);
          }
        }
        double bestLoss = -1, bestAlpha = 0;
        for (int step = 0; step <= 10; ++step) {
          double alpha = step / 10.0;
          std::vector<float> s(K), h(K);
          float lo = 1e30f, hi = 0;
          for (int64_t k = 0; k < K; ++k) {
            s[k] = static_cast<float>(std::pow(a[k], alpha));
            lo = std::min(lo, s[k]), hi = std::max(hi, s[k]);
          }
          const float norm = std::sqrt(lo * hi); // centred around 1 (as AWQ does)
          for (int64_t k = 0; k < K; ++k) s[k] /= norm, h[k] = m2[k] / (s[k] * s[k]);
          double loss = 0;
          for (size_t i = 0; i < readers.size(); ++i) loss += awqLoss(in, Ws[i], K, Ns[i], group, s, h);
          if (bestLoss < 0 || loss < bestLoss) bestLoss = loss, bestAlpha = alpha, best = s;
        }
        if (bestAlpha > 0) {
          auto attn = dyn_cast<AttentionOp>(producer);
          if (failed(attn ? foldIntoValue(attn, best, *store) : foldIntoNorm(producer, best, *store)))
            return failure();
        }
        ++scaled;
        alphaSum += bestAlpha;
      }
      for (Operation *r : readers) {
        AwqChoice &c = awq[r];
        c.s = foldable ? best : std::vector<float>(K, 1.0f);
        c.h.resize(K);
        for (int64_t k = 0; k < K; ++k) c.h[k] = m2[k] / (c.s[k] * c.s[k]);
      }
    }
    llvm::errs() << "lithe-quantize-weights: awq on " << data.tokens() << " calibration tokens: "
                 << scaled << " norms and attention outputs scaled for the linears they feed (mean alpha "
                 << (scaled ? alphaSum / scaled : 0.0) << "), " << awq.size() << " linears (or heads) clipped\n";
    return success();
  }

  /// The norm's output divided by s: scale' = scale / s (1 / s without
  /// one), bias' = bias / s.
  LogicalResult foldIntoNorm(Operation *norm, const std::vector<float> &s, WeightStore &store) {
    const int64_t D = static_cast<int64_t>(s.size());
    Value scale, bias;
    if (auto ln = dyn_cast<LayerNormOp>(norm)) scale = ln.getScale(), bias = ln.getBias();
    else if (auto c = dyn_cast<CenterOp>(norm)) scale = c.getScale(), bias = c.getBias();
    OpBuilder b(norm);
    auto make = [&](Value old, const std::string &fallback, float base) -> FailureOr<Value> {
      std::vector<float> v(D, base);
      std::string name = fallback;
      if (old) {
        auto w = old.getDefiningOp<WeightOp>();
        std::string error = "operand is not a lithe.weight";
        const float *p = w ? store.getF32(w.getName().str(), D, error) : nullptr;
        if (!p) return norm->emitError() << "lithe-quantize-weights: " << error;
        v.assign(p, p + D);
        name = w.getName().str() + ".awq";
      }
      for (int64_t d = 0; d < D; ++d) v[d] /= s[d];
      return Value(b.create<WeightOp>(norm->getLoc(), RankedTensorType::get({D}, b.getF32Type()),
                                      store.putF32(name, {D}, v)));
    };
    FailureOr<Value> ns = make(scale, "awq.scale", 1.0f);
    if (failed(ns)) return failure();
    FailureOr<Value> nb = bias ? make(bias, "", 0.0f) : FailureOr<Value>(Value());
    if (failed(nb)) return failure();
    if (auto ln = dyn_cast<LayerNormOp>(norm)) {
      ln.getScaleMutable().assign(*ns);
      if (*nb) ln.getBiasMutable().assign(*nb);
    } else if (auto c = dyn_cast<CenterOp>(norm)) {
      c.getScaleMutable().assign(*ns);
      if (*nb) c.getBiasMutable().assign(*nb);
    }
    return success();
  }

  /// An attention whose output may be divided per channel through its value
  /// linear: it appends its own keys and values to a cache no other layer
  /// reads (no KV sharing), and its values come from an f32 linear read by
  /// this attention only.
  static bool valueFoldable(AttentionOp attn) {
    if (!attn.writesCache()) return false;
    auto v = attn.getValue().getDefiningOp<LinearOp>();
    if (!v || !v.getResult().hasOneUse() || v.getWeightScale() || !v.getWeight().getDefiningOp<WeightOp>() ||
        !cast<RankedTensorType>(v.getWeight().getType()).getElementType().isF32())
      return false;
    if (v.getBias() && !v.getBias().getDefiningOp<WeightOp>()) return false;
    for (Operation *u : attn.getCache().getUsers())
      if (u != attn.getOperation()) return false;
    return true;
  }

  /// The attention's output divided by s (per channel): its value linear's
  /// output columns and bias divided by s. Attention's output is a convex
  /// combination of value rows, so this is exact (in f32).
  LogicalResult foldIntoValue(AttentionOp attn, const std::vector<float> &s, WeightStore &store) {
    auto v = attn.getValue().getDefiningOp<LinearOp>();
    auto wt = cast<RankedTensorType>(v.getWeight().getType());
    const int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
    if (N != static_cast<int64_t>(s.size()))
      return attn.emitError() << "lithe-quantize-weights: the value linear's width is not the attention's";
    const float *W = values(v, v.getWeight(), K * N, store);
    if (!W) return failure();
    std::vector<float> w(W, W + K * N);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) w[k * N + n] /= s[n];
    OpBuilder b(v);
    const std::string wname = v.getWeight().getDefiningOp<WeightOp>().getName().str();
    v.getWeightMutable().assign(b.create<WeightOp>(v.getLoc(), wt, store.putF32(wname + ".awqv", {K, N}, w)));
    if (Value bias = v.getBias()) {
      const float *B = values(v, bias, N, store);
      if (!B) return failure();
      std::vector<float> nb(B, B + N);
      for (int64_t n = 0; n < N; ++n) nb[n] /= s[n];
      const std::string bname = bias.getDefiningOp<WeightOp>().getName().str();
      v.getBiasMutable().assign(
          b.create<WeightOp>(v.getLoc(), bias.getType(), store.putF32(bname + ".awqv", {N}, nb)));
    }
    return success();
  }

  const float *values(Operation *op, Value v, int64_t n, const WeightStore &store) {
    auto w = v.getDefiningOp<WeightOp>();
    std::string error = "operand is not a lithe.weight";
    const float *p = w ? store.getF32(w.getName().str(), n, error) : nullptr;
    if (!p) op->emitError() << "lithe-quantize-weights: " << error;
    return p;
  }

  /// New int8 and scale weight ops before `at`.
  /// New int8 (or int4, stored one value per byte) and scale weight ops
  /// before `at`; the scales' shape is `scaleShape` (default: a vector).
  std::pair<Value, Value> put(Operation *at, WeightStore &store, const std::string &base,
                              std::vector<int64_t> shape, std::vector<uint8_t> q,
                              const std::vector<float> &scale, int64_t qbits = 8,
                              std::vector<int64_t> scaleShape = {}) {
    if (scaleShape.empty()) scaleShape = {static_cast<int64_t>(scale.size())};
    std::string tag = qbits == 4 ? ".q4" : ".q8";
    std::string qn = store.put(base + tag, DType::I8, shape, std::move(q));
    std::string sn = store.putF32(base + tag + "scale", scaleShape, scale);
    OpBuilder b(at);
    Value qv = b.create<WeightOp>(at->getLoc(), RankedTensorType::get(shape, b.getIntegerType(qbits)), qn);
    Value sv = b.create<WeightOp>(at->getLoc(), RankedTensorType::get(scaleShape, b.getF32Type()), sn);
    return {qv, sv};
  }

  LogicalResult quantizeLinear(LinearOp lin, WeightStore &store) {
    auto wt = cast<RankedTensorType>(lin.getWeight().getType());
    if (!wt.getElementType().isF32()) return success();
    int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
    const float *W = values(lin, lin.getWeight(), K * N, store);
    if (!W) return failure();
    std::string name = lin.getWeight().getDefiningOp<WeightOp>().getName().str();
    std::vector<uint8_t> q(K * N);
    std::vector<float> scale;
    if (bits == 4) {
      if (K % group != 0)
        return lin.emitError() << "lithe-quantize-weights: group " << static_cast<int64_t>(group) << " does not divide the " << K
                               << " inputs of linear weight '" << name << "'";
      auto it = awq.find(lin);
      if (it == awq.end()) {
        quantizeQ4(W, K, N, group, nullptr, q, scale);
      } else { // rows scaled by s (the input divided by s where it is made)
        std::vector<float> ws(W, W + K * N);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t n = 0; n < N; ++n) ws[k * N + n] *= it->second.s[k];
        quantizeQ4(ws.data(), K, N, group, it->second.h.data(), q, scale);
      }
      auto [qv, sv] = put(lin, store, name, {K, N}, std::move(q), scale, 4, {K / group, N});
      lin.getWeightMutable().assign(qv);
      lin.getWeightScaleMutable().assign(sv);
      return success();
    }
    quantize(W, N, K, /*groupStride=*/1, /*elemStride=*/N, q, scale); // per column
    auto [qv, sv] = put(lin, store, name, {K, N}, std::move(q), scale);
    lin.getWeightMutable().assign(qv);
    lin.getWeightScaleMutable().assign(sv);
    return success();
  }

  LogicalResult quantizeHead(LMHeadOp head, WeightStore &store) {
    auto tt = cast<RankedTensorType>(head.getTable().getType());
    if (!tt.getElementType().isF32()) return success();
    int64_t V = tt.getDimSize(0), D = tt.getDimSize(1);
    const float *T = values(head, head.getTable(), V * D, store);
    if (!T) return failure();
    std::vector<uint8_t> q(V * D);
    std::vector<float> scale;
    std::string name = head.getTable().getDefiningOp<WeightOp>().getName().str();
    if (lmHeadBits == 4) { // round to nearest per row and group of columns
      if (D % group != 0)
        return head.emitError() << "lithe-quantize-weights: group " << static_cast<int64_t>(group)
                                << " does not divide the LM head's width " << D;
      const int64_t ng = D / group;
      scale.assign(V * ng, 1.0f);
      if (auto it = awq.find(head); it != awq.end()) {
        // method=awq: columns scaled by s (the input divided by s where it
        // is made), clipped by E[x^2]: quantizeQ4 over the [D, V] transpose
        std::vector<float> t(V * D), ts;
        for (int64_t v = 0; v < V; ++v)
          for (int64_t d = 0; d < D; ++d) t[d * V + v] = T[v * D + d] * it->second.s[d];
        std::vector<uint8_t> qt;
        quantizeQ4(t.data(), D, V, group, it->second.h.data(), qt, ts);
        for (int64_t v = 0; v < V; ++v) {
          for (int64_t d = 0; d < D; ++d) q[v * D + d] = qt[d * V + v];
          for (int64_t g = 0; g < ng; ++g) scale[v * ng + g] = ts[g * V + v];
        }
      } else {
        for (int64_t v = 0; v < V; ++v)
          for (int64_t g = 0; g < ng; ++g) {
            const float *row = T + v * D + g * group;
            float m = 0;
            for (int64_t i = 0; i < group; ++i) m = std::max(m, std::fabs(row[i]));
            const float sc = m > 0 ? m / 7.0f : 1.0f;
            scale[v * ng + g] = sc;
            for (int64_t i = 0; i < group; ++i) q[v * D + g * group + i] = static_cast<uint8_t>(q4(row[i], sc));
          }
      }
      auto [qv, sv] = put(head, store, name, {V, D}, std::move(q), scale, 4, {V, ng});
      head.getTableMutable().assign(qv);
      head.getTableScaleMutable().assign(sv);
      if (embedding) {
        // The tied embedding gathers from an int8 copy (per row, as the int8
        // head's): a quarter of the f32 table it would otherwise keep.
        std::vector<uint8_t> q8(V * D);
        std::vector<float> s8;
        quantize(T, V, D, /*groupStride=*/D, /*elemStride=*/1, q8, s8);
        auto [ev, es] = put(head, store, name, {V, D}, std::move(q8), s8);
        tieEmbeddings(head, name, ev, es);
        for (Value v : {ev, es})
          if (v.use_empty()) v.getDefiningOp()->erase();
      }
      return success();
    }
    quantize(T, V, D, /*groupStride=*/D, /*elemStride=*/1, q, scale); // per row
    auto [qv, sv] = put(head, store, name, {V, D}, std::move(q), scale);
    head.getTableMutable().assign(qv);
    head.getTableScaleMutable().assign(sv);
    if (embedding) tieEmbeddings(head, name, qv, sv);
    return success();
  }

  /// Token embeddings reading the head's f32 table (a tied GPT-2 head) read
  /// its int8 copy instead, so the f32 table is no longer needed.
  void tieEmbeddings(LMHeadOp head, StringRef f32Name, Value qv, Value sv) {
    auto table = qv.getDefiningOp<WeightOp>(), scale = sv.getDefiningOp<WeightOp>();
    head->getParentOp()->walk([&](EmbeddingOp e) {
      auto w = e.getTable().getDefiningOp<WeightOp>();
      if (!w || e.getTableScale() || e.getIds().getDefiningOp<PositionIdsOp>() || w.getName() != f32Name)
        return;
      OpBuilder b(e);
      Value t = b.create<WeightOp>(e.getLoc(), table.getType(), table.getName());
      Value s = b.create<WeightOp>(e.getLoc(), scale.getType(), scale.getName());
      e.getTableMutable().assign(t);
      e.getTableScaleMutable().assign(s);
      if (w->use_empty()) w.erase();
    });
  }
};

} // namespace
} // namespace lithe
