#pragma once
/// @file model.h
/// @brief word2vec's parameters (input vectors and output vectors) and the update of
/// one (input, output) pair, with the gradient it follows derived here.
///
/// **The model.** Every word \f$w\f$ has an input vector \f$v_w\f$ (a row of `input`,
/// word2vec.c's `syn0`: the embedding one keeps) and an output vector \f$u_w\f$ (a row of
/// `output_ns`, `syn1neg`). Skip-gram predicts the words around a centre word from it;
/// the code, like word2vec.c and gensim, predicts the centre word \f$o\f$ from each context
/// word \f$c\f$ (\f$v = v_c\f$), which over a whole window makes the same pairs, swapped.
/// CBOW predicts the centre word from the mean \f$h\f$ of its context's input vectors.
///
/// **Negative sampling.** Instead of a softmax over the vocabulary, the pair is told
/// apart from \f$k\f$ words \f$w_1..w_k\f$ drawn from the unigram table:
/// \f[ L = -\log\sigma(u_o \cdot v) - \sum_{i=1}^{k} \log\sigma(-u_{w_i} \cdot v). \f]
/// Write every term as \f$-\log\sigma(\pm u_j \cdot v)\f$ with a label \f$y_j\f$ (1 for
/// \f$o\f$, 0 for the negatives). Since \f$\frac{d}{dx}\log\sigma(x) = 1 - \sigma(x)\f$
/// and \f$\frac{d}{dx}\log\sigma(-x) = -\sigma(x)\f$, both cases are
/// \f$\frac{\partial L}{\partial (u_j \cdot v)} = \sigma(u_j\cdot v) - y_j\f$, so
/// \f[ \frac{\partial L}{\partial u_j} = -(y_j - \sigma(u_j \cdot v))\, v, \qquad
///     \frac{\partial L}{\partial v} = -\sum_j (y_j - \sigma(u_j \cdot v))\, u_j. \f]
/// With \f$g_j = \alpha\,(y_j - \sigma(u_j \cdot v))\f$, stochastic gradient descent with
/// learning rate \f$\alpha\f$ is \f$u_j \mathrel{+}= g_j v\f$ and
/// \f$v \mathrel{+}= \sum_j g_j u_j\f$. word2vec.c applies each \f$u_j\f$ update at once
/// and collects \f$\sum_j g_j u_j\f$ in a buffer (`neu1e`) that is added to \f$v\f$ after
/// the last \f$j\f$: `output_step` is one \f$j\f$. (If a word is drawn twice, its second
/// term sees the first update: SGD, not the exact gradient of the sum.)
///
/// **Hierarchical softmax** has the same form: \f$-\log p(o \mid v)\f$ is a sum of
/// \f$-\log\sigma(\pm u_n \cdot v)\f$ over the inner nodes \f$n\f$ on \f$o\f$'s path
/// in the Huffman tree (`vocab.h`), with the label \f$y = 1 - c\f$ for a turn \f$c\f$. So
/// `output_step` serves both, with `output_hs` (`syn1`) holding the inner nodes' vectors.
///
/// **CBOW.** \f$h = \frac{1}{|C|}\sum_{c \in C} v_c\f$ takes \f$v\f$'s place; the
/// gradient for each \f$v_c\f$ would be \f$\frac{1}{|C|}\f$ of \f$h\f$'s, but word2vec.c
/// (and gensim with `cbow_mean=1`) adds \f$h\f$'s whole update to every \f$v_c\f$, and so does zoo.
///
/// **The sigmoid.** word2vec.c and gensim read \f$\sigma\f$ from a table of 1000 values of
/// \f$x \in [-6, 6)\f$ (`SigmoidTable`). Beyond that range word2vec.c's negative sampling
/// takes \f$\sigma = 0\f$ or \f$1\f$ (the gradient is then \f$0\f$ or \f$\pm\alpha\f$), and
/// hierarchical softmax skips the node; gensim 4 skips the pair in both. zoo's trainer does
/// what word2vec.c does (skipping instead, tried on Brown over three seeds, changed neither
/// WordSim-353 nor analogy accuracy beyond the seed-to-seed spread); the tests run the
/// very same `output_step` in float64 with the exact \f$\sigma\f$ (`ExactSigmoid`) and
/// compare it with the gradient zoo's autograd computes for \f$L\f$.
/// Lesson: @ref tutorial_09_word2vec.

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace zoo::models::word2vec {

/// \f$\sigma(x) = 1/(1 + e^{-x})\f$ by word2vec.c's table: 1000 values at
/// \f$x_i = -6 + 12 i / 1000\f$; `output_step` never asks outside \f$(-6, 6)\f$.
class SigmoidTable {
 public:
  static constexpr int kSize = 1000;        ///< word2vec.c's EXP_TABLE_SIZE
  static constexpr float kMaxInput = 6.0f;  ///< word2vec.c's MAX_EXP: the table covers [-6, 6)
  SigmoidTable() {
    for (int i = 0; i < kSize; ++i) {
      const double e = std::exp((static_cast<double>(i) / kSize * 2 - 1) * kMaxInput);
      table_[static_cast<std::size_t>(i)] = static_cast<float>(e / (e + 1));
    }
  }
  /// \f$\sigma(x)\f$ for \f$-6 < x < 6\f$ (the cell that \f$x\f$ falls in).
  float operator()(float x) const {
    return table_[static_cast<std::size_t>(static_cast<int>((x + kMaxInput) * (kSize / kMaxInput / 2)))];
  }

 private:
  std::array<float, kSize> table_{};
};

/// The exact \f$\sigma(x)\f$, with no range limit: what the tests use.
struct ExactSigmoid {
  /// No input is out of range.
  static constexpr double kMaxInput = std::numeric_limits<double>::infinity();
  /// \f$1/(1 + e^{-x})\f$.
  template <class Real>
  Real operator()(Real x) const {
    return Real(1) / (Real(1) + std::exp(-x));
  }
};

/// Which loss an `output_step` belongs to; they differ only outside the sigmoid's range.
enum class OutputKind {
  negative_sampling,     ///< outside the range: \f$\sigma\f$ taken as 0 or 1 (word2vec.c)
  hierarchical_softmax,  ///< outside the range: the node is skipped (word2vec.c)
};

/// \f$\sum_i a_i b_i\f$ over `dim` values. `omp simd` allows the sum to be split into
/// vector lanes (the order of additions changes, deterministically), which plain C++
/// forbids without -ffast-math.
template <class Real>
inline Real dot(const Real* __restrict a, const Real* __restrict b, std::int64_t dim) {
  Real s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t i = 0; i < dim; ++i) s += a[i] * b[i];
  return s;
}

