// Encoding and decoding: merges replay in rank order, special tokens are atomic and
// refused unless allowed, decode(encode(s)) == s for any bytes, and the parallel encode
// gives the serial one's ids.
#include <catch2/catch.hpp>

#include "bpe_test_util.h"
#include "models/bpe/reference_trainer.h"

using namespace zoo;
using namespace zoo::models::bpe;

TEST_CASE("bpe: encoding a chunk applies the merges in the order they were learned", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  // Encoding by lowest rank first equals applying every merge in turn, as training did.
  const std::string text = test::brown_sample();
  for (const std::string_view chunk : tokenizer.pretokenizer().chunks(text)) {
    std::vector<TokenId> ids;
    for (const char c : chunk) ids.push_back(static_cast<unsigned char>(c));
    for (std::size_t r = 0; r < tokenizer.merges().size(); ++r)
      merge_pair(ids, tokenizer.merges()[r], static_cast<TokenId>(256 + r));
    REQUIRE(tokenizer.encode_chunk(chunk) == ids);
  }
  // The sample compresses: several bytes per token.
  CHECK(static_cast<double>(text.size()) / static_cast<double>(tokenizer.encode(text).size()) > 2.5);
}

TEST_CASE("bpe: decode(encode(s)) == s for random byte strings, invalid UTF-8 and NUL included", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = test::random_text(rng, static_cast<std::size_t>(i % 200));
    const auto ids = tokenizer.encode(s, {.specials = SpecialPolicy::as_text});
    REQUIRE(tokenizer.decode(ids) == s);
    for (const TokenId id : ids) REQUIRE(id < 256 + static_cast<TokenId>(tokenizer.merges().size()));
  }
  // Every single byte value, alone and all together.
  std::string all;
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    REQUIRE(tokenizer.encode(one) == std::vector<TokenId>{b});
    all += one;
  }
  REQUIRE(tokenizer.decode(tokenizer.encode(all)) == all);
  REQUIRE(tokenizer.encode("").empty());
}

TEST_CASE("bpe: decode(encode(s)) == s on the Brown sample, with a GPT-2-pattern tokenizer too", "[bpe]") {
  const std::string text = test::brown_sample();
  for (const auto pattern : {kGpt4Pattern, kGpt2Pattern}) {
    const Tokenizer tokenizer = train(text, {.vocab_size = 600, .pattern = std::string(pattern)}).tokenizer;
    REQUIRE(tokenizer.decode(tokenizer.encode(text)) == text);
  }
}

TEST_CASE("bpe: the parallel encode gives the serial encode's ids", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  std::mt19937 rng(6);
  std::string text;
  while (text.size() < 1'000'000) text += test::brown_sample() + test::random_text(rng, 500) + "\nX";
  const auto serial = tokenizer.encode(text, {.specials = SpecialPolicy::as_text, .threads = 1});
  const auto parallel = tokenizer.encode(text, {.specials = SpecialPolicy::as_text, .threads = 2});
  REQUIRE(serial == parallel);
  REQUIRE(tokenizer.decode(parallel) == text);
  // A custom pattern whose chunks cross lines: the cuts are not boundaries, and encode
  // notices and falls back to one thread.
  const Tokenizer across({}, "[^!]+");
  const std::string lines = std::string(200'000, 'a') + "\nb\nc!";
  REQUIRE(across.encode(lines, {.threads = 2}) == across.encode(lines, {.threads = 1}));
}

TEST_CASE("bpe: special tokens: refused by default, atomic when allowed, or plain text", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  const TokenId eot = tokenizer.special_tokens().at(0).id;
  REQUIRE(tokenizer.token_bytes(eot) == "<|endoftext|>");
  const std::string text = "one<|endoftext|>two<|endoftext|>";

  REQUIRE_THROWS_WITH(tokenizer.encode(text), Catch::Matchers::Contains("'<|endoftext|>' at byte 3"));

  const auto allowed = tokenizer.encode(text, {.specials = SpecialPolicy::allow});
  CHECK(std::count(allowed.begin(), allowed.end(), eot) == 2);
  CHECK(allowed.back() == eot);
  CHECK(tokenizer.decode(allowed) == text);
  const auto one = tokenizer.encode("one");
  CHECK(std::vector<TokenId>(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(one.size())) == one);

  const auto as_text = tokenizer.encode(text, {.specials = SpecialPolicy::as_text});
  CHECK(std::count(as_text.begin(), as_text.end(), eot) == 0);
  CHECK(tokenizer.decode(as_text) == text);

  // The earliest special wins; at the same place, the longest.
  Tokenizer two = tokenizer;
  two.add_special_token("<|end");
  const TokenId end = two.special_tokens().at(1).id;
  CHECK(two.encode("<|end<|endoftext|>", {.specials = SpecialPolicy::allow}) == std::vector<TokenId>{end, eot});
}

TEST_CASE("bpe: bad ids and bad vocabularies are errors that say what is wrong", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  const std::vector<TokenId> bad = {65, tokenizer.vocab_size()};
  REQUIRE_THROWS_WITH(tokenizer.decode(bad), Catch::Matchers::Contains("id 557 is not in the vocabulary"));
  REQUIRE_THROWS_WITH(Tokenizer({{1, 256}}, "x"), Catch::Matchers::Contains("merge 0 joins ids 1 and 256"));
  REQUIRE_THROWS_WITH(Tokenizer({{1, 2}, {1, 2}}, "x"), Catch::Matchers::Contains("repeats an earlier merge"));
  Tokenizer t;
  REQUIRE_THROWS_WITH(t.add_special_token("<s>", 100), Catch::Matchers::Contains("ids below 256"));
  t.add_special_token("<s>");
  REQUIRE_THROWS_WITH(t.add_special_token("<s>"), Catch::Matchers::Contains("registered twice"));
  REQUIRE_THROWS_WITH(t.add_special_token(""), Catch::Matchers::Contains("cannot be empty"));
  // Unused ids before a special token: a few are fine (GPT-4 has some), not a billion.
  t.add_special_token("<gap>", t.vocab_size() + 16);
  CHECK(t.vocab_size() == 256 + 1 + 17);
  t.add_special_token("<far>", t.vocab_size() + Tokenizer::kMaxSpecialIdGap);
  REQUIRE_THROWS_WITH(t.add_special_token("<too far>", t.vocab_size() + Tokenizer::kMaxSpecialIdGap + 1),
                      Catch::Matchers::Contains("unused ids after the last token"));
}

TEST_CASE("bpe: long chunks (merged with a heap) get the ids of the merges replayed in order", "[bpe]") {
  const Tokenizer tokenizer = test::brown_tokenizer();
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> letter(0, 7);
  for (const std::size_t length : {65, 100, 1000, 5000}) {
    std::string chunk;  // one long run of letters: a single chunk
    while (chunk.size() < length) chunk += "etaoinsh"[letter(rng)];
    std::vector<TokenId> ids(chunk.begin(), chunk.end());
    for (std::size_t r = 0; r < tokenizer.merges().size(); ++r)
      merge_pair(ids, tokenizer.merges()[r], static_cast<TokenId>(256 + r));
    REQUIRE(tokenizer.encode_chunk(chunk) == ids);
  }
  const std::string spaces(1000, ' ');  // runs of the same pair: left to right
  REQUIRE(tokenizer.decode(tokenizer.encode(spaces)) == spaces);
}
