// Tutorial 02: automatic differentiation. The recorded graph; a backward pass by hand
// next to the engine's; the chain rule as vector-Jacobian products; gradient
// accumulation; retain_graph; NoGradGuard and detach; the version counter; higher-order
// gradients. Read README.md alongside.
//
// Run: ./tutorial_02_autograd   (CTest runs it with --quick; both modes are instant)

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "lesson.h"

using namespace zoo;

namespace {

/// True if two tensors have the same shape and values within `tol` (float64 lessons).
bool close(const Tensor& a, const Tensor& b, double tol = 1e-12) {
  return allclose(a, b, /*rtol=*/0.0, /*atol=*/tol);
}

/// Prints the graph below `node` as a tree. Leaves are reached through their
/// `AccumulateGrad` node; `names` says which user tensor each leaf is.
void print_graph(const Node& node, const std::map<const TensorImpl*, std::string>& names,
                 const std::string& indent = "  ") {
  std::string label = node.name();
  if (const auto* acc = dynamic_cast<const AccumulateGrad*>(&node)) {
    auto it = names.find(acc->leaf().get());
    label += " -> " + (it != names.end() ? it->second : std::string("?")) + ".grad";
  }
  fmt::print("{}{}   (node #{})\n", indent, label, node.sequence_nr());
  for (const Edge& e : node.next_edges)
    if (e.valid()) print_graph(*e.node, names, indent + "    ");
}

// ---------------------------------------------------------------------------
// 2.1 The graph
// ---------------------------------------------------------------------------
void the_graph(lesson::Lesson& lesson) {
  lesson.section("2.1 The graph: grad_fn and next edges");

  Tensor a = scalar_tensor(0.5, kFloat64).requires_grad_();
  Tensor b = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor f = a * b + sin(a);
  fmt::print("a = {}\nb = {}\nf = a*b + sin(a) = {}\n\n", a, b, f);

  fmt::print("f.grad_fn() and everything below it:\n");
  print_graph(*f.grad_fn(), {{a.impl(), "a"}, {b.impl(), "b"}});

  const auto& add_node = *f.grad_fn();
  const auto& mul_node = *add_node.next_edges[0].node;
  const auto& sin_node = *add_node.next_edges[1].node;
  lesson.check(add_node.name() == "add" && mul_node.name() == "mul" && sin_node.name() == "sin",
               "f was made by add, whose inputs were made by mul and sin");
  lesson.check(mul_node.next_edges[0].node == sin_node.next_edges[0].node,
               "a's two uses lead to one and the same AccumulateGrad node");
  lesson.check(a.is_leaf() && !f.is_leaf() && f.requires_grad(),
               "a is a leaf; f is not a leaf, and requires grad because a does");
}

// ---------------------------------------------------------------------------
// 2.2 Backward by hand, then by the engine
// ---------------------------------------------------------------------------
void backward_by_hand(lesson::Lesson& lesson) {
  lesson.section("2.2 Backward by hand vs the engine");

  // By hand, with plain doubles. Forward, keeping every intermediate value:
  const double a = 0.5, b = 3.0;
  const double u = a * b;         // u = a b
  const double v = std::sin(a);   // v = sin a
  const double f = u + v;         // f = u + v
  fmt::print("forward:  u = a*b = {:.6f}   v = sin a = {:.6f}   f = u + v = {:.6f}\n", u, v, f);

  // Backward: start from df/df = 1 and walk the nodes in reverse, each one turning the
  // gradient of its output into gradients of its inputs ("adjoints", written x̄).
  const double f_bar = 1.0;
  const double u_bar = f_bar * 1.0;  // ∂f/∂u = 1
  const double v_bar = f_bar * 1.0;  // ∂f/∂v = 1
  const double b_bar = u_bar * a;    // ∂u/∂b = a
  // a is used twice: its adjoint is the *sum* of what both uses send back.
  const double a_bar = u_bar * b + v_bar * std::cos(a);  // ∂u/∂a = b, ∂v/∂a = cos a
  fmt::print("backward: f̄ = 1   ū = 1   v̄ = 1   ā = ū·b + v̄·cos a = {:.6f}   b̄ = ū·a = {:.6f}\n",
             a_bar, b_bar);

  // The engine does the same walk.
  Tensor ta = scalar_tensor(a, kFloat64).requires_grad_();
  Tensor tb = scalar_tensor(b, kFloat64).requires_grad_();
  Tensor tf = ta * tb + sin(ta);
  tf.backward();
  fmt::print("engine:   a.grad() = {}   b.grad() = {}\n", ta.grad(), tb.grad());
  lesson.check(std::fabs(ta.grad().item() - a_bar) < 1e-12 &&
                   std::fabs(tb.grad().item() - b_bar) < 1e-12,
               "the engine's gradients equal the ones computed by hand");
}

// ---------------------------------------------------------------------------
// 2.3 The chain rule as vector-Jacobian products
// ---------------------------------------------------------------------------
void vector_jacobian_products(lesson::Lesson& lesson) {
  lesson.section("2.3 The chain rule as vector-Jacobian products");

  // An element-wise op has a diagonal Jacobian: y = x² gives J = diag(2x), so
  // backward with a vector v computes vᵀJ = 2x ⊙ v, without ever building J.
  Tensor x = tensor({1, 2, 3}, kFloat64).requires_grad_();
  Tensor y = x * x;
  fmt::print("y = x*x = {}: not a scalar, so backward() needs the vector v:\n", y);
  const std::string message = lesson.expect_error([&] { y.backward(); });
  lesson.check(lesson::contains(message, "pass the gradient explicitly"),
               "backward() on a non-scalar asks for the gradient");
  Tensor v = tensor({1.0, 0.1, 0.01}, kFloat64);
  y.backward(v);
  fmt::print("y.backward(v = {}) gives x.grad() = {}\n", v, x.grad());
  lesson.check(close(x.grad(), x.detach() * 2.0 * v), "x.grad() = 2x ⊙ v");

  // A full Jacobian, one row at a time: backpropagate the one-hot vectors e_i.
  // For y = W x the Jacobian is W itself.
  Tensor W = tensor({{1, 2, 3}, {4, 5, 6}}, kFloat64);
  Tensor x2 = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  Tensor Wx = matmul(W, x2);
  Tensor J = zeros({2, 3}, kFloat64);
  for (std::int64_t i = 0; i < 2; ++i) {
    Tensor e = zeros({2}, kFloat64);
    e[i].fill_(1.0);
    // retain_graph: we walk the same graph once per row.
    Tensor row = autograd::grad({Wx}, {x2}, {e}, {.retain_graph = true})[0];
    J[i].copy_(row);
  }
  fmt::print("Jacobian of y = W x, row i from backward(e_i):\n{}\n", J);
  lesson.check(close(J, W), "the rows e_iᵀJ rebuild J = W");

  // Two ops in a row: z = sum(tanh(W x)). The chain rule multiplies Jacobians,
  //   ∂z/∂x = 1ᵀ · diag(1 - tanh²(Wx)) · W,
  // and the engine evaluates that product from the left, one vector at a time.
  Tensor x3 = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  Tensor h = tanh(matmul(W, x3));
  Tensor z = sum(h);
  z.backward();
  Tensor hd = h.detach();
  Tensor by_hand = matmul(W.t(), 1.0 - hd * hd);  // Wᵀ (1 - tanh²): the transposed product
  fmt::print("z = sum(tanh(W x)):  engine {}   by hand {}\n", x3.grad(), by_hand);
  lesson.check(close(x3.grad(), by_hand), "the engine's gradient is Wᵀ(1 - tanh²(Wx))");
}

// ---------------------------------------------------------------------------
// 2.4 Gradients accumulate; zero them
// ---------------------------------------------------------------------------
void accumulation(lesson::Lesson& lesson) {
  lesson.section("2.4 Gradient accumulation and zeroing");

  Tensor x = tensor({1, 2}, kFloat64).requires_grad_();
  fmt::print("before any backward, x.grad() is {}\n", x.grad());
  sum(x * x).backward();
  fmt::print("after sum(x*x).backward():  x.grad() = {}\n", x.grad());
  sum(x * 3.0).backward();
  fmt::print("after sum(3*x).backward():  x.grad() = {}   (2x + 3: added, not replaced)\n",
             x.grad());
  lesson.check(close(x.grad(), tensor({5, 7}, kFloat64)), "backward adds into .grad: 2x + 3");

  x.grad().zero_();
  fmt::print("after x.grad().zero_():     x.grad() = {}\n", x.grad());
  x.set_grad(Tensor());
  fmt::print("after x.set_grad(Tensor()): x.grad() = {}\n", x.grad());
  lesson.check(!x.grad().defined(), "set_grad(Tensor()) clears the gradient completely");
}

// ---------------------------------------------------------------------------
// 2.5 retain_graph
// ---------------------------------------------------------------------------
void retain_graph(lesson::Lesson& lesson) {
  lesson.section("2.5 retain_graph, and the error on a second backward");

  Tensor a = scalar_tensor(0.5, kFloat64).requires_grad_();
  Tensor b = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor f = a * b + sin(a);
  f.backward();
  fmt::print("f.backward() once: fine. A second time:\n");
  const std::string message = lesson.expect_error([&] { f.backward(); });
  lesson.check(lesson::contains(message, "retain_graph"), "the error suggests retain_graph");

  Tensor c = scalar_tensor(0.5, kFloat64).requires_grad_();
  Tensor g = c * c;
  g.backward(Tensor(), /*retain_graph=*/true);
  g.backward();
  fmt::print("with retain_graph on the first call, two backwards give c.grad() = {}\n", c.grad());
  lesson.check(std::fabs(c.grad().item() - 2.0) < 1e-12, "two backwards of c² add up to 2·2c = 2");
}

// ---------------------------------------------------------------------------
// 2.6 NoGradGuard and detach
// ---------------------------------------------------------------------------
void no_grad_and_detach(lesson::Lesson& lesson) {
  lesson.section("2.6 NoGradGuard and detach");

  Tensor w = tensor({1, 2}, kFloat64).requires_grad_();
  Tensor y;
  {
    NoGradGuard no_grad;  // like `with torch.no_grad():`
    y = w * 2.0;
  }
  fmt::print("inside NoGradGuard, y = w*2 = {}\n", y);
  lesson.check(!y.requires_grad() && y.grad_fn() == nullptr && GradMode::is_enabled(),
               "nothing was recorded inside the guard, and grad mode is back on after it");

  // detach(): the same storage, cut from the graph. A classic use is a "stop gradient":
  // f = w * w.detach() has ∂f/∂w = w, not 2w, because the second factor is a constant.
  Tensor d = w.detach();
  lesson.check(&d.storage() == &w.storage() && !d.requires_grad(),
               "w.detach() shares w's storage and does not require grad");
  sum(w * w.detach()).backward();
  fmt::print("sum(w * w.detach()).backward(): w.grad() = {}  (w, not 2w)\n", w.grad());
  lesson.check(close(w.grad(), w.detach()), "the detached factor got no gradient");

  // Updating a parameter in place must not be recorded: do it under NoGradGuard.
  fmt::print("w.sub_(w.grad()) with grad mode on:\n");
  const std::string message = lesson.expect_error([&] { w.sub_(w.grad()); });
  lesson.check(lesson::contains(message, "NoGradGuard"), "the error says to use NoGradGuard");
  {
    NoGradGuard no_grad;
    w.sub_(w.grad() * 0.5);  // one step of gradient descent with learning rate 0.5
  }
  fmt::print("after an update under NoGradGuard, w = {}\n", w);
  lesson.check(close(w.detach(), tensor({0.5, 1.0}, kFloat64)), "the update w -= 0.5 * w.grad() ran");
}

// ---------------------------------------------------------------------------
// 2.7 The version counter
// ---------------------------------------------------------------------------
void version_counter(lesson::Lesson& lesson) {
  lesson.section("2.7 The version counter");

  // mul saves both inputs: ∂(x⊙s)/∂x = s needs s as it was during the forward pass.
  Tensor x = tensor({1, 2, 3}, kFloat64).requires_grad_();
  Tensor s = tensor({10, 20, 30}, kFloat64);  // data, no gradient: in-place writes are allowed
  Tensor loss = sum(x * s);
  fmt::print("s.version() after the forward pass: {}\n", s.version());
  s.mul_(2.0);  // overwrites what mul saved
  fmt::print("s.version() after s.mul_(2):         {}\n", s.version());
  fmt::print("loss.backward():\n");
  const std::string message = lesson.expect_error([&] { loss.backward(); });
  lesson.check(lesson::contains(message, "modified in place"),
               "backward refuses a saved tensor that was modified in place");

  // The fix: leave the saved tensor alone; modify a copy.
  Tensor s2 = tensor({10, 20, 30}, kFloat64);
  Tensor loss2 = sum(x * s2);
  Tensor doubled = s2.clone().mul_(2.0);
  loss2.backward();
  fmt::print("modifying a clone instead: x.grad() = {} (s2, as it was)\n", x.grad());
  lesson.check(close(x.grad(), s2) && close(doubled, s2 * 2.0),
               "with a clone, backward sees the original s2");
}

// ---------------------------------------------------------------------------
// 2.8 Higher-order gradients
// ---------------------------------------------------------------------------
void higher_order(lesson::Lesson& lesson) {
  lesson.section("2.8 Higher-order gradients");

  // y = x³:  y' = 3x²,  y'' = 6x,  y''' = 6.
  const double x0 = 1.5;
  Tensor x = scalar_tensor(x0, kFloat64).requires_grad_();
  Tensor y = x * x * x;
  // create_graph = true records the backward pass itself, so dy is again a function of x
  // with a graph, and can be differentiated.
  Tensor dy = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  Tensor d2y = autograd::grad({dy}, {x}, {}, {.create_graph = true})[0];
  Tensor d3y = autograd::grad({d2y}, {x})[0];
  fmt::print("x = {}\n  dy/dx     = {}   (3x² = {})\n  d²y/dx²   = {}   (6x = {})\n"
             "  d³y/dx³   = {}   (6)\n",
             x0, dy, 3 * x0 * x0, d2y, 6 * x0, d3y);
  lesson.check(std::fabs(dy.item() - 3 * x0 * x0) < 1e-12 &&
                   std::fabs(d2y.item() - 6 * x0) < 1e-12 && std::fabs(d3y.item() - 6) < 1e-12,
               "three derivatives of x³ by differentiating the backward pass");
  lesson.check(!x.grad().defined(), "autograd::grad returns gradients and leaves x.grad() alone");

  // The same with pow: its backward, g · 3 · x², is written with Tensor ops too.
  Tensor p = pow(x, 3.0);
  Tensor dp = autograd::grad({p}, {x}, {}, {.create_graph = true})[0];
  Tensor d2p = autograd::grad({dp}, {x})[0];
  lesson.check(std::fabs(d2p.item() - 6 * x0) < 1e-12, "pow(x, 3) has the same second derivative");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    the_graph(lesson);
    backward_by_hand(lesson);
    vector_jacobian_products(lesson);
    accumulation(lesson);
    retain_graph(lesson);
    no_grad_and_detach(lesson);
    version_counter(lesson);
    higher_order(lesson);
  });
}
