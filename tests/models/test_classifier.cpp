// The MNIST classifiers on the committed 200-image fixture: the loss falls, the
// parameter counts are right, and an interrupted run resumed from its checkpoint ends
// bit-identical to an uninterrupted one.
#include <filesystem>

#include "models/classifier/model.h"
#include "models/classifier/train.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "model_test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

models::ClassifierOptions fixture_options(const std::string& model, const std::string& out) {
  models::ClassifierOptions o;
  o.model = model;
  o.data_dir = std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini";
  o.out = (fs::temp_directory_path() / out).string();
  fs::remove_all(o.out);
  o.batch_size = 20;
  o.quiet = true;
  o.save_every = 3;
  return o;
}

}  // namespace

TEST_CASE("the classifiers have the documented shapes and parameter counts", "[classifier]") {
  auto mlp = models::make_mlp();
  REQUIRE(mlp->num_parameters() == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);
  auto cnn = models::make_cnn();
  REQUIRE(cnn->num_parameters() ==
          (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10));
  const Tensor x = rand({2, 1, 28, 28});
  REQUIRE((*mlp)(x).shape() == Shape{2, 10});
  REQUIRE((*cnn)(x).shape() == Shape{2, 10});
  REQUIRE_THROWS_WITH(models::make_classifier("resnet"), Catch::Matchers::Contains("resnet"));
}

TEST_CASE("training the MLP on the fixture drives the loss well down", "[classifier]") {
  auto o = fixture_options("mlp", "zoo-test-mlp");
  o.epochs = 8;
  const auto data = nn::load_mnist(o.data_dir, true, /*expected_count=*/0);
  auto untrained = models::make_mlp();
  const double initial = models::evaluate_classifier(*untrained, data.images, data.labels).first;
  const auto r = models::train_classifier(o);
  REQUIRE(r.finished);
  REQUIRE(r.steps == 8 * 10);
  INFO("initial loss " << initial << ", final train loss " << r.train_loss);
  REQUIRE(initial > 2.0);                // about ln 10 for random weights
  REQUIRE(r.train_loss < 0.25 * initial);  // it learned the 200 images
  REQUIRE(r.test_accuracy > 0.5);          // and generalises a little from so few
  REQUIRE(fs::exists(fs::path(o.out) / "model.safetensors"));
  REQUIRE(fs::exists(fs::path(o.out) / "metrics.jsonl"));
}

TEST_CASE("a resumed run ends bit-identical to an uninterrupted one", "[classifier]") {
  for (const std::string model : {"mlp", "cnn"}) {
    INFO("model " << model);
    auto straight = fixture_options(model, "zoo-test-straight-" + model);
    straight.epochs = 2;
    straight.train_limit = 100;  // 5 batches per epoch
    const auto full = models::train_classifier(straight);
    REQUIRE(full.finished);

    // Interrupt mid-epoch (after 7 steps: epoch 2, batch 2), then resume to the end.
    auto interrupted = straight;
    interrupted.out = (fs::temp_directory_path() / ("zoo-test-resumed-" + model)).string();
    fs::remove_all(interrupted.out);
    interrupted.stop_after = 7;
    REQUIRE_FALSE(models::train_classifier(interrupted).finished);
    interrupted.stop_after = 0;
    interrupted.resume = true;
    const auto resumed = models::train_classifier(interrupted);
    REQUIRE(resumed.finished);
    REQUIRE(resumed.steps == full.steps);

    test::require_same_weights(fs::path(straight.out) / "model.safetensors",
                               fs::path(interrupted.out) / "model.safetensors");
    REQUIRE(resumed.test_loss == full.test_loss);
  }
}

TEST_CASE("resume without a checkpoint, or from another model's, is a clear error",
          "[classifier]") {
  auto o = fixture_options("mlp", "zoo-test-noresume");
  o.resume = true;
  REQUIRE_THROWS_WITH(models::train_classifier(o), Catch::Matchers::Contains("no checkpoint"));
  auto cnn = fixture_options("cnn", "zoo-test-wrongmodel");
  cnn.epochs = 1;
  cnn.train_limit = 20;
  models::train_classifier(cnn);
  auto mlp = o;
  mlp.resume = true;
  mlp.out = cnn.out;
  REQUIRE_THROWS_WITH(models::train_classifier(mlp), Catch::Matchers::Contains("was saved with model = cnn, this run asks for mlp"));
}

TEST_CASE("resume from a checkpoint missing a key, or holding a bad number, names the file and the key",
          "[classifier]") {
  auto o = fixture_options("mlp", "zoo-test-damagedresume");
  o.epochs = 1;
  o.train_limit = 20;
  models::train_classifier(o);
  const fs::path path = fs::path(o.out) / "checkpoint.safetensors";
  const nn::Checkpoint saved = nn::load_checkpoint(path);
  o.resume = true;

  nn::Checkpoint missing = saved;
  missing.metadata.erase("next_batch");
  nn::save_checkpoint(path, missing);
  REQUIRE_THROWS_WITH(models::train_classifier(o), Catch::Matchers::Contains(path.string()) &&
                                                       Catch::Matchers::Contains("'next_batch' is missing"));

  nn::Checkpoint garbled = saved;
  garbled.metadata["next_batch"] = "3 batches";
  nn::save_checkpoint(path, garbled);
  REQUIRE_THROWS_WITH(models::train_classifier(o),
                      Catch::Matchers::Contains(path.string()) &&
                          Catch::Matchers::Contains("'next_batch': '3 batches' is not an integer"));
}
