//===- Raise.cpp - recognise GPT-2 structure in an ONNX graph -------------===//

#include "Raise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace lithe {
namespace import {

using onnx::EvalTensor;
using onnx::Node;

namespace {

class Raiser {
public:
  Raiser(const Graph &g, Raised &r) : g(g), r(r) {}
  bool run(std::string &error);

private:
  // --- graph navigation -----------------------------------------------------
  const Node *producer(int v) const {
    return v >= 0 && g.value(v).producer >= 0 ? &g.node(g.value(v).producer) : nullptr;
  }
  int input(const Node &n, size_t i) const {
    return i < n.inputs.size() ? g.find(n.inputs[i]) : -1;
  }
  int output(const Node &n, size_t i = 0) const {
    return i < n.outputs.size() ? g.find(n.outputs[i]) : -1;
  }
  bool is(const Node *n, const char *op) const { return n && n->opType == op; }
  const onnx::Tensor *init(int v) const {
    return v >= 0 && g.value(v).kind == Value::Initializer ? g.value(v).init : nullptr;
  }
  bool isData(int v) const { return v >= 0 && !g.value(v).isStatic; }
  int64_t attrInt(const Node &n, const char *name, int64_t dflt) const {
    const onnx::Attribute *a = n.attr(name);
    return a && a->kind == onnx::Attribute::Int ? a->i : dflt;
  }
  std::vector<int64_t> perm(const Node &n) const {
    const onnx::Attribute *a = n.attr("perm");
    return a ? a->ints : std::vector<int64_t>{};
  }

  /// A node that passes its (first) input through unchanged.
  bool isNoOp(const Node &n) const {
    int in = input(n, 0), out = output(n, 0);
    if (in < 0 || out < 0)
      return false;
    const Value &a = g.value(in), &b = g.value(out);
    if (n.opType == "Identity" || (n.opType == "Dropout" && n.outputs.size() == 1))
      return true;
    if (n.opType == "Concat" && n.inputs.size() == 1)
      return true;
    if ((n.opType == "Cast" || n.opType == "CastLike") && a.elemType == b.elemType)
      return true;
    if ((n.opType == "Reshape" || n.opType == "Expand" || n.opType == "Squeeze" ||
         n.opType == "Unsqueeze" || n.opType == "Flatten") &&
        a.shapeKnown && b.shapeKnown && a.shape == b.shape)
      return true;
    return false;
  }
  /// Follows a value up through no-op nodes.
  int resolve(int v) const {
    while (const Node *p = producer(v)) {
      if (!isNoOp(*p))
        break;
      v = input(*p, 0);
    }
    return v;
  }
  /// Consumers of `v`, looking through no-op nodes: (node, the value it reads).
  std::vector<std::pair<int, int>> users(int v) const {
    std::vector<std::pair<int, int>> out;
    std::set<int> seen;
    for (int c : g.value(v).consumers) {
      if (!seen.insert(c).second)
        continue;
      const Node &n = g.node(c);
      if (n.opType == "Shape" || n.opType == "Size")
        continue; // reads only the shape, which raising preserves
      if (isNoOp(n) && input(n, 0) == v) {
        for (auto u : users(output(n, 0)))
          out.push_back(u);
        if (g.value(output(n, 0)).isGraphOutput)
          out.push_back({-1, output(n, 0)});
      } else {
        out.push_back({c, v});
      }
    }
    return out;
  }
  /// The one real consumer of `v`, or -1.
  int soleUser(int v) const {
    auto u = users(v);
    return u.size() == 1 ? u[0].first : -1;
  }
  /// Last value of the chain of no-ops that starts at `v` (what a graph
  /// output or the next real op sees).
  int forward(int v) const {
    for (;;) {
      const auto &cs = g.value(v).consumers;
      if (cs.size() != 1 || !isNoOp(g.node(cs[0])) || g.value(v).isGraphOutput)
        return v;
      v = output(g.node(cs[0]), 0);
    }
  }
  std::optional<double> scalar(int v) const { return g.scalarValue(v); }

  // --- claiming ---------------------------------------------------------------
  int claim(RaisedOp op) {
    int idx = static_cast<int>(r.ops.size());
    r.claimed[op.out] = idx;
    r.ops.push_back(std::move(op));
    return idx;
  }
  RaisedOp *claimedOp(int v) {
    auto it = r.claimed.find(v);
    return it == r.claimed.end() || r.ops[it->second].dead ? nullptr : &r.ops[it->second];
  }

  // --- probe points ----------------------------------------------------------
  std::vector<std::vector<int64_t>> probes() const {
    // Values for (symbol 0, symbol 1, ...): varied so each symbol matters.
    static const int64_t table[][4] = {{1, 3, 5, 2}, {2, 4, 2, 3}, {1, 2, 7, 4}, {3, 5, 0, 2}};
    std::vector<std::vector<int64_t>> out;
    for (const auto &row : table) {
      std::vector<int64_t> p;
      for (size_t s = 0; s < g.symbolNames().size(); ++s)
        p.push_back(row[s % 4] + static_cast<int64_t>(s / 4));
      out.push_back(p);
    }
    return out;
  }
  int symbolOrNeg(const std::vector<const char *> &names) const {
    for (const char *n : names)
      if (int s = g.symbol(n); s >= 0)
        return s;
    return -1;
  }

  void raiseEmbeddings();
  void raiseLayerNorms();
  void raiseLinears();
  void raiseAttention();
  void raiseGelus();
  void raiseAdds();
  void raiseLMHead();

  int skipNanGuard(int probs) const;
  bool isZeros(int v) const;
  int unswapLastTwo(int v) const;
  bool cacheSide(int v4, int &flat, int &past, int &present, int64_t &h, int64_t &d);
  void raiseAttentionOp(const Node &at, int &layer);
  bool claimAttention(RaisedOp op, int &layer);
  bool mergeHeads(int ctx, int qflat, int &out);
  bool headsOf(int v, int &flat, int64_t &heads, int64_t &headDim, bool keyTransposed);
  bool checkCausalMask(int mask, bool boolean, double fill, int64_t heads);
  bool splitQKV(int q, int k, int v);
  bool splitQKVInt8(RaisedOp &lin, int q, int k, int v);
  bool widenGemm(RaisedOp &op);
  void widenGemms();

