//===- Weights.h - the Lithe weights file --------------------------*- C++ -*-===//
//
// Weights never live in the IR. They live in a weights file ("LWT") that the
// compiler reads, the simplification passes rewrite, and the compiled binary
// maps read-only at run time. This component is plain C++17 (no LLVM/MLIR) so
// the runtime can use it too. The format and the reader belong to the
// runtime (lithe/runtime/weights_file.h); the writer is the compiler's.
//
// Layout (little-endian):
//   header   64 bytes: magic "LITHEWT\0", u32 version, u32 tensor count,
//            u64 index offset, u64 index bytes, u64 data offset,
//            u64 data bytes, u64 checksum (contentHash chained over the
//            index, then each tensor in index order), u64 reserved
//   index    per tensor: u32 name length, name bytes, u8 dtype, u8 rank,
//            u16 zero, i64 dims[rank], u64 offset (from data start), u64 bytes
//   data     each tensor starts on a 64-byte boundary
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_WEIGHTS_H
#define LITHE_WEIGHTS_H

#include "lithe/runtime/weights_file.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lithe {

/// Collects tensors and writes a weights file atomically (temporary file in
/// the same directory, then rename), so a failed write leaves nothing behind.
class WeightsWriter {
public:
  /// Adds a tensor, copying `nbytes` bytes from `data`. Returns false (with
  /// `error`) on a duplicate name, a size that does not match the shape,
  /// more than 2^48 elements, or (unless allowNonFinite()) a NaN or Inf.
  bool add(std::string name, DType dtype, std::vector<int64_t> shape,
           const void *data, size_t nbytes, std::string &error);
  /// Adds a tensor without copying it: `data` must stay valid until write()
  /// (a mapped model file, say). Checked like add().
  bool addBorrowed(std::string name, DType dtype, std::vector<int64_t> shape,
                   const void *data, size_t nbytes, std::string &error);
  /// Adds a tensor of `nbytes` that `fill` produces into a buffer of that
  /// size when write() reaches it (packed weights): one such tensor is in
  /// memory at a time. Checked (non-finite values) when produced.
  using Producer = std::function<bool(uint8_t *out, std::string &error)>;
  bool addGenerated(std::string name, DType dtype, std::vector<int64_t> shape, size_t nbytes,
                    Producer fill, std::string &error);
  /// Writes the file in one pass over the tensors (temp file, renamed at the
  /// end), so copies, borrowed and generated tensors alike are read once.
  bool write(const std::string &path, std::string &error) const;
  size_t size() const { return tensors_.size(); }

private:
  struct Pending {
    TensorEntry entry;
    std::vector<uint8_t> bytes;        // a copy (add)
    const uint8_t *borrowed = nullptr; // or the caller's bytes (addBorrowed)
    Producer produce;                  // or made at write time (addGenerated)
  };
  bool check(TensorEntry &e, std::string name, DType dtype, std::vector<int64_t> shape,
             size_t nbytes, std::string &error);
  std::vector<Pending> tensors_;
  std::unordered_map<std::string, size_t> byName_;
};

} // namespace lithe

#endif // LITHE_WEIGHTS_H
