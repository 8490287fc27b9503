#pragma once
/// @file softmax.h
/// @brief Softmax and log-softmax along one dim, computed stably.

#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// \f$y_i = e^{x_i - m} / \sum_j e^{x_j - m}\f$ with \f$m = \max_j x_j\f$.
/// Backward: \f$\bar x = y \odot (\bar y - \sum_j \bar y_j y_j)\f$.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// \f$y_i = x_i - \log\sum_j e^{x_j}\f$. Backward: \f$\bar x = \bar y - e^{y}\sum_j \bar y_j\f$.
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace zoo
