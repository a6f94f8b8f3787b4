//===- DropLayers.cpp - lithe-drop-layers ---------------------------------===//
//
// A GPT-2 block maps its residual input h to
//   m = h + proj(attn(ln1(h)));  out = m + mlp(ln2(m)).
// Dropping it replaces `out` by `h`; what only the block used dies.
//
// By similarity: with a calibration text, the residual stream entering each
// block and leaving the last one is recorded, and the blocks whose output is
// most like their input go (Block Influence, or the angular distance across
// a run of blocks).
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"
#include "Calibrate.h"
#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace lithe {
#define GEN_PASS_DEF_LITHEDROPLAYERS
#include "passes/Passes.h.inc"

namespace {
using namespace mlir;

/// The residual add among `v`'s users (other than `not_`), or null.
AddOp residualUser(Value v, Operation *not_ = nullptr) {
  for (Operation *u : v.getUsers())
    if (auto add = dyn_cast<AddOp>(u); add && u != not_) return add;
  return AddOp();
}

/// Follows single-use linear/attention/norm/gelu chains from `v` to the
/// residual add it ends in.
AddOp blockAdd(Value v) {
  for (int guard = 0; guard < 16; ++guard) {
    if (auto add = residualUser(v)) return add;
    if (!v.hasOneUse()) return AddOp();
    Operation *u = *v.getUsers().begin();
    if (!isa<LinearOp, GeluOp>(u)) return AddOp();
    v = u->getResult(0);
  }
  return AddOp();
}

struct DropLayersPass : impl::LitheDropLayersBase<DropLayersPass> {
  using LitheDropLayersBase::LitheDropLayersBase;

  /// metric=loss: skips each block alone (its output replaced by its input)
  /// and drops those whose absence raises the calibration loss least.
  LogicalResult chooseByLoss(ModuleOp module, int64_t L, const std::vector<Value> &stream, Evaluator &eval,
                             const CalibrationData &data, std::set<int64_t> &drop) {
    std::string error;
    double base = 0;
    std::vector<std::pair<double, int64_t>> cost;
    if (!lossRiseBySkipping(eval, data, stream, base, cost, error)) {
      module.emitError() << "lithe-drop-layers: calibration: " << error;
      return failure();
    }
    std::stable_sort(cost.begin(), cost.end());
    for (int64_t k = 0; k < L - keep; ++k) drop.insert(cost[k].second);
    llvm::errs() << "lithe-drop-layers: dropping " << L - keep << " of " << L
                 << " layers, least loss increase when skipped alone on " << data.tokens()
                 << " calibration tokens (base loss " << llvm::format("%.4f", base)
                 << "): layers=" << formatIndexList(drop) << "\n";
    return success();
  }