/// \f$y \mathrel{+}= a\,x\f$ over `dim` values.
template <class Real>
inline void axpy(Real a, const Real* __restrict x, Real* __restrict y, std::int64_t dim) {
#pragma omp simd
  for (std::int64_t i = 0; i < dim; ++i) y[i] += a * x[i];
}

/// One term \f$-\log\sigma(\pm u \cdot v)\f$ of the loss, label \f$y\f$, learning rate
/// \f$\alpha\f$: with \f$g = \alpha\,(y - \sigma(u \cdot v))\f$, adds \f$g\,u\f$ to `v_update`
/// (before \f$u\f$ changes) and then \f$g\,v\f$ to \f$u\f$. `v`, `u` and `v_update` are
/// `dim` values each and must not overlap. With \f$\alpha = 1\f$ the two increments are
/// exactly \f$-\partial L / \partial v\f$ and \f$-\partial L / \partial u\f$ of this term.
template <OutputKind kind, class Real, class Sigmoid>
inline void output_step(const Real* __restrict v, Real* __restrict u, Real label, Real alpha,
                        Real* __restrict v_update, std::int64_t dim, const Sigmoid& sigmoid) {
  const Real f = dot(v, u, dim);
  const Real max_input = static_cast<Real>(Sigmoid::kMaxInput);
  Real g;
  if (f > -max_input && f < max_input) {
    g = (label - sigmoid(f)) * alpha;
  } else if constexpr (kind == OutputKind::hierarchical_softmax) {
    return;
  } else {
    g = (label - (f > 0 ? Real(1) : Real(0))) * alpha;
  }
  axpy(g, u, v_update, dim);
  axpy(g, v, u, dim);
}

/// The parameters of a word2vec model: \f$V \times D\f$ matrices, row-major.
struct Model {
  std::int64_t vocab_size = 0;  ///< V
  std::int64_t dim = 0;         ///< D
  std::vector<float> input;     ///< [V, D] input vectors \f$v_w\f$ (syn0): the word vectors
  std::vector<float> output_ns; ///< [V, D] output vectors \f$u_w\f$ for negative sampling (syn1neg), zeros at start; empty without it
  std::vector<float> output_hs; ///< [V-1, D] inner nodes' vectors for hierarchical softmax (syn1), zeros at start; empty without it

  /// A model as word2vec.c starts one: input vectors uniform in \f$[-0.5, 0.5)/D\f$ from
  /// its linear congruential generator started at `seed`, output vectors zero.
  Model(std::int64_t vocab_size, std::int64_t dim, bool negative_sampling, bool hierarchical_softmax,
        std::uint64_t seed);
  Model() = default;

  /// Row `w` of `input`.
  float* input_row(std::int64_t w) { return input.data() + w * dim; }
  /// Row `w` of `input`.
  const float* input_row(std::int64_t w) const { return input.data() + w * dim; }
};

/// word2vec.c's random number generator: \f$x \leftarrow 25214903917\,x + 11 \bmod 2^{64}\f$
/// (the constants of Java's and POSIX's `drand48`). Cheap, one state word per thread.
struct Lcg {
  std::uint64_t state;  ///< the current value
  /// The next value.
  std::uint64_t next() {
    state = state * 25214903917ULL + 11;
    return state;
  }
};

}  // namespace zoo::models::word2vec
