//===- onnx-reader.cpp - fuzz the .onnx reader and the importer -----------===//
//
// Input: the bytes of an .onnx file (binary protobuf). Runs what
// `lithec --emit=lithe` runs up to the weights file: reading, symbolic shape
// inference, raising and IR emission. Any input may be rejected with an error;
// none may crash, hang or trip a sanitizer.
//
//===----------------------------------------------------------------------===//

#include "ImportTarget.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return lithe_fuzz::importModelFile("model.onnx", data, size);
}
