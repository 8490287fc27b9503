// Optimizers: SGD, Adam and AdamW checked against their equations written out by hand
// (plain doubles, no zoo ops); state_dict round trips (Muon included), errors, gradient
// clipping, and optimizers that really minimise a least-squares loss. Muon's maths is in
// test_muon.cpp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "nn/optim/optim.h"
#include "optim_test_util.h"

using namespace zoo;
using namespace zoo::optim;
using Catch::Matchers::Contains;
using namespace zoo::optim_test;

namespace {

/// A copy of `state` without `key` (StateDict has no erase).
nn::StateDict without(const nn::StateDict& state, const std::string& key) {
  nn::StateDict out;
  for (const auto& [k, t] : state)
    if (k != key) out.insert(k, t);
  return out;
}
/// A copy of `state` with `key`'s tensor replaced.
nn::StateDict replaced(const nn::StateDict& state, const std::string& key, const Tensor& t) {
  nn::StateDict out;
  for (const auto& [k, v] : state) out.insert(k, k == key ? t : v);
  return out;
}

}  // namespace

// ===========================================================================
// SGD
// ===========================================================================

TEST_CASE("SGD follows its update equations over 3 steps", "[optim]") {
  struct Case {
    const char* name;
    double momentum, dampening;
    bool nesterov;
    double weight_decay;
  };
  const Case cases[] = {
      {"plain", 0, 0, false, 0},          {"momentum", 0.9, 0, false, 0},
      {"dampening", 0.9, 0.3, false, 0},  {"nesterov", 0.9, 0, true, 0},
      {"weight decay", 0, 0, false, 0.1}, {"everything", 0.8, 0, true, 0.05},
  };
  const double lr = 0.1;
  for (const Case& k : cases) {
    DYNAMIC_SECTION(k.name) {
      Tensor w = param(kW0, {4});
      SGD opt({w}, SGDOptions(lr)
                       .momentum(k.momentum)
                       .dampening(k.dampening)
                       .nesterov(k.nesterov)
                       .weight_decay(k.weight_decay));
      Vec wr = kW0, b(4, 0.0);
      for (int t = 1; t <= 3; ++t) {
        opt.zero_grad();
        quadratic_backward({w});
        opt.step();
        // By hand: g ← g + λw; b₁ = g, b ← μb + (1−τ)g; d = g + μb (Nesterov) or b; w ← w − ηd.
        Vec g = quadratic_grad(wr);
        for (std::size_t i = 0; i < 4; ++i) {
          g[i] += k.weight_decay * wr[i];
          double d = g[i];
          if (k.momentum != 0) {
            b[i] = t == 1 ? g[i] : k.momentum * b[i] + (1 - k.dampening) * g[i];
            d = k.nesterov ? g[i] + k.momentum * b[i] : b[i];
          }
          wr[i] -= lr * d;
        }
        INFO("step " << t);
        require_values(w, wr);
      }
      REQUIRE(opt.step_count() == 3);
      REQUIRE(opt.param_state(0).step == 3);
    }
  }
}

TEST_CASE("SGD's first step: the momentum buffer starts as the gradient, undamped", "[optim]") {
  // One element: f = ½·0.5·w² − 0.4w, so at w = 1 the gradient is 0.1.
  Tensor w = param({1.0}, {1});
  SGD opt({w}, SGDOptions(1.0).momentum(0.9).dampening(0.5));
  quadratic_backward({w});
  opt.step();
  // b₁ = g₁ = 0.1 (not (1 − 0.5)·0.1): w = 1 − 0.1.
  require_values(w, {0.9});
  require_values(opt.state_dict().at("0.momentum_buffer"), {0.1});
}

// ===========================================================================
// Adam, AdamW
// ===========================================================================

