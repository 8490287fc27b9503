#include "nn/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <limits>
#include <system_error>

#include "autograd/error.h"
#include "nn/io/atomic_file.h"

namespace zoo::nn {
namespace {

/// Files with more dims than this are damaged (MNIST has 1 or 3).
constexpr int kMaxDims = 8;

/// A file read through zlib. `gzread` decompresses a gzip file (it recognises the
/// 1f 8b magic) and passes any other file through unchanged, so one reader serves both.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    ZOO_CHECK(file_ != nullptr, "{}: cannot open: {}", path, std::system_category().message(errno));
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// True if the file is gzip-compressed.
  bool compressed() { return gzdirect(file_) == 0; }

  /// Reads up to `n` bytes into `dst`; returns how many it read. Fewer than `n` means
  /// the data ended, or was damaged: then `damage()` says how.
  std::size_t read(void* dst, std::size_t n) {
    std::size_t total = 0;
    while (total < n && damage_.empty()) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1 << 30));
      const int got = gzread(file_, static_cast<char*>(dst) + total, chunk);
      if (got <= 0) {  // the end, or an error: a cut gzip stream ends "cleanly" with one set
        int code = Z_OK;
        const char* message = gzerror(file_, &code);
        if (code != Z_OK) damage_ = message;
        // zlib starts its message with the path, which the caller's message names already.
        if (damage_.starts_with(path_ + ": ")) damage_.erase(0, path_.size() + 2);
        break;
      }
      total += static_cast<std::size_t>(got);
    }
    return total;
  }

  /// zlib's description of damaged gzip data ("unexpected end of file", ...), or "".
  const std::string& damage() const { return damage_; }

 private:
  std::string path_;
  gzFile file_;
  std::string damage_;
};

/// The name of an IDX type byte, or null if the byte is no IDX type.
const char* idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

/// A big-endian unsigned integer of `Bytes` bytes.
template <int Bytes>
std::uint64_t big_endian(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < Bytes; ++i) v = (v << 8) | p[i];
  return v;
}

/// " (zlib: ...)" when the gzip stream was damaged, else "".
std::string damage_note(const GzReader& in) {
  return in.damage().empty() ? "" : fmt::format(" (zlib: {})", in.damage());
}

}  // namespace

std::size_t idx_element_size(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  throw Error("idx_element_size: unknown IDX type");
}

IdxFile read_idx(const std::filesystem::path& path) {
  IdxFile idx;
  idx.path = path.string();
  const std::string& file = idx.path;
  GzReader in(file);
  const char* form = in.compressed() ? "decompressed " : "";

  // The magic: 00 00, the type byte, the number of dims.
  std::uint8_t magic[4];
  const std::size_t got_magic = in.read(magic, 4);
  ZOO_CHECK(got_magic == 4, "{}: not an IDX file: {} {}bytes is too short for the 4-byte magic{}",
            file, got_magic, form, damage_note(in));
  ZOO_CHECK(magic[0] == 0 && magic[1] == 0,
            "{}: not an IDX file: it starts with {:02x} {:02x}, not 00 00", file, magic[0],
            magic[1]);
  const char* type_name = idx_type_name(magic[2]);
  ZOO_CHECK(type_name != nullptr,
            "{}: unknown IDX element type 0x{:02x} (known: 08, 09, 0b, 0c, 0d, 0e)", file,
            magic[2]);
  idx.type = static_cast<IdxType>(magic[2]);
  const int ndims = magic[3];
  ZOO_CHECK(ndims >= 1 && ndims <= kMaxDims,
            "{}: the IDX header announces {} dims (1 to {} allowed)", file, ndims, kMaxDims);

  // The sizes, big-endian signed 32-bit integers.
  std::uint8_t sizes[4 * kMaxDims];
  const std::size_t got_sizes = in.read(sizes, 4 * ndims);
  ZOO_CHECK(got_sizes == static_cast<std::size_t>(4 * ndims),
            "{}: truncated IDX header: {} dims need {} bytes of sizes, the file has {}{}", file,
            ndims, 4 * ndims, got_sizes, damage_note(in));
  std::uint64_t payload = idx_element_size(idx.type);
  for (int d = 0; d < ndims; ++d) {
    const auto size = static_cast<std::int32_t>(big_endian<4>(sizes + 4 * d));
    ZOO_CHECK(size >= 0, "{}: the IDX header gives dim {} the negative size {}", file, d, size);
    idx.shape.push_back(size);
    // Each size is below 2^31, so the product overflows only after several dims.
    ZOO_CHECK(size == 0 || payload <= std::numeric_limits<std::uint64_t>::max() / size,
              "{}: the IDX sizes {} describe more data than fits in 64 bits", file, idx.shape);
    payload *= static_cast<std::uint64_t>(size);
  }
  ZOO_CHECK(shape_fits_in_64_bits(idx.shape),
            "{}: the IDX sizes {} are too large for a tensor: with each 0 counted as 1 their "
            "product overflows 64 bits",
            file, idx.shape);
  const std::uint64_t header = 4 + 4 * static_cast<std::uint64_t>(ndims);

  // The elements, read in chunks, so that a damaged header announcing terabytes fails
  // at the end of the real data rather than at a huge allocation. The chunks start at
  // 64 KiB and double up to 16 MiB: a 20-byte file whose header announces a gigabyte
  // then costs 64 KiB, not 16 MiB zeroed for nothing (the fuzzer's slowest inputs).
  std::uint64_t chunk = 64 << 10;
  while (idx.data.size() < payload) {
    const std::size_t have = idx.data.size();
    const std::size_t want = static_cast<std::size_t>(std::min(payload - have, chunk));
    idx.data.resize(have + want);
    const std::size_t got = in.read(idx.data.data() + have, want);
    idx.data.resize(have + got);
    if (got < want) break;
    chunk = std::min<std::uint64_t>(2 * chunk, 16 << 20);
  }
  ZOO_CHECK(idx.data.size() == payload,
            "{}: truncated IDX file: the header ({}, shape {}) announces {} bytes in all, the "
            "{}file has {}{}",
            file, type_name, idx.shape, header + payload, form, header + idx.data.size(),
            damage_note(in));

  // Nothing may follow the elements.
  std::uint64_t extra = 0;
  std::uint8_t rest[4096];
  for (std::size_t got; (got = in.read(rest, sizeof rest)) > 0;) extra += got;
  ZOO_CHECK(extra == 0 && in.damage().empty(),
            "{}: unexpected data after the IDX elements: the header ({}, shape {}) announces {} "
            "bytes in all, the {}file has {}{}",
            file, type_name, idx.shape, header + payload, form, header + payload + extra,
            damage_note(in));
  return idx;
}

