#pragma once
/// @file model.h
/// @brief Sequential MNIST: an LSTM that reads an image one row at a time and classifies
/// it from its last hidden state.
///
/// The 28×28 image is a sequence of T = 28 steps, each the 28 pixels of one row, read top
/// to bottom. After the last row, the top layer's hidden state \f$h_{28}\f$ (H numbers)
/// has seen the whole image; a linear layer maps it to the 10 logits,
/// \f$z = W h_{28} + b\f$, trained with cross-entropy. Nothing in the network knows that
/// the rows are stacked vertically: it must carry what it saw in the first rows across
/// the later ones through its cell state, which is what the test measures.
///
/// Lesson: @ref tutorial_10_rnn_lstm.

#include <cstdint>
#include <memory>
#include <string>

#include "nn/layers/linear.h"
#include "nn/layers/rnn.h"
#include "nn/module.h"

namespace zoo::models {

/// Settings of `LstmMnist` (the defaults are `zoo train lstm-mnist`'s).
struct LstmMnistConfig {
  std::int64_t hidden_size = 128;  ///< H, the LSTM's hidden units per layer
  std::int64_t num_layers = 1;     ///< stacked LSTM layers
  double dropout = 0.0;            ///< dropout between LSTM layers (with num_layers > 1)
};

/// Row-by-row MNIST classifier: `LSTM(28, H, num_layers, batch_first)` → last step's h
/// → `Linear(H, 10)`. Parameters: `lstm.weight_ih_l0` (4H, 28), `lstm.weight_hh_l0`
/// (4H, H), `lstm.bias_ih_l0`, `lstm.bias_hh_l0` (4H), ..., `fc.weight` (10, H),
/// `fc.bias` (10): the names of the same PyTorch module with attributes `lstm` and `fc`.
///
/// Shapes: x (N, 1, 28, 28) or (N, 28, 28), pixels in [0, 1] -> logits (N, 10).
class LstmMnist : public nn::Module {
 public:
  /// A classifier with the given settings, initialised from the default generator.
  explicit LstmMnist(const LstmMnistConfig& config = {});
  /// Images (N, 1, 28, 28) -> logits (N, 10).
  Tensor forward(const Tensor& x) override;
  LstmMnistConfig config;          ///< The settings it was built with.
  std::shared_ptr<nn::LSTM> lstm;  ///< reads the rows: (N, 28, 28) -> (N, 28, H)
  std::shared_ptr<nn::Linear> fc;  ///< the last h_t -> logits
};

}  // namespace zoo::models