namespace {

/// Adam / AdamW by hand over 3 steps, compared with zoo after each step.
void check_adam_by_hand(Optimizer& opt, Tensor w, double lr, double beta1, double beta2, double eps,
                        double weight_decay, bool decoupled, bool amsgrad) {
  Vec wr = values(w), m(4, 0.0), v(4, 0.0), vmax(4, 0.0);
  for (int t = 1; t <= 3; ++t) {
    opt.zero_grad();
    quadratic_backward({w});
    opt.step();
    Vec g = quadratic_grad(wr);
    for (std::size_t i = 0; i < 4; ++i) {
      if (decoupled)
        wr[i] *= 1 - lr * weight_decay;  // AdamW: w ← w − ηλw
      else
        g[i] += weight_decay * wr[i];  // Adam: g ← g + λw
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      vmax[i] = std::max(vmax[i], v[i]);
      const double m_hat = m[i] / (1 - std::pow(beta1, t));
      const double v_hat = (amsgrad ? vmax[i] : v[i]) / (1 - std::pow(beta2, t));
      wr[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
    INFO("step " << t);
    require_values(w, wr);
  }
}

}  // namespace

TEST_CASE("Adam follows its update equations over 3 steps", "[optim]") {
  SECTION("defaults") {
    Tensor w = param(kW0, {4});
    Adam opt({w}, AdamOptions(0.1));
    check_adam_by_hand(opt, w, 0.1, 0.9, 0.999, 1e-8, 0, false, false);
  }
  SECTION("L2 weight decay, other betas and eps") {
    Tensor w = param(kW0, {4});
    Adam opt({w}, AdamOptions(0.05).betas({0.8, 0.9}).eps(1e-3).weight_decay(0.2));
    check_adam_by_hand(opt, w, 0.05, 0.8, 0.9, 1e-3, 0.2, false, false);
  }
  SECTION("AMSGrad") {
    // β₂ = 0.5 and a large step make v shrink in places, so max(v̂, v) matters.
    Tensor w = param(kW0, {4});
    Adam opt({w}, AdamOptions(0.5).betas({0.9, 0.5}).amsgrad(true));
    check_adam_by_hand(opt, w, 0.5, 0.9, 0.5, 1e-8, 0, false, true);
    // ...and AMSGrad really changed the result.
    Tensor w2 = param(kW0, {4});
    Adam plain({w2}, AdamOptions(0.5).betas({0.9, 0.5}));
    for (int t = 0; t < 3; ++t) {
      plain.zero_grad();
      quadratic_backward({w2});
      plain.step();
    }
    REQUIRE_FALSE(allclose(w.detach(), w2.detach(), 1e-6, 0));
  }
}

TEST_CASE("AdamW decays the weights directly before the Adam step", "[optim]") {
  SECTION("decoupled decay") {
    Tensor w = param(kW0, {4});
    AdamW opt({w}, AdamWOptions(0.1).weight_decay(0.3));
    check_adam_by_hand(opt, w, 0.1, 0.9, 0.999, 1e-8, 0.3, true, false);
  }
  SECTION("PyTorch's default weight decay, 0.01, and AMSGrad") {
    Tensor w = param(kW0, {4});
    AdamW opt({w}, AdamWOptions(0.1).amsgrad(true));
    REQUIRE(opt.options().weight_decay() == 0.01);
    check_adam_by_hand(opt, w, 0.1, 0.9, 0.999, 1e-8, 0.01, true, true);
  }
  SECTION("Adam and AdamW differ with the same decay") {
    Tensor w1 = param(kW0, {4}), w2 = param(kW0, {4});
    Adam adam({w1}, AdamOptions(0.1).weight_decay(0.3));
    AdamW adamw({w2}, AdamOptions(0.1).weight_decay(0.3));
    REQUIRE(adamw.name() == "AdamW");
    quadratic_backward({w1});
    quadratic_backward({w2});
    adam.step();
    adamw.step();
    REQUIRE_FALSE(allclose(w1.detach(), w2.detach(), 1e-6, 0));
  }
}

TEST_CASE("Adam's state holds the moments under PyTorch's names", "[optim]") {
  Tensor w = param(kW0, {2, 2});
  Adam opt({{"layer.weight", w}}, AdamOptions(0.1).amsgrad(true));
  quadratic_backward({w});
  opt.step();
  const nn::StateDict s = opt.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, t] : s) keys.push_back(k);
  REQUIRE(keys == std::vector<std::string>{"step", "lr", "layer.weight.step",
                                           "layer.weight.exp_avg", "layer.weight.exp_avg_sq",
                                           "layer.weight.max_exp_avg_sq"});
  REQUIRE(s.at("step").dtype() == kInt64);
  REQUIRE(s.at("step").dim() == 0);
  REQUIRE(s.at("lr").dtype() == kFloat64);
  REQUIRE(s.at("lr").item() == 0.1);
  // After one step m = (1 − β₁)g and v = (1 − β₂)g².
  const Vec g = quadratic_grad(kW0);
  Vec m(4), v(4);
  for (std::size_t i = 0; i < 4; ++i) m[i] = 0.1 * g[i], v[i] = 0.001 * g[i] * g[i];
  require_values(s.at("layer.weight.exp_avg"), m);
  require_values(s.at("layer.weight.exp_avg_sq"), v, 1e-9);
  REQUIRE(s.at("layer.weight.exp_avg").shape() == Shape{2, 2});
}

