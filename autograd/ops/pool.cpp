/// @file pool.cpp
/// @brief Pooling and nearest-neighbour resizing, composed from differentiable ops.
///
/// Shape letters: N batch, C channels, H, W input size, kh, kw kernel, OH, OW output
/// size, L = OH·OW window positions.
///
/// A pooling layer looks at the same windows as a convolution, so it reuses `im2col`:
/// unfold the windows into columns (N, C·kh·kw, L), view them as (N, C, kh·kw, L), and
/// reduce the window dim. The gradient then comes from the reduction (to the argmax
/// for max, spread evenly for mean) followed by im2col's backward, col2im.

#include "autograd/ops/pool.h"

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/factories.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/ops/reduce.h"

namespace zoo {
namespace {

/// The output size (OH, OW) of a pooling window over x (N, C, H, W), after checking
/// everything about the arguments. `stride` must already have its default applied.
Pair pool_output_size(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding,
                      Pair dilation) {
  ZOO_CHECK(x.defined() && x.dim() == 4, "{}: expected a 4-D input (N, C, H, W), got shape {}", op,
            x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {}", op, x.dtype());
  ZOO_CHECK(kernel[0] > 0 && kernel[1] > 0, "{}: kernel size must be positive, got {}", op, kernel);
  ZOO_CHECK(stride[0] > 0 && stride[1] > 0, "{}: stride must be positive, got {}", op, stride);
  ZOO_CHECK(dilation[0] > 0 && dilation[1] > 0, "{}: dilation must be positive, got {}", op,
            dilation);
  Pair out{};
  for (int a = 0; a < 2; ++a) {
    const std::int64_t n = x.size(2 + a);
    const std::int64_t extent = dilation[a] * (kernel[a] - 1) + 1;  // the dilated kernel
    // As in PyTorch: a window must never lie entirely in the padding.
    ZOO_CHECK(padding[a] >= 0 && 2 * padding[a] <= extent,
              "{}: padding {} must be non-negative and at most half the (dilated) kernel size {}",
              op, padding,
              Pair{dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1});
    ZOO_CHECK(
        n + 2 * padding[a] >= extent,
        "{}: the kernel {} (dilation {}) is larger than the padded input (shape {}, padding {})",
        op, kernel, dilation, x.shape(), padding);
    out[a] = (n + 2 * padding[a] - extent) / stride[a] + 1;
  }
  return out;
}

/// Stride 0 (the default) means "stride = kernel": windows that tile the image.
Pair default_stride(Pair kernel, Pair stride) {
  return {stride[0] == 0 ? kernel[0] : stride[0], stride[1] == 0 ? kernel[1] : stride[1]};
}

/// Source indices of nearest-neighbour resizing along one axis, as an int64 tensor:
/// \f$\text{src}(d) = \lfloor d \cdot n_\text{in} / n_\text{out} \rfloor\f$, d = 0..n_out−1.
/// Computed in integers, so it is exact (always < n_in).
Tensor nearest_source_index(std::int64_t in, std::int64_t out) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(out));
  for (std::int64_t d = 0; d < out; ++d) index[d] = d * in / out;
  return from_vector(index);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding, Pair dilation) {
  // x: (N, C, H, W)  ->  (N, C, OH, OW);  y[n, c, l] = max_k cols[n, c, k, l]
  const Pair stride = default_stride(kernel, stride_in);
  const auto [OH, OW] = pool_output_size("max_pool2d", x, kernel, stride, padding, dilation);
  const std::int64_t N = x.size(0), C = x.size(1), K = kernel[0] * kernel[1];
  // Padding is −∞, so it never wins over a pixel of its window.
  const Tensor cols = im2col(x, kernel, stride, padding, dilation,
                             -std::numeric_limits<double>::infinity());  // (N, C·K, L)
  // max along a dim gathers the values at the argmax: the gradient flows to it alone.
  const Tensor values = max(cols.reshape({N, C, K, OH * OW}), 2).first;  // (N, C, L)
  return values.reshape({N, C, OH, OW});
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding) {
  // x: (N, C, H, W)  ->  (N, C, OH, OW);  y[n, c, l] = (1/(kh·kw)) Σ_k cols[n, c, k, l]
  const Pair stride = default_stride(kernel, stride_in);
  const auto [OH, OW] = pool_output_size("avg_pool2d", x, kernel, stride, padding, {1, 1});
  const std::int64_t N = x.size(0), C = x.size(1), K = kernel[0] * kernel[1];
  // Zero padding, and the padded zeros count in the divisor (PyTorch's count_include_pad).
  const Tensor cols = im2col(x, kernel, stride, padding, {1, 1}, 0.0);  // (N, C·K, L)
  const Tensor values = mean(cols.reshape({N, C, K, OH * OW}), {2});    // (N, C, L)
  return values.reshape({N, C, OH, OW});
}

Tensor interpolate_nearest(const Tensor& x, Pair size) {
  // x: (N, C, H, W)  ->  (N, C, size[0], size[1]);  y[n, c, h, w] = x[n, c, src(h), src(w)]
  ZOO_CHECK(x.defined() && x.dim() == 4,
            "interpolate_nearest: expected a 4-D input (N, C, H, W), got shape {}",
            x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(size[0] > 0 && size[1] > 0, "interpolate_nearest: output size must be positive, got {}",
            size);
  ZOO_CHECK(x.size(2) > 0 && x.size(3) > 0,
            "interpolate_nearest: cannot resize an empty image (input shape {}) to {}", x.shape(),
            size);
  // Two gathers of whole rows, then whole columns; index_select's backward (index_add)
  // sums the gradients of the copies of each source pixel.
  const Tensor rows =
      index_select(x, 2, nearest_source_index(x.size(2), size[0]));        // (N, C, OH, W)
  return index_select(rows, 3, nearest_source_index(x.size(3), size[1]));  // (N, C, OH, OW)
}

}  // namespace zoo
