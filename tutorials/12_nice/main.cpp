// Tutorial 12: NICE, a normalizing flow. The change of variables checked on a line; an
// additive coupling layer, its exact inverse and its Jacobian (printed: triangular, unit
// determinant); the full model's log-determinant against a brute-force determinant; the
// logistic prior; dequantisation and bits per dimension; a short training run, samples
// and inpainting. Read README.md alongside.
//
// Run: ./tutorial_12_nice   (trains a small NICE on data/mnist for one epoch, about 20 s,
// if data/fetch_mnist.sh has put it there; CTest runs it with --quick, which trains on the
// 200-image fixture in tests/data in well under a second)

#include <cmath>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/common/image_grid.h"
#include "models/nice/inpaint.h"
#include "models/nice/model.h"
#include "models/nice/prior.h"
#include "models/nice/train.h"
#include "nn/data/mnist.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// The Jacobian ∂f(x)/∂x (D × D) of a map of one row x (1, D), one row by autograd each.
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

/// log|det A| by Gaussian elimination with partial pivoting (the LU factorisation).
double log_abs_det(std::vector<std::vector<double>> a) {
  const std::size_t n = a.size();
  double log_det = 0;
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t p = k;
    for (std::size_t i = k + 1; i < n; ++i)
      if (std::fabs(a[i][k]) > std::fabs(a[p][k])) p = i;
    std::swap(a[k], a[p]);
    log_det += std::log(std::fabs(a[k][k]));
    for (std::size_t i = k + 1; i < n; ++i) {
      const double f = a[i][k] / a[k][k];
      for (std::size_t j = k; j < n; ++j) a[i][j] -= f * a[k][j];
    }
  }
  return log_det;
}

// ---------------------------------------------------------------------------
// 12.1 The change of variables, on a line
// ---------------------------------------------------------------------------

void change_of_variables(lesson::Lesson& L) {
  L.section("12.1 The change of variables, on a line");
  // h = f(x) = 3x − 1 and h ~ standard logistic: p_X(x) = p_H(3x − 1) · 3. Its integral
  // over x is 1 only with the factor |f'(x)| = 3.
  const std::int64_t n = 200000;
  const double lo = -20, hi = 20, dx = (hi - lo) / static_cast<double>(n);
  const Tensor x = ((arange(n, kFloat64) + 0.5) * dx + lo).reshape({n, 1});
  const Tensor log_ph = models::prior_log_prob(models::NicePrior::Logistic, x * 3.0 - 1.0);  // (n)
  const double without = sum(exp(log_ph)).item() * dx;
  const double with = sum(exp(log_ph + std::log(3.0))).item() * dx;
  fmt::print("  ∫ p_H(f(x)) dx = {:.6f}   ∫ p_H(f(x)) |f'(x)| dx = {:.6f}\n", without, with);
  L.check(std::fabs(with - 1) < 1e-6 && std::fabs(without - 1.0 / 3) < 1e-6,
          "p_X(x) = p_H(f(x)) |f'(x)| is a density; without |f'| it is not");
}

// ---------------------------------------------------------------------------
// 12.2 An additive coupling layer
// ---------------------------------------------------------------------------

void coupling_layer(lesson::Lesson& L) {
  L.section("12.2 An additive coupling layer");
  manual_seed(0);
  models::AdditiveCoupling coupling(6, 8, 2, /*changes_odd=*/true);
  coupling.to(kFloat64);
  Generator gen(1);
  const Tensor x = randn({1, 6}, kFloat64, gen);
  const Tensor y = coupling.forward(x);
  fmt::print("  x          = {}\n  y = f(x)   = {}\n  f⁻¹(y)     = {}\n", x, y.detach(),
             coupling.inverse(y).detach());
  L.check(all(y.slice(1, 0, 6, 2) == x.slice(1, 0, 6, 2)), "the even-indexed half passes through unchanged");
  L.check(allclose(coupling.inverse(y), x, 0, 1e-14), "the inverse undoes the shift: f⁻¹(f(x)) = x");
  const auto J = jacobian([&](const Tensor& v) { return coupling.forward(v); }, x);
  fmt::print("  ∂y/∂x (rows: y₀…y₅, columns: x₀…x₅):\n");
  for (const auto& row : J) {
    fmt::print("   ");
    for (const double v : row) fmt::print(" {:7.3f}", v);
    fmt::print("\n");
  }
  bool structure = true;  // ∂y_even/∂x = e_i; ∂y_odd/∂x_odd = identity
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 6; ++j)
      if ((i % 2 == 0 || j % 2 == 1) && J[i][j] != (i == j ? 1.0 : 0.0)) structure = false;
  L.check(structure, "the Jacobian is the identity except ∂y_odd/∂x_even = ∂m/∂x_even");
  L.check(std::fabs(log_abs_det(J)) < 1e-12, "so its determinant is 1: log|det| = 0 = coupling.log_det(x)");
}

