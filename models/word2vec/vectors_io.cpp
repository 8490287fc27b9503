/// @file vectors_io.cpp
/// @brief word2vec's text and binary vector files: writing, and reading with errors that
/// say where a file is damaged.

#include "models/word2vec/vectors_io.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <unordered_map>

#include "autograd/error.h"
#include "models/word2vec/corpus.h"
#include "nn/io/atomic_file.h"

namespace zoo::models::word2vec {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/// What no word may hold: the white space that C's `isspace`, and so gensim's readers,
/// split words at.
constexpr std::string_view kWhiteSpace = " \t\r\n\v\f";

/// A float32 from its 4 little-endian bytes, whatever the machine's byte order.
float float_from_le(const char* p) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, p, 4);
  if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
  return std::bit_cast<float>(bits);
}

void append_le(std::string& out, float x) {
  auto bits = std::bit_cast<std::uint32_t>(x);
  if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap32(bits);
  char b[4];
  std::memcpy(b, &bits, 4);
  out.append(b, 4);
}

/// Splits off the next blank-separated field of `line`; empty at the end.
std::string_view next_field(std::string_view& line) {
  std::size_t a = 0;
  while (a < line.size() && is_blank(line[a])) ++a;
  std::size_t b = a;
  while (b < line.size() && !is_blank(line[b])) ++b;
  const std::string_view f = line.substr(a, b - a);
  line.remove_prefix(b);
  return f;
}

/// The header `V D`; `pos` moves past its line break.
std::pair<std::int64_t, std::int64_t> parse_header(std::string_view bytes, const std::string& name, std::size_t& pos) {
  const std::size_t end = bytes.find('\n');
  ZOO_CHECK(end != std::string_view::npos, "{}:1: no header line ('WORDS DIMENSION' and a line break){}", name,
            bytes.empty() ? ": the file is empty" : "");
  std::string_view line = bytes.substr(0, end);
  const std::string_view a = next_field(line), b = next_field(line), rest = next_field(line);
  std::int64_t v = -1, d = -1;
  const auto ok = [](std::string_view f, std::int64_t& x) {
    const auto r = std::from_chars(f.data(), f.data() + f.size(), x);
    return !f.empty() && r.ec == std::errc() && r.ptr == f.data() + f.size();
  };
  ZOO_CHECK(ok(a, v) && ok(b, d) && rest.empty() && v >= 0 && d > 0,
            "{}:1: the header must be 'WORDS DIMENSION' (two whole numbers, dimension > 0), found '{}'", name,
            bytes.substr(0, std::min<std::size_t>(end, 80)));
  pos = end + 1;
  return {v, d};
}

/// What both readers share: the header, the vectors filled so far, the words seen.
struct Reading {
  WordVectors out;
  std::int64_t count = 0;  // V, as the header announces it
  std::size_t pos = 0;     // where the entries start, then where the reader is
  std::unordered_map<std::string, std::int64_t> seen;

  /// Reads the header of `bytes`, in a format whose values take at least
  /// `bytes_per_value` bytes each (2 in text: a blank and a digit; 4 in binary).
  Reading(std::string_view bytes, const std::string& name, std::int64_t bytes_per_value) {
    const auto [V, D] = parse_header(bytes, name, pos);
    // An entry takes at least 2 bytes (a one-letter word, and a space or a line break)
    // plus its values; the last line break may be missing. A header announcing more than
    // the file can hold is damaged, and must not make the reader reserve gigabytes.
    const auto room = static_cast<std::int64_t>(bytes.size() - pos) + 1;
    ZOO_CHECK(D <= room, "{}:1: the header announces dimension {}, more than the {} bytes after it can hold "
              "(is the file cut short?)", name, D, room - 1);
    const std::int64_t entry_bytes = 2 + bytes_per_value * D;
    ZOO_CHECK(V <= room / entry_bytes,
              "{}:1: the header announces {} words of dimension {}, each at least {} bytes, more than the {} bytes "
              "after it can hold (is the file cut short?)",
              name, V, D, entry_bytes, room - 1);
    count = V;
    out.dim = D;
    out.words.reserve(static_cast<std::size_t>(V));
    out.values.reserve(static_cast<std::size_t>(V * D));
  }

