#include "nn/layers/activation.h"

#include "autograd/ops/elementwise.h"
#include "nn/repr.h"

namespace zoo::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, options.negative_slope()); }

std::string LeakyReLU::extra_repr() const {
  return "negative_slope=" + repr_float(options.negative_slope());
}

GELU::GELU(const GELUOptions& opts) : options(opts) {
  ZOO_CHECK(options.approximate() == "none" || options.approximate() == "tanh",
            "GELU: approximate must be 'none' or 'tanh', got '{}'", options.approximate());
}

Tensor GELU::forward(const Tensor& x) { return gelu(x, options.approximate() == "tanh"); }

std::string GELU::extra_repr() const { return "approximate='" + options.approximate() + "'"; }

Tensor SiLU::forward(const Tensor& x) { return silu(x); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Softplus::forward(const Tensor& x) {
  return softplus(x, options.beta(), options.threshold());
}

std::string Softplus::extra_repr() const {
  return fmt::format("beta={}, threshold={}", repr_float(options.beta()),
                     repr_float(options.threshold()));
}

}  // namespace zoo::nn
