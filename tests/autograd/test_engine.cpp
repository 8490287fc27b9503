// The backward engine: gradients of small graphs known by hand, accumulation,
// retain_graph, autograd::grad (higher order, non-leaf inputs), no-grad mode, detach,
// the version counter, and the errors for misuse.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::randn64;
using test::require_close;

TEST_CASE("backward computes the chain rule on a small expression", "[engine]") {
  // f = a·b + sin(a):  df/da = b + cos(a),  df/db = a
  Tensor a = scalar_tensor(0.7, kFloat64).requires_grad_();
  Tensor b = scalar_tensor(-1.3, kFloat64).requires_grad_();
  Tensor f = a * b + sin(a);
  REQUIRE(f.grad_fn()->name() == "add");
  f.backward();
  REQUIRE(a.grad().item() == Approx(-1.3 + std::cos(0.7)));
  REQUIRE(b.grad().item() == Approx(0.7));
  REQUIRE(a.is_leaf());
  REQUIRE_FALSE(f.is_leaf());
}

TEST_CASE("a tensor used twice gets the sum of both paths (diamond graph)", "[engine]") {
  // f = x² + 3x via two uses of x: df/dx = 2x + 3
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor f = sum(x * x + x * 3.0);
  f.backward();
  test::require_close(x.grad(), tensor({5.0, 7.0}, kFloat64));
}

TEST_CASE("gradients accumulate across backward calls until zeroed", "[engine]") {
  Tensor x = tensor({1.0, -1.0}, kFloat64).requires_grad_();
  sum(x * 2.0).backward();
  sum(x * 2.0).backward();
  test::require_close(x.grad(), tensor({4.0, 4.0}, kFloat64));
  x.grad().zero_();
  sum(x * x).backward();
  test::require_close(x.grad(), tensor({2.0, -2.0}, kFloat64));
}

TEST_CASE("a non-scalar needs an explicit gradient", "[engine]") {
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  Tensor y = x * x;
  REQUIRE_THROWS_WITH(y.backward(), Contains("scalar") && Contains("[3]"));
  y.backward(tensor({1.0, 0.0, -1.0}, kFloat64));  // vector-Jacobian product
  test::require_close(x.grad(), tensor({2.0, 0.0, -6.0}, kFloat64));
  Tensor z = x * 2.0;
  REQUIRE_THROWS_WITH(z.backward(ones({2}, kFloat64)), Contains("shape"));
}

TEST_CASE("a second backward through a freed graph is a clear error", "[engine]") {
  Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
  Tensor y = exp(x) * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: the first call kept the graph
  REQUIRE(x.grad().item() == Approx(2 * 3 * std::exp(2.0)));
  REQUIRE_THROWS_WITH(y.backward(), Contains("second time") && Contains("retain_graph"));
}

TEST_CASE("autograd::grad returns gradients without touching .grad", "[engine]") {
  Tensor x = tensor({0.5, 1.5}, kFloat64).requires_grad_();
  Tensor y = sum(x * x * x);
  auto [dx] = std::array<Tensor, 1>{autograd::grad({y}, {x})[0]};
  test::require_close(dx, tensor({0.75, 6.75}, kFloat64));
  REQUIRE_FALSE(x.grad().defined());
}

TEST_CASE("create_graph gives higher-order derivatives", "[engine]") {
  // y = x³: y' = 3x², y'' = 6x, y''' = 6
  Tensor x = scalar_tensor(1.7, kFloat64).requires_grad_();
  Tensor y = x * x * x;
  Tensor d1 = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  REQUIRE(d1.item() == Approx(3 * 1.7 * 1.7));
  REQUIRE(d1.requires_grad());
  Tensor d2 = autograd::grad({d1}, {x}, {}, {.create_graph = true})[0];
  REQUIRE(d2.item() == Approx(6 * 1.7));
  Tensor d3 = autograd::grad({d2}, {x})[0];
  REQUIRE(d3.item() == Approx(6.0));
  // Through ops that reuse their output (exp, tanh): (e^x)'' = e^x, tanh'' = -2 tanh (1 - tanh²)
  Tensor e1 = autograd::grad({exp(x)}, {x}, {}, {.create_graph = true})[0];
  REQUIRE(autograd::grad({e1}, {x})[0].item() == Approx(std::exp(1.7)));
  Tensor t1 = autograd::grad({tanh(x)}, {x}, {}, {.create_graph = true})[0];
  const double t = std::tanh(1.7);
  REQUIRE(autograd::grad({t1}, {x})[0].item() == Approx(-2 * t * (1 - t * t)));
}

