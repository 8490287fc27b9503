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

  models::FlowOptions o =
      test::require_exact_resume(fixture_run("zoo-test-flow-resumed"), 13, models::train_flow, full, straight.out);
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

TEST_CASE("reflow: pairs are the first flow's ODE end points, drawn resumably, and train a second flow",
          "[flow][reflow]") {
  const models::FlowOptions first = fixture_run("zoo-test-reflow-first");
  models::train_flow(first);
  const std::string teacher_file = first.out + "/model.safetensors";
  auto teacher = models::load_flow(teacher_file);

  // Pairs drawn in one go, and drawn as if interrupted after the first chunk: the same.
  models::ReflowPairing how{.pairs = 12, .sampler = "euler", .steps = 3, .chunk = 5};
  const nn::SafetensorsMetadata identity{{"purpose", "test"}};
  const fs::path dir = fs::path(first.out);
  const models::ReflowPairs whole = models::draw_reflow_pairs(*teacher, how, (dir / "a.safetensors").string(),
                                                              identity, 7, true);
  models::ReflowPairing part = how;
  part.pairs = 5;
  models::draw_reflow_pairs(*teacher, part, (dir / "b.safetensors").string(), identity, 7, true);
  const models::ReflowPairs resumed =
      models::draw_reflow_pairs(*teacher, how, (dir / "b.safetensors").string(), identity, 7, true);
  REQUIRE(whole.noise.shape() == Shape{12, 1, 28, 28});
  REQUIRE(allclose(whole.noise, resumed.noise, 0, 0));
  REQUIRE(allclose(whole.samples, resumed.samples, 0, 0));
  REQUIRE(whole.labels.to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1});  // balanced classes
  // Each sample is its noise carried by the first flow's ODE (no guidance).
  models::FlowSampling ode;
  ode.sampler = "euler";
  ode.steps = 3;
  REQUIRE(allclose(whole.samples, models::integrate_flow(*teacher, whole.noise, whole.labels, ode), 1e-5, 1e-5));
  REQUIRE_THROWS_WITH(models::draw_reflow_pairs(*teacher, how, (dir / "a.safetensors").string(),
                                                {{"purpose", "other"}}, 7, true),
                      Catch::Matchers::Contains("a.safetensors") && Catch::Matchers::Contains("purpose"));

  // The second flow: the teacher's sizes whatever the options say, resumed bit for bit.
  const auto reflow_run = [&](const std::string& out) {
    models::FlowOptions o = fixture_run(out);
    o.model.base_channels = 16;  // ignored: reflow takes the teacher's network
    o.reflow_from = teacher_file;
    o.reflow = how;
    o.epochs = 2;
    o.batch_size = 4;
    return o;
  };
  const models::FlowOptions straight = reflow_run("zoo-test-reflow-straight");
  const models::UNetTrainingResult full = models::train_flow(straight);
  REQUIRE(full.finished);
  REQUIRE(full.steps == 2 * 3);  // 12 pairs in batches of 4, twice
  const models::FlowOptions o =
      test::require_exact_resume(reflow_run("zoo-test-reflow-resumed"), 4, models::train_flow, full, straight.out);
  REQUIRE(models::load_flow(o.out + "/model.safetensors")->config.base_channels == teacher->config.base_channels);
}
