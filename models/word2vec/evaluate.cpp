/// @file evaluate.cpp
/// @brief Cosine neighbours, 3CosAdd analogies, Spearman's correlation, and gensim's two
/// evaluation loops.

#include "models/word2vec/evaluate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "autograd/error.h"
#include "autograd/parallel.h"
#include "models/word2vec/model.h"

namespace zoo::models::word2vec {

CosineIndex::CosineIndex(const WordVectors& vectors) : words_(vectors.words), dim_(vectors.dim), unit_(vectors.values) {
  ZOO_CHECK(unit_.size() == words_.size() * static_cast<std::size_t>(dim_),
            "word2vec::CosineIndex: {} words of dimension {} need {} values, not {}", words_.size(), dim_,
            words_.size() * static_cast<std::size_t>(dim_), unit_.size());
  index_.reserve(words_.size());
  for (std::int64_t i = 0; i < size(); ++i) {
    index_.try_emplace(words_[static_cast<std::size_t>(i)], i);  // the first of duplicates wins
    float* row = unit_.data() + i * dim_;
    double norm2 = 0;
    for (std::int64_t k = 0; k < dim_; ++k) norm2 += static_cast<double>(row[k]) * row[k];
    if (norm2 > 0) {
      const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
      for (std::int64_t k = 0; k < dim_; ++k) row[k] *= inv;
    }
  }
}

std::int64_t CosineIndex::find(std::string_view word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? -1 : it->second;
}

std::int64_t CosineIndex::require(std::string_view word) const {
  const std::int64_t i = find(word);
  ZOO_CHECK(i >= 0, "word2vec: '{}' is not in the vocabulary ({} words; words are case-sensitive)", word, size());
  return i;
}

double CosineIndex::similarity(std::int64_t i, std::int64_t j) const {
  return dot(unit(i).data(), unit(j).data(), dim_);
}

std::vector<Neighbor> CosineIndex::nearest(std::span<const float> query, std::int64_t k,
                                           std::span<const std::int64_t> exclude, std::int64_t restrict_vocab) const {
  ZOO_CHECK(static_cast<std::int64_t>(query.size()) == dim_, "word2vec: a query of size {} against vectors of size {}",
            query.size(), dim_);
  const std::int64_t n = restrict_vocab > 0 ? std::min(restrict_vocab, size()) : size();
  std::vector<std::pair<float, std::int64_t>> scored;
  scored.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::find(exclude.begin(), exclude.end(), i) != exclude.end()) continue;
    scored.emplace_back(dot(unit(i).data(), query.data(), dim_), i);
  }
  const auto take = static_cast<std::ptrdiff_t>(std::min<std::size_t>(static_cast<std::size_t>(std::max<std::int64_t>(k, 0)), scored.size()));
  std::partial_sort(scored.begin(), scored.begin() + take, scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  // The query need not be a unit vector: divide by its norm to report cosines.
  double qn = 0;
  for (const float x : query) qn += static_cast<double>(x) * x;
  qn = qn > 0 ? std::sqrt(qn) : 1.0;
  std::vector<Neighbor> out;
  for (std::ptrdiff_t r = 0; r < take; ++r) {
    const auto [s, i] = scored[static_cast<std::size_t>(r)];
    out.push_back({i, word(i), s / qn});
  }
  return out;
}

std::vector<Neighbor> CosineIndex::neighbors(std::string_view word, std::int64_t k) const {
  const std::int64_t i = require(word);
  const std::int64_t exclude[] = {i};
  return nearest(unit(i), k, exclude);
}

std::vector<Neighbor> CosineIndex::analogy(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t k,
                                           std::int64_t restrict_vocab) const {
  // b̂ - â + ĉ (gensim takes the mean of the three and normalises it: the same direction).
  std::vector<float> q(static_cast<std::size_t>(dim_));
  for (std::int64_t d = 0; d < dim_; ++d)
    q[static_cast<std::size_t>(d)] = unit(b)[static_cast<std::size_t>(d)] - unit(a)[static_cast<std::size_t>(d)] +
                                     unit(c)[static_cast<std::size_t>(d)];
  const std::int64_t exclude[] = {a, b, c};
  return nearest(q, k, exclude, restrict_vocab);
}

std::vector<Neighbor> CosineIndex::analogy(std::string_view a, std::string_view b, std::string_view c,
                                           std::int64_t k) const {
  return analogy(require(a), require(b), require(c), k);
}

std::vector<double> average_ranks(std::span<const double> x) {
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return x[i] < x[j]; });
  std::vector<double> rank(x.size());
  for (std::size_t a = 0; a < order.size();) {
    std::size_t b = a;
    while (b + 1 < order.size() && x[order[b + 1]] == x[order[a]]) ++b;
    const double r = (static_cast<double>(a) + static_cast<double>(b)) / 2.0 + 1.0;  // ranks a+1..b+1, averaged
    for (std::size_t i = a; i <= b; ++i) rank[order[i]] = r;
    a = b + 1;
  }
  return rank;
}

namespace {

/// `v` divided by its largest magnitude (unchanged if all zero): values in [-1, 1].
std::vector<double> scaled_to_unit_max(std::span<const double> v) {
  double largest = 0;
  for (const double a : v) largest = std::max(largest, std::abs(a));
  std::vector<double> out(v.begin(), v.end());
  if (largest > 0)
    for (double& a : out) a /= largest;
  return out;
}

}  // namespace

double pearson(std::span<const double> x_in, std::span<const double> y_in) {
  ZOO_CHECK(x_in.size() == y_in.size(), "word2vec::pearson: {} values against {}", x_in.size(), y_in.size());
  if (x_in.empty()) return 0.0;
  // r does not change when x or y is multiplied by a positive number. Scaling both into
  // [-1, 1] first keeps every sum below n: scores near the largest double would
  // otherwise square to infinity, and infinity / infinity is NaN.
  const std::vector<double> x = scaled_to_unit_max(x_in), y = scaled_to_unit_max(y_in);
  const auto n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

double spearman(std::span<const double> x, std::span<const double> y) {
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  return pearson(rx, ry);
}

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return u;
}

