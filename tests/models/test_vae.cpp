// The VAE: the KL term's closed form against a Monte-Carlo estimate, the ELBO's parts
// against their formulas, gradients by finite differences, the importance-weighted
// bound above the ELBO on a trained tiny model, binarisation, the normal quantile of
// the manifold, a resumed run ending bit for bit as an uninterrupted one, and errors.
#include <cmath>
#include <filesystem>
#include <numbers>
#include <numeric>

#include "models/vae/model.h"
#include "models/vae/pictures.h"
#include "models/vae/train.h"
#include "nn/io/safetensors.h"
#include "model_test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// A small run on the 200-image MNIST fixture.
models::VaeOptions fixture_run(const std::string& out) {
  models::VaeOptions o;
  o.model = {.input_dim = 784, .hidden = {32}, .latent_dim = 4};
  o.data_dir = std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini";
  o.out = (fs::temp_directory_path() / out).string();
  fs::remove_all(o.out);
  o.epochs = 3;
  o.batch_size = 20;
  o.save_every = 4;
  o.quiet = true;
  o.pictures = false;
  return o;
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

}  // namespace

TEST_CASE("vae: the KL term in closed form agrees with a Monte-Carlo estimate", "[vae]") {
  // KL(q || p) = E_q[log q(z) − log p(z)], estimated with 400,000 samples of z.
  const Tensor mu = tensor({{0.5, -1.0, 0.0}}, kFloat64);
  const Tensor log_var = tensor({{-1.0, 0.3, 0.0}}, kFloat64);
  const double closed = models::gaussian_kl(mu, log_var).item();
  const std::int64_t S = 400000;
  Generator gen(3);
  const Tensor m = mu.expand({S, 3}), v = log_var.expand({S, 3});
  const Tensor z = models::reparameterize(m, v, gen);
  const Tensor zero = zeros({S, 3}, kFloat64);
  const Tensor log_ratio = sub(models::gaussian_log_density(z, m, v), models::gaussian_log_density(z, zero, zero));
  const double estimate = mean(log_ratio).item();
  const double standard_error = std::sqrt(var(log_ratio).item() / static_cast<double>(S));
  INFO("closed form " << closed << ", Monte Carlo " << estimate << " ± " << standard_error);
  // ½ Σ (μ² + σ² − 1 − log σ²) by hand: ½[(0.25 + e⁻¹ − 1 + 1) + (1 + e^0.3 − 1 − 0.3) + 0]
  REQUIRE(closed == Approx(0.5 * ((0.25 + std::exp(-1.0)) + (1 + std::exp(0.3) - 1 - 0.3))).epsilon(1e-12));
  REQUIRE(std::abs(estimate - closed) < 4 * standard_error);
}

TEST_CASE("vae: the ELBO's parts are the formulas they claim", "[vae]") {
  Generator gen(5);
  const Tensor logits = randn({4, 6}, kFloat64, gen) * 3.0;
  const Tensor x = rand({4, 6}, kFloat64, gen);
  // log p(x|z) = Σ x log σ(ℓ) + (1 − x) log(1 − σ(ℓ))
  const Tensor p = sigmoid(logits);
  test::require_close(models::bernoulli_log_likelihood(logits, x),
                      sum(add(mul(x, log(p)), mul(sub(ones_like(x), x), log(sub(ones_like(p), p)))), {1}));
  // log N(z; μ, σ²) against the density of each coordinate multiplied out.
  const Tensor z = randn({4, 3}, kFloat64, gen), mu = randn({4, 3}, kFloat64, gen), lv = randn({4, 3}, kFloat64, gen);
  const Tensor sigma2 = exp(lv);
  const Tensor density = div(exp(div(neg(square(sub(z, mu))), sigma2 * 2.0)), sqrt(sigma2 * (2 * std::numbers::pi)));
  test::require_close(models::gaussian_log_density(z, mu, lv), log(prod(density, {1})));

  // elbo() is log p(x|z) − KL, and both parts have one value per image.
  manual_seed(1);
  models::Vae model({.input_dim = 6, .hidden = {5}, .latent_dim = 2});
  Generator g(2);
  const models::ElboParts parts = models::elbo_parts(model, rand({4, 6}, kFloat32, g), g);
  REQUIRE(parts.kl.shape() == Shape{4});
  test::require_close(parts.elbo(), sub(parts.log_likelihood, parts.kl));
  REQUIRE(min(parts.kl).item() >= 0);
}

TEST_CASE("vae: gradients of the KL term and the Gaussian log-density", "[vae]") {
  test::check_gradients([](const std::vector<Tensor>& in) { return models::gaussian_kl(in[0], in[1]); },
                        {test::randn64({3, 4}, 1), test::randn64({3, 4}, 2)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return models::gaussian_log_density(in[0], in[1], in[2]); },
      {test::randn64({3, 4}, 3), test::randn64({3, 4}, 4), test::randn64({3, 4}, 5)});
  const Tensor x = test::uniform64({3, 4}, 0, 1, 7).detach();  // data: no gradient
  test::check_gradients([&](const std::vector<Tensor>& in) { return models::bernoulli_log_likelihood(in[0], x); },
                        {test::randn64({3, 4}, 6)});
}

