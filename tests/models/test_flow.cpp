// Rectified flow: the straight path and its velocity, the times training draws, and the
// Euler and Heun samplers on a Gaussian-to-Gaussian flow whose exact velocity field and
// exact end points are known: both converge, Euler at first order and Heun at second.
#include <cmath>

#include "models/flow/rectified_flow.h"
#include "test_util.h"

using namespace zoo;

TEST_CASE("flow: the straight path, and its velocity as the target", "[flow]") {
  Generator gen(1);
  const Tensor x0 = randn({3, 1, 2, 2}, kFloat64, gen), noise = randn({3, 1, 2, 2}, kFloat64, gen);
  const Tensor x = models::flow_interpolate(x0, noise, tensor({0.0, 1.0, 0.25}, kFloat64));
  REQUIRE(allclose(x.narrow(0, 0, 1), x0.narrow(0, 0, 1), 0, 0));
  REQUIRE(allclose(x.narrow(0, 1, 1), noise.narrow(0, 1, 1), 0, 0));
  test::require_close(x.narrow(0, 2, 1), x0.narrow(0, 2, 1) * 0.75 + noise.narrow(0, 2, 1) * 0.25);
  // d x_t / dt, by a central difference, is the target ε − x₀ at every t.
  const double h = 1e-4;
  const Tensor t = tensor({0.1, 0.5, 0.9}, kFloat64);
  const Tensor slope = (models::flow_interpolate(x0, noise, t + h) - models::flow_interpolate(x0, noise, t - h)) *
                       (1 / (2 * h));
  test::require_close(slope, models::flow_target(x0, noise), 1e-8, 1e-8);
}

TEST_CASE("flow: logit-normal times favour the middle of the path", "[flow]") {
  Generator gen(2);
  const std::vector<float> t = models::sample_flow_times(100000, "logit-normal", gen).to_vector<float>();
  double middle = 0, outside = 0;
  for (const float v : t) {
    outside += (v <= 0 || v >= 1) ? 1 : 0;
    middle += (v >= 0.25f && v <= 0.75f) ? 1 : 0;
  }
  REQUIRE(outside == 0);
  // P(0.25 ≤ σ(u) ≤ 0.75) = P(|u| ≤ ln 3) = 0.7282 for u ~ N(0, 1); uniform times: 0.5.
  REQUIRE(middle / 100000 == Approx(0.7282).margin(0.006));
  REQUIRE_THROWS_WITH(models::sample_flow_times(4, "beta", gen), Catch::Matchers::Contains("'beta'"));
}

TEST_CASE("flow: Euler and Heun converge to the exact end points of a Gaussian flow", "[flow]") {
  // Data x₀ ~ N(μ, s²), noise ε ~ N(0, 1): x_t is Gaussian with mean (1 − t)μ and variance
  // σ_t² = (1 − t)² s² + t², and the average velocity through x is
  // v*(x, t) = E[ε − x₀ | x_t = x] = −μ + (t − (1 − t) s²)/σ_t² · (x − (1 − t)μ).
  // Its flow is the linear map x_t = (1 − t)μ + σ_t z, so noise z ends at μ + s z.
  const double mu = 1.5, s = 0.5;
  const models::VelocityField v = [&](const Tensor& x, double t) {
    const double var = (1 - t) * (1 - t) * s * s + t * t;
    return (x - (1 - t) * mu) * ((t - (1 - t) * s * s) / var) - mu;
  };
  const Tensor z = tensor({-2.0, -0.5, 0.0, 1.0, 2.5}, kFloat64);
  const Tensor exact = z * s + mu;
  const auto error = [&](const Tensor& x) { return max(abs(x - exact)).item(); };
  const double euler10 = error(models::euler_sample(v, z, 10));
  const double euler100 = error(models::euler_sample(v, z, 100));
  const double euler1000 = error(models::euler_sample(v, z, 1000));
  const double heun10 = error(models::heun_sample(v, z, 10));
  const double heun100 = error(models::heun_sample(v, z, 100));
  INFO("Euler 10/100/1000: " << euler10 << " " << euler100 << " " << euler1000 << "; Heun 10/100: " << heun10 << " "
                             << heun100);
  REQUIRE(euler1000 < 3e-3);
  REQUIRE(euler100 == Approx(euler10 / 10).epsilon(0.5));    // first order: ten times the steps, a tenth of the error
  REQUIRE(euler1000 == Approx(euler100 / 10).epsilon(0.2));
  REQUIRE(heun100 == Approx(heun10 / 100).epsilon(0.5));     // second order: a hundredth
  REQUIRE(heun10 < euler10 / 5);
}
