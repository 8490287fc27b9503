// Tutorial 13: denoising diffusion (DDPM) and DDIM. The forward process in closed form
// against its chained steps; the posterior q(x_{t-1} | x_t, x_0) against a regression on
// samples; the ELBO's terms as weighted noise errors, and the simple loss; ancestral
// sampling and DDIM driven by the exact noise predictor of Gaussian data; and a small
// U-Net trained on MNIST, sampled with and without classifier-free guidance. Read
// README.md alongside.
//
// Run: ./tutorial_13_ddpm   (trains a small U-Net on data/mnist for 150 steps if
// data/fetch_mnist.sh has put it there, about a minute, and samples runs/ddpm if
// `zoo train ddpm` has written it; CTest runs it with --quick, on the 200-image fixture)

#include <cmath>
#include <filesystem>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/common/image_grid.h"
#include "models/ddpm/process.h"
#include "models/ddpm/sample.h"
#include "models/ddpm/schedule.h"
#include "models/ddpm/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// The mean and the variance of the values of x.
std::pair<double, double> moments(const Tensor& x) { return {mean(x).item(), var(x).item()}; }

// ---------------------------------------------------------------------------
// 13.1 The forward process
// ---------------------------------------------------------------------------

void forward_process(lesson::Lesson& L) {
  L.section("13.1 The forward process: T small steps, or one in closed form");
  const models::NoiseSchedule linear = models::NoiseSchedule::linear(), cosine = models::NoiseSchedule::cosine();
  fmt::print("  t:                   250     500     750    1000\n");
  for (const auto& [name, s] : {std::pair{"linear", &linear}, std::pair{"cosine", &cosine}}) {
    fmt::print("  alpha_bar ({}): ", name);
    for (const std::size_t t : {250, 500, 750, 1000}) fmt::print(" {:.4f}", s->alpha_bar[t]);
    fmt::print("\n");
  }
  // x_t = √(1 − β_t) x_{t−1} + √β_t ε_t, chained from one x₀ = 0.8, for 100000 copies.
  const std::int64_t S = 100000, t = 300;
  const double x0 = 0.8;
  Generator gen(13);
  Tensor x = full({S}, x0, kFloat64);
  for (std::int64_t s = 1; s <= t; ++s) {
    const double beta = linear.beta[static_cast<std::size_t>(s)];
    x = x * std::sqrt(1 - beta) + randn({S}, kFloat64, gen) * std::sqrt(beta);
  }
  const auto [m, v] = moments(x);
  const double a = linear.alpha_bar[t];
  fmt::print("  after {} chained steps: mean {:.4f}, variance {:.4f}\n", t, m, v);
  fmt::print("  closed form:            mean sqrt(abar) x0 = {:.4f}, variance 1 - abar = {:.4f}\n", std::sqrt(a) * x0,
             1 - a);
  // Standard errors of a mean and a variance over S draws: √(v/S) and v·√(2/S).
  L.check(std::abs(m - std::sqrt(a) * x0) < 4 * std::sqrt(v / S) && std::abs(v - (1 - a)) < 4 * v * std::sqrt(2.0 / S),
          "q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I): one draw replaces t steps");
}

// ---------------------------------------------------------------------------
// 13.2 The posterior, and the ELBO as a sum of noise errors
// ---------------------------------------------------------------------------

