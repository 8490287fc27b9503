#pragma once
/// @file pool.h
/// @brief Pooling and resizing of (N, C, H, W) images.

#include "autograd/ops/conv.h"

namespace zoo {

/// Largest value of each window of x (N, C, H, W): \f$y_{n,c,oh,ow} = \max_{i,j}
/// x_{n,c,\,oh\cdot s_h - p_h + i\cdot d_h,\,ow\cdot s_w - p_w + j\cdot d_w}\f$ (padding counts
/// as −∞). A stride of 0 (the default) means stride = kernel. Padding may be at most half
/// the dilated kernel, as in PyTorch, and every window must hold a pixel of the image.
/// Computed as x gathered at `max_pool2d_indices`,
/// \f$y_{n,c,l} = x_{n,c,\,\mathrm{idx}_{n,c,l}}\f$ over the flattened H·W plane, so the
/// gradient flows to the first maximum of each window (gather's backward, scatter_add).
/// Result: (N, C, OH, OW) with OH, OW as in `im2col`.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0},
                  Pair dilation = {1, 1});
/// Where `max_pool2d` finds each maximum: the int64 index ih·W + iw, within x's H×W
/// plane, of the largest pixel of each window, \f$\mathrm{idx}_{n,c,oh,ow} =
/// \operatorname{argmax}_{(ih, iw) \in \text{window}(oh, ow)} x_{n,c,ih,iw}\f$ (padding never
/// wins). Ties go to the first pixel in (i, j) order; a NaN beats every number (the first NaN
/// wins), so NaNs propagate as in PyTorch. The flat indices are PyTorch's
/// `return_indices=True`. Arguments as in `max_pool2d`; result (N, C, OH, OW), not
/// differentiable.
Tensor max_pool2d_indices(const Tensor& x, Pair kernel, Pair stride = {0, 0},
                          Pair padding = {0, 0}, Pair dilation = {1, 1});
/// Mean of each window of x (N, C, H, W), \f$\frac{1}{k_h k_w}\sum_{i,j} x_{\dots}\f$: zero
/// padding is included in the count (PyTorch's default `count_include_pad=True`). A stride
/// of 0 (the default) means stride = kernel; padding may be at most half the kernel.
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
/// Nearest-neighbour resize of x (N, C, H, W) to (N, C, size[0], size[1]): the output pixel
/// (h, w) copies x[.., ⌊h·H/size[0]⌋, ⌊w·W/size[1]⌋] (PyTorch's mode="nearest").
/// The gradient of a source pixel is the sum over its copies.
Tensor interpolate_nearest(const Tensor& x, Pair size);

}  // namespace zoo
