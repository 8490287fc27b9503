// Loss functions: values by hand, reductions, ignore_index, label smoothing, the
// closed-form gradient of cross-entropy (softmax − target distribution), finite-difference
// first and second gradients, extreme inputs, and input checks.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor targets(const std::vector<std::int64_t>& values, Shape shape = {-1}) {
  return from_vector(values, shape);
}

/// The one-hot rows of `classes` classes for `target`, float64 (built by hand, not with
/// the op under test).
Tensor onehot64(const std::vector<std::int64_t>& target, std::int64_t classes) {
  std::vector<double> v(target.size() * classes, 0.0);
  for (std::size_t n = 0; n < target.size(); ++n)
    if (target[n] >= 0) v[n * classes + target[n]] = 1.0;
  return from_vector(v, {static_cast<std::int64_t>(target.size()), classes});
}

}  // namespace

// ---------------------------------------------------------------------------
// nll_loss
// ---------------------------------------------------------------------------

TEST_CASE("nll_loss picks -log p of the target and reduces as asked", "[loss]") {
  const Tensor logp = tensor({{-1.0, -2.0, -3.0}, {-0.5, -1.5, -2.5}}, kFloat64);
  const Tensor y = targets({0, 2});
  test::require_close(nll_loss(logp, y, -100, Reduction::None), tensor({1.0, 2.5}, kFloat64));
  REQUIRE(nll_loss(logp, y).item() == Approx(1.75));
  REQUIRE(nll_loss(logp, y, -100, Reduction::Sum).item() == Approx(3.5));
  REQUIRE(nll_loss(logp, y).dim() == 0);
  // One unbatched input (C) with a 0-dim target.
  REQUIRE(nll_loss(logp[1], targets({1}, {})).item() == Approx(1.5));
}

TEST_CASE("nll_loss skips ignore_index: no loss, no count, no gradient", "[loss]") {
  const Tensor logp = tensor({{-1.0, -2.0, -3.0}, {-0.5, -1.5, -2.5}, {-4.0, -0.1, -9.0}},
                             kFloat64)
                          .requires_grad_();
  const Tensor y = targets({0, -100, 1});
  test::require_close(nll_loss(logp, y, -100, Reduction::None), tensor({1.0, 0.0, 0.1}, kFloat64));
  // Mean over the 2 targets that count, not 3.
  const Tensor loss = nll_loss(logp, y);
  REQUIRE(loss.item() == Approx(0.55));
  loss.backward();
  test::require_close(logp.grad(),
                      tensor({{-0.5, 0.0, 0.0}, {0.0, 0.0, 0.0}, {0.0, -0.5, 0.0}}, kFloat64));
  // An ignore_index that is also a class (e.g. padding = class 0).
  REQUIRE(nll_loss(logp, targets({0, 0, 2}), 0).item() == Approx(9.0));
  REQUIRE(nll_loss(logp, targets({0, 0, 2}), 0, Reduction::Sum).item() == Approx(9.0));
  // An ignored row may hold anything, even -inf (a fully masked position).
  const Tensor masked = tensor({{-kInf, -1.0}, {-0.5, -2.0}}, kFloat64).requires_grad_();
  const Tensor l = nll_loss(masked, targets({-100, 0}), -100, Reduction::Sum);
  REQUIRE(l.item() == 0.5);
  l.backward();
  test::require_close(masked.grad(), tensor({{0.0, 0.0}, {-1.0, 0.0}}, kFloat64));
  // All ignored: the mean is 0/0 = NaN, as in PyTorch; the sum is 0.
  REQUIRE(std::isnan(nll_loss(logp, targets({-100, -100, -100})).item()));
  REQUIRE(nll_loss(logp, targets({-100, -100, -100}), -100, Reduction::Sum).item() == 0.0);
}

TEST_CASE("nll_loss over extra dims (N, C, d1) equals the flattened (N·d1, C) loss", "[loss]") {
  const Tensor logp = log_softmax(test::randn64({2, 3, 4}, 8).detach(), 1);
  const Tensor y = targets({0, 1, 2, -100, 2, 2, 1, 0}, {2, 4});
  const Tensor flat_logp = logp.permute({0, 2, 1}).reshape({8, 3});
  const Tensor flat_y = y.reshape({8});
  test::require_close(nll_loss(logp, y, -100, Reduction::None),
                      nll_loss(flat_logp, flat_y, -100, Reduction::None).reshape({2, 4}));
  test::require_close(nll_loss(logp, y), nll_loss(flat_logp, flat_y));
  // Check one by hand: position (1, 2) has target 1.
  REQUIRE(nll_loss(logp, y, -100, Reduction::None).at<double>({1, 2}) ==
          Approx(-logp.at<double>({1, 1, 2})));
}