TEST_CASE("Adam works on float32 parameters, with float32 state", "[optim]") {
  Tensor w = from_vector(std::vector<float>{1, -2, 0.5f, 3}, {4}).requires_grad_();
  Adam opt({w}, AdamOptions(0.1));
  sum(w * w).backward();
  opt.step();
  REQUIRE(w.dtype() == kFloat32);
  REQUIRE(opt.state_dict().at("0.exp_avg").dtype() == kFloat32);
  // The first Adam step moves every coordinate by about η against the gradient's sign.
  const std::vector<float> got = w.detach().to_vector<float>();
  const std::vector<float> expected = {0.9f, -1.9f, 0.4f, 2.9f};
  for (std::size_t i = 0; i < 4; ++i) REQUIRE(std::fabs(got[i] - expected[i]) < 1e-5);
}

TEST_CASE("the fused Adam pass equals the tensor-op reference, every option and dtype",
          "[optim]") {
  // Random parameters and gradients: every sign and scale the single-pass loop meets.
  auto run = [](DType dtype, const AdamOptions& o, bool fused) {
    Generator gen(7);
    Tensor p = randn({33, 17}, dtype, gen);
    ParamState state;
    init_adam_state(p, o, state.buffers);
    for (int t = 1; t <= 5; ++t) {
      state.step = t;
      const Tensor g = randn({33, 17}, dtype, gen) * (t % 2 ? 1.0 : 0.01);
      if (fused)
        adam_update(p, g, state, o, 0.05);
      else
        adam_update_reference(p, g, state, o, 0.05);
    }
    return p.to(kFloat64);
  };
  const std::vector<AdamOptions> options = {
      AdamOptions(), AdamOptions().weight_decay(0.1), AdamWOptions().weight_decay(0.1),
      AdamOptions().betas({0.8, 0.5}).eps(1e-3).amsgrad(true)};
  for (const AdamOptions& o : options) {
    REQUIRE(allclose(run(kFloat64, o, true), run(kFloat64, o, false), 1e-12, 1e-12));
    REQUIRE(allclose(run(kFloat32, o, true), run(kFloat32, o, false), 1e-5, 1e-6));
  }
  // A parameter BLAS-transposed (not contiguous) takes the reference path and agrees.
  Generator gen(3);
  Tensor a = randn({4, 3}, kFloat64, gen);
  Tensor b = a.t().contiguous().t();
  ParamState sa, sb;
  init_adam_state(a, AdamOptions(), sa.buffers);
  init_adam_state(b, AdamOptions(), sb.buffers);
  sa.step = sb.step = 1;
  const Tensor g = ones({4, 3}, kFloat64);
  adam_update(a, g, sa, AdamOptions(), 0.1);
  adam_update(b, g, sb, AdamOptions(), 0.1);
  REQUIRE_FALSE(b.is_contiguous());
  REQUIRE(allclose(a, b, 1e-15, 0));
}

// ===========================================================================
// Shared behaviour: skipping, zero_grad, state_dict, errors
// ===========================================================================

TEST_CASE("a parameter without a gradient is skipped", "[optim]") {
  Tensor w = param(kW0, {4}), unused = param({1, 2}, {2});
  Adam opt({{"w", w}, {"unused", unused}}, AdamOptions(0.1));
  quadratic_backward({w});
  REQUIRE_FALSE(unused.grad().defined());
  opt.step();
  require_values(unused, {1, 2});
  REQUIRE(opt.param_state(1).step == 0);
  REQUIRE(opt.param_state(0).step == 1);
  REQUIRE_FALSE(opt.state_dict().contains("unused.step"));
  REQUIRE(opt.state_dict().contains("w.step"));
}

