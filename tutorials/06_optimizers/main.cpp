// Tutorial 06: optimizers. Gradient descent on an ill-conditioned bowl and why it is
// slow; momentum and Nesterov; Adam and AdamW's decoupled weight decay; Muon's
// Newton–Schulz orthogonalisation on a matrix problem; learning-rate schedules;
// gradient clipping; saving and resuming an optimizer. Read README.md alongside.
//
// Run: ./tutorial_06_optimizers   (CTest runs it with --quick; both modes do the same
// work, which takes a tenth of a second; --metrics-dir DIR also writes the loss curves
// for `zoo plot`, as README.md shows)

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/common/metrics.h"
#include "nn/optim/optim.h"

using namespace zoo;
using optim::NamedParameters;

namespace {

// ---------------------------------------------------------------------------
// The problems
// ---------------------------------------------------------------------------

/// The 2×2 rotation by `degrees`.
Tensor rotation(double degrees) {
  const double a = degrees * std::numbers::pi / 180;
  return tensor({{std::cos(a), -std::sin(a)}, {std::sin(a), std::cos(a)}}, kFloat64);
}

/// An elongated bowl f(w) = ½ wᵀHw with H = R diag(μ, L) Rᵀ: curvature μ along one
/// axis, L along the other, both turned by `degrees` so that they are not the
/// coordinate axes. The condition number is κ = L/μ; the minimum is w = 0.
struct Bowl {
  double mu, L;
  Tensor H;
  Bowl(double mu_, double L_, double degrees) : mu(mu_), L(L_) {
    const Tensor R = rotation(degrees);
    H = matmul(matmul(R, tensor({{mu, 0}, {0, L}}, kFloat64)), R.t());
  }
  Tensor loss(const Tensor& w) const { return 0.5 * sum(w * matmul(H, w)); }
};

/// A Householder reflection Q = I − 2vvᵀ/vᵀv: a random orthogonal n×n matrix.
Tensor random_orthogonal(std::int64_t n, std::uint64_t seed) {
  Generator gen(seed);
  const Tensor v = randn({n, 1}, kFloat64, gen);
  return eye(n, -1, kFloat64) - matmul(v, v.t()) * (2.0 / sum(v * v).item());
}

/// A matrix regression with correlated inputs: f(W) = ½ tr((W − W*)ᵀ Σ (W − W*)), the
/// expected squared error of y = xᵀW for inputs x with covariance Σ = Q diag(λ) Qᵀ.
/// The gradient is Σ(W − W*), so directions with small λ barely pull.
struct MatrixRegression {
  Tensor Sigma, W_star;
  explicit MatrixRegression(std::int64_t n) {
    std::vector<double> lambda(n);
    for (std::int64_t i = 0; i < n; ++i)  // from 1 down to 1/100, evenly on a log scale
      lambda[i] = std::pow(0.01, static_cast<double>(i) / static_cast<double>(n - 1));
    const Tensor Q = random_orthogonal(n, 1);
    Sigma = matmul(matmul(Q, from_vector(lambda, {n, 1}) * eye(n, -1, kFloat64)), Q.t());
    Generator gen(2);
    W_star = randn({n, n}, kFloat64, gen);
  }
  Tensor loss(const Tensor& W) const {
    const Tensor E = W - W_star;
    return 0.5 * sum(E * matmul(Sigma, E));
  }
};

/// Runs `steps` optimizer steps on `loss` and returns the loss before each step and after
/// the last (steps + 1 values). A scheduler, if given, is stepped after the optimizer.
std::vector<double> run(optim::Optimizer& opt, const std::function<Tensor()>& loss, int steps,
                        optim::LRScheduler* sched = nullptr) {
  std::vector<double> curve;
  for (int t = 0; t < steps; ++t) {
    opt.zero_grad();
    Tensor l = loss();
    curve.push_back(l.item());
    l.backward();
    opt.step();
    if (sched) sched->step();
  }
  NoGradGuard no_grad;
  curve.push_back(loss().item());
  return curve;
}

/// Prints loss curves side by side at steps 0, 1, 2, 5, 10, 20, 50, ...
void print_curves(const std::vector<std::pair<std::string, std::vector<double>>>& curves) {
  fmt::print("{:>6}", "step");
  for (const auto& [name, c] : curves) fmt::print(" {:>12}", name);
  fmt::print("\n");
  const std::size_t last = curves.front().second.size() - 1;
  std::vector<std::size_t> rows;
  for (std::size_t decade = 1; decade <= last; decade *= 10)
    for (std::size_t k : {1, 2, 5})
      if (k * decade <= last) rows.push_back(k * decade);
  rows.insert(rows.begin(), 0);
  if (rows.back() != last) rows.push_back(last);
  for (std::size_t t : rows) {
    fmt::print("{:>6}", t);
    for (const auto& [name, c] : curves) fmt::print(" {:>12.4e}", c[t]);
    fmt::print("\n");
  }
}

/// With `--metrics-dir DIR`: each curve as `DIR/<section>/<name>/metrics.jsonl` (spaces in
/// the name become dashes), one record {"step": t, "loss": f} per step, for `zoo plot` to
/// draw (the charts in README.md were drawn so).
void save_curves(const lesson::Lesson& lesson, const std::string& section,
                 const std::vector<std::pair<std::string, std::vector<double>>>& curves) {
  if (lesson.metrics_dir().empty()) return;
  for (const auto& [name, curve] : curves) {
    std::string folder = name;
    std::replace(folder.begin(), folder.end(), ' ', '-');
    models::MetricsWriter metrics((std::filesystem::path(lesson.metrics_dir()) / section / folder).string());
    for (std::size_t t = 0; t < curve.size(); ++t) metrics.write({{"step", t}, {"loss", curve[t]}});
  }
}

/// The rate per step of a curve of losses: (f_T / f_0)^(1/2T), how much the distance to
/// the minimum shrinks per step (the loss is quadratic in that distance).
double rate(const std::vector<double>& curve) {
  const double T = static_cast<double>(curve.size() - 1);
  return std::pow(curve.back() / curve.front(), 1.0 / (2 * T));
}

Tensor start_point() { return tensor({1.0, 1.0}, kFloat64).requires_grad_(); }

// ---------------------------------------------------------------------------
// 6.1 Gradient descent on an elongated bowl
// ---------------------------------------------------------------------------
void gradient_descent(lesson::Lesson& lesson, const Bowl& bowl) {
  lesson.section("6.1 Gradient descent on an elongated bowl");
  fmt::print("f(w) = ½ wᵀHw with eigenvalues μ = {} and L = {} (κ = {}), turned by 30°\n", bowl.mu,
             bowl.L, bowl.L / bowl.mu);
  fmt::print("H = {}\n\n", bowl.H);

  const int steps = 50;
  std::vector<std::pair<std::string, std::vector<double>>> curves;
  // The best constant step for gradient descent is η = 2/(μ + L): it shrinks the error
  // along both eigenvectors by the same factor (κ − 1)/(κ + 1) per step.
  for (double lr : {0.02, 2 / (bowl.mu + bowl.L), 0.081}) {
    Tensor w = start_point();
    optim::SGD opt({w}, optim::SGDOptions(lr));
    curves.emplace_back(fmt::format("η={:.4f}", lr), run(
                                                         opt, [&] { return bowl.loss(w); }, steps));
  }
  print_curves(curves);
  save_curves(lesson, "6.1-gradient-descent", curves);

  const double kappa = bowl.L / bowl.mu, best = (kappa - 1) / (kappa + 1);
  const double measured = rate(curves[1].second);
  fmt::print("\nwith η = 2/(μ+L): error shrinks by {:.6f} per step; (κ−1)/(κ+1) = {:.6f}\n",
             measured, best);
  lesson.check(std::fabs(measured - best) < 1e-9,
               "gradient descent with η = 2/(μ+L) converges at exactly (κ−1)/(κ+1) per step");
  lesson.check(curves[2].second.back() > curves[2].second.front(),
               "η = 0.081 > 2/L = 0.08 diverges: the steep direction overshoots more each step");
}

// ---------------------------------------------------------------------------
// 6.2 Momentum and Nesterov
// ---------------------------------------------------------------------------
void momentum(lesson::Lesson& lesson, const Bowl& bowl) {
  lesson.section("6.2 Momentum and Nesterov");
  const int steps = 50;
  const double kappa = bowl.L / bowl.mu, sk = std::sqrt(kappa);
  // Polyak's tuning of the heavy ball for a quadratic with curvatures in [μ, L].
  const double hb_lr = 4 / std::pow(std::sqrt(bowl.L) + std::sqrt(bowl.mu), 2);
  const double hb_mu = std::pow((sk - 1) / (sk + 1), 2);
  fmt::print("heavy ball: η = 4/(√L+√μ)² = {:.4f}, momentum = ((√κ−1)/(√κ+1))² = {:.4f}\n", hb_lr,
             hb_mu);

  auto curve_of = [&](optim::SGDOptions options) {
    Tensor w = start_point();
    optim::SGD opt({w}, options);
    return run(
        opt, [&] { return bowl.loss(w); }, steps);
  };
  const std::vector<std::pair<std::string, std::vector<double>>> curves = {
      {"GD", curve_of(optim::SGDOptions(2 / (bowl.mu + bowl.L)))},
      {"momentum 0.9", curve_of(optim::SGDOptions(2 / (bowl.mu + bowl.L)).momentum(0.9))},
      {"heavy ball", curve_of(optim::SGDOptions(hb_lr).momentum(hb_mu))},
      {"Nesterov",
       curve_of(optim::SGDOptions(1 / bowl.L).momentum((sk - 1) / (sk + 1)).nesterov(true))},
  };
  print_curves(curves);
  save_curves(lesson, "6.2-momentum", curves);
  fmt::print(
      "\nrate per step: GD {:.4f}, heavy ball {:.4f} (theory (√κ−1)/(√κ+1) = {:.4f}), "
      "Nesterov {:.4f}\n",
      rate(curves[0].second), rate(curves[2].second), (sk - 1) / (sk + 1), rate(curves[3].second));
  lesson.check(curves[2].second.back() < 1e-10 * curves[0].second.back(),
               "after 50 steps the tuned heavy ball is 10 orders of magnitude ahead of GD");
  lesson.check(rate(curves[2].second) < 0.75, "heavy ball's rate is near (√κ−1)/(√κ+1) = 2/3");
  lesson.check(rate(curves[3].second) < 0.85, "Nesterov with η = 1/L converges at about 1 − 1/√κ");
}

// ---------------------------------------------------------------------------
// 6.3 Adam and AdamW
// ---------------------------------------------------------------------------
void adam(lesson::Lesson& lesson, const Bowl& bowl) {
  lesson.section("6.3 Adam, and AdamW's decoupled weight decay");
  const int steps = 200;
  auto curve_of = [&](double lr, double scale) {
    Tensor w = start_point();
    optim::Adam opt({w}, optim::AdamOptions(lr));
    std::vector<double> c = run(
        opt, [&] { return bowl.loss(w) * scale; }, steps);
    for (double& x : c) x /= scale;  // report f itself
    return c;
  };
  const std::vector<std::pair<std::string, std::vector<double>>> curves = {
      {"η=0.1", curve_of(0.1, 1)},
      {"η=0.05", curve_of(0.05, 1)},
      {"η=0.05 1000f", curve_of(0.05, 1000)},
      {"η=0.01", curve_of(0.01, 1)},
  };
  print_curves(curves);
  save_curves(lesson, "6.3-adam", curves);
  double gap = 0;  // the largest relative difference between f and 1000·f's paths
  for (int t = 0; t <= 50; ++t)
    gap = std::max(gap, std::fabs(curves[2].second[t] / curves[1].second[t] - 1));
  fmt::print("\nlargest relative difference of the losses on f and 1000·f, steps 0..50: {:.1e}\n",
             gap);
  lesson.check(gap < 1e-6, "Adam takes the same path on 1000·f as on f (up to the effect of ε)");
  lesson.check(curves[1].second.back() < 1e-6 * curves[1].second.front(),
               "Adam with η = 0.05 brings the loss down a million times in 200 steps");

  // The first step: m̂ = g and v̂ = g², so the step is η·g/|g| = η·sign(g) in every coordinate.
  Tensor w = start_point();
  optim::Adam opt({w}, optim::AdamOptions(0.05));
  bowl.loss(w).backward();
  const Tensor g = w.grad().clone();
  opt.step();
  fmt::print("\nfirst Adam step, η = 0.05, from (1, 1): gradient {}  ->  w = {}\n", g, w);
  lesson.check(allclose(w.detach(), tensor({1.0, 1.0}, kFloat64) - sign(g) * 0.05, 0, 1e-8),
               "Adam's first step moves each coordinate by η against its gradient's sign");

  // Weight decay: with no loss at all, only the decay acts on w.
  fmt::print("\nno loss, only weight decay λ, 20 steps of η = 0.1 from w = 1:\n");
  fmt::print("{:>8} {:>14} {:>14}\n", "λ", "Adam (L2)", "AdamW");
  std::map<double, std::pair<double, double>> after;
  for (double lambda : {0.01, 0.1, 1.0}) {
    Tensor a = tensor({1.0}, kFloat64).requires_grad_(),
           b = tensor({1.0}, kFloat64).requires_grad_();
    optim::Adam l2({a}, optim::AdamOptions(0.1).weight_decay(lambda));
    optim::AdamW decoupled({b}, optim::AdamWOptions(0.1).weight_decay(lambda));
    for (int t = 0; t < 20; ++t) {
      a.set_grad(zeros({1}, kFloat64));  // ∇ of a zero loss
      b.set_grad(zeros({1}, kFloat64));
      l2.step();
      decoupled.step();
    }
    after[lambda] = {a.item(), b.item()};
    fmt::print("{:>8} {:>14.6f} {:>14.6f}\n", lambda, a.item(), b.item());
  }
  lesson.check(std::fabs(after[0.01].first - after[1.0].first) < 1e-6,
               "with Adam, L2 decay of any strength moves w the same way: Adam divides it out");
  lesson.check(std::fabs(after[0.1].second - std::pow(1 - 0.1 * 0.1, 20)) < 1e-12,
               "AdamW shrinks w by (1 − ηλ) per step, as asked");
}

// ---------------------------------------------------------------------------
// 6.4 Muon: orthogonalised momentum
// ---------------------------------------------------------------------------
void newton_schulz(lesson::Lesson& lesson) {
  lesson.section("6.4 Newton–Schulz: every singular value to about 1");
  // G = P diag(s) Qᵀ with known orthogonal P, Q: then Pᵀ X Q shows X's singular values
  // on its diagonal, if X keeps G's singular vectors.
  const Tensor P = random_orthogonal(4, 3), Q = random_orthogonal(4, 4);
  const std::vector<double> s = {3.0, 1.0, 0.3, 0.03};
  const Tensor G = matmul(matmul(P, from_vector(s, {4, 1}) * eye(4, -1, kFloat64)), Q.t());

  // The same iteration on the numbers alone: σ ← aσ + bσ³ + cσ⁵ from σ / ‖s‖.
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  std::vector<double> sigma = s;
  const double norm = std::sqrt(9.0 + 1.0 + 0.09 + 0.0009);
  for (double& x : sigma) x /= norm + 1e-7;

  fmt::print("{:>5}  {:<40} {:<40} {}\n", "steps", "diag(Pᵀ X Q)", "p applied to the numbers",
             "max |off-diagonal|");
  bool same = true;
  for (int k = 0; k <= 5; ++k) {
    const Tensor X = optim::zeropower_via_newtonschulz5(G, k);
    const Tensor D = matmul(matmul(P.t(), X), Q);
    std::vector<double> diag;
    double off = 0;
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = 0; j < 4; ++j) {
        if (i == j)
          diag.push_back(D.at<double>({i, j}));
        else
          off = std::max(off, std::fabs(D.at<double>({i, j})));
      }
    fmt::print("{:>5}  {:<40} {:<40} {:.1e}\n", k, fmt::format("{::.4f}", diag),
               fmt::format("{::.4f}", sigma), off);
    for (std::size_t i = 0; i < 4; ++i) same = same && std::fabs(diag[i] - sigma[i]) < 1e-9;
    same = same && off < 1e-9;
    for (double& x : sigma) x = a * x + b * x * x * x + c * x * x * x * x * x;
  }
  lesson.check(same,
               "Newton–Schulz keeps the singular vectors and maps each singular value "
               "through p(σ) = aσ + bσ³ + cσ⁵");
  const Tensor D = matmul(matmul(P.t(), optim::zeropower_via_newtonschulz5(G, 5)), Q);
  bool in_band = true;
  for (std::int64_t i = 0; i < 4; ++i)
    in_band = in_band && D.at<double>({i, i}) > 0.68 && D.at<double>({i, i}) < 1.21;
  lesson.check(in_band,
               "after 5 steps singular values from 3 down to 0.03 all lie in [0.68, 1.21]");
}

