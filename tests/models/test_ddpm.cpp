// DDPM's maths: the forward process in closed form against its chained steps (exactly,
// and by simulation), the posterior against Gaussian conditioning, DDIM at η = 1 against
// DDPM's variance, and a perfect noise predictor leading both samplers back to x₀.
#include <cmath>
#include <numbers>

#include "models/ddpm/process.h"
#include "models/ddpm/schedule.h"
#include "test_util.h"

using namespace zoo;
using models::NoiseSchedule;

TEST_CASE("ddpm: the schedules", "[ddpm]") {
  const NoiseSchedule linear = NoiseSchedule::linear();
  REQUIRE(linear.steps == 1000);
  REQUIRE(linear.beta[1] == Approx(1e-4));
  REQUIRE(linear.beta[1000] == Approx(0.02));
  REQUIRE(linear.alpha_bar[0] == 1.0);
  REQUIRE(linear.alpha_bar[1000] < 1e-4);  // x_T is almost pure noise
  const NoiseSchedule cosine = NoiseSchedule::cosine();
  // ᾱ_t = f(t)/f(0) wherever β was not clipped at 0.999 (all steps but the last few).
  const auto f = [](double t) { return std::pow(std::cos((t / 1000 + 0.008) / 1.008 * std::numbers::pi / 2), 2); };
  REQUIRE(cosine.alpha_bar[500] == Approx(f(500) / f(0)).epsilon(1e-12));
  for (std::int64_t t = 1; t <= 1000; ++t) {
    REQUIRE(cosine.alpha_bar[t] < cosine.alpha_bar[t - 1]);
    REQUIRE(cosine.beta[t] <= 0.999);
  }
  REQUIRE_THROWS_WITH(NoiseSchedule::by_name("quadratic"), Catch::Matchers::Contains("'quadratic'"));
  REQUIRE_THROWS_WITH(NoiseSchedule::from_betas({0.1, 1.0}), Catch::Matchers::Contains("(0, 1)"));
}

TEST_CASE("ddpm: q(x_t | x_0) in closed form is the single steps chained", "[ddpm]") {
  // Chaining x_t = √α_t x_{t-1} + √β_t ε: the mean's coefficient m_t = √α_t m_{t-1} and the
  // variance v_t = α_t v_{t-1} + β_t must be √ᾱ_t and 1 − ᾱ_t at every step.
  for (const NoiseSchedule& s : {NoiseSchedule::linear(), NoiseSchedule::cosine()}) {
    double m = 1, v = 0;
    for (std::int64_t t = 1; t <= s.steps; ++t) {
      m *= std::sqrt(s.alpha[t]);
      v = s.alpha[t] * v + s.beta[t];
      REQUIRE(m == Approx(std::sqrt(s.alpha_bar[t])).epsilon(1e-9));
      REQUIRE(v == Approx(1 - s.alpha_bar[t]).epsilon(1e-9));
    }
  }
  // And by simulation: 40,000 chains of 50 steps from x_0 = 0.7, against q_sample.
  const NoiseSchedule s = NoiseSchedule::linear(50, 1e-3, 0.2);
  Generator gen(4);
  const std::int64_t n = 40000;
  Tensor x = full({n, 1}, 0.7, kFloat64);
  for (std::int64_t t = 1; t <= 50; ++t)
    x = x * std::sqrt(s.alpha[t]) + randn({n, 1}, kFloat64, gen) * std::sqrt(s.beta[t]);
  const Tensor direct =
      models::q_sample(s, full({n, 1}, 0.7, kFloat64), full({n}, 50, kInt64), randn({n, 1}, kFloat64, gen));
  const double se_mean = std::sqrt((1 - s.alpha_bar[50]) / n);
  REQUIRE(mean(x).item() == Approx(0.7 * std::sqrt(s.alpha_bar[50])).margin(4 * se_mean));
  REQUIRE(mean(direct).item() == Approx(0.7 * std::sqrt(s.alpha_bar[50])).margin(4 * se_mean));
  const double se_var = (1 - s.alpha_bar[50]) * std::sqrt(2.0 / n);
  REQUIRE(var(x).item() == Approx(1 - s.alpha_bar[50]).margin(4 * se_var));
  REQUIRE(var(direct).item() == Approx(1 - s.alpha_bar[50]).margin(4 * se_var));
}

