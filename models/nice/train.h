#pragma once
/// @file train.h
/// @brief Training NICE on MNIST by maximum likelihood: dequantisation, the log-likelihood
/// in nats and in bits per dimension, the recipe behind `zoo train nice` and
/// `zoo eval nice`.
///
/// **Dequantisation.** A pixel is one of 256 levels \f$k \in \{0, \ldots, 255\}\f$; a
/// density model on such data could put infinite density on the 256 points. As in the
/// paper, each level is spread over its own interval of width 1/256:
/// \f[ x = \frac{k + u}{256}, \qquad u \sim U[0, 1), \qquad x \in [0, 1). \f]
/// `load_mnist` gives \f$k / 255\f$, so \f$k\f$ is that value times 255.
///
/// **Units.** The log-likelihood \f$\log p(x)\f$ is in nats on that [0, 1) scale, summed
/// over the D = 784 pixels (the paper's MNIST figure: 1980.50). The density of the 256-level
/// data on the cube of side 1/256 around \f$k\f$ is
/// \f$P(k) = \int_{[0,1)^D} p\big(\tfrac{k+u}{256}\big)\, 256^{-D}\, du\f$, and by Jensen's
/// inequality \f$\log P(k) \ge \mathbb E_u \log p\big(\tfrac{k+u}{256}\big) - D\log 256\f$.
/// So the bits per dimension of the 8-bit data are at most
/// \f[ \text{bits/dim} = \frac{-\log p(x) / D + \log 256}{\log 2}, \f]
/// 4.36 for the paper's 1980.50 nats (8 would be a uniform guess over the 256 levels).
/// Lesson: @ref tutorial_12_nice.

#include <cstdint>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/nice/model.h"

namespace zoo::models {

/// Everything `zoo train nice` can set. The optimizer is Adam with the paper's settings
/// (see `beta2`); the data is MNIST's 60000 training images, the figure reported the
/// test set's 10000.
struct NiceOptions {
  /// The model: the paper's, 4 couplings whose MLPs have 5 hidden layers of 1000 units
  /// (19.3 million parameters), and a logistic prior.
  NiceConfig model{.dim = 784, .coupling_layers = 4, .hidden_size = 1000, .hidden_layers = 5, .prior = "logistic"};
  std::string data_dir = "data/mnist";  ///< MNIST's IDX files
  /// Passes over the training images. The paper trained for 1500 (1980.50 nats); 20 take
  /// about half an hour on one core (15 minutes on two) and reach 1795 nats, 4.70
  /// bits/dim (@ref tutorial_12_nice).
  std::int64_t epochs = 20;
  std::int64_t batch_size = 200;        ///< images per step (the paper's 200)
  double lr = 1e-3;                     ///< Adam's learning rate (the paper's), constant
  double beta1 = 0.9;                   ///< Adam's \f$\beta_1\f$ (the paper's "momentum 0.9")
  /// Adam's \f$\beta_2\f$. The paper writes "β₂ = 0.01" in the notation of the first
  /// version of the Adam paper (2014), where β is one minus today's: 0.99 today.
  double beta2 = 0.99;
  double eps = 1e-4;                    ///< Adam's \f$\epsilon\f$ (the paper's \f$10^{-4}\f$)
  std::uint64_t seed = 0;               ///< initialisation, shuffling, dequantisation noise
  int threads = 0;                      ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/nice";        ///< metrics.jsonl, checkpoint, model.safetensors, samples.png
  bool resume = false;                  ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 100;        ///< also checkpoint every this many steps (0: per epoch only)
  std::int64_t train_limit = 0;         ///< use only the first N training images (0: all)
  std::int64_t test_limit = 0;          ///< evaluate on the first N test images (0: all)
  std::int64_t stop_after = 0;          ///< stop after this many steps, as if interrupted (tests)
  double temperature = 1.0;             ///< of the samples written after each epoch
  bool quiet = false;                   ///< no progress line
};

/// What a run measured.
struct NiceResult {
  double test_log_likelihood = 0;  ///< mean \f$\log p(x)\f$ of the test images, nats
  double test_bits_per_dim = 0;    ///< the same in bits per dimension of the 8-bit data
  double train_log_likelihood = 0;  ///< mean \f$\log p(x)\f$ over the last epoch's batches
  std::int64_t epochs = 0;          ///< epochs trained
  std::int64_t steps = 0;           ///< optimizer steps taken
  double seconds = 0;               ///< wall time of training (evaluation included)
  double samples_per_second = 0;    ///< training images per second
  bool finished = false;            ///< false if stopped early by `stop_after`
};

/// A log-likelihood and its bits per dimension.
struct NiceScore {
  double log_likelihood = 0;  ///< mean \f$\log p(x)\f$, nats per image
  double bits_per_dim = 0;    ///< `bits_per_dim(log_likelihood, D)`
};

/// Images with 256 levels, (N, 1, 28, 28) or (N, D) with values \f$k/255\f$, dequantised
/// and flattened: \f$(k + u)/256\f$ with u uniform on [0, 1) from `gen`, (N, D).
Tensor dequantize(const Tensor& images, Generator& gen);

/// \f$(-\ell/D + \log 256)/\log 2\f$: the bits per dimension of 8-bit data whose
/// dequantised, [0, 1)-scaled log-likelihood is \f$\ell\f$ nats over D dimensions.
double bits_per_dim(double log_likelihood, std::int64_t dim);

/// The mean log-likelihood of `images` (N, 1, 28, 28) with levels \f$k/255\f$, each
/// dequantised with noise from a generator of its own seeded with 0 (so every call, in
/// training or in `zoo eval nice`, scores the same points), in batches, in eval mode,
/// without a graph.
NiceScore evaluate_nice(Nice& model, const Tensor& images, std::int64_t batch_size = 500);

/// Trains as `options` say. After every epoch: the test log-likelihood (metrics.jsonl,
/// the progress line), 64 samples in `samples.png`, and `checkpoint.safetensors`; also
/// a checkpoint every `save_every` steps. The checkpoint holds the weights, Adam's
/// moments, the position (epoch, batch, step), the dequantisation generator and the
/// running sums, so a run continued with `resume` ends with the same parameters, bit for
/// bit, as one that was never interrupted (same options, same thread count). At the end,
/// `model.safetensors` with the sizes in its metadata (for `load_nice`).
NiceResult train_nice(const NiceOptions& options);

/// The model of a `model.safetensors` or a `checkpoint.safetensors` written by
/// `train_nice`, its sizes from the file's metadata. A missing or damaged file, or one
/// that is not NICE's, is an error naming it.
std::shared_ptr<Nice> load_nice(const std::string& path);

}  // namespace zoo::models
