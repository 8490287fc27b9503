// Element-wise ops: values against the C++ standard library, gradients against finite
// differences (with broadcast and non-contiguous inputs), closed-form derivatives,
// dtype promotion and errors.
#include <cmath>
#include <functional>

#include "autograd/kernels/vec_math.h"
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::check_gradients;
using test::check_second_gradients;
using test::randn64;
using test::uniform64;

namespace {

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> reference;  // the value, from <cmath>
  std::function<double(double)> derivative;  // the closed-form derivative
  double lo, hi;                              // domain to sample from
};

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double phi(double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); }

std::vector<UnaryCase> unary_cases() {
  const double pi = 3.141592653589793;
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, [](double) { return -1.0; }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, [](double x) { return 1 / x; }, 0.2, 3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, [](double x) { return 1 / (1 + x); }, -0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, [](double x) { return 0.5 / std::sqrt(x); }, 0.2, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, [](double x) { return -0.5 * std::pow(x, -1.5); }, 0.2, 3},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, [](double x) { return 2 * x; }, -2, 2},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, [](double x) { return x > 0 ? 1.0 : -1.0; }, 0.1, 2},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, [](double x) { return std::cos(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, [](double x) { return -std::sin(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, [](double x) { return 1 - std::tanh(x) * std::tanh(x); }, -2, 2},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, [pi](double x) { return 2 / std::sqrt(pi) * std::exp(-x * x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, [](double x) { return sigmoid_ref(x) * (1 - sigmoid_ref(x)); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }, -2, 2},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); }, [](double x) { return x > 0 ? x : 0.1 * x; }, [](double x) { return x > 0 ? 1.0 : 0.1; }, -2, 2},
      {"gelu", [](const Tensor& x) { return gelu(x); }, [](double x) { return x * phi(x); },
       [pi](double x) { return phi(x) + x * std::exp(-x * x / 2) / std::sqrt(2 * pi); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); },
       [pi](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x))); },
       [pi](double x) {
         const double u = std::sqrt(2 / pi) * (x + 0.044715 * x * x * x), t = std::tanh(u);
         return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * std::sqrt(2 / pi) * (1 + 3 * 0.044715 * x * x);
       }, -3, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); },
       [](double x) { return sigmoid_ref(x) * (1 + x * (1 - sigmoid_ref(x))); }, -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x, 2.0, 20.0); }, [](double x) { return std::log1p(std::exp(2 * x)) / 2; },
       [](double x) { return sigmoid_ref(2 * x); }, -3, 3},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, [](double x) { return std::min(0.7, std::max(-0.5, x)); },
       [](double x) { return (x >= -0.5 && x <= 0.7) ? 1.0 : 0.0; }, -2, 2},
      {"pow", [](const Tensor& x) { return pow(x, 1.5); }, [](double x) { return std::pow(x, 1.5); }, [](double x) { return 1.5 * std::sqrt(x); }, 0.2, 3},
  };
}

}  // namespace

TEST_CASE("unary ops match <cmath> in value and closed-form derivative", "[elementwise]") {
  for (const auto& c : unary_cases()) {
    INFO("op: " << c.name);
    Tensor x = uniform64({2, 5}, c.lo, c.hi, 11);
    // Keep samples away from kinks (relu, clamp, abs at their corners).
    Tensor y = c.op(x);
    const auto xs = x.to_vector<double>();
    const auto ys = y.to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(ys[i] == Approx(c.reference(xs[i])).epsilon(1e-12));
    sum(y).backward();
    const auto gs = x.grad().to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(gs[i] == Approx(c.derivative(xs[i])).epsilon(1e-10));
  }
}

TEST_CASE("unary ops pass gradcheck and gradgradcheck on non-contiguous inputs", "[elementwise]") {
  for (const auto& c : unary_cases()) {
    INFO("op: " << c.name);
    Tensor x = uniform64({4, 3}, c.lo, c.hi, 5);
    auto f = [&](const std::vector<Tensor>& in) { return c.op(in[0].t().slice(1, 0, 4, 2)); };
    check_gradients(f, {x});
    check_second_gradients(f, {x});
  }
}