  const Graph &g;
  Raised &r;
  int seqSym = -1, pastSym = -1, batchSym = -1;
};

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

void Raiser::raiseEmbeddings() {
  // Token embeddings first: a position embedding is recognised relative to
  // the token ids, and may come first in the file.
  for (int pass = 0; pass < 2; ++pass)
  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &n = g.node(i);
    if (r.claimed.count(output(n))) continue;
    if (n.opType != "Gather" || attrInt(n, "axis", 0) != 0)
      continue;
    const onnx::Tensor *table = init(input(n, 0));
    int ids = resolve(input(n, 1));
    if (!table || table->dims.size() != 2 || table->elemType != onnx::kFloat || ids < 0)
      continue;
    const Value &idv = g.value(ids);
    if (idv.kind == Value::Input && !idv.isStatic &&
        (idv.elemType == onnx::kInt64 || idv.elemType == onnx::kInt32) && idv.rank() == 2) {
      if (pass == 1 || (r.inputIds >= 0 && r.inputIds != ids))
        continue;
      r.inputIds = ids;
      r.tokenTable = table->name;
      RaisedOp op{RaisedOp::Embedding};
      op.out = output(n);
      op.ins = {ids};
      op.weight = table->name;
      claim(op);
      continue;
    }
    if (pass == 0 || !idv.isStatic || r.inputIds < 0) {
      continue;
    }
    // Position ids: must equal past + j at every probe, broadcast over batch.
    bool ok = true;
    for (const auto &p : probes()) {
      EvalTensor t;
      std::string err;
      if (!g.evalStatic(ids, p, t, err)) { ok = false; r.notes.push_back(err); break; }
      int64_t past = pastSym >= 0 ? p[pastSym] : 0;
      int64_t seq = seqSym >= 0 ? p[seqSym] : -1;
      if (t.shape.empty() || (seq >= 0 && t.shape.back() != seq)) { ok = false; break; }
      int64_t s = t.shape.back();
      for (size_t k = 0; k < t.data.size() && ok; ++k)
        ok = t.data[k] == static_cast<double>(past + static_cast<int64_t>(k % s));
      if (!ok) break;
    }
    if (!ok) {
      r.notes.push_back("embedding " + n.describe() +
                        " left generic: its ids are not past_length + position");
      continue;
    }
    RaisedOp op{RaisedOp::PositionEmbedding};
    op.out = output(n);
    op.ins = {r.inputIds};
    op.weight = table->name;
    SymShape s = g.value(r.inputIds).shape;
    s.push_back(SymInt(table->dims[1]));
    r.raisedShape[op.out] = s;
    claim(op);
  }
}

//===----------------------------------------------------------------------===//
// LayerNorm: the fused op, or ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
//===----------------------------------------------------------------------===//

void Raiser::raiseLayerNorms() {
  auto lastAxisOnly = [&](const Node &n, int x) {
    int64_t rank = g.value(x).rank();
    std::vector<int64_t> axes;
    if (const onnx::Attribute *a = n.attr("axes")) axes = a->ints;
    else if (auto t = g.constantValue(input(n, 1)))
      for (double d : t->data) axes.push_back(static_cast<int64_t>(d));
    return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1) &&
           attrInt(n, "keepdims", 1) == 1;
  };
  // Absorbs a following Mul by a [D] weight and Add of a [D] weight.
  auto affine = [&](int v, RaisedOp &op) {
    int64_t width = 0;
    if (auto c = g.value(v).shape.back().constant()) width = *c;
    auto vecInit = [&](int x) {
      const onnx::Tensor *t = init(resolve(x));
      return t && t->elemType == onnx::kFloat && t->dims.size() == 1 && t->dims[0] == width ? t : nullptr;
    };
    int u = soleUser(v);
    if (u >= 0 && is(&g.node(u), "Mul")) {
      const Node &m = g.node(u);
      int other = resolve(input(m, 0)) == v ? input(m, 1) : input(m, 0);
      if (const onnx::Tensor *t = vecInit(other)) {
        op.scale = t->name;
        v = output(m);
        u = soleUser(v);
      }
    }
    if (u >= 0 && is(&g.node(u), "Add")) {
      const Node &a = g.node(u);
      int other = resolve(input(a, 0)) == v ? input(a, 1) : input(a, 0);
      if (const onnx::Tensor *t = vecInit(other)) {
        op.bias = t->name;
        v = output(a);
      }
    }
    return v;
  };

  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &n = g.node(i);
    if (n.opType == "LayerNormalization") {
      int x = input(n, 0);
      if (!isData(x)) continue;
      int64_t rank = g.value(x).rank();
      int64_t axis = attrInt(n, "axis", -1);
      if (axis != -1 && axis != rank - 1) continue;
      const onnx::Tensor *s = init(resolve(input(n, 1)));
      const onnx::Tensor *b = init(resolve(input(n, 2)));
      if (!s || s->dims.size() != 1 || (input(n, 2) >= 0 && !b)) continue;
      RaisedOp op{RaisedOp::LayerNorm};
      op.ins = {resolve(x)};
      op.scale = s->name;
      op.bias = b ? b->name : "";
      const onnx::Attribute *e = n.attr("epsilon");
      op.eps = e ? e->f : 1e-5;
      op.out = output(n);
      claim(op);
      continue;
    }
    if (n.opType != "ReduceMean") continue;
    int x = resolve(input(n, 0));
    if (!isData(x) || !lastAxisOnly(n, input(n, 0))) continue;
    int mean = output(n);
    // d = x - mean
    int d = -1;
    for (auto [c, v] : users(mean)) {
      if (c < 0) continue;
      const Node &s = g.node(c);
      if (s.opType == "Sub" && resolve(input(s, 0)) == x && resolve(input(s, 1)) == mean)
        d = output(s);
    }
    if (d < 0) continue;
    // var = mean(d^2); denominator = sqrt(var + eps); nrm = d / denominator
    int sq = -1, nrm = -1;
    double eps = -1;
    for (auto [c, v] : users(d)) {
      if (c < 0) continue;
      const Node &p = g.node(c);
      if ((p.opType == "Pow" && scalar(input(p, 1)) == 2.0) ||
          (p.opType == "Mul" && resolve(input(p, 0)) == d && resolve(input(p, 1)) == d))
        sq = output(p);
    }
    if (sq < 0) {
      // No variance: the centering left of an LN-free model's LayerNorm,
      // (x - mean) * scale + bias.
      RaisedOp op{RaisedOp::Center};
      op.ins = {x};
      op.out = affine(d, op);
      claim(op);
      continue;
    }
    int var = -1;
    if (int c = soleUser(sq); c >= 0 && is(&g.node(c), "ReduceMean") && lastAxisOnly(g.node(c), sq))
      var = output(g.node(c));
    if (var < 0) continue;
    int c = soleUser(var);
    if (c < 0 || !is(&g.node(c), "Add")) continue;
    {
      const Node &a = g.node(c);
      auto e = scalar(resolve(input(a, 0)) == var ? input(a, 1) : input(a, 0));
      if (!e) continue;
      eps = *e;
    }
    c = soleUser(output(g.node(c)));
    if (c < 0 || !is(&g.node(c), "Sqrt")) continue;
    int den = output(g.node(c));
    c = soleUser(den);
    if (c < 0 || !is(&g.node(c), "Div") || resolve(input(g.node(c), 0)) != d) continue;
    nrm = output(g.node(c));
    RaisedOp op{RaisedOp::LayerNorm};
    op.ins = {x};
    op.eps = eps;
    op.out = affine(nrm, op);
    claim(op);
  }
}

