#pragma once
/// @file softmax.h
/// @brief Softmax and log-softmax along one dim, computed stably.

#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// Softmax along `dim` (negative counts from the end):
/// \f$y_i = e^{x_i - m} / \sum_j e^{x_j - m}\f$ with \f$m = \max_j x_j\f$, so nothing
/// overflows (logits of 1000 are fine). Any dim and layout; the last dim of a
/// contiguous tensor is the fast path. A −∞ input (a masked attention score) gets
/// probability 0; a row of nothing but −∞ gives NaN, as in PyTorch. Floating only.
/// Backward: \f$\bar x = y \odot (\bar y - \sum_j \bar y_j y_j)\f$, differentiable again.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// \f$y_i = x_i - m - \log\sum_j e^{x_j - m}\f$: finite even where softmax underflows
/// to 0. −∞ inputs give −∞; a row of nothing but −∞ gives NaN, as in PyTorch.
/// Backward: \f$\bar x = \bar y - e^{y}\sum_j \bar y_j\f$, differentiable again.
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace zoo
