/// @file feed_forward.cpp
/// @brief SwiGLU.

#include "models/transformer/feed_forward.h"

#include "autograd/ops.h"

namespace zoo::models {

SwiGLU::SwiGLU(std::int64_t dim, std::int64_t hidden) {
  w1 = register_module("w1", std::make_shared<nn::Linear>(nn::LinearOptions(dim, hidden).bias(false)));
  w3 = register_module("w3", std::make_shared<nn::Linear>(nn::LinearOptions(dim, hidden).bias(false)));
  w2 = register_module("w2", std::make_shared<nn::Linear>(nn::LinearOptions(hidden, dim).bias(false)));
}

Tensor SwiGLU::forward(const Tensor& x) {
  return w2->forward(silu(w1->forward(x)) * w3->forward(x));
}

}  // namespace zoo::models
