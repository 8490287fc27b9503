#include "nn/layers/dropout.h"

#include "autograd/ops/norm.h"
#include "nn/repr.h"

namespace zoo::nn {

Dropout::Dropout(const DropoutOptions& opts) : options(opts) {
  ZOO_CHECK(options.p() >= 0.0 && options.p() <= 1.0,
            "Dropout: the probability p must be in [0, 1], got {}", options.p());
}

Tensor Dropout::forward(const Tensor& x) {
  Generator& gen = generator_ ? *generator_ : default_generator();
  return dropout(x, options.p(), is_training(), gen);
}

std::string Dropout::extra_repr() const {
  return fmt::format("p={}, inplace=False", repr_float(options.p()));
}

}  // namespace zoo::nn
