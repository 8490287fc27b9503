// Tutorial 14: rectified flow. The straight path and its constant velocity; the best
// velocity field for Gaussian data in closed form, checked against a regression on
// samples; the ODE it defines, integrated by Euler and Heun with errors falling as
// 1/n and 1/n²; reflow on the same Gaussians, where one Euler step becomes exact; and a
// small U-Net trained on MNIST, sampled with a few steps. Read README.md alongside.
//
// Run: ./tutorial_14_rectified_flow   (trains a small U-Net on data/mnist for 150 steps
// if data/fetch_mnist.sh has put it there, about a minute, and samples runs/flow and
// runs/reflow if `zoo train flow` has written them; CTest runs it with --quick, on the
// 200-image fixture; --metrics-dir DIR also writes the samplers' errors of 14.2 for
// `zoo plot`, as README.md shows)

#include <cmath>
#include <filesystem>
#include <optional>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/common/image_grid.h"
#include "models/common/metrics.h"
#include "models/flow/rectified_flow.h"
#include "models/flow/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// The data of sections 14.2–14.3: x₀ ~ N(m, s²), one number per sample.
constexpr double m = 0.3, s = 0.2;

/// The standard deviation of the values of x.
double stddev(const Tensor& x) { return std::sqrt(var(x).item()); }

/// The least-squares line y ≈ a·x + b over samples: (a, b).
std::pair<double, double> regression(const Tensor& x, const Tensor& y) {
  const Tensor dx = x - mean(x);
  const double a = mean(dx * (y - mean(y))).item() / mean(dx * dx).item();
  return {a, mean(y).item() - a * mean(x).item()};
}

// ---------------------------------------------------------------------------
// 14.1 The straight path
// ---------------------------------------------------------------------------

void straight_path(lesson::Lesson& L) {
  L.section("14.1 The straight path from data to noise");
  Generator gen(14);
  const Tensor x0 = rand({4, 3}, kFloat64, gen), noise = randn({4, 3}, kFloat64, gen);
  const auto at = [&](double t) { return models::flow_interpolate(x0, noise, full({4}, t, kFloat64)); };
  L.check(allclose(at(0.0), x0, 0, 0) && allclose(at(1.0), noise, 1e-15, 1e-15), "x_0 is the data, x_1 the noise");
  const Tensor velocity = (at(0.7) - at(0.3)) / 0.4;  // a difference quotient over a long interval
  L.check(allclose(velocity, models::flow_target(x0, noise), 1e-12, 1e-12),
          "the velocity dx_t/dt = eps - x_0 is the same at every t: the target");
  fmt::print("  x_t = (1 - t) x_0 + t eps, so (x_0.7 - x_0.3)/0.4 = eps - x_0 exactly\n");
}

// ---------------------------------------------------------------------------
// 14.2 The best velocity, the ODE, Euler and Heun
// ---------------------------------------------------------------------------

/// The best velocity for x₀ ~ N(m, s²) and ε ~ N(0, 1), the regression of ε − x₀ on x_t:
/// x_t ~ N((1 − t)m, σ_t²) with σ_t² = (1 − t)²s² + t², Cov(ε − x₀, x_t) = t − (1 − t)s², so
///   v*(x, t) = −m + (t − (1 − t)s²)/σ_t² · (x − (1 − t)m).
Tensor best_velocity(const Tensor& x, double t) {
  const double variance = (1 - t) * (1 - t) * s * s + t * t;
  return (x - (1 - t) * m) * ((t - (1 - t) * s * s) / variance) - m;
}

