#include "models/lstm_mnist/train.h"

#include <memory>

namespace zoo::models {

ClassifierOptions classifier_options(const LstmMnistOptions& o) {
  ClassifierOptions c;
  c.model = "lstm-mnist";
  c.dataset = "mnist";
  c.data_dir = o.data_dir;
  c.epochs = o.epochs;
  c.batch_size = o.batch_size;
  c.lr = o.lr;
  c.optimizer = o.optimizer;
  c.seed = o.seed;
  c.threads = o.threads;
  c.out = o.out;
  c.resume = o.resume;
  c.save_every = o.save_every;
  c.train_limit = o.train_limit;
  c.test_limit = o.test_limit;
  c.stop_after = o.stop_after;
  c.quiet = o.quiet;
  c.clip_grad_norm = o.clip_grad_norm;
  c.make_model = [config = o.model] { return std::make_shared<LstmMnist>(config); };
  return c;
}

ClassifierResult train_lstm_mnist(const LstmMnistOptions& options) {
  ZOO_CHECK(options.epochs > 0, "train lstm-mnist: --epochs must be positive, got {}", options.epochs);
  return train_classifier(classifier_options(options));
}

}  // namespace zoo::models
