#pragma once
/// @file train.h
/// @brief Training sequential MNIST: the recipe behind `zoo train lstm-mnist`, run by the
/// classifiers' training loop (`train_classifier`) with `LstmMnist` as its network.
///
/// Lesson: @ref tutorial_10_rnn_lstm.

#include <cstdint>
#include <string>

#include "models/classifier/train.h"
#include "models/lstm_mnist/model.h"

namespace zoo::models {

/// The classifier loop's options with sequential MNIST's defaults: 10 epochs, Adam at
/// 1e-3 cosine-annealed, batch 128, gradients clipped to norm 1, output in
/// `runs/lstm-mnist`. With H = 128 and one layer they are meant to reach at least 98%.
ClassifierOptions lstm_mnist_defaults();

/// Everything `zoo train lstm-mnist` can set: the network, and the training loop's
/// options, which are `train_classifier`'s own (data, epochs, optimizer, checkpoints...).
struct LstmMnistOptions {
  LstmMnistConfig model;                          ///< hidden size, layers, dropout
  ClassifierOptions training = lstm_mnist_defaults();  ///< how it is trained
};

/// Trains `LstmMnist` as `options` say (see `train_classifier`: metrics after every
/// epoch, checkpoints, resumable) and returns what it measured.
ClassifierResult train_lstm_mnist(const LstmMnistOptions& options);

}  // namespace zoo::models