  /// Registers the next entry's word; a word seen before, or holding white space that
  /// the writer refuses, is an error naming `where`.
  void add_word(std::string_view word, const std::string& where) {
    const std::size_t space = word.find_first_of(kWhiteSpace);
    ZOO_CHECK(space == std::string_view::npos,
              "{}: the word '{}' holds white space (byte {:#04x} at position {}), which other readers split words at",
              where, word.substr(0, space), static_cast<int>(word[space]), space);
    const auto [it, added] = seen.try_emplace(std::string(word), out.size());
    ZOO_CHECK(added, "{}: the word '{}' appears twice (entries {} and {})", where, word, it->second + 1,
              out.size() + 1);
    out.words.emplace_back(word);
  }
};

WordVectors parse_text(std::string_view bytes, const std::string& name) {
  Reading r(bytes, name, 2);
  WordVectors& out = r.out;
  std::size_t& pos = r.pos;
  const std::int64_t V = r.count, D = out.dim;
  std::int64_t line_number = 1;
  while (pos < bytes.size()) {
    const std::size_t end = std::min(bytes.find('\n', pos), bytes.size());
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    const std::string_view word = next_field(line);
    if (word.empty()) continue;  // a blank line (a trailing one, say)
    const std::string where = fmt::format("{}:{}", name, line_number);
    ZOO_CHECK(out.size() < V, "{}: more entries than the {} the header announces", where, V);
    r.add_word(word, where);
    std::int64_t k = 0;
    for (std::string_view f = next_field(line); !f.empty(); f = next_field(line), ++k) {
      ZOO_CHECK(k < D, "{}: more than the {} values the header announces after '{}'", where, D, word);
      float x = 0;
      const auto r = std::from_chars(f.data(), f.data() + f.size(), x);
      ZOO_CHECK(r.ec == std::errc() && r.ptr == f.data() + f.size() && std::isfinite(x),
                "{}: value {} of '{}' is '{}', not a finite number", where, k + 1, word, f);
      out.values.push_back(x);
    }
    ZOO_CHECK(k == D, "{}: '{}' has {} values, the header announces {}", where, word, k, D);
  }
  ZOO_CHECK(out.size() == V, "{}: {} entries, but the header announces {} (is the file cut short?)", name, out.size(), V);
  return std::move(out);
}

WordVectors parse_binary(std::string_view bytes, const std::string& name) {
  Reading r(bytes, name, 4);
  WordVectors& out = r.out;
  std::size_t& pos = r.pos;
  const std::int64_t V = r.count, D = out.dim;
  const auto vector_bytes = static_cast<std::size_t>(4 * D);
  for (std::int64_t i = 0; i < V; ++i) {
    while (pos < bytes.size() && bytes[pos] == '\n') ++pos;  // the line break that ends the previous entry
    const std::size_t space = bytes.find(' ', pos);
    ZOO_CHECK(pos < bytes.size(), "{}: the file ends at byte {} after {} of the {} entries the header announces", name,
              pos, i, V);
    ZOO_CHECK(space != std::string_view::npos,
              "{}: byte offset {}: the file is cut short in the word of entry {} of {} (no space after it)", name, pos,
              i + 1, V);
    ZOO_CHECK(space - pos <= 4096 &&
                  bytes.substr(pos, space - pos).find('\n') == std::string_view::npos && space > pos,
              "{}: byte offset {}: entry {} of {} should be a word and a space, found none (a damaged or text file?)",
              name, pos, i + 1, V);
    const std::string_view word = bytes.substr(pos, space - pos);
    r.add_word(word, fmt::format("{}: byte offset {}", name, pos));
    pos = space + 1;
    ZOO_CHECK(bytes.size() - pos >= vector_bytes,
              "{}: byte offset {}: the file is cut short: '{}' (entry {} of {}) needs {} bytes of vector, {} are left",
              name, pos, word, i + 1, V, vector_bytes, bytes.size() - pos);
    for (std::int64_t k = 0; k < D; ++k) {
      const float x = float_from_le(bytes.data() + pos + 4 * static_cast<std::size_t>(k));
      ZOO_CHECK(std::isfinite(x), "{}: byte offset {}: value {} of '{}' is not a finite number", name,
                pos + 4 * static_cast<std::size_t>(k), k + 1, word);
      out.values.push_back(x);
    }
    pos += vector_bytes;
  }
  while (pos < bytes.size() && (bytes[pos] == '\n' || bytes[pos] == '\r')) ++pos;
  ZOO_CHECK(pos == bytes.size(), "{}: byte offset {}: {} more bytes after the {} entries the header announces", name,
            pos, bytes.size() - pos, V);
  return std::move(out);
}

}  // namespace