void write_idx(const std::filesystem::path& path, const IdxFile& idx, bool compress) {
  const std::string file = path.string();
  ZOO_CHECK(idx_type_name(static_cast<std::uint8_t>(idx.type)) != nullptr,
            "{}: cannot write unknown IDX type 0x{:02x}", file, static_cast<int>(idx.type));
  ZOO_CHECK(!idx.shape.empty() && idx.shape.size() <= kMaxDims, "{}: cannot write {} dims", file,
            idx.shape.size());
  std::string bytes = {0, 0, static_cast<char>(idx.type), static_cast<char>(idx.shape.size())};
  for (std::int64_t size : idx.shape) {
    ZOO_CHECK(size >= 0 && size <= std::numeric_limits<std::int32_t>::max(),
              "{}: size {} does not fit an IDX header", file, size);
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(size >> shift));
  }
  ZOO_CHECK(static_cast<std::uint64_t>(numel_of(idx.shape)) * idx_element_size(idx.type) ==
                idx.data.size(),
            "{}: {} bytes of data do not match shape {}", file, idx.data.size(), idx.shape);
  bytes.append(idx.data.begin(), idx.data.end());
  if (!compress) {
    write_file_atomically(path, bytes);
    return;
  }
  gzFile out = gzopen(file.c_str(), "wb");
  ZOO_CHECK(out != nullptr, "{}: cannot create: {}", file, std::system_category().message(errno));
  const int written = gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int closed = gzclose(out);
  ZOO_CHECK(written == static_cast<int>(bytes.size()) && closed == Z_OK,
            "{}: cannot write the gzip data", file);
}

Tensor idx_to_tensor(const IdxFile& idx) {
  const std::uint8_t* p = idx.data.data();
  const std::int64_t n = numel_of(idx.shape);
  ZOO_CHECK(static_cast<std::uint64_t>(n) * idx_element_size(idx.type) == idx.data.size(),
            "{}: IDX data of {} bytes does not match shape {}", idx.path, idx.data.size(),
            idx.shape);
  auto convert = [&](DType dtype, auto element) {
    Tensor t = empty(idx.shape, dtype);
    auto* out = t.data_ptr<decltype(element(p))>();
    const std::size_t size = idx_element_size(idx.type);
    for (std::int64_t i = 0; i < n; ++i) out[i] = element(p + i * size);
    return t;
  };
  using I64 = std::int64_t;
  switch (idx.type) {
    case IdxType::UInt8:
      return convert(kInt64, [](const std::uint8_t* q) { return I64{q[0]}; });
    case IdxType::Int8:
      return convert(kInt64,
                     [](const std::uint8_t* q) { return I64{static_cast<std::int8_t>(q[0])}; });
    case IdxType::Int16:
      return convert(kInt64, [](const std::uint8_t* q) {
        return I64{static_cast<std::int16_t>(big_endian<2>(q))};
      });
    case IdxType::Int32:
      return convert(kInt64, [](const std::uint8_t* q) {
        return I64{static_cast<std::int32_t>(big_endian<4>(q))};
      });
    case IdxType::Float32:
      return convert(kFloat32, [](const std::uint8_t* q) {
        return std::bit_cast<float>(static_cast<std::uint32_t>(big_endian<4>(q)));
      });
    case IdxType::Float64:
      return convert(kFloat64,
                     [](const std::uint8_t* q) { return std::bit_cast<double>(big_endian<8>(q)); });
  }
  throw Error(fmt::format("{}: unknown IDX type", idx.path));
}

Tensor idx_images_to_float(const IdxFile& idx) {
  ZOO_CHECK(idx.type == IdxType::UInt8 && idx.shape.size() == 3,
            "{}: expected images, unsigned bytes of shape (N, rows, cols), got {} dims of type "
            "0x{:02x}, shape {}",
            idx.path, idx.shape.size(), static_cast<int>(idx.type), idx.shape);
  Tensor images = empty({idx.shape[0], 1, idx.shape[1], idx.shape[2]}, kFloat32);
  float* out = images.data_ptr<float>();
  for (std::size_t i = 0; i < idx.data.size(); ++i)
    out[i] = static_cast<float>(idx.data[i]) / 255.0f;
  return images;
}

Tensor idx_labels(const IdxFile& idx) {
  ZOO_CHECK(idx.type == IdxType::UInt8 && idx.shape.size() == 1,
            "{}: expected labels, unsigned bytes of shape (N), got {} dims of type 0x{:02x}, "
            "shape {}",
            idx.path, idx.shape.size(), static_cast<int>(idx.type), idx.shape);
  return idx_to_tensor(idx);
}

}  // namespace zoo::nn
