#include "nn/layers/flatten.h"

#include "autograd/error.h"

namespace zoo::nn {

Tensor Flatten::forward(const Tensor& x) {
  ZOO_CHECK(x.defined(), "Flatten({}): the input is undefined", extra_repr());
  try {
    return x.flatten(options.start_dim(), options.end_dim());
  } catch (const Error& e) {
    throw Error(fmt::format("Flatten({}) on an input of shape {}: {}", extra_repr(), x.shape(),
                            e.what()));
  }
}

std::string Flatten::extra_repr() const {
  return fmt::format("start_dim={}, end_dim={}", options.start_dim(), options.end_dim());
}

}  // namespace zoo::nn
