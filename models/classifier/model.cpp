#include "models/classifier/model.h"

#include "nn/layers.h"

namespace zoo::models {

std::shared_ptr<nn::Sequential> make_mlp(double dropout) {
  using namespace nn;
  return std::make_shared<Sequential>(Flatten(), Linear(784, 512), ReLU(), Dropout(dropout),
                                      Linear(512, 512), ReLU(), Dropout(dropout),
                                      Linear(512, 10));
}

std::shared_ptr<nn::Sequential> make_cnn(double dropout) {
  using namespace nn;
  return std::make_shared<Sequential>(
      Conv2d(Conv2dOptions(1, 32, 3).padding(1)), ReLU(), MaxPool2d(2),   // (N, 32, 14, 14)
      Conv2d(Conv2dOptions(32, 64, 3).padding(1)), ReLU(), MaxPool2d(2),  // (N, 64, 7, 7)
      Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Dropout(dropout), Linear(128, 10));
}

std::shared_ptr<nn::Sequential> make_classifier(const std::string& name) {
  if (name == "mlp") return make_mlp();
  if (name == "cnn") return make_cnn();
  throw Error(fmt::format("classifier: unknown model '{}' (expected 'mlp' or 'cnn')", name));
}

std::shared_ptr<nn::Sequential> make_classifier(const std::string& name, double dropout) {
  ZOO_CHECK(dropout >= 0 && dropout < 1, "classifier: dropout must be in [0, 1), got {}", dropout);
  if (name == "mlp") return make_mlp(dropout);
  if (name == "cnn") return make_cnn(dropout);
  throw Error(fmt::format("classifier: unknown model '{}' (expected 'mlp' or 'cnn')", name));
}

}  // namespace zoo::models