void muon(lesson::Lesson& lesson, int steps) {
  lesson.section("6.5 Muon");
  // Which parameters Muon takes: the 2-D ones, except those marked for AdamW.
  const NamedParameters model = {
      {"embed.weight", zeros({10, 4}, kFloat64).requires_grad_()},
      {"hidden.weight", zeros({4, 4}, kFloat64).requires_grad_()},
      {"hidden.bias", zeros({4}, kFloat64).requires_grad_()},
      {"head.weight", zeros({10, 4}, kFloat64).requires_grad_()},
  };
  optim::Muon opt(model,
                  optim::MuonOptions(0.02)               // Muon's lr
                      .adamw(optim::AdamWOptions(3e-4))  // the AdamW half
                      .adamw_params({"embed.weight", "head.weight"}));
  for (std::size_t i = 0; i < model.size(); ++i)
    fmt::print("  {:<14} {:<8} -> {}\n", model[i].first, fmt::format("{}", model[i].second.shape()),
               opt.uses_muon(i) ? "Muon" : "AdamW");
  lesson.check(opt.uses_muon(1) && !opt.uses_muon(0) && !opt.uses_muon(2) && !opt.uses_muon(3),
               "only the hidden weight matrix goes to Muon");
  fmt::print("\nMuon on a matrix regression with correlated inputs:\n");
  const MatrixRegression problem(8);
  // One run: the loss curve of `make`'s optimizer, with a cosine schedule if asked.
  auto curve_of = [&](auto make, double lr, bool cosine, double scale = 1.0) {
    Tensor W = zeros({8, 8}, kFloat64).requires_grad_();
    auto opt = make(W, lr);
    std::unique_ptr<optim::LRScheduler> sched;
    if (cosine) sched = std::make_unique<optim::CosineAnnealingLR>(*opt, steps);
    return run(
        *opt, [&] { return problem.loss(W) * scale; }, steps, sched.get());
  };
  auto sgd = [](Tensor W, double lr) {
    return std::make_unique<optim::SGD>(std::vector<Tensor>{W},
                                        optim::SGDOptions(lr).momentum(0.9));
  };
  auto adam = [](Tensor W, double lr) {
    return std::make_unique<optim::Adam>(std::vector<Tensor>{W}, optim::AdamOptions(lr));
  };
  auto muon = [](Tensor W, double lr) {
    return std::make_unique<optim::Muon>(std::vector<Tensor>{W}, optim::MuonOptions(lr));
  };

  // A fair comparison needs each optimizer at its best learning rate: sweep them.
  fmt::print("final loss after {} steps with a cosine schedule, by learning rate:\n", steps);
  fmt::print("{:>8} {:>12} {:>12} {:>12}\n", "lr", "SGD+mom", "Adam", "Muon");
  std::map<std::string, std::pair<double, double>> best;  // name -> (loss, lr)
  for (double lr : {0.01, 0.03, 0.1, 0.3, 1.0, 1.5}) {
    const double s = curve_of(sgd, lr, true).back(), a = curve_of(adam, lr, true).back();
    const double m = curve_of(muon, lr, true).back();
    fmt::print("{:>8} {:>12.4e} {:>12.4e} {:>12.4e}\n", lr, s, a, m);
    for (auto [name, loss] : {std::pair{"SGD+mom", s}, {"Adam", a}, {"Muon", m}})
      if (!best.count(name) || loss < best[name].first) best[name] = {loss, lr};
  }
  fmt::print("\n");
  const std::vector<std::pair<std::string, std::vector<double>>> curves = {
      {"SGD+mom", curve_of(sgd, best["SGD+mom"].second, true)},
      {"Adam", curve_of(adam, best["Adam"].second, true)},
      {"Muon", curve_of(muon, best["Muon"].second, true)},
      {"Muon const", curve_of(muon, best["Muon"].second, false)},
  };
  print_curves(curves);
  save_curves(lesson, "6.5-muon", curves);
  lesson.check(curves[2].second.back() < 0.01 * curves[3].second.back(),
               "annealing Muon's learning rate with a cosine schedule lowers its final loss 100x");
  lesson.check(
      best["SGD+mom"].first < best["Muon"].first && best["Adam"].first < best["Muon"].first,
      "on this small noiseless quadratic, tuned SGD+momentum and Adam end below Muon");
  const std::vector<double> scaled = curve_of(muon, best["Muon"].second, true, 1000.0);
  double gap = 0;
  for (int t = 0; t <= 5; ++t)
    gap = std::max(gap, std::fabs(scaled[t] / 1000 / curves[2].second[t] - 1));
  fmt::print(
      "\nlargest relative difference of Muon's losses on f and 1000·f, steps 0..5: {:.1e}\n"
      "after 50 steps: {:.4e} vs {:.4e}; after {}: {:.4e} vs {:.4e}\n",
      gap, curves[2].second[50], scaled[50] / 1000, steps, curves[2].second.back(),
      scaled.back() / 1000);
  lesson.check(
      gap < 1e-6,
      "Muon's steps do not depend on the gradient's scale: 1000·f gives the same first steps");
}

