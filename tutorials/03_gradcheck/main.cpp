// Tutorial 03: checking gradients. Finite differences (forward and central, their
// O(ε) and O(ε²) errors); why float64; zoo::gradcheck, and how to read its failure
// message on a deliberately wrong backward; gradgradcheck. Read README.md alongside.
//
// Run: ./tutorial_03_gradcheck   (CTest runs it with --quick, which tries fewer step sizes)

#include <cmath>
#include <functional>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "lesson.h"

using namespace zoo;

namespace {

/// sin(x) evaluated by zoo in the given dtype, returned as a double. Making the tensor
/// rounds x to that dtype, and the result is rounded too: exactly what a finite
/// difference on a float32 model would see.
double zoo_sin(double x, DType dtype) { return sin(scalar_tensor(x, dtype)).item(); }

// ---------------------------------------------------------------------------
// 3.1 Finite differences by hand
// ---------------------------------------------------------------------------
void finite_differences(lesson::Lesson& lesson) {
  lesson.section("3.1 Forward and central differences");

  // f = sin at x = 1: f' = cos 1, f'' = -sin 1, f''' = -cos 1.
  const double x = 1.0;
  const double exact = std::cos(x);
  fmt::print("f(x) = sin x at x = 1, exact f'(1) = cos 1 = {:.15f}\n\n", exact);
  fmt::print("  {:>7}  {:>13}  {:>13}  {:>13}  {:>13}\n", "eps", "forward f64", "ε|f''|/2",
             "central f64", "ε²|f'''|/6");

  std::vector<double> steps;
  const int last = lesson.quick() ? 6 : 10;  // ε = 1e-1 ... 1e-6 (quick) or 1e-10
  for (int k = 1; k <= last; ++k) steps.push_back(std::pow(10.0, -k));

  std::vector<double> forward_error, central_error;
  for (double eps : steps) {
    // forward:  (f(x+ε) - f(x)) / ε       = f'(x) + ε f''(x)/2  + O(ε²)
    // central:  (f(x+ε) - f(x-ε)) / (2ε)  = f'(x) + ε² f'''(x)/6 + O(ε⁴)
    const double fwd = (zoo_sin(x + eps, kFloat64) - zoo_sin(x, kFloat64)) / eps;
    const double ctr = (zoo_sin(x + eps, kFloat64) - zoo_sin(x - eps, kFloat64)) / (2 * eps);
    forward_error.push_back(std::fabs(fwd - exact));
    central_error.push_back(std::fabs(ctr - exact));
    fmt::print("  {:>7.0e}  {:>13.3e}  {:>13.3e}  {:>13.3e}  {:>13.3e}\n", eps,
               forward_error.back(), eps * std::sin(x) / 2, central_error.back(),
               eps * eps * std::cos(x) / 6);
  }
  // Steps 1e-2 -> 1e-3 (indices 1, 2): the truncation error dominates, so the predictions hold.
  const double fwd_ratio = forward_error[1] / forward_error[2];
  const double ctr_ratio = central_error[1] / central_error[2];
  fmt::print("\n  from ε = 1e-2 to 1e-3 the forward error shrinks {:.1f}x, the central error {:.1f}x\n",
             fwd_ratio, ctr_ratio);
  lesson.check(std::fabs(fwd_ratio - 10) < 0.5 && std::fabs(ctr_ratio - 100) < 5,
               "forward differences are O(ε), central differences O(ε²)");
  lesson.check(std::fabs(forward_error[2] / (1e-3 * std::sin(x) / 2) - 1) < 0.01,
               "at ε = 1e-3 the forward error is ε|f''|/2 to 1%");
  if (!lesson.quick())
    lesson.check(central_error[9] > central_error[4],
                 "but a smaller ε is not always better: at 1e-10 rounding beats truncation");
}

// ---------------------------------------------------------------------------
// 3.2 Why float64
// ---------------------------------------------------------------------------
void why_float64(lesson::Lesson& lesson) {
  lesson.section("3.2 Why float64");

  // Each value of f carries a rounding error of about u·|f| (u = 6e-8 in float32,
  // 1.1e-16 in float64), and the difference quotient divides it by ε.
  const double x = 1.0, exact = std::cos(x);
  fmt::print("  {:>7}  {:>13}  {:>13}\n", "eps", "central f32", "central f64");
  double best32 = INFINITY, best64 = INFINITY, at_1e6_f32 = 0;
  for (int k = 1; k <= 6; ++k) {
    const double eps = std::pow(10.0, -k);
    auto central = [&](DType d) {
      return std::fabs((zoo_sin(x + eps, d) - zoo_sin(x - eps, d)) / (2 * eps) - exact);
    };
    const double e32 = central(kFloat32), e64 = central(kFloat64);
    best32 = std::min(best32, e32);
    best64 = std::min(best64, e64);
    if (k == 6) at_1e6_f32 = e32;
    fmt::print("  {:>7.0e}  {:>13.3e}  {:>13.3e}\n", eps, e32, e64);
  }
  fmt::print("\n  best float32 error {:.1e}, best float64 error {:.1e}\n", best32, best64);
  lesson.check(best32 > 1e-6 && best64 < 1e-9,
               "float32 differences never get below 1e-6; float64 ones reach 1e-9");
  lesson.check(at_1e6_f32 > 1e-3,
               "at gradcheck's step ε = 1e-6, a float32 difference is off by more than 1e-3");

  fmt::print("so gradcheck refuses float32 inputs:\n");
  Tensor x32 = tensor({1.0}).requires_grad_();
  const std::string message =
      lesson.expect_error([&] { (void)gradcheck([](const auto& in) { return sin(in[0]); }, {x32}); });
  lesson.check(lesson::contains(message, "float64"), "the error asks for float64");
}

// ---------------------------------------------------------------------------
// 3.3 The Jacobian, twice: by backward and by differences
// ---------------------------------------------------------------------------
void jacobians(lesson::Lesson& lesson) {
  lesson.section("3.3 Two Jacobians, and zoo::gradcheck");

  // f(W, x) = tanh(W x), with W 2x3 and x of size 3: a Jacobian of 2x3 with respect to x.
  Generator gen(3);
  Tensor W = randn({2, 3}, kFloat64, gen).requires_grad_();
  Tensor x = randn({3}, kFloat64, gen).requires_grad_();
  const TensorFunction f = [](const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1])); };

  // Analytic: row i is the gradient of output i, i.e. backward with the one-hot e_i.
  const Tensor y = f({W, x});
  Tensor analytic = zeros({2, 3}, kFloat64);
  for (std::int64_t i = 0; i < 2; ++i) {
    Tensor e = zeros({2}, kFloat64);
    e[i].fill_(1.0);
    analytic[i].copy_(autograd::grad({y}, {x}, {e}, {.retain_graph = true})[0]);
  }
  // Numeric: column k is the central difference of f for a nudge of x_k.
  const double eps = 1e-6;
  Tensor numeric = zeros({2, 3}, kFloat64);
  {
    NoGradGuard no_grad;  // we only evaluate f here; nothing to record
    for (std::int64_t k = 0; k < 3; ++k) {
      Tensor nudge = zeros({3}, kFloat64);
      nudge[k].fill_(eps);
      Tensor column = (f({W, x + nudge}) - f({W, x - nudge})) / (2 * eps);
      numeric.select(1, k).copy_(column);
    }
  }
  fmt::print("∂f/∂x by backward (rows):\n{}\n∂f/∂x by central differences (columns):\n{}\n",
             analytic, numeric);
  lesson.check(allclose(analytic, numeric, 1e-6, 1e-8), "the two Jacobians agree");

  // zoo::gradcheck does exactly this, for every input that requires grad.
  const GradcheckResult r = gradcheck(f, {W, x});
  // max_error is the worst |analytic - numeric| - rtol·|numeric|: zero or below means
  // every entry is within the relative tolerance (it is 0 here because some entries of
  // the Jacobian are exactly 0 on both sides: W[0, 0] does not touch output 1).
  fmt::print("gradcheck(f, {{W, x}}): ok = {}, max_error = {:.2e}\n", r.ok, r.max_error);
  lesson.check(r.ok, "gradcheck passes on tanh(W x)");
}

