//===- Normalize.cpp - put exported models in the form raising expects ----===//
//
// Exporters differ in ways that do not change what a model computes on the
// CPU target: node order, float16 storage, int8 weights behind
// DequantizeLinear, a merged decoder's If. These rewrites run on the plain
// onnx::Model before shapes are inferred, so the rest of the importer sees
// one form. Models whose arithmetic Lithe does not reproduce (activations
// quantized by QuantizeLinear or DynamicQuantizeLinear) are refused here with
// one line naming the node.
//
//===----------------------------------------------------------------------===//

#include "Normalize.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <queue>
#include <set>

namespace lithe {
namespace import {

namespace {


bool isHalf(int32_t t) { return t == onnx::kFloat16 || t == onnx::kBFloat16; }

/// A float32 tensor owning `values`.
void setFloatData(onnx::Tensor &t, std::vector<float> values) {
  auto owner = std::make_shared<std::vector<float>>(std::move(values));
  t.elemType = onnx::kFloat;
  t.data = reinterpret_cast<const uint8_t *>(owner->data());
  t.nbytes = owner->size() * sizeof(float);
  t.owner = owner;
}

/// float16 / bfloat16 -> float32, in place.
void widen(onnx::Tensor &t) {
  if (!isHalf(t.elemType)) return;
  size_t n = t.nbytes / 2;
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, t.data + 2 * i, 2);
    out[i] = onnx::halfToFloat(h, t.elemType == onnx::kBFloat16);
  }
  setFloatData(t, std::move(out));
}

/// Element `i` of an integer tensor (int8, uint8, int32, int64).
bool intAt(const onnx::Tensor &t, size_t i, int64_t &v) {
  switch (t.elemType) {
  case onnx::kInt8: v = static_cast<int8_t>(t.data[i]); return true;
  case onnx::kUInt8: v = t.data[i]; return true;
  case onnx::kInt32: { int32_t x; std::memcpy(&x, t.data + 4 * i, 4); v = x; return true; }
  case onnx::kInt64: { int64_t x; std::memcpy(&x, t.data + 8 * i, 8); v = x; return true; }
  default: return false;
  }
}

std::string nodeLine(const onnx::Model &m, const onnx::Node &n, const std::string &why) {
  return m.path + ": node " + n.describe() + ": " + why;
}

} // namespace

int sortNodesTopologically(onnx::Model &model) {
  const size_t n = model.nodes.size();
  std::map<std::string, std::vector<size_t>> waiting; // value -> nodes reading it
  std::vector<size_t> missing(n, 0);
  std::set<std::string> available;
  for (const onnx::ValueInfo &v : model.inputs) available.insert(v.name);
  for (const onnx::Tensor &t : model.initializers) available.insert(t.name);
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i) {
    std::set<std::string> need;
    for (const std::string &in : model.nodes[i].inputs)
      if (!in.empty() && !available.count(in)) need.insert(in);
    missing[i] = need.size();
    for (const std::string &in : need) waiting[in].push_back(i);
    if (!missing[i]) ready.push(i);
  }
  std::vector<size_t> order;
  std::vector<bool> placed(n, false);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    placed[i] = true;
    for (const std::string &out : model.nodes[i].outputs) {
      if (out.empty() || !available.insert(out).second) continue;
      for (size_t c : waiting[out])
        if (--missing[c] == 0) ready.push(c);
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (!placed[i]) order.push_back(i);
  int moved = 0;
  for (size_t i = 0; i < n; ++i) moved += order[i] != i;
  if (!moved) return 0;
  std::vector<onnx::Node> sorted;
  sorted.reserve(n);
  for (size_t i : order) sorted.push_back(std::move(model.nodes[i]));
  model.nodes = std::move(sorted);
  return moved;
}