//===----------------------------------------------------------------------===//
// Linear layers: MatMul(x, W) [+ b], or Reshape -> Gemm(W, b) -> Reshape
//===----------------------------------------------------------------------===//

void Raiser::raiseLinears() {
  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &n = g.node(i);
    if (n.opType == "MatMul") {
      int x = resolve(input(n, 0));
      const onnx::Tensor *w = init(resolve(input(n, 1)));
      bool transposed = false;
      if (!w) {
        // MatMul(x, Transpose(W)) with W [out, in]: a head over a table.
        const Node *t = producer(resolve(input(n, 1)));
        if (is(t, "Transpose") && perm(*t) == std::vector<int64_t>{1, 0}) {
          w = init(resolve(input(*t, 0)));
          transposed = true;
        }
      }
      // int8 weight with per-output-channel scales (DequantizeLinear kept by
      // normalization): an int8 linear.
      const onnx::Tensor *wScale = nullptr;
      if (!w && !transposed) {
        const Node *dq = producer(resolve(input(n, 1)));
        if (is(dq, "DequantizeLinear")) {
          w = init(input(*dq, 0));
          wScale = init(input(*dq, 1));
          if (!w || !wScale || w->elemType != onnx::kInt8) continue;
        }
      }
      if (!isData(x) || !w || w->dims.size() != 2 || (w->elemType != onnx::kFloat && !wScale))
        continue;
      RaisedOp op{RaisedOp::Linear};
      op.ins = {x};
      op.weight = w->name;
      op.weightScale = wScale ? wScale->name : "";
      op.weightTransposed = transposed;
      op.out = output(n);
      int64_t outWidth = w->dims[transposed ? 0 : 1];
      if (int u = soleUser(op.out); u >= 0 && is(&g.node(u), "Add")) {
        const Node &a = g.node(u);
        int other = resolve(input(a, 0)) == resolve(op.out) ? input(a, 1) : input(a, 0);
        const onnx::Tensor *b = init(resolve(other));
        if (b && b->dims.size() == 1 && b->dims[0] == outWidth && b->elemType == onnx::kFloat) {
          op.bias = b->name;
          op.out = output(a);
        }
      }
      claim(op);
      continue;
    }
    if (n.opType != "Gemm")
      continue;
    if (attrInt(n, "transA", 0) != 0) continue;
    const onnx::Attribute *alpha = n.attr("alpha"), *beta = n.attr("beta");
    if ((alpha && alpha->f != 1.0f) || (beta && beta->f != 1.0f)) continue;
    const onnx::Tensor *w = init(resolve(input(n, 1)));
    const onnx::Tensor *wScale = nullptr;
    if (const Node *dq = producer(resolve(input(n, 1))); !w && is(dq, "DequantizeLinear") &&
                                                         attrInt(n, "transB", 0) == 0) {
      w = init(input(*dq, 0));
      wScale = init(input(*dq, 1));
      if (!w || !wScale || w->elemType != onnx::kInt8) continue;
    }
    if (!w || w->dims.size() != 2 || (w->elemType != onnx::kFloat && !wScale)) continue;
    bool transposed = attrInt(n, "transB", 0) != 0;
    int64_t inWidth = w->dims[transposed ? 1 : 0], outWidth = w->dims[transposed ? 0 : 1];
    const onnx::Tensor *b = n.inputs.size() > 2 ? init(resolve(input(n, 2))) : nullptr;
    if (n.inputs.size() > 2 && input(n, 2) >= 0 && !b) continue;
    if (b && !(b->dims.size() == 1 && b->dims[0] == outWidth)) continue;
    int a = input(n, 0);
    if (!isData(a)) continue;
    RaisedOp op{RaisedOp::Linear};
    op.weight = w->name;
    op.weightScale = wScale ? wScale->name : "";
    op.weightTransposed = transposed;
    op.bias = b ? b->name : "";
    op.ins = {a};
    op.out = output(n);
    op.node = static_cast<int>(i);
    widenGemm(op);
    claim(op);
  }
}

/// Reshape(x, [-1, K]) -> Gemm -> Reshape([..., N]) is a linear on x itself.
/// Returns true if `op` (made from a Gemm on a 2-D input) now reads x.
bool Raiser::widenGemm(RaisedOp &op) {
  if (op.node < 0 || !is(&g.node(op.node), "Gemm")) return false;
  const Node &n = g.node(op.node);
  const Node *pre = producer(input(n, 0));
  int u = soleUser(output(n));
  if (!is(pre, "Reshape") || u < 0 || !is(&g.node(u), "Reshape")) return false;
  int x = resolve(input(*pre, 0));
  SymShape xs = r.shapeOf(g, x);
  const SymShape &ys = g.value(output(g.node(u))).shape;
  const SymShape &ws = g.value(input(n, 1)).shape;
  SymInt inWidth = ws[op.weightTransposed ? 1 : 0], outWidth = ws[op.weightTransposed ? 0 : 1];
  if (xs.empty() || xs.back() != inWidth || ys.size() != xs.size() || ys.back() != outWidth ||
      !std::equal(xs.begin(), xs.end() - 1, ys.begin()))
    return false;
  op.ins = {x};
  op.out = output(g.node(u));
  return true;
}

