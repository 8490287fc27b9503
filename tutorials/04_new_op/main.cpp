// Tutorial 04: adding an op. softsign(x) = x / (1 + |x|), written the way every op in
// autograd/ops/ is: check the inputs, run a forward kernel, `record` a backward closure
// written with Tensor ops. Then the test every op gets: gradcheck, gradgradcheck, an
// analytic case and the error cases. Read README.md alongside.
//
// Run: ./tutorial_04_new_op   (CTest runs it with --quick; both modes are instant)

#include <cmath>
#include <set>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "lesson.h"

using namespace zoo;

namespace {

// ---------------------------------------------------------------------------
// The op. In zoo it would be declared in autograd/ops/elementwise.h, with this comment
// (the maths in LaTeX, for Doxygen), and defined in autograd/ops/elementwise.cpp.
// ---------------------------------------------------------------------------

/// Softsign, a cheap tanh-like squashing function:
/// \f$ y = \frac{x}{1 + |x|} \f$, with \f$ \frac{dy}{dx} = \frac{1}{(1 + |x|)^2} \f$.
/// Floating inputs only.
Tensor softsign(const Tensor& x) {
  // (1) Check the inputs. The message names the op and the offending value.
  ZOO_CHECK(x.defined(), "softsign: the input is an undefined tensor");
  ZOO_CHECK(is_floating(x.dtype()),
            "softsign: expected a floating tensor (float32 or float64), got {} of shape {}",
            x.dtype(), x.shape());

  // (2) The forward kernel. detach() first: contiguous() is itself a recorded op (a
  // clone when x is not contiguous), and the kernel's internals must not enter the graph.
  const Tensor in = x.detach().contiguous();
  Tensor out = empty(in.shape(), in.dtype());
  dispatch_floating(in.dtype(), "softsign", [&](auto tag) {
    using T = decltype(tag);  // float or double
    const T* px = in.data_ptr<T>();
    T* py = out.data_ptr<T>();
    // One pass over the elements, split over threads for big tensors only (kGrainSize).
    parallel_for(0, in.numel(), kGrainSize, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) py[i] = px[i] / (T(1) + std::abs(px[i]));
    });
  });

  // (3) Record the backward, next to the forward. `record` does nothing if no input
  // requires grad or grad mode is off; otherwise it gives `out` a node named "softsign"
  // whose closure maps the output's gradient g to the input's:
  //   x̄ = g · dy/dx = g / (1 + |x|)²
  // The closure keeps x as a SavedTensor (which remembers x's version) and is written
  // with Tensor ops, so it is recorded too when create_graph asks for second derivatives.
  return record("softsign", {x}, out,
                [saved_x = SavedTensor::input(x)](const Tensor& g, const std::vector<bool>&) {
                  const Tensor x = saved_x.get();  // throws if x was modified in place
                  const Tensor d = 1.0 + abs(x);
                  return Grads{g / (d * d)};
                });
}

/// The same function composed from existing ops: no kernel and no backward to write,
/// at the price of three nodes (abs, add, div) and three temporary tensors.
Tensor softsign_composed(const Tensor& x) { return x / (1.0 + abs(x)); }

/// The number of distinct nodes in the graph below `t` (leaf accumulators included).
std::size_t count_nodes(const Tensor& t) {
  std::set<const Node*> seen;
  std::vector<const Node*> stack;
  if (t.grad_fn()) stack.push_back(t.grad_fn().get());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    for (const Edge& e : n->next_edges)
      if (e.valid()) stack.push_back(e.node.get());
  }
  return seen.size();
}

// ---------------------------------------------------------------------------
// 4.1 Using the new op
// ---------------------------------------------------------------------------
void use_it(lesson::Lesson& lesson) {
  lesson.section("4.1 The new op at work");

  Tensor x = tensor({-3, -1, 0, 1, 3}, kFloat64).requires_grad_();
  Tensor y = softsign(x);
  fmt::print("x = {}\nsoftsign(x) = {}\n", x, y);
  sum(y).backward();
  fmt::print("d softsign/dx = {}\n", x.grad());

  Tensor xc = tensor({-3, -1, 0, 1, 3}, kFloat64).requires_grad_();
  Tensor yc = softsign_composed(xc);
  sum(yc).backward();
  fmt::print("nodes in the graph: primitive {}, composed {} (both count x's accumulator)\n",
             count_nodes(y), count_nodes(yc));
  lesson.check(allclose(y, yc, 0, 1e-15) && allclose(x.grad(), xc.grad(), 0, 1e-15),
               "the primitive and the composition agree on values and gradients");
  lesson.check(count_nodes(y) == 2 && count_nodes(yc) == 4,
               "the primitive records 1 node, the composition 3");
}

