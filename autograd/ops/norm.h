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
/// per-channel affine weight/bias (C). `num_groups` must divide C.
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// When `training`: \f$y = x \cdot m / (1 - p)\f$ with \f$m_i = [u_i \ge p]\f$ and
/// \f$u_i \sim U[0, 1)\f$ drawn (in float64, whatever x's dtype) from `gen`, so each element
/// is zeroed with probability p and \f$E[y] = x\f$. p = 0 or not training: returns x
/// itself; p = 1: x · 0 (zeros, still in the graph). p outside [0, 1] is an error.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace zoo
