#include "nn/layers/embedding.h"

#include "autograd/factories.h"
#include "autograd/ops/index.h"
#include "nn/init.h"

namespace zoo::nn {

Embedding::Embedding(const EmbeddingOptions& opts) : options(opts) {
  ZOO_CHECK(options.num_embeddings() > 0 && options.embedding_dim() > 0,
            "Embedding: num_embeddings and embedding_dim must be positive, got {} and {}",
            options.num_embeddings(), options.embedding_dim());
  weight = register_parameter("weight", empty({options.num_embeddings(), options.embedding_dim()}));
  reset_parameters();
}

void Embedding::reset_parameters(Generator& gen) { init::normal_(weight, 0.0, 1.0, gen); }

Tensor Embedding::forward(const Tensor& idx) {
  ZOO_CHECK(idx.defined() && idx.dtype() == kInt64,
            "Embedding({}): expected an int64 index tensor, got {}", extra_repr(),
            idx.defined() ? fmt::format("{} of shape {}", idx.dtype(), idx.shape())
                          : std::string("an undefined tensor"));
  return embedding(weight, idx);  // (idx.shape..., D); embedding checks the range
}

std::string Embedding::extra_repr() const {
  return fmt::format("{}, {}", options.num_embeddings(), options.embedding_dim());
}

}  // namespace zoo::nn
