// Rectified flow on the U-Net: the untrained network's loss, a short run on the fixture
// lowering it and resuming bit for bit, and the samplers on the saved network.
#include <filesystem>

#include "model_test_util.h"
#include "models/flow/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// The shared small run (model_test_util.h) with FlowOptions' own defaults.
models::FlowOptions fixture_run(const std::string& out) {
  models::FlowOptions o;
  test::small_unet_run(o, out);
  return o;
}

}  // namespace

TEST_CASE("flow: the untrained network's loss is E|ε − x₀|²", "[flow]") {
  // The output starts at zero, so the loss is the mean of (ε − x₀)² = 1 + mean(x₀²).
  manual_seed(0);
  models::UNet net({.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2});
  Generator gen(3);
  const Tensor x0 = rand({16, 1, 28, 28}, kFloat32, gen) * 2.0 - 1.0;  // mean(x₀²) = 1/3
  const double loss = models::flow_loss(net, x0, Tensor(), 0.0, "uniform", gen).item();
  REQUIRE(loss == Approx(1.0 + mean(square(x0)).item()).margin(0.04));
}

TEST_CASE("flow: training lowers the loss, resumes bit for bit, and samples", "[flow]") {
  const models::FlowOptions straight = fixture_run("zoo-test-flow-straight");
  const models::UNetTrainingResult full = models::train_flow(straight);
  REQUIRE(full.finished);
  REQUIRE(full.train_loss < 1.0);  // from about 1.8 at the start: 1 + mean x₀², and most pixels are −1

  models::FlowOptions o = fixture_run("zoo-test-flow-resumed");
  o.stop_after = 13;
  REQUIRE_FALSE(models::train_flow(o).finished);
  o.stop_after = 0;
  o.resume = true;
  REQUIRE(models::train_flow(o).train_loss == full.train_loss);
  test::require_same_weights(fs::path(straight.out) / "model.safetensors", fs::path(o.out) / "model.safetensors");
  o.time_distribution = "uniform";
  REQUIRE_THROWS_WITH(models::train_flow(o), Catch::Matchers::Contains("time_distribution"));

  auto net = models::load_flow(straight.out + "/model.safetensors");
  const Tensor labels = from_vector(std::vector<std::int64_t>{7, 1, 3}, {3});
  models::FlowSampling how;
  how.steps = 4;
  Generator a(1), b(1), c(1);
  const Tensor x = models::sample_flow(*net, 3, labels, how, a);
  REQUIRE(x.shape() == Shape{3, 1, 28, 28});
  REQUIRE(allclose(x, models::sample_flow(*net, 3, labels, how, b), 0, 0));
  how.sampler = "heun";
  how.guidance = 2.0;
  REQUIRE_FALSE(allclose(x, models::sample_flow(*net, 3, labels, how, c), 1e-6, 1e-6));
  how.sampler = "rk4";
  REQUIRE_THROWS_WITH(models::sample_flow(*net, 3, labels, how, c), Catch::Matchers::Contains("'rk4'"));
  REQUIRE_THROWS_WITH(models::load_flow(fs::path(fixture_run("zoo-test-flow-none").out) / "x.safetensors"),
                      Catch::Matchers::Contains("x.safetensors"));
}