void posterior_and_loss(lesson::Lesson& L) {
  L.section("13.2 The posterior q(x_{t-1} | x_t, x_0) and the simple loss");
  const models::NoiseSchedule schedule = models::NoiseSchedule::linear();
  // Draw pairs (x_{t−1}, x_t) from the forward process for one x₀ and regress x_{t−1} on
  // x_t: for Gaussians the regression line is the conditional mean, and the residual
  // variance the conditional variance.
  const std::int64_t S = 400000, t = 100;
  const double x0 = 0.5;
  const auto ts = static_cast<std::size_t>(t);
  Generator gen(14);
  const double a_prev = schedule.alpha_bar[ts - 1], beta = schedule.beta[ts];
  const Tensor prev = randn({S}, kFloat64, gen) * std::sqrt(1 - a_prev) + std::sqrt(a_prev) * x0;
  const Tensor now = prev * std::sqrt(1 - beta) + randn({S}, kFloat64, gen) * std::sqrt(beta);
  const Tensor dp = prev - mean(prev), dn = now - mean(now);
  const double slope = mean(dp * dn).item() / mean(dn * dn).item();
  const double intercept = mean(prev).item() - slope * mean(now).item();
  const double residual = var(dp - dn * slope).item();
  const auto [c0, ct] = schedule.posterior_mean_coefficients(t);
  fmt::print("  regression of x_(t-1) on x_t at t = {}: slope {:.5f}, intercept {:.5f}, residual variance {:.3e}\n", t,
             slope, intercept, residual);
  fmt::print("  posterior:                           c_t   {:.5f}, c_0 x_0   {:.5f}, beta~_t           {:.3e}\n", ct,
             c0 * x0, schedule.posterior_variance(t));
  L.check(std::abs(slope - ct) < 2e-3 && std::abs(intercept - c0 * x0) < 2e-3 &&
              std::abs(residual / schedule.posterior_variance(t) - 1) < 0.01,
          "the posterior's mean c_0 x_0 + c_t x_t and variance beta~_t");

  // With x₀ written through the noise, x₀ = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t, the posterior mean is
  // μ̃ = (x_t − β_t/√(1 − ᾱ_t) ε)/√α_t: predicting the mean is predicting ε.
  Generator g(15);
  const Tensor x_t = randn({5}, kFloat64, g), eps = randn({5}, kFloat64, g);
  const double a = schedule.alpha_bar[ts], alpha = schedule.alpha[ts];
  const Tensor through_x0 = ((x_t - eps * std::sqrt(1 - a)) / std::sqrt(a)) * c0 + x_t * ct;
  const Tensor through_eps = (x_t - eps * (beta / std::sqrt(1 - a))) / std::sqrt(alpha);
  L.check(allclose(through_x0, through_eps, 1e-12, 1e-12), "mu~(x_t, x_0(eps)) = (x_t - beta_t/sqrt(1-abar_t) eps)/sqrt(alpha_t)");
  // The ELBO's term at t is a KL between Gaussians of equal variance σ_t² = β̃_t, so it is
  // ‖μ̃ − μ_θ‖²/(2σ_t²) = λ_t ‖ε − ε_θ‖² with λ_t = β_t²/(2σ_t² α_t (1 − ᾱ_t)).
  fmt::print("  the ELBO's weight lambda_t of |eps - eps_theta|^2:");
  for (const std::size_t s : {2, 10, 100, 500, 1000}) {
    const double sigma2 = schedule.posterior_variance(static_cast<std::int64_t>(s));
    const double lambda =
        schedule.beta[s] * schedule.beta[s] / (2 * sigma2 * schedule.alpha[s] * (1 - schedule.alpha_bar[s]));
    fmt::print(" t={}: {:.2e}", s, lambda);
  }
  fmt::print("\n  the simple loss drops the weights: E_t,x0,eps |eps - eps_theta(x_t, t)|^2, t uniform\n");
}

// ---------------------------------------------------------------------------
// 13.3 and 13.4: the samplers, driven by an exact noise predictor
// ---------------------------------------------------------------------------

/// Data x₀ ~ N(m, s²) in each coordinate: then x_t ~ N(√ᾱ m, ᾱ s² + 1 − ᾱ), and the best
/// noise prediction E[ε | x_t] is the regression of ε on x_t:
///   ε*(x_t, t) = √(1 − ᾱ) (x_t − √ᾱ m) / (ᾱ s² + 1 − ᾱ).
Tensor exact_noise(const models::NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, double m, double s) {
  const double a = schedule.alpha_bar[static_cast<std::size_t>(t)];
  return (x_t - std::sqrt(a) * m) * (std::sqrt(1 - a) / (a * s * s + 1 - a));
}