TEST_CASE("zero_grad clears or zeroes the gradients", "[optim]") {
  Tensor w = param(kW0, {4});
  SGD opt({w}, SGDOptions(0.1));
  quadratic_backward({w});
  opt.zero_grad(/*set_to_none=*/false);
  REQUIRE(w.grad().defined());
  require_values(w.grad(), {0, 0, 0, 0});
  opt.zero_grad();
  REQUIRE_FALSE(w.grad().defined());
}

namespace {

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const NamedParameters&)>;

NamedParameters fresh_params(const std::vector<Vec>& values, const std::vector<Shape>& shapes) {
  NamedParameters ps;
  for (std::size_t i = 0; i < values.size(); ++i)
    ps.emplace_back(fmt::format("p{}.weight", i), param(values[i], shapes[i]));
  return ps;
}

void train(Optimizer& opt, int steps) {
  std::vector<Tensor> ps;
  for (const auto& [name, p] : opt.parameters()) ps.push_back(p);
  for (int t = 0; t < steps; ++t) {
    opt.zero_grad();
    quadratic_backward(ps);
    opt.step();
  }
}

}  // namespace

TEST_CASE("state_dict -> load_state_dict continues bit-identically", "[optim]") {
  const std::vector<Vec> v0 = {{0.5, -1.0, 2.0, 0.3, -0.7, 1.2}, {1.0, -2.0, 0.5}};
  const std::vector<Shape> shapes = {{2, 3}, {3}};
  const std::pair<const char*, MakeOptimizer> makers[] = {
      {"SGD",
       [](const NamedParameters& p) {
         return std::make_unique<SGD>(p, SGDOptions(0.05).momentum(0.9).nesterov(true));
       }},
      {"Adam",
       [](const NamedParameters& p) {
         return std::make_unique<Adam>(p, AdamOptions(0.05).amsgrad(true).weight_decay(0.1));
       }},
      {"AdamW",
       [](const NamedParameters& p) { return std::make_unique<AdamW>(p, AdamWOptions(0.05)); }},
      {"Muon",
       [](const NamedParameters& p) {
         return std::make_unique<Muon>(p, MuonOptions(0.05).adamw(AdamWOptions(0.01)));
       }},
  };
  for (const auto& [name, make] : makers) {
    DYNAMIC_SECTION(name) {
      // A trains 3 steps, with a changed lr, and saves its state.
      NamedParameters pa = fresh_params(v0, shapes);
      auto a = make(pa);
      train(*a, 3);
      a->set_lr(0.03);
      const nn::StateDict saved = a->state_dict();

      // B: the same parameter values, a fresh optimizer, the saved state.
      NamedParameters pb;
      for (const auto& [n, p] : pa) pb.emplace_back(n, p.detach().clone().requires_grad_());
      auto b = make(pb);
      b->load_state_dict(saved);
      REQUIRE(b->lr() == 0.03);
      REQUIRE(b->step_count() == 3);

      // C: the same values but no saved state (to show the state matters).
      NamedParameters pc;
      for (const auto& [n, p] : pa) pc.emplace_back(n, p.detach().clone().requires_grad_());
      auto c = make(pc);
      c->set_lr(0.03);

      train(*a, 2);
      train(*b, 2);
      train(*c, 2);
      for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO(pa[i].first);
        REQUIRE(values(pa[i].second) == values(pb[i].second));  // bit for bit
        REQUIRE(values(pa[i].second) != values(pc[i].second));
      }
      // The saved dict is a snapshot: A's later steps did not change it.
      REQUIRE(saved.at("step").item() == 3);
    }
  }
}

