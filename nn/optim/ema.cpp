#include "nn/optim/ema.h"

#include "autograd/error.h"
#include "autograd/grad_mode.h"

namespace zoo::optim {

ExponentialMovingAverage::ExponentialMovingAverage(const NamedParameters& params, double decay)
    : params_(params), decay_(decay) {
  ZOO_CHECK(decay >= 0 && decay < 1, "ExponentialMovingAverage: the decay must be in [0, 1), got {}", decay);
  for (const auto& [name, p] : params_) shadows_.emplace_back(name, p.detach().clone());
}

void ExponentialMovingAverage::update() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& shadow = shadows_[i].second;
    shadow.mul_(decay_);
    shadow.add_(params_[i].second.detach(), 1 - decay_);  // d·θ̄ + (1 − d)·θ
  }
}

nn::StateDict ExponentialMovingAverage::averaged() const {
  nn::StateDict out;
  for (const auto& [name, shadow] : shadows_) out.insert(name, shadow);
  return out;
}

void ExponentialMovingAverage::load_state_dict(const nn::StateDict& state) {
  ZOO_CHECK(state.size() == shadows_.size(), "ExponentialMovingAverage: the state has {} tensors, the average {}",
            state.size(), shadows_.size());
  NoGradGuard no_grad;
  for (auto& [name, shadow] : shadows_) {
    ZOO_CHECK(state.contains(name), "ExponentialMovingAverage: the state has no '{}'", name);
    const Tensor& saved = state.at(name);
    ZOO_CHECK(saved.shape() == shadow.shape(), "ExponentialMovingAverage: '{}' is {} in the state, {} here", name,
              saved.shape(), shadow.shape());
    shadow.copy_(saved);
  }
}

}  // namespace zoo::optim
