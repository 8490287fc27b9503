#include "models/lstm_mnist/train.h"

#include <memory>

namespace zoo::models {

ClassifierOptions lstm_mnist_defaults() {
  ClassifierOptions o;
  o.model = "lstm-mnist";
  o.dataset = "mnist";
  o.epochs = 10;
  o.clip_grad_norm = 1.0;
  o.out = "runs/lstm-mnist";
  return o;
}

ClassifierResult train_lstm_mnist(const LstmMnistOptions& options) {
  ClassifierOptions o = options.training;
  ZOO_CHECK(o.epochs > 0, "train lstm-mnist: --epochs must be positive, got {}", o.epochs);
  o.make_model = [config = options.model] { return std::make_shared<LstmMnist>(config); };
  return train_classifier(o);
}

}  // namespace zoo::models
