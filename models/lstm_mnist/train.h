#pragma once
/// @file train.h
/// @brief Training sequential MNIST: the recipe behind `zoo train lstm-mnist`, run by the
/// classifiers' training loop (`train_classifier`) with `LstmMnist` as its network.

#include <cstdint>
#include <string>

#include "models/classifier/train.h"
#include "models/lstm_mnist/model.h"

namespace zoo::models {

/// Everything `zoo train lstm-mnist` can set. The defaults (H = 128, one layer, Adam at
/// 1e-3 cosine-annealed over 10 epochs, batch 128, gradients clipped to norm 1) are
/// meant to reach at least 98% test accuracy.
struct LstmMnistOptions {
  LstmMnistConfig model;          ///< hidden size, layers, dropout
  std::string data_dir;           ///< default: data/mnist
  std::int64_t epochs = 10;       ///< passes over the 60000 training images
  std::int64_t batch_size = 128;  ///< images per optimizer step
  double lr = 1e-3;               ///< peak learning rate; cosine-annealed to 0 over the run
  std::string optimizer = "adam";  ///< adam, adamw, sgd or muon
  double clip_grad_norm = 1.0;    ///< total gradient norm limit (0: no clipping)
  std::uint64_t seed = 0;         ///< initialisation and shuffling
  int threads = 0;                ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/lstm-mnist";  ///< metrics.jsonl, checkpoint, model.safetensors
  bool resume = false;            ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 200;  ///< also checkpoint every this many steps (0: per epoch)
  std::int64_t train_limit = 0;   ///< use only the first N training images (0: all)
  std::int64_t test_limit = 0;    ///< evaluate on the first N test images (0: all)
  std::int64_t stop_after = 0;    ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;             ///< no progress line
};

/// The `ClassifierOptions` that run `options` through `train_classifier`.
ClassifierOptions classifier_options(const LstmMnistOptions& options);

/// Trains `LstmMnist` as `options` say (see `train_classifier`: metrics after every
/// epoch, checkpoints, resumable) and returns what it measured.
ClassifierResult train_lstm_mnist(const LstmMnistOptions& options);

}  // namespace zoo::models
