//===- Reader.cpp - .onnx / .onnxtext into lithe::onnx::Model -------------===//
//
// The only file that sees protobuf. It is built with exceptions (ONNX's
// headers need them) and exposes the plain structs of OnnxModel.h.
//
// Large initializers are not copied: their bytes stay in the parsed protobuf
// (raw_data) or in a memory-mapped external data file, kept alive by the
// Tensor's `owner`.
//
//===----------------------------------------------------------------------===//

#include "lithe/OnnxModel.h"

#include <onnx/defs/parser.h>
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lithe {
namespace onnx {
namespace {

namespace pb = ::onnx;

constexpr int64_t kMaxElements = int64_t(1) << 34; // 16 G elements: absurd

/// A read-only file mapping shared by the tensors that point into it.
struct Mapping {
  const uint8_t *data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data)
      ::munmap(const_cast<uint8_t *>(data), size);
  }
};

struct ReadContext {
  std::string path;
  std::string dir;      // the model's directory, as given
  std::string realDir;  // its canonical path
  std::shared_ptr<pb::ModelProto> proto;
  std::map<std::string, std::shared_ptr<Mapping>> mappings;
  std::string error;

  bool fail(const std::string &why) {
    error = path + ": " + why;
    return false;
  }
};

std::string dirName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return static_cast<bool>(in) || in.eof();
}

/// Maps the external data file `location` (relative to the model directory),
/// refusing paths that escape it.
std::shared_ptr<Mapping> mapExternal(ReadContext &ctx, const std::string &tensor,
                                     const std::string &location) {
  auto refuse = [&](const std::string &why) {
    ctx.fail("initializer '" + tensor + "': external data location '" +
             location + "' " + why);
    return nullptr;
  };
  if (location.empty())
    return refuse("is empty");
  if (location[0] == '/')
    return refuse("is an absolute path (must be relative to the model's directory)");
  std::stringstream parts(location);
  for (std::string part; std::getline(parts, part, '/');)
    if (part == "..")
      return refuse("contains '..' (must stay inside the model's directory)");
  auto it = ctx.mappings.find(location);
  if (it != ctx.mappings.end())
    return it->second;

  std::string full = ctx.dir + "/" + location;
  char resolved[PATH_MAX];
  if (!::realpath(full.c_str(), resolved))
    return refuse(std::string("cannot be opened: ") + std::strerror(errno));
  std::string real = resolved;
  if (real.compare(0, ctx.realDir.size() + 1, ctx.realDir + "/") != 0)
    return refuse("resolves outside the model's directory (symlink)");

  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return refuse(std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return refuse("is not a regular file");
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void *p = ::mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return refuse(std::string("cannot be mapped: ") + std::strerror(errno));
    }
    m->data = static_cast<const uint8_t *>(p);
  }
  ::close(fd);
  ctx.mappings.emplace(location, m);
  return m;
}

/// Appends the little-endian bytes of `v` converted to `T`.
template <typename T, typename Src>
void appendAs(std::vector<uint8_t> &out, Src v) {
  T t = static_cast<T>(v);
  const auto *b = reinterpret_cast<const uint8_t *>(&t);
  out.insert(out.end(), b, b + sizeof(T));
}