void Raiser::widenGemms() {
  for (size_t i = 0; i < r.ops.size(); ++i) {
    RaisedOp &op = r.ops[i];
    if (op.dead || op.kind != RaisedOp::Linear || op.node < 0) continue;
    int oldOut = op.out;
    if (g.value(op.ins[0]).rank() == 2 && widenGemm(op)) {
      r.claimed.erase(oldOut);
      r.claimed[op.out] = static_cast<int>(i);
    }
  }
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// `v` = Transpose(Reshape(flat, [B, S, H, hd]), [0, 2, 1, 3]) (or [0, 2, 3, 1]
/// for keys already transposed for Q K^T).
bool Raiser::headsOf(int v, int &flat, int64_t &heads, int64_t &headDim, bool keyTransposed) {
  const Node *t = producer(resolve(v));
  std::vector<int64_t> want = keyTransposed ? std::vector<int64_t>{0, 2, 3, 1}
                                            : std::vector<int64_t>{0, 2, 1, 3};
  if (!is(t, "Transpose") || perm(*t) != want) return false;
  const Node *rs = producer(resolve(input(*t, 0)));
  if (!is(rs, "Reshape")) return false;
  const SymShape &s4 = g.value(output(*rs)).shape;
  flat = resolve(input(*rs, 0));
  SymShape fs = r.shapeOf(g, flat);
  if (s4.size() != 4 || fs.size() != 3 || s4[0] != fs[0] || s4[1] != fs[1]) return false;
  auto h = s4[2].constant(), d = s4[3].constant(), w = fs[2].constant();
  if (!h || !d || !w || *h * *d != *w) return false;
  heads = *h;
  headDim = *d;
  return true;
}

/// `v` is a 4-D value K with its last two dimensions swapped, either as
/// Transpose(K, [0, 1, 3, 2]) or as dynamo's sdpa decomposition
/// Reshape(Transpose(Reshape(K, [B*H, T, d]), [0, 2, 1]), [B, H, d, T]).
/// Returns K, or -1.
int Raiser::unswapLastTwo(int v) const {
  const Node *t = producer(resolve(v));
  if (is(t, "Transpose") && perm(*t) == std::vector<int64_t>{0, 1, 3, 2})
    return resolve(input(*t, 0));
  if (!is(t, "Reshape")) return -1;
  const Node *t3 = producer(resolve(input(*t, 0)));
  if (!is(t3, "Transpose") || perm(*t3) != std::vector<int64_t>{0, 2, 1}) return -1;
  const Node *r3 = producer(resolve(input(*t3, 0)));
  if (!is(r3, "Reshape")) return -1;
  int k = resolve(input(*r3, 0));
  const SymShape &ks = g.value(k).shape, &s3 = g.value(output(*r3)).shape,
                 &vs = g.value(output(*t)).shape;
  if (ks.size() != 4 || s3.size() != 3 || vs.size() != 4) return -1;
  if (s3[0] != ks[0] * ks[1] || s3[1] != ks[2] || s3[2] != ks[3]) return -1;
  if (vs[0] != ks[0] || vs[1] != ks[1] || vs[2] != ks[3] || vs[3] != ks[2]) return -1;
  return k;
}

/// Keys or values in heads, `v4` = heads(k) or Concat(past, heads(k)) on the
/// sequence axis (the present output).
bool Raiser::cacheSide(int v4, int &flat, int &past, int &present, int64_t &h, int64_t &d) {
  const Node *c = producer(v4);
  if (is(c, "Concat") && c->inputs.size() == 2) {
    int64_t axis = attrInt(*c, "axis", 0);
    int a = resolve(input(*c, 0));
    if ((axis == 2 || axis == -2) && g.value(a).kind == Value::Input) {
      past = a;
      present = v4;
      return headsOf(input(*c, 1), flat, h, d, false);
    }
    return false;
  }
  present = v4;
  return headsOf(v4, flat, h, d, false);
}

/// The attention output in heads, `ctx` [B, H, S, d], merged back:
/// Transpose([0, 2, 1, 3]) then, usually, Reshape([B, S, H*d]).
bool Raiser::mergeHeads(int ctx, int qflat, int &out) {
  int t = soleUser(ctx);
  if (t < 0 || !is(&g.node(t), "Transpose") || perm(g.node(t)) != std::vector<int64_t>{0, 2, 1, 3})
    return false;
  out = output(g.node(t));
  if (int rs = soleUser(out); rs >= 0 && is(&g.node(rs), "Reshape") &&
                              g.value(output(g.node(rs))).shape == r.shapeOf(g, qflat))
    out = output(g.node(rs));
  return true;
}

/// ONNX's own Attention op (opset 23; what dynamo exports at opset 23+):
/// Attention(Q, K, V, mask?, past_key?, past_value?) on 4-D heads.
void Raiser::raiseAttentionOp(const Node &at, int &layer) {
  auto reject = [&](const std::string &reason) {
    r.notes.push_back("attention at node " + at.describe() + " left generic: " + reason);
  };
  if (at.outputs.size() > 3 && !at.outputs[3].empty()) return reject("its qk_matmul_output is used");
  if (const onnx::Attribute *a = at.attr("softcap"); a && a->f != 0) return reject("softcap is set");
  int qflat = -1, kflat = -1, vflat = -1, pastK = -1, pastV = -1, presentK = -1, presentV = -1;
  int64_t heads = 0, hd = 0, h2 = 0, d2 = 0;
  if (!headsOf(resolve(input(at, 0)), qflat, heads, hd, false)) return reject("queries are not split into heads");
  if (!cacheSide(resolve(input(at, 1)), kflat, pastK, presentK, h2, d2) || h2 != heads || d2 != hd)
    return reject("keys not recognised");
  if (!cacheSide(resolve(input(at, 2)), vflat, pastV, presentV, h2, d2) || h2 != heads || d2 != hd)
    return reject("values not recognised");
  // past_key / past_value as the op's own inputs, present as its outputs.
  if (int pk = input(at, 4), pv = input(at, 5); pk >= 0 || pv >= 0) {
    if (pastK >= 0 || pk < 0 || pv < 0 || g.value(resolve(pk)).kind != Value::Input ||
        g.value(resolve(pv)).kind != Value::Input)
      return reject("past keys and values not recognised");
    pastK = resolve(pk);
    pastV = resolve(pv);
    presentK = output(at, 1);
    presentV = output(at, 2);
  }
  if ((pastK < 0) != (pastV < 0)) return reject("keys and values differ in their past");
  bool isCausal = attrInt(at, "is_causal", 0) != 0;
  int mask = input(at, 3);
  if (mask >= 0) {
    if (isData(mask)) return reject("its mask depends on input data");
    bool boolean = g.value(mask).elemType == onnx::kBool;
    if (!checkCausalMask(mask, boolean, -INFINITY, heads)) return reject("its mask is not the causal mask");
  } else if (!isCausal) {
    return reject("it is neither causal nor masked");
  }
  double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  if (const onnx::Attribute *a = at.attr("scale")) scale = a->f;
  int out = -1;
  if (!mergeHeads(output(at, 0), qflat, out)) return reject("heads are not merged back");
  RaisedOp op{RaisedOp::Attention};
  op.ins = {qflat, kflat, vflat};
  op.out = out;
  op.heads = heads;
  op.headDim = hd;
  op.attnScale = scale;
  op.causal = true;
  op.pastKey = pastK;
  op.pastValue = pastV;
  op.presentKey = presentK;
  op.presentValue = presentV;
  if (!claimAttention(op, layer)) reject("q, k, v shapes differ");
}

/// Claims a matched attention (ins = flat q, k, v): they must have one shape;
/// a fused QKV linear feeding them is split.
bool Raiser::claimAttention(RaisedOp op, int &layer) {
  SymShape qs = r.shapeOf(g, op.ins[0]);
  if (r.shapeOf(g, op.ins[1]) != qs || r.shapeOf(g, op.ins[2]) != qs) return false;
  splitQKV(op.ins[0], op.ins[1], op.ins[2]);
  op.layer = layer++;
  r.raisedShape[op.out] = qs;
  claim(op);
  return true;
}

/// A static value that is zero everywhere, at every probe point.
bool Raiser::isZeros(int v) const {
  for (const auto &p : probes()) {
    EvalTensor t;
    std::string err;
    if (!g.evalStatic(v, p, t, err)) return false;
    for (double x : t.data)
      if (x != 0) return false;
  }
  return true;
}

/// transformers' sdpa attention exports `Where(IsNaN(p), 0, p)` after the
/// softmax (rows that are fully masked give NaN; a causal row never is).
/// Returns the guarded value, or `probs` when there is no guard.
int Raiser::skipNanGuard(int probs) const {
  auto us = users(probs);
  if (us.size() != 2) return probs;
  int isnan = -1, where = -1;
  for (auto [c, v] : us) {
    if (c < 0) return probs;
    if (is(&g.node(c), "IsNaN")) isnan = c;
    else if (is(&g.node(c), "Where")) where = c;
  }
  if (isnan < 0 || where < 0) return probs;
  const Node &w = g.node(where);
  if (resolve(input(w, 0)) != output(g.node(isnan)) || resolve(input(w, 2)) != resolve(probs))
    return probs;
  auto zero = scalar(input(w, 1));
  if (!zero || *zero != 0 || users(output(g.node(isnan))).size() != 1) return probs;
  return output(w);
}

/// The mask must be exactly causal at every probe point: 0 (or true) where
/// key position <= past + query position, very negative (or false) elsewhere.
bool Raiser::checkCausalMask(int mask, bool boolean, double fill, int64_t heads) {
  for (const auto &p : probes()) {
    EvalTensor t;
    std::string err;
    if (!g.evalStatic(mask, p, t, err)) return false;
    int64_t past = pastSym >= 0 ? p[pastSym] : 0;
    int64_t seq = seqSym >= 0 ? p[seqSym] : -1;
    if (t.shape.size() < 2 || seq < 0) return false;
    int64_t q = t.shape[t.shape.size() - 2], k = t.shape.back();
    if (q != seq || k != past + seq) return false;
    // Leading dims must broadcast against [B, H]: only 1, batch or heads.
    for (size_t i = 0; i + 2 < t.shape.size(); ++i)
      if (t.shape[i] != 1 && t.shape[i] != heads && (batchSym < 0 || t.shape[i] != p[batchSym]))
        return false;
    for (size_t idx = 0; idx < t.data.size(); ++idx) {
      int64_t j = static_cast<int64_t>(idx % k), i = static_cast<int64_t>((idx / k) % q);
      bool allowed = j <= past + i;
      double m = t.data[idx];
      if (boolean) {
        if ((m != 0) != allowed) return false;
      } else if (allowed ? m != 0 : m > -1e4) {
        return false;
      }
    }
  }
  return !boolean || fill <= -1e4;
}

/// q, k, v are outputs 0..2 of one Split of a claimed linear: replace that
/// linear by three linears over column slices of its weight and bias.
bool Raiser::splitQKV(int q, int k, int v) {
  if (claimedOp(q) && claimedOp(k) && claimedOp(v))
    return true;
  const Node *s = producer(q);
  if (!is(s, "Split") || producer(k) != s || producer(v) != s || output(*s, 0) != q ||
      output(*s, 1) != k || output(*s, 2) != v || s->outputs.size() != 3)
    return false;
  int src = resolve(input(*s, 0));
  int64_t rank = g.value(src).rank();
  int64_t axis = attrInt(*s, "axis", 0);
  if (axis != -1 && axis != rank - 1) return false;
  RaisedOp *lin = claimedOp(src);
  if (!lin || lin->kind != RaisedOp::Linear || lin->weightTransposed) return false;
  if (!lin->weightScale.empty()) return splitQKVInt8(*lin, q, k, v);
  const onnx::Tensor *w = nullptr, *b = nullptr;
  for (const onnx::Tensor &t : g.model().initializers) {
    if (t.name == lin->weight) w = &t;
    if (!lin->bias.empty() && t.name == lin->bias) b = &t;
  }
  if (!w) return false;
  int64_t in = w->dims[0], out = w->dims[1];
  auto width = g.value(q).shape.back().constant();
  if (!width || *width * 3 != out || g.value(k).shape.back() != SymInt(*width) ||
      g.value(v).shape.back() != SymInt(*width))
    return false;
  const char *part[3] = {"q", "k", "v"};
  int outs[3] = {q, k, v};
  RaisedOp base = *lin;
  lin->dead = true;
  for (int p = 0; p < 3; ++p) {
    DerivedWeight dw = DerivedWeight::columns(base.weight + "." + part[p], w->data, in, out,
                                              p * *width, *width);
    RaisedOp op = base;
    op.dead = false;
    op.weight = dw.name;
    r.derived.push_back(std::move(dw));
    if (b) {
      DerivedWeight db;
      db.name = base.bias + "." + part[p];
      db.dims = {*width};
      const uint8_t *from = b->data + 4 * p * *width;
      db.bytes.assign(from, from + 4 * *width);
      op.bias = db.name;
      r.derived.push_back(std::move(db));
    }
    op.out = outs[p];
    claim(op);
  }
  r.notes.push_back("split fused QKV weight '" + base.weight + "' into q/k/v");
  return true;
}

/// splitQKV for an int8 linear: column slices of the int8 weight, its
/// scales and its bias.
bool Raiser::splitQKVInt8(RaisedOp &lin, int q, int k, int v) {
  const onnx::Tensor *w = nullptr, *sc = nullptr, *b = nullptr;
  for (const onnx::Tensor &t : g.model().initializers) {
    if (t.name == lin.weight) w = &t;
    if (t.name == lin.weightScale) sc = &t;
    if (!lin.bias.empty() && t.name == lin.bias) b = &t;
  }
  if (!w || !sc) return false;
  int64_t in = w->dims[0], out = w->dims[1];
  auto width = g.value(q).shape.back().constant();
  if (!width || *width * 3 != out) return false;
  const char *part[3] = {"q", "k", "v"};
  int outs[3] = {q, k, v};
  RaisedOp base = lin;
  lin.dead = true;
  auto slice = [&](const onnx::Tensor &t, const std::string &name, int64_t first) {
    DerivedWeight d;
    d.name = name;
    d.dims = {*width};
    d.bytes.assign(t.data + 4 * first, t.data + 4 * (first + *width));
    r.derived.push_back(std::move(d));
  };
  for (int p = 0; p < 3; ++p) {
    DerivedWeight dw;
    dw.name = base.weight + "." + part[p];
    dw.elemType = onnx::kInt8;
    dw.dims = {in, *width};
    for (int64_t row = 0; row < in; ++row) {
      const uint8_t *from = w->data + row * out + p * *width;
      dw.bytes.insert(dw.bytes.end(), from, from + *width);
    }
    RaisedOp op = base;
    op.dead = false;
    op.weight = dw.name;
    r.derived.push_back(std::move(dw));
    op.weightScale = base.weightScale + "." + part[p];
    slice(*sc, op.weightScale, p * *width);
    if (b) {
      op.bias = base.bias + "." + part[p];
      slice(*b, op.bias, p * *width);
    }
    op.out = outs[p];
    claim(op);
  }
  r.notes.push_back("split fused int8 QKV weight '" + base.weight + "' into q/k/v");
  return true;
}

void Raiser::raiseAttention() {
  int layer = 0;
  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &sm = g.node(i);
    if (sm.opType == "Attention" && sm.domain.empty()) {
      raiseAttentionOp(sm, layer);
      continue;
    }
    if (sm.opType != "Softmax") continue;
    std::string why;
    auto reject = [&](const char *reason) {
      r.notes.push_back("attention at node " + sm.describe() + " left generic: " + reason);
    };
    int x = resolve(input(sm, 0));
    if (!isData(x) || attrInt(sm, "axis", -1) != -1) {
      if (!isData(x) || attrInt(sm, "axis", -1) != g.value(x).rank() - 1) continue;
    }
    // Mask.
    int mask = -1;
    bool boolean = false;
    double fill = 0;
    const Node *p = producer(x);
    int scores = x;
    if (is(p, "Add")) {
      int a = input(*p, 0), b = input(*p, 1);
      if (isData(a) && !isData(b)) { mask = b; scores = resolve(a); }
      else if (isData(b) && !isData(a)) { mask = a; scores = resolve(b); }
    } else if (is(p, "Where") && !isData(input(*p, 0)) && !isData(input(*p, 2))) {
      auto f = scalar(input(*p, 2));
      if (!f) continue;
      mask = input(*p, 0);
      boolean = true;
      fill = *f;
      scores = resolve(input(*p, 1));
    }
    // Scale.
    double scale = 1;
    const Node *sc = producer(scores);
    if (is(sc, "Mul") || is(sc, "Div")) {
      int a = input(*sc, 0), b = input(*sc, 1);
      int data = isData(a) ? a : b, cst = isData(a) ? b : a;
      auto c = scalar(cst);
      if (c && isData(data) && !(is(sc, "Div") && data != a)) {
        scale = is(sc, "Div") ? 1.0 / *c : *c;
        scores = resolve(data);
      }
    }
    const Node *qk = producer(scores);
    // reorder_and_upcast_attn: baddbmm(zeros, Q3, K3^T, beta=0, alpha) on
    // [B*H, S, d] x [B*H, d, T], reshaped to [B, H, S, T].
    bool batched3d = false;
    if (is(qk, "Reshape") && g.value(scores).rank() == 4) {
      int x = resolve(input(*qk, 0));
      const Node *p = producer(x);
      if (g.value(x).rank() == 3) {
        if (is(p, "Add")) {
          int a = input(*p, 0), b = input(*p, 1);
          int data = isData(a) ? a : b, other = isData(a) ? b : a;
          if (isData(data) && !isData(other) && isZeros(other)) { x = resolve(data); p = producer(x); }
        }
        if (is(p, "Mul") || is(p, "Div")) {
          int a = input(*p, 0), b = input(*p, 1);
          int data = isData(a) ? a : b, cst = isData(a) ? b : a;
          auto c = scalar(cst);
          if (c && isData(data) && !(is(p, "Div") && data != a)) {
            scale *= is(p, "Div") ? 1.0 / *c : *c;
            x = resolve(data);
            p = producer(x);
          }
        }
        if (is(p, "MatMul")) { qk = p; batched3d = true; }
      }
    }
    if (!is(qk, "MatMul")) { reject("scores are not a MatMul"); continue; }
    // Queries, possibly pre-scaled.
    int qh = resolve(input(*qk, 0));
    int kt = resolve(input(*qk, 1));
    if (batched3d) {
      const Node *rq = producer(qh), *rk = producer(kt);
      if (!is(rq, "Reshape") || !is(rk, "Reshape")) { reject("batched scores are not reshaped heads"); continue; }
      int q4 = resolve(input(*rq, 0)), k4t = resolve(input(*rk, 0));
      const SymShape &q4s = g.value(q4).shape, &q3s = g.value(qh).shape;
      const SymShape &k4s = g.value(k4t).shape, &k3s = g.value(kt).shape;
      if (q4s.size() != 4 || k4s.size() != 4 || q3s.size() != 3 || k3s.size() != 3 ||
          q3s[0] != q4s[0] * q4s[1] || q3s[1] != q4s[2] || q3s[2] != q4s[3] ||
          k3s[0] != k4s[0] * k4s[1] || k3s[1] != k4s[2] || k3s[2] != k4s[3]) {
        reject("batched scores are not reshaped heads");
        continue;
      }
      qh = q4;
      kt = k4t;
    }
    if (const Node *m = producer(qh); is(m, "Mul")) {
      int a = input(*m, 0), b = input(*m, 1);
      auto c = scalar(isData(a) ? b : a);
      if (c) { scale *= *c; qh = resolve(isData(a) ? a : b); }
    }
    int qflat = -1, kflat = -1, vflat = -1;
    int64_t heads = 0, hd = 0, h2 = 0, d2 = 0;
    if (!headsOf(qh, qflat, heads, hd, false)) { reject("queries are not split into heads"); continue; }
    // Keys: Transpose(K4, [0,1,3,2]) with K4 = Concat(past, heads(k)) or heads(k).
    int pastK = -1, presentK = -1, pastV = -1, presentV = -1;
    if (const Node *m = producer(kt); is(m, "Mul")) { // pre-scaled keys
      int a = input(*m, 0), b = input(*m, 1);
      auto c = scalar(isData(a) ? b : a);
      if (c) { scale *= *c; kt = resolve(isData(a) ? a : b); }
    }
    if (int k4 = unswapLastTwo(kt); k4 >= 0) {
      if (!cacheSide(k4, kflat, pastK, presentK, h2, d2)) { reject("keys not recognised"); continue; }
    } else if (!headsOf(kt, kflat, h2, d2, true)) {
      reject("keys not recognised");
      continue;
    }
    if (h2 != heads || d2 != hd) continue;
    // Values: probs @ V4.
    int probs = skipNanGuard(output(sm));
    int pv = soleUser(probs);
    if (pv < 0 || !is(&g.node(pv), "MatMul") || resolve(input(g.node(pv), 0)) != resolve(probs)) { reject("probabilities do not feed one MatMul"); continue; }
    if (!cacheSide(resolve(input(g.node(pv), 1)), vflat, pastV, presentV, h2, d2)) { reject("values not recognised"); continue; }
    if (h2 != heads || d2 != hd) continue;
    if ((pastK < 0) != (pastV < 0)) continue;
    // Merge heads: Transpose([0,2,1,3]) then, usually, Reshape([B, S, H*hd]).
    int out = -1;
    if (!mergeHeads(output(g.node(pv)), qflat, out)) { reject("heads are not merged back"); continue; }
    // The mask must really be causal.
    bool causal = false;
    if (mask >= 0) {
      if (!checkCausalMask(mask, boolean, fill, heads)) {
        r.notes.push_back("attention at node " + sm.describe() +
                          " left generic: its mask is not the causal mask");
        continue;
      }
      causal = true;
    }
    RaisedOp op{RaisedOp::Attention};
    op.ins = {qflat, kflat, vflat};
    op.out = out;
    op.heads = heads;
    op.headDim = hd;
    op.attnScale = scale;
    op.causal = causal;
    op.pastKey = pastK;
    op.pastValue = pastV;
    op.presentKey = presentK;
    op.presentValue = presentV;
    if (!claimAttention(op, layer)) reject("q, k, v shapes differ");
  }
}