/// gensim's `ok_vocab`: the first `restrict_vocab` words, keyed by their upper case if
/// case-insensitive; a key stands for its most frequent spelling (the lowest row).
class OkVocab {
 public:
  OkVocab(const CosineIndex& index, const EvalOptions& o)
      : case_insensitive_(o.case_insensitive),
        n_(o.restrict_vocab > 0 ? std::min(o.restrict_vocab, index.size()) : index.size()) {
    for (std::int64_t i = n_ - 1; i >= 0; --i) rows_[key(index.word(i))] = i;
  }
  std::string key(std::string_view w) const { return case_insensitive_ ? upper(w) : std::string(w); }
  /// The row of key `k`, or -1.
  std::int64_t find(const std::string& k) const {
    const auto it = rows_.find(k);
    return it == rows_.end() ? -1 : it->second;
  }
  std::int64_t size() const { return n_; }

 private:
  bool case_insensitive_;
  std::int64_t n_;
  std::unordered_map<std::string, std::int64_t> rows_;
};

/// The fields of `line` split on `sep` (every occurrence), or on runs of white space if `sep` is 0.
std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  if (sep != 0) {
    std::size_t pos = 0;
    for (std::size_t next; (next = line.find(sep, pos)) != std::string_view::npos; pos = next + 1)
      out.push_back(line.substr(pos, next - pos));
    out.push_back(line.substr(pos));
    return out;
  }
  for_each_word(line, [&](std::string_view w) { out.push_back(w); }, [] {});
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::int64_t number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
    pos = end + 1;
  }
}

}  // namespace

SimilarityResult evaluate_word_pairs(const CosineIndex& index, std::string_view text, const std::string& name,
                                     const EvalOptions& options) {
  const OkVocab ok(index, options);
  std::vector<double> gold, model;
  SimilarityResult r;
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    if (line.empty() || line.front() == '#') return;
    const auto f = split(line, '\t');
    if (f.size() != 3) return;  // not a pair line: skipped, as gensim
    const std::string_view s = trim(f[2]);
    double score = 0;
    const auto conv = std::from_chars(s.data(), s.data() + s.size(), score);
    if (s.empty() || conv.ptr != s.data() + s.size()) return;  // not a number ("Human (mean)"): skipped
    // A number, but no score: "nan" and "inf" parse, "1e999" and "1e-999" are out of range.
    ZOO_CHECK(conv.ec == std::errc() && std::isfinite(score),
              "{}:{}: the score '{}' is not a finite number in the range of a double", name, number, s);
    const std::int64_t a = ok.find(ok.key(trim(f[0]))), b = ok.find(ok.key(trim(f[1])));
    if (a < 0 || b < 0) {
      ++r.oov;
      return;
    }
    gold.push_back(score);
    model.push_back(index.similarity(a, b));
  });
  ZOO_CHECK(!gold.empty(), "{}: no word pair to score ({} pairs had a word outside the vocabulary)", name, r.oov);
  r.pairs = static_cast<std::int64_t>(gold.size());
  r.spearman = spearman(gold, model);
  r.pearson = pearson(gold, model);
  return r;
}

AnalogyResult evaluate_analogies(const CosineIndex& index, std::string_view text, const std::string& name,
                                 const EvalOptions& options) {
  const OkVocab ok(index, options);
  struct Question {
    std::size_t section;
    std::int64_t a, b, c;
    std::string ka, kb, kc, expected;  // keys
  };
  AnalogyResult r;
  std::vector<Question> questions;
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    if (line.starts_with(": ")) {
      r.sections.push_back({std::string(trim(line.substr(2)))});
      return;
    }
    const auto w = split(line, 0);
    if (w.empty()) return;
    ZOO_CHECK(!r.sections.empty(), "{}:{}: a question before the first section header (': name')", name, number);
    if (w.size() != 4) return;  // not a question: skipped, as gensim
    Question q{r.sections.size() - 1, -1, -1, -1, ok.key(w[0]), ok.key(w[1]), ok.key(w[2]), ok.key(w[3])};
    q.a = ok.find(q.ka);
    q.b = ok.find(q.kb);
    q.c = ok.find(q.kc);
    if (q.a < 0 || q.b < 0 || q.c < 0 || ok.find(q.expected) < 0) {
      ++r.sections.back().oov;
      return;
    }
    questions.push_back(std::move(q));
  });
  // Answer the questions in parallel; tally in file order.
  std::vector<std::uint8_t> right(questions.size(), 0);
  parallel_for(0, static_cast<std::int64_t>(questions.size()), 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const Question& q = questions[static_cast<std::size_t>(i)];
      std::string predicted;
      for (const Neighbor& n : index.analogy(q.a, q.b, q.c, 5, ok.size())) {
        predicted = ok.key(n.word);
        if (ok.find(predicted) >= 0 && predicted != q.ka && predicted != q.kb && predicted != q.kc) break;
      }
      right[static_cast<std::size_t>(i)] = predicted == q.expected ? 1 : 0;
    }
  });
  for (std::size_t i = 0; i < questions.size(); ++i) {
    AnalogySection& s = r.sections[questions[i].section];
    (right[i] ? s.correct : s.incorrect) += 1;
  }
  for (const AnalogySection& s : r.sections) {
    r.total.correct += s.correct;
    r.total.incorrect += s.incorrect;
    r.total.oov += s.oov;
  }
  return r;
}

}  // namespace zoo::models::word2vec