void ode_and_samplers(lesson::Lesson& L) {
  L.section("14.2 The best velocity field, its ODE, Euler and Heun");
  const std::int64_t S = 200000;
  Generator gen(15);
  const Tensor x0 = randn({S}, kFloat64, gen) * s + m, eps = randn({S}, kFloat64, gen);
  const double t = 0.5;
  const Tensor x_t = x0 * (1 - t) + eps * t;
  const auto [slope, intercept] = regression(x_t, eps - x0);
  const auto [exact_slope, exact_intercept] = regression(x_t, best_velocity(x_t, t));
  fmt::print("  at t = {}: regression of eps - x_0 on x_t: {:.4f} x {:+.4f}; v*: {:.4f} x {:+.4f}\n", t, slope,
             intercept, exact_slope, exact_intercept);
  L.check(std::abs(slope - exact_slope) < 0.01 && std::abs(intercept - exact_intercept) < 0.01,
          "the least-squares velocity is the conditional mean E[eps - x_0 | x_t]");

  // Following v* from t = 1 to 0 keeps the path's marginals N((1 − t)m, σ_t²); in one
  // dimension that makes the map monotone, z ↦ (1 − t)m + σ_t z, and at t = 0, m + s z.
  const Tensor z = randn({1000}, kFloat64, gen);
  const Tensor exact = z * s + m;
  fmt::print("  steps   Euler error   Heun error   (largest |x - (m + s z)| over 1000 draws)\n");
  // With --metrics-dir DIR: each sampler's errors as DIR/14.2-samplers/<name>/metrics.jsonl,
  // one record {"steps": n, "max_error": e} per n, for `zoo plot` (the chart in README.md).
  std::optional<models::MetricsWriter> euler_metrics, heun_metrics;
  if (!L.metrics_dir().empty()) {
    euler_metrics.emplace((fs::path(L.metrics_dir()) / "14.2-samplers" / "Euler").string());
    heun_metrics.emplace((fs::path(L.metrics_dir()) / "14.2-samplers" / "Heun").string());
  }
  double euler_prev = 0, heun_prev = 0, euler_order = 0, heun_order = 0;
  for (const std::int64_t n : {1, 2, 4, 8, 16, 32, 64}) {
    const double euler = max(abs(models::euler_sample(best_velocity, z, n) - exact)).item();
    const double heun = max(abs(models::heun_sample(best_velocity, z, n) - exact)).item();
    fmt::print("  {:5}   {:11.2e}   {:10.2e}\n", n, euler, heun);
    if (euler_metrics) euler_metrics->write({{"steps", n}, {"max_error", euler}});
    if (heun_metrics) heun_metrics->write({{"steps", n}, {"max_error", heun}});
    // The order p of a method whose error is C·hᵖ: halving h divides the error by 2ᵖ.
    if (n > 1) euler_order = std::log2(euler_prev / euler), heun_order = std::log2(heun_prev / heun);
    euler_prev = euler;
    heun_prev = heun;
  }
  fmt::print("  orders from the last halving of h: Euler {:.2f}, Heun {:.2f}\n", euler_order, heun_order);
  L.check(std::abs(euler_order - 1) < 0.2 && std::abs(heun_order - 2) < 0.3,
          "Euler's error falls as 1/n, Heun's as 1/n^2");
  const Tensor one_step = models::euler_sample(best_velocity, z, 1);
  fmt::print("  one Euler step: std {:.2e}: every draw lands on the mean m = {}\n", stddev(one_step), m);
  L.check(stddev(one_step) < 1e-12, "v*(x, 1) = x - m, so one step from t = 1 gives the data's mean");
}

// ---------------------------------------------------------------------------
// 14.3 Reflow
// ---------------------------------------------------------------------------

void reflow(lesson::Lesson& L) {
  L.section("14.3 Reflow: train on the ODE's own pairs");
  // Pairs (z, x̂ = Φ(z)) from the first flow's ODE, as reflow draws them (Heun with 256
  // steps, so that x̂ is m + s z to within 1e-5 and the formulas below apply).
  const std::int64_t S = 20000;
  Generator gen(16);
  const Tensor z = randn({S}, kFloat64, gen);
  const Tensor x_hat = models::heun_sample(best_velocity, z, 256);
  // The second flow's target on those pairs, regressed on x_t at a few times: a line
  // in x, that is, a velocity field the least-squares fit finds.
  const auto pair_velocity = [](const Tensor& x, double t) {  // the straight coupling's, derived in the README
    return (x - (1 - t) * m) * ((1 - s) / ((1 - t) * s + t)) - m;
  };
  bool matches = true;
  for (const double t : {0.2, 0.5, 0.9}) {
    const Tensor x_t = x_hat * (1 - t) + z * t;
    const auto [slope, intercept] = regression(x_t, z - x_hat);
    const auto [exact_slope, exact_intercept] = regression(x_t, pair_velocity(x_t, t));
    const double residual = stddev(z - x_hat - (x_t * slope + intercept));
    fmt::print("  t = {}: z - x^ regressed on x_t: {:.4f} x {:+.4f} (residual std {:.1e}); formula {:.4f} x {:+.4f}\n", t,
               slope, intercept, residual, exact_slope, exact_intercept);
    matches = matches && std::abs(slope - exact_slope) < 1e-3 && std::abs(intercept - exact_intercept) < 1e-3 &&
              residual < 1e-3;
  }
  L.check(matches, "on the pairs the target is a function of x_t: the paths no longer cross");
  const Tensor test = randn({1000}, kFloat64, gen);
  const double one_step = max(abs(models::euler_sample(pair_velocity, test, 1) - (test * s + m))).item();
  fmt::print("  one Euler step of the second flow: largest error {:.1e}\n", one_step);
  L.check(one_step < 1e-12, "straight paths: one Euler step is exact");
}