//===----------------------------------------------------------------------===//
// GELU, recognised numerically
//===----------------------------------------------------------------------===//

void Raiser::raiseGelus() {
  static const std::set<std::string> elementwise = {
      "Add", "Sub", "Mul", "Div", "Pow", "Tanh", "Erf", "Sqrt", "Neg", "Reciprocal",
      "Gelu", "Sigmoid", "Cast", "Identity"};
  std::set<int> done;
  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &t = g.node(i);
    if (t.opType != "Tanh" && t.opType != "Erf" && t.opType != "Gelu") continue;
    // Walk up to the nearest claimed (or non-elementwise) data value.
    int x = -1;
    std::vector<int> stack = {input(t, 0)};
    std::set<int> seen;
    while (!stack.empty() && x < 0) {
      int v = stack.back();
      stack.pop_back();
      if (!seen.insert(v).second || !isData(v)) continue;
      const Node *p = producer(v);
      if (r.claimed.count(v) || !p || !elementwise.count(p->opType)) { x = v; break; }
      for (size_t k = 0; k < p->inputs.size(); ++k) stack.push_back(input(*p, k));
    }
    if (x < 0 || done.count(x)) continue;
    // Forward closure of elementwise nodes fed only by x and constants.
    std::vector<int> nodes;
    std::set<int> inside = {x};
    bool grew = true;
    while (grew) {
      grew = false;
      for (int v : std::vector<int>(inside.begin(), inside.end()))
        for (int c : g.value(v).consumers) {
          const Node &n = g.node(c);
          if (std::find(nodes.begin(), nodes.end(), c) != nodes.end() || !elementwise.count(n.opType)) continue;
          bool ok = true;
          for (size_t k = 0; k < n.inputs.size(); ++k) {
            int in = input(n, k);
            if (in >= 0 && isData(in) && !inside.count(in)) ok = false;
          }
          if (!ok) continue;
          nodes.push_back(c);
          inside.insert(output(n));
          grew = true;
        }
    }
    std::sort(nodes.begin(), nodes.end());
    // Evaluate the whole region once on test points.
    EvalTensor xs;
    xs.type = onnx::kFloat;
    for (int k = -40; k <= 40; ++k) xs.data.push_back(static_cast<double>(static_cast<float>(k * 0.125)));
    xs.shape = {static_cast<int64_t>(xs.data.size())};
    std::map<int, EvalTensor> env = {{x, xs}};
    for (int c : nodes) {
      const Node &n = g.node(c);
      std::vector<EvalTensor> args(n.inputs.size());
      std::vector<const EvalTensor *> ptrs;
      bool ok = true;
      for (size_t k = 0; k < n.inputs.size() && ok; ++k) {
        int in = input(n, k);
        if (in < 0) { ptrs.push_back(nullptr); continue; }
        if (env.count(in)) { ptrs.push_back(&env[in]); continue; }
        auto cv = g.constantValue(in);
        if (!cv) { ok = false; break; }
        args[k] = *cv;
        ptrs.push_back(&args[k]);
      }
      std::vector<EvalTensor> res;
      std::string err;
      if (ok && onnx::evalNode(n, g.opsetOf(n), ptrs, res, err)) env[output(n)] = res[0];
    }
    // The smallest sub-region ending in a value that is GELU of x, whose
    // inner values are used only inside it.
    int exit = -1;
    bool tanhForm = false;
    for (int c : nodes) {
      int y = output(g.node(c));
      if (!env.count(y) || env[y].data.size() != xs.data.size()) continue;
      double errTanh = 0, errErf = 0;
      for (size_t k = 0; k < xs.data.size(); ++k) {
        double v = xs.data[k], out = env[y].data[k];
        double gt = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        double ge = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
        errTanh = std::max(errTanh, std::fabs(out - gt));
        errErf = std::max(errErf, std::fabs(out - ge));
      }
      // Constants rounded to float16 (sqrt(2/pi) -> 0.79785, 0.044715 ->
      // 0.044739) move the curve by up to ~2e-3 on [-5, 5].
      if (std::min(errTanh, errErf) > (g.halfPrecisionOrigin ? 5e-3 : 1e-5)) continue;
      // Ancestors of y inside the region.
      std::set<int> region;
      std::vector<int> work = {c};
      while (!work.empty()) {
        int m = work.back();
        work.pop_back();
        if (!region.insert(m).second) continue;
        for (size_t k = 0; k < g.node(m).inputs.size(); ++k) {
          int in = input(g.node(m), k);
          if (in >= 0 && in != x && isData(in) && g.value(in).producer >= 0) work.push_back(g.value(in).producer);
        }
      }
      bool closed = true;
      for (int m : region) {
        int v = output(g.node(m));
        if (v == y) continue;
        if (g.value(v).isGraphOutput) closed = false;
        for (int u : g.value(v).consumers)
          if (!region.count(u)) closed = false;
      }
      if (!closed) continue;
      exit = y;
      tanhForm = errTanh <= errErf;
      break;
    }
    if (exit < 0) continue;
    RaisedOp op{RaisedOp::Gelu};
    op.ins = {x};
    op.out = exit;
    op.geluTanh = tanhForm;
    claim(op);
    done.insert(x);
  }
}