/// Replaces an If whose condition is known (a merged decoder's
/// use_cache_branch input, assumed true; or a constant) by the nodes of the
/// branch it takes.
static bool inlineIfs(onnx::Model &m, bool useCache, std::vector<std::string> &notes,
                      std::string &error) {
  std::vector<onnx::Node> out;
  bool changed = false;
  for (onnx::Node &n : m.nodes) {
    if (n.opType != "If" || !n.domain.empty()) { out.push_back(std::move(n)); continue; }
    const std::string cond = n.inputs.empty() ? "" : n.inputs[0];
    std::optional<bool> value;
    std::string why;
    for (const onnx::ValueInfo &v : m.inputs)
      if (v.name == cond && v.elemType == onnx::kBool && cond.find("use_cache") != std::string::npos) {
        value = useCache;
        why = useCache ? "input '" + cond + "' is assumed true: the with-past branch is compiled (with an empty past it computes what the other branch does)"
                       : "input '" + cond + "' taken as false (the without-past branch)";
      }
    for (const onnx::Tensor &t : m.initializers)
      if (t.name == cond && t.elemType == onnx::kBool && t.nbytes == 1) {
        value = t.data[0] != 0;
        why = "its condition is the constant '" + cond + "'";
      }
    if (!value) {
      error = nodeLine(m, n, "an If whose condition '" + cond +
                             "' depends on input data is not supported (only a merged decoder's "
                             "use_cache_branch or a constant)");
      return false;
    }
    const onnx::Attribute *branch = n.attr(*value ? "then_branch" : "else_branch");
    if (!branch || branch->kind != onnx::Attribute::GraphValue || !branch->g ||
        branch->g->outputs.size() != n.outputs.size()) {
      error = nodeLine(m, n, "its branch is missing or does not match its outputs");
      return false;
    }
    onnx::Subgraph &body = *branch->g;
    for (onnx::Tensor &t : body.initializers) m.initializers.push_back(t);
    for (onnx::Node &b : body.nodes) out.push_back(b);
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty() || body.outputs[o].name == n.outputs[o]) continue;
      onnx::Node id;
      id.name = n.name + "/output" + std::to_string(o);
      id.opType = "Identity";
      id.inputs = {body.outputs[o].name};
      id.outputs = {n.outputs[o]};
      out.push_back(std::move(id));
    }
    notes.push_back("If " + n.describe() + " replaced by its " +
                    (*value ? "then_branch" : "else_branch") + ": " + why);
    changed = true;
  }
  m.nodes = std::move(out);
  // A branch's nodes may read values defined after the If in the file.
  if (changed) sortNodesTopologically(m);
  return true;
}

