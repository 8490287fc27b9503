/// @file fuzz_text_corpus.cpp
/// @brief libFuzzer target: the text corpus reader of word2vec (`read_text_file`, then
/// `Vocabulary::from_text` and `Corpus`) on any bytes, and a tiny training run on it.
///
/// The input is the corpus file: lines are sentences, white space separates words, any
/// bytes are allowed. What `zoo word2vec train` builds from it must add up: the corpus
/// holds every word of the text, the vocabulary's counts sum to the words kept, each
/// sentence is non-empty and the Huffman tree has a leaf per word. Then one epoch of
/// training with 4-dimensional vectors, negative sampling and hierarchical softmax
/// runs over it.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "models/word2vec/corpus.h"
#include "models/word2vec/train.h"
#include "models/word2vec/vocab.h"

namespace w2v = zoo::models::word2vec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("text-corpus");
  input.write(data, size);
  std::string text;
  if (!zoo::fuzz::accept_or_reject(input.name(), [&] { text = w2v::read_text_file(input.path()); })) return 0;
  zoo::fuzz::require(text.size() == size, "the text is not the file's bytes");

  const w2v::Vocabulary vocab = w2v::Vocabulary::from_text(text, 1);
  const w2v::Corpus corpus(text, vocab);
  zoo::fuzz::require(corpus.num_words() == corpus.num_raw_words() && corpus.num_words() == vocab.total_count(),
                     "with min_count 1 the corpus lost words");
  std::int64_t words = 0;
  for (std::int64_t s = 0; s < corpus.num_sentences(); ++s) {
    zoo::fuzz::require(!corpus.sentence(s).empty(), "an empty sentence was kept");
    words += static_cast<std::int64_t>(corpus.sentence(s).size());
  }
  zoo::fuzz::require(words == corpus.num_words(), "the sentences do not add up to the corpus");
  const w2v::HuffmanTree tree(vocab.counts());
  zoo::fuzz::require(tree.num_words() == vocab.size(), "the Huffman tree lost words");
  if (vocab.size() == 0) return 0;  // nothing to train on (the trainer says so)

  w2v::TrainOptions options;
  options.dim = 4;
  options.window = 2;
  options.negative = 2;
  options.hs = true;
  options.min_count = 1;
  options.epochs = 1;
  options.threads = 1;
  options.table_size = 1000;
  const w2v::TrainResult result = w2v::train(text, options);
  zoo::fuzz::require(result.corpus_words == corpus.num_words(), "training saw another corpus");
  return 0;
}