TEST_CASE("load_state_dict names missing, misshapen and unexpected keys", "[optim]") {
  Tensor w = param(kW0, {2, 2});
  Adam opt({{"w", w}}, AdamOptions(0.1));
  quadratic_backward({w});
  opt.step();
  const nn::StateDict good = opt.state_dict();

  Tensor w2 = param(kW0, {2, 2});
  Adam fresh({{"w", w2}}, AdamOptions(0.1));
  REQUIRE_THROWS_WITH(fresh.load_state_dict(without(good, "lr")),
                      Contains("Adam.load_state_dict") && Contains("missing key 'lr'"));
  REQUIRE_THROWS_WITH(fresh.load_state_dict(without(good, "w.exp_avg_sq")),
                      Contains("missing key 'w.exp_avg_sq'"));
  REQUIRE_THROWS_WITH(fresh.load_state_dict(without(good, "w.step")),
                      Contains("missing key 'w.step'"));
  REQUIRE_THROWS_WITH(fresh.load_state_dict(replaced(good, "w.exp_avg", zeros({4}, kFloat64))),
                      Contains("'w.exp_avg' has shape [4], expected [2, 2]"));
  nn::StateDict extra = replaced(good, "lr", scalar_tensor(0.1, kFloat64));
  extra.insert("v.step", scalar_tensor(1, kInt64));
  REQUIRE_THROWS_WITH(fresh.load_state_dict(extra), Contains("unexpected key 'v.step'"));

  // The state of an SGD with momentum is not Adam's.
  SGD sgd({{"w", param(kW0, {2, 2})}}, SGDOptions(0.1).momentum(0.9));
  quadratic_backward({sgd.parameters()[0].second});
  sgd.step();
  REQUIRE_THROWS_WITH(fresh.load_state_dict(sgd.state_dict()), Contains("missing key 'w.exp_avg'"));

  // A failed load changes nothing.
  REQUIRE(fresh.step_count() == 0);
  REQUIRE(fresh.param_state(0).step == 0);
  fresh.load_state_dict(good);
  REQUIRE(fresh.step_count() == 1);
}

TEST_CASE("optimizers reject bad parameters and hyperparameters, naming them", "[optim]") {
  Tensor w = param(kW0, {4});
  REQUIRE_THROWS_WITH(SGD(std::vector<Tensor>{}, SGDOptions(0.1)),
                      Contains("SGD") && Contains("empty parameter list"));
  REQUIRE_THROWS_WITH(SGD({w}, SGDOptions(-1)), Contains("SGD") && Contains("-1"));
  REQUIRE_THROWS_WITH(SGD({w}, SGDOptions(0.1).nesterov(true)),
                      Contains("nesterov needs momentum > 0"));
  REQUIRE_THROWS_WITH(SGD({w}, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)),
                      Contains("dampening 0.1"));
  REQUIRE_THROWS_WITH(Adam({{"a", w}, {"a", param(kW0, {4})}}),
                      Contains("two parameters are named 'a'"));
  REQUIRE_THROWS_WITH(Adam({{"a", w}, {"b", w}}), Contains("'b' is the same tensor"));
  REQUIRE_THROWS_WITH(Adam({{"h", w * 2.0}}), Contains("'h' is not a leaf"));
  REQUIRE_THROWS_WITH(Adam({{"i", arange(4)}}), Contains("'i' has dtype int64"));
  REQUIRE_THROWS_WITH(Adam({w}, AdamOptions(0.1).betas({1.0, 0.999})),
                      Contains("Adam: beta1 must be in [0, 1), got 1"));
  REQUIRE_THROWS_WITH(AdamW({w}, AdamWOptions(0.1).eps(-1)), Contains("AdamW: eps"));
  REQUIRE_THROWS_WITH(Muon({{"w", w}}, MuonOptions().adamw_params({"nope"})),
                      Contains("Muon: adamw_params names 'nope'"));
  REQUIRE_THROWS_WITH(Muon({w}, MuonOptions().momentum(1.0)), Contains("Muon: momentum"));
  SGD ok({w}, SGDOptions(0.1));
  REQUIRE_THROWS_WITH(ok.set_lr(std::nan("")), Contains("SGD: the learning rate"));
}

// ===========================================================================
// clip_grad_norm_
// ===========================================================================