// ---------------------------------------------------------------------------
// 6.6 Learning-rate schedules
// ---------------------------------------------------------------------------
void schedules(lesson::Lesson& lesson) {
  lesson.section("6.6 Learning-rate schedules");
  const int T = 100;
  // Each schedule drives its own optimizer (a schedule sets its optimizer's lr).
  std::vector<std::unique_ptr<optim::SGD>> opts;
  std::vector<Tensor> ws;
  auto make_opt = [&]() -> optim::SGD& {
    ws.push_back(zeros({1}, kFloat64).requires_grad_());
    opts.push_back(
        std::make_unique<optim::SGD>(std::vector<Tensor>{ws.back()}, optim::SGDOptions(0.1)));
    return *opts.back();
  };
  std::vector<std::pair<std::string, std::unique_ptr<optim::LRScheduler>>> scheds;
  scheds.emplace_back("StepLR", std::make_unique<optim::StepLR>(make_opt(), 30, 0.1));
  scheds.emplace_back("Cosine", std::make_unique<optim::CosineAnnealingLR>(make_opt(), T));
  scheds.emplace_back("Warmup", std::make_unique<optim::LinearWarmup>(make_opt(), 10));
  scheds.emplace_back("WarmupCos", std::make_unique<optim::WarmupCosine>(make_opt(), 10, T, 0.001));
  scheds.emplace_back("OneCycle", std::make_unique<optim::OneCycleLR>(make_opt(), 0.1, T));

  fmt::print("{:>5}", "step");
  for (const auto& [name, s] : scheds) fmt::print(" {:>10}", name);
  fmt::print("\n");
  for (int t = 0; t <= T; ++t) {
    if (t % 10 == 0 || t == 5 || t == 29 || t == 99) {
      fmt::print("{:>5}", t);
      for (const auto& [name, s] : scheds) fmt::print(" {:>10.6f}", s->get_last_lr());
      fmt::print("\n");
    }
    if (t < T)
      for (auto& [name, s] : scheds) s->step();
  }
  // After T steps, each value against its closed form at t = T.
  lesson.check(std::fabs(scheds[0].second->get_last_lr() - 0.1 * std::pow(0.1, 3)) < 1e-15,
               "StepLR at 100 = 0.1 · 0.1^⌊100/30⌋ = 1e-4");
  lesson.check(std::fabs(scheds[1].second->get_last_lr()) < 1e-15,
               "Cosine reaches η_min = 0 at T_max");
  lesson.check(scheds[2].second->lr_at(5) == 0.05, "LinearWarmup is halfway at step 5 of 10");
  lesson.check(std::fabs(scheds[4].second->lr_at(29) - 0.1) < 1e-15 &&
                   std::fabs(scheds[4].second->lr_at(0) - 0.1 / 25) < 1e-15,
               "OneCycle starts at max_lr/25 and peaks at step 0.3·100 − 1 = 29");
  lesson.check(opts[3]->lr() == scheds[3].second->get_last_lr(),
               "a schedule writes its value into the optimizer's lr");
}

