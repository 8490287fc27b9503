#pragma once
/// @file train.h
/// @brief Training and evaluating the VAE on MNIST: the recipe behind `zoo train vae`,
/// `zoo eval vae` and `zoo sample vae`.
///
/// **Data.** By default *dynamically binarised* MNIST, the literature's usual setting:
/// each time a training image is used, every pixel becomes 1 with probability equal to
/// its grey level (x = 1[u < grey], u uniform), so the model sees fresh binary images
/// every epoch. The test set is binarised once, with a fixed seed (`kTestBinarizationSeed`),
/// so every run and every checkpoint is scored on the same binary images. With
/// `binarization = "grey"` the grey levels are used as they are, as in PyTorch's VAE
/// example: the Bernoulli "likelihood" of a grey level is then a cross-entropy, not the
/// likelihood of any data, and figures on grey data are named so wherever they appear.
///
/// **Training** maximises the mean ELBO of each batch (one sample of z per image) with
/// Adam, as PyTorch's example does (batch 128, learning rate 1e-3).
///
/// Lesson: @ref tutorial_11_vae.

#include <cstdint>
#include <memory>
#include <string>

#include "autograd/tensor.h"
#include "models/vae/model.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"

namespace zoo::models {

/// The seed of the one fixed binarisation of the test set.
inline constexpr std::uint64_t kTestBinarizationSeed = 20140101;

/// Everything `zoo train vae` can set.
struct VaeOptions {
  VaeConfig model;                     ///< 784-400-20 by default
  std::string binarization = "dynamic";  ///< "dynamic" (binarised MNIST) or "grey"
  std::string data_dir = "data/mnist";   ///< the MNIST IDX files
  std::int64_t epochs = 50;            ///< passes over the 60,000 training images
  std::int64_t batch_size = 128;       ///< images per step
  double lr = 1e-3;                    ///< Adam's learning rate, constant
  std::string optimizer = "adam";      ///< adam, adamw, sgd or muon
  std::uint64_t seed = 0;              ///< initialisation, shuffling, binarisation, z samples
  int threads = 0;                     ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/vae";        ///< metrics.jsonl, checkpoint, model.safetensors, PNGs
  bool resume = false;                 ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 200;       ///< also checkpoint every this many steps (0: per epoch)
  std::int64_t train_limit = 0;        ///< use only the first N training images (0: all)
  std::int64_t test_limit = 0;         ///< evaluate on the first N test images (0: all)
  std::int64_t stop_after = 0;         ///< stop after this many steps, as if interrupted (tests)
  bool pictures = true;                ///< write samples.png, reconstructions.png (and manifold.png if L = 2)
  bool quiet = false;                  ///< no progress line
  /// The processes that train together (`--distributed`), or null for this one alone.
  nn::Communicator* communicator = nullptr;
  std::int64_t bucket_bytes = nn::kDefaultBucketBytes;  ///< gradient all-reduce bucket size
};

/// The test figures of a model, in nats per image.
struct VaeEvaluation {
  double elbo = 0;            ///< mean ELBO, one z sample per image
  double log_likelihood = 0;  ///< mean \f$\log p(x \mid z)\f$ of that sample (the reconstruction term)
  double kl = 0;              ///< mean KL(q(z|x) || p(z))
};

/// What a training run measured.
struct VaeResult {
  VaeEvaluation test;             ///< on the test set after the last epoch
  double train_elbo = 0;          ///< mean ELBO of the last epoch's batches
  std::int64_t epochs = 0;        ///< epochs trained
  std::int64_t steps = 0;         ///< optimizer steps taken
  double seconds = 0;             ///< wall time of the training loop (evaluation included)
  double samples_per_second = 0;  ///< training images per second
  bool finished = false;          ///< false if stopped early by `stop_after`
};

/// Pixels x (N, 784) in [0, 1] → binary pixels: 1 where a uniform draw from `gen` is
/// below the grey level. Float32, same shape.
Tensor binarize(const Tensor& x, Generator& gen);

/// The MNIST split (`train` or test) as (N, 784) float32 rows, the first `limit` (0: all):
/// grey levels in [0, 1]. The default folder must hold the full split.
Tensor load_mnist_rows(const std::string& dir, bool train, std::int64_t limit = 0);

/// The test data as `binarization` says: binarised once with `kTestBinarizationSeed`
/// ("dynamic"), or the grey levels ("grey").
Tensor test_data(const Tensor& grey, const std::string& binarization);

/// Mean ELBO and its parts on x (N, 784), in eval mode and without a graph; z drawn from
/// a generator seeded with `seed`, so the figure is repeatable.
VaeEvaluation evaluate_vae(Vae& model, const Tensor& x, std::uint64_t seed = 0, std::int64_t batch_size = 1000);

/// Trains as `options` say, logging to `options.out`: metrics.jsonl (an entry per
/// epoch), checkpoint.safetensors (atomically, every `save_every` steps and epoch),
/// model.safetensors with the sizes and binarisation in its metadata, and the pictures.
/// Resumable: a run continued with `resume` ends with the same parameters, bit for bit,
/// as one that was never interrupted (same options, same thread count).
VaeResult train_vae(const VaeOptions& options);

/// A VAE saved by `train_vae` (model.safetensors or a checkpoint), its sizes from the
/// file's metadata; `binarization` receives the data it was trained on, if not null.
std::shared_ptr<Vae> load_vae(const std::string& path, std::string* binarization = nullptr);

}  // namespace zoo::models
