// Sequential MNIST on the committed 200-image fixture: the model reads rows, has
// PyTorch's parameter names, its loss falls when trained through the classifier loop
// (with gradient clipping), and a resumed run ends where an uninterrupted one does.
#include <filesystem>

#include "models/lstm_mnist/model.h"
#include "models/lstm_mnist/train.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"
#include "test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

models::LstmMnistOptions fixture_options(const std::string& out) {
  models::LstmMnistOptions o;
  o.model.hidden_size = 32;
  o.training.data_dir = std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini";
  o.training.out = (fs::temp_directory_path() / out).string();
  fs::remove_all(o.training.out);
  o.training.batch_size = 20;
  o.training.lr = 1e-2;
  o.training.quiet = true;
  o.training.save_every = 3;
  return o;
}

}  // namespace

TEST_CASE("lstm-mnist: names, shapes, rows as steps", "[lstm_mnist]") {
  manual_seed(1);
  models::LstmMnist model({.hidden_size = 16, .num_layers = 2});
  std::string names;
  for (const auto& [name, p] : model.named_parameters()) names += name + fmt::format("{} ", p.shape());
  REQUIRE(names ==
          "lstm.weight_ih_l0[64, 28] lstm.weight_hh_l0[64, 16] lstm.bias_ih_l0[64] "
          "lstm.bias_hh_l0[64] lstm.weight_ih_l1[64, 16] lstm.weight_hh_l1[64, 16] "
          "lstm.bias_ih_l1[64] lstm.bias_hh_l1[64] fc.weight[10, 16] fc.bias[10] ");
  const Tensor x = rand({3, 1, 28, 28});
  const Tensor logits = model(x);
  REQUIRE(logits.shape() == Shape{3, 10});
  // The logits are fc(h_28) of the top layer, with the image's rows as the 28 steps.
  const auto [out, state] = model.lstm->forward(x.reshape({3, 28, 28}));
  REQUIRE(allclose(logits, model.fc->forward(out.select(1, 27)), 1e-6, 1e-6));
  REQUIRE_THROWS_WITH(model(zeros({2, 784})), Catch::Matchers::Contains("(N, 1, 28, 28)"));
}

TEST_CASE("lstm-mnist: training on the fixture drives the loss down", "[lstm_mnist]") {
  auto o = fixture_options("zoo-test-lstm-mnist");
  o.training.epochs = 6;
  const auto data = nn::load_mnist(o.training.data_dir, true, /*expected_count=*/0);
  manual_seed(o.training.seed);
  models::LstmMnist untrained(o.model);
  const double initial = models::evaluate_classifier(untrained, data.images, data.labels).first;
  const auto r = models::train_lstm_mnist(o);
  REQUIRE(r.finished);
  REQUIRE(r.steps == 6 * 10);
  INFO("initial loss " << initial << ", final train loss " << r.train_loss);
  REQUIRE(initial > 2.0);                 // about ln 10 for random weights
  REQUIRE(r.train_loss < 0.6 * initial);  // it learns the 200 images
  REQUIRE(fs::exists(fs::path(o.training.out) / "model.safetensors"));
  // The saved weights load into a fresh model by name.
  models::LstmMnist loaded(o.model);
  loaded.load_state_dict(nn::load_safetensors(fs::path(o.training.out) / "model.safetensors").tensors);
}

TEST_CASE("lstm-mnist: a resumed run ends bit-identical to an uninterrupted one", "[lstm_mnist]") {
  auto whole = fixture_options("zoo-test-lstm-mnist-whole");
  whole.training.epochs = 2;
  models::train_lstm_mnist(whole);
  auto parts = fixture_options("zoo-test-lstm-mnist-parts");
  parts.training.epochs = 2;
  parts.training.stop_after = 7;  // mid-epoch, after the checkpoint of step 6
  REQUIRE_FALSE(models::train_lstm_mnist(parts).finished);
  parts.training.stop_after = 0;
  parts.training.resume = true;
  REQUIRE(models::train_lstm_mnist(parts).finished);
  const auto a = nn::load_safetensors(fs::path(whole.training.out) / "model.safetensors").tensors;
  const auto b = nn::load_safetensors(fs::path(parts.training.out) / "model.safetensors").tensors;
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(allclose(t, b.at(name), 0, 0));
  }
}
