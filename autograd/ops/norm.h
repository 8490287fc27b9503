#pragma once
/// @file norm.h
/// @brief Normalisation layers' maths: layer norm, RMS norm, group norm; and dropout.

#include <cstdint>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo {

/// \f$y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\,w + b\f$ with mean and (biased)
/// variance over the last `normalized_shape.size()` dims, which must equal
/// `normalized_shape`. weight/bias: `normalized_shape`, or undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// \f$y = \frac{x}{\sqrt{\overline{x^2} + \epsilon}}\,w\f$ with the mean square over the last
/// dims, which must equal `normalized_shape`. weight: `normalized_shape`, or undefined.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                double eps = 1e-6);
/// Normalises x (N, C, ...) over each group of C/groups channels and the spatial dims
/// (like `layer_norm` of x viewed as (N, groups, C/groups·...)), then applies a
/// per-channel affine weight/bias (C). `num_groups` must divide C. Per sample n and
/// group g, with \f$\mu\f$ and the biased \f$\sigma^2\f$ over the group's values:
/// \f$y_{n,c} = \frac{x_{n,c} - \mu_{n,g}}{\sqrt{\sigma^2_{n,g} + \epsilon}}\,w_c + b_c\f$.
/// Fused kernels, forward and backward; `group_norm_reference` is the same maths composed.
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// `group_norm` composed from differentiable ops (mean, sub, mul, rsqrt, mul, add): the
/// readable definition the fused op is tested against, and which its backward
/// differentiates when a graph of the gradient is wanted (`create_graph`).
Tensor group_norm_reference(const Tensor& x, std::int64_t num_groups,
                            const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                            double eps = 1e-5);
/// When `training`: \f$y = x \cdot m / (1 - p)\f$ with \f$m_i = [u_i \ge p]\f$ and
/// \f$u_i \sim U[0, 1)\f$ drawn (in float64, whatever x's dtype) from `gen`, so each element
/// is zeroed with probability p and \f$E[y] = x\f$. p = 0 or not training: returns x
/// itself; p = 1: x · 0 (zeros, still in the graph). p outside [0, 1] is an error.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace zoo