// ---------------------------------------------------------------------------
// 3.4 Catching a wrong backward
// ---------------------------------------------------------------------------

/// y = x², written as a primitive op: a forward computed without recording, then
/// `record` with a hand-written backward `backward(g, x)` (g = the output's gradient).
/// The three versions below differ only in that backward.
Tensor square_with_backward(const char* name, const Tensor& x,
                            std::function<Tensor(const Tensor& g, const Tensor& x)> backward) {
  Tensor out;
  {
    NoGradGuard no_grad;  // the forward "kernel": computed, not recorded
    out = x * x;
  }
  return record(name, {x}, out,
                [sx = SavedTensor::input(x), backward](const Tensor& g, const std::vector<bool>&) {
                  return Grads{backward(g, sx.get())};
                });
}

Tensor square_right(const Tensor& x) {
  return square_with_backward("square_right", x, [](const Tensor& g, const Tensor& x) {
    return g * 2.0 * x;  // ∂(x²)/∂x = 2x, times the incoming gradient
  });
}
Tensor square_forgot_2(const Tensor& x) {
  return square_with_backward("square_forgot_2", x, [](const Tensor& g, const Tensor& x) {
    return g * x;  // BUG: the derivative of x² is 2x
  });
}
Tensor square_ignores_g(const Tensor& x) {
  return square_with_backward("square_ignores_g", x, [](const Tensor&, const Tensor& x) {
    return x * 2.0;  // BUG: forgets to multiply by g (the chain rule)
  });
}

