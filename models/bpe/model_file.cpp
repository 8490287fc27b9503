/// @file model_file.cpp
/// @brief Writing and reading the `zoo-bpe 1` text format, with line-numbered errors.

#include "models/bpe/model_file.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "autograd/error.h"
#include "models/bpe/utf8.h"
#include "nn/io/atomic_file.h"

namespace zoo::models::bpe {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Reads the file's lines one by one, skipping blank and '#' lines, and words every
/// error as "FILE:LINE: reason".
class LineReader {
 public:
  LineReader(std::string_view text, std::string name) : text_(text), name_(std::move(name)) {}

  /// The next line that is not blank or a comment; nullopt at the end of the file.
  std::optional<std::string_view> next() {
    std::string_view line;
    while (next_line(text_, pos_, line)) {
      ++line_number_;
      if (line.empty() || line.front() == '#') continue;
      return line;
    }
    ++line_number_;
    return std::nullopt;
  }

  /// The next line, which must exist: `expected` says what should have come.
  std::string_view require(const char* expected) {
    const auto line = next();
    if (!line) fail(fmt::format("the file ends early: expected {}", expected));
    return *line;
  }

  [[noreturn]] void fail(const std::string& reason) const {
    throw Error(fmt::format("{}:{}: {}", name_, line_number_, reason));
  }

  /// Splits off the first space-separated word of `line`.
  static std::string_view word(std::string_view& line) {
    const std::size_t space = line.find(' ');
    const std::string_view w = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    return w;
  }

  /// A whole number word of `line`, checked to lie in [lo, hi]; `what` names it.
  std::int64_t integer(std::string_view& line, std::int64_t lo, std::int64_t hi, const std::string& what) {
    const std::string_view w = word(line);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), value);
    if (w.empty() || ec != std::errc() || end != w.data() + w.size())
      fail(fmt::format("expected {} (a whole number), found '{}'", what, w));
    if (value < lo || value > hi) fail(fmt::format("{} is {}, outside [{}, {}]", what, value, lo, hi));
    return value;
  }

  /// A double-quoted escaped string that makes up the rest of `line`.
  std::string quoted(std::string_view line, const std::string& what) {
    if (line.size() < 2 || line.front() != '"' || line.back() != '"')
      fail(fmt::format("expected {} in double quotes, found '{}'", what, line));
    const std::string_view inner = line.substr(1, line.size() - 2);
    // An unescaped quote inside means the line holds more than one string.
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (inner[i] == '\\') ++i;
      else if (inner[i] == '"') fail(fmt::format("unexpected '\"' inside {}", what));
    }
    try {
      return unescape_bytes(inner);
    } catch (const Error& e) {
      fail(fmt::format("{}: {}", what, e.what()));
    }
  }

 private:
  std::string_view text_;
  std::string name_;
  std::size_t pos_ = 0;
  std::int64_t line_number_ = 0;
};

}  // namespace

bool next_line(std::string_view text, std::size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  std::size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) end = text.size();
  line = text.substr(pos, end - pos);
  pos = end + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a file saved on Windows
  return true;
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\\': out += "\\\\"; ++i; continue;
      case '"': out += "\\\""; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    char32_t cp = 0;
    const int len = c >= 0x80 ? utf8_sequence(bytes, i, cp) : 0;
    if (len > 0 && cp >= 0xa0 && cp != 0x2028 && cp != 0x2029 && cp != 0xfeff) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

std::string unescape_bytes(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out += escaped[i];
      continue;
    }
    ZOO_CHECK(i + 1 < escaped.size(), "a lone '\\' at the end");
    const char e = escaped[++i];
    switch (e) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'x': {
        const int hi = i + 1 < escaped.size() ? hex_digit(escaped[i + 1]) : -1;
        const int lo = i + 2 < escaped.size() ? hex_digit(escaped[i + 2]) : -1;
        ZOO_CHECK(hi >= 0 && lo >= 0, "'\\x' must be followed by two hex digits, at character {}", i);
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default: throw Error(fmt::format("unknown escape '\\{}' at character {}", e, i));
    }
  }
  return out;
}

std::string tokenizer_to_text(const Tokenizer& tokenizer) {
  std::string out = fmt::format("zoo-bpe {}\n", kModelFileVersion);
  out += fmt::format("# byte-level BPE: {} merges, vocabulary of {}; format: zoo's models/bpe/model_file.h\n",
                     tokenizer.merges().size(), tokenizer.vocab_size());
  out += fmt::format("pattern \"{}\"\n", escape_bytes(tokenizer.pretokenizer().pattern()));
  if (tokenizer.byte_ids() == identity_byte_ids()) out += "bytes identity\n";
  else out += fmt::format("bytes {}\n", fmt::join(tokenizer.byte_ids(), " "));
  out += fmt::format("merges {}\n", tokenizer.merges().size());
  for (std::size_t r = 0; r < tokenizer.merges().size(); ++r) {
    const Merge m = tokenizer.merges()[r];
    out += fmt::format("{} {} \"{}\"\n", m.left, m.right,
                       escape_bytes(tokenizer.token_bytes(static_cast<TokenId>(256 + r))));
  }
  for (const SpecialToken& s : tokenizer.special_tokens())
    out += fmt::format("special {} \"{}\"\n", s.id, escape_bytes(s.text));
  out += "end\n";
  return out;
}

void save_tokenizer(const Tokenizer& tokenizer, const std::filesystem::path& path) {
  nn::write_file_atomically(path, tokenizer_to_text(tokenizer));
}