TEST_CASE("silu's one-pass backward matches its composed formula", "[elementwise]") {
  // The kernel against ḡ σ(x)(1 + x(1 − σ(x))) written with tensor ops, in float32 and
  // float64, for a non-contiguous ḡ, over enough elements to take the parallel path;
  // with create_graph, the composed formula itself, which differentiates again.
  const int saved = num_threads();
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    Generator gen(8);
    const Tensor x0 = (randn({300, 257}, dtype, gen) * 4.0).detach();
    const Tensor g = randn({257, 300}, dtype, gen).t();
    const Tensor s = sigmoid(x0);
    const Tensor expected = g * s * (x0 * (1.0 - s) + 1.0);
    const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      Tensor x = x0.clone().requires_grad_();
      silu(x).backward(g);
      REQUIRE(allclose(x.grad(), expected, tol, tol));
    }
    Tensor x = x0.clone().requires_grad_();
    const Tensor graph = autograd::grad({silu(x)}, {x}, {g}, {.create_graph = true})[0];
    REQUIRE(graph.requires_grad());
    REQUIRE(allclose(graph, expected, tol, tol));
  }
  set_num_threads(saved);
  check_gradients([](const std::vector<Tensor>& in) { return silu(in[0]); }, {randn64({3, 5}, 9)});
  check_second_gradients([](const std::vector<Tensor>& in) { return silu(in[0]); },
                         {randn64({3, 5}, 10)});
}

TEST_CASE("binary ops broadcast and pass gradcheck", "[elementwise]") {
  using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::pair<const char*, Binary>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
  };
  // (3, 1, 4) with (2, 1): broadcast both ways; b positive so that div and pow are smooth.
  Tensor a = uniform64({3, 1, 4}, 0.5, 2.0, 1);
  Tensor b = uniform64({2, 1}, 0.5, 2.0, 2);
  Tensor at = uniform64({4, 3}, 0.5, 2.0, 3);  // used transposed: (3, 4)
  Tensor row = uniform64({4}, 0.5, 2.0, 4);
  for (const auto& entry : ops) {
    // Named references rather than a structured binding, which clang before 16 cannot
    // capture in the lambdas below (the ThreadSanitizer build uses clang 14).
    const auto& name = entry.first;
    const auto& op = entry.second;
    INFO("op: " << name);
    check_gradients([&](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, b});
    check_gradients([&](const std::vector<Tensor>& in) { return op(in[0].t(), in[1]); }, {at, row});
    check_second_gradients([&](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, b});
  }
}

TEST_CASE("binary ops give broadcast values", "[elementwise]") {
  Tensor a = tensor({{1, 2, 3}});  // (1, 3)
  Tensor b = tensor({10, 20}).reshape({2, 1});
  test::require_close((a + b).to(kFloat64), tensor({{11, 12, 13}, {21, 22, 23}}, kFloat64));
  test::require_close((b - a).to(kFloat64), tensor({{9, 8, 7}, {19, 18, 17}}, kFloat64));
  test::require_close((a * 2.0 + 1.0).to(kFloat64), tensor({{3, 5, 7}}, kFloat64));
  test::require_close((1.0 / a).to(kFloat64), tensor({{1, 0.5, 1.0 / 3}}, kFloat64), 1e-6);
  test::require_close(maximum(a, tensor({2.5})).to(kFloat64), tensor({{2.5, 2.5, 3}}, kFloat64));
}

TEST_CASE("maximum splits the gradient evenly on ties", "[elementwise]") {
  Tensor a = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor b = tensor({1.0, 3.0}, kFloat64).requires_grad_();
  sum(maximum(a, b)).backward();
  test::require_close(a.grad(), tensor({0.5, 0.0}, kFloat64));
  test::require_close(b.grad(), tensor({0.5, 1.0}, kFloat64));
}

TEST_CASE("dtypes promote as in PyTorch", "[elementwise]") {
  Tensor f = ones({2});
  Tensor d = ones({2}, kFloat64);
  Tensor i = ones({2}, kInt64);
  REQUIRE((f + d).dtype() == kFloat64);
  REQUIRE((i + f).dtype() == kFloat32);
  REQUIRE((i + i).dtype() == kInt64);
  REQUIRE((i * 2.0).dtype() == kInt64);
  REQUIRE((i * 2.5).dtype() == kFloat32);
  REQUIRE((i / i).dtype() == kFloat32);
  REQUIRE((f * 2.0).dtype() == kFloat32);
  REQUIRE(exp(i).dtype() == kFloat32);
  // The gradient comes back in each input's own dtype.
  Tensor a = ones({2}).requires_grad_();
  Tensor b = ones({2}, kFloat64).requires_grad_();
  sum(a * b).backward();
  REQUIRE(a.grad().dtype() == kFloat32);
  REQUIRE(b.grad().dtype() == kFloat64);
}

