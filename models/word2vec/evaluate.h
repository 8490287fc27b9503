#pragma once
/// @file evaluate.h
/// @brief What word vectors are good for, measured: nearest neighbours by cosine,
/// analogies by vector offset, and the two standard scores, word-similarity
/// correlation (WordSim-353) and analogy accuracy (`questions-words.txt`), computed the
/// way gensim's `KeyedVectors` computes them so the figures can be compared.
///
/// **Cosine similarity** \f$\cos(x, y) = x \cdot y / (\lVert x\rVert\,\lVert y\rVert)\f$:
/// the vectors are normalised once (`CosineIndex`), then a similarity is a dot product.
///
/// **Analogies, 3CosAdd** (Mikolov et al., 2013c): "a is to b as c is to ?" is answered by
/// the word \f$d \notin \{a, b, c\}\f$ whose unit vector is nearest in cosine to
/// \f$\hat b - \hat a + \hat c\f$ (hats: unit vectors); gensim's
/// `most_similar(positive=[b, c], negative=[a])`.
///
/// **Word similarity.** A file of word pairs with human scores; the score is Spearman's
/// rank correlation between the human scores and the cosines: the Pearson correlation of
/// the ranks, tied values all taking their average rank (as `scipy.stats.spearmanr`).
///
/// **As gensim evaluates** (`evaluate_word_pairs`, `evaluate_word_analogies`): only the
/// `restrict_vocab` most frequent words take part (300,000 by default; word2vec.c's
/// `compute-accuracy` used 30,000); with `case_insensitive` (the default) words are
/// compared in upper case (ASCII letters only, here) and a word stands for its most
/// frequent spelling; a pair or question with a word outside is *out of vocabulary*:
/// counted, reported as a ratio, and left out of the score. An analogy is answered from
/// the 5 nearest words (a, b, c excluded), taking the first whose upper case is none of
/// a, b, c; accuracy is correct over the questions answered.
/// Lesson: @ref tutorial_09_word2vec.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/word2vec/vectors_io.h"
#include "models/word2vec/vocab.h"

namespace zoo::models::word2vec {

/// One neighbour: a word and its cosine similarity to the query.
struct Neighbor {
  std::int64_t id;    ///< the word's row
  std::string word;   ///< the word
  double similarity;  ///< cosine similarity to the query
};

/// Unit-length copies of a set of word vectors, for cosine similarities.
class CosineIndex {
 public:
  /// Normalises every vector of `vectors` (a zero vector stays zero).
  explicit CosineIndex(const WordVectors& vectors);

  /// Number of words.
  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  /// The dimension.
  std::int64_t dim() const { return dim_; }
  /// Word `i`.
  const std::string& word(std::int64_t i) const { return words_[static_cast<std::size_t>(i)]; }
  /// The row of `word` (exact spelling), or -1.
  std::int64_t find(std::string_view word) const;
  /// The row of `word`, or a `zoo::Error` saying it is not in the vocabulary.
  std::int64_t require(std::string_view word) const;
  /// Word `i`'s unit vector.
  std::span<const float> unit(std::int64_t i) const {
    return {unit_.data() + i * dim_, static_cast<std::size_t>(dim_)};
  }
  /// \f$\cos(w_i, w_j)\f$.
  double similarity(std::int64_t i, std::int64_t j) const;

  /// The `k` rows most similar to `query` (any vector of size dim, need not be unit)
  /// among the first `restrict_vocab` rows (0: all), leaving out the rows in `exclude`;
  /// most similar first, ties by lower row.
  std::vector<Neighbor> nearest(std::span<const float> query, std::int64_t k,
                                std::span<const std::int64_t> exclude = {}, std::int64_t restrict_vocab = 0) const;
  /// The `k` nearest neighbours of word `word` (itself excluded).
  std::vector<Neighbor> neighbors(std::string_view word, std::int64_t k) const;
  /// "a is to b as c is to ?": the `k` best answers by 3CosAdd, a, b and c excluded.
  std::vector<Neighbor> analogy(std::string_view a, std::string_view b, std::string_view c, std::int64_t k) const;
  /// The same with rows, among the first `restrict_vocab` rows (0: all).
  std::vector<Neighbor> analogy(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t k,
                                std::int64_t restrict_vocab = 0) const;

 private:
  std::vector<std::string> words_;
  std::int64_t dim_ = 0;
  std::vector<float> unit_;
  std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>> index_;
};

/// Ranks 1..n of `x` (smallest first), tied values all taking the mean of their ranks.
std::vector<double> average_ranks(std::span<const double> x);
/// Pearson's correlation coefficient (0 if either side is constant); finite for any
/// finite values, the largest doubles included.
double pearson(std::span<const double> x, std::span<const double> y);
/// Spearman's rank correlation: Pearson's on the average ranks.
double spearman(std::span<const double> x, std::span<const double> y);

/// How to evaluate; the defaults are gensim's.
struct EvalOptions {
  std::int64_t restrict_vocab = 300000;  ///< only the most frequent words take part (0: all)
  bool case_insensitive = true;          ///< compare words in upper case
};

/// A word-similarity score.
struct SimilarityResult {
  double spearman = 0;    ///< rank correlation, human scores against cosines
  double pearson = 0;     ///< linear correlation of the same
  std::int64_t pairs = 0; ///< pairs scored (both words known)
  std::int64_t oov = 0;   ///< pairs left out: a word not in the (restricted) vocabulary
  /// Percentage of pairs left out, as gensim reports it.
  double oov_percent() const { return pairs + oov > 0 ? 100.0 * static_cast<double>(oov) / static_cast<double>(pairs + oov) : 0.0; }
};

/// Scores a word-similarity file's text: lines `word1<TAB>word2<TAB>score`, `#` lines
/// are comments, lines of another shape are skipped (as gensim), a header line whose
/// score is not a number among them. `name` names the file in errors: a file with no
/// usable pair, and a score that is a number but not a finite double ("nan", "inf",
/// "1e999"; "FILE:LINE: reason"), which would make the correlations NaN.
SimilarityResult evaluate_word_pairs(const CosineIndex& index, std::string_view text, const std::string& name,
                                     const EvalOptions& options = {});

/// One section of an analogy file (": capital-common-countries").
struct AnalogySection {
  std::string name;              ///< the header without ": "
  std::int64_t correct = 0;      ///< questions answered right
  std::int64_t incorrect = 0;    ///< answered wrong
  std::int64_t oov = 0;          ///< left out: a word not in the (restricted) vocabulary
  /// correct / (correct + incorrect), 0 if none answered.
  double accuracy() const { return correct + incorrect > 0 ? static_cast<double>(correct) / static_cast<double>(correct + incorrect) : 0.0; }
};

/// An analogy file's score, by section and in total.
struct AnalogyResult {
  std::vector<AnalogySection> sections;  ///< in file order
  AnalogySection total{"Total accuracy"};  ///< all sections together
  /// Percentage of questions left out, as gensim reports it.
  double oov_percent() const {
    const std::int64_t all = total.correct + total.incorrect + total.oov;
    return all > 0 ? 100.0 * static_cast<double>(total.oov) / static_cast<double>(all) : 0.0;
  }
};

/// Scores an analogy file's text in the `questions-words.txt` format: `: name` lines
/// start sections, other lines are `a b c d` ("a is to b as c is to d"); lines without
/// four words are skipped (as gensim). A question before any section header is an error
/// naming `name` and the line.
AnalogyResult evaluate_analogies(const CosineIndex& index, std::string_view text, const std::string& name,
                                 const EvalOptions& options = {});

}  // namespace zoo::models::word2vec