Tokenizer tokenizer_from_text(std::string_view text, const std::string& name) {
  LineReader in(text, name);
  // Line 1, exactly: the format and its version.
  const std::string_view first = text.substr(0, text.find('\n'));
  const std::string expected = fmt::format("zoo-bpe {}", kModelFileVersion);
  if (first != expected && first != expected + "\r") {
    if (first.rfind("zoo-bpe ", 0) == 0)
      throw Error(fmt::format("{}:1: unsupported version '{}' (this zoo reads version {})", name,
                              first.substr(8), kModelFileVersion));
    throw Error(fmt::format("{}:1: not a zoo BPE model: the first line should be '{}'", name, expected));
  }
  in.next();

  std::string_view line = in.require("'pattern \"...\"'");
  if (LineReader::word(line) != "pattern") in.fail("expected 'pattern \"...\"'");
  const std::string pattern = in.quoted(line, "the pattern");
  try {
    Pretokenizer check(pattern);
  } catch (const Error& e) {
    in.fail(e.what());
  }

  line = in.require("'bytes identity' or 'bytes' and 256 ids");
  if (LineReader::word(line) != "bytes") in.fail("expected 'bytes identity' or 'bytes' and 256 ids");
  ByteIds byte_ids = identity_byte_ids();
  if (line != "identity") {
    std::vector<bool> seen(256, false);
    for (int b = 0; b < 256; ++b) {
      byte_ids[b] = static_cast<TokenId>(in.integer(line, 0, 255, "a byte's id"));
      if (seen[byte_ids[b]]) in.fail(fmt::format("byte ids repeat id {}: not a permutation of 0..255", byte_ids[b]));
      seen[byte_ids[b]] = true;
    }
    if (!line.empty()) in.fail("more than 256 byte ids");
  }
  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[byte_ids[b]] = std::string(1, static_cast<char>(b));

  line = in.require("'merges N'");
  if (LineReader::word(line) != "merges") in.fail("expected 'merges N'");
  const std::int64_t count = in.integer(line, 0, 100'000'000, "the number of merges");
  std::vector<Merge> merges;
  // No more than the text can hold (a merge line takes at least 8 bytes): a damaged
  // count must end in "the file ends early", not in a reservation of gigabytes.
  merges.reserve(std::min(static_cast<std::size_t>(count), text.size() / 8));
  for (std::int64_t r = 0; r < count; ++r) {
    line = in.require(fmt::format("merge {} of {}", r, count).c_str());
    const std::int64_t id = 256 + r;
    const auto left = static_cast<TokenId>(in.integer(line, 0, id - 1, fmt::format("the left id of merge {}", r)));
    const auto right = static_cast<TokenId>(in.integer(line, 0, id - 1, fmt::format("the right id of merge {}", r)));
    const std::string bytes = in.quoted(line, fmt::format("the token of merge {}", r));
    if (bytes != tokens[left] + tokens[right])
      in.fail(fmt::format("merge {} joins \"{}\" ({}) and \"{}\" ({}), which is not \"{}\"", r,
                          escape_bytes(tokens[left]), left, escape_bytes(tokens[right]), right,
                          escape_bytes(bytes)));
    tokens.push_back(bytes);
    merges.push_back({left, right});
  }
  Tokenizer tokenizer;
  try {
    tokenizer = Tokenizer(std::move(merges), pattern, {}, byte_ids);
  } catch (const Error& e) {
    in.fail(e.what());
  }

  while (true) {
    line = in.require("'special ID \"TEXT\"' or 'end'");
    const std::string_view keyword = LineReader::word(line);
    if (keyword == "end") {
      if (!line.empty()) in.fail(fmt::format("unexpected text after 'end': '{}'", line));
      break;
    }
    if (keyword != "special") in.fail(fmt::format("expected 'special ID \"TEXT\"' or 'end', found '{}'", keyword));
    const auto id = static_cast<TokenId>(in.integer(line, 0, 1'000'000'000, "the special token's id"));
    const std::string special = in.quoted(line, "the special token");
    try {
      tokenizer.add_special_token(special, id);
    } catch (const Error& e) {
      in.fail(e.what());
    }
  }
  if (const auto extra = in.next()) in.fail(fmt::format("unexpected text after 'end': '{}'", *extra));
  return tokenizer;
}

std::string read_file_bytes(const std::filesystem::path& path) {
  // zlib reads plain files as they are and gunzips gzip files.
  gzFile file = gzopen(path.c_str(), "rb");
  ZOO_CHECK(file != nullptr, "bpe: cannot open '{}': {}", path.string(), std::strerror(errno));
  // A 64 KiB buffer on the stack, left uninitialised: a heap buffer of 1 MiB, zeroed on
  // every call, cost far more than reading a small file (the fuzzer's profile).
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const int got = gzread(file, buffer, static_cast<unsigned>(sizeof buffer));
    if (got <= 0) {
      // The end, or an error: a cut-off gzip stream ends with Z_BUF_ERROR set.
      int code = Z_OK;
      const std::string message = gzerror(file, &code);
      if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
        gzclose(file);
        throw Error(fmt::format("bpe: reading '{}' failed: {}", path.string(), message));
      }
      break;
    }
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  gzclose(file);
  return bytes;
}

Tokenizer load_tokenizer(const std::filesystem::path& path) {
  return tokenizer_from_text(read_file_bytes(path), path.string());
}

}  // namespace zoo::models::bpe
