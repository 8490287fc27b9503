// The tokenizer's text file: escaped strings round-trip exactly, a saved tokenizer loads
// back to the same one, and a damaged file fails with its line and the reason.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "bpe_test_util.h"
#include "models/bpe/gpt2.h"

using namespace zoo;
using namespace zoo::models::bpe;
namespace fs = std::filesystem;

namespace {

void require_same(const Tokenizer& a, const Tokenizer& b) {
  REQUIRE(a.merges() == b.merges());
  REQUIRE(a.pretokenizer().pattern() == b.pretokenizer().pattern());
  REQUIRE(a.byte_ids() == b.byte_ids());
  REQUIRE(a.vocab_size() == b.vocab_size());
  REQUIRE(a.special_tokens().size() == b.special_tokens().size());
  for (std::size_t i = 0; i < a.special_tokens().size(); ++i) {
    REQUIRE(a.special_tokens()[i].text == b.special_tokens()[i].text);
    REQUIRE(a.special_tokens()[i].id == b.special_tokens()[i].id);
  }
}

/// Line number `line` (1-based) of `text`.
std::string line_of(const std::string& text, int line) {
  std::size_t begin = 0;
  for (int i = 1; i < line; ++i) begin = text.find('\n', begin) + 1;
  return text.substr(begin, text.find('\n', begin) - begin);
}

/// `text` with its line number `line` (1-based) replaced by `replacement`.
std::string replace_line(const std::string& text, int line, const std::string& replacement) {
  std::size_t begin = 0;
  for (int i = 1; i < line; ++i) begin = text.find('\n', begin) + 1;
  return text.substr(0, begin) + replacement + text.substr(begin + line_of(text, line).size());
}

}  // namespace

