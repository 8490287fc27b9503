#pragma once
/// @file embedding.h
/// @brief `Embedding`: a lookup table of learned vectors, one row per token id.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of an `Embedding` layer: `EmbeddingOptions(vocab_size, dim)`.
class EmbeddingOptions {
 public:
  /// A table of `num_embeddings` vectors of size `embedding_dim`.
  EmbeddingOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// Number of rows V (the vocabulary size): valid indices are 0..V-1.
  std::int64_t num_embeddings() const { return num_embeddings_; }
  /// Sets the number of rows.
  EmbeddingOptions& num_embeddings(std::int64_t value) { num_embeddings_ = value; return *this; }
  /// Size D of each vector.
  std::int64_t embedding_dim() const { return embedding_dim_; }
  /// Sets the size of each vector.
  EmbeddingOptions& embedding_dim(std::int64_t value) { embedding_dim_ = value; return *this; }

 private:
  std::int64_t num_embeddings_;
  std::int64_t embedding_dim_;
};

/// A lookup table, like `torch.nn.Embedding`: \f$y_{\dots,d} = W_{\text{idx}_{\dots},\,d}\f$.
/// Equivalent to one_hot(idx) @ W, without building the one-hot matrix; the gradient of
/// a row is the sum of the output gradients of every position that picked it.
///
/// Shapes: idx (int64, any shape, values in [0, V)) -> (idx.shape..., D).
/// Parameter: `weight` (V, D), initialised from \f$\mathcal N(0, 1)\f$ as in PyTorch.
class Embedding : public Module {
 public:
  /// A table with the given settings, initialised from the default generator.
  explicit Embedding(const EmbeddingOptions& options);
  /// `Embedding(EmbeddingOptions(num_embeddings, embedding_dim))`.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  /// Draws new vectors from N(0, 1) with `gen`.
  void reset_parameters(Generator& gen = default_generator());
  /// idx (int64, any shape) -> (idx.shape..., D).
  Tensor forward(const Tensor& idx) override;
  /// "10, 3" (num_embeddings, embedding_dim).
  std::string extra_repr() const override;

  EmbeddingOptions options;  ///< The settings the layer was built with.
  Tensor weight;             ///< W: (V, D).
};

}  // namespace zoo::nn
