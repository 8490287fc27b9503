/// @file sampling.cpp
/// @brief Sub-sampling probabilities and the unigram table, as word2vec.c computes them.

#include "models/word2vec/sampling.h"

#include <cmath>
#include <numeric>

#include "autograd/error.h"

namespace zoo::models::word2vec {

double keep_probability(std::int64_t count, std::int64_t total, double sample) {
  if (sample <= 0 || count <= 0) return 1.0;
  const double threshold = sample * static_cast<double>(total);  // s·N
  const double c = static_cast<double>(count);
  const double p = (std::sqrt(c / threshold) + 1.0) * threshold / c;
  return p < 1.0 ? p : 1.0;
}

std::vector<float> keep_probabilities(const std::vector<std::int64_t>& counts, double sample) {
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  std::vector<float> keep(counts.size());
  for (std::size_t w = 0; w < counts.size(); ++w)
    keep[w] = static_cast<float>(keep_probability(counts[w], total, sample));
  return keep;
}

UnigramTable::UnigramTable(const std::vector<std::int64_t>& counts, std::int64_t size, double power) {
  ZOO_CHECK(!counts.empty(), "word2vec::UnigramTable: the vocabulary is empty");
  ZOO_CHECK(size > 0, "word2vec::UnigramTable: the size must be positive, not {}", size);
  double norm = 0;  // Σ c^power
  for (const std::int64_t c : counts) norm += std::pow(static_cast<double>(c), power);
  table_.resize(static_cast<std::size_t>(size));
  // Walk the cells and the words together: cell a belongs to word i while a/size is
  // below the cumulative probability d of words 0..i.
  const auto V = static_cast<WordId>(counts.size());
  WordId i = 0;
  double d = std::pow(static_cast<double>(counts[0]), power) / norm;
  for (std::int64_t a = 0; a < size; ++a) {
    table_[static_cast<std::size_t>(a)] = i;
    if (static_cast<double>(a) / static_cast<double>(size) > d && i + 1 < V) {
      ++i;
      d += std::pow(static_cast<double>(counts[static_cast<std::size_t>(i)]), power) / norm;
    }
  }
}

}  // namespace zoo::models::word2vec
