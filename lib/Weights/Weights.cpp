//===- Weights.cpp - write Lithe weights files ----------------------------===//

#include "lithe/Weights.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace lithe {
using namespace weights_format;
namespace {

void appendBytes(std::vector<uint8_t> &out, const void *p, size_t n) {
  const auto *b = static_cast<const uint8_t *>(p);
  out.insert(out.end(), b, b + n);
}
template <typename T> void appendPod(std::vector<uint8_t> &out, T v) {
  appendBytes(out, &v, sizeof(T));
}

std::string sysError() { return std::strerror(errno); }

} // namespace

bool WeightsWriter::check(TensorEntry &e, std::string name, DType dtype,
                          std::vector<int64_t> shape, size_t nbytes, std::string &error) {
  if (name.empty() || name.size() > kMaxNameLength) {
    error = "weights: tensor name must have 1 to 4096 characters";
    return false;
  }
  if (shape.size() > kMaxRank) {
    error = "weights: tensor '" + name + "' has rank " +
            std::to_string(shape.size()) + ", at most 8 is supported";
    return false;
  }
  e.name = std::move(name);
  e.dtype = dtype;
  e.shape = std::move(shape);
  for (int64_t d : e.shape)
    if (d < 0) {
      error = "weights: tensor '" + e.name + "' has a negative dimension";
      return false;
    }
  // The limit readers enforce (2^48 elements), checked without overflow.
  uint64_t elements = 1;
  for (int64_t d : e.shape) {
    if (d > 0 && elements > kMaxElements / static_cast<uint64_t>(d)) {
      error = "weights: tensor '" + e.name + "' has more than 2^48 elements";
      return false;
    }
    elements *= static_cast<uint64_t>(d);
  }
  e.nbytes = elements * dtypeSize(dtype);
  if (e.nbytes != nbytes) {
    error = "weights: tensor '" + e.name + "' has " + std::to_string(nbytes) +
            " bytes, its shape needs " + std::to_string(e.nbytes);
    return false;
  }
  if (byName_.count(e.name)) {
    error = "weights: tensor '" + e.name + "' added twice";
    return false;
  }
  return true;
}

namespace {
bool finite(const TensorEntry &e, const void *data, size_t nbytes, std::string &error) {
  if (allowNonFinite()) return true;
  int64_t bad = firstNonFinite(e.dtype, data, nbytes);
  if (bad < 0) return true;
  error = "weights: tensor '" + e.name + "' has a non-finite value (NaN or Inf) at element " +
          std::to_string(bad);
  return false;
}
} // namespace

bool WeightsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape,
                        const void *data, size_t nbytes, std::string &error) {
  Pending p;
  if (!check(p.entry, std::move(name), dtype, std::move(shape), nbytes, error) ||
      !finite(p.entry, data, nbytes, error))
    return false;
  const auto *b = static_cast<const uint8_t *>(data);
  p.bytes.assign(b, b + nbytes);
  byName_.emplace(p.entry.name, tensors_.size());
  tensors_.push_back(std::move(p));
  return true;
}

bool WeightsWriter::addBorrowed(std::string name, DType dtype, std::vector<int64_t> shape,
                                const void *data, size_t nbytes, std::string &error) {
  Pending p;
  if (!check(p.entry, std::move(name), dtype, std::move(shape), nbytes, error) ||
      !finite(p.entry, data, nbytes, error))
    return false;
  p.borrowed = static_cast<const uint8_t *>(data);
  byName_.emplace(p.entry.name, tensors_.size());
  tensors_.push_back(std::move(p));
  return true;
}

bool WeightsWriter::addGenerated(std::string name, DType dtype, std::vector<int64_t> shape,
                                 size_t nbytes, Producer fill, std::string &error) {
  Pending p;
  if (!check(p.entry, std::move(name), dtype, std::move(shape), nbytes, error)) return false;
  p.produce = std::move(fill);
  byName_.emplace(p.entry.name, tensors_.size());
  tensors_.push_back(std::move(p));
  return true;
}

bool WeightsWriter::write(const std::string &path, std::string &error) const {
  // Lay out the data section and build the index.
  std::vector<uint8_t> index;
  uint64_t dataBytes = 0;
  std::vector<uint64_t> offsets;
  for (const Pending &p : tensors_) {
    uint64_t offset = alignUp(dataBytes);
    offsets.push_back(offset);
    dataBytes = offset + p.entry.nbytes;
    const TensorEntry &e = p.entry;
    appendPod<uint32_t>(index, static_cast<uint32_t>(e.name.size()));
    appendBytes(index, e.name.data(), e.name.size());
    appendPod<uint8_t>(index, static_cast<uint8_t>(e.dtype));
    appendPod<uint8_t>(index, static_cast<uint8_t>(e.shape.size()));
    appendPod<uint16_t>(index, 0);
    for (int64_t d : e.shape)
      appendPod<int64_t>(index, d);
    appendPod<uint64_t>(index, offset);
    appendPod<uint64_t>(index, e.nbytes);
  }
  dataBytes = alignUp(dataBytes);

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.count = static_cast<uint32_t>(tensors_.size());
  h.indexOffset = kHeaderBytes;
  h.indexBytes = index.size();
  h.dataOffset = alignUp(kHeaderBytes + index.size());
  h.dataBytes = dataBytes;

  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = path + ": cannot write weights file: " + sysError();
    return false;
  }
  static const uint8_t zeros[kAlign] = {};
  auto writeBytes = [&](const void *p, size_t n) {
    return n == 0 || std::fwrite(p, n, 1, f) == 1;
  };
  // One pass: the header goes first with the checksum still open, every
  // tensor is hashed as it is written (generated ones made just then), and
  // the header is rewritten at the end. The checksum covers the index, then
  // each tensor's bytes in index order.
  uint64_t checksum = contentHash(index.data(), index.size());
  bool ok = writeBytes(&h, sizeof(h)) && writeBytes(index.data(), index.size()) &&
            writeBytes(zeros, h.dataOffset - kHeaderBytes - index.size());
  uint64_t written = 0;
  std::vector<uint8_t> scratch;
  std::string why;
  for (size_t i = 0; ok && i < tensors_.size(); ++i) {
    const Pending &p = tensors_[i];
    const uint8_t *data = p.borrowed ? p.borrowed : p.bytes.data();
    if (p.produce) {
      scratch.assign(p.entry.nbytes, 0);
      if (!p.produce(scratch.data(), why) || !finite(p.entry, scratch.data(), scratch.size(), why)) {
        ok = false;
        break;
      }
      data = scratch.data();
    }
    checksum = contentHash(data, p.entry.nbytes, checksum);
    ok = writeBytes(zeros, offsets[i] - written) && writeBytes(data, p.entry.nbytes);
    written = offsets[i] + p.entry.nbytes;
  }
  scratch = {};
  ok = ok && writeBytes(zeros, dataBytes - written);
  h.checksum = checksum;
  ok = ok && std::fseek(f, 0, SEEK_SET) == 0 && writeBytes(&h, sizeof(h));
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = why.empty() ? path + ": cannot write weights file: " + sysError() : why;
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace lithe