//===----------------------------------------------------------------------===//
// Residual adds and the LM head
//===----------------------------------------------------------------------===//

void Raiser::raiseAdds() {
  for (size_t i = 0; i < g.model().nodes.size(); ++i) {
    const Node &n = g.node(i);
    int out = output(n);
    if (n.opType != "Add" || r.claimed.count(out)) continue;
    int a = resolve(input(n, 0)), b = resolve(input(n, 1));
    auto live = [&](int v) { return isData(v) || claimedOp(v); };
    if (!live(a) || !live(b)) continue;
    SymShape sa = r.shapeOf(g, a), sb = r.shapeOf(g, b);
    if (sa != sb || sa.size() != 3) continue;
    RaisedOp op{RaisedOp::Add};
    op.ins = {a, b};
    op.out = out;
    claim(op);
  }
}

void Raiser::raiseLMHead() {
  const onnx::Tensor *table = nullptr;
  for (const onnx::Tensor &t : g.model().initializers)
    if (t.name == r.tokenTable) table = &t;
  if (!table)
    return; // no token embedding: not a language model
  for (RaisedOp &op : r.ops) {
    if (op.dead || op.kind != RaisedOp::Linear || !op.bias.empty()) continue;
    if (!g.value(forward(op.out)).isGraphOutput) continue;
    const onnx::Tensor *w = nullptr;
    for (const onnx::Tensor &t : g.model().initializers)
      if (t.name == op.weight) w = &t;
    // The head produces one logit per vocabulary entry.
    if (!w || w->dims[op.weightTransposed ? 0 : 1] != table->dims[0]) continue;
    op.kind = RaisedOp::LMHead;
    // The logits output may follow through no-ops (a float16 model's output
    // Cast, widened): the head defines the output itself.
    if (int last = forward(op.out); last != op.out) {
      r.claimed.erase(op.out);
      op.out = last;
      r.claimed[last] = static_cast<int>(&op - r.ops.data());
    }
    if (!op.weightScale.empty()) {
      // int8 [width, vocab] with one scale per vocabulary entry: the head's
      // int8 table is [vocab, width] with the same scales.
      if (op.weightTransposed) continue;
      r.derived.push_back(DerivedWeight::transposed(w->name + ".T", w->data, w->dims[0], w->dims[1],
                                                    onnx::kInt8));
      r.droppedInitializers.push_back(w->name);
      op.weight = w->name + ".T";
      op.weightTransposed = true;
      continue;
    }
    if (op.weightTransposed) continue; // already [vocab, width]
    int64_t in = w->dims[0], out = w->dims[1];
    // A transposed copy of the token embedding: keep one copy.
    if (table && table->dims[0] == out && table->dims[1] == in) {
      const float *a = reinterpret_cast<const float *>(w->data);
      const float *b = reinterpret_cast<const float *>(table->data);
      bool same = true;
      for (int64_t v = 0; v < out && same; ++v)
        for (int64_t d = 0; d < in; ++d)
          if (std::memcmp(&a[d * out + v], &b[v * in + d], 4) != 0) { same = false; break; }
      if (same) {
        r.notes.push_back("lm_head weight '" + w->name + "' is the transposed token embedding '" +
                          table->name + "': tied, one copy kept");
        r.droppedInitializers.push_back(w->name);
        op.weight = table->name;
        op.weightTransposed = true;
        continue;
      }
    }
    // Untied [in, out] weight: store it transposed as the head's table.
    DerivedWeight dw = DerivedWeight::transposed(w->name + ".T", w->data, in, out);
    r.droppedInitializers.push_back(w->name);
    op.weight = dw.name;
    op.weightTransposed = true;
    r.derived.push_back(std::move(dw));
  }
}