// ---------------------------------------------------------------------------
// cross_entropy
// ---------------------------------------------------------------------------

TEST_CASE("cross_entropy is nll_loss of log_softmax, with known values", "[loss]") {
  // Uniform logits: -log(1/3).
  REQUIRE(cross_entropy(zeros({1, 3}, kFloat64), targets({1})).item() == Approx(std::log(3.0)));
  const Tensor x = test::randn64({5, 4}, 3).detach();
  const Tensor y = targets({3, 0, 1, 1, 2});
  test::require_close(cross_entropy(x, y), nll_loss(log_softmax(x, 1), y), 1e-12);
  test::require_close(cross_entropy(x, y, -100, 0.0, Reduction::None),
                      nll_loss(log_softmax(x, 1), y, -100, Reduction::None), 1e-12);
  // Huge logits neither overflow nor lose the answer.
  const Tensor big = tensor({{1000.0, 0.0}, {1000.0, 0.0}}, kFloat32);
  test::require_close(cross_entropy(big, targets({0, 1}), -100, 0.0, Reduction::None),
                      tensor({0.0, 1000.0}, kFloat32), 1e-6, 1e-6);
}

TEST_CASE("cross_entropy with label smoothing follows PyTorch's definition", "[loss]") {
  // Logits (0, ln 2, 0): p = (¼, ½, ¼). Target 1, ε = 0.3, C = 3:
  // (1−ε)(−ln ½) + ε·⅓(−ln ¼ − ln ½ − ln ¼) = 0.7 ln 2 + 0.1·5 ln 2 = 1.2 ln 2.
  const Tensor x = tensor({{0.0, std::log(2.0), 0.0}}, kFloat64);
  REQUIRE(cross_entropy(x, targets({1}), -100, 0.3).item() == Approx(1.2 * std::log(2.0)));
  // ε = 1 is the cross-entropy with the uniform distribution.
  REQUIRE(cross_entropy(x, targets({1}), -100, 1.0).item() == Approx(5.0 / 3.0 * std::log(2.0)));
  // Ignored rows count neither in the smoothing term nor in the mean.
  const Tensor x2 = test::randn64({3, 3}, 5).detach();
  const Tensor with_ignored = cross_entropy(x2, targets({2, -100, 0}), -100, 0.2);
  const Tensor row0 = cross_entropy(x2.narrow(0, 0, 1), targets({2}), -100, 0.2, Reduction::Sum);
  const Tensor row2 = cross_entropy(x2.narrow(0, 2, 1), targets({0}), -100, 0.2, Reduction::Sum);
  REQUIRE(with_ignored.item() == Approx((row0.item() + row2.item()) / 2));
  REQUIRE(cross_entropy(x2, targets({2, -100, 0}), -100, 0.2, Reduction::None).at<double>({1}) ==
          0.0);
}

TEST_CASE("the gradient of mean cross_entropy is (softmax - target distribution) / N",
          "[loss]") {
  const std::vector<std::int64_t> y = {2, 0, 3, 1};
  const std::int64_t N = 4, C = 5;
  const Tensor x = test::randn64({N, C}, 9);
  const Tensor p = softmax(x.detach(), 1);
  SECTION("hard targets") {
    cross_entropy(x, targets(y)).backward();
    test::require_close(x.grad(), (p - onehot64(y, C)) / static_cast<double>(N), 1e-9, 1e-12);
  }
  SECTION("label smoothing: the target is (1 - eps) onehot + eps / C") {
    const double eps = 0.1;
    cross_entropy(x, targets(y), -100, eps).backward();
    const Tensor q = onehot64(y, C) * (1.0 - eps) + eps / static_cast<double>(C);
    test::require_close(x.grad(), (p - q) / static_cast<double>(N), 1e-9, 1e-12);
  }
  SECTION("ignored rows get zero gradient and do not count in N") {
    const std::vector<std::int64_t> y_ign = {2, -1, 3, -1};
    cross_entropy(x, targets(y_ign), -1, 0.2).backward();
    const Tensor q = onehot64(y_ign, C) * 0.8 + 0.2 / static_cast<double>(C);
    const Tensor keep = tensor({1.0, 0.0, 1.0, 0.0}, kFloat64).unsqueeze(1);
    test::require_close(x.grad(), (p - q) * keep / 2.0, 1e-9, 1e-12);
    REQUIRE(sum(abs(x.grad()[1])).item() == 0.0);
  }
  SECTION("Sum reduction: no division") {
    cross_entropy(x, targets(y), -100, 0.0, Reduction::Sum).backward();
    test::require_close(x.grad(), p - onehot64(y, C), 1e-9, 1e-12);
  }
}