bool convertTensor(ReadContext &ctx, const pb::TensorProto &tp, Tensor &t) {
  t.name = tp.name();
  t.elemType = tp.data_type();
  const std::string what = "tensor '" + t.name + "'";
  size_t esize = elemSize(t.elemType);
  if (esize == 0)
    return ctx.fail(what + " has unsupported element type " +
                    std::to_string(t.elemType));
  int64_t n = 1;
  for (int64_t d : tp.dims()) {
    if (d < 0)
      return ctx.fail(what + " has a negative dimension " + std::to_string(d));
    if (d > 0 && n > kMaxElements / d)
      return ctx.fail(what + " has an absurd size (more than 2^34 elements)");
    n *= d;
    t.dims.push_back(d);
  }
  size_t expected = static_cast<size_t>(n) * esize;

  if (tp.data_location() == pb::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : tp.external_data()) {
      char *end = nullptr;
      if (kv.key() == "location") {
        location = kv.value();
      } else if (kv.key() == "offset" || kv.key() == "length") {
        long long v = std::strtoll(kv.value().c_str(), &end, 10);
        if (*end || v < 0)
          return ctx.fail(what + ": bad external data " + kv.key() + " '" +
                          kv.value() + "'");
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    std::shared_ptr<Mapping> m = mapExternal(ctx, t.name, location);
    if (!m)
      return false;
    if (length < 0)
      length = static_cast<int64_t>(expected);
    if (static_cast<size_t>(length) != expected)
      return ctx.fail(what + ": external data length " + std::to_string(length) +
                      " does not match its shape (" + std::to_string(expected) +
                      " bytes)");
    if (static_cast<uint64_t>(offset) > m->size ||
        static_cast<uint64_t>(length) > m->size - offset)
      // Unsigned: offset + length may exceed INT64_MAX.
      return ctx.fail(what + ": external data [" + std::to_string(offset) + ", " +
                      std::to_string(static_cast<uint64_t>(offset) +
                                     static_cast<uint64_t>(length)) +
                      ") lies outside '" + location + "' (" +
                      std::to_string(m->size) + " bytes)");
    t.data = m->data + offset;
    t.nbytes = expected;
    t.owner = m;
    return true;
  }

  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != expected)
      return ctx.fail(what + " has " + std::to_string(tp.raw_data().size()) +
                      " bytes of data, its shape needs " + std::to_string(expected));
    t.data = reinterpret_cast<const uint8_t *>(tp.raw_data().data());
    t.nbytes = expected;
    t.owner = ctx.proto; // raw_data lives in the parsed model
    return true;
  }

  // Typed fields: convert to raw little-endian bytes.
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  bytes->reserve(expected);
  int64_t count = 0;
  switch (t.elemType) {
  case kFloat:
    count = tp.float_data_size();
    for (float v : tp.float_data()) appendAs<float>(*bytes, v);
    break;
  case kDouble:
    count = tp.double_data_size();
    for (double v : tp.double_data()) appendAs<double>(*bytes, v);
    break;
  case kInt64:
    count = tp.int64_data_size();
    for (int64_t v : tp.int64_data()) appendAs<int64_t>(*bytes, v);
    break;
  case kInt32:
    count = tp.int32_data_size();
    for (int32_t v : tp.int32_data()) appendAs<int32_t>(*bytes, v);
    break;
  case kInt8:
    count = tp.int32_data_size();
    for (int32_t v : tp.int32_data()) appendAs<int8_t>(*bytes, v);
    break;
  case kUInt8: case kBool:
    count = tp.int32_data_size();
    for (int32_t v : tp.int32_data()) appendAs<uint8_t>(*bytes, v);
    break;
  case kFloat16: case kBFloat16:
    count = tp.int32_data_size();
    for (int32_t v : tp.int32_data()) appendAs<uint16_t>(*bytes, v);
    break;
  default:
    break;
  }
  if (count != n)
    return ctx.fail(what + " has " + std::to_string(count) +
                    " values, its shape needs " + std::to_string(n));
  t.data = bytes->data();
  t.nbytes = bytes->size();
  t.owner = bytes;
  return true;
}

bool convertValueInfo(ReadContext &ctx, const pb::ValueInfoProto &vi,
                      ValueInfo &out) {
  out.name = vi.name();
  if (!vi.has_type() || !vi.type().has_tensor_type())
    return ctx.fail("graph value '" + vi.name() + "' is not a tensor");
  const auto &tt = vi.type().tensor_type();
  out.elemType = tt.elem_type();
  // The importer has an MLIR type for exactly the element types elemSize
  // knows (an int16 input crashed the emitter; found by fuzz-onnxtext-reader).
  if (elemSize(out.elemType) == 0)
    return ctx.fail("graph value '" + vi.name() + "' has unsupported element type " +
                    std::to_string(out.elemType));
  out.hasShape = tt.has_shape();
  for (const auto &d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > kMaxElements)
        return ctx.fail("graph value '" + vi.name() + "' has an absurd dimension " +
                        std::to_string(d.dim_value()));
      dim.value = d.dim_value();
    } else if (d.has_dim_param()) {
      dim.param = d.dim_param();
    }
    out.shape.push_back(dim);
  }
  return true;
}

bool convertNode(ReadContext &ctx, const pb::NodeProto &np, Node &n);

bool convertAttribute(ReadContext &ctx, const pb::AttributeProto &ap,
                      Attribute &a) {
  a.name = ap.name();
  switch (ap.type()) {
  case pb::AttributeProto::INT: a.kind = Attribute::Int; a.i = ap.i(); break;
  case pb::AttributeProto::FLOAT: a.kind = Attribute::Float; a.f = ap.f(); break;
  case pb::AttributeProto::STRING: a.kind = Attribute::String; a.s = ap.s(); break;
  case pb::AttributeProto::INTS:
    a.kind = Attribute::Ints;
    a.ints.assign(ap.ints().begin(), ap.ints().end());
    break;
  case pb::AttributeProto::FLOATS:
    a.kind = Attribute::Floats;
    a.floats.assign(ap.floats().begin(), ap.floats().end());
    break;
  case pb::AttributeProto::STRINGS:
    a.kind = Attribute::Strings;
    a.strings.assign(ap.strings().begin(), ap.strings().end());
    break;
  case pb::AttributeProto::TENSOR:
    a.kind = Attribute::TensorValue;
    a.t = std::make_shared<Tensor>();
    if (!convertTensor(ctx, ap.t(), *a.t))
      return false;
    break;
  case pb::AttributeProto::GRAPH: {
    a.kind = Attribute::GraphValue;
    a.g = std::make_shared<Subgraph>();
    const pb::GraphProto &gp = ap.g();
    for (const auto &tp : gp.initializer()) {
      Tensor t;
      if (!convertTensor(ctx, tp, t))
        return false;
      a.g->initializers.push_back(std::move(t));
    }
    for (const auto &vi : gp.output()) {
      ValueInfo v;
      if (!convertValueInfo(ctx, vi, v))
        return false;
      a.g->outputs.push_back(std::move(v));
    }
    for (const auto &np : gp.node()) {
      Node n;
      if (!convertNode(ctx, np, n))
        return false;
      a.g->nodes.push_back(std::move(n));
    }
    break;
  }
  default:
    a.kind = Attribute::Other; // sparse tensors, type protos, graph lists
    break;
  }
  return true;
}

