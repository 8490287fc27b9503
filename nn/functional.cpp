#include "nn/functional.h"

namespace zoo::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ZOO_CHECK(x.defined() && weight.defined(), "linear: the input and the weight must be defined");
  ZOO_CHECK(weight.dim() == 2, "linear: the weight must be (out, in), got shape {}", weight.shape());
  ZOO_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
            "linear: the input's last dim must equal in = {} (weight {}), got input shape {}",
            weight.size(1), weight.shape(), x.shape());
  ZOO_CHECK(!bias.defined() || bias.shape() == Shape{weight.size(0)},
            "linear: the bias must be (out) = [{}], got shape {}", weight.size(0),
            bias.defined() ? bias.shape() : Shape{});
  // x: (..., in) @ Wᵀ: (in, out) -> (..., out). W.t() is a view; BLAS reads it transposed.
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

}  // namespace zoo::nn::functional