TEST_CASE("nll_loss and cross_entropy have correct first and second gradients", "[loss]") {
  const Tensor x = test::randn64({4, 3}, 12);
  const Tensor y = targets({2, 0, -100, 1});
  auto ce = [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], y); };
  auto ce_smooth = [&](const std::vector<Tensor>& in) {
    return cross_entropy(in[0], y, -100, 0.25, Reduction::None);
  };
  // Logits stored transposed (C, N): a non-contiguous input.
  auto ce_t = [&](const std::vector<Tensor>& in) {
    return cross_entropy(in[0].t(), y, -100, 0.1, Reduction::Sum);
  };
  auto nll = [&](const std::vector<Tensor>& in) { return nll_loss(in[0], y, -100, Reduction::None); };
  const Tensor xt = test::randn64({3, 4}, 13);
  test::check_gradients(ce, {x});
  test::check_gradients(ce_smooth, {x});
  test::check_gradients(ce_t, {xt});
  test::check_gradients(nll, {x});
  test::check_second_gradients(ce, {x});
  test::check_second_gradients(ce_smooth, {x});
  test::check_second_gradients(ce_t, {xt});
  // Extra dims: (N, C, d1) logits, the classes along dim 1, not the last.
  const Tensor x3 = test::randn64({2, 3, 2}, 14);
  const Tensor y3 = targets({0, 2, 1, -100}, {2, 2});
  auto ce3 = [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], y3, -100, 0.1); };
  test::check_gradients(ce3, {x3});
  test::check_second_gradients(ce3, {x3});
}

// ---------------------------------------------------------------------------
// mse_loss
// ---------------------------------------------------------------------------

TEST_CASE("mse_loss averages squared differences; gradients flow to both sides", "[loss]") {
  const Tensor a = tensor({1.0, 2.0, 4.0}, kFloat64);
  const Tensor b = tensor({1.5, 0.0, 4.0}, kFloat64);
  REQUIRE(mse_loss(a, b).item() == Approx((0.25 + 4.0) / 3));
  REQUIRE(mse_loss(a, b, Reduction::Sum).item() == Approx(4.25));
  test::require_close(mse_loss(a, b, Reduction::None), tensor({0.25, 4.0, 0.0}, kFloat64));
  // Analytic: d/da mean (a − b)² = 2(a − b)/n.
  const Tensor x = test::randn64({2, 3}, 20), t = test::randn64({2, 3}, 21);
  mse_loss(x, t).backward();
  test::require_close(x.grad(), (x.detach() - t.detach()) * (2.0 / 6.0));
  test::require_close(t.grad(), (t.detach() - x.detach()) * (2.0 / 6.0));
  auto f = [](const std::vector<Tensor>& in) { return mse_loss(in[0].t(), in[1], Reduction::None); };
  test::check_gradients(f, {test::randn64({3, 2}, 22), test::randn64({2, 3}, 23)});
}

// ---------------------------------------------------------------------------
// binary cross-entropy
// ---------------------------------------------------------------------------

