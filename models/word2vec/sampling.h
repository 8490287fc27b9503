#pragma once
/// @file sampling.h
/// @brief The two random choices of word2vec: which frequent words to skip
/// (sub-sampling) and which words to use as negative samples (the unigram table).
///
/// **Sub-sampling** (Mikolov et al., 2013b, as word2vec.c computes it). Very frequent
/// words ("the", ",") carry little information about their neighbours and dominate the
/// pairs. Each occurrence of a word \f$w\f$ with count \f$c_w\f$ in a corpus of \f$N\f$
/// words is kept with probability
/// \f[ P_{\text{keep}}(w) = \left(\sqrt{\frac{c_w}{sN}} + 1\right)\frac{sN}{c_w}, \f]
/// capped at 1, where \f$s\f$ is the `sample` threshold (1e-3 by default). A word whose
/// frequency \f$c_w/N\f$ is \f$s\f$ is kept with probability 2 (always); at frequency
/// \f$100s\f$, with probability 0.11. (The paper's formula, \f$1 - \sqrt{s N / c_w}\f$
/// as a discard probability, is a different curve; the code is what everyone runs.)
///
/// **Negative samples** are drawn from the unigram distribution raised to the 3/4 power,
/// \f[ P_n(w) = \frac{c_w^{3/4}}{\sum_{w'} c_{w'}^{3/4}}, \f]
/// which flattens it: rare words are drawn more often than their frequency. word2vec.c
/// draws from a table of \f$T\f$ word ids in which word \f$w\f$ fills a run of about
/// \f$T P_n(w)\f$ cells, so a draw is one random index. zoo builds the same table, but
/// smaller than word2vec.c's \f$10^8\f$ cells (400 MB), so that it stays in the cache:
/// see `default_table_size` in train.h.
/// Lesson: @ref tutorial_09_word2vec.

#include <cstdint>
#include <vector>

#include "models/word2vec/vocab.h"

namespace zoo::models::word2vec {

/// The probability of keeping one occurrence of a word seen `count` times in a corpus
/// of `total` words, with threshold `sample` (\f$P_{\text{keep}}\f$ above, capped at 1).
/// `sample` 0 or less keeps every word.
double keep_probability(std::int64_t count, std::int64_t total, double sample);

/// The keep probability of every word of the vocabulary, by id.
std::vector<float> keep_probabilities(const std::vector<std::int64_t>& counts, double sample);

/// word2vec.c's unigram table: `size` word ids, word `w` filling a run of about
/// `size * P_n(w)` consecutive cells (\f$P_n \propto c^{\text{power}}\f$).
class UnigramTable {
 public:
  /// The table for words with these counts (any order), built as word2vec.c's
  /// `InitUnigramTable` does.
  UnigramTable(const std::vector<std::int64_t>& counts, std::int64_t size = 1'000'000, double power = 0.75);
  /// The word in cell `i` (0 <= i < size()).
  WordId operator[](std::int64_t i) const { return table_[static_cast<std::size_t>(i)]; }
  /// Number of cells.
  std::int64_t size() const { return static_cast<std::int64_t>(table_.size()); }

 private:
  std::vector<WordId> table_;
};

}  // namespace zoo::models::word2vec