TEST_CASE("grad() takes intermediate tensors as inputs, and allow_unused", "[engine]") {
  Tensor x = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor u = x * 2.0;  // an intermediate
  Tensor y = u * u;
  REQUIRE(autograd::grad({y}, {u}, {}, {.retain_graph = true})[0].item() == Approx(12.0));
  Tensor other = scalar_tensor(1.0, kFloat64).requires_grad_();
  REQUIRE_THROWS_WITH(autograd::grad({y}, {other}, {}, {.retain_graph = true}),
                      Contains("not used"));
  auto g = autograd::grad({y}, {x, other}, {}, {.allow_unused = true});
  REQUIRE(g[0].item() == Approx(24.0));
  REQUIRE_FALSE(g[1].defined());
}

TEST_CASE("retain_grad keeps a non-leaf's gradient", "[engine]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  sum(h * h).backward();
  test::require_close(h.grad(), tensor({6.0, 12.0}, kFloat64));
  test::require_close(x.grad(), tensor({18.0, 36.0}, kFloat64));
}

TEST_CASE("NoGradGuard and detach stop recording", "[engine]") {
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  {
    NoGradGuard no_grad;
    Tensor y = x * 2.0;
    REQUIRE_FALSE(y.requires_grad());
    REQUIRE(y.grad_fn() == nullptr);
  }
  const Tensor y = x * 2.0;
  REQUIRE(y.requires_grad());
  Tensor d = y.detach();
  REQUIRE_FALSE(d.requires_grad());
  REQUIRE(&d.storage() == &y.storage());  // the same numbers, not a copy
  REQUIRE_THROWS_WITH(sum(d).backward(), Contains("does not require grad"));
}

TEST_CASE("modifying a saved tensor in place is detected at backward", "[engine]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor h = x * 1.0;
  Tensor y = exp(h);  // exp saves its output
  {
    NoGradGuard no_grad;  // (in-place ops are refused on graph tensors in grad mode)
    y.mul_(2.0);
  }
  REQUIRE_THROWS_WITH(sum(y).backward(), Contains("modified in place") && Contains("exp"));
}

TEST_CASE("in-place ops refuse leaves that require grad in grad mode", "[engine]") {
  Tensor w = tensor({1.0, 2.0}).requires_grad_();
  REQUIRE_THROWS_WITH(w.add_(1.0), Contains("leaf") && Contains("NoGradGuard"));
  {
    NoGradGuard no_grad;
    w.add_(1.0);  // the optimizer's update
  }
  REQUIRE(w.to_vector<float>() == std::vector<float>{2.0f, 3.0f});
  REQUIRE_THROWS_WITH((w * 2.0).mul_(2.0), Contains("in-place"));
}

TEST_CASE("the version counter counts in-place writes through any view", "[engine]") {
  Tensor x = zeros({4});
  const auto v0 = x.version();
  x.narrow(0, 1, 2).fill_(1.0);
  REQUIRE(x.version() == v0 + 1);
  x.add_(1.0);
  REQUIRE(x.version() == v0 + 2);
}

TEST_CASE("several roots backpropagate together", "[engine]") {
  Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
  Tensor a = x * x, b = x * 5.0;
  autograd::backward({a, b});
  REQUIRE(x.grad().item() == Approx(9.0));
}

TEST_CASE("gradients flow through views back to their base", "[engine]") {
  Tensor x = zoo::test::randn64({3, 4});
  auto f = [](const std::vector<Tensor>& in) {
    const Tensor& t = in[0];
    return t.t().slice(0, 1, 4, 2).reshape({-1}) * t.select(1, 0).unsqueeze(0).expand({2, 3}).reshape({-1});
  };
  test::check_gradients(f, {x});
  test::check_second_gradients(f, {x});
}

TEST_CASE("a long chain does not overflow the stack", "[engine]") {
  Tensor x = scalar_tensor(1.0, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  y.backward();
  REQUIRE(x.grad().item() == 1.0);
}

TEST_CASE("a leaf's .grad never shares memory with another leaf's or a view", "[engine]") {
  // add's backward hands the same gradient tensor to both inputs: each leaf must get
  // its own .grad (the accumulator only adopts a gradient nobody else can see).
  Tensor a = randn64({3}, 1), b = randn64({3}, 2);
  (a + b).sum().backward();
  a.grad().add_(ones({3}, kFloat64));
  require_close(b.grad(), ones({3}, kFloat64));
  // The gradient of a slice is a view of a larger zero-filled tensor: copied, not kept.
  Tensor c = randn64({4}, 3);
  Tensor d = randn64({2}, 4);
  (c.slice(0, 0, 2) * d).sum().backward();
  REQUIRE(d.grad().numel() == 2);
  require_close(c.grad(), tensor({d.detach().at<double>({0}), d.detach().at<double>({1}), 0.0, 0.0}, kFloat64));
}