bool Raiser::run(std::string &error) {
  (void)error;
  if (g.sequenceSymbol() >= 0) {
    // The graph found the token ids and the past inputs it reads (none: -1).
    seqSym = g.sequenceSymbol();
    pastSym = g.pastSymbol();
    batchSym = g.batchSymbol();
  } else {
    seqSym = symbolOrNeg({"sequence", "sequence_length", "seq_len", "seq", "s"});
    pastSym = symbolOrNeg({"past_sequence", "past_sequence_length", "past_seq_len", "past"});
    batchSym = symbolOrNeg({"batch", "batch_size", "b"});
  }
  if (seqSym < 0) {
    // Fall back to the second dimension of the first 2-D integer input.
    for (const Value &v : g.values())
      if (v.kind == Value::Input && v.rank() == 2 && !v.shape[1].isConstant()) {
        for (size_t s = 0; s < g.symbolNames().size(); ++s)
          if (v.shape[1] == SymInt::symbol(static_cast<int>(s))) seqSym = static_cast<int>(s);
        break;
      }
  }
  raiseEmbeddings();
  raiseLayerNorms();
  raiseLinears();
  raiseAttention();
  widenGemms(); // attention outputs now have their merged [B, S, D] shape
  raiseGelus();
  raiseAdds();
  raiseLMHead();
  return true;
}

} // namespace

