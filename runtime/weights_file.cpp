//===- weights_file.cpp - read Lithe weights files ------------------------===//

#include "lithe/runtime/weights_file.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lithe {
using namespace weights_format;
namespace {

bool gAllowNonFinite = false;

/// Bounds-checked reader over the index section.
struct Cursor {
  const uint8_t *p, *end;
  template <typename T> bool read(T &v) {
    if (static_cast<size_t>(end - p) < sizeof(T))
      return false;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return true;
  }
};

std::string sysError() { return std::strerror(errno); }

} // namespace

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F16: return 2;
  case DType::BF16: return 2;
  case DType::I8: return 1;
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::I1: return 1;
  }
  return 0;
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I8: return "i8";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::I1: return "i1";
  }
  return "?";
}

bool parseDType(std::string_view name, DType &out) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::I32,
                  DType::I64, DType::I1})
    if (name == dtypeName(t)) {
      out = t;
      return true;
    }
  return false;
}

int64_t TensorEntry::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint64_t contentHash(const void *data, size_t size, uint64_t seed) {
  // A multiply-rotate hash over 64-bit words, then the tail bytes.
  const uint64_t k = 0x9E3779B97F4A7C15ull;
  uint64_t h = seed ^ (size * k);
  const auto *p = static_cast<const uint8_t *>(data);
  size_t words = size / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    h ^= w * k;
    h = (h << 27) | (h >> 37);
    h = h * 5 + 0x52DCE729;
  }
  for (size_t i = words * 8; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001B3ull;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

void setAllowNonFinite(bool allow) { gAllowNonFinite = allow; }
bool allowNonFinite() { return gAllowNonFinite; }

int64_t firstNonFinite(DType dtype, const void *data, size_t nbytes) {
  const auto *b = static_cast<const uint8_t *>(data);
  switch (dtype) {
  case DType::F32: {
    // All exponent bits set: Inf or NaN.
    for (size_t i = 0; i + 4 <= nbytes; i += 4) {
      uint32_t w;
      std::memcpy(&w, b + i, 4);
      if ((w & 0x7F800000u) == 0x7F800000u)
        return static_cast<int64_t>(i / 4);
    }
    return -1;
  }
  case DType::F16:
  case DType::BF16: {
    uint16_t mask = dtype == DType::F16 ? 0x7C00 : 0x7F80;
    for (size_t i = 0; i + 2 <= nbytes; i += 2) {
      uint16_t w;
      std::memcpy(&w, b + i, 2);
      if ((w & mask) == mask)
        return static_cast<int64_t>(i / 2);
    }
    return -1;
  }
  default:
    return -1;
  }
}

//===----------------------------------------------------------------------===//
// WeightsFile
//===----------------------------------------------------------------------===//

std::unique_ptr<WeightsFile> WeightsFile::open(const std::string &path,
                                               std::string &error) {
  auto fail = [&](const std::string &why) {
    error = path + ": " + why;
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open weights file: " + sysError());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail("cannot stat weights file: " + sysError());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < kHeaderBytes) {
    ::close(fd);
    return fail("not a Lithe weights file (too short for the header)");
  }
  void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    return fail("cannot map weights file: " + sysError());

  std::unique_ptr<WeightsFile> file(new WeightsFile());
  file->path_ = path;
  file->map_ = static_cast<const uint8_t *>(map);
  file->mapSize_ = size;

  Header h;
  std::memcpy(&h, map, sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0)
    return fail("not a Lithe weights file (bad magic)");
  if (h.version != kVersion)
    return fail("unsupported weights file version " +
                std::to_string(h.version) + " (expected " +
                std::to_string(kVersion) + ")");
  if (h.indexOffset < kHeaderBytes || h.indexOffset > size ||
      h.indexBytes > size - h.indexOffset || h.dataOffset > size ||
      h.dataBytes > size - h.dataOffset || h.dataOffset % kAlign != 0)
    return fail("truncated or corrupt weights file (sections out of bounds)");
  file->indexOffset_ = h.indexOffset;
  file->indexBytes_ = h.indexBytes;
  file->dataOffset_ = h.dataOffset;
  file->dataBytes_ = h.dataBytes;
  file->checksum_ = h.checksum;

  Cursor c{file->map_ + h.indexOffset, file->map_ + h.indexOffset + h.indexBytes};
  // Each index entry takes at least 25 bytes (a one-character name, rank 0):
  // a count the index cannot hold is corruption, not a reason to reserve
  // gigabytes.
  constexpr uint64_t kMinEntryBytes = 4 + 1 + 4 + 8 + 8;
  if (h.count > h.indexBytes / kMinEntryBytes)
    return fail("corrupt header: " + std::to_string(h.count) +
                " tensors cannot fit an index of " + std::to_string(h.indexBytes) +
                " bytes");
  file->entries_.reserve(h.count);
  for (uint32_t i = 0; i < h.count; ++i) {
    TensorEntry e;
    uint32_t nameLen;
    uint8_t dtype, rank;
    uint16_t zero;
    if (!c.read(nameLen) || nameLen == 0 || nameLen > kMaxNameLength ||
        static_cast<size_t>(c.end - c.p) < nameLen)
      return fail("corrupt index at tensor " + std::to_string(i));
    e.name.assign(reinterpret_cast<const char *>(c.p), nameLen);
    c.p += nameLen;
    if (!c.read(dtype) || !c.read(rank) || !c.read(zero) ||
        dtype > static_cast<uint8_t>(DType::I1) || rank > kMaxRank)
      return fail("corrupt index entry for tensor '" + e.name + "'");
    e.dtype = static_cast<DType>(dtype);
    uint64_t elements = 1;
    for (uint8_t r = 0; r < rank; ++r) {
      int64_t d;
      if (!c.read(d) || d < 0 || (d > 0 && elements > kMaxElements / d))
        return fail("bad shape for tensor '" + e.name + "'");
      e.shape.push_back(d);
      elements *= static_cast<uint64_t>(d);
    }
    if (!c.read(e.offset) || !c.read(e.nbytes))
      return fail("corrupt index entry for tensor '" + e.name + "'");
    if (e.nbytes != elements * dtypeSize(e.dtype))
      return fail("tensor '" + e.name + "' has " + std::to_string(e.nbytes) +
                  " bytes, its shape needs " +
                  std::to_string(elements * dtypeSize(e.dtype)));
    if (e.offset % kAlign != 0 || e.offset > h.dataBytes ||
        e.nbytes > h.dataBytes - e.offset)
      return fail("tensor '" + e.name + "' lies outside the data section");
    if (!file->byName_.emplace(e.name, file->entries_.size()).second)
      return fail("tensor '" + e.name + "' appears twice");
    file->entries_.push_back(std::move(e));
  }
  return file;
}

WeightsFile::~WeightsFile() {
  if (map_)
    ::munmap(const_cast<uint8_t *>(map_), mapSize_);
}

const TensorEntry *WeightsFile::find(std::string_view name) const {
  auto it = byName_.find(std::string(name));
  return it == byName_.end() ? nullptr : &entries_[it->second];
}

const void *WeightsFile::data(const TensorEntry &e) const {
  return map_ + dataOffset_ + e.offset;
}

bool WeightsFile::verifyChecksum(std::string &error) const {
  uint64_t h = contentHash(map_ + indexOffset_, indexBytes_);
  for (const TensorEntry &e : entries_)
    h = contentHash(data(e), e.nbytes, h);
  if (h != checksum_) {
    error = path_ + ": checksum mismatch (file is corrupt)";
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// WeightsWriter
//===----------------------------------------------------------------------===//

} // namespace lithe
