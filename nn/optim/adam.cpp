#include "nn/optim/adam.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace zoo::optim {

void check_adam_options(const AdamOptions& o, const std::string& who) {
  const auto [beta1, beta2] = o.betas();
  ZOO_CHECK(beta1 >= 0 && beta1 < 1, "{}: beta1 must be in [0, 1), got {}", who, beta1);
  ZOO_CHECK(beta2 >= 0 && beta2 < 1, "{}: beta2 must be in [0, 1), got {}", who, beta2);
  ZOO_CHECK(o.eps() >= 0, "{}: eps must be >= 0, got {}", who, o.eps());
  ZOO_CHECK(o.weight_decay() >= 0, "{}: weight_decay must be >= 0, got {}", who, o.weight_decay());
}

void init_adam_state(const Tensor& param, const AdamOptions& options, nn::StateDict& buffers) {
  buffers.insert("exp_avg", zeros_like(param));
  buffers.insert("exp_avg_sq", zeros_like(param));
  if (options.amsgrad()) buffers.insert("max_exp_avg_sq", zeros_like(param));
}

void adam_update(Tensor& p, const Tensor& grad, ParamState& state, const AdamOptions& o,
                 double lr) {
  const auto [beta1, beta2] = o.betas();
  const double lambda = o.weight_decay();
  const double t = static_cast<double>(state.step);

  Tensor g = grad;
  if (lambda != 0) {
    if (o.decoupled_weight_decay())
      p.mul_(1.0 - lr * lambda);  // AdamW: θ ← θ − ηλθ
    else
      g = g + p * lambda;  // Adam:  g ← g + λθ
  }

  Tensor m = state.buffers.at("exp_avg");
  Tensor v = state.buffers.at("exp_avg_sq");
  m.mul_(beta1).add_(g, 1.0 - beta1);      // m ← β₁m + (1 − β₁)g
  v.mul_(beta2).add_(g * g, 1.0 - beta2);  // v ← β₂v + (1 − β₂)g²
  Tensor v_hat = v;
  if (o.amsgrad()) {
    Tensor v_max = state.buffers.at("max_exp_avg_sq");
    v_max.copy_(maximum(v_max, v));  // v̂ ← max(v̂, v)
    v_hat = v_max;
  }

  // θ ← θ − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  Tensor denom = sqrt(v_hat) / std::sqrt(bias_correction2) + o.eps();
  p.add_(m / denom, -lr / bias_correction1);
}

Adam::Adam(std::string name, NamedParameters params, AdamOptions options)
    : Optimizer(std::move(name), std::move(params), options.lr()), options_(options) {
  check_adam_options(options_, this->name());
}

Adam::Adam(NamedParameters params, AdamOptions options)
    : Adam("Adam", std::move(params), options) {}

Adam::Adam(const std::vector<Tensor>& params, AdamOptions options)
    : Adam("Adam", number_parameters(params), options) {}

void Adam::init_state(std::size_t, const Tensor& param, nn::StateDict& buffers) const {
  init_adam_state(param, options_, buffers);
}

void Adam::update(std::size_t, Tensor& param, const Tensor& grad, ParamState& state) {
  adam_update(param, grad, state, options_, lr());
}

AdamW::AdamW(NamedParameters params, AdamOptions options)
    : Adam("AdamW", std::move(params), options.decoupled_weight_decay(true)) {}

AdamW::AdamW(const std::vector<Tensor>& params, AdamOptions options)
    : Adam("AdamW", number_parameters(params), options.decoupled_weight_decay(true)) {}

}  // namespace zoo::optim
