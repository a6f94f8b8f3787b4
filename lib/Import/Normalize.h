//===- Normalize.h - put exported models in the form raising expects -*- C++ -*-===//
//
// Rewrites of the plain onnx::Model that run before shape inference: node
// order, float16 storage widened to float32, constant DequantizeLinear
// folded, activation quantization refused (see Normalize.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_IMPORT_NORMALIZE_H
#define LITHE_IMPORT_NORMALIZE_H

#include "lithe/OnnxModel.h"

#include <string>
#include <vector>

namespace lithe {
namespace import {

/// Puts `model`'s nodes in topological order (ONNX requires it, but ORT's
/// float16 converter, for one, appends the casts it inserts at the end),
/// keeping the file's order among independent nodes. Nodes whose inputs can
/// never be computed stay at the end in file order, so Graph::build reports
/// the first of them. Returns the number of nodes that moved.
int sortNodesTopologically(onnx::Model &model);

/// float16/bfloat16 tensors, casts and graph inputs become float32; constant
/// int8 weights behind DequantizeLinear are dequantized; models that
/// quantize activations are refused (false, `error` one line naming the
/// node). What was done is appended to `notes`.
/// `useCacheBranch` picks a merged decoder's branch (the with-past one by
/// default: the one compiled).
bool normalizeModel(onnx::Model &model, std::vector<std::string> &notes, std::string &error,
                    bool useCacheBranch = true);

/// Whether `model` is a merged decoder (an If on a use_cache_branch input).
bool hasCacheBranch(const onnx::Model &model);

} // namespace import
} // namespace lithe

#endif // LITHE_IMPORT_NORMALIZE_H
