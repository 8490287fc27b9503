#include "nn/layers/linear.h"

#include <cmath>

#include "autograd/factories.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/repr.h"

namespace zoo::nn {

Linear::Linear(const LinearOptions& opts) : options(opts) {
  ZOO_CHECK(options.in_features() > 0 && options.out_features() > 0,
            "Linear: in_features and out_features must be positive, got {} and {}",
            options.in_features(), options.out_features());
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters();
}

void Linear::reset_parameters(Generator& gen) {
  // kaiming_uniform_(a = √5): gain √(2 / (1 + 5)) = 1/√3, bound √3 · gain / √in = 1/√in.
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) {
  // x: (..., in)
  ZOO_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == options.in_features(),
            "Linear({}): expected an input whose last dim is in_features = {}, got shape {}",
            extra_repr(), options.in_features(), x.defined() ? x.shape() : Shape{});
  return functional::linear(x, weight, bias);  // (..., out)
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", options.in_features(),
                     options.out_features(), repr_bool(options.bias()));
}

}  // namespace zoo::nn