void catching_bugs(lesson::Lesson& lesson) {
  lesson.section("3.4 Catching a wrong backward");

  Generator gen(5);
  Tensor x = randn({3}, kFloat64, gen).requires_grad_();

  // The test many people write first: backward from sum(f(x)) and compare with 2x.
  // sum's gradient is all ones, so g = 1 everywhere and a backward that ignores g passes.
  auto naive_test = [&](Tensor (*op)(const Tensor&)) {
    x.set_grad(Tensor());
    sum(op(x)).backward();
    return allclose(x.grad(), x.detach() * 2.0, 1e-12, 1e-12);
  };
  const bool naive_forgot_2 = naive_test(square_forgot_2);
  const bool naive_ignores_g = naive_test(square_ignores_g);
  fmt::print("naive test (sum, then compare with 2x): forgot_2 {}, ignores_g {}\n",
             naive_forgot_2 ? "passes" : "fails", naive_ignores_g ? "passes" : "fails");
  lesson.check(!naive_forgot_2 && naive_ignores_g,
               "the naive test catches the missing 2 but not the missing g");

  // gradcheck backpropagates one-hot gradients, so g is 0 in most places: both bugs show.
  auto check = [&](const char* name, Tensor (*op)(const Tensor&)) {
    const GradcheckResult r = gradcheck([op](const auto& in) { return op(in[0]); }, {x});
    fmt::print("gradcheck({}): ok = {}\n", name, r.ok);
    if (!r.ok) fmt::print("  {}\n", r.message);
    return r;
  };
  const GradcheckResult right = check("square_right", square_right);
  const GradcheckResult forgot_2 = check("square_forgot_2", square_forgot_2);
  const GradcheckResult ignores_g = check("square_ignores_g", square_ignores_g);
  lesson.check(right.ok, "the right backward passes");
  lesson.check(!forgot_2.ok && lesson::contains(forgot_2.message, "gradcheck failed: input 0"),
               "the missing 2 fails, and the message names the input");
  lesson.check(!ignores_g.ok, "the ignored g fails too");

  // Reading the second message: analytic ≠ 0 where numeric = 0 means an off-diagonal
  // Jacobian entry that should not exist, i.e. output j depends on x_k only on paper.
  const double x0 = x.at<double>({0});
  fmt::print("x[0] = {:.10g}, so 2·x[0] = {:.10g}: compare with the numbers above\n", x0, 2 * x0);
}

// ---------------------------------------------------------------------------
// 3.5 gradgradcheck
// ---------------------------------------------------------------------------

/// x² again, with a backward that is right to first order but built from a *detached*
/// x: the gradient it returns carries no graph back to x, so it cannot be
/// differentiated again.
Tensor square_not_twice_differentiable(const Tensor& x) {
  return square_with_backward("square_detached", x, [](const Tensor& g, const Tensor& x) {
    return g * 2.0 * x.detach();  // BUG (second order only): cuts the graph
  });
}

void second_order(lesson::Lesson& lesson) {
  lesson.section("3.5 gradgradcheck");

  Generator gen(11);
  Tensor W = randn({2, 3}, kFloat64, gen).requires_grad_();
  Tensor x = randn({3}, kFloat64, gen).requires_grad_();
  const TensorFunction f = [](const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1])); };
  const GradcheckResult r = gradgradcheck(f, {W, x});
  fmt::print("gradgradcheck(tanh(W x)): ok = {}\n", r.ok);
  lesson.check(r.ok, "tanh and matmul have backwards that are themselves differentiable");

  auto op = [](const std::vector<Tensor>& in) { return square_not_twice_differentiable(in[0]); };
  Tensor y = randn({3}, kFloat64, gen).requires_grad_();
  const GradcheckResult first = gradcheck(op, {y});
  const GradcheckResult second = gradgradcheck(op, {y});
  fmt::print("square_detached: gradcheck ok = {}; gradgradcheck ok = {}\n  {}\n", first.ok,
             second.ok, second.message);
  lesson.check(first.ok && !second.ok,
               "a detached backward passes gradcheck and fails gradgradcheck");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    finite_differences(lesson);
    why_float64(lesson);
    jacobians(lesson);
    catching_bugs(lesson);
    second_order(lesson);
  });
}
