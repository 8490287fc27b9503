#pragma once
/// @file ema.h
/// @brief An exponential moving average of a model's parameters, the weights diffusion
/// models sample with (Ho et al., 2020: decay 0.9999; here a configurable decay).
///
/// After every optimizer step, each shadow tensor moves a little towards the parameter:
/// \f[ \bar\theta \leftarrow d\,\bar\theta + (1 - d)\,\theta. \f]
/// The average smooths the noise of the last steps of SGD, so its samples are cleaner
/// than those of the raw weights. Like `torch.optim.swa_utils.AveragedModel` with an EMA
/// function, or the `ema` of the DDPM reference code.

#include <string>

#include "nn/optim/optimizer.h"
#include "nn/state_dict.h"

namespace zoo::optim {

/// The shadow copies of a set of named parameters.
class ExponentialMovingAverage {
 public:
  /// Starts the average at the parameters' current values. `decay` must be in [0, 1).
  ExponentialMovingAverage(const NamedParameters& params, double decay);
  /// \f$\bar\theta \leftarrow d\,\bar\theta + (1 - d)\,\theta\f$ for every parameter, without a graph.
  void update();
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
};

}  // namespace zoo::optim
