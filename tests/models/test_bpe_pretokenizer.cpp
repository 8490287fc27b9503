// The pre-tokenization regex: GPT-4's and GPT-2's patterns cut text where their authors
// meant them to; every byte lands in one chunk (invalid UTF-8 and NUL too); the parallel
// split over blocks of lines gives the same chunks as the serial one.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "models/bpe/pretokenizer.h"

using namespace zoo::models::bpe;

namespace {

std::vector<std::string> split(const Pretokenizer& p, std::string_view text) {
  std::vector<std::string> out;
  for (const auto chunk : p.chunks(text)) out.emplace_back(chunk);
  return out;
}

std::string join(const std::vector<std::string_view>& chunks) {
  std::string s;
  for (const auto c : chunks) s += c;
  return s;
}

/// Bytes drawn from a mix that exercises the patterns: letters, digits, spaces, line
/// breaks, punctuation, apostrophes, UTF-8 characters, their fragments, NUL.
std::string random_bytes(std::mt19937& rng, std::size_t length) {
  static const std::vector<std::string> pieces = {
      "a", "b", "Z", "e", "7", "0", " ", " ", "  ", "\n", "\r\n", "\t", ".", ",", "!", "'",
      "'s", "'LL", "é", "中", "👍", "\xc3", "\xa9", "\xff", "\x80", std::string(1, '\0'), "\xe4\xb8"};
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::string s;
  while (s.size() < length) s += pieces[pick(rng)];
  return s;
}

}  // namespace

TEST_CASE("bpe: GPT-4's pattern splits words, numbers, punctuation and whitespace", "[bpe]") {
  const Pretokenizer gpt4;
  using V = std::vector<std::string>;
  CHECK(split(gpt4, "Hello world") == V{"Hello", " world"});
  CHECK(split(gpt4, "I'm here, they'LL see") == V{"I", "'m", " here", ",", " they", "'LL", " see"});
  CHECK(split(gpt4, "12345 apples") == V{"123", "45", " apples"});  // digits in threes
  CHECK(split(gpt4, "end.\n\nNext") == V{"end", ".\n\n", "Next"});
  CHECK(split(gpt4, "a   b") == V{"a", "  ", " b"});  // the last space goes with the word
  CHECK(split(gpt4, "(foo)") == V{"(foo", ")"});
  CHECK(split(gpt4, "café 中文") == V{"café", " 中文"});
  CHECK(split(gpt4, "x  \n  y") == V{"x", "  \n", " ", " y"});
}

TEST_CASE("bpe: GPT-2's pattern keeps one leading space on each run", "[bpe]") {
  const Pretokenizer gpt2{std::string(kGpt2Pattern)};
  using V = std::vector<std::string>;
  CHECK(split(gpt2, "Hello world") == V{"Hello", " world"});
  CHECK(split(gpt2, "I'm here, they'LL see") == V{"I", "'m", " here", ",", " they", "'", "LL", " see"});
  CHECK(split(gpt2, "12345 apples") == V{"12345", " apples"});
  CHECK(split(gpt2, "a   b") == V{"a", "  ", " b"});
  CHECK(resolve_pattern("gpt2") == kGpt2Pattern);
  CHECK(resolve_pattern("gpt4") == kGpt4Pattern);
  CHECK(resolve_pattern("[a-z]+") == "[a-z]+");
}

TEST_CASE("bpe: invalid UTF-8 and NUL bytes are split too, and every byte is kept", "[bpe]") {
  const Pretokenizer gpt4;
  const std::string text = std::string("ab\xff\xfe cd") + '\0' + "e\xc3";  // \xc3: a cut-off é
  const auto chunks = gpt4.chunks(text);
  CHECK(join(chunks) == text);
  // The invalid bytes form a chunk of their own, between the valid text around them.
  CHECK(std::find(chunks.begin(), chunks.end(), std::string_view("\xff\xfe")) != chunks.end());
  std::mt19937 rng(1);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_bytes(rng, 1 + i);
    REQUIRE(join(gpt4.chunks(s)) == s);
  }
}

TEST_CASE("bpe: a custom pattern: text it does not cover becomes chunks of its own", "[bpe]") {
  const Pretokenizer letters("[a-z]+");
  CHECK(split(letters, "ab12cd!") == std::vector<std::string>{"ab", "12", "cd", "!"});
}

TEST_CASE("bpe: a bad pattern is an error naming the offset and the reason", "[bpe]") {
  REQUIRE_THROWS_WITH(Pretokenizer("(unclosed"), Catch::Matchers::Contains("offset 9") &&
                                                     Catch::Matchers::Contains("missing closing parenthesis"));
}

TEST_CASE("bpe: splitting by blocks of lines gives the chunks of the whole text", "[bpe]") {
  std::mt19937 rng(2);
  for (const auto pattern : {kGpt4Pattern, kGpt2Pattern}) {
    const Pretokenizer p{std::string(pattern)};
    const std::string text = random_bytes(rng, 20000);
    const auto whole = p.chunks(text);
    const auto blocks = cut_blocks(text, 500);
    REQUIRE(blocks.size() > 10);
    std::vector<std::string_view> pieces;
    for (const Block& b : blocks)
      REQUIRE(p.split_range(text, b.begin, b.end, [&](std::string_view c) { pieces.push_back(c); }));
    REQUIRE(pieces == whole);
  }
  // A pattern that matches across lines: split_range reports the cut that was no boundary.
  const Pretokenizer across("[^!]+");
  const std::string text = "one\ntwo\nthree!";
  REQUIRE_FALSE(across.split_range(text, 0, 4, [](std::string_view) {}));
}