// ---------------------------------------------------------------------------
// 14.4 Training on MNIST, and few-step sampling
// ---------------------------------------------------------------------------

void training(lesson::Lesson& L) {
  L.section("14.4 A small U-Net on MNIST, sampled in a few steps");
  const fs::path repo(ZOO_SOURCE_DIR);
  const bool full_data = !L.quick() && fs::exists(repo / "data/mnist/train-images-idx3-ubyte");
  models::FlowOptions o;
  o.model = {.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2, .num_classes = 10};
  o.data_dir = full_data ? (repo / "data/mnist").string() : (repo / "tests/data/mnist-mini").string();
  o.train_limit = full_data ? 150 * 128 : 0;  // 150 steps of 128
  o.epochs = full_data ? 1 : 3;
  o.batch_size = full_data ? 128 : 20;
  o.lr = 2e-3;
  o.out = (fs::temp_directory_path() / "zoo-tutorial-14").string();
  o.quiet = true;
  fs::remove_all(o.out);
  const models::UNetTrainingResult r = models::train_flow(o);
  fmt::print("  {}: {} steps, last epoch's loss {:.4f} ({:.0f} images/s)\n", o.data_dir, r.steps, r.train_loss,
             r.samples_per_second);
  // The untrained output is 0: the loss E|eps - x_0|^2 = 1 + E[x_0^2], about 1.8 on MNIST.
  L.check(r.train_loss < 1.0, "the velocity error fell well below the untrained network's 1 + E[x_0^2]");

  // Sample: the trained flows if `zoo train flow` wrote them, else this small one.
  std::vector<std::pair<std::string, fs::path>> models;
  for (const char* run : {"runs/flow", "runs/reflow"})
    if (!L.quick() && fs::exists(repo / run / "model.safetensors"))
      models.emplace_back(run, repo / run / "model.safetensors");
  if (models.empty()) models.emplace_back("the small model just trained", fs::path(o.out) / "model.safetensors");
  std::vector<std::int64_t> digits;
  for (std::int64_t c = 0; c < 10; ++c) digits.push_back(c);
  const Tensor labels = from_vector(digits, {10});
  std::vector<Tensor> rows;
  for (const auto& [name, file] : models) {
    auto net = models::load_flow(file.string());
    for (const std::int64_t steps : {1, 2, 10}) {
      models::FlowSampling how;
      how.steps = steps;
      Generator gen(18);  // the same noise in every row
      rows.push_back(models::sample_flow(*net, 10, labels, how, gen));
      fmt::print("  row {}: {}, Euler, {} step{}\n", rows.size(), name, steps, steps == 1 ? "" : "s");
    }
  }
  const Tensor grid = clamp((cat(rows, 0) + 1.0) * 0.5, 0.0, 1.0);
  models::GridOptions options;
  options.columns = 10;
  models::save_image_grid(fs::path(o.out) / "steps.png", grid, options);
  fmt::print("  {}/steps.png: the rows above; columns 0..9\n", o.out);
  L.check(all(isfinite(grid)), "samples from the same noise in 1, 2 and 10 Euler steps");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    straight_path(L);
    ode_and_samplers(L);
    reflow(L);
    training(L);
  });
}
