// Training word2vec on a synthetic corpus with planted co-occurrences, and the
// evaluation helpers (neighbours, analogies, Spearman, the two file scores).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "autograd/error.h"
#include "models/word2vec/evaluate.h"
#include "models/word2vec/train.h"

using namespace zoo;
using namespace zoo::models::word2vec;

namespace {

constexpr int kPairs = 8;

/// Sentences of 6 to 14 words drawn uniformly from 60 filler words, plus one planted
/// pair, "pI" and "qI", each twice, at random places: the partners always occur together
/// and nothing else ties any two words. Word vectors are close when the words' contexts
/// are alike; here pI's contexts are qI, pI and random fillers, and so are qI's.
/// (Partners that occurred once each, side by side, would not do: pI's context would be
/// qI and qI's pI, unlike each other. That bond is in v_p · u_q, not v_p · v_q.)
std::string planted_corpus(std::uint32_t seed, int sentences) {
  std::mt19937 rng(seed);
  std::string text;
  for (int s = 0; s < sentences; ++s) {
    const int length = 6 + static_cast<int>(rng() % 9);
    const int pair = static_cast<int>(rng() % kPairs);
    std::vector<std::string> words;
    for (int i = 0; i < length; ++i) words.push_back(fmt::format("f{}", rng() % 60));
    for (int twice = 0; twice < 2; ++twice)
      for (const char side : {'p', 'q'}) {
        const auto at = static_cast<std::ptrdiff_t>(rng() % (words.size() + 1));
        words.insert(words.begin() + at, fmt::format("{}{}", side, pair));
      }
    for (const std::string& w : words) text.append(w).append(" ");
    text += '\n';
  }
  return text;
}

WordVectors vectors_of(const TrainResult& r) { return {r.vocab.words(), r.model.dim, r.model.input}; }

/// For how many planted words the nearest neighbour is the partner.
int partners_found(const TrainResult& r) {
  const CosineIndex index(vectors_of(r));
  int found = 0;
  for (int i = 0; i < kPairs; ++i)
    for (const char side : {'p', 'q'}) {
      const std::string word = fmt::format("{}{}", side, i), partner = fmt::format("{}{}", side == 'p' ? 'q' : 'p', i);
      const auto nn = index.neighbors(word, 1);
      if (nn.at(0).word == partner) ++found;
      else UNSCOPED_INFO(word << "'s nearest is " << nn[0].word << ", not " << partner);
    }
  return found;
}

}  // namespace

TEST_CASE("word2vec: planted pairs end up nearest neighbours (skip-gram and CBOW, negative sampling and HS)",
          "[word2vec]") {
  const std::string text = planted_corpus(1, 3000);
  struct Case {
    const char* name;
    bool cbow;
    int negative;
    bool hs;
  };
  for (const Case c : {Case{"skip-gram, negative sampling", false, 5, false},
                       Case{"skip-gram, hierarchical softmax", false, 0, true},
                       Case{"CBOW, negative sampling", true, 5, false},
                       Case{"skip-gram, both", false, 3, true}}) {
    INFO(c.name);
    const TrainResult r = train(text, {.cbow = c.cbow, .dim = 24, .window = 5, .negative = c.negative, .hs = c.hs,
                                       .min_count = 1, .sample = 0, .epochs = 5, .threads = 1, .seed = 7});
    CHECK(r.vocab.size() == 60 + 2 * kPairs);
    CHECK(partners_found(r) == 2 * kPairs);
  }
}

