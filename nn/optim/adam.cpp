#include "nn/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"

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

void adam_update_reference(Tensor& p, const Tensor& grad, ParamState& state,
                           const AdamOptions& o, double lr) {
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

namespace {

/// The same update as `adam_update_reference`, one element at a time in a single pass
/// over θ, g, m, v (and v̂). The reference makes about ten passes, each a full read and
/// write of a tensor the size of the model; this one reads and writes each once.
template <class T>
void adam_update_fused(T* p, const T* grad, T* m, T* v, T* v_max, std::int64_t n,
                       const AdamOptions& o, double lr, double t) {
  const auto [beta1, beta2] = o.betas();
  const double lambda = o.weight_decay();
  const bool decoupled = o.decoupled_weight_decay();
  const T b1 = T(beta1), b2 = T(beta2), one_minus_b1 = T(1 - beta1), one_minus_b2 = T(1 - beta2);
  const T l2 = decoupled ? T(0) : T(lambda);               // g ← g + λθ
  const T shrink = decoupled ? T(1 - lr * lambda) : T(1);  // θ ← (1 − ηλ)θ
  const T step_size = T(lr / (1 - std::pow(beta1, t)));
  const T inv_sqrt_bc2 = T(1 / std::sqrt(1 - std::pow(beta2, t)));
  const T eps = T(o.eps());
  parallel_for(0, n, 1 << 15, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T g = grad[i] + l2 * p[i];
      const T theta = shrink * p[i];
      const T mi = b1 * m[i] + one_minus_b1 * g;
      const T vi = b2 * v[i] + one_minus_b2 * g * g;
      m[i] = mi;
      v[i] = vi;
      T v_hat = vi;
      if (v_max) v_hat = v_max[i] = std::max(v_max[i], vi);
      p[i] = theta - step_size * mi / (std::sqrt(v_hat) * inv_sqrt_bc2 + eps);
    }
  });
}

}  // namespace

void adam_update(Tensor& p, const Tensor& grad, ParamState& state, const AdamOptions& o,
                 double lr) {
  Tensor m = state.buffers.at("exp_avg");
  Tensor v = state.buffers.at("exp_avg_sq");
  Tensor v_max = o.amsgrad() ? state.buffers.at("max_exp_avg_sq") : Tensor();
  // The fused pass needs plain arrays of one floating dtype; anything else (a
  // non-contiguous parameter, a float64 gradient of a float32 parameter) takes the
  // tensor-op path, which handles every layout and dtype.
  auto plain_array = [&](const Tensor& t) {
    return !t.defined() || (t.is_contiguous() && t.dtype() == p.dtype());
  };
  const bool plain = is_floating(p.dtype()) && plain_array(p) && plain_array(grad) &&
                     plain_array(m) && plain_array(v) && plain_array(v_max);
  if (!plain) return adam_update_reference(p, grad, state, o, lr);

  dispatch_floating(p.dtype(), "adam", [&](auto tag) {
    using T = decltype(tag);
    adam_update_fused<T>(p.data_ptr<T>(), grad.data_ptr<T>(), m.data_ptr<T>(), v.data_ptr<T>(),
                         v_max.defined() ? v_max.data_ptr<T>() : nullptr, p.numel(), o, lr,
                         static_cast<double>(state.step));
  });
  // In-place writes, counted as the tensor ops would have counted them.
  for (Tensor* t : {&p, &m, &v, &v_max})
    if (t->defined()) t->storage().bump_version();
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