/// ONNX Runtime's transformer optimizer fuses GPT-2's LayerNorms, residual
/// adds and GELUs into com.microsoft ops. Each is written back as the
/// standard ops it stands for (attributes checked), so raising sees one form:
///   SkipLayerNormalization(x, skip, gamma, beta, bias) -> s = (x + bias) + skip,
///                                                         LayerNormalization(s)
///   FastGelu(x, bias) -> Gelu(x + bias, tanh);  BiasGelu(x, bias) -> Gelu(x + bias)
///   Gelu -> Gelu;  LayerNormalization -> LayerNormalization
/// Fused attention (Attention, MultiHeadAttention, GroupQueryAttention) is
/// left, and reported by name.
static bool expandMicrosoftOps(onnx::Model &m, std::vector<std::string> &notes, std::string &error) {
  std::vector<onnx::Node> out;
  std::map<std::string, int> expanded;
  int fresh = 0;
  auto node = [&](const std::string &name, const char *op, std::vector<std::string> ins,
                  std::vector<std::string> outs) {
    onnx::Node n;
    n.name = name;
    n.opType = op;
    n.inputs = std::move(ins);
    n.outputs = std::move(outs);
    return n;
  };
  for (onnx::Node &n : m.nodes) {
    if (n.domain != "com.microsoft") { out.push_back(std::move(n)); continue; }
    auto in = [&](size_t i) { return i < n.inputs.size() ? n.inputs[i] : std::string(); };
    auto tmp = [&]() { return n.name + "/lithe_" + std::to_string(fresh++); };
    const std::string &op = n.opType;
    if (op == "SkipLayerNormalization" || op == "LayerNormalization") {
      std::string x = in(0);
      if (op == "SkipLayerNormalization") {
        if ((n.outputs.size() > 1 && !n.outputs[1].empty()) || (n.outputs.size() > 2 && !n.outputs[2].empty())) {
          error = nodeLine(m, n, "its mean and inverse-deviation outputs are not supported");
          return false;
        }
        if (!in(4).empty()) {
          std::string b = tmp();
          out.push_back(node(n.name + "/bias", "Add", {x, in(4)}, {b}));
          x = b;
        }
        std::string sum = n.outputs.size() > 3 && !n.outputs[3].empty() ? n.outputs[3] : tmp();
        out.push_back(node(n.name + "/skip", "Add", {x, in(1)}, {sum}));
        onnx::Node ln = node(n.name, "LayerNormalization", {sum, in(2)}, {n.outputs[0]});
        if (!in(3).empty()) ln.inputs.push_back(in(3));
        ln.attrs = n.attrs;
        out.push_back(std::move(ln));
      } else {
        onnx::Node ln = n;
        ln.domain.clear();
        ln.outputs.resize(1);
        out.push_back(std::move(ln));
      }
    } else if (op == "FastGelu" || op == "BiasGelu" || op == "Gelu") {
      std::string x = in(0);
      if (!in(1).empty()) {
        std::string b = tmp();
        out.push_back(node(n.name + "/bias", "Add", {x, in(1)}, {b}));
        x = b;
      }
      onnx::Node gelu = node(n.name, "Gelu", {x}, {n.outputs[0]});
      onnx::Attribute a;
      a.name = "approximate";
      a.kind = onnx::Attribute::String;
      a.s = op == "FastGelu" ? "tanh" : "none";
      gelu.attrs.push_back(a);
      out.push_back(std::move(gelu));
    } else {
      error = nodeLine(m, n, "the com.microsoft operator '" + op + "' is not supported (fused " +
                             "attention from ONNX Runtime's optimizer: import the model from before "
                             "optimization)");
      return false;
    }
    ++expanded[op];
  }
  m.nodes = std::move(out);
  if (!expanded.empty()) {
    std::string list;
    for (const auto &[op, count] : expanded)
      list += (list.empty() ? "" : ", ") + std::to_string(count) + " " + op;
    notes.push_back("com.microsoft ops written as standard ops: " + list);
  }
  return true;
}

bool hasCacheBranch(const onnx::Model &m) {
  for (const onnx::Node &n : m.nodes)
    if (n.opType == "If" && n.domain.empty() && !n.inputs.empty() &&
        n.inputs[0].find("use_cache") != std::string::npos)
      return true;
  return false;
}