DerivedWeight DerivedWeight::transposed(std::string name, const uint8_t *src, int64_t rows,
                                        int64_t cols, int32_t elemType) {
  DerivedWeight d;
  d.name = std::move(name);
  d.elemType = elemType;
  d.dims = {cols, rows};
  size_t es = d.elemBytes();
  d.nbytes = static_cast<size_t>(rows * cols) * es;
  d.fill = [src, rows, cols, es](uint8_t *out) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) std::memcpy(out + (j * rows + i) * es, src + (i * cols + j) * es, es);
  };
  return d;
}

DerivedWeight DerivedWeight::columns(std::string name, const uint8_t *src, int64_t rows,
                                     int64_t cols, int64_t first, int64_t count) {
  DerivedWeight d;
  d.name = std::move(name);
  d.dims = {rows, count};
  d.nbytes = static_cast<size_t>(rows * count) * 4;
  d.fill = [src, rows, cols, first, count](uint8_t *out) {
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(out + r * count * 4, src + (r * cols + first) * 4, static_cast<size_t>(count) * 4);
  };
  return d;
}

bool raiseGraph(const Graph &graph, Raised &raised, std::string &error) {
  Raiser raiser(graph, raised);
  return raiser.run(error);
}

} // namespace import
} // namespace lithe
