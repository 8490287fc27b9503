#include "nn/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>

#include "autograd/error.h"
#include "nn/io/atomic_file.h"

// Tensors are written and read as their bytes in memory, which is the file's
// little-endian order only on a little-endian machine (x86-64, ARM64 as usually run).
static_assert(std::endian::native == std::endian::little,
              "zoo's safetensors code assumes a little-endian machine");

namespace zoo::nn {
namespace {

/// nlohmann's JSON with keys kept in insertion order, so the header lists the tensors in
/// the order of their data, as the reference implementation writes it.
using Json = nlohmann::ordered_json;

/// Headers larger than this are damaged files (the reference implementation's limit).
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

// ---------------------------------------------------------------------------
// dtypes
// ---------------------------------------------------------------------------

/// The safetensors name of a zoo dtype.
std::string dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
    case DType::Int64:
      return "I64";
    case DType::Bool:
      return "BOOL";
  }
  throw Error("safetensors: unknown dtype");
}

/// The zoo dtype of a safetensors name, if zoo has it.
std::optional<DType> dtype_from_code(const std::string& code) {
  for (DType d : {kFloat32, kFloat64, kInt64, kBool})
    if (dtype_code(d) == code) return d;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// the header
// ---------------------------------------------------------------------------

/// One tensor as the header describes it.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;  ///< first byte, counted from the start of the byte buffer
  std::uint64_t end;    ///< one past the last byte
};

/// The parsed header: tensor entries sorted by offset, and the metadata.
struct Header {
  std::vector<Entry> entries;
  SafetensorsMetadata metadata;
};

/// The value of `key` in a JSON object, or null if it has none.
const Json* field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

/// A JSON value as an error message shows it: a number, string, boolean or null as
/// written, cut to 40 characters; an array or an object by its kind only (printing one
/// whole could fill the message with a large part of the header).
std::string describe(const Json& value) {
  if (value.is_array() || value.is_object()) return fmt::format("a JSON {}", value.type_name());
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

/// A non-negative JSON integer as a uint64, or an error naming `what`.
std::uint64_t unsigned_value(const Json& value, const std::string& where, const char* what) {
  ZOO_CHECK(value.is_number_unsigned(), "{}: {} must be non-negative integers, got {}", where, what,
            describe(value));
  return value.get<std::uint64_t>();
}

/// a * b, or an error if it does not fit in 64 bits.
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& where) {
  ZOO_CHECK(b == 0 || a <= std::numeric_limits<std::uint64_t>::max() / b,
            "{}: its size overflows 64 bits", where);
  return a * b;
}

/// Reads and checks one tensor entry: {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
Entry parse_entry(const std::string& name, const Json& value, const std::string& file) {
  const std::string where = fmt::format("{}: tensor '{}'", file, name);
  ZOO_CHECK(value.is_object(), "{}: its header entry is not a JSON object", where);
  const Json* dtype = field(value, "dtype");
  const Json* shape = field(value, "shape");
  const Json* offsets = field(value, "data_offsets");
  ZOO_CHECK(dtype && dtype->is_string(), "{}: the entry has no \"dtype\" string", where);
  ZOO_CHECK(shape && shape->is_array(), "{}: the entry has no \"shape\" array", where);
  ZOO_CHECK(offsets && offsets->is_array() && offsets->size() == 2,
            "{}: the entry has no \"data_offsets\" pair [begin, end]", where);

  Entry entry;
  entry.name = name;
  const auto code = dtype->get<std::string>();
  const auto zoo_dtype = dtype_from_code(code);
  ZOO_CHECK(zoo_dtype, "{}: unknown or unsupported dtype \"{}\" (zoo reads F32, F64, I64, BOOL)",
            where, code);
  entry.dtype = *zoo_dtype;

  std::uint64_t numel = 1;
  for (const Json& size : *shape) {
    const std::uint64_t s = unsigned_value(size, where, "shape sizes");
    ZOO_CHECK(s <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
              "{}: shape size {} is too large", where, s);
    numel = checked_mul(numel, s, where);
    entry.shape.push_back(static_cast<std::int64_t>(s));
  }
  ZOO_CHECK(shape_fits_in_64_bits(entry.shape),
            "{}: shape {} is too large for a tensor: with each 0 counted as 1 its product "
            "overflows 64 bits",
            where, entry.shape);
  entry.begin = unsigned_value((*offsets)[0], where, "data_offsets");
  entry.end = unsigned_value((*offsets)[1], where, "data_offsets");
  ZOO_CHECK(entry.begin <= entry.end, "{}: data_offsets [{}, {}) end before they begin", where,
            entry.begin, entry.end);
  const std::uint64_t nbytes = checked_mul(numel, element_size(entry.dtype), where);
  ZOO_CHECK(entry.end - entry.begin == nbytes,
            "{}: data_offsets [{}, {}) span {} bytes, but shape {} of {} needs {} ({} elements of "
            "{} bytes)",
            where, entry.begin, entry.end, entry.end - entry.begin, entry.shape, code, nbytes,
            numel, element_size(entry.dtype));
  return entry;
}

