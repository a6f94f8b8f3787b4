//===- weights_file.h - reading Lithe weights files ---------------*- C++ -*-===//
//
// Weights never live in the IR. They live in a weights file ("LWT") that the
// compiler reads, the simplification passes rewrite, and the compiled binary
// maps read-only at run time. This component is plain C++17 (no LLVM/MLIR) so
// the runtime can use it too.
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
//
// The runtime owns the format and its reader (compiled binaries map weights
// files with it); the compiler's writer (include/lithe/Weights.h) uses the
// same definitions. Plain C++17.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_WEIGHTS_FILE_H
#define LITHE_RUNTIME_WEIGHTS_FILE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lithe {

/// The file layout, shared by the reader and the writer.
namespace weights_format {
constexpr char kMagic[8] = {'L', 'I', 'T', 'H', 'E', 'W', 'T', '\0'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kAlign = 64;
constexpr uint8_t kMaxRank = 8;
constexpr uint32_t kMaxNameLength = 4096;
constexpr uint64_t kMaxElements = uint64_t(1) << 48;
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t count;
  uint64_t indexOffset, indexBytes, dataOffset, dataBytes, checksum, reserved;
};
static_assert(sizeof(Header) == kHeaderBytes, "header layout");
inline uint64_t alignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
} // namespace weights_format

enum class DType : uint8_t { F32 = 0, F16 = 1, BF16 = 2, I8 = 3, I32 = 4, I64 = 5, I1 = 6 };

/// Bytes per element.
size_t dtypeSize(DType t);
/// "f32", "f16", "bf16", "i8", "i32", "i64", "i1" (the MLIR spelling; i1 is
/// stored one byte per element).
const char *dtypeName(DType t);
/// Inverse of dtypeName; false for an unknown name.
bool parseDType(std::string_view name, DType &out);

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0; // from the start of the data section
  uint64_t nbytes = 0;

  int64_t numElements() const;
};

/// 64-bit content hash used for the file checksum (word-wise, fast enough to
/// hash hundreds of megabytes at write time).
uint64_t contentHash(const void *data, size_t size, uint64_t seed = 0);

/// Index of the first NaN or Inf element of a floating-point tensor, or -1
/// (also for integer dtypes).
int64_t firstNonFinite(DType dtype, const void *data, size_t nbytes);

/// Whether weights may hold NaN or Inf. Off by default: WeightsWriter::add
/// and WeightStore::open refuse such tensors with an error naming them
/// (a non-finite weight makes every output garbage). A process-wide switch
/// so tools can offer one opt-in flag (lithec --allow-non-finite).
void setAllowNonFinite(bool allow);
bool allowNonFinite();

/// A weights file opened read-only and memory-mapped.
class WeightsFile {
public:
  /// Opens and validates `path`. On failure returns null and sets `error` to
  /// a single line that names the file and what is wrong with it.
  static std::unique_ptr<WeightsFile> open(const std::string &path,
                                           std::string &error);
  ~WeightsFile();
  WeightsFile(const WeightsFile &) = delete;
  WeightsFile &operator=(const WeightsFile &) = delete;

  const std::string &path() const { return path_; }
  const std::vector<TensorEntry> &entries() const { return entries_; }
  /// The entry named `name`, or null.
  const TensorEntry *find(std::string_view name) const;
  /// Start of a tensor's bytes (64-byte aligned within the mapping).
  const void *data(const TensorEntry &e) const;
  /// Offset of a tensor's bytes from the start of the file (what compiled
  /// code adds to the address it maps the file at).
  uint64_t fileOffset(const TensorEntry &e) const { return dataOffset_ + e.offset; }
  /// The whole mapping.
  const void *base() const { return map_; }
  size_t size() const { return mapSize_; }
  /// The checksum recorded in the header.
  uint64_t checksum() const { return checksum_; }
  /// Recomputes the checksum over index and data; false (with `error`) if it
  /// differs from the header's, i.e. the file is corrupt.
  bool verifyChecksum(std::string &error) const;

private:
  WeightsFile() = default;
  std::string path_;
  const uint8_t *map_ = nullptr;
  size_t mapSize_ = 0;
  uint64_t indexOffset_ = 0, indexBytes_ = 0, dataOffset_ = 0, dataBytes_ = 0;
  uint64_t checksum_ = 0;
  std::vector<TensorEntry> entries_;
  std::unordered_map<std::string, size_t> byName_;
};

} // namespace lithe

#endif // LITHE_RUNTIME_WEIGHTS_FILE_H