void samplers(lesson::Lesson& L) {
  L.section("13.3 Ancestral sampling, and 13.4 DDIM, with the exact noise predictor");
  const models::NoiseSchedule schedule = models::NoiseSchedule::linear();
  const double m = 0.3, s = 0.2;
  const std::int64_t S = 20000, T = schedule.steps;
  fmt::print("  data N({}, {}^2); every sampler starts from x_T ~ N(0, 1)\n", m, s);
  Generator gen(16);
  Tensor x = randn({S}, kFloat64, gen);
  for (std::int64_t t = T; t >= 1; --t)  // no clipping: these data are not images in [-1, 1]
    x = models::ddpm_step(schedule, x, t, exact_noise(schedule, x, t, m, s), models::PosteriorVariance::posterior, gen,
                          /*clip=*/false);
  const auto [am, av] = moments(x);
  fmt::print("  ancestral, {} steps:  mean {:.4f}, std {:.4f}\n", T, am, std::sqrt(av));
  L.check(std::abs(am - m) < 0.01 && std::abs(std::sqrt(av) - s) < 0.01, "ancestral sampling recovers the data");

  // Few DDIM steps shrink the spread: the last step returns x̂₀ = E[x₀ | x_τ₁], a
  // posterior mean, narrower than the data by the posterior's variance at τ₁, and every
  // long step cuts the corners of a curved path. With all T steps the ODE is followed
  // closely.
  double previous_std = 0;
  bool wider = true;
  for (const std::int64_t steps : {10, 50, 200, 1000}) {
    Generator g(17);
    const Tensor start = randn({S}, kFloat64, g);
    Tensor y = start;
    const std::vector<std::int64_t> times = models::ddim_times(T, steps);
    for (std::size_t i = 0; i + 1 < times.size(); ++i)
      y = models::ddim_step(schedule, y, times[i], times[i + 1], exact_noise(schedule, y, times[i], m, s), 0.0, g,
                            /*clip=*/false);
    const auto [dm, dv] = moments(y);
    fmt::print("  DDIM (eta 0), {:4} steps: mean {:.4f}, std {:.4f}; corr(x_T, x_0) = {:.4f}\n", steps, dm,
               std::sqrt(dv), mean((y - dm) * start).item() / std::sqrt(dv * var(start).item()));
    L.check(std::abs(dm - m) < 0.01, fmt::format("DDIM's {} deterministic steps keep the mean", steps));
    wider = wider && std::sqrt(dv) > previous_std;
    previous_std = std::sqrt(dv);
  }
  L.check(wider && std::abs(previous_std - s) < 0.01, "more DDIM steps, a spread closer to the data's: right with all T");
  const double sigma = models::ddim_sigma(schedule, 500, 499, 1.0);
  L.check(std::abs(sigma * sigma / schedule.posterior_variance(500) - 1) < 1e-12,
          "DDIM with eta = 1 and all steps adds DDPM's posterior variance");
}

// ---------------------------------------------------------------------------
// 13.5 Training on MNIST, and guidance
// ---------------------------------------------------------------------------

void training(lesson::Lesson& L) {
  L.section("13.5 A small U-Net on MNIST; classifier-free guidance");
  const fs::path repo(ZOO_SOURCE_DIR);
  const bool full_data = !L.quick() && fs::exists(repo / "data/mnist/train-images-idx3-ubyte");
  models::DdpmOptions o;
  o.model = {.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2, .num_classes = 10};
  o.data_dir = full_data ? (repo / "data/mnist").string() : (repo / "tests/data/mnist-mini").string();
  o.train_limit = full_data ? 150 * 128 : 0;  // 150 steps of 128
  o.epochs = full_data ? 1 : 3;
  o.batch_size = full_data ? 128 : 20;
  o.lr = 2e-3;
  o.out = (fs::temp_directory_path() / "zoo-tutorial-13").string();
  o.quiet = true;
  fs::remove_all(o.out);
  const models::DdpmResult r = models::train_ddpm(o);
  fmt::print("  {}: {} steps, last epoch's loss {:.4f} ({:.0f} images/s)\n", o.data_dir, r.steps, r.train_loss,
             r.samples_per_second);
  L.check(r.train_loss < 0.5, "the noise prediction error fell from E|eps|^2 = 1 (the untrained output is 0)");

  // Sample: a trained model if `zoo train ddpm` wrote one, else this small one.
  const fs::path trained = repo / "runs/ddpm/model.safetensors";
  const bool have_trained = !L.quick() && fs::exists(trained);
  auto [net, schedule] = models::load_ddpm(have_trained ? trained.string() : o.out + "/model.safetensors");
  fmt::print("  sampling {}\n", have_trained ? trained.string() : "the small model just trained");
  std::vector<std::int64_t> digits;
  for (std::int64_t c = 0; c < 10; ++c) digits.push_back(c);
  const Tensor labels = from_vector(digits, {10});
  std::vector<Tensor> rows;
  for (const double w : {0.0, 1.0, 3.0}) {
    models::DdpmSampling how;
    how.steps = 20;
    how.guidance = w;
    Generator gen(18);  // the same noise for each w
    rows.push_back(models::sample_ddpm(*net, schedule, 10, labels, how, gen));
  }
  const Tensor grid = clamp((cat(rows, 0) + 1.0) * 0.5, 0.0, 1.0);
  models::GridOptions options;
  options.columns = 10;
  models::save_image_grid(fs::path(o.out) / "guidance.png", grid, options);
  fmt::print("  {}/guidance.png: rows w = 0 (no label), 1 (conditional), 3 (guided); columns 0..9\n", o.out);
  L.check(all(isfinite(grid)), "DDIM with 20 steps at each guidance scale");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    forward_process(L);
    posterior_and_loss(L);
    samplers(L);
    training(L);
  });
}
