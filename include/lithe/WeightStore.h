//===- WeightStore.h - weights that passes read and rewrite -------*- C++ -*-===//
//
// The tensors a lithe module's `lithe.weight` ops name: a mapped weights file
// plus the tensors passes create (folded LayerNorm scales, pruned heads,
// fused adapters, int8 copies). Passes never change a tensor in place; they
// put a new one under a fresh name and point the IR at it, so the module is
// always consistent with the store.
//
// One store is attached to an MLIRContext (setWeightStore); when none is,
// getWeightStore opens the file the module's `lithe.weights` attribute names.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_WEIGHTSTORE_H
#define LITHE_WEIGHTSTORE_H

#include "lithe/Weights.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lithe {

class WeightStore {
public:
  /// Opens `path` (may be empty: a store with only new tensors).
  static std::shared_ptr<WeightStore> open(const std::string &path, std::string &error);

  struct View {
    DType dtype;
    std::vector<int64_t> shape;
    const void *data;
    size_t nbytes;
  };
  /// Whether there is a tensor `name` (without making a generated one).
  bool contains(const std::string &name) const;
  /// The tensor `name` (new tensors shadow the file's), or nullopt.
  std::optional<View> get(const std::string &name) const;
  /// f32 tensors as a float pointer with the expected element count, or
  /// nullptr (with `error` naming the weight) when missing or mistyped.
  const float *getF32(const std::string &name, int64_t elements, std::string &error) const;
  /// Adds a tensor; returns its name (`base` if free, else `base.1`, ...).
  std::string put(const std::string &base, DType dtype, std::vector<int64_t> shape,
                  std::vector<uint8_t> bytes);
  std::string putF32(const std::string &base, std::vector<int64_t> shape,
                     const std::vector<float> &values);
  /// Adds a tensor computed from others (a weight in a kernel's packed
  /// layout, say) under exactly `name`, replacing an earlier one of that
  /// name: `fill` writes its `nbytes` while a file is written (one tensor in
  /// memory at a time), or on the first get(). Whatever `fill` reads must
  /// outlive the store.
  void putGenerated(const std::string &name, DType dtype, std::vector<int64_t> shape, size_t nbytes,
                    WeightsWriter::Producer fill);
  /// Adds the tensor `name` to `writer` under `as`: borrowed (the store
  /// outlives the write) or, when generated and not made yet, made while
  /// the file is written.
  bool addTo(WeightsWriter &writer, const std::string &name, const std::string &as, std::string &error) const;
  /// Whether this store's `name` and `other`'s `otherName` have the same
  /// type, shape and bytes (generated tensors not made yet are made, one at
  /// a time, to compare).
  bool sameTensor(const std::string &name, const WeightStore &other, const std::string &otherName) const;
  /// Writes the named tensors to a new weights file (atomically).
  bool write(const std::string &path, const std::vector<std::string> &names,
             std::string &error) const;
  const std::string &path() const { return path_; }
  /// False (with `error` naming the tensor) if one of `names` that a pass
  /// added holds a NaN or Inf (an overflowing fused adapter, say); the
  /// file's tensors were checked by open(). Unless allowNonFinite().
  bool checkFinite(const std::vector<std::string> &names, std::string &error) const;

private:
  std::string path_;
  std::unique_ptr<WeightsFile> file_;
  struct Owned {
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::map<std::string, Owned> added_;
  struct Generated {
    DType dtype;
    std::vector<int64_t> shape;
    size_t nbytes;
    WeightsWriter::Producer fill;
  };
  std::map<std::string, Generated> generated_;
  /// Generated tensors someone read (get): made once, kept.
  mutable std::map<std::string, std::vector<uint8_t>> materialized_;
};

/// Attaches `store` to `ctx` (what lithec does after importing).
void setWeightStore(mlir::MLIRContext *ctx, std::shared_ptr<WeightStore> store);
/// The store attached to the module's context, or the module's weights file
/// (relative paths resolved against `dir`, default the current directory),
/// opened and attached. Null with `error` when there is neither.
std::shared_ptr<WeightStore> getWeightStore(mlir::ModuleOp module, std::string &error,
                                            const std::string &dir = "");

/// Names of the weights `module` references (lithe.weight and
/// lithe_k.weight), in first-use order.
std::vector<std::string> referencedWeights(mlir::ModuleOp module);

} // namespace lithe

#endif // LITHE_WEIGHTSTORE_H