// ---------------------------------------------------------------------------
// 4.2 The test: what tests/autograd/ checks for every op
// ---------------------------------------------------------------------------
void test_it(lesson::Lesson& lesson) {
  lesson.section("4.2 The test: analytic cases");

  // Values known in closed form: softsign(1) = 1/2, softsign(-3) = -3/4, and the slope
  // 1/(1+|x|)² is 1 at 0, 1/4 at 1, 1/16 at -3. Far out, y tends to ±1.
  Tensor x = tensor({0, 1, -3, 1e6}, kFloat64).requires_grad_();
  Tensor y = softsign(x);
  sum(y).backward();
  fmt::print("x = {}\ny = {}\ndy/dx = {}\n", x, y, x.grad());
  lesson.check(allclose(y, tensor({0, 0.5, -0.75, 1e6 / (1 + 1e6)}, kFloat64), 0, 1e-15),
               "values: 0, 1/2, -3/4, and nearly 1 far out");
  lesson.check(allclose(x.grad(), tensor({1, 0.25, 1.0 / 16, 1 / ((1 + 1e6) * (1 + 1e6))}, kFloat64),
                        0, 1e-15),
               "slopes: 1, 1/4, 1/16, and nearly 0 far out");
  Tensor x32 = tensor({0.5, -2});
  lesson.check(softsign(x32).dtype() == kFloat32 &&
                   allclose(softsign(x32), tensor({1.0 / 3, -2.0 / 3}), 1e-6, 0),
               "float32 in, float32 out, same values");

  lesson.section("4.3 The test: gradcheck and gradgradcheck");
  Generator gen(42);
  Tensor a = randn({3, 4}, kFloat64, gen).requires_grad_();
  // A non-contiguous input exercises the kernel's contiguous() path.
  Tensor b = randn({4, 3}, kFloat64, gen).t().detach().requires_grad_();
  const TensorFunction f = [](const std::vector<Tensor>& in) { return softsign(in[0]); };
  for (const auto& [name, input] : {std::pair{"contiguous (3, 4)", a},
                                    std::pair{"transposed (3, 4)", b}}) {
    const GradcheckResult first = gradcheck(f, {input});
    const GradcheckResult second = gradgradcheck(f, {input});
    fmt::print("  {}: gradcheck ok = {}, gradgradcheck ok = {}\n", name, first.ok, second.ok);
    if (!first.ok) fmt::print("    {}\n", first.message);
    if (!second.ok) fmt::print("    {}\n", second.message);
    lesson.check(first.ok && second.ok, fmt::format("softsign passes both checks, {} input", name));
  }
  lesson.check(!b.is_contiguous(), "the second input really is non-contiguous");

  lesson.section("4.4 The test: error cases and recording");
  fmt::print("softsign of an int64 tensor:\n");
  std::string message = lesson.expect_error([] { (void)softsign(arange(3)); });
  lesson.check(lesson::contains(message, "softsign") && lesson::contains(message, "int64"),
               "the error names the op and the dtype");

  // record adds nothing when nothing needs a gradient.
  Tensor plain = softsign(tensor({1.0, 2.0}));
  Tensor under_guard;
  {
    NoGradGuard no_grad;
    under_guard = softsign(a);
  }
  lesson.check(plain.grad_fn() == nullptr && under_guard.grad_fn() == nullptr,
               "no node for an input without requires_grad, nor under NoGradGuard");

  // SavedTensor refuses an input that changed between forward and backward.
  Tensor c = tensor({1, 2}, kFloat64).requires_grad_();
  Tensor yc = softsign(c);
  {
    NoGradGuard no_grad;  // a leaf that requires grad may only be changed like this
    c.mul_(2.0);
  }
  fmt::print("backward after c changed in place:\n");
  message = lesson.expect_error([&] { sum(yc).backward(); });
  lesson.check(lesson::contains(message, "softsign") && lesson::contains(message, "modified in place"),
               "the error names softsign and says a saved tensor was modified");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    use_it(lesson);
    test_it(lesson);
  });
}
