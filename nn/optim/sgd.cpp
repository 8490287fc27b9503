#include "nn/optim/sgd.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace zoo::optim {

SGD::SGD(NamedParameters params, SGDOptions options)
    : Optimizer("SGD", std::move(params), options.lr()), options_(options) {
  const SGDOptions& o = options_;
  ZOO_CHECK(o.momentum() >= 0, "SGD: momentum must be >= 0, got {}", o.momentum());
  ZOO_CHECK(o.weight_decay() >= 0, "SGD: weight_decay must be >= 0, got {}", o.weight_decay());
  ZOO_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
            "SGD: nesterov needs momentum > 0 and dampening = 0, got momentum {} and "
            "dampening {}",
            o.momentum(), o.dampening());
}

SGD::SGD(const std::vector<Tensor>& params, SGDOptions options)
    : SGD(number_parameters(params), options) {}

void SGD::init_state(std::size_t, const Tensor& param, nn::StateDict& buffers) const {
  if (options_.momentum() != 0) buffers.insert("momentum_buffer", zeros_like(param));
}

void SGD::update(std::size_t, Tensor& p, const Tensor& grad, ParamState& state) {
  const double mu = options_.momentum(), tau = options_.dampening();
  const double lambda = options_.weight_decay();

  Tensor d = grad;
  if (lambda != 0) d = d + p * lambda;  // g ← g + λθ
  if (mu != 0) {
    Tensor b = state.buffers.at("momentum_buffer");
    if (state.step == 1)
      b.copy_(d);  // b₁ = g₁
    else
      b.mul_(mu).add_(d, 1.0 - tau);           // b ← μb + (1 − τ)g
    d = options_.nesterov() ? d + b * mu : b;  // Nesterov: g + μb
  }
  p.add_(d, -lr());  // θ ← θ − η d
}

}  // namespace zoo::optim