/// Parses the header text: JSON, each entry, the metadata; entries sorted by offset.
Header parse_header(const std::string& text, const std::string& file) {
  // nlohmann keeps the last of two equal keys; a parse callback catches a name given
  // twice at the top level (depth 1), which would otherwise hide one tensor.
  // It also refuses nesting deeper than any header has (an entry's shape sits at depth
  // 3): building a value from the callback copies it recursively, once per level, and a
  // hostile header nesting 200,000 levels overflowed the stack (found by fuzzing).
  constexpr int kMaxDepth = 16;
  std::set<std::string> names;
  std::string repeated;
  const auto note_keys = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxDepth)
      throw Error(fmt::format("{}: the header nests JSON values more than {} levels deep", file,
                              kMaxDepth));
    if (event == Json::parse_event_t::key && depth == 1 &&
        !names.insert(parsed.get<std::string>()).second)
      repeated = parsed.get<std::string>();
    return true;
  };
  Json json;
  try {
    json = Json::parse(text, note_keys);
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: the header is not valid JSON ({})", file, e.what()));
  }
  ZOO_CHECK(json.is_object(), "{}: the header is not a JSON object but a JSON {}", file,
            json.type_name());
  ZOO_CHECK(repeated.empty(), "{}: the header names '{}' twice", file, repeated);

  Header header;
  for (const auto& [key, value] : json.items()) {
    if (key != "__metadata__") {
      header.entries.push_back(parse_entry(key, value, file));
      continue;
    }
    ZOO_CHECK(value.is_object(), "{}: __metadata__ is not a JSON object", file);
    for (const auto& [meta_key, meta_value] : value.items()) {
      ZOO_CHECK(meta_value.is_string(), "{}: __metadata__ value of '{}' is not a string: {}", file,
                meta_key, describe(meta_value));
      header.metadata[meta_key] = meta_value.get<std::string>();
    }
  }
  std::sort(header.entries.begin(), header.entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  return header;
}

/// Checks that the byte ranges, sorted by offset, tile the `buffer_size` bytes after the
/// header exactly: inside the buffer, no overlap, no gap, nothing left over.
void check_layout(const std::vector<Entry>& entries, std::uint64_t buffer_size,
                  const std::string& file) {
  std::uint64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    ZOO_CHECK(e.end <= buffer_size,
              "{}: tensor '{}' has data_offsets [{}, {}) past the end of the data, which holds "
              "{} bytes: the file is truncated or the offsets are wrong",
              file, e.name, e.begin, e.end, buffer_size);
    ZOO_CHECK(e.begin >= covered, "{}: the data of tensors '{}' [{}, {}) and '{}' [{}, {}) overlap",
              file, previous->name, previous->begin, previous->end, e.name, e.begin, e.end);
    ZOO_CHECK(e.begin == covered,
              "{}: bytes [{}, {}) of the data belong to no tensor (a gap before tensor '{}')", file,
              covered, e.begin, e.name);
    covered = e.end;
    previous = &e;
  }
  ZOO_CHECK(covered == buffer_size,
            "{}: {} bytes follow the last tensor: the header describes {} bytes of data, the file "
            "holds {}",
            file, buffer_size - covered, covered, buffer_size);
}

/// The text of the current `errno`.
std::string last_error() { return std::system_category().message(errno); }

}  // namespace