TEST_CASE("vae: binarisation keeps each pixel with its grey level as probability", "[vae]") {
  Generator gen(9);
  const Tensor b = models::binarize(full({200, 784}, 0.3), gen);
  const std::vector<float> v = b.to_vector<float>();
  REQUIRE(std::all_of(v.begin(), v.end(), [](float p) { return p == 0.0f || p == 1.0f; }));
  const double share = mean(b).item();  // 156,800 draws: standard error 0.0012
  REQUIRE(std::abs(share - 0.3) < 0.006);
  REQUIRE(sum(models::binarize(zeros({3, 784}), gen)).item() == 0);
  REQUIRE(sum(models::binarize(ones({3, 784}), gen)).item() == 3 * 784);
}

TEST_CASE("vae: the normal quantile inverts the normal distribution function", "[vae]") {
  REQUIRE(models::normal_quantile(0.5) == Approx(0.0).margin(1e-15));
  REQUIRE(models::normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-13));
  REQUIRE(models::normal_quantile(0.05) == Approx(-1.6448536269514722).epsilon(1e-13));
  REQUIRE_THROWS_WITH(models::normal_quantile(1.0), Catch::Matchers::Contains("(0, 1)"));
}

TEST_CASE("vae: training raises the ELBO; the importance-weighted bound lies above it", "[vae]") {
  models::VaeOptions o = fixture_run("zoo-test-vae-train");
  o.epochs = 8;
  o.save_every = 0;
  const models::VaeResult r = models::train_vae(o);
  REQUIRE(r.finished);
  const auto saved = models::load_vae(o.out + "/model.safetensors");
  const Tensor test = models::test_data(models::load_mnist_rows(o.data_dir, false), "dynamic");
  const models::VaeEvaluation again = models::evaluate_vae(*saved, test);
  REQUIRE(again.elbo == Approx(r.test.elbo).epsilon(1e-6));  // the saved model is the trained one
  // An untrained model of the same sizes is far worse (543 nats = 784 log 2 at σ(0) = ½).
  manual_seed(123);
  models::Vae untrained(o.model);
  REQUIRE(r.test.elbo > models::evaluate_vae(untrained, test).elbo + 100);

  // L_1 ≤ L_10 ≤ L_100 in expectation; over 100 images the gaps are many standard errors.
  Generator gen(4);
  const double l1 = mean_of(models::importance_weighted_bound(*saved, test, 1, gen));
  const double l10 = mean_of(models::importance_weighted_bound(*saved, test, 10, gen));
  const double l100 = mean_of(models::importance_weighted_bound(*saved, test, 100, gen, 1000));
  INFO("L1 " << l1 << ", L10 " << l10 << ", L100 " << l100 << ", ELBO " << r.test.elbo);
  REQUIRE(l1 == Approx(r.test.elbo).margin(2.0));  // k = 1 is the ELBO (another sample of z)
  REQUIRE(l10 > l1);
  REQUIRE(l100 > l10);
}

TEST_CASE("vae: a resumed run ends bit-identical to an uninterrupted one", "[vae]") {
  const models::VaeOptions straight = fixture_run("zoo-test-vae-straight");
  const models::VaeResult full = models::train_vae(straight);
  REQUIRE(full.finished);
  models::VaeOptions o = fixture_run("zoo-test-vae-resumed");
  o.stop_after = 13;  // epoch 2 (10 batches of 20 an epoch), batch 3; the last checkpoint was step 12
  REQUIRE_FALSE(models::train_vae(o).finished);
  o.stop_after = 0;
  o.resume = true;
  const models::VaeResult resumed = models::train_vae(o);
  REQUIRE(resumed.steps == full.steps);
  REQUIRE(resumed.test.elbo == full.test.elbo);
  test::require_same_weights(fs::path(straight.out) / "model.safetensors",
                             fs::path(o.out) / "model.safetensors");
  o.model.latent_dim = 8;
  REQUIRE_THROWS_WITH(models::train_vae(o), Catch::Matchers::Contains("latent_dim"));
}

TEST_CASE("vae: wrong shapes and files are clear errors", "[vae]") {
  models::Vae model;
  REQUIRE_THROWS_WITH(model.encode(zeros({2, 100})), Catch::Matchers::Contains("(N, 784)") &&
                                                         Catch::Matchers::Contains("[2, 100]"));
  REQUIRE_THROWS_WITH(model.decode(zeros({2, 3})), Catch::Matchers::Contains("(N, 20)"));
  REQUIRE_THROWS_WITH(models::save_manifold("/tmp/zoo-test-m.png", model), Catch::Matchers::Contains("2-D latent"));
  const fs::path path = fs::temp_directory_path() / "zoo-test-vae-notes.safetensors";
  nn::save_safetensors(path, model.state_dict());
  REQUIRE_THROWS_WITH(models::load_vae(path.string()), Catch::Matchers::Contains("input_dim") &&
                                                           Catch::Matchers::Contains(path.string()));
}
