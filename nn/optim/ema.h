#pragma once
/// @file ema.h
/// @brief An exponential moving average of a model's parameters, the weights diffusion
/// models sample with (Ho et al., 2020: decay 0.9999; here a configurable decay).
///
/// After every optimizer step, each shadow tensor moves a little towards the parameter:
/// \f[ \bar\theta \leftarrow d_t\,\bar\theta + (1 - d_t)\,\theta,
///     \qquad d_t = \min\Big(d, \frac{1 + t}{10 + t}\Big) \f]
/// at update t = 0, 1, ... With d = 0.999 alone the average would still hold 0.999^1000
/// = 37% of the *initial* weights after 1000 steps (for DDPM's zero-initialised output
/// layer, a prediction a third too small); the warm-up (TensorFlow's `num_updates`)
/// lets early averages follow the weights closely and reaches d after about 10/(1 − d)
/// steps. `warmup = false` keeps d from the first step.
/// The average smooths the noise of the last steps of SGD, so its samples are cleaner
/// than those of the raw weights. Like `torch.optim.swa_utils.AveragedModel` with an EMA
/// function, or the `ema` of the DDPM reference code.

#include <cstdint>
#include <string>

#include "nn/optim/optimizer.h"
#include "nn/state_dict.h"

namespace zoo::optim {

/// The shadow copies of a set of named parameters.
class ExponentialMovingAverage {
 public:
  /// Starts the average at the parameters' current values. `decay` must be in [0, 1).
  ExponentialMovingAverage(const NamedParameters& params, double decay, bool warmup = true);
  /// \f$\bar\theta \leftarrow d_t\,\bar\theta + (1 - d_t)\,\theta\f$ for every parameter, without a graph.
  void update();
  /// The decay the next update will use, \f$d_t\f$.
  double current_decay() const;
  /// Updates made so far (t); a checkpoint saves it, `set_updates` restores it.
  std::int64_t updates() const { return updates_; }
  /// Restores the count of updates (resume).
  void set_updates(std::int64_t updates) { updates_ = updates; }
  /// The averaged values, by the parameters' names (what `model.safetensors` holds for sampling).
  nn::StateDict averaged() const;
  /// The shadows, for a checkpoint.
  nn::StateDict state_dict() const { return averaged(); }
  /// Restores the shadows from `state_dict()`; every name must match, shapes too.
  void load_state_dict(const nn::StateDict& state);
  /// The decay d.
  double decay() const { return decay_; }

 private:
  NamedParameters params_;   // the live parameters (handles)
  NamedParameters shadows_;  // their averages, same names and order
  double decay_;
  bool warmup_;
  std::int64_t updates_ = 0;
};

}  // namespace zoo::optim
