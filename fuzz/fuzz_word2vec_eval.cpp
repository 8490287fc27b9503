/// @file fuzz_word2vec_eval.cpp
/// @brief libFuzzer target: word2vec's two evaluation files, the word-similarity file
/// (`zoo::models::word2vec::evaluate_word_pairs`, WordSim-353's `word1<TAB>word2<TAB>score`)
/// and the analogy questions (`evaluate_analogies`, `questions-words.txt`), each read
/// with `read_text_file` as `zoo word2vec eval --similarity/--analogies` reads it.
///
/// One target for both readers, and every input goes to both: the two formats are
/// lines of words, so an input stays a real file of either kind (no selector byte in
/// front, and a crash input can be given to `zoo word2vec eval` as it is), the seeds of
/// both kinds mutate into each other, and the vectors they are scored against are built
/// once. A file of one kind is rejected early by the other reader (no tab-separated pair;
/// a line before the first ": section"), which costs little.
///
/// The vectors are fixed: ten words of dimension 4, two spellings of "apple" among them.
/// Each file is scored twice, with gensim's defaults and with the vocabulary restricted
/// to the 6 most frequent words, case-sensitive. What is accepted must be a score:
/// correlations in [-1, 1], counts that add up, accuracies in [0, 1].

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "models/word2vec/corpus.h"
#include "models/word2vec/evaluate.h"

namespace w2v = zoo::models::word2vec;

namespace {

/// Axes: male, female, royal, place. "king" - "man" + "woman" is "queen" exactly.
w2v::WordVectors sample_vectors() {
  w2v::WordVectors v;
  v.words = {"man", "woman", "king", "queen", "paris", "france", "apple", "Apple", "pear", "zero"};
  v.dim = 4;
  v.values = {1, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 1, 0, 1, 0, /**/ 0, 1, 1, 0, /**/ 0.2f, 0, 0, 1,
              0.1f, 0.1f, 0.1f, 1, /**/ 0, 0, 0, -1, /**/ 0, 0, 0.1f, -1, /**/ 0.05f, 0, 0, -1, /**/ 0, 0, 0, 0};
  return v;
}

bool is_correlation(double r) { return std::isfinite(r) && std::abs(r) <= 1 + 1e-9; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("word2vec-eval");
  static const w2v::CosineIndex index(sample_vectors());
  input.write(data, size);
  for (const w2v::EvalOptions options : {w2v::EvalOptions{}, w2v::EvalOptions{6, false}}) {
    zoo::fuzz::accept_or_reject(input.name(), [&] {
      const w2v::SimilarityResult s =
          w2v::evaluate_word_pairs(index, w2v::read_text_file(input.path()), input.name(), options);
      zoo::fuzz::require(s.pairs > 0 && s.oov >= 0, "a similarity score from no pair");
      zoo::fuzz::require(is_correlation(s.spearman) && is_correlation(s.pearson),
                         "a correlation that is not a number in [-1, 1]");
    });
    zoo::fuzz::accept_or_reject(input.name(), [&] {
      const w2v::AnalogyResult a =
          w2v::evaluate_analogies(index, w2v::read_text_file(input.path()), input.name(), options);
      w2v::AnalogySection sum;
      for (const w2v::AnalogySection& s : a.sections) {
        zoo::fuzz::require(s.correct >= 0 && s.incorrect >= 0 && s.oov >= 0, "a negative count");
        sum.correct += s.correct;
        sum.incorrect += s.incorrect;
        sum.oov += s.oov;
      }
      zoo::fuzz::require(sum.correct == a.total.correct && sum.incorrect == a.total.incorrect &&
                             sum.oov == a.total.oov,
                         "the sections do not add up to the total");
      const double accuracy = a.total.accuracy();
      zoo::fuzz::require(accuracy >= 0 && accuracy <= 1, "an accuracy outside [0, 1]");
    });
  }
  return 0;
}
