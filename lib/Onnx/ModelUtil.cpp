//===- ModelUtil.cpp - protobuf-free helpers of OnnxModel.h ---------------===//

#include "lithe/OnnxModel.h"

#include <cmath>
#include <cstring>

namespace lithe {
namespace onnx {

float halfToFloat(uint16_t h, bool bfloat) {
  if (bfloat) {
    uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(frac), -24);
  else if (exp == 31)
    v = frac ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(frac + 1024), exp - 25);
  return sign ? -v : v;
}

size_t elemSize(int32_t t) {
  switch (t) {
  case kFloat: case kInt32: return 4;
  case kInt64: case kDouble: return 8;
  case kUInt8: case kInt8: case kBool: return 1;
  case kFloat16: case kBFloat16: return 2;
  default: return 0;
  }
}

const char *elemTypeName(int32_t t) {
  switch (t) {
  case kFloat: return "float";
  case kUInt8: return "uint8";
  case kInt8: return "int8";
  case kInt32: return "int32";
  case kInt64: return "int64";
  case kBool: return "bool";
  case kFloat16: return "float16";
  case kDouble: return "double";
  case kBFloat16: return "bfloat16";
  default: return "unsupported";
  }
}

std::string Node::describe() const {
  std::string n = name.empty() ? (outputs.empty() ? std::string("<unnamed>")
                                                  : "<producing " + outputs[0] + ">")
                               : name;
  return "'" + n + "' (" + (domain.empty() ? "" : domain + ":") + opType + ")";
}

} // namespace onnx
} // namespace lithe
