#pragma once
/// @file elementwise.h
/// @brief Element-wise math with NumPy broadcasting: arithmetic, transcendental functions,
/// activations, comparisons and selection. Each is differentiable where that makes sense.

#include "autograd/tensor.h"

namespace zoo {

// ---- binary arithmetic (broadcasting; dtypes promote as in PyTorch) ----
/// \f$a + b\f$ element-wise, with broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
/// \f$a - b\f$ element-wise, with broadcasting.
Tensor sub(const Tensor& a, const Tensor& b);
/// \f$a \odot b\f$ (element-wise product), with broadcasting.
Tensor mul(const Tensor& a, const Tensor& b);
/// True division; integer inputs give float32.
Tensor div(const Tensor& a, const Tensor& b);
/// \f$a^b\f$ element-wise.
Tensor pow(const Tensor& a, const Tensor& b);
/// \f$a^p\f$ element-wise for a fixed exponent p.
Tensor pow(const Tensor& a, double exponent);
/// The larger of a and b, element-wise; ties split the gradient evenly.
Tensor maximum(const Tensor& a, const Tensor& b);
/// The smaller of a and b, element-wise; ties split the gradient evenly.
Tensor minimum(const Tensor& a, const Tensor& b);

/// `add(a, b)`.
Tensor operator+(const Tensor& a, const Tensor& b);
/// `sub(a, b)`.
Tensor operator-(const Tensor& a, const Tensor& b);
/// `mul(a, b)`.
Tensor operator*(const Tensor& a, const Tensor& b);
/// `div(a, b)`.
Tensor operator/(const Tensor& a, const Tensor& b);
/// `neg(a)`.
Tensor operator-(const Tensor& a);
/// A scalar operand takes the tensor's dtype (an int64 tensor with a non-integer
/// scalar becomes float32), like a Python number in PyTorch.
Tensor operator+(const Tensor& a, double b);
/// a + b for a number a.
Tensor operator+(double a, const Tensor& b);
/// a - b for a number b.
Tensor operator-(const Tensor& a, double b);
/// a - b for a number a.
Tensor operator-(double a, const Tensor& b);
/// a * b for a number b.
Tensor operator*(const Tensor& a, double b);
/// a * b for a number a.
Tensor operator*(double a, const Tensor& b);
/// a / b for a number b.
Tensor operator/(const Tensor& a, double b);
/// a / b for a number a.
Tensor operator/(double a, const Tensor& b);

// ---- unary math ----
/// \f$-x\f$.
Tensor neg(const Tensor& x);
/// \f$e^x\f$.
Tensor exp(const Tensor& x);
/// Natural logarithm \f$\ln x\f$.
Tensor log(const Tensor& x);
/// \f$\log(1 + x)\f$, accurate for small x.
Tensor log1p(const Tensor& x);
/// \f$\sqrt{x}\f$.
Tensor sqrt(const Tensor& x);
/// \f$1/\sqrt{x}\f$.
Tensor rsqrt(const Tensor& x);
/// \f$x^2\f$.
Tensor square(const Tensor& x);
/// \f$|x|\f$ (gradient `sign(x)`, so 0 at 0).
Tensor abs(const Tensor& x);
/// -1, 0 or 1 (gradient zero).
Tensor sign(const Tensor& x);
/// \f$\sin x\f$.
Tensor sin(const Tensor& x);
/// \f$\cos x\f$.
Tensor cos(const Tensor& x);
/// \f$\tanh x\f$.
Tensor tanh(const Tensor& x);
/// The error function \f$\mathrm{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}dt\f$.
Tensor erf(const Tensor& x);

// ---- activations ----
/// \f$\sigma(x) = 1/(1+e^{-x})\f$.
Tensor sigmoid(const Tensor& x);
/// \f$\max(x, 0)\f$ (gradient 0 at 0).
Tensor relu(const Tensor& x);
/// The backward of relu in one pass: \f$\bar x = \bar y\f$ where the output y > 0, else 0.
/// An op of its own (differentiable in `grad`) so that double backward works.
Tensor relu_backward(const Tensor& output, const Tensor& grad);
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
/// `clamp(x, min, +inf)`.
Tensor clamp_min(const Tensor& x, double min);
/// `clamp(x, -inf, max)`.
Tensor clamp_max(const Tensor& x, double max);

// ---- comparisons (bool results, not differentiable) ----
/// a == b, element-wise.
Tensor eq(const Tensor& a, const Tensor& b);
/// a != b, element-wise.
Tensor ne(const Tensor& a, const Tensor& b);
/// a < b, element-wise.
Tensor lt(const Tensor& a, const Tensor& b);
/// a <= b, element-wise.
Tensor le(const Tensor& a, const Tensor& b);
/// a > b, element-wise.
Tensor gt(const Tensor& a, const Tensor& b);
/// a >= b, element-wise.
Tensor ge(const Tensor& a, const Tensor& b);
/// `eq(a, b)`.
Tensor operator==(const Tensor& a, const Tensor& b);
/// `ne(a, b)`.
Tensor operator!=(const Tensor& a, const Tensor& b);
/// `lt(a, b)`.
Tensor operator<(const Tensor& a, const Tensor& b);
/// `le(a, b)`.
Tensor operator<=(const Tensor& a, const Tensor& b);
/// `gt(a, b)`.
Tensor operator>(const Tensor& a, const Tensor& b);
/// `ge(a, b)`.
Tensor operator>=(const Tensor& a, const Tensor& b);
/// Compares with a number: in the tensor's dtype if floating, else in float64.
Tensor operator==(const Tensor& a, double b);
/// a != b for a number b.
Tensor operator!=(const Tensor& a, double b);
/// a < b for a number b.
Tensor operator<(const Tensor& a, double b);
/// a <= b for a number b.
Tensor operator<=(const Tensor& a, double b);
/// a > b for a number b.
Tensor operator>(const Tensor& a, double b);
/// a >= b for a number b.
Tensor operator>=(const Tensor& a, double b);
/// a AND b, element-wise (inputs read as bool: nonzero is true).
Tensor logical_and(const Tensor& a, const Tensor& b);
/// a OR b, element-wise (inputs read as bool).
Tensor logical_or(const Tensor& a, const Tensor& b);
/// NOT a, element-wise (input read as bool).
Tensor logical_not(const Tensor& a);
/// True where the value is neither infinite nor NaN.
Tensor isfinite(const Tensor& x);
/// True if every element of a bool tensor is true.
bool all(const Tensor& x);
/// True if any element of a bool tensor is true.
bool any(const Tensor& x);

/// `condition ? a : b`, element-wise with broadcasting; differentiable in a and b.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
/// `where` with a number for b (it takes a's dtype).
Tensor where(const Tensor& condition, const Tensor& a, double b);
/// `where` with a number for a (it takes b's dtype).
Tensor where(const Tensor& condition, double a, const Tensor& b);

/// True if a and b have the same shape and |a - b| <= atol + rtol·|b| everywhere.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

/// Sums a broadcast gradient back to `shape`: over the leading dims that broadcasting
/// added, and over dims where `shape` has size 1. The one helper every broadcasting
/// op's backward uses.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace zoo
