#pragma once
// Helpers shared by the BPE tests: the fixture text, random byte strings, a small
// tokenizer trained on the fixture.

#include <random>
#include <string>
#include <vector>

#include "models/bpe/model_file.h"
#include "models/bpe/trainer.h"

namespace zoo::test {

/// tests/data/bpe/brown_sample.txt: 40 sentences of the Brown corpus.
inline std::string brown_sample() {
  return models::bpe::read_file_bytes(std::string(ZOO_TEST_DATA_DIR) + "/bpe/brown_sample.txt");
}

/// `length` bytes or a little more, from pieces that exercise the split patterns and the
/// merges: letters, digits, spaces, line breaks, punctuation, UTF-8 characters and their
/// fragments, NUL, and any byte at all.
inline std::string random_text(std::mt19937& rng, std::size_t length) {
  static const std::vector<std::string> pieces = {
      "the", " the", " of", "a", "e", "t", "h", "7", "42", " ", "  ", "\n", "\r\n", "\t", ".", ",",
      "'s", "'t", "é", "中", "👍", "\xc3", "\xff", std::string(1, '\0'), "<|endoftext|>"};
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size());
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s;
  while (s.size() < length) {
    const std::size_t k = pick(rng);
    if (k == pieces.size()) s += static_cast<char>(byte(rng));  // any byte
    else s += pieces[k];
  }
  return s;
}

/// A tokenizer trained on the fixture: 256 + 300 merges, GPT-4's pattern, with
/// <|endoftext|> registered.
inline models::bpe::Tokenizer brown_tokenizer() {
  models::bpe::TrainOptions options;
  options.vocab_size = 256 + 300 + 1;
  options.special_tokens = {"<|endoftext|>"};
  options.min_count = 1;
  return models::bpe::train(brown_sample(), options).tokenizer;
}

}  // namespace zoo::test
