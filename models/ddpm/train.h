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
/// Lesson: tutorials/13_ddpm.

#include <cstdint>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/ddpm/schedule.h"
#include "models/unet/unet.h"

namespace zoo::models {

/// \f$L_{\text{simple}}\f$ on a batch x0 (N, C, H, W) in [-1, 1]: t uniform in 1..T and
/// ε drawn from `gen`; `labels` (N) or undefined; each label replaced by "no class" with
/// probability `label_dropout`. A scalar, differentiable in the network's parameters.
Tensor ddpm_loss(UNet& net, const NoiseSchedule& schedule, const Tensor& x0, const Tensor& labels,
                 double label_dropout, Generator& gen);

/// Everything `zoo train ddpm` can set.
struct DdpmOptions {
  UNetConfig model{.num_classes = 10};  ///< the U-Net; 10 classes for guidance (0: unconditional)
  std::string schedule = "linear";      ///< "linear" or "cosine"
  std::int64_t diffusion_steps = 1000;  ///< T
  std::string data_dir = "data/mnist";  ///< the MNIST IDX files
  std::int64_t epochs = 10;             ///< passes over the training images
  std::int64_t batch_size = 128;        ///< images per step
  double lr = 2e-4;                     ///< Adam's learning rate (Ho et al.'s), constant
  double clip_grad_norm = 1.0;          ///< gradient norm limit (Ho et al.'s), 0: off
  double ema_decay = 0.999;             ///< the sampling weights' moving average
  double label_dropout = 0.1;           ///< for classifier-free guidance
  std::uint64_t seed = 0;               ///< initialisation, shuffling, t, ε and label dropout
  int threads = 0;                      ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/ddpm";        ///< metrics.jsonl, checkpoint, model.safetensors (EMA weights)
  bool resume = false;                  ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 100;        ///< also checkpoint every this many steps (0: per epoch)
  std::int64_t train_limit = 0;         ///< use only the first N training images (0: all)
  std::int64_t stop_after = 0;          ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;                   ///< no progress line
};

/// What a training run measured.
struct DdpmResult {
  double train_loss = 0;          ///< mean loss of the last epoch
  std::int64_t epochs = 0;        ///< epochs trained
  std::int64_t steps = 0;         ///< optimizer steps taken
  double seconds = 0;             ///< wall time of training
  double samples_per_second = 0;  ///< training images per second
  bool finished = false;          ///< false if stopped early by `stop_after`
};

/// Trains as `options` say, logging to `options.out`: metrics.jsonl (a record per
/// epoch), checkpoint.safetensors (weights, Adam, the EMA weights as `extra.ema.*`, the
/// generator, the position), and model.safetensors with the EMA weights and the network's
/// and schedule's sizes in its metadata. Resumable bit for bit (same options and threads).
DdpmResult train_ddpm(const DdpmOptions& options);

/// A network saved by `train_ddpm` (model.safetensors or a checkpoint, whose EMA weights
/// are used), with its schedule.
std::pair<std::shared_ptr<UNet>, NoiseSchedule> load_ddpm(const std::string& path);

}  // namespace zoo::models
