#pragma once
/// @file train.h
/// @brief Training a rectified flow on MNIST and sampling from it: the velocity loss on
/// the straight path, trained by the shared U-Net loop, and the guided ODE samplers;
/// the recipe behind `zoo train flow` and `zoo sample flow`.
///
/// **The loss.** \f$\mathbb E_{t, x_0, \varepsilon}\,\|v_\theta(x_t, t, y) - (\varepsilon - x_0)\|^2\f$
/// with \f$x_t = (1 - t)x_0 + t\varepsilon\f$ (rectified_flow.h), t uniform or logit-normal.
/// The network sees 1000·t, so its time embedding spans the same range as DDPM's steps.
/// Lesson: @ref tutorial_14_rectified_flow.

#include <cstdint>
#include <memory>
#include <string>

#include "models/flow/rectified_flow.h"
#include "models/flow/reflow.h"
#include "models/unet/training.h"
#include "models/unet/unet.h"

namespace zoo::models {

/// The loss on a batch x0 (N, C, H, W) in [-1, 1]: times from `time_distribution`, noise
/// and label dropout drawn from `gen`; reflow passes its paired `noise` instead (then
/// none is drawn). A differentiable scalar.
Tensor flow_loss(UNet& net, const Tensor& x0, const Tensor& labels, double label_dropout,
                 const std::string& time_distribution, Generator& gen, const Tensor& noise = Tensor());

/// Everything `zoo train flow` can set: the shared U-Net settings, the time distribution,
/// and reflow.
struct FlowOptions : UNetTraining {
  std::string time_distribution = "logit-normal";  ///< "uniform" or "logit-normal"
  /// Reflow: a trained flow's model.safetensors. Empty: an ordinary (first) flow.
  std::string reflow_from;
  ReflowPairing reflow;  ///< how reflow's pairs are drawn
  FlowOptions() { out = "runs/flow"; }
};

/// Trains with `flow_loss` in the shared loop (`train_unet`); see `train_ddpm` for the files.
/// With `reflow_from`, this is reflow (reflow.h): the pairs are drawn first (kept in
/// out/reflow_pairs.safetensors), then a network with the first flow's sizes, starting
/// from its weights, trains on them for `epochs` passes over the pairs.
UNetTrainingResult train_flow(const FlowOptions& options);

/// How `sample_flow` integrates.
struct FlowSampling {
  std::string sampler = "euler";  ///< "euler" or "heun"
  std::int64_t steps = 50;        ///< steps from t = 1 to 0
  double guidance = 1.0;          ///< classifier-free guidance on the velocity, as for DDPM
  std::int64_t image_size = 28;   ///< H = W
};

/// `noise` (n, C, size, size) carried from t = 1 to t = 0 by the network's (guided)
/// velocity field: images in about [-1, 1]. `labels` (n) or undefined. No graph.
Tensor integrate_flow(UNet& net, const Tensor& noise, const Tensor& labels, const FlowSampling& how,
                      const FlowObserver& observe = nullptr);

/// n images: `integrate_flow` from noise drawn from `gen`.
Tensor sample_flow(UNet& net, std::int64_t n, const Tensor& labels, const FlowSampling& how, Generator& gen,
                   const FlowObserver& observe = nullptr);

/// A network saved by `train_flow` (model.safetensors or a checkpoint's EMA weights).
std::shared_ptr<UNet> load_flow(const std::string& path);

}  // namespace zoo::models