// ---------------------------------------------------------------------------
// 12.3 The whole flow: couplings, scaling, log-determinant
// ---------------------------------------------------------------------------

void whole_flow(lesson::Lesson& L) {
  L.section("12.3 The whole flow and its log-determinant");
  manual_seed(2);
  models::Nice model({.dim = 6, .coupling_layers = 4, .hidden_size = 8, .hidden_layers = 2, .prior = "logistic"});
  model.to(kFloat64);
  {
    NoGradGuard no_grad;
    model.scaling->log_scale.copy_(tensor({0.5, -1.0, 2.0, 0.1, -0.3, 1.2}, kFloat64));
  }
  fmt::print("{}\n", nn::to_string(model));
  Generator gen(3);
  const Tensor x = randn({1, 6}, kFloat64, gen);
  const auto [h, log_det] = model.forward_with_log_det(x);
  const double brute = log_abs_det(jacobian([&](const Tensor& v) { return model.forward(v); }, x));
  fmt::print("  Σ s = {:.12f}\n  log|det ∂f/∂x| by autograd + LU = {:.12f}\n", log_det.item(), brute);
  L.check(std::fabs(brute - log_det.item()) < 1e-10, "log|det| of the flow is the sum of the log-scales");
  L.check(allclose(model.inverse(h), x, 0, 1e-12), "and the flow inverts: f⁻¹(f(x)) = x");
}

// ---------------------------------------------------------------------------
// 12.4 The logistic prior
// ---------------------------------------------------------------------------

void logistic_prior(lesson::Lesson& L) {
  L.section("12.4 The logistic prior");
  const std::vector<double> zs = {-8.0, -2.0, 0.0, 1.0, 8.0};
  for (const double z : zs) {
    const Tensor t = full({1, 1}, z, kFloat64).requires_grad_();
    const Tensor lp = models::prior_log_prob(models::NicePrior::Logistic, t);
    lp.backward();
    const Tensor g = models::prior_log_prob(models::NicePrior::Gaussian, full({1, 1}, z, kFloat64));
    fmt::print("  z = {:5.1f}: log p_logistic = {:8.4f} (slope {:6.3f})   log p_gaussian = {:8.4f}\n", z,
               lp.item(), t.grad().item(), g.item());
  }
  const double formula = -(std::log1p(std::exp(1.0)) + std::log1p(std::exp(-1.0)));
  L.check(std::fabs(models::prior_log_prob(models::NicePrior::Logistic, full({1, 1}, 1.0, kFloat64)).item() -
                    formula) < 1e-14,
          "log p(z) = −log(1 + e^z) − log(1 + e^−z)");
  Generator gen(4);
  const Tensor draws = models::sample_prior(models::NicePrior::Logistic, 50000, 1, 1.0, gen, kFloat64);
  fmt::print("  50000 draws log u − log(1−u): mean {:.3f}, variance {:.3f} (π²/3 = {:.3f})\n", mean(draws).item(),
             var(draws).item(), std::numbers::pi * std::numbers::pi / 3);
  L.check(std::fabs(var(draws).item() / (std::numbers::pi * std::numbers::pi / 3) - 1) < 0.03,
          "draws by the inverse CDF have the logistic's variance π²/3");
}

// ---------------------------------------------------------------------------
// 12.5 Dequantisation and the units of the likelihood
// ---------------------------------------------------------------------------