TEST_CASE("bpe: escaped strings are readable and round-trip exactly", "[bpe]") {
  CHECK(escape_bytes(" the") == " the");
  CHECK(escape_bytes("café 中") == "café 中");
  CHECK(escape_bytes(std::string("a\"b\\\n\t\r") + '\0' + "\x7f") == "a\\\"b\\\\\\n\\t\\r\\x00\\x7f");
  CHECK(escape_bytes("\xc3") == "\\xc3");          // half of an é
  CHECK(escape_bytes("\xc2\x85") == "\\xc2\\x85");  // U+0085, a control character
  CHECK(escape_bytes("\xe2\x80\xa8") == "\\xe2\\x80\\xa8");  // U+2028 would break a line
  CHECK(escape_bytes("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate: not UTF-8
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const std::string s = test::random_text(rng, static_cast<std::size_t>(i % 50));
    const std::string e = escape_bytes(s);
    REQUIRE(e.find('\n') == std::string::npos);
    REQUIRE(unescape_bytes(e) == s);
  }
  REQUIRE_THROWS_WITH(unescape_bytes("\\q"), Catch::Matchers::Contains("unknown escape '\\q'"));
  REQUIRE_THROWS_WITH(unescape_bytes("\\x4"), Catch::Matchers::Contains("two hex digits"));
}

TEST_CASE("bpe: a saved tokenizer loads back the same, and encodes the same", "[bpe]") {
  const Tokenizer trained = test::brown_tokenizer();
  const fs::path path = fs::temp_directory_path() / "zoo-test-bpe.model";
  save_tokenizer(trained, path);
  const Tokenizer loaded = load_tokenizer(path);
  require_same(trained, loaded);
  const std::string text = test::brown_sample();
  REQUIRE(loaded.encode(text) == trained.encode(text));

  const std::string file = tokenizer_to_text(trained);
  CHECK(file.rfind("zoo-bpe 1\n", 0) == 0);
  CHECK(file.find("\nbytes identity\n") != std::string::npos);
  CHECK(file.find("\nmerges 300\n") != std::string::npos);
  CHECK(file.find("\nspecial 556 \"<|endoftext|>\"\nend\n") != std::string::npos);

  // GPT-2's byte order is written out as 256 ids.
  const Tokenizer gpt2 = load_gpt2(std::string(ZOO_TEST_DATA_DIR) + "/bpe/gpt2_vocab.bpe.gz");
  require_same(gpt2, tokenizer_from_text(tokenizer_to_text(gpt2), "gpt2"));
}

TEST_CASE("bpe: a damaged model file fails with the file, the line and the reason", "[bpe]") {
  const Tokenizer trained = test::brown_tokenizer();
  const std::string good = tokenizer_to_text(trained);
  // Line 1 "zoo-bpe 1", 2 a comment, 3 pattern, 4 bytes, 5 "merges 300", 6.. merges,
  // 306 the special token, 307 "end".
  REQUIRE(good.find("\nmerges 300\n") != std::string::npos);
  const auto m0 = trained.merges()[0];
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello\n" + good, "m:1: not a zoo BPE model"},
      {replace_line(good, 1, "zoo-bpe 2"), "m:1: unsupported version '2'"},
      {replace_line(good, 3, "patern \"x\""), "m:3: expected 'pattern"},
      {replace_line(good, 3, "pattern \"\\q\""), "m:3: the pattern: unknown escape"},
      {replace_line(good, 3, "pattern \"(\""), "m:3: bpe pretokenizer: cannot compile"},
      {replace_line(good, 3, "pattern x"), "m:3: expected the pattern in double quotes"},
      {replace_line(good, 4, "bytes 1 2 3"), "m:4: expected a byte's id"},
      {replace_line(good, 5, "merges many"), "m:5: expected the number of merges"},
      {replace_line(good, 5, "merges 301"), "m:306: expected the left id of merge 300 (a whole number), found 'special'"},
      {replace_line(good, 6, fmt::format("{} {} \"zz\"", m0.left, m0.right)), "m:6: merge 0 joins"},
      {replace_line(good, 7, "1 9999 \"x\""), "m:7: the right id of merge 1 is 9999, outside [0, 256]"},
      {replace_line(good, 8, "1 2"), "m:8: expected the token of merge 2 in double quotes"},
      {replace_line(good, 306, "special 5 \"<s>\""), "m:306: bpe tokenizer: special token '<s>' has id 5"},
      {replace_line(good, 307, "end of it"), "m:307: unexpected text after 'end': 'of it'"},
      {replace_line(good, 307, "eof"), "m:307: expected 'special ID \"TEXT\"' or 'end', found 'eof'"},
      {good.substr(0, good.size() - 4), "m:307: the file ends early: expected 'special ID"},
      {good.substr(0, good.find("\nmerges 300\n") + 12), "m:6: the file ends early: expected merge 0 of 300"},
      {good + "more\n", "m:308: unexpected text after 'end': 'more'"},
      // Counts and ids a damaged file may announce, which must not be allocated (found
      // with the fuzzing target's memory limit, fuzz/fuzz_bpe_model.cpp, on hand-made
      // files): 10^8 merges reserved 800 MB; special id 10^9 resized the vocabulary to
      // 10^9 strings (32 GB).
      {replace_line(good, 5, "merges 100000000"), "m:306: expected the left id of merge 300"},
      {replace_line(good, 306, "special 1000000000 \"<s>\""), "m:306: bpe tokenizer: special token '<s>' has id 1000000000, which would leave"},
  };
  for (const auto& [text, message] : cases) {
    INFO("expected: " << message);
    REQUIRE_THROWS_WITH(tokenizer_from_text(text, "m"), Catch::Matchers::Contains(message));
  }
  REQUIRE_THROWS_WITH(load_tokenizer("/nonexistent/zoo.bpe"), Catch::Matchers::Contains("cannot open '/nonexistent/zoo.bpe'"));
  // Comments and blank lines anywhere are fine.
  require_same(trained, tokenizer_from_text(replace_line(good, 6, "# a comment\n\n" + line_of(good, 6)), "m"));
}
