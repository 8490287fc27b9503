#pragma once
/// @file reduce.h
/// @brief Reductions over any set of dims (`dims` empty = all dims), with `keepdim`.

#include <cstdint>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace zoo {

/// A list of dims to reduce (negative counts from the end; empty means all).
using Dims = std::vector<std::int64_t>;

/// \f$\sum_i x_i\f$ over `dims`. Integer and bool tensors sum to int64.
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// \f$\frac1N\sum_i x_i\f$ over `dims`.
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// \f$\frac{1}{N - c}\sum_i (x_i - \bar x)^2\f$ with `correction` c (1 = unbiased, as in PyTorch).
Tensor var(const Tensor& x, const Dims& dims = {}, std::int64_t correction = 1,
           bool keepdim = false);
/// \f$\prod_i x_i\f$ over `dims`.
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// Largest / smallest value over `dims`; ties share the gradient equally.
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// Smallest value over `dims`; ties share the gradient equally.
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// Largest value of the whole tensor.
Tensor max(const Tensor& x);
/// Smallest value of the whole tensor.
Tensor min(const Tensor& x);
/// Largest value along `dim` and its index (the first one on ties); the gradient flows
/// to that index.
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Smallest value along `dim` and its index (the first one on ties).
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the largest value along `dim` (int64, first on ties), or of the flattened
/// tensor when `dim` is omitted.
Tensor argmax(const Tensor& x);
/// Index of the largest value along `dim` (int64, first on ties).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the smallest value of the flattened tensor (int64, first on ties).
Tensor argmin(const Tensor& x);
/// Index of the smallest value along `dim` (int64, first on ties).
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// \f$\log\sum_i e^{x_i}\f$, computed as \f$m + \log\sum_i e^{x_i - m}\f$ with
/// \f$m = \max_i x_i\f$ so that nothing overflows.
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
/// Running sum along `dim`: \f$y_i = \sum_{j \le i} x_j\f$.
Tensor cumsum(const Tensor& x, std::int64_t dim);

}  // namespace zoo
