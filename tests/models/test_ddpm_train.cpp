// DDPM's training and sampling: the loss of the untrained network, a short run on the
// fixture lowering it, resume bit for bit (EMA weights included), the saved network
// loading back, DDIM's time grid, and the samplers' shapes, seeds and guidance.
#include <filesystem>

#include "model_test_util.h"
#include "models/ddpm/sample.h"
#include "models/ddpm/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// The shared small run (model_test_util.h) with DdpmOptions' own defaults.
models::DdpmOptions fixture_run(const std::string& out) {
  models::DdpmOptions o;
  test::small_unet_run(o, out);
  return o;
}

}  // namespace

TEST_CASE("ddpm: the untrained network's loss is the noise's variance", "[ddpm]") {
  // The output layer starts at zero, so ε_θ = 0 and the loss is the mean of ε², about 1.
  manual_seed(0);
  models::UNet net({.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2});
  Generator gen(3);
  const Tensor x0 = rand({16, 1, 28, 28}, kFloat32, gen) * 2.0 - 1.0;
  const double loss = models::ddpm_loss(net, models::NoiseSchedule::linear(), x0, Tensor(), 0.0, gen).item();
  REQUIRE(loss == Approx(1.0).margin(0.03));  // 12,544 squares: standard error 0.013
}

TEST_CASE("ddpm: DDIM's time grid", "[ddpm]") {
  REQUIRE(models::ddim_times(1000, 4) == std::vector<std::int64_t>{1000, 750, 500, 250, 0});
  REQUIRE(models::ddim_times(10, 3) == std::vector<std::int64_t>{10, 6, 3, 0});
  REQUIRE_THROWS_WITH(models::ddim_times(10, 11), Catch::Matchers::Contains("1..10"));
}

TEST_CASE("ddpm: training lowers the loss and resumes bit for bit", "[ddpm]") {
  const models::DdpmOptions straight = fixture_run("zoo-test-ddpm-straight");
  const models::DdpmResult full = models::train_ddpm(straight);
  REQUIRE(full.finished);
  REQUIRE(full.steps == 30);
  REQUIRE(full.train_loss < 0.6);  // from about 1 at the start

  // Stopped at step 13, between the checkpoints of steps 12 and 16.
  models::DdpmOptions o =
      test::require_exact_resume(fixture_run("zoo-test-ddpm-resumed"), 13, models::train_ddpm, full, straight.out);
  o.schedule = "cosine";
  REQUIRE_THROWS_WITH(models::train_ddpm(o), Catch::Matchers::Contains("schedule"));
}

TEST_CASE("ddpm: sampling from the saved network", "[ddpm]") {
  const models::DdpmOptions o = fixture_run("zoo-test-ddpm-sample");
  models::train_ddpm(o);
  auto [net, schedule] = models::load_ddpm(o.out + "/model.safetensors");
  REQUIRE(schedule.steps == 1000);
  auto [from_checkpoint, same_schedule] = models::load_ddpm(o.out + "/checkpoint.safetensors");
  REQUIRE(allclose(net->state_dict().at("conv_out.weight"), from_checkpoint->state_dict().at("conv_out.weight"), 0, 0));

  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 1, 2, 3}, {4});
  models::DdpmSampling how;
  how.steps = 5;
  Generator a(1), b(1), c(1);
  const Tensor x = models::sample_ddpm(*net, schedule, 4, labels, how, a);
  REQUIRE(x.shape() == Shape{4, 1, 28, 28});
  REQUIRE(allclose(x, models::sample_ddpm(*net, schedule, 4, labels, how, b), 0, 0));  // a seed repeats
  how.guidance = 3.0;
  REQUIRE_FALSE(allclose(x, models::sample_ddpm(*net, schedule, 4, labels, how, c), 1e-6, 1e-6));
  std::vector<std::int64_t> seen;
  how.sampler = "ddpm";
  how.guidance = 1.0;
  Generator d(2);
  const Tensor ancestral = models::sample_ddpm(*net, models::NoiseSchedule::linear(20), 2, Tensor(), how, d,
                                               [&](std::int64_t t, const Tensor&) { seen.push_back(t); });
  REQUIRE(ancestral.shape() == Shape{2, 1, 28, 28});
  REQUIRE(seen.size() == 20);
  REQUIRE(seen.back() == 0);
  how.sampler = "euler";
  REQUIRE_THROWS_WITH(models::sample_ddpm(*net, schedule, 2, Tensor(), how, d), Catch::Matchers::Contains("'euler'"));
}
