// word2vec's evaluation files, damaged: what fuzz/fuzz_word2vec_eval.cpp checks, kept as
// tests (the inputs are in fuzz/corpus/word2vec_eval/ too). The scores on good files are
// in test_word2vec_train.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "models/word2vec/evaluate.h"

using namespace zoo::models::word2vec;

namespace {

/// Four words on two axes: "man" and "woman" apart, "king" and "queen" between.
CosineIndex four_words() {
  WordVectors v;
  v.words = {"man", "woman", "king", "queen"};
  v.dim = 2;
  v.values = {1, 0, /**/ 0, 1, /**/ 1, 0.5f, /**/ 0.5f, 1};
  return CosineIndex(v);
}

}  // namespace

TEST_CASE("word2vec: a similarity score that is not a finite double fails with the file and line", "[word2vec]") {
  const CosineIndex index = four_words();
  for (const std::string score : {"nan", "inf", "-inf", "1e999", "1e-999"}) {
    INFO("score: " << score);
    CHECK_THROWS_WITH(evaluate_word_pairs(index, "man\twoman\t1\nking\tqueen\t" + score + "\n", "ws.tsv"),
                      Catch::Contains("ws.tsv:2: the score '" + score + "' is not a finite number"));
  }
  // A score that is not a number at all is a line of another shape, skipped as gensim
  // skips WordSim-353's header line.
  const SimilarityResult r = evaluate_word_pairs(index, "Word 1\tWord 2\tHuman (mean)\nman\twoman\t1\nking\tqueen\t2\n", "ws.tsv");
  CHECK(r.pairs == 2);
}

TEST_CASE("word2vec: correlations of scores near the largest double are finite", "[word2vec]") {
  // fuzz/corpus/word2vec_eval/edge-huge-scores.tsv: the squares of these overflowed to
  // infinity, and Pearson's r came out NaN.
  const CosineIndex index = four_words();
  const SimilarityResult r =
      evaluate_word_pairs(index, "man\twoman\t1e308\nking\tqueen\t1.7e308\nman\tking\t-1.7e308\n", "huge.tsv");
  CHECK(r.pairs == 3);
  CHECK(std::isfinite(r.pearson));
  CHECK(std::isfinite(r.spearman));
  // Scaling does not change r: the same pairs scored 1, 1.7, -1.7.
  const SimilarityResult small = evaluate_word_pairs(index, "man\twoman\t1\nking\tqueen\t1.7\nman\tking\t-1.7\n", "s.tsv");
  CHECK(r.pearson == Approx(small.pearson));
  CHECK(pearson(std::vector<double>{1e308, -1e308, 1e308}, std::vector<double>{1, -1, 1}) == Approx(1.0));
  CHECK(pearson(std::vector<double>{4.9e-324, 0, 4.9e-324}, std::vector<double>{1, 0, 1}) == Approx(1.0));
}
