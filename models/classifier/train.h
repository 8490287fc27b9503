#pragma once
/// @file train.h
/// @brief Training and evaluating the MNIST classifiers: the recipe behind
/// `zoo train mlp|cnn`, `zoo eval mlp|cnn` and tutorial 07.
///
/// Lesson: @ref tutorial_07_mnist_classifier.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "autograd/tensor.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"
#include "nn/module.h"

namespace zoo::models {

/// Everything `zoo train mlp|cnn` can set. The defaults reach the accuracies in the
/// README's results table.
struct ClassifierOptions {
  std::string model = "mlp";      ///< "mlp" or "cnn"
  std::string dataset = "mnist";  ///< "mnist" or "fashion" (Fashion-MNIST)
  std::string data_dir;           ///< default: data/mnist or data/fashion-mnist
  std::int64_t epochs = 0;        ///< 0: the model's default (mlp 10, cnn 6)
  std::int64_t batch_size = 128;  ///< images per optimizer step
  double lr = 1e-3;               ///< peak learning rate; cosine-annealed to 0 over the run
  std::string optimizer = "adam";  ///< adam, adamw, sgd or muon
  std::uint64_t seed = 0;         ///< initialisation, shuffling and dropout
  int threads = 0;                ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/classifier";  ///< metrics.jsonl, checkpoint, model.safetensors
  bool resume = false;            ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 200;  ///< also checkpoint every this many steps (0: per epoch)
  std::int64_t train_limit = 0;   ///< use only the first N training images (0: all)
  std::int64_t test_limit = 0;    ///< evaluate on the first N test images (0: all)
  std::int64_t stop_after = 0;    ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;             ///< no progress line
  /// Rescales all gradients together to at most this norm before each step (0: off).
  double clip_grad_norm = 0;
  /// Dropout probability of the MLP's and CNN's dropout layers (negative: the model's
  /// default, mlp 0.2, cnn 0.25).
  double dropout = -1;
  /// The processes that train together (`--distributed`), or null for this one alone.
  /// Each takes `batch_size` images per step, so a step sees batch_size × processes.
  nn::Communicator* communicator = nullptr;
  /// Gradient bucket size for the all-reduce across processes.
  std::int64_t bucket_bytes = nn::kDefaultBucketBytes;
  /// Builds the network instead of `make_classifier(model)` when set: how other image
  /// classifiers (`zoo train lstm-mnist`) reuse this loop. It must map (N, 1, 28, 28)
  /// images to (N, 10) logits; `model` still names it in logs and checkpoints.
  std::function<std::shared_ptr<nn::Module>()> make_model;
};

/// What a run measured.
struct ClassifierResult {
  double test_accuracy = 0;  ///< fraction of test images classified correctly
  double test_loss = 0;      ///< mean cross-entropy on the test set, in nats
  double train_loss = 0;     ///< mean training loss over the last epoch
  std::int64_t epochs = 0;  ///< epochs trained
  std::int64_t steps = 0;   ///< optimizer steps taken
  double seconds = 0;             ///< wall time of the training loop
  double samples_per_second = 0;  ///< training throughput, all processes together
  /// Mean time per step (of this run) spent averaging gradients across processes.
  double communication_seconds_per_step = 0;
  bool finished = false;          ///< false if stopped early by `stop_after`
};

/// Trains a classifier as `options` say, logging to `options.out`, and evaluates it on
/// the test set after every epoch, with the shared loop (`run_training_loop`).
/// Resumable: a run continued with `resume` ends with the same parameters, bit for bit,
/// as one that was never interrupted (same seed, thread count and processes).
ClassifierResult train_classifier(const ClassifierOptions& options);

/// Mean cross-entropy and accuracy of `model` on images (N, 1, 28, 28) with labels (N),
/// in eval mode and without recording a graph.
std::pair<double, double> evaluate_classifier(nn::Module& model, const Tensor& images,
                                              const Tensor& labels, std::int64_t batch_size = 1000);

/// The directory a dataset name refers to by default ("data/mnist", "data/fashion-mnist").
std::string default_data_dir(const std::string& dataset);

}  // namespace zoo::models
