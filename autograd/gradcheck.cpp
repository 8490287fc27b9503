/// @file gradcheck.cpp
/// @brief Finite-difference Jacobians against backpropagated ones.

#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/join.h"

namespace zoo {
namespace {

/// Storage offsets of the elements of `t`, in row-major order of its index.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
  std::vector<std::int64_t> offsets;
  offsets.reserve(t.numel());
  std::vector<std::int64_t> index(t.dim(), 0);
  for (std::int64_t k = 0; k < t.numel(); ++k) {
    std::int64_t off = t.offset();
    for (std::int64_t d = 0; d < t.dim(); ++d) off += index[d] * t.strides()[d];
    offsets.push_back(off);
    for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
      if (++index[d] < t.shape()[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

std::vector<std::int64_t> unravel(std::int64_t k, const Shape& shape) {
  std::vector<std::int64_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = k % shape[d];
    k /= shape[d];
  }
  return index;
}

std::vector<double> flat_values(const Tensor& t) { return t.detach().to_vector<double>(); }

}  // namespace

GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                          GradcheckOptions options) {
  std::vector<std::size_t> checked;  // inputs that require grad
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    ZOO_CHECK(in.dtype() == kFloat64,
              "gradcheck: input {} is {}; use float64, finite differences in float32 are noise", i,
              in.dtype());
    for (std::int64_t d = 0; d < in.dim(); ++d)
      ZOO_CHECK(in.strides()[d] != 0 || in.shape()[d] <= 1,
                "gradcheck: input {} is expanded (stride 0); expand inside the function instead",
                i);
    checked.push_back(i);
  }
  ZOO_CHECK(!checked.empty(), "gradcheck: no input requires grad");

  const Tensor out = f(inputs);
  ZOO_CHECK(is_floating(out.dtype()), "gradcheck: the function returned a {} tensor", out.dtype());
  const std::int64_t n_out = out.numel();

  // Analytic Jacobian, one row per output element: backprop a one-hot gradient.
  std::vector<Tensor> wrt;
  for (std::size_t i : checked) wrt.push_back(inputs[i]);
  std::vector<std::vector<std::vector<double>>> analytic(checked.size(),
                                                         std::vector<std::vector<double>>(n_out));
  for (std::int64_t j = 0; j < n_out; ++j) {
    Tensor onehot = zeros(out.shape(), out.dtype());
    onehot.reshape({-1}).select(0, j).fill_(1.0);
    if (!out.requires_grad()) {
      for (std::size_t c = 0; c < checked.size(); ++c)
        analytic[c][j].assign(inputs[checked[c]].numel(), 0.0);
      continue;
    }
    auto grads = autograd::grad({out}, wrt, {onehot}, {.retain_graph = true, .allow_unused = true});
    for (std::size_t c = 0; c < checked.size(); ++c) {
      const Tensor& in = inputs[checked[c]];
      if (!grads[c].defined()) {
        analytic[c][j].assign(in.numel(), 0.0);
        continue;
      }
      ZOO_CHECK(grads[c].shape() == in.shape() && grads[c].dtype() == in.dtype(),
                "gradcheck: gradient of input {} has shape {} and dtype {}, the input {} and {}",
                checked[c], grads[c].shape(), grads[c].dtype(), in.shape(), in.dtype());
      analytic[c][j] = flat_values(grads[c]);
    }
  }

  // Numerical Jacobian, one column per input element: central differences.
  GradcheckResult result;
  double worst = -INFINITY;
  NoGradGuard no_grad;
  for (std::size_t c = 0; c < checked.size(); ++c) {
    const Tensor& in = inputs[checked[c]];
    double* data = static_cast<double*>(in.storage().data());
    const auto offsets = element_offsets(in);
    for (std::size_t k = 0; k < offsets.size(); ++k) {
      const double original = data[offsets[k]];
      data[offsets[k]] = original + options.eps;
      const auto plus = flat_values(f(inputs));
      data[offsets[k]] = original - options.eps;
      const auto minus = flat_values(f(inputs));
      data[offsets[k]] = original;
      for (std::int64_t j = 0; j < n_out; ++j) {
        const double numeric = (plus[j] - minus[j]) / (2 * options.eps);
        const double a = analytic[c][j][k];
        const double excess = std::fabs(a - numeric) - options.rtol * std::fabs(numeric);
        const bool bad = !(excess <= options.atol);  // NaN counts as bad
        if (bad && result.ok) result.ok = false;
        if ((bad && (excess > worst || std::isnan(excess))) || (result.ok && excess > worst)) {
          worst = std::isnan(excess) ? INFINITY : excess;
          result.message = fmt::format(
              "input {} element {} -> output element {}: analytic {:.10g}, numeric {:.10g}",
              checked[c], unravel(static_cast<std::int64_t>(k), in.shape()),
              unravel(j, out.shape()), a, numeric);
        }
      }
    }
  }
  result.max_error = worst;
  if (!result.ok) result.message = "gradcheck failed: " + result.message;
  return result;
}

GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                              GradcheckOptions options) {
  Tensor probe;
  {
    NoGradGuard no_grad;
    probe = f(inputs);
  }
  Generator gen(1234);
  Tensor v = randn(probe.shape(), kFloat64, gen).requires_grad_();
  std::vector<Tensor> all = inputs;
  all.push_back(v);
  // x, v  ->  ∂(v·f(x))/∂x for every x that requires grad, flattened and joined.
  TensorFunction first_derivative = [&f, n = inputs.size()](const std::vector<Tensor>& args) {
    // gradcheck evaluates this under NoGradGuard for its finite differences, but the
    // first derivative is itself a backward pass: it needs grad mode on.
    GradModeGuard grad_on(true);
    std::vector<Tensor> xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Tensor> wrt;
    for (const auto& x : xs)
      if (x.requires_grad()) wrt.push_back(x);
    const Tensor out = f(xs);
    auto grads = autograd::grad({out}, wrt, {args[n]}, {.create_graph = true, .allow_unused = true});
    std::vector<Tensor> flat;
    for (std::size_t i = 0; i < grads.size(); ++i)
      flat.push_back(grads[i].defined() ? grads[i].reshape({-1}) : zeros({wrt[i].numel()}, kFloat64));
    return cat(flat, 0);
  };
  return gradcheck(first_derivative, all, options);
}

}  // namespace zoo
