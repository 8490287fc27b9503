/// @file model.cpp
/// @brief The model's starting point, as word2vec.c's InitNet.

#include "models/word2vec/model.h"

#include "autograd/error.h"

namespace zoo::models::word2vec {

Model::Model(std::int64_t vocab_size_, std::int64_t dim_, bool negative_sampling, bool hierarchical_softmax,
             std::uint64_t seed)
    : vocab_size(vocab_size_), dim(dim_) {
  ZOO_CHECK(vocab_size > 0 && dim > 0, "word2vec::Model: vocabulary size {} and dimension {} must be positive",
            vocab_size, dim);
  input.resize(static_cast<std::size_t>(vocab_size * dim));
  Lcg rng{seed};
  for (float& x : input)
    x = (static_cast<float>(rng.next() & 0xFFFF) / 65536.0f - 0.5f) / static_cast<float>(dim);
  if (negative_sampling) output_ns.assign(input.size(), 0.0f);
  if (hierarchical_softmax && vocab_size > 1) output_hs.assign(static_cast<std::size_t>((vocab_size - 1) * dim), 0.0f);
}

}  // namespace zoo::models::word2vec
