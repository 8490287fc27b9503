#include "nn/optim/optimizer.h"

#include <cmath>
#include <set>

#include "autograd/error.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"

namespace zoo::optim {

NamedParameters number_parameters(const std::vector<Tensor>& params) {
  NamedParameters named;
  named.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) named.emplace_back(std::to_string(i), params[i]);
  return named;
}

Optimizer::Optimizer(std::string name, NamedParameters params, double lr)
    : name_(std::move(name)), params_(std::move(params)), state_(params_.size()), lr_(0) {
  ZOO_CHECK(!params_.empty(), "{}: got an empty parameter list", name_);
  std::set<std::string> names;
  std::set<const TensorImpl*> tensors;
  for (const auto& [pname, p] : params_) {
    ZOO_CHECK(p.defined(), "{}: parameter '{}' is an undefined tensor", name_, pname);
    ZOO_CHECK(p.is_floating_point(),
              "{}: parameter '{}' has dtype {}; only float32 and float64 "
              "tensors can be optimized",
              name_, pname, dtype_name(p.dtype()));
    ZOO_CHECK(p.is_leaf(),
              "{}: parameter '{}' is not a leaf (an op made it); optimize the "
              "tensor it was computed from",
              name_, pname);
    ZOO_CHECK(names.insert(pname).second, "{}: two parameters are named '{}'", name_, pname);
    ZOO_CHECK(tensors.insert(p.impl()).second,
              "{}: parameter '{}' is the same tensor as an earlier one", name_, pname);
  }
  Optimizer::set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  ZOO_CHECK(std::isfinite(lr) && lr >= 0, "{}: the learning rate must be finite and >= 0, got {}",
            name_, lr);
  lr_ = lr;
}

const ParamState& Optimizer::param_state(std::size_t index) const {
  ZOO_CHECK(index < state_.size(), "{}: parameter index {} is out of range (there are {})", name_,
            index, state_.size());
  return state_[index];
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& [pname, p] = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;  // no gradient this step: leave p and its state alone
    ZOO_CHECK(g.shape() == p.shape(), "{}: the gradient of '{}' has shape {}, the parameter {}",
              name_, pname, g.shape(), p.shape());
    ParamState& s = state_[i];
    if (s.step == 0) init_state(i, p, s.buffers);
    ++s.step;
    update(i, p, g, s);
  }
  ++step_count_;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& [pname, p] : params_) {
    if (set_to_none) {
      p.set_grad(Tensor());
    } else if (Tensor g = p.grad(); g.defined()) {
      NoGradGuard no_grad;
      g.zero_();
    }
  }
}

nn::StateDict Optimizer::state_dict() const {
  NoGradGuard no_grad;
  nn::StateDict out;
  out.insert("step", scalar_tensor(static_cast<double>(step_count_), kInt64));
  out.insert("lr", scalar_tensor(lr_, kFloat64));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const ParamState& s = state_[i];
    if (s.step == 0) continue;
    const std::string& pname = params_[i].first;
    out.insert(pname + ".step", scalar_tensor(static_cast<double>(s.step), kInt64));
    for (const auto& [slot, buffer] : s.buffers) out.insert(pname + "." + slot, buffer.clone());
  }
  return out;
}

namespace {

/// The value of a 0-dim (or one-element) tensor `key` of `state`, or an error naming it.
double read_scalar(const nn::StateDict& state, const std::string& key, const std::string& who) {
  ZOO_CHECK(state.contains(key), "{}: missing key '{}'", who, key);
  const Tensor& t = state.at(key);
  ZOO_CHECK(t.defined() && t.numel() == 1, "{}: '{}' must hold one number, got shape {}", who, key,
            t.defined() ? t.shape() : Shape{});
  return t.item();
}

}  // namespace

void Optimizer::load_state_dict(const nn::StateDict& state) {
  NoGradGuard no_grad;
  const std::string who = name_ + ".load_state_dict";

  // Read everything into fresh objects first, so that an error leaves this optimizer as
  // it was. `expected` collects the keys we know, to report any key we don't.
  std::set<std::string> expected = {"step", "lr"};
  const double step_count = read_scalar(state, "step", who);
  const double lr = read_scalar(state, "lr", who);
  ZOO_CHECK(step_count >= 0, "{}: 'step' must be >= 0, got {}", who, step_count);

  std::vector<ParamState> loaded(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& [pname, p] = params_[i];
    const std::string step_key = pname + ".step";
    if (!state.contains(step_key)) continue;  // this parameter had no update yet
    expected.insert(step_key);
    const double step = read_scalar(state, step_key, who);
    ZOO_CHECK(step >= 1, "{}: '{}' must be >= 1, got {}", who, step_key, step);
    loaded[i].step = static_cast<std::int64_t>(step);
    init_state(i, p, loaded[i].buffers);
    for (const auto& [slot, fresh] : loaded[i].buffers) {
      const std::string key = pname + "." + slot;
      ZOO_CHECK(state.contains(key), "{}: missing key '{}'", who, key);
      const Tensor& src = state.at(key);
      ZOO_CHECK(src.defined() && src.shape() == fresh.shape(),
                "{}: '{}' has shape {}, expected {} (the shape of parameter '{}')", who, key,
                src.defined() ? src.shape() : Shape{}, fresh.shape(), pname);
      Tensor(fresh).copy_(src);
      expected.insert(key);
    }
  }
  for (const auto& [key, t] : state) {
    if (expected.count(key)) continue;
    // "w.exp_avg" without "w.step" is a missing key, not a stray one.
    for (const auto& [pname, p] : params_)
      ZOO_CHECK(key.rfind(pname + ".", 0) != 0 || state.contains(pname + ".step"),
                "{}: missing key '{}.step' (found '{}')", who, pname, key);
    ZOO_CHECK(false,
              "{}: unexpected key '{}' (is this the state of another optimizer, or of "
              "other parameters?)",
              who, key);
  }

  state_ = std::move(loaded);
  step_count_ = static_cast<std::int64_t>(step_count);
  set_lr(lr);
}

}  // namespace zoo::optim
