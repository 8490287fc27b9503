#pragma once
/// @file rope.h
/// @brief Rotary position embedding (RoPE, Su et al. 2021): each pair of features of a
/// query or key is turned by an angle proportional to its position.

#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// Rotates x (..., T, D), D even, position by position: the row at index t along dim −2
/// sits at position p = `position_offset` + t, and its feature pairs
/// \f$(x_i, x_{i+D/2})\f$, i < D/2, turn by the angle \f$p\,\theta_i\f$ with
/// \f$\theta_i = \text{base}^{-2i/D}\f$:
/// \f[ y_i = x_i \cos p\theta_i - x_{i+D/2} \sin p\theta_i, \qquad
///     y_{i+D/2} = x_{i+D/2} \cos p\theta_i + x_i \sin p\theta_i. \f]
/// Pairing i with i + D/2 (rather than 2i with 2i + 1) is the "rotate half" layout of
/// GPT-NeoX and of Hugging Face's LLaMA; the two are the same up to a fixed permutation
/// of the features.
///
/// Why it encodes relative positions: a rotation R(a) is orthogonal and
/// \f$R(a)^\top R(b) = R(b - a)\f$, so the score of a query at p and a key at s is
/// \f$(R(p\theta) q)^\top (R(s\theta) k) = q^\top R((s-p)\theta) k\f$: it depends on the
/// offset s − p only, wherever the pair sits in the text.
///
/// Gradient: y = R x with R orthogonal, so \f$\bar x = R^\top \bar y\f$, the rotation by
/// the opposite angles (recorded as an op, so it is differentiable again).
/// A KV cache passes `position_offset` = the number of tokens already cached.
Tensor rotary_embedding(const Tensor& x, std::int64_t position_offset = 0, double base = 10000.0);

/// The same rotation written with Tensor ops (cos/sin tables, slices, cat): the
/// readable definition the fused op is tested against.
Tensor rotary_embedding_reference(const Tensor& x, std::int64_t position_offset = 0,
                                  double base = 10000.0);

}  // namespace zoo