TEST_CASE("where selects with broadcasting and routes gradients", "[elementwise]") {
  Tensor c = tensor({1.0, -1.0, 2.0}) > 0.0;
  Tensor a = randn64({2, 3});
  Tensor b = randn64({3}, 9);
  auto f = [&](const std::vector<Tensor>& in) { return where(c, in[0], in[1]); };
  check_gradients(f, {a, b});
  Tensor out = where(c, a, b);
  REQUIRE(out.at<double>({1, 1}) == b.at<double>({1}));
  REQUIRE(out.at<double>({1, 2}) == a.at<double>({1, 2}));
  REQUIRE_THROWS_WITH(where(ones({3}), a, b), Contains("where") && Contains("bool"));
}

TEST_CASE("comparisons and logic give bool tensors", "[elementwise]") {
  Tensor x = tensor({-1, 0, 2});
  REQUIRE((x > 0.0).to_vector<bool>() == std::vector<bool>{false, false, true});
  REQUIRE((x == 0.0).to_vector<bool>() == std::vector<bool>{false, true, false});
  REQUIRE(logical_not(x >= 0.0).to_vector<bool>() == std::vector<bool>{true, false, false});
  REQUIRE(logical_or(x < 0.0, x > 1.0).to_vector<bool>() == std::vector<bool>{true, false, true});
  REQUIRE(isfinite(tensor({1.0, INFINITY, NAN})).to_vector<bool>() == std::vector<bool>{true, false, false});
  REQUIRE(all(x > -2.0));
  REQUIRE_FALSE(any(x > 5.0));
  REQUIRE(sign(x).to_vector<float>() == std::vector<float>{-1, 0, 1});
}

TEST_CASE("element-wise ops report shape and dtype errors", "[elementwise][errors]") {
  REQUIRE_THROWS_WITH(ones({2, 3}) + ones({4}), Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(mul(ones({3}), ones({2})), Contains("mul"));
  REQUIRE_THROWS_WITH(ones({2}) > ones({3}), Contains("gt"));
  REQUIRE_THROWS_WITH(clamp(ones({2}), 1.0, 0.0), Contains("clamp"));
  REQUIRE_THROWS_WITH(-ones({2}, kBool), Contains("neg") && Contains("bool"));
}

TEST_CASE("large tensors take the parallel path and agree with the serial one", "[elementwise]") {
  Generator gen(4);
  Tensor a = randn({300, 1000}, kFloat32, gen);
  Tensor b = randn({1000}, kFloat32, gen);
  Tensor c = a.t().contiguous().t() * b + exp(a);  // strided, broadcast, transcendental
  const auto av = a.to_vector<float>(), bv = b.to_vector<float>(), cv = c.to_vector<float>();
  for (std::size_t i = 0; i < av.size(); i += 997)
    REQUIRE(cv[i] == Approx(av[i] * bv[i % 1000] + std::exp(av[i])).epsilon(1e-6).margin(1e-6));
  set_num_threads(1);
  Tensor c1 = a.t().contiguous().t() * b + exp(a);
  set_num_threads(omp_get_num_procs());
  REQUIRE(c1.to_vector<float>() == cv);  // deterministic across thread counts
}

TEST_CASE("the vectorisable float exp and tanh are within 2 ulp of libm", "[elementwise]") {
  auto ulp_error = [](float got, double exact) {
    const float rounded = static_cast<float>(exact);
    const double ulp = std::nextafter(std::fabs(rounded), INFINITY) - std::fabs(rounded);
    return std::fabs(got - exact) / ulp;
  };
  double worst_exp = 0, worst_tanh = 0;
  for (double x = -87.0; x < 88.7; x += 0.00131) {
    const float f = static_cast<float>(x);
    worst_exp = std::max(worst_exp, ulp_error(kernels::exp_float(f), std::exp(double(f))));
    if (std::fabs(x) < 20) worst_tanh = std::max(worst_tanh, ulp_error(kernels::tanh_float(f), std::tanh(double(f))));
  }
  for (double x = -1e-3; x < 1e-3; x += 1.7e-7) {  // tanh near 0: relative accuracy matters
    const float f = static_cast<float>(x);
    if (f != 0) worst_tanh = std::max(worst_tanh, ulp_error(kernels::tanh_float(f), std::tanh(double(f))));
  }
  REQUIRE(worst_exp <= 2.0);
  REQUIRE(worst_tanh <= 2.0);
  REQUIRE(kernels::exp_float(100.0f) == INFINITY);
  REQUIRE(kernels::exp_float(-100.0f) == 0.0f);
  REQUIRE(std::isnan(kernels::exp_float(NAN)));
  REQUIRE(kernels::tanh_float(50.0f) == 1.0f);
  REQUIRE(kernels::tanh_float(-50.0f) == -1.0f);
}
