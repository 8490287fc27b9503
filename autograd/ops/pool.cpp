/// @file pool.cpp
/// @brief Pooling and nearest-neighbour resizing, composed from differentiable ops.
///
/// Shape letters: N batch, C channels, H, W input size, kh, kw kernel, OH, OW output
/// size, L = OH·OW window positions.
///
/// Max pooling has a kernel of its own that finds the argmax of every window
/// (`max_pool2d_indices`); the values are then gathered at those indices, and gather's
/// backward (scatter_add) sends each gradient to its window's maximum. Average pooling
/// looks at the same windows as a convolution, so it reuses `im2col`: unfold the windows
/// into columns (N, C·kh·kw, L), view them as (N, C, kh·kw, L), and take the mean over
/// the window dim; its gradient is spread evenly and folded back by col2im.

#include "autograd/ops/pool.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "autograd/factories.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/ops/reduce.h"
#include "autograd/parallel.h"

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

/// The taps i (of k, spaced d apart) of a window that starts at `start` and that fall
/// inside an axis of size n, as the range [lo, hi) (empty if the window reads only padding).
std::pair<std::int64_t, std::int64_t> taps_inside(std::int64_t start, std::int64_t k,
                                                  std::int64_t d, std::int64_t n) {
  const std::int64_t lo = start < 0 ? (-start + d - 1) / d : 0;  // first tap at or after 0
  const std::int64_t hi = start >= n ? 0 : std::min(k, (n - 1 - start) / d + 1);  // last before n
  return {lo, std::max(lo, hi)};
}

/// `taps_inside` for each of the `out` windows along one axis (window o starts at o·s − p).
std::vector<std::pair<std::int64_t, std::int64_t>> taps_of_windows(std::int64_t out,
                                                                   std::int64_t k, std::int64_t s,
                                                                   std::int64_t p, std::int64_t d,
                                                                   std::int64_t n) {
  std::vector<std::pair<std::int64_t, std::int64_t>> taps(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) taps[o] = taps_inside(o * s - p, k, d, n);
  return taps;
}

/// Throws if a max-pooling window along `axis` (0: height, 1: width) of x lies entirely
/// in the padding (possible only with dilation, when the taps step over the whole
/// image): its maximum would be −∞, with no pixel to send the gradient to.
void check_windows_hold_a_pixel(const Tensor& x, int axis, std::int64_t out, Pair kernel,
                                Pair stride, Pair padding, Pair dilation) {
  for (std::int64_t o = 0; o < out; ++o) {
    const auto [lo, hi] = taps_inside(o * stride[axis] - padding[axis], kernel[axis],
                                      dilation[axis], x.size(2 + axis));
    ZOO_CHECK(lo < hi,
              "max_pool2d: window {} along dim {} (kernel {}, stride {}, padding {}, dilation "
              "{}) reads only padding; the input has shape {}",
              o, 2 + axis, kernel, stride, padding, dilation, x.shape());
  }
}

/// idx[p, oh, ow] = ih·W + iw of the largest x[p, ih, iw] in the window at
/// (oh·sh − ph, ow·sw − pw) with dilation (dh, dw), over the taps inside the image.
/// x: (P, H, W) contiguous planes; idx: (P, OH, OW). Each plane is done by one thread.
template <class T>
void max_pool_index_kernel(const T* x, std::int64_t* idx, std::int64_t planes, std::int64_t H,
                           std::int64_t W, std::int64_t OH, std::int64_t OW, Pair k, Pair s,
                           Pair p, Pair d) {
  const auto rows = taps_of_windows(OH, k[0], s[0], p[0], d[0], H);  // [i0, i1) of each oh
  const auto cols = taps_of_windows(OW, k[1], s[1], p[1], d[1], W);  // [j0, j1) of each ow
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainSize / (H * W + 1));
  parallel_for(0, planes, grain, [&](std::int64_t begin, std::int64_t end) {
    // Local copies: the compiler cannot tell that the writes to `out` leave them alone.
    const std::int64_t sh = s[0], sw = s[1], ph = p[0], pw = p[1], dh = d[0], dw = d[1];
    for (std::int64_t plane = begin; plane < end; ++plane) {
      const T* img = x + plane * H * W;
      std::int64_t* out = idx + plane * OH * OW;
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        const auto [i0, i1] = rows[oh];
        const std::int64_t top = oh * sh - ph;  // the window's first row (maybe padding)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const auto [j0, j1] = cols[ow];
          const std::int64_t left = ow * sw - pw;  // and its first column
          // The flat index of tap (i, j) of this window.
          const auto at = [&](std::int64_t i, std::int64_t j) {
            return (top + i * dh) * W + left + j * dw;
          };
          // Strictly greater, so ties keep the first tap. NaN compares false and never
          // wins here; it is only noted, and such (rare) windows are searched again for
          // their first NaN, which beats every number. Keeping the NaN test out of the
          // comparison lets the compiler use conditional moves: on real data the
          // comparison is a coin toss, and with a branch per tap the kernel ran 4x slower.
          std::int64_t best = at(i0, j0);
          T best_v = img[best];
          bool saw_nan = false;
          for (std::int64_t i = i0; i < i1; ++i) {
            for (std::int64_t j = j0; j < j1; ++j) {
              const T v = img[at(i, j)];
              best = v > best_v ? at(i, j) : best;
              best_v = v > best_v ? v : best_v;
              saw_nan |= v != v;
            }
          }
          for (std::int64_t i = i0; saw_nan && i < i1; ++i) {
            for (std::int64_t j = j0; saw_nan && j < j1; ++j) {
              if (img[at(i, j)] != img[at(i, j)]) {
                best = at(i, j);
                saw_nan = false;  // found the first NaN: stop looking
              }
            }
          }
          *out++ = best;
        }
      }
    }
  });
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

Tensor max_pool2d_indices(const Tensor& x, Pair kernel, Pair stride_in, Pair padding,
                          Pair dilation) {
  // x: (N, C, H, W)  ->  idx: (N, C, OH, OW), int64 in [0, H·W)
  const Pair stride = default_stride(kernel, stride_in);
  // Named variables, not a structured binding: the lambda below uses them, and clang
  // before 16 cannot capture a structured binding (the fuzzing build uses clang 14).
  const Pair out_size = pool_output_size("max_pool2d", x, kernel, stride, padding, dilation);
  const std::int64_t OH = out_size[0], OW = out_size[1];
  check_windows_hold_a_pixel(x, 0, OH, kernel, stride, padding, dilation);
  check_windows_hold_a_pixel(x, 1, OW, kernel, stride, padding, dilation);
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const Tensor xc = x.detach().contiguous();
  Tensor idx = empty({N, C, OH, OW}, kInt64);
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool_index_kernel<T>(xc.data_ptr<T>(), idx.data_ptr<std::int64_t>(), N * C, H, W, OH,
                             OW, kernel, stride, padding, dilation);
  });
  return idx;
}

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  // x: (N, C, H, W)  ->  (N, C, OH, OW);  y[n, c, l] = x[n, c, idx[n, c, l]] over H·W
  const Tensor idx = max_pool2d_indices(x, kernel, stride, padding, dilation);
  const std::int64_t N = x.size(0), C = x.size(1), OH = idx.size(2), OW = idx.size(3);
  // gather's backward, scatter_add, sends each gradient to its window's maximum (and
  // scatter_add's backward is gather again, so second derivatives come for free).
  const Tensor values =
      gather(x.reshape({N, C, x.size(2) * x.size(3)}), 2, idx.view({N, C, OH * OW}));
  return values.view({N, C, OH, OW});
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
