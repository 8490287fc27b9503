#include "models/lstm_mnist/model.h"

#include <tuple>

namespace zoo::models {

LstmMnist::LstmMnist(const LstmMnistConfig& c) : config(c) {
  lstm = register_module("lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(28, c.hidden_size)
                                                                 .num_layers(c.num_layers)
                                                                 .dropout(c.dropout)
                                                                 .batch_first(true)));
  fc = register_module("fc", std::make_shared<nn::Linear>(c.hidden_size, 10));
}

Tensor LstmMnist::forward(const Tensor& x) {
  // x: (N, 1, 28, 28) -> rows (N, T = 28, 28)
  ZOO_CHECK(x.defined() && x.numel() % (28 * 28) == 0 && x.size(-1) == 28 && x.size(-2) == 28,
            "LstmMnist: expected images (N, 1, 28, 28), got shape {}",
            x.defined() ? x.shape() : Shape{});
  const Tensor rows = x.reshape({-1, 28, 28});
  const auto [out, state] = lstm->forward(rows);  // out: (N, 28, H)
  // The top layer's h after the last row, h_28: (N, H).
  return fc->forward(std::get<0>(state).select(0, config.num_layers - 1));
}

}  // namespace zoo::models