// ---------------------------------------------------------------------------
// save
// ---------------------------------------------------------------------------

void save_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata) {
  const std::string file = path.string();

  // The tensors' values as contiguous row-major blocks, larger elements first.
  std::vector<std::pair<std::string, Tensor>> items;
  for (const auto& [name, tensor] : tensors) {
    ZOO_CHECK(tensor.defined(), "{}: cannot save tensor '{}': it is undefined", file, name);
    ZOO_CHECK(!name.empty() && name != "__metadata__",
              "{}: cannot save a tensor named '{}' (names must be non-empty and not "
              "\"__metadata__\")",
              file, name);
    items.emplace_back(name, tensor.detach().contiguous());
  }
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return element_size(a.second.dtype()) > element_size(b.second.dtype());
  });

  // The header: __metadata__ first (if any), then one entry per tensor in data order.
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : items) {
    const std::uint64_t nbytes = tensor.numel() * element_size(tensor.dtype());
    Json entry = Json::object();
    entry["dtype"] = dtype_code(tensor.dtype());
    entry["shape"] = tensor.shape();
    entry["data_offsets"] = Json::array({offset, offset + nbytes});
    header[name] = std::move(entry);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();  // compact: no spaces or newlines
  } catch (const Json::exception& e) {
    throw Error(
        fmt::format("{}: cannot save: a tensor name or metadata string is not valid "
                    "UTF-8 ({})",
                    file, e.what()));
  }
  // Spaces pad the header to a multiple of 8 bytes, so the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFileWriter out(path);
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  out.write(length, sizeof length);
  out.write(text);
  for (const auto& [name, tensor] : items)
    out.write(static_cast<const char*>(tensor.storage().data()) +
                  tensor.offset() * element_size(tensor.dtype()),
              tensor.numel() * element_size(tensor.dtype()));
  out.commit();
}

// ---------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  ZOO_CHECK(in.is_open(), "{}: cannot open: {}", file, last_error());
  std::error_code error;
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  ZOO_CHECK(!error, "{}: cannot read its size: {}", file, error.message());

  // 1. The header length.
  ZOO_CHECK(file_size >= 8,
            "{}: not a safetensors file: at {} bytes it is too short for the 8-byte header "
            "length",
            file, file_size);
  unsigned char length[8];
  in.read(reinterpret_cast<char*>(length), 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | length[i];
  ZOO_CHECK(n <= kMaxHeaderBytes,
            "{}: the header length {} is over the 100 MB limit: the file is damaged or not a "
            "safetensors file",
            file, n);
  ZOO_CHECK(n <= file_size - 8,
            "{}: the header length {} is larger than the {} bytes after it: the file is "
            "truncated or not a safetensors file",
            file, n, file_size - 8);

  // 2. The header, fully checked before any tensor is read.
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  ZOO_CHECK(in.good(), "{}: cannot read the {}-byte header", file, n);
  const Header header = parse_header(text, file);
  check_layout(header.entries, file_size - 8 - n, file);

  // 3. The tensors. Their ranges tile the buffer in this order, so the reads are sequential.
  SafetensorsFile result;
  result.metadata = header.metadata;
  for (const Entry& e : header.entries) {
    Tensor t = empty(e.shape, e.dtype);
    auto* bytes = static_cast<unsigned char*>(t.storage().data());
    const std::uint64_t nbytes = e.end - e.begin;
    in.read(reinterpret_cast<char*>(bytes), static_cast<std::streamsize>(nbytes));
    ZOO_CHECK(in.good(), "{}: cannot read the {} bytes of tensor '{}'", file, nbytes, e.name);
    if (e.dtype == kBool) {  // a C++ bool must hold 0 or 1; anything else is damage
      const auto bad = std::find_if(bytes, bytes + nbytes, [](unsigned char b) { return b > 1; });
      ZOO_CHECK(bad == bytes + nbytes, "{}: tensor '{}' is BOOL but its byte {} is {}, not 0 or 1",
                file, e.name, bad - bytes, static_cast<int>(*bad));
    }
    result.tensors.insert(e.name, t);
  }
  return result;
}

}  // namespace zoo::nn
