/// @file softmax.cpp
/// @brief Softmax and log-softmax: one fused, numerically stable kernel over the rows of
/// a contiguous (rows, n) layout, and backwards written with Tensor ops.
///
/// Shapes: the op normalises along `dim`, of size n; every other position of the input
/// is one "row" of n values. Logits of shape (N, C) are N rows of C; attention scores
/// (B, H, T, T) are B·H·T rows of T.

#include "autograd/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/kernels/vec_math.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Sums of exponentials in double for float32 rows (a 50 000-way vocabulary loses no
/// precision), in the type itself for float64.
template <class T> struct ExpSumAcc { using type = T; };
template <> struct ExpSumAcc<float> { using type = double; };

/// An exponential costs several additions, so a row of n values counts as this many
/// times n elements when deciding whether a chunk of rows is worth a thread.
constexpr std::int64_t kExpCost = 4;

/// \f$m = \max_j x_j\f$, NaN if any \f$x_j\f$ is NaN (so that NaN propagates).
template <class T>
T row_max(const T* x, std::int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t j = 0; j < n; ++j)
    if (x[j] > m || x[j] != x[j]) m = x[j];
  return m;
}

/// One row of softmax: \f$y_i = e^{x_i - m} / \sum_j e^{x_j - m}\f$.
/// Subtracting m makes every exponent ≤ 0, so nothing overflows, and the largest term
/// is 1, so the sum is at least 1. Three passes over a row that stays in cache: max,
/// exponentials and their sum (written to y), then scaling.
template <class T>
void softmax_row(const T* x, T* y, std::int64_t n) {
  const T m = row_max(x, n);
  // The exponentials in a loop of their own, so that it vectorises (kernels/vec_math.h).
  for (std::int64_t j = 0; j < n; ++j) y[j] = kernels::exp_fast(x[j] - m);
  typename ExpSumAcc<T>::type sum = 0;
  for (std::int64_t j = 0; j < n; ++j) sum += y[j];
  const T inv = static_cast<T>(1 / sum);
  for (std::int64_t j = 0; j < n; ++j) y[j] *= inv;
}

/// One row of log-softmax: \f$y_i = x_i - m - \log\sum_j e^{x_j - m}\f$.
/// Computed directly rather than as log(softmax): a probability that underflows to 0
/// would give −∞, while \f$x_i - \text{lse}\f$ stays finite (e.g. −1000).
template <class T>
void log_softmax_row(const T* x, T* y, std::int64_t n) {
  const T m = row_max(x, n);
  for (std::int64_t j = 0; j < n; ++j) y[j] = kernels::exp_fast(x[j] - m);  // scratch
  typename ExpSumAcc<T>::type sum = 0;
  for (std::int64_t j = 0; j < n; ++j) sum += y[j];
  const T shift = m + static_cast<T>(std::log(sum));
  for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] - shift;
}

/// Applies `row_fn` to every row of a contiguous (rows, n) tensor, rows split over
/// threads. Returns a new contiguous tensor of the same shape.
template <class T, class RowFn>
Tensor rows_kernel(const Tensor& x, const RowFn& row_fn) {
  Tensor out = empty(x.shape(), x.dtype());
  const std::int64_t n = x.shape().back();
  if (n == 0 || x.numel() == 0) return out;
  const std::int64_t rows = x.numel() / n;
  const T* px = x.data_ptr<T>();
  T* py = out.data_ptr<T>();
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainSize / (kExpCost * n));
  parallel_for(0, rows, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) row_fn(px + r * n, py + r * n, n);
  });
  return out;
}

/// The forward of softmax (`take_log` = false) or log-softmax (`take_log` = true) along `dim`,
/// without recording. The last dim of a contiguous tensor is the fast path; any other
/// dim is moved last (a transposed copy), normalised there, and moved back.
Tensor normalize_forward(const Tensor& x, std::int64_t dim_in, bool take_log, const char* op) {
  ZOO_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor (float32 or float64), got {}",
            op, x.dtype());
  const int dim = normalize_dim(dim_in, x.dim(), op);
  const Tensor base = x.detach();
  if (x.dim() == 0) return normalize_forward(base.reshape({1}), 0, take_log, op).reshape({});

  const bool last = dim == x.dim() - 1;
  const Tensor rows = last ? base.contiguous() : base.transpose(dim, -1).contiguous();
  Tensor out = dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return take_log ? rows_kernel<T>(rows, log_softmax_row<T>) : rows_kernel<T>(rows, softmax_row<T>);
  });
  return last ? out : out.transpose(dim, -1).contiguous();
}

}  // namespace

/// Softmax along `dim`. A row that contains −∞ (a masked attention score) gets 0 there;
/// a row of nothing but −∞ has no finite maximum and gives NaN everywhere, as in
/// PyTorch (mask at least one entry per row in, or use `where` on the result). A NaN
/// anywhere in a row makes the whole row NaN. Integer inputs are an error.
///
/// Backward, with the saved output y (so it can be differentiated again):
/// \f$\partial y_i / \partial x_k = y_i(\delta_{ik} - y_k)\f$, hence
/// \f$\bar x_k = \sum_i \bar y_i y_i(\delta_{ik} - y_k) = y_k(\bar y_k - \sum_i \bar y_i y_i)\f$.
Tensor softmax(const Tensor& x, std::int64_t dim) {
  Tensor out = normalize_forward(x, dim, /*take_log=*/false, "softmax");
  return record("softmax", {x}, out, [y = SavedTensor::output(out), dim](const Tensor& g, auto&) {
    const Tensor p = y.get();
    return Grads{p * (g - sum(g * p, {dim}, /*keepdim=*/true))};
  });
}

/// Log-softmax along `dim`: \f$y_i = x_i - \log\sum_j e^{x_j}\f$, computed stably.
/// −∞ inputs give −∞; a row of nothing but −∞ gives NaN, as in PyTorch.
///
/// Backward, with the saved output y: \f$\partial y_i / \partial x_k = \delta_{ik} - e^{y_k}\f$
/// (\f$e^{y}\f$ is the softmax), hence \f$\bar x_k = \bar y_k - e^{y_k}\sum_i \bar y_i\f$.
Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  Tensor out = normalize_forward(x, dim, /*take_log=*/true, "log_softmax");
  return record("log_softmax", {x}, out,
                [y = SavedTensor::output(out), dim](const Tensor& g, auto&) {
                  return Grads{g - exp(y.get()) * sum(g, {dim}, /*keepdim=*/true)};
                });
}

}  // namespace zoo