bool convertNode(ReadContext &ctx, const pb::NodeProto &np, Node &n) {
  n.name = np.name();
  n.opType = np.op_type();
  n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
  n.inputs.assign(np.input().begin(), np.input().end());
  n.outputs.assign(np.output().begin(), np.output().end());
  for (const auto &ap : np.attribute()) {
    Attribute a;
    if (!convertAttribute(ctx, ap, a))
      return false;
    n.attrs.push_back(std::move(a));
  }
  return true;
}

} // namespace

bool loadModel(const std::string &path, Model &model, std::string &error) {
  ReadContext ctx;
  ctx.path = path;
  ctx.dir = dirName(path);
  char resolved[PATH_MAX];
  if (!::realpath(ctx.dir.c_str(), resolved)) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  ctx.realDir = resolved;

  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    return false;
  }
  std::string bytes;
  if (!readFile(path, bytes)) {
    error = path + ": cannot read: " + std::strerror(errno);
    return false;
  }

  ctx.proto = std::make_shared<pb::ModelProto>();
  if (endsWith(path, ".onnxtext") || endsWith(path, ".onnxtxt")) {
    std::string msg;
    // ONNX's text parser throws on some malformed literals ({1.0,}, 1e999,
    // a 20-digit dimension) instead of returning a status.
    try {
      pb::Status status = pb::OnnxParser::Parse(*ctx.proto, bytes.c_str());
      if (!status.IsOK())
        msg = status.ErrorMessage();
    } catch (const std::exception &e) {
      msg = std::string("malformed or out-of-range number literal (") + e.what() + ")";
    } catch (...) {
      msg = "malformed input";
    }
    if (!msg.empty()) {
      for (char &c : msg)
        if (c == '\n')
          c = ' ';
      error = path + ": not valid ONNX text: " + msg;
      return false;
    }
  } else if (bytes.size() > INT_MAX ||
             !ctx.proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    error = path + ": not an ONNX model (protobuf parsing failed: truncated or not ONNX)";
    return false;
  }
  bytes.clear();
  bytes.shrink_to_fit();

  const pb::ModelProto &mp = *ctx.proto;
  if (!mp.has_graph() || mp.opset_import_size() == 0) {
    error = path + ": not an ONNX model (no graph or no opset import)";
    return false;
  }
  model = Model();
  model.path = path;
  model.irVersion = mp.ir_version();
  model.producer = mp.producer_name();
  for (const auto &op : mp.opset_import())
    model.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  // Checked up front: operators change meaning between opsets, and an opset
  // outside the range the importer knows would fail later on some node with
  // a misleading message (or import with the wrong semantics).
  {
    auto it = model.opsets.find("");
    if (it == model.opsets.end()) {
      error = path + ": no opset imported for the default ONNX domain";
      return false;
    }
    if (it->second < kMinOpset || it->second > kMaxOpset) {
      error = path + ": ONNX opset " + std::to_string(it->second) +
              " is not supported (lithec supports opsets " +
              std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) +
              "; re-export the model with one of them)";
      return false;
    }
  }

  const pb::GraphProto &g = mp.graph();
  if (g.sparse_initializer_size() > 0) {
    error = path + ": sparse initializers are not supported";
    return false;
  }
  std::map<std::string, bool> isInitializer;
  for (const auto &tp : g.initializer()) {
    Tensor t;
    if (!convertTensor(ctx, tp, t)) {
      error = ctx.error;
      return false;
    }
    isInitializer[t.name] = true;
    model.initializers.push_back(std::move(t));
  }
  for (const auto &vi : g.input()) {
    if (isInitializer.count(vi.name()))
      continue;
    ValueInfo v;
    if (!convertValueInfo(ctx, vi, v)) {
      error = ctx.error;
      return false;
    }
    model.inputs.push_back(std::move(v));
  }
  for (const auto &vi : g.output()) {
    ValueInfo v;
    if (!convertValueInfo(ctx, vi, v)) {
      error = ctx.error;
      return false;
    }
    model.outputs.push_back(std::move(v));
  }
  for (const auto &np : g.node()) {
    Node n;
    if (!convertNode(ctx, np, n)) {
      error = ctx.error;
      return false;
    }
    // Cast's target type becomes a value's type: the same rule as inputs.
    for (const Attribute &a : n.attrs)
      if ((n.opType == "Cast" || n.opType == "EyeLike") && (a.name == "to" || a.name == "dtype") &&
          a.kind == Attribute::Int && elemSize(static_cast<int32_t>(a.i)) == 0) {
        error = path + ": node '" + n.name + "' (" + n.opType + "): unsupported element type " +
                std::to_string(a.i);
        return false;
      }
    model.nodes.push_back(std::move(n));
  }
  return true;
}

} // namespace onnx
} // namespace lithe