bool normalizeModel(onnx::Model &m, std::vector<std::string> &notes, std::string &error,
                    bool useCacheBranch) {
  if (!inlineIfs(m, useCacheBranch, notes, error))
    return false;
  if (!expandMicrosoftOps(m, notes, error))
    return false;
  // --- activation quantization: refused ------------------------------------
  std::set<std::string> initNames;
  for (const onnx::Tensor &t : m.initializers) initNames.insert(t.name);
  std::map<std::string, const onnx::Node *> producer;
  for (const onnx::Node &n : m.nodes)
    for (const std::string &o : n.outputs) producer[o] = &n;
  auto isConstant = [&](const std::string &v) {
    if (initNames.count(v)) return true;
    auto it = producer.find(v);
    return it != producer.end() && it->second->opType == "Constant";
  };
  static const std::set<std::string> dynamicQuant = {
      "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv",
      "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention", "QGemm", "DynamicQuantizeLSTM"};
  for (const onnx::Node &n : m.nodes) {
    if (dynamicQuant.count(n.opType)) {
      error = nodeLine(m, n, "activations quantized at run time (ONNX Runtime's quantize_dynamic) "
                             "are not supported: Lithe keeps activations in float and would not "
                             "reproduce this model; compile the float model and add "
                             "--pipeline=lithe-quantize-weights for int8 weights");
      return false;
    }
    if (n.opType == "QuantizeLinear" && !n.inputs.empty() && !isConstant(n.inputs[0])) {
      error = nodeLine(m, n, "activation quantization (QuantizeLinear of a computed value) is not "
                             "supported: Lithe keeps activations in float; compile the float model "
                             "and add --pipeline=lithe-quantize-weights for int8 weights");
      return false;
    }
  }

  // --- float16 / bfloat16: computed in float32 on the CPU ------------------
  int widened = 0;
  for (onnx::Tensor &t : m.initializers)
    if (isHalf(t.elemType)) { widen(t); ++widened; }
  for (onnx::Node &n : m.nodes)
    for (onnx::Attribute &a : n.attrs) {
      if (a.kind == onnx::Attribute::TensorValue && a.t && isHalf(a.t->elemType)) {
        auto copy = std::make_shared<onnx::Tensor>(*a.t);
        widen(*copy);
        a.t = copy;
        ++widened;
      }
      if (n.opType == "Cast" && a.name == "to" && isHalf(static_cast<int32_t>(a.i))) {
        a.i = onnx::kFloat;
        ++widened;
      }
    }
  for (onnx::ValueInfo &v : m.inputs)
    if (isHalf(v.elemType)) { v.elemType = onnx::kFloat; ++widened; }
  for (onnx::ValueInfo &v : m.outputs)
    if (isHalf(v.elemType)) { v.elemType = onnx::kFloat; ++widened; }
  if (widened)
    notes.push_back("float16/bfloat16 model: its tensors and casts are widened to float32 "
                    "(the CPU target computes in float32)");

  // --- DequantizeLinear of constant weights: folded -------------------------
  std::map<std::string, onnx::Tensor *> inits;
  for (onnx::Tensor &t : m.initializers) inits[t.name] = &t;
  std::vector<onnx::Node> kept;
  std::vector<onnx::Tensor> folded;
  int dequantized = 0, keptInt8 = 0;
  std::map<std::string, std::vector<const onnx::Node *>> readers;
  for (const onnx::Node &n : m.nodes)
    for (const std::string &in : n.inputs) readers[in].push_back(&n);
  // int8 [in, out] weights with one scale per output column and zero points
  // of 0, read only as a MatMul's or Gemm's B: lithe-quantize-weights' own form, kept
  // as int8 for raising (an int8 linear or LM head).
  auto int8Linear = [&](const onnx::Node &n) {
    const onnx::Tensor &q = *inits[n.inputs[0]], &sc = *inits[n.inputs[1]];
    int64_t axis = 1;
    if (const onnx::Attribute *a = n.attr("axis")) axis = a->i < 0 ? a->i + 2 : a->i;
    if (q.elemType != onnx::kInt8 || q.dims.size() != 2 || axis != 1 || sc.elemType != onnx::kFloat ||
        sc.numElements() != q.dims[1] || n.attr("block_size"))
      return false;
    if (n.inputs.size() >= 3 && !n.inputs[2].empty()) {
      const onnx::Tensor &zp = *inits[n.inputs[2]];
      for (size_t i = 0; i < zp.nbytes; ++i)
        if (zp.data[i] != 0) return false;
    }
    auto rs = readers.find(n.outputs[0]);
    if (rs == readers.end()) return false;
    for (const onnx::Node *r : rs->second) {
      if (r->inputs.size() < 2 || r->inputs[1] != n.outputs[0] || r->inputs[0] == n.outputs[0])
        return false;
      if (r->opType == "MatMul") continue;
      // Gemm(A, W, C) with W not transposed and unit alpha/beta (Conv1D).
      auto attrIs = [&](const char *name, double want) {
        const onnx::Attribute *a = r->attr(name);
        return !a || (a->kind == onnx::Attribute::Int ? a->i == want : a->f == want);
      };
      if (r->opType == "Gemm" && attrIs("transA", 0) && attrIs("transB", 0) && attrIs("alpha", 1) &&
          attrIs("beta", 1))
        continue;
      return false;
    }
    return true;
  };
  for (onnx::Node &n : m.nodes) {
    if (n.opType == "DequantizeLinear" && n.inputs.size() >= 2 && inits.count(n.inputs[0]) &&
        inits.count(n.inputs[1]) && (n.inputs.size() < 3 || n.inputs[2].empty() || inits.count(n.inputs[2])) &&
        int8Linear(n)) {
      ++keptInt8;
      kept.push_back(std::move(n));
      continue;
    }
    if (n.opType == "DequantizeLinear" && n.inputs.size() >= 2 && inits.count(n.inputs[0]) &&
        inits.count(n.inputs[1]) && (n.inputs.size() < 3 || n.inputs[2].empty() || inits.count(n.inputs[2]))) {
      const onnx::Tensor &q = *inits[n.inputs[0]], &s = *inits[n.inputs[1]];
      const onnx::Tensor *zp = n.inputs.size() >= 3 && !n.inputs[2].empty() ? inits[n.inputs[2]] : nullptr;
      int64_t rank = static_cast<int64_t>(q.dims.size());
      int64_t axis = 1;
      if (const onnx::Attribute *a = n.attr("axis")) axis = a->i;
      if (axis < 0) axis += rank;
      int64_t count = q.numElements(), ns = s.numElements();
      bool perAxis = ns > 1;
      if (s.elemType != onnx::kFloat || (perAxis && (axis < 0 || axis >= rank || q.dims[axis] != ns)) ||
          (zp && zp->numElements() != ns) || n.attr("block_size")) {
        error = nodeLine(m, n, "only per-tensor or per-axis float scales are supported");
        return false;
      }
      int64_t inner = 1;
      if (perAxis)
        for (int64_t d = axis + 1; d < rank; ++d) inner *= q.dims[d];
      std::vector<float> out(static_cast<size_t>(count));
      const float *scale = reinterpret_cast<const float *>(s.data);
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = perAxis ? (i / inner) % ns : 0, v, z = 0;
        if (!intAt(q, static_cast<size_t>(i), v) || (zp && !intAt(*zp, static_cast<size_t>(c), z))) {
          error = nodeLine(m, n, std::string("unsupported quantized type ") + onnx::elemTypeName(q.elemType));
          return false;
        }
        out[static_cast<size_t>(i)] = static_cast<float>(v - z) * scale[c];
      }
      onnx::Tensor t;
      t.name = n.outputs[0];
      t.dims = q.dims;
      setFloatData(t, std::move(out));
      folded.push_back(std::move(t));
      ++dequantized;
      continue;
    }
    kept.push_back(std::move(n));
  }
  m.nodes = std::move(kept);
  if (keptInt8)
    notes.push_back(std::to_string(keptInt8) +
                    " int8 weights behind DequantizeLinear (one scale per output channel, zero "
                    "point 0) are kept as int8: lithe-quantize-weights' form");
  if (dequantized) {
    for (onnx::Tensor &t : folded) m.initializers.push_back(std::move(t));
    notes.push_back(std::to_string(dequantized) +
                    " weights behind DequantizeLinear (per tensor, asymmetric or not read as a "
                    "MatMul weight) were dequantized to float32 at import (add "
                    "--pipeline=lithe-quantize-weights to store int8)");
  }
  return true;
}

} // namespace import
} // namespace lithe
