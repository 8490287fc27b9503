#include "nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/error.h"
#include "autograd/factories.h"

namespace zoo::optim {

// ---- the base ----

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer)
    : name_(std::move(name)),
      optimizer_(optimizer),
      base_lr_(optimizer.lr()),
      last_lr_(optimizer.lr()) {}

void LRScheduler::start() { apply(); }

void LRScheduler::apply() {
  last_lr_ = lr_at(last_step_);
  optimizer_.set_lr(last_lr_);
}

void LRScheduler::step() {
  ++last_step_;
  apply();
}

nn::StateDict LRScheduler::state_dict() const {
  nn::StateDict out;
  out.insert("last_step", scalar_tensor(static_cast<double>(last_step_), kInt64));
  out.insert("base_lr", scalar_tensor(base_lr_, kFloat64));
  return out;
}

void LRScheduler::load_state_dict(const nn::StateDict& state) {
  const std::string who = name_ + ".load_state_dict";
  for (const char* key : {"last_step", "base_lr"}) {
    ZOO_CHECK(state.contains(key), "{}: missing key '{}'", who, key);
    ZOO_CHECK(state.at(key).numel() == 1, "{}: '{}' must hold one number, got shape {}", who, key,
              state.at(key).shape());
  }
  const double last_step = state.at("last_step").item();
  ZOO_CHECK(last_step >= 0, "{}: 'last_step' must be >= 0, got {}", who, last_step);
  const std::int64_t old_step = last_step_;
  const double old_base = base_lr_;
  last_step_ = static_cast<std::int64_t>(last_step);
  base_lr_ = state.at("base_lr").item();
  try {
    apply();  // may throw (OneCycleLR past its end): then keep the old state
  } catch (const Error&) {
    last_step_ = old_step;
    base_lr_ = old_base;
    throw;
  }
}

namespace {

/// Half a cosine from `start` (x = 0) to `end` (x = 1): \f$b + \tfrac12(a - b)(1 + \cos\pi x)\f$.
double cosine_anneal(double start, double end, double x) {
  return end + 0.5 * (start - end) * (1.0 + std::cos(std::numbers::pi * x));
}

}  // namespace

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  ZOO_CHECK(step_size > 0, "StepLR: step_size must be > 0, got {}", step_size);
  ZOO_CHECK(gamma >= 0, "StepLR: gamma must be >= 0, got {}", gamma);
  start();
}

double StepLR::lr_at(std::int64_t t) const {
  return base_lr() * std::pow(gamma_, static_cast<double>(t / step_size_));
}

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler("CosineAnnealingLR", optimizer), T_max_(T_max), eta_min_(eta_min) {
  ZOO_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be > 0, got {}", T_max);
  ZOO_CHECK(eta_min >= 0, "CosineAnnealingLR: eta_min must be >= 0, got {}", eta_min);
  start();
}

double CosineAnnealingLR::lr_at(std::int64_t t) const {
  return cosine_anneal(base_lr(), eta_min_, static_cast<double>(t) / static_cast<double>(T_max_));
}

// ---- LinearWarmup ----

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps, double start_factor)
    : LRScheduler("LinearWarmup", optimizer),
      warmup_steps_(warmup_steps),
      start_factor_(start_factor) {
  ZOO_CHECK(warmup_steps > 0, "LinearWarmup: warmup_steps must be > 0, got {}", warmup_steps);
  ZOO_CHECK(start_factor >= 0 && start_factor <= 1,
            "LinearWarmup: start_factor must be in [0, 1], got {}", start_factor);
  start();
}

double LinearWarmup::lr_at(std::int64_t t) const {
  const double ramp = static_cast<double>(std::min(t, warmup_steps_)) / warmup_steps_;
  return base_lr() * (start_factor_ + (1.0 - start_factor_) * ramp);
}

// ---- WarmupCosine ----

WarmupCosine::WarmupCosine(Optimizer& optimizer, std::int64_t warmup_steps,
                           std::int64_t total_steps, double eta_min, double start_factor)
    : LRScheduler("WarmupCosine", optimizer),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      eta_min_(eta_min),
      start_factor_(start_factor) {
  ZOO_CHECK(warmup_steps >= 0 && warmup_steps < total_steps,
            "WarmupCosine: need 0 <= warmup_steps < total_steps, got warmup_steps {} and "
            "total_steps {}",
            warmup_steps, total_steps);
  ZOO_CHECK(eta_min >= 0, "WarmupCosine: eta_min must be >= 0, got {}", eta_min);
  ZOO_CHECK(start_factor >= 0 && start_factor <= 1,
            "WarmupCosine: start_factor must be in [0, 1], got {}", start_factor);
  start();
}

double WarmupCosine::lr_at(std::int64_t t) const {
  if (t < warmup_steps_) {
    const double ramp = static_cast<double>(t) / warmup_steps_;
    return base_lr() * (start_factor_ + (1.0 - start_factor_) * ramp);
  }
  if (t > total_steps_) return eta_min_;
  const double x = static_cast<double>(t - warmup_steps_) / (total_steps_ - warmup_steps_);
  return cosine_anneal(base_lr(), eta_min_, x);
}

// ---- OneCycleLR ----

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps,
                       double pct_start, double div_factor, double final_div_factor)
    : LRScheduler("OneCycleLR", optimizer),
      max_lr_(max_lr),
      initial_lr_(max_lr / div_factor),
      min_lr_(max_lr / div_factor / final_div_factor),
      total_steps_(total_steps),
      phase_end_(pct_start * static_cast<double>(total_steps) - 1.0) {
  ZOO_CHECK(max_lr > 0, "OneCycleLR: max_lr must be > 0, got {}", max_lr);
  ZOO_CHECK(total_steps > 0, "OneCycleLR: total_steps must be > 0, got {}", total_steps);
  ZOO_CHECK(pct_start > 0 && pct_start < 1, "OneCycleLR: pct_start must be in (0, 1), got {}",
            pct_start);
  ZOO_CHECK(div_factor > 0 && final_div_factor > 0,
            "OneCycleLR: div_factor and final_div_factor must be > 0, got {} and {}", div_factor,
            final_div_factor);
  // Both phases need a positive length: P > 0 and T − 1 > P.
  ZOO_CHECK(phase_end_ > 0 && static_cast<double>(total_steps - 1) > phase_end_,
            "OneCycleLR: pct_start {} with total_steps {} leaves a phase with no steps (the "
            "peak would be at step {})",
            pct_start, total_steps, phase_end_);
  start();
}

double OneCycleLR::lr_at(std::int64_t t) const {
  ZOO_CHECK(t <= total_steps_, "OneCycleLR: stepped to step {}, past total_steps = {}", t,
            total_steps_);
  const double step = static_cast<double>(t);
  if (step <= phase_end_) return cosine_anneal(initial_lr_, max_lr_, step / phase_end_);
  const double last = static_cast<double>(total_steps_ - 1);
  return cosine_anneal(max_lr_, min_lr_, (step - phase_end_) / (last - phase_end_));
}

}  // namespace zoo::optim
