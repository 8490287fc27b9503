// NICE: the flow inverts exactly; its log-determinant equals that of the Jacobian
// computed column by column with autograd and reduced by LU; the priors' log-densities
// are their formulas (and integrate to 1); dequantisation and bits per dimension; a
// short training run on the 200-image fixture raises the likelihood; a run interrupted
// and resumed ends bit for bit as an uninterrupted one; inpainting keeps the observed
// pixels and climbs the likelihood; bad input is a clear error.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "models/nice/inpaint.h"
#include "models/nice/model.h"
#include "models/nice/prior.h"
#include "models/nice/train.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"
#include "model_test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// A small NICE over `dim` values with random log-scales (so the scaling is not the
/// identity), in `dtype`.
std::shared_ptr<models::Nice> small_nice(std::int64_t dim, DType dtype, std::uint64_t seed = 1,
                                         const std::string& prior = "logistic") {
  manual_seed(seed);
  auto model = std::make_shared<models::Nice>(
      models::NiceConfig{.dim = dim, .coupling_layers = 4, .hidden_size = 16, .hidden_layers = 2, .prior = prior});
  model->to(dtype);
  Generator gen(seed + 100);
  NoGradGuard no_grad;
  model->scaling->log_scale.copy_(randn({dim}, dtype, gen) * 0.5);
  return model;
}

/// log|det A| of a square float64 matrix by LU with partial pivoting.
double log_abs_det(std::vector<std::vector<double>> a) {
  const std::size_t n = a.size();
  double log_det = 0;
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t pivot = k;
    for (std::size_t i = k + 1; i < n; ++i)
      if (std::fabs(a[i][k]) > std::fabs(a[pivot][k])) pivot = i;
    std::swap(a[k], a[pivot]);  // a row swap flips the sign only
    REQUIRE(a[k][k] != 0.0);
    log_det += std::log(std::fabs(a[k][k]));
    for (std::size_t i = k + 1; i < n; ++i) {
      const double f = a[i][k] / a[k][k];
      for (std::size_t j = k; j < n; ++j) a[i][j] -= f * a[k][j];
    }
  }
  return log_det;
}

/// The Jacobian ∂f(x)/∂x (D × D) of a map of one row x (1, D), row i by autograd.
template <class F>
std::vector<std::vector<double>> jacobian(F f, const Tensor& x) {
  const std::int64_t D = x.size(1);
  std::vector<std::vector<double>> J;
  for (std::int64_t i = 0; i < D; ++i) {
    const Tensor xi = x.detach().requires_grad_();
    const Tensor y = f(xi);
    J.push_back(autograd::grad({y.select(1, i).sum()}, {xi})[0].reshape({D}).to_vector<double>());
  }
  return J;
}

