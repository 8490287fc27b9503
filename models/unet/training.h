#pragma once
/// @file training.h
/// @brief The training loop that DDPM and rectified flow share: MNIST batches scaled to
/// [-1, 1], a loss the model supplies, Adam with gradient clipping, an exponential moving
/// average of the weights for sampling, metrics, checkpoints and bit-exact resume.

#include <cstdint>
#include <functional>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/unet/unet.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

/// Everything the shared loop can set; `DdpmOptions` and `FlowOptions` add their own.
struct UNetTraining {
  UNetConfig model{.num_classes = 10};  ///< the U-Net; 10 classes for guidance (0: unconditional)
  std::string data_dir = "data/mnist";  ///< the MNIST IDX files
  std::int64_t epochs = 3;              ///< passes over the training images (the budget of the README's table)
  std::int64_t batch_size = 128;        ///< images per step
  double lr = 2e-4;                     ///< Adam's learning rate (Ho et al.'s), constant
  double clip_grad_norm = 1.0;          ///< gradient norm limit (Ho et al.'s), 0: off
  double ema_decay = 0.999;             ///< the sampling weights' moving average
  double label_dropout = 0.1;           ///< for classifier-free guidance
  std::uint64_t seed = 0;               ///< initialisation, shuffling, and every draw of the loss
  int threads = 0;                      ///< 0: ZOO_NUM_THREADS or all cores
  std::string out;                      ///< metrics.jsonl, checkpoint, model.safetensors (EMA weights)
  bool resume = false;                  ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 100;        ///< also checkpoint every this many steps (0: per epoch)
  std::int64_t train_limit = 0;         ///< use only the first N training images (0: all)
  std::int64_t stop_after = 0;          ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;                   ///< no progress line
  /// The processes that train together (`--distributed`), or null for this one alone.
  nn::Communicator* communicator = nullptr;
  std::int64_t bucket_bytes = nn::kDefaultBucketBytes;  ///< gradient all-reduce bucket size
};

/// What a training run measured.
struct UNetTrainingResult {
  double train_loss = 0;          ///< mean loss of the last epoch
  std::int64_t epochs = 0;        ///< epochs trained
  std::int64_t steps = 0;         ///< optimizer steps taken
  double seconds = 0;             ///< wall time of training
  double samples_per_second = 0;  ///< training images per second
  bool finished = false;          ///< false if stopped early by `stop_after`
};

/// One batch as the loss sees it.
struct UNetBatch {
  Tensor images;  ///< x0 (N, C, 28, 28) in [-1, 1]
  Tensor labels;  ///< (N) int64, or undefined for an unconditional network
  Tensor noise;   ///< reflow's paired noise (N, C, 28, 28), or undefined (the loss draws its own)
};

/// The model's loss on a batch, with the generator every random draw must come from (so
/// that resume is exact). A differentiable scalar.
using UNetLoss = std::function<Tensor(UNet& net, const UNetBatch& batch, Generator& gen)>;

/// What the loop trains on instead of MNIST: reflow's (noise, sample) pairs.
struct UNetTrainingSet {
  Tensor images;                  ///< (N, C, 28, 28) in [-1, 1]
  Tensor labels;                  ///< (N) int64 (ignored by an unconditional network)
  Tensor noise;                   ///< (N, C, 28, 28), passed to the loss with its image, or undefined
  nn::StateDict initial_weights;  ///< start from these weights (and average from them), not at random
};

/// Trains a U-Net on `loss` as `options` say, with the shared loop (`run_training_loop`), logging to `options.out`: metrics.jsonl (a
/// record per epoch), checkpoint.safetensors (weights, Adam, the EMA weights as the
/// extra tensors "ema.NAME", the generator, the position; checked against `metadata` on
/// resume), and model.safetensors with the EMA weights and `metadata`. The examples are
/// the MNIST training images of `options.data_dir`, or `set` if given.
UNetTrainingResult train_unet(const UNetTraining& options, const UNetLoss& loss,
                              const nn::SafetensorsMetadata& metadata, const std::string& label,
                              const UNetTrainingSet* set = nullptr);

/// The network saved by `train_unet` (model.safetensors, or a checkpoint's EMA weights)
/// and the file's metadata; `model` must match its "model" entry.
std::pair<std::shared_ptr<UNet>, nn::SafetensorsMetadata> load_unet(const std::string& path, const std::string& model);

/// Each label replaced by "no class" (`num_classes`) with probability p, drawn from `gen`.
Tensor drop_labels(const Tensor& labels, double p, std::int64_t num_classes, Generator& gen);

}  // namespace zoo::models