TEST_CASE("binary_cross_entropy: known values, clamped logs, finite gradients at 0 and 1",
          "[loss]") {
  const Tensor p = tensor({0.5, 0.8, 0.0, 1.0, 1.0, 0.0}, kFloat64).requires_grad_();
  const Tensor y = tensor({1.0, 0.0, 1.0, 1.0, 0.0, 0.0}, kFloat64);
  // −log ½, −log 0.2, −log 0 → 100, 0, −log 0 → 100, 0
  test::require_close(binary_cross_entropy(p, y, Reduction::None),
                      tensor({std::log(2.0), -std::log(0.2), 100.0, 0.0, 100.0, 0.0}, kFloat64));
  REQUIRE(binary_cross_entropy(p, y).item() == Approx((std::log(2.0) - std::log(0.2) + 200) / 6));
  binary_cross_entropy(p, y, Reduction::Sum).backward();
  REQUIRE(all(isfinite(p.grad())));
  // (p − y)/(p(1 − p)): −2 at (½, 1) and 5 at (0.8, 0); 0 where p = y exactly.
  REQUIRE(p.grad().at<double>({0}) == Approx(-2.0));
  REQUIRE(p.grad().at<double>({1}) == Approx(5.0));
  REQUIRE(p.grad().at<double>({3}) == 0.0);
  REQUIRE(p.grad().at<double>({5}) == 0.0);
  // A sigmoid that saturates to exactly 1 in float32 still trains.
  const Tensor logits = tensor({30.0, -30.0}, kFloat32).requires_grad_();
  const Tensor probs = sigmoid(logits);
  REQUIRE(probs.at<float>({0}) == 1.0f);
  binary_cross_entropy(probs, tensor({0.0, 1.0}, kFloat32)).backward();
  REQUIRE(all(isfinite(logits.grad())));
}

TEST_CASE("binary_cross_entropy has correct first and second gradients", "[loss]") {
  auto f = [](const std::vector<Tensor>& in) {
    return binary_cross_entropy(in[0], in[1], Reduction::None);
  };
  auto f_mean = [](const std::vector<Tensor>& in) { return binary_cross_entropy(in[0].t(), in[1]); };
  const Tensor p = test::uniform64({2, 3}, 0.1, 0.9, 30), y = test::uniform64({2, 3}, 0.0, 1.0, 31);
  test::check_gradients(f, {p, y});
  test::check_second_gradients(f, {p, y});
  test::check_gradients(f_mean, {test::uniform64({3, 2}, 0.1, 0.9, 32), y});
}

TEST_CASE("binary_cross_entropy_with_logits is stable and equals bce of the sigmoid",
          "[loss]") {
  const Tensor x = test::randn64({2, 3}, 40) * 3.0;
  const Tensor y = test::uniform64({2, 3}, 0.0, 1.0, 41);
  test::require_close(binary_cross_entropy_with_logits(x, y, Reduction::None),
                      binary_cross_entropy(sigmoid(x), y, Reduction::None), 1e-9, 1e-12);
  // Huge logits: the loss is |x| when the label is on the wrong side, 0 on the right side.
  const Tensor big = tensor({100.0, -100.0, 100.0, -1000.0}, kFloat32);
  test::require_close(
      binary_cross_entropy_with_logits(big, tensor({0.0, 1.0, 1.0, 0.0}, kFloat32), Reduction::None),
      tensor({100.0, 100.0, 0.0, 0.0}, kFloat32), 1e-6, 1e-6);
  // At x = 0 the loss is log 2 and the gradient σ(0) − y = ½ − y.
  const Tensor zero = zeros({3}, kFloat64).requires_grad_();
  const Tensor t = tensor({0.0, 1.0, 0.25}, kFloat64);
  const Tensor l = binary_cross_entropy_with_logits(zero, t, Reduction::Sum);
  REQUIRE(l.item() == Approx(3 * std::log(2.0)));
  l.backward();
  test::require_close(zero.grad(), tensor({0.5, -0.5, 0.25}, kFloat64));
}

TEST_CASE("binary_cross_entropy_with_logits: gradient (sigmoid - y)/N and finite differences",
          "[loss]") {
  const Tensor x = test::randn64({3, 4}, 42);
  const Tensor y = test::uniform64({3, 4}, 0.0, 1.0, 43);
  binary_cross_entropy_with_logits(x, y).backward();
  test::require_close(x.grad(), (sigmoid(x.detach()) - y.detach()) / 12.0, 1e-9, 1e-12);
  auto f = [](const std::vector<Tensor>& in) {
    return binary_cross_entropy_with_logits(in[0].t(), in[1], Reduction::None);
  };
  test::check_gradients(f, {test::randn64({4, 3}, 44), y});
  test::check_second_gradients(f, {test::randn64({4, 3}, 44), y});
}

