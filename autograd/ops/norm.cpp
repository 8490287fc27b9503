/// @file norm.cpp
/// @brief Layer norm, RMS norm, group norm and dropout, composed from differentiable ops.
///
/// None of these has backward code: each is a few lines of `mean`, `rsqrt`, `*` and
/// `+`, whose gradients (and second derivatives) the engine already knows. A fused
/// kernel would be faster; this is the readable reference.

#include "autograd/ops/norm.h"

#include <cmath>
#include <cstdint>

#include "autograd/factories.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace zoo {
namespace {

/// The last `normalized_shape.size()` dims of x, as a list of negative dims (−k..−1),
/// after checking that they equal `normalized_shape`.
Dims trailing_dims(const char* op, const Tensor& x, const Shape& normalized_shape) {
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  ZOO_CHECK(k > 0, "{}: normalized_shape must not be empty", op);
  ZOO_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {}", op, x.dtype());
  const bool matches =
      x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape;
  ZOO_CHECK(matches,
            "{}: normalized_shape {} does not match the last dims of the input of shape {}", op,
            normalized_shape, x.shape());
  Dims dims;
  for (std::int64_t d = -k; d < 0; ++d) dims.push_back(d);
  return dims;
}

/// Checks that an affine parameter (weight or bias), if given, has `shape` and x's dtype.
void check_param(const char* op, const char* name, const Tensor& p, const Shape& shape,
                 const Tensor& x) {
  if (!p.defined()) return;
  ZOO_CHECK(p.shape() == shape, "{}: {} must have shape {}, got {} (input shape {})", op, name,
            shape, p.shape(), x.shape());
  ZOO_CHECK(p.dtype() == x.dtype(), "{}: {} has dtype {}, the input {}", op, name, p.dtype(),
            x.dtype());
}

/// \f$y \cdot w + b\f$, skipping an undefined w or b.
Tensor affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

/// \f$(x - \mu) / \sqrt{\sigma^2 + \epsilon}\f$ with the mean and biased variance over `dims`.
Tensor standardize(const Tensor& x, const Dims& dims, double eps) {
  const Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  const Tensor variance = mean(centered * centered, dims, /*keepdim=*/true);  // biased: 1/n
  return centered * rsqrt(variance + eps);
}

/// Dropout's scaled mask m/(1 − p) in one pass: 1/(1 − p) where an element is kept, 0
/// where it is dropped.
///
/// Each 64-bit draw of the generator gives two elements their 32-bit uniform integers
/// u ∈ [0, 2³²) (its low half, then its high half), and an element is kept when
/// u ≥ round(p · 2³²): probability 1 − p, to within 2⁻³³. Half a draw per element, and
/// no conversion to floating point, because the random numbers are most of dropout's
/// cost (the MLP's two dropouts took 16% of its training step).
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen) {
  Tensor mask = empty(shape, dtype);
  const auto threshold = static_cast<std::uint64_t>(std::llround(p * 4294967296.0));  // p · 2³²
  dispatch_floating(dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    auto keep = [&](std::uint64_t u) { return u >= threshold ? scale : T(0); };
    T* m = mask.data_ptr<T>();
    const std::int64_t n = mask.numel();
    for (std::int64_t i = 0; i + 1 < n; i += 2) {
      const std::uint64_t bits = gen.next_u64();
      m[i] = keep(bits & 0xffffffffu);
      m[i + 1] = keep(bits >> 32);
    }
    if (n % 2 == 1) m[n - 1] = keep(gen.next_u64() & 0xffffffffu);
  });
  return mask;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  // x: (..., *normalized_shape), weight and bias: normalized_shape
  const Dims dims = trailing_dims("layer_norm", x, normalized_shape);
  check_param("layer_norm", "weight", weight, normalized_shape, x);
  check_param("layer_norm", "bias", bias, normalized_shape, x);
  return affine(standardize(x, dims, eps), weight, bias);
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps) {
  // x: (..., *normalized_shape), weight: normalized_shape
  // y = x / √(mean(x²) + ε) · w: like layer norm without centering and without bias.
  const Dims dims = trailing_dims("rms_norm", x, normalized_shape);
  check_param("rms_norm", "weight", weight, normalized_shape, x);
  const Tensor y = x * rsqrt(mean(x * x, dims, /*keepdim=*/true) + eps);
  return affine(y, weight, Tensor());
}

Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight,
                  const Tensor& bias, double eps) {
  // x: (N, C, *), weight and bias: (C)
  ZOO_CHECK(x.dim() >= 2,
            "group_norm: expected an input (N, C, ...) with at least 2 dims, got shape {}",
            x.shape());
  ZOO_CHECK(is_floating(x.dtype()), "group_norm: expected a floating tensor, got {}", x.dtype());
  const std::int64_t N = x.size(0), C = x.size(1), G = num_groups;
  ZOO_CHECK(G > 0 && C % G == 0,
            "group_norm: num_groups = {} must be positive and divide the {} channels (shape {})", G,
            C, x.shape());
  check_param("group_norm", "weight", weight, {C}, x);
  check_param("group_norm", "bias", bias, {C}, x);
  std::int64_t spatial = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) spatial *= x.size(d);

  // Statistics per (sample, group): over the C/G channels of the group and all positions.
  const Tensor grouped = x.reshape({N, G, (C / G) * spatial});         // (N, G, C/G · spatial)
  const Tensor y = standardize(grouped, {2}, eps).reshape(x.shape());  // (N, C, *)
  // The affine part is per channel: (C) viewed as (1, C, 1, ..., 1).
  Shape channel_shape(static_cast<std::size_t>(x.dim()), 1);
  channel_shape[1] = C;
  return affine(y, weight.defined() ? weight.reshape(channel_shape) : Tensor(),
                bias.defined() ? bias.reshape(channel_shape) : Tensor());
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  // y = x · m / (1 − p) with m_i ~ Bernoulli(1 − p), so that E[y] = x.
  ZOO_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got {}", p);
  ZOO_CHECK(is_floating(x.dtype()), "dropout: expected a floating tensor, got {}", x.dtype());
  if (!training || p == 0.0) return x;
  // Everything dropped: multiply by zero (not zeros_like), so the result stays in the
  // graph with a zero gradient, as in PyTorch.
  if (p == 1.0) return x * zeros({}, x.dtype());
  return x * dropout_mask(x.shape(), p, x.dtype(), gen);
}

}  // namespace zoo
