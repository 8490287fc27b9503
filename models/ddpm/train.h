#pragma once
/// @file train.h
/// @brief Training DDPM on MNIST: the simple loss, classifier-free label dropout, EMA
/// weights, checkpoints; the recipe behind `zoo train ddpm`.
///
/// **The simple loss** (Ho et al., 2020, eq. 14). The variational bound on
/// \f$-\log p_\theta(x_0)\f$ is a sum over steps of KL divergences between Gaussians whose
/// means differ by a multiple of \f$\varepsilon - \varepsilon_\theta(x_t, t)\f$; dropping
/// the per-step weights leaves
/// \f[ L_{\text{simple}} = \mathbb E_{t, x_0, \varepsilon}\,
///     \big\|\varepsilon - \varepsilon_\theta\big(\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon,\ t\big)\big\|^2, \f]
/// with t uniform in 1..T: pick an image, a step and some noise, noise the image in one
/// go (`q_sample`), and regress the noise. Images are scaled to [-1, 1].
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/ddpm/schedule.h"
#include "models/unet/training.h"
#include "models/unet/unet.h"

namespace zoo::models {

/// \f$L_{\text{simple}}\f$ on a batch x0 (N, C, H, W) in [-1, 1]: t uniform in 1..T and
/// ε drawn from `gen`; `labels` (N) or undefined; each label replaced by "no class" with
/// probability `label_dropout`. A scalar, differentiable in the network's parameters.
Tensor ddpm_loss(UNet& net, const NoiseSchedule& schedule, const Tensor& x0, const Tensor& labels,
                 double label_dropout, Generator& gen);

/// Everything `zoo train ddpm` can set: the shared U-Net training settings (training.h)
/// and the noise schedule.
struct DdpmOptions : UNetTraining {
  std::string schedule = "linear";      ///< "linear" or "cosine"
  std::int64_t diffusion_steps = 1000;  ///< T
  DdpmOptions() { out = "runs/ddpm"; }
};

/// What a training run measured.
using DdpmResult = UNetTrainingResult;

/// Trains with `ddpm_loss` in the shared loop (`train_unet`): metrics.jsonl,
/// checkpoint.safetensors with the EMA weights, and model.safetensors holding the EMA
/// weights with the network's and the schedule's sizes in its metadata. Resumable bit
/// for bit (same options and threads).
DdpmResult train_ddpm(const DdpmOptions& options);

/// A network saved by `train_ddpm` (model.safetensors or a checkpoint, whose EMA weights
/// are used), with its schedule.
std::pair<std::shared_ptr<UNet>, NoiseSchedule> load_ddpm(const std::string& path);

}  // namespace zoo::models