VectorFormat detect_format(std::string_view bytes) {
  // The first entry's line, after its word: in a text file, D numbers and nothing else.
  // Raw float bytes practically never read as D numbers followed by a line break.
  std::size_t pos = 0;
  std::int64_t dim = 0;
  try {
    dim = parse_header(bytes, "", pos).second;
  } catch (const Error&) {
    return VectorFormat::text;  // the text reader reports the bad header
  }
  while (pos < bytes.size() && bytes[pos] == '\n') ++pos;
  const std::size_t space = bytes.find(' ', pos);
  if (space == std::string_view::npos) return VectorFormat::text;  // no entry: nothing to tell
  const std::size_t end = bytes.find('\n', space);
  std::string_view line = bytes.substr(space + 1, end == std::string_view::npos ? std::string_view::npos : end - space - 1);
  std::int64_t fields = 0;
  for (std::string_view f = next_field(line); !f.empty(); f = next_field(line), ++fields) {
    float x = 0;
    const auto r = std::from_chars(f.data(), f.data() + f.size(), x);
    if (r.ec != std::errc() || r.ptr != f.data() + f.size()) return VectorFormat::binary;
  }
  return fields == dim ? VectorFormat::text : VectorFormat::binary;
}

std::string format_vectors(const WordVectors& v, VectorFormat format) {
  ZOO_CHECK(v.dim > 0 && v.values.size() == v.words.size() * static_cast<std::size_t>(v.dim),
            "word2vec: {} words of dimension {} need {} values, not {}", v.words.size(), v.dim,
            v.words.size() * static_cast<std::size_t>(std::max<std::int64_t>(v.dim, 0)), v.values.size());
  std::string out = fmt::format("{} {}\n", v.words.size(), v.dim);
  out.reserve(out.size() + v.words.size() * (format == VectorFormat::binary ? 16 + 4 * v.dim : 16 + 12 * v.dim));
  for (std::int64_t i = 0; i < v.size(); ++i) {
    const std::string& w = v.words[static_cast<std::size_t>(i)];
    ZOO_CHECK(!w.empty() && w.find_first_of(kWhiteSpace) == std::string::npos,
              "word2vec: word {} ('{}') is empty or holds white space: the file could not be read back", i, w);
    out += w;
    if (format == VectorFormat::binary) {
      out += ' ';
      for (const float x : v.row(i)) append_le(out, x);
    } else {
      for (const float x : v.row(i)) fmt::format_to(std::back_inserter(out), " {}", x);  // shortest exact digits
    }
    out += '\n';
  }
  return out;
}

void save_vectors(const std::filesystem::path& path, const WordVectors& vectors, VectorFormat format) {
  nn::write_file_atomically(path, format_vectors(vectors, format));
}

WordVectors parse_vectors(std::string_view bytes, const std::string& name, std::optional<VectorFormat> format) {
  const VectorFormat f = format ? *format : detect_format(bytes);
  return f == VectorFormat::binary ? parse_binary(bytes, name) : parse_text(bytes, name);
}

WordVectors load_vectors(const std::filesystem::path& path, std::optional<VectorFormat> format) {
  return parse_vectors(read_text_file(path), path.string(), format);
}

std::optional<VectorFormat> parse_format_name(std::string_view name) {
  if (name == "text") return VectorFormat::text;
  if (name == "binary") return VectorFormat::binary;
  ZOO_CHECK(name == "auto" || name.empty(), "word2vec: the vectors format must be text, binary or auto, not '{}'", name);
  return std::nullopt;
}

}  // namespace zoo::models::word2vec
