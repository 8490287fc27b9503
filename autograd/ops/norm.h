#pragma once
/// @file norm.h
/// @brief Normalisation layers' maths: layer norm, RMS norm, group norm; and dropout.

#include <cstdint>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo {

/// \f$y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\,w + b\f$ with mean and (biased)
/// variance over the last `normalized_shape.size()` dims. weight/bias may be undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// \f$y = x / \sqrt{\overline{x^2} + \epsilon}\,w\f$ over the last dims.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                double eps = 1e-6);
/// Normalises x (N, C, ...) over each group of C/groups channels and the spatial dims,
/// then applies a per-channel affine weight/bias (C).
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// Zeroes each element with probability p and scales the rest by 1/(1−p) when
/// `training`; the identity otherwise.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace zoo