// ---------------------------------------------------------------------------
// 6.7 Gradient clipping
// ---------------------------------------------------------------------------
void clipping(lesson::Lesson& lesson) {
  lesson.section("6.7 Gradient clipping");
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({2, 2}, kFloat64).requires_grad_();
  a.set_grad(tensor({3, 4}, kFloat64));
  b.set_grad(tensor({{0, 0}, {12, 0}}, kFloat64));
  const double total = optim::clip_grad_norm_({a, b}, 5.0);
  fmt::print("gradients (3, 4) and ((0, 0), (12, 0)): total norm {}\n", total);
  fmt::print("after clip_grad_norm_(max_norm = 5): a.grad = {}\n", a.grad());
  const double after = std::sqrt(sum(a.grad() * a.grad()).item() + sum(b.grad() * b.grad()).item());
  lesson.check(total == 13.0, "clip_grad_norm_ returns the norm before clipping, √(9+16+144) = 13");
  lesson.check(std::fabs(after - 5.0) < 1e-5, "after clipping the total norm is 5");
}

// ---------------------------------------------------------------------------
// 6.8 Saving and resuming
// ---------------------------------------------------------------------------
void resume(lesson::Lesson& lesson, const Bowl& bowl) {
  lesson.section("6.8 Saving and resuming an optimizer");
  Tensor w = start_point();
  optim::Adam opt({{"w", w}}, optim::AdamOptions(0.05).amsgrad(true));
  run(
      opt, [&] { return bowl.loss(w); }, 10);
  const nn::StateDict saved = opt.state_dict();
  for (const auto& [name, t] : saved) fmt::print("  {:<20} {}\n", name, t);

  Tensor w2 = w.detach().clone().requires_grad_();
  optim::Adam resumed({{"w", w2}}, optim::AdamOptions(0.05).amsgrad(true));
  resumed.load_state_dict(saved);
  run(
      opt, [&] { return bowl.loss(w); }, 10);
  run(
      resumed, [&] { return bowl.loss(w2); }, 10);
  fmt::print("after 10 more steps: original {}   resumed {}\n", w, w2);
  lesson.check(w.detach().to_vector<double>() == w2.detach().to_vector<double>(),
               "the resumed optimizer continues bit for bit");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    const Bowl bowl(1.0, 25.0, 30.0);
    gradient_descent(lesson, bowl);
    momentum(lesson, bowl);
    adam(lesson, bowl);
    newton_schulz(lesson);
    muon(lesson, 200);
    schedules(lesson);
    clipping(lesson);
    resume(lesson, bowl);
  });
}