TEST_CASE("ddpm: the posterior q(x_{t-1} | x_t, x_0) is Gaussian conditioning", "[ddpm]") {
  // Given x_0: x_{t-1} ~ N(√ᾱ_{t-1} x_0, 1 − ᾱ_{t-1}) and x_t = √α_t x_{t-1} + √β_t ε, so
  // Cov(x_{t-1}, x_t) = √α_t (1 − ᾱ_{t-1}), Var(x_t) = 1 − ᾱ_t. Conditioning on x_t:
  // mean μ_{t-1} + Cov/Var (x_t − μ_t), variance Var(x_{t-1}) − Cov²/Var(x_t).
  const NoiseSchedule s = NoiseSchedule::cosine(200);
  for (std::int64_t t = 1; t <= 200; ++t) {
    const double a_prev = s.alpha_bar[t - 1], a = s.alpha_bar[t];
    const double cov = std::sqrt(s.alpha[t]) * (1 - a_prev), var_t = 1 - a;
    // x_0 enters the conditional mean through μ_{t-1} and μ_t; x_t through Cov/Var.
    const double coefficient_x0 = std::sqrt(a_prev) - cov / var_t * std::sqrt(a);
    const double coefficient_xt = cov / var_t;
    const auto [c0, ct] = s.posterior_mean_coefficients(t);
    REQUIRE(c0 == Approx(coefficient_x0).epsilon(1e-9).margin(1e-12));
    REQUIRE(ct == Approx(coefficient_xt).epsilon(1e-9).margin(1e-12));
    REQUIRE(s.posterior_variance(t) == Approx((1 - a_prev) - cov * cov / var_t).epsilon(1e-9).margin(1e-15));
  }
}

TEST_CASE("ddpm: DDIM with eta = 1 over every step has DDPM's variance", "[ddpm]") {
  const NoiseSchedule s = NoiseSchedule::linear();
  for (std::int64_t t = 1; t <= s.steps; ++t) {
    const double sigma = models::ddim_sigma(s, t, t - 1, 1.0);
    REQUIRE(sigma * sigma == Approx(s.posterior_variance(t)).epsilon(1e-9).margin(1e-15));
    REQUIRE(models::ddim_sigma(s, t, t - 1, 0.0) == 0.0);
  }
  REQUIRE_THROWS_WITH(models::ddim_sigma(s, 10, 10, 1.0), Catch::Matchers::Contains("from 10 to 10"));
}

TEST_CASE("ddpm: a perfect noise predictor leads both samplers back to x_0", "[ddpm]") {
  // The perfect predictor knows x_0: ε̂(x_t, t) = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t).
  const NoiseSchedule s = NoiseSchedule::linear();
  Generator gen(8);
  const Tensor x0 = rand({4, 1, 6, 6}, kFloat32, gen) * 1.8 - 0.9;
  const auto perfect = [&](const Tensor& x_t, std::int64_t t) {
    const double a = s.alpha_bar[t];
    return (x_t - x0 * std::sqrt(a)) * (1 / std::sqrt(1 - a));
  };
  const Tensor x_T = models::q_sample(s, x0, full({4}, 1000, kInt64), randn({4, 1, 6, 6}, kFloat32, gen));

  // DDIM, deterministic, 10 steps 1000 → 900 → ... → 100 → 0.
  Tensor x = x_T;
  for (std::int64_t t = 1000; t > 0; t -= 100) x = models::ddim_step(s, x, t, t - 100, perfect(x, t), 0.0, gen);
  REQUIRE(allclose(x, x0, 0, 1e-4));

  // Ancestral sampling, all 1000 steps with noise: the last step's mean is x̂_0 itself.
  x = x_T;
  for (std::int64_t t = 1000; t >= 1; --t)
    x = models::ddpm_step(s, x, t, perfect(x, t), models::PosteriorVariance::posterior, gen);
  REQUIRE(allclose(x, x0, 0, 1e-4));
  REQUIRE(allclose(models::predict_x0(s, x_T, 1000, perfect(x_T, 1000)), x0, 0, 2e-2));  // √ᾱ_T is tiny: float32
}
