#include "nn/optim/ema.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/grad_mode.h"

namespace zoo::optim {

ExponentialMovingAverage::ExponentialMovingAverage(const NamedParameters& params, double decay, bool warmup)
    : params_(params), decay_(decay), warmup_(warmup) {
  ZOO_CHECK(decay >= 0 && decay < 1, "ExponentialMovingAverage: the decay must be in [0, 1), got {}", decay);
  for (const auto& [name, p] : params_) shadows_.emplace_back(name, p.detach().clone());
}

double ExponentialMovingAverage::current_decay() const {
  if (!warmup_) return decay_;
  const auto t = static_cast<double>(updates_);
  return std::min(decay_, (1 + t) / (10 + t));
}

void ExponentialMovingAverage::update() {
  NoGradGuard no_grad;
  const double d = current_decay();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& shadow = shadows_[i].second;
    shadow.mul_(d);
    shadow.add_(params_[i].second.detach(), 1 - d);  // d·θ̄ + (1 − d)·θ
  }
  ++updates_;
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