std::string fixture_dir() { return std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini"; }

/// A run on the fixture small enough to take a fraction of a second per epoch.
models::NiceOptions fixture_options(const std::string& out) {
  models::NiceOptions o;
  o.model = {.dim = 784, .coupling_layers = 4, .hidden_size = 32, .hidden_layers = 2, .prior = "logistic"};
  o.data_dir = fixture_dir();
  o.out = (fs::temp_directory_path() / out).string();
  fs::remove_all(o.out);
  o.batch_size = 50;
  o.epochs = 3;
  o.save_every = 3;
  o.lr = 0.03;  // 12 steps: Adam moves each log-scale by at most about lr a step
  o.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("nice: inverse(forward(x)) is x, and each coupling changes only its half", "[nice]") {
  for (const DType dtype : {kFloat32, kFloat64}) {
    auto model = small_nice(784, dtype);
    Generator gen(3);
    const Tensor x = rand({5, 784}, dtype, gen);
    NoGradGuard no_grad;
    const Tensor h = model->forward(x);
    const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
    REQUIRE(allclose(model->inverse(h), x, 0.0, tol));
    REQUIRE(allclose(model->forward(model->inverse(h)), h, tol, tol));
    // A coupling leaves I₁ bit for bit as it was; the first changes the odd indices.
    auto& first = static_cast<models::AdditiveCoupling&>(*(*model->couplings)[0]);
    REQUIRE(first.changes_odd);
    const Tensor y = first.forward(x);
    REQUIRE(y.slice(1, 0, 784, 2).to_vector<double>() == x.slice(1, 0, 784, 2).to_vector<double>());
    REQUIRE_FALSE(allclose(y.slice(1, 1, 784, 2), x.slice(1, 1, 784, 2)));
    auto& second = static_cast<models::AdditiveCoupling&>(*(*model->couplings)[1]);
    REQUIRE_FALSE(second.changes_odd);
  }
}

TEST_CASE("nice: the log-determinant equals the brute-force Jacobian's (D = 6, float64)", "[nice]") {
  auto model = small_nice(6, kFloat64);
  Generator gen(5);
  const Tensor x = randn({1, 6}, kFloat64, gen);
  const auto [h, log_det] = model->forward_with_log_det(x);
  const double brute = log_abs_det(jacobian([&](const Tensor& v) { return model->forward(v); }, x));
  INFO("log|det J| by LU " << brute << ", model " << log_det.item());
  REQUIRE(std::fabs(brute - log_det.item()) < 1e-10);
  REQUIRE(std::fabs(log_det.item() - sum(model->scaling->log_scale).item()) < 1e-12);
  // Each coupling alone preserves volume; the scaling contributes Σ s.
  for (const auto& layer : *model->couplings) {
    auto& coupling = static_cast<models::AdditiveCoupling&>(*layer);
    const auto J = jacobian([&](const Tensor& v) { return coupling.forward(v); }, x);
    REQUIRE(std::fabs(log_abs_det(J)) < 1e-12);
    REQUIRE(coupling.log_det(x).item() == 0.0);
  }
  // log p(x) is differentiable in x: its gradient matches finite differences.
  test::check_gradients([&](const std::vector<Tensor>& in) { return model->log_prob(in[0]); },
                        {x.detach().requires_grad_()});
}

TEST_CASE("nice: the priors' log-densities are their formulas and integrate to 1", "[nice]") {
  const std::vector<double> values = {-30.0, -4.0, -0.5, 0.0, 0.25, 3.0, 30.0};
  const Tensor z = from_vector(values, {1, 7}).to(kFloat64);
  double logistic = 0, gaussian = 0;
  for (const double v : values) {
    logistic -= std::log1p(std::exp(v)) + std::log1p(std::exp(-v));  // −log(1+e^z) − log(1+e^{−z})
    gaussian -= 0.5 * v * v + 0.5 * std::log(2 * std::numbers::pi);
  }
  REQUIRE(models::prior_log_prob(models::NicePrior::Logistic, z).item() == Approx(logistic).epsilon(1e-12));
  REQUIRE(models::prior_log_prob(models::NicePrior::Gaussian, z).item() == Approx(gaussian).epsilon(1e-12));
  // ∫ p(z) dz = 1 (a midpoint sum on [−40, 40], one value per row).
  const std::int64_t n = 80000;
  const Tensor grid = ((arange(n, kFloat64) + 0.5) * (80.0 / n) - 40.0).reshape({n, 1});
  for (const auto prior : {models::NicePrior::Logistic, models::NicePrior::Gaussian})
    REQUIRE(sum(exp(models::prior_log_prob(prior, grid))).item() * (80.0 / n) == Approx(1.0).epsilon(1e-6));
  // Draws: the logistic's variance is π²/3, scaled by τ² at temperature τ.
  Generator gen(11);
  const Tensor draws = models::sample_prior(models::NicePrior::Logistic, 20000, 2, 0.5, gen, kFloat64);
  REQUIRE(std::fabs(mean(draws).item()) < 0.02);
  REQUIRE(var(draws).item() == Approx(0.25 * std::numbers::pi * std::numbers::pi / 3).epsilon(0.03));
  REQUIRE_THROWS_WITH(models::parse_nice_prior("laplace"), Catch::Matchers::Contains("'laplace'"));
}

TEST_CASE("nice: dequantisation fills each level's interval; bits per dimension", "[nice]") {
  const Tensor levels = (arange(256, kFloat32) / 255.0).reshape({1, 256});  // k/255
  Generator gen(2);
  const auto x = models::dequantize(levels, gen).to_vector<float>();
  for (int k = 0; k < 256; ++k) {
    INFO("level " << k << ": " << x[static_cast<std::size_t>(k)]);
    REQUIRE(x[static_cast<std::size_t>(k)] >= k / 256.0f - 1e-6f);
    REQUIRE(x[static_cast<std::size_t>(k)] < (k + 1) / 256.0f + 1e-6f);
  }
  // The paper's 1980.50 nats on MNIST are 4.36 bits/dim; a density of 1 on [0,1)^D is 8.
  REQUIRE(models::bits_per_dim(1980.50, 784) == Approx(4.3556).epsilon(1e-4));
  REQUIRE(models::bits_per_dim(0.0, 784) == Approx(8.0).epsilon(1e-12));
}

TEST_CASE("nice: training on the fixture raises the likelihood", "[nice]") {
  models::NiceOptions o = fixture_options("zoo-test-nice-train");
  const Tensor test_images = nn::load_mnist(o.data_dir, false, 0).images;
  manual_seed(o.seed);
  models::Nice untrained(o.model);
  const models::NiceScore before = models::evaluate_nice(untrained, test_images);
  const models::NiceResult r = models::train_nice(o);
  REQUIRE(r.finished);
  REQUIRE(r.steps == 3 * 4);
  INFO("test log p(x): " << before.log_likelihood << " -> " << r.test_log_likelihood);
  REQUIRE(r.test_log_likelihood > before.log_likelihood + 100);
  REQUIRE(r.test_bits_per_dim < before.bits_per_dim);
  for (const char* file : {"model.safetensors", "checkpoint.safetensors", "samples.png", "metrics.jsonl"})
    REQUIRE(fs::exists(fs::path(o.out) / file));
  // zoo eval nice's figure, from the saved weights, is the one training reported.
  auto loaded = models::load_nice(o.out + "/model.safetensors");
  REQUIRE(loaded->config.hidden_size == 32);
  REQUIRE(models::evaluate_nice(*loaded, test_images).log_likelihood == r.test_log_likelihood);
}

TEST_CASE("nice: a run interrupted and resumed ends bit for bit as an uninterrupted one", "[nice]") {
  const models::NiceOptions straight = fixture_options("zoo-test-nice-straight");
  const models::NiceResult full = models::train_nice(straight);
  REQUIRE(full.finished);

  // Stop after step 7: in epoch 2 (4 batches an epoch), after the checkpoint of step 6.
  models::NiceOptions o = fixture_options("zoo-test-nice-resumed");
  o.stop_after = 7;
  const models::NiceResult stopped = models::train_nice(o);
  REQUIRE_FALSE(stopped.finished);
  REQUIRE(stopped.steps == 7);
  o.stop_after = 0;
  o.resume = true;
  const models::NiceResult resumed = models::train_nice(o);
  REQUIRE(resumed.finished);
  REQUIRE(resumed.steps == full.steps);
  REQUIRE(resumed.test_log_likelihood == full.test_log_likelihood);
  REQUIRE(resumed.train_log_likelihood == full.train_log_likelihood);
  test::require_same_weights(fs::path(straight.out) / "model.safetensors",
                             fs::path(o.out) / "model.safetensors");
}

TEST_CASE("nice: inpainting keeps the observed pixels and climbs the likelihood", "[nice]") {
  Generator gen(4);
  const Tensor bottom = models::inpainting_mask("bottom", 3, 0.0, gen);
  REQUIRE(bottom.shape() == Shape{3, 784});
  REQUIRE(sum(bottom).item() == 3 * 392);
  REQUIRE(bottom.at<float>({0, 14 * 28}) == 1.0f);  // row 14 is the first missing one
  REQUIRE(bottom.at<float>({0, 14 * 28 - 1}) == 0.0f);
  REQUIRE_THROWS_WITH(models::inpainting_mask("middle", 3, 0.0, gen), Catch::Matchers::Contains("'middle'"));

  auto model = small_nice(784, kFloat32);
  const Tensor x = nn::load_mnist(fixture_dir(), false, 0).images.narrow(0, 0, 3).reshape({3, 784});
  const models::InpaintOptions start{.steps = 0, .step_scale = 10, .step_offset = 100, .noise = 0.0,
                                     .normalize = true};
  Generator g0(9);
  const Tensor noise_filled = models::inpaint(*model, x, bottom, start, g0);  // the starting point
  const double lp_start = sum(model->log_prob(noise_filled)).detach().item();
  for (const bool normalize : {true, false}) {
    INFO("normalised gradient: " << normalize);
    const models::InpaintOptions climb{.steps = 30, .step_scale = 0.01, .step_offset = 1, .noise = 0.0,
                                       .normalize = normalize};
    Generator gen_same(9);
    const Tensor filled = models::inpaint(*model, x, bottom, climb, gen_same);
    const Tensor kept = (1.0 - bottom) > 0.5;
    REQUIRE(all(where(kept, filled, x) == x));  // observed pixels untouched
    REQUIRE(all(filled >= 0.0));
    REQUIRE(all(filled <= 1.0));
    const double lp_end = sum(model->log_prob(filled)).detach().item();
    INFO("log p: " << lp_start << " -> " << lp_end);
    REQUIRE(lp_end > lp_start);
  }
}

TEST_CASE("nice: bad input is a clear error", "[nice]") {
  auto model = small_nice(6, kFloat32);
  REQUIRE_THROWS_WITH(model->forward(zeros({2, 100})), Catch::Matchers::Contains("Nice.forward") &&
                                                           Catch::Matchers::Contains("(N, 6)") &&
                                                           Catch::Matchers::Contains("[2, 100]"));
  REQUIRE_THROWS_WITH(model->inverse(zeros({6})), Catch::Matchers::Contains("Nice.inverse"));
  REQUIRE_THROWS_WITH(models::Nice(models::NiceConfig{.dim = 7, .coupling_layers = 4, .hidden_size = 8,
                                                      .hidden_layers = 1, .prior = "logistic"}),
                      Catch::Matchers::Contains("even"));

  // A run to make a checkpoint, then resuming with other sizes, and from a damaged file.
  models::NiceOptions o = fixture_options("zoo-test-nice-errors");
  o.resume = true;
  REQUIRE_THROWS_WITH(models::train_nice(o), Catch::Matchers::Contains("no checkpoint"));
  o.resume = false;
  o.stop_after = 1;
  models::train_nice(o);
  o.stop_after = 0;
  o.resume = true;
  o.model.hidden_size = 64;
  REQUIRE_THROWS_WITH(models::train_nice(o), Catch::Matchers::Contains("hidden_size"));
  o.model.hidden_size = 32;
  const fs::path ckpt = fs::path(o.out) / "checkpoint.safetensors";
  fs::resize_file(ckpt, fs::file_size(ckpt) / 2);  // truncated, as by a full disk
  REQUIRE_THROWS_WITH(models::train_nice(o), Catch::Matchers::Contains(ckpt.string()));
  REQUIRE_THROWS_WITH(models::load_nice(ckpt.string()), Catch::Matchers::Contains(ckpt.string()));
  REQUIRE_THROWS_WITH(models::load_nice(o.out + "/missing.safetensors"), Catch::Matchers::Contains("missing"));
}
