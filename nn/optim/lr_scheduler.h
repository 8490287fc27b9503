#pragma once
/// @file lr_scheduler.h
/// @brief Learning-rate schedules: StepLR, CosineAnnealingLR, LinearWarmup,
/// WarmupCosine and OneCycleLR, with PyTorch's formulas.
///
/// A schedule is a function \f$\eta(t)\f$ of the step count t. The scheduler sets the
/// optimizer's lr to \f$\eta(0)\f$ when it is made and to \f$\eta(t)\f$ at its t-th
/// `step()`, so the training loop is, as in PyTorch:
/// \code
///   optim::AdamW opt(model.named_parameters(), optim::AdamWOptions(3e-4));
///   optim::WarmupCosine sched(opt, /*warmup_steps=*/100, /*total_steps=*/5000);
///   for (int t = 0; t < 5000; ++t) {
///     opt.zero_grad(); loss(t).backward();
///     opt.step();     // uses η(t)
///     sched.step();   // sets η(t + 1)
///   }
/// \endcode
/// \f$\eta_0\f$ below is the base learning rate: the optimizer's lr when the scheduler
/// was made. Every schedule is written in closed form (`lr_at`), so its value at any
/// step can be printed or tested without running it.

#include <cstdint>
#include <string>

#include "nn/optim/optimizer.h"
#include "nn/state_dict.h"

namespace zoo::optim {

/// The base of every schedule: the step counter, applying \f$\eta(t)\f$, saving state.
/// It keeps a reference to the optimizer, which must outlive it.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances t by one and sets the optimizer's lr to \f$\eta(t)\f$.
  void step();
  /// The lr set last, \f$\eta(t)\f$ for the current t (PyTorch's `get_last_lr()`).
  double get_last_lr() const { return last_lr_; }
  /// The current t: how many times `step()` has run (or was restored).
  std::int64_t last_step() const { return last_step_; }
  /// \f$\eta_0\f$: the optimizer's lr when the scheduler was made.
  double base_lr() const { return base_lr_; }
  /// The schedule in closed form: the lr at step t.
  virtual double lr_at(std::int64_t t) const = 0;
  /// "StepLR", "CosineAnnealingLR", ...: the name used in error messages.
  const std::string& name() const { return name_; }

  /// `"last_step"` (0-dim int64) and `"base_lr"` (0-dim float64).
  nn::StateDict state_dict() const;
  /// Restores `last_step` and `base_lr` and sets the optimizer's lr to \f$\eta(t)\f$.
  /// A missing key is an error that names it.
  void load_state_dict(const nn::StateDict& state);

 protected:
  /// Records \f$\eta_0\f$ = `optimizer.lr()`. Subclasses check their arguments, then
  /// call `start()`.
  LRScheduler(std::string name, Optimizer& optimizer);
  /// Sets the optimizer's lr to \f$\eta(0)\f$ (a virtual call, hence not in the constructor).
  void start();

 private:
  void apply();
  std::string name_;
  Optimizer& optimizer_;
  double base_lr_;
  std::int64_t last_step_ = 0;
  double last_lr_;
};

/// Multiplies the lr by \f$\gamma\f$ every `step_size` steps (PyTorch's `StepLR`):
/// \f[ \eta(t) = \eta_0\, \gamma^{\lfloor t / \text{step\_size} \rfloor}. \f]
class StepLR : public LRScheduler {
 public:
  /// Decays by `gamma` every `step_size` (> 0) steps.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Half a cosine from \f$\eta_0\f$ down to \f$\eta_{\min}\f$ over \f$T_{\max}\f$ steps
/// (PyTorch's `CosineAnnealingLR`, in its closed form):
/// \f[
///   \eta(t) = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi t / T_{\max})\big).
/// \f]
/// As in PyTorch the formula is not clamped: past \f$T_{\max}\f$ the lr rises again along
/// the cosine. Set \f$T_{\max}\f$ to the number of steps (or use `WarmupCosine`, which stays
/// at \f$\eta_{\min}\f$).
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Anneals to `eta_min` over `T_max` (> 0) steps.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

/// A linear ramp over the first W = `warmup_steps` steps, then the base lr (PyTorch's
/// `LinearLR` with end factor 1), with start factor s:
/// \f[ \eta(t) = \eta_0 \big(s + (1 - s)\min(t, W)/W\big). \f]
/// With s = 0 (the default) the very first step has lr 0: Adam still starts its moments
/// there. Warmup keeps the first, noisy updates small while Adam's \f$v\f$ is poorly known.
class LinearWarmup : public LRScheduler {
 public:
  /// Ramps from `start_factor`·η₀ (s ∈ [0, 1]) to η₀ over `warmup_steps` (> 0) steps.
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps, double start_factor = 0.0);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t warmup_steps_;
  double start_factor_;
};

/// Linear warmup over W steps, then half a cosine down to \f$\eta_{\min}\f$ at step T, then
/// \f$\eta_{\min}\f$ (the usual schedule for transformers):
/// \f[
/// \eta(t) = \begin{cases}
///   \eta_0 \big(s + (1 - s)\, t/W\big) & t < W
/// \\ \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi \tfrac{t - W}{T - W})\big)
///   & W \le t \le T
/// \\ \eta_{\min} & t > T
/// \end{cases}
/// \f]
class WarmupCosine : public LRScheduler {
 public:
  /// Warms up over `warmup_steps`, reaches `eta_min` at `total_steps`; needs
  /// 0 <= warmup_steps < total_steps.
  WarmupCosine(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps,
               double eta_min = 0.0, double start_factor = 0.0);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t warmup_steps_, total_steps_;
  double eta_min_, start_factor_;
};

/// The 1cycle policy (Smith & Topin, "Super-Convergence", 2018), PyTorch's `OneCycleLR`
/// with cosine annealing and two phases (learning rate only; PyTorch's default also
/// cycles the momentum, which this does not). With \f$\eta_{\text{init}} =
/// \eta_{\max}/\text{div\_factor}\f$, \f$\eta_{\text{end}} =
/// \eta_{\text{init}}/\text{final\_div\_factor}\f$, the phase boundary
/// \f$P = \text{pct\_start}\cdot T - 1\f$ and
/// \f$\text{cos}(a, b, x) = b + \tfrac12(a - b)(1 + \cos\pi x)\f$:
/// \f[
/// \eta(t) = \begin{cases}
///   \text{cos}(\eta_{\text{init}}, \eta_{\max}, t/P) & t \le P
/// \\ \text{cos}(\eta_{\max}, \eta_{\text{end}}, (t - P)/(T - 1 - P)) & t > P
/// \end{cases}
/// \f]
/// It ignores the optimizer's lr, rises to \f$\eta_{\max}\f$, then anneals far below the
/// start. Stepping past T = `total_steps` is an error, as in PyTorch.
class OneCycleLR : public LRScheduler {
 public:
  /// One cycle of `total_steps` steps peaking at `max_lr` (PyTorch's defaults).
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps,
             double pct_start = 0.3, double div_factor = 25.0, double final_div_factor = 1e4);
  double lr_at(std::int64_t t) const override;

 private:
  double max_lr_, initial_lr_, min_lr_;
  std::int64_t total_steps_;
  double phase_end_;  // P = pct_start · T − 1
};

}  // namespace zoo::optim
