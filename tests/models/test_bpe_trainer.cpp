// BPE training: the worked example, the tie rule, and the efficient trainer making the
// same merges in the same order as the plain one that recounts everything.
#include <catch2/catch.hpp>

#include "bpe_test_util.h"
#include "models/bpe/reference_trainer.h"

using namespace zoo;
using namespace zoo::models::bpe;

TEST_CASE("bpe: the worked example: aaabdaaabac learns aa, ab, then aa+ab", "[bpe]") {
  // Pairs: aa 4, ab 2, bd 1, da 1, ba 1, ac 1 -> merge (a, a) into Z = 256.
  // "Z a b d Z a b a c": Za 2 and ab 2 tie; the smaller left id wins: (a, b) = (97, 98)
  // into Y = 257. "Z Y d Z Y a c": ZY 2 -> X = 258. Then every pair occurs once.
  const std::vector<ChunkCount> chunks = {{"aaabdaaabac", 1}};
  const std::vector<Merge> expected = {{'a', 'a'}, {'a', 'b'}, {256, 257}};
  CHECK(learn_merges(chunks, 10) == expected);
  CHECK(reference_learn_merges(chunks, 10) == expected);

  const Tokenizer tokenizer = train("aaabdaaabac", {.vocab_size = 300}).tokenizer;
  CHECK(tokenizer.merges() == expected);
  CHECK(tokenizer.encode("aaabdaaabac") == std::vector<TokenId>{258, 'd', 258, 'a', 'c'});
  CHECK(tokenizer.token_bytes(258) == "aaab");
}

TEST_CASE("bpe: ties go to the smallest (left, right) pair", "[bpe]") {
  CHECK(chosen_before(5, {9, 9}, 4, {1, 1}));   // a higher count first
  CHECK(chosen_before(4, {1, 9}, 4, {2, 0}));   // then the smaller left id
  CHECK(chosen_before(4, {1, 2}, 4, {1, 3}));   // then the smaller right id
  CHECK_FALSE(chosen_before(4, {1, 3}, 4, {1, 3}));
  // "xy" and "ab" once each: (a, b) = (97, 98) comes before (x, y) = (120, 121).
  CHECK(learn_merges({{"xy", 3}, {"ab", 3}}, 2) == std::vector<Merge>{{'a', 'b'}, {'x', 'y'}});
}

TEST_CASE("bpe: overlapping pairs: 'aaaa' merges (a, a) twice, not three times", "[bpe]") {
  // "a a a a" -> "Z Z" (left to right), then (Z, Z).
  const std::vector<ChunkCount> chunks = {{"aaaa", 2}, {"aaa", 1}};
  const auto merges = learn_merges(chunks, 5, 1);
  CHECK(merges == reference_learn_merges(chunks, 5, 1));
  CHECK(merges == std::vector<Merge>{{'a', 'a'}, {256, 256}, {256, 'a'}});
}

TEST_CASE("bpe: the efficient trainer makes the reference trainer's merges, in order", "[bpe]") {
  const Pretokenizer gpt4, gpt2{std::string(kGpt2Pattern)};
  std::mt19937 rng(3);
  const std::vector<std::string> texts = {test::brown_sample(), test::random_text(rng, 4000),
                                          test::brown_sample() + test::random_text(rng, 2000)};
  for (const std::string& text : texts) {
    for (const Pretokenizer* p : {&gpt4, &gpt2}) {
      const auto chunks = count_chunks(text, *p, 1);
      for (const std::int64_t min_count : {1, 2}) {
        const auto fast = learn_merges(chunks, 400, min_count);
        const auto slow = reference_learn_merges(chunks, 400, min_count);
        INFO("text of " << text.size() << " bytes, min_count " << min_count);
        REQUIRE(fast.size() > 50);
        REQUIRE(fast == slow);
      }
    }
  }
}

TEST_CASE("bpe: chunk counts and merges do not depend on the thread count", "[bpe]") {
  std::mt19937 rng(4);
  std::string text;
  while (text.size() < 3'000'000) text += test::brown_sample() + test::random_text(rng, 3000) + "\n";
  const Pretokenizer gpt4;
  const auto one = count_chunks(text, gpt4, 1);
  const auto two = count_chunks(text, gpt4, 2);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    REQUIRE(one[i].bytes == two[i].bytes);
    REQUIRE(one[i].count == two[i].count);
  }
}

TEST_CASE("bpe: training reports progress, numbers special tokens last, stops when pairs run out", "[bpe]") {
  std::vector<MergeStep> steps;
  TrainOptions options{.vocab_size = 1000, .special_tokens = {"<|endoftext|>", "<|pad|>"}};
  options.on_merge = [&](const MergeStep& s) { steps.push_back(s); };
  const TrainResult r = train(test::brown_sample(), options);
  const auto merges = static_cast<TokenId>(r.tokenizer.merges().size());
  REQUIRE(merges > 100);
  REQUIRE(merges < 1000 - 256 - 2);  // min_count 2: the sample runs out of repeated pairs
  REQUIRE(steps.size() == r.tokenizer.merges().size());
  CHECK(steps.front().rank == 0);
  CHECK(steps.front().count >= steps.back().count);
  CHECK(r.tokenizer.special_tokens()[0].id == 256 + merges);
  CHECK(r.tokenizer.special_tokens()[1].id == 256 + merges + 1);
  CHECK(r.unique_chunks < r.chunks);
  CHECK(r.text_bytes == static_cast<std::int64_t>(test::brown_sample().size()));
  REQUIRE_THROWS_WITH(train("abc", {.vocab_size = 100}), Catch::Matchers::Contains("--vocab-size 100 is too small"));
}
