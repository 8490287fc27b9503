#pragma once
/// @file elementwise.h
/// @brief Element-wise math with NumPy broadcasting: arithmetic, transcendental functions,
/// activations, comparisons and selection. Each is differentiable where that makes sense.

#include "autograd/tensor.h"

namespace zoo {

// ---- binary arithmetic (broadcasting; dtypes promote as in PyTorch) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
/// True division; integer inputs give float32.
Tensor div(const Tensor& a, const Tensor& b);
/// \f$a^b\f$ element-wise.
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
/// A scalar operand takes the tensor's dtype (an int64 tensor with a non-integer
/// scalar becomes float32), like a Python number in PyTorch.
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);

// ---- unary math ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
/// \f$\log(1 + x)\f$, accurate for small x.
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// \f$1/\sqrt{x}\f$.
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor abs(const Tensor& x);
/// -1, 0 or 1 (gradient zero).
Tensor sign(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
/// The error function \f$\mathrm{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}dt\f$.
Tensor erf(const Tensor& x);

// ---- activations ----
/// \f$\sigma(x) = 1/(1+e^{-x})\f$.
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
/// x for x > 0, slope·x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// GELU: \f$x\,\Phi(x)\f$ (exact, `approximate = false`), or the tanh approximation
/// \f$\tfrac12 x(1+\tanh(\sqrt{2/\pi}(x + 0.044715x^3)))\f$.
Tensor gelu(const Tensor& x, bool approximate = false);
/// SiLU (swish): \f$x\,\sigma(x)\f$.
Tensor silu(const Tensor& x);
/// \f$\frac1\beta\log(1+e^{\beta x})\f$, and x itself where \f$\beta x >\f$ threshold.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// Limits values to [min, max]; the gradient is 1 inside, 0 outside.
Tensor clamp(const Tensor& x, double min, double max);
Tensor clamp_min(const Tensor& x, double min);
Tensor clamp_max(const Tensor& x, double max);

// ---- comparisons (bool results, not differentiable) ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
/// True where the value is neither infinite nor NaN.
Tensor isfinite(const Tensor& x);
/// True if every element of a bool tensor is true / any is.
bool all(const Tensor& x);
bool any(const Tensor& x);

/// `condition ? a : b`, element-wise with broadcasting; differentiable in a and b.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, double b);
Tensor where(const Tensor& condition, double a, const Tensor& b);

/// True if a and b have the same shape and |a - b| <= atol + rtol·|b| everywhere.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

/// Sums a broadcast gradient back to `shape`: over the leading dims that broadcasting
/// added, and over dims where `shape` has size 1. The one helper every broadcasting
/// op's backward uses.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace zoo