TEST_CASE("clip_grad_norm_ returns the total norm and rescales above max_norm", "[optim][clip]") {
  Tensor a = param({0, 0}, {2}), b = param({0, 0, 0, 0}, {2, 2}), none = param({1}, {1});
  auto set_grads = [&] {
    a.set_grad(tensor({3, 4}, kFloat64));
    b.set_grad(tensor({{0, 0}, {12, 0}}, kFloat64));
  };
  const std::vector<Tensor> params = {a, b, none};  // `none` has no gradient: skipped

  set_grads();
  // ‖g‖₂ = √(3² + 4² + 12²) = 13 > 6.5: scale by 6.5 / (13 + 1e-6).
  REQUIRE(clip_grad_norm_(params, 6.5) == 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  require_values(a.grad(), {3 * coef, 4 * coef});
  require_values(b.grad(), {0, 0, 12 * coef, 0});
  REQUIRE(std::fabs(std::sqrt(sum(a.grad() * a.grad()).item() + sum(b.grad() * b.grad()).item()) -
                    6.5) < 1e-6);

  set_grads();
  REQUIRE(clip_grad_norm_(params, 20.0) == 13.0);  // under the limit: untouched
  require_values(a.grad(), {3, 4});

  set_grads();
  REQUIRE(clip_grad_norm_(params, 100.0, 1.0) == 19.0);  // ‖g‖₁ = 3 + 4 + 12
  set_grads();
  const double inf = std::numeric_limits<double>::infinity();
  REQUIRE(clip_grad_norm_(params, 6.0, inf) == 12.0);  // ‖g‖∞ = 12
  require_values(b.grad(), {0, 0, 12 * 6.0 / (12.0 + 1e-6), 0});
  set_grads();
  REQUIRE(std::fabs(clip_grad_norm_(params, 100.0, 3.0) - std::cbrt(27.0 + 64.0 + 1728.0)) < 1e-12);

  set_grads();
  NamedParameters named = {{"a", a}, {"b", b}};
  REQUIRE(clip_grad_norm_(named, 1.0) == 13.0);
  REQUIRE_FALSE(none.grad().defined());
  REQUIRE_THROWS_WITH(clip_grad_norm_(params, -1.0), Contains("clip_grad_norm_: max_norm"));
  REQUIRE_THROWS_WITH(clip_grad_norm_(params, 1.0, 0.0), Contains("clip_grad_norm_: norm_type"));
}

// ===========================================================================
// They minimise
// ===========================================================================

namespace {

/// Least squares: loss(W) = mean((X W − Y)²) with Y = X W*, so the minimum is 0.
struct LeastSquares {
  Tensor X, Y;
  explicit LeastSquares(std::int64_t out_features) {
    Generator gen(3);
    X = randn({64, 8}, kFloat64, gen);
    Y = matmul(X, randn({8, out_features}, kFloat64, gen));
  }
  Tensor loss(const Tensor& W) const { return mean(square(matmul(X, W) - Y)); }
};

double minimise(Optimizer& opt, const LeastSquares& problem, const Tensor& W, int steps) {
  for (int t = 0; t < steps; ++t) {
    opt.zero_grad();
    problem.loss(W).backward();
    opt.step();
  }
  NoGradGuard no_grad;
  return problem.loss(W).item();
}

}  // namespace

TEST_CASE("optimizers drive a least-squares loss far below its start", "[optim]") {
  const LeastSquares problem(4);
  const double start = problem.loss(zeros({8, 4}, kFloat64)).item();
  INFO("start loss " << start);
  REQUIRE(start > 1.0);
  struct Run {
    const char* name;
    std::function<std::unique_ptr<Optimizer>(Tensor)> make;
    double target;  // final / start must be below this
  };
  const Run runs[] = {
      {"SGD",
       [](Tensor W) { return std::make_unique<SGD>(std::vector<Tensor>{W}, SGDOptions(0.5)); },
       1e-20},
      {"SGD+Nesterov",
       [](Tensor W) {
         return std::make_unique<SGD>(std::vector<Tensor>{W},
                                      SGDOptions(0.1).momentum(0.9).nesterov(true));
       },
       1e-15},
      {"Adam",
       [](Tensor W) { return std::make_unique<Adam>(std::vector<Tensor>{W}, AdamOptions(0.05)); },
       1e-10},
      {"AdamW",
       [](Tensor W) { return std::make_unique<AdamW>(std::vector<Tensor>{W}, AdamWOptions(0.05)); },
       1e-4},
      {"Muon",
       [](Tensor W) { return std::make_unique<Muon>(std::vector<Tensor>{W}, MuonOptions(0.02)); },
       1e-4},
  };
  for (const Run& run : runs) {
    DYNAMIC_SECTION(run.name) {
      Tensor W = zeros({8, 4}, kFloat64).requires_grad_();
      auto opt = run.make(W);
      const double end = minimise(*opt, problem, W, 300);
      INFO(run.name << ": loss " << start << " -> " << end);
      REQUIRE(end < run.target * start);
    }
  }
}