void units(lesson::Lesson& L) {
  L.section("12.5 Dequantisation, nats and bits per dimension");
  Generator gen(5);
  const Tensor levels = tensor({0, 1, 128, 255}).reshape({1, 4}) / 255.0;  // k/255 as load_mnist gives
  fmt::print("  levels k = 0, 1, 128, 255 dequantised: {}\n", models::dequantize(levels, gen));
  const double paper = models::bits_per_dim(1980.50, 784);
  fmt::print("  the paper's 1980.50 nats: (−1980.50/784 + log 256)/log 2 = ({:.4f} + {:.4f})/{:.4f} = {:.3f} bits/dim\n",
             -1980.50 / 784, std::log(256.0), std::numbers::ln2, paper);
  fmt::print("  a density of 1 on [0,1)^784 (log p = 0): {:.1f} bits/dim, a uniform guess over the 256 levels\n",
             models::bits_per_dim(0, 784));
  L.check(std::fabs(paper - 4.3556) < 1e-3, "1980.50 nats on [0,1)^784 are 4.36 bits per dimension");
}

// ---------------------------------------------------------------------------
// 12.6 Training, sampling, inpainting
// ---------------------------------------------------------------------------

void training(lesson::Lesson& L) {
  L.section("12.6 Training on MNIST, samples and inpainting");
  const fs::path repo(ZOO_SOURCE_DIR);
  const bool full_data = !L.quick() && fs::exists(repo / "data/mnist/train-images-idx3-ubyte");
  models::NiceOptions o;
  o.model = {.dim = 784, .coupling_layers = 4, .hidden_size = full_data ? 256 : 64, .hidden_layers = 2,
             .prior = "logistic"};
  o.data_dir = full_data ? (repo / "data/mnist").string() : (repo / "tests/data/mnist-mini").string();
  o.epochs = full_data ? 1 : 4;
  o.batch_size = full_data ? 200 : 50;
  o.lr = full_data ? 1e-3 : 1e-2;  // 16 quick steps: Adam moves each log-scale by about lr a step
  o.test_limit = full_data ? 1000 : 0;
  o.out = (fs::temp_directory_path() / "zoo-tutorial-12").string();
  o.quiet = true;
  fs::remove_all(o.out);
  fmt::print("  data: {} ({} epoch{})\n", o.data_dir, o.epochs, o.epochs == 1 ? "" : "s");

  const Tensor test = nn::load_mnist(o.data_dir, false, 0).images;
  manual_seed(o.seed);
  models::Nice untrained(o.model);
  const double before = models::evaluate_nice(untrained, test.narrow(0, 0, std::min<std::int64_t>(1000, test.size(0))))
                            .log_likelihood;
  const models::NiceResult r = models::train_nice(o);
  fmt::print("  test log p(x): {:.1f} nats before, {:.1f} nats ({:.3f} bits/dim) after {} steps in {:.1f} s\n",
             before, r.test_log_likelihood, r.test_bits_per_dim, r.steps, r.seconds);
  L.check(r.test_log_likelihood > before, "maximum likelihood raised the test log-likelihood");

  auto model = models::load_nice(o.out + "/model.safetensors");
  Generator gen(6);
  const Tensor samples = model->sample(16, 1.0, gen);
  L.check(samples.shape() == Shape{16, 784} && all(isfinite(samples)), "samples are f⁻¹(h) for h from the prior");
  const Tensor x = test.narrow(0, 0, 4).reshape({4, 784});
  const Tensor mask = models::inpainting_mask("bottom", 4, 0, gen);
  const Tensor filled = models::inpaint(*model, x, mask, {.steps = L.quick() ? 50 : 300, .step_scale = 10,
                                                          .step_offset = 100, .noise = 1.0, .normalize = true}, gen);
  const Tensor rows = cat({x, where(mask > 0.5, full_like(x, 0.5), x), filled}, 0).reshape({12, 1, 28, 28});
  models::GridOptions grid;
  grid.columns = 4;
  models::save_image_grid(fs::path(o.out) / "inpaint.png", rows, grid);
  fmt::print("  samples: {}/samples.png, inpainting: {}/inpaint.png\n", o.out, o.out);
  L.check(all(where(mask > 0.5, x, filled) == x), "inpainting changed only the missing pixels");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    change_of_variables(L);
    coupling_layer(L);
    whole_flow(L);
    logistic_prior(L);
    units(L);
    training(L);
  });
}