  /// Fills `drop` with blocks.size() - keep blocks chosen by `metric` on
  /// the calibration text.
  LogicalResult choose(ModuleOp module, func::FuncOp fn, std::vector<AttentionOp> &blocks,
                       std::set<int64_t> &drop) {
    if (metric != "bi" && metric != "angular" && metric != "loss") {
      module.emitError() << "lithe-drop-layers: metric must be bi, angular or loss (got '" << metric << "')";
      return failure();
    }
    const int64_t L = static_cast<int64_t>(blocks.size());
    // Residual stream i enters block i; stream L leaves the last block.
    std::vector<Value> stream;
    for (AttentionOp a : blocks) stream.push_back(blockInput(a));
    stream.push_back(finalResidual(fn));
    std::map<Operation *, std::vector<int64_t>> producerOf;
    for (int64_t i = 0; i <= L; ++i) {
      if (!stream[i] || !stream[i].getDefiningOp()) {
        module.emitError() << "lithe-drop-layers: calibration: cannot find the residual stream "
                           << (i < L ? "entering layer " + std::to_string(i) : std::string("leaving the last layer"));
        return failure();
      }
      producerOf[stream[i].getDefiningOp()].push_back(i);
    }
    std::string error;
    CalibrationData data;
    std::shared_ptr<WeightStore> store = getWeightStore(module, error, weightsDir);
    std::unique_ptr<Evaluator> eval;
    if (!store || !loadCalibration(module, LITHE_PASS_CALIBRATION_OPTIONS(), data, error) ||
        !(eval = Evaluator::create(module, store, error))) {
      module.emitError() << "lithe-drop-layers: calibration: " << error;
      return failure();
    }
    if (metric == "loss") return chooseByLoss(module, L, stream, *eval, data, drop);
    // Mean cosine and mean angular distance between every pair of streams.
    std::vector<std::vector<double>> cosSum(L + 1, std::vector<double>(L + 1, 0.0)), angSum = cosSum;
    int64_t tokens = 0;
    for (const auto &w : data.windows) {
      std::vector<std::vector<float>> h(L + 1);
      int64_t cols = 0;
      Observer record = [&](Operation *op, float *x, int64_t rows, int64_t c) {
        auto it = producerOf.find(op);
        if (it == producerOf.end()) return;
        cols = c;
        for (int64_t i : it->second) h[i].assign(x, x + rows * c);
      };
      if (!eval->run(w, record, nullptr, nullptr, error, stream[L].getDefiningOp())) {
        module.emitError() << "lithe-drop-layers: calibration: " << error;
        return failure();
      }
      int64_t rows = static_cast<int64_t>(w.size());
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<double> norm(L + 1);
        for (int64_t i = 0; i <= L; ++i) {
          double n = 0;
          for (int64_t c = 0; c < cols; ++c) n += double(h[i][r * cols + c]) * h[i][r * cols + c];
          norm[i] = std::sqrt(n);
        }
        for (int64_t i = 0; i <= L; ++i)
          for (int64_t j = i + 1; j <= L; ++j) {
            double dot = 0;
            for (int64_t c = 0; c < cols; ++c) dot += double(h[i][r * cols + c]) * h[j][r * cols + c];
            double cs = norm[i] > 0 && norm[j] > 0 ? std::clamp(dot / (norm[i] * norm[j]), -1.0, 1.0) : 1.0;
            cosSum[i][j] += cs;
            angSum[i][j] += std::acos(cs) / M_PI;
          }
      }
      tokens += rows;
    }
    int64_t n = L - keep;
    std::string how;
    if (metric == "bi") {
      // Block Influence of block i: 1 - mean cos(stream i, stream i+1).
      std::vector<std::pair<double, int64_t>> bi;
      for (int64_t i = 0; i < L; ++i) bi.push_back({1.0 - cosSum[i][i + 1] / tokens, i});
      std::stable_sort(bi.begin(), bi.end());
      for (int64_t k = 0; k < n; ++k) drop.insert(bi[k].second);
      how = "smallest Block Influence";
    } else {
      // The run of n blocks [l, l+n) whose input and output are closest.
      int64_t best = 0;
      for (int64_t l = 0; l + n <= L; ++l)
        if (angSum[l][l + n] < angSum[best][best + n]) best = l;
      for (int64_t k = 0; k < n; ++k) drop.insert(best + k);
      how = "smallest angular distance across the run (" +
            llvm::formatv("{0:f4}", angSum[best][best + n] / tokens).str() + ")";
    }
    llvm::errs() << "lithe-drop-layers: dropping " << n << " of " << L << " layers, " << how << " on " << tokens
                 << " calibration tokens: layers=" << formatIndexList(drop) << "\n";
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = modelFunction(module);
    std::set<int64_t> drop;
    std::vector<AttentionOp> blocks = fn ? attentionLayers(fn) : std::vector<AttentionOp>();
    if (keep != 0) {
      if (!layers.empty() || calibration.empty() || keep < 1) {
        module.emitError(layers.empty() ? "lithe-drop-layers: keep= wants a positive count and calibration=FILE"
                                        : "lithe-drop-layers: give layers= or keep=, not both");
        return signalPassFailure();
      }
      if (keep >= static_cast<int64_t>(blocks.size())) {
        module.emitError() << "lithe-drop-layers: keep=" << keep.getValue() << " leaves nothing to drop (the model has "
                           << blocks.size() << " layers)";
        return signalPassFailure();
      }
      if (failed(choose(module, fn, blocks, drop))) return signalPassFailure();
    } else if (!fn || !parseIndexList(layers, drop)) {
      module.emitError() << "lithe-drop-layers: give layers=i,j,... or keep=N with calibration=FILE (got '"
                         << layers << "')";
      return signalPassFailure();
    }
    if (*drop.rbegin() >= static_cast<int64_t>(blocks.size())) {
      module.emitError() << "lithe-drop-layers: layer " << *drop.rbegin() << " does not exist (the model has "
                         << blocks.size() << ")";
      return signalPassFailure();
    }
    if (drop.size() == blocks.size()) {
      module.emitError("lithe-drop-layers: cannot drop every layer");
      return signalPassFailure();
    }
    std::vector<BlockArgument> caches;
    for (int64_t i : drop) {
      AttentionOp a = blocks[i];
      if (!a.writesCache()) {
        a.emitError() << "lithe-drop-layers: layer " << i << " reads another layer's KV cache; drop before sharing";
        return signalPassFailure();
      }
      // h -> ln1 -> q/k/v: the block input is the norm's input.
      Value h = blockInput(a);
      if (!h) {
        a.emitError() << "lithe-drop-layers: layer " << i << " is not a pre-norm GPT-2 block";
        return signalPassFailure();
      }
      AddOp mid = blockAdd(a.getResult());
      AddOp out;
      if (mid)
        for (Operation *u : mid.getResult().getUsers())
          if (isa<LayerNormOp, CenterOp>(u)) out = blockAdd(u->getResult(0));
      if (!mid || !out || (mid.getLhs() != h && mid.getRhs() != h)) {
        a.emitError() << "lithe-drop-layers: layer " << i << " is not a GPT-2 block (attention and MLP residuals)";
        return signalPassFailure();
      }
      out.getResult().replaceAllUsesWith(h);
      if (auto arg = dyn_cast<BlockArgument>(a.getCache())) caches.push_back(arg);
    }
    eraseDead(fn);
    std::sort(caches.begin(), caches.end(),
              [](BlockArgument x, BlockArgument y) { return x.getArgNumber() > y.getArgNumber(); });
    for (BlockArgument arg : caches)
      if (arg.use_empty()) eraseCacheArgument(fn, arg);
  }
};
} // namespace
} // namespace lithe
