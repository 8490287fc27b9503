/// @file gpt2.cpp
/// @brief `bytes_to_unicode`, reading `vocab.bpe`, checking `encoder.json`.

#include "models/bpe/gpt2.h"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "autograd/error.h"
#include "models/bpe/model_file.h"
#include "models/bpe/utf8.h"

namespace zoo::models::bpe {
namespace {

/// The bytes in `bytes_to_unicode`'s order: the printable ones ('!'..'~', '¡'..'¬',
/// '®'..'ÿ') first, as themselves; then the rest in byte order, as U+0100, U+0101, ...
std::array<unsigned char, 256> gpt2_byte_order() {
  std::array<unsigned char, 256> order{};
  std::array<bool, 256> printable{};
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    printable[b] = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    if (printable[b]) order[n++] = static_cast<unsigned char>(b);
  }
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) order[n++] = static_cast<unsigned char>(b);
  return order;
}

/// A string of GPT-2's files back to bytes; false if a character is not in the table.
bool gpt2_string_to_bytes(std::string_view s, std::string& bytes) {
  static const std::unordered_map<char32_t, unsigned char> inverse = [] {
    std::unordered_map<char32_t, unsigned char> m;
    const auto table = gpt2_byte_to_unicode();
    for (int b = 0; b < 256; ++b) m[table[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  bytes.clear();
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = static_cast<unsigned char>(s[i]);
    const int len = cp < 0x80 ? 1 : utf8_sequence(s, i, cp);
    if (len == 0) return false;
    const auto it = inverse.find(cp);
    if (it == inverse.end()) return false;
    bytes += static_cast<char>(it->second);
    i += static_cast<std::size_t>(len);
  }
  return true;
}

/// The JSON integer `value` as an id if it is in [0, size), else -1. Compared before it
/// is converted: `get<TokenId>` would wrap 4294967296 to 0. JSON parses numbers >= 0
/// as unsigned, and numbers built in C++ from an `int` are signed.
TokenId id_below(const nlohmann::json& value, TokenId size) {
  if (value.is_number_unsigned())
    return value.get<std::uint64_t>() < static_cast<std::uint64_t>(size) ? value.get<TokenId>() : -1;
  const auto id = value.get<std::int64_t>();
  return id >= 0 && id < size ? static_cast<TokenId>(id) : -1;
}

}  // namespace

std::array<char32_t, 256> gpt2_byte_to_unicode() {
  const auto order = gpt2_byte_order();
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int i = 0; i < 256; ++i) {
    const unsigned char b = order[i];
    const bool printable = i < 188;  // the first 188 of the order map to themselves
    table[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return table;
}

ByteIds gpt2_byte_ids() {
  const auto order = gpt2_byte_order();
  ByteIds ids{};
  for (int i = 0; i < 256; ++i) ids[order[i]] = static_cast<TokenId>(i);
  return ids;
}

std::string gpt2_token_string(std::string_view bytes) {
  static const auto table = gpt2_byte_to_unicode();
  std::string out;
  for (const char c : bytes) append_utf8(out, table[static_cast<unsigned char>(c)]);
  return out;
}

Tokenizer gpt2_from_vocab_bpe(std::string_view text, const std::string& name) {
  const ByteIds byte_ids = gpt2_byte_ids();
  std::unordered_map<std::string, TokenId> id_of;  // token bytes -> id
  for (int b = 0; b < 256; ++b) id_of[std::string(1, static_cast<char>(b))] = byte_ids[b];

  std::vector<Merge> merges;
  std::size_t pos = 0, line_number = 0;
  std::string left, right;
  std::string_view line;
  while (next_line(text, pos, line)) {
    ++line_number;
    if (line_number == 1) {
      ZOO_CHECK(line.rfind("#version", 0) == 0,
                "{}:1: not GPT-2's vocab.bpe: the first line should be '#version: 0.2'", name);
      continue;
    }
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    ZOO_CHECK(space != std::string_view::npos && line.find(' ', space + 1) == std::string_view::npos,
              "{}:{}: expected two tokens separated by one space, found '{}'", name, line_number, line);
    ZOO_CHECK(gpt2_string_to_bytes(line.substr(0, space), left) &&
                  gpt2_string_to_bytes(line.substr(space + 1), right),
              "{}:{}: '{}' holds a character outside GPT-2's byte table", name, line_number, line);
    const auto l = id_of.find(left), r = id_of.find(right);
    ZOO_CHECK(l != id_of.end() && r != id_of.end(), "{}:{}: merge '{}' uses a token not made by an earlier line",
              name, line_number, line);
    const auto id = static_cast<TokenId>(256 + merges.size());
    const bool fresh = id_of.emplace(left + right, id).second;
    ZOO_CHECK(fresh, "{}:{}: merge '{}' makes a token an earlier line made", name, line_number, line);
    merges.push_back({l->second, r->second});
  }
  Tokenizer tokenizer(std::move(merges), std::string(kGpt2Pattern), {}, byte_ids);
  tokenizer.add_special_token("<|endoftext|>");
  return tokenizer;
}

Tokenizer load_gpt2(const std::filesystem::path& vocab_bpe) {
  return gpt2_from_vocab_bpe(read_file_bytes(vocab_bpe), vocab_bpe.string());
}

void check_gpt2_encoder(const Tokenizer& tokenizer, const nlohmann::json& encoder, bool complete,
                        const std::string& name) {
  ZOO_CHECK(encoder.is_object(), "{}: expected a JSON object of token -> id, not a JSON {}", name,
            encoder.type_name());
  std::string bytes;
  for (const auto& [token, value] : encoder.items()) {
    // The type, not the value: dumping a deeply nested array would overflow the stack.
    ZOO_CHECK(value.is_number_integer(), "{}: the id of '{}' is not an integer but a JSON {}", name, token,
              value.type_name());
    const auto id = id_below(value, tokenizer.vocab_size());
    ZOO_CHECK(id >= 0, "{}: '{}' has id {}, outside the tokenizer's {} ids", name, token, value.dump(),
              tokenizer.vocab_size());
    ZOO_CHECK(tokenizer.has_token(id), "{}: '{}' has id {}, which the tokenizer lacks", name, token, id);
    const bool special = token.size() > 1 && token.front() == '<' && token.back() == '>';
    if (special && tokenizer.token_bytes(id) == token) continue;  // <|endoftext|>
    ZOO_CHECK(gpt2_string_to_bytes(token, bytes) && tokenizer.token_bytes(id) == bytes,
              "{}: '{}' has id {}, but id {} is '{}' in the tokenizer", name, token, id, id,
              gpt2_token_string(tokenizer.token_bytes(id)));
  }
  if (complete)
    ZOO_CHECK(encoder.size() == static_cast<std::size_t>(tokenizer.vocab_size()), "{}: {} tokens, the tokenizer has {}",
              name, encoder.size(), tokenizer.vocab_size());
}

void check_gpt2_encoder_file(const Tokenizer& tokenizer, const std::filesystem::path& encoder_json, bool complete) {
  const std::string name = encoder_json.string();
  // A parse callback sees every key of the top-level object (depth 1) before JSON
  // keeps only the last of two equal ones.
  std::unordered_set<std::string> tokens;
  std::string repeated;
  const auto note_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && repeated.empty() &&
        !tokens.insert(parsed.get<std::string>()).second)
      repeated = parsed.get<std::string>();
    return true;
  };
  nlohmann::json encoder;
  try {
    encoder = nlohmann::json::parse(read_file_bytes(encoder_json), note_keys);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", name, e.what()));
  }
  ZOO_CHECK(repeated.empty(), "{}: the token '{}' is given twice", name, repeated);
  check_gpt2_encoder(tokenizer, encoder, complete, name);
}

}  // namespace zoo::models::bpe