TEST_CASE("word2vec: one thread and one seed give the same vectors, and the run reports what it did", "[word2vec]") {
  const std::string text = planted_corpus(2, 500);
  std::vector<TrainProgress> reports;
  const TrainOptions o{.dim = 16, .min_count = 1, .epochs = 3, .threads = 1, .seed = 3,
                       .on_progress = [&](const TrainProgress& p) { reports.push_back(p); }};
  const TrainResult a = train(text, o);
  TrainOptions same = o;
  same.on_progress = {};
  const TrainResult b = train(text, same);
  CHECK(a.model.input == b.model.input);
  CHECK(a.model.output_ns == b.model.output_ns);
  TrainOptions other = same;
  other.seed = 4;
  CHECK(train(text, other).model.input != a.model.input);

  CHECK(a.corpus_words == a.raw_words);  // min_count 1 keeps every word
  CHECK(a.stats.words_done == 3 * a.corpus_words);
  CHECK(a.stats.words_trained > 0);
  CHECK(a.stats.words_trained <= a.stats.words_done);  // sub-sampling drops some
  REQUIRE(!reports.empty());
  for (std::size_t i = 1; i < reports.size(); ++i) {
    CHECK(reports[i].words_done > reports[i - 1].words_done);
    CHECK(reports[i].alpha < reports[i - 1].alpha);  // linear decay
  }
  CHECK(reports.front().alpha <= 0.025);
  CHECK(reports.back().alpha >= 0.025 * 1e-4);

  // Several threads (Hogwild): every word still read once per epoch.
  TrainOptions two = same;
  two.threads = 2;
  const TrainResult t = train(text, two);
  CHECK(t.stats.threads == 2);
  CHECK(t.stats.words_done == 3 * t.corpus_words);

  // Bad options are named.
  CHECK_THROWS_WITH(train(text, {.negative = 0, .hs = false}), Catch::Contains("no output layer"));
  CHECK_THROWS_WITH(train(text, {.window = 0}), Catch::Contains("window"));
  CHECK_THROWS_WITH(train(text, {.min_count = 1000}), Catch::Contains("no word occurs 1000 times"));
  CHECK_THROWS_WITH(train(text, {.min_count = 1000}, "'brown.txt'"),
                    Catch::Contains("no word occurs 1000 times or more in 'brown.txt'"));
}

TEST_CASE("word2vec: Spearman's correlation uses average ranks for ties", "[word2vec]") {
  const std::vector<double> x = {10, 20, 20, 30};
  CHECK(average_ranks(x) == std::vector<double>{1, 2.5, 2.5, 4});
  CHECK(spearman(x, std::vector<double>{1, 2, 3, 4}) == Approx(0.9486833));  // scipy.stats.spearmanr
  CHECK(spearman(std::vector<double>{1, 2, 3}, std::vector<double>{9, 4, 1}) == Approx(-1.0));
  CHECK(pearson(std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 7}) == Approx(0.9933992));
}

TEST_CASE("word2vec: neighbours, analogies and the two file scores on vectors built by hand", "[word2vec]") {
  // Axes: male, female, royal, fruit. king - man + woman is queen exactly.
  WordVectors v;
  v.words = {"man", "woman", "king", "queen", "apple", "Apple", "pear"};
  v.dim = 4;
  v.values = {1, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 1, 0, 1, 0, /**/ 0, 1, 1, 0,
              0, 0, 0, 1, /**/ 0, 0, 0.1f, 1, /**/ 0.05f, 0, 0, 1};
  const CosineIndex index(v);
  CHECK(index.analogy("man", "king", "woman", 1).at(0).word == "queen");
  const auto nn = index.neighbors("apple", 2);
  CHECK(nn.at(0).word == "pear");
  CHECK(nn.at(0).similarity == Approx(1 / std::sqrt(1 + 0.05 * 0.05)));
  CHECK(nn.at(1).word == "Apple");
  CHECK_THROWS_WITH(index.neighbors("banana", 1), Catch::Contains("'banana' is not in the vocabulary"));

  // Word pairs: case-insensitive, "APPLE" is the more frequent spelling "apple"; one pair is OOV.
  const std::string pairs = "# comment\nman\twoman\t5\nKING\tqueen\t9\napple\tpear\t8\nman\tapple\t1\nman\tbanana\t3\nbad line\n";
  const SimilarityResult s = evaluate_word_pairs(index, pairs, "pairs.tsv");
  CHECK(s.pairs == 4);
  CHECK(s.oov == 1);
  CHECK(s.oov_percent() == Approx(20.0));
  CHECK(s.spearman > 0.5);
  CHECK_THROWS_WITH(evaluate_word_pairs(index, "a\tb\t1\n", "none.tsv"), Catch::Contains("none.tsv: no word pair"));

  // Analogies: sections, OOV questions left out, accuracy over the answered ones.
  const std::string questions =
      ": royal\nman king woman queen\nwoman queen man king\nman king woman banana\n: fruit\napple pear man woman\n";
  const AnalogyResult a = evaluate_analogies(index, questions, "q.txt");
  REQUIRE(a.sections.size() == 2);
  CHECK(a.sections[0].name == "royal");
  CHECK(a.sections[0].correct == 2);
  CHECK(a.sections[0].oov == 1);
  CHECK(a.total.correct + a.total.incorrect == 3);
  CHECK(a.oov_percent() == Approx(25.0));
  CHECK_THROWS_WITH(evaluate_analogies(index, "man king woman queen\n", "q.txt"), Catch::Contains("q.txt:1"));
}