// ---------------------------------------------------------------------------
// input checks
// ---------------------------------------------------------------------------

TEST_CASE("losses reject bad targets with messages that name the op and the values",
          "[loss]") {
  const Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(cross_entropy(x, targets({0, 5})),
                      Contains("cross_entropy") && Contains("target value 5") &&
                          Contains("3 classes"));
  REQUIRE_THROWS_WITH(nll_loss(x, targets({-1, 0})),
                      Contains("nll_loss") && Contains("target value -1"));
  REQUIRE_THROWS_WITH(cross_entropy(x, zeros({2})), Contains("cross_entropy") && Contains("int64") &&
                                                        Contains("float32"));
  REQUIRE_THROWS_WITH(cross_entropy(x, targets({0, 1, 2})),
                      Contains("cross_entropy") && Contains("[3]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(nll_loss(zeros({2, 3, 4}), targets({0, 1})),
                      Contains("nll_loss") && Contains("[2]") && Contains("[2, 3, 4]") &&
                          Contains("[2, 4]"));
  REQUIRE_THROWS_WITH(cross_entropy(arange(6).reshape({2, 3}), targets({0, 1})),
                      Contains("cross_entropy") && Contains("logits"));
  REQUIRE_THROWS_WITH(cross_entropy(x, targets({0, 1}), -100, 1.5),
                      Contains("cross_entropy") && Contains("label_smoothing"));
  REQUIRE_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({3, 2})),
                      Contains("mse_loss") && Contains("[2, 3]") && Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(binary_cross_entropy(zeros({2}), zeros({1, 2})),
                      Contains("binary_cross_entropy") && Contains("[1, 2]"));
  REQUIRE_THROWS_WITH(binary_cross_entropy(tensor({0.5, 1.5}), zeros({2})),
                      Contains("binary_cross_entropy") && Contains("1.5"));
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(zeros({3}), zeros({4})),
                      Contains("binary_cross_entropy_with_logits") && Contains("[3]") &&
                          Contains("[4]"));
  REQUIRE_THROWS_WITH(mse_loss(zeros({2}), arange(2)), Contains("mse_loss") && Contains("int64"));
  // ignore_index is accepted, whatever its value.
  REQUIRE_NOTHROW(cross_entropy(x, targets({-7, 1}), -7));
}

TEST_CASE("cross_entropy's fused kernel equals the composed reference", "[loss][grad]") {
  // (N, C) logits, Mean and Sum, some targets ignored: the fused path. The reference is
  // the composition of log_softmax, gather and where.
  for (DType dtype : {kFloat64, kFloat32})
    for (Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
      const Tensor logits = (test::randn64({37, 300}, 3) * 4.0).detach().to(dtype).requires_grad_();
      Generator gen(4);
      Tensor target = randint(0, 300, {37}, kInt64, gen);
      target.narrow(0, 5, 3).fill_(-100.0);  // three rows ignored
      const Tensor a = cross_entropy(logits, target, -100, 0.0, reduction);
      const Tensor b = cross_entropy_reference(logits, target, -100, 0.0, reduction);
      const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
      test::require_close(a, b, tol, tol);
      const Tensor ga = autograd::grad({a}, {logits})[0];
      const Tensor gb = autograd::grad({b}, {logits})[0];
      test::require_close(ga, gb, tol, tol);
      REQUIRE(amax(abs(ga.narrow(0, 5, 3))).item() == 0.0);  // nothing flows to ignored rows
    }
  // Finite differences, and second derivatives through the create_graph backward.
  const Tensor x = test::randn64({4, 6}, 5);
  const Tensor y = tensor({1, 5, -100, 0}, kInt64);
  test::check_gradients([&](const auto& in) { return cross_entropy(in[0], y); }, {x});
  test::check_second_gradients([&](const auto& in) { return cross_entropy(in[0], y, -100, 0.0, Reduction::Sum); },
                               {x});
  // One and two threads give the same loss, bit for bit.
  const Tensor big = (test::randn64({256, 512}, 6) * 3.0).detach().to(kFloat32);
  Generator gen(7);
  const Tensor labels = randint(0, 512, {256}, kInt64, gen);
  set_num_threads(1);
  const double one = cross_entropy(big, labels).item();
  set_num_threads(2);
  const double two = cross_entropy(big, labels).item();
  set_num_threads(1);
  REQUIRE(one == two);
}
