#pragma once
/// @file conv.h
/// @brief 2-D convolution as im2col + GEMM, its transpose, and the im2col/col2im pair.

#include <array>
#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// Two sizes, (height, width): a kernel, a stride, a padding or a dilation.
using Pair = std::array<std::int64_t, 2>;

/// Where im2col puts the batch. Both layouts hold the same numbers: row
/// r = c·kh·kw + i·kw + j and column l = oh·OW + ow of image n.
enum class ColumnLayout {
  /// (N, C·kh·kw, L): one column matrix per image, like `torch.nn.functional.unfold`.
  kPerImage,
  /// (C·kh·kw, N, L): the images' columns side by side, so that viewed as
  /// (C·kh·kw, N·L) the whole batch is one matrix (conv_transpose2d multiplies it
  /// in a single GEMM).
  kBatched,
};

/// Unfolds every kernel-sized patch of x (N, C, H, W) into a column:
/// the result is (N, C·kh·kw, L) with L = OH·OW the number of window positions,
/// \f$OH = \lfloor (H + 2p_h - d_h(k_h - 1) - 1) / s_h \rfloor + 1\f$ (likewise OW), and
/// row c·kh·kw + i·kw + j, column oh·OW + ow holding x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]
/// (`pad_value` outside the image). Like `torch.nn.functional.unfold`. With
/// `ColumnLayout::kBatched` the result is (C·kh·kw, N, L) instead. Backward: `col2im`.
/// Floating dtypes only; the (dilated) kernel must fit in the padded image.
Tensor im2col(const Tensor& x, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
              Pair dilation = {1, 1}, double pad_value = 0.0,
              ColumnLayout layout = ColumnLayout::kPerImage);
/// The adjoint of `im2col`: adds each column's entries back into an (N, C, H, W) image
/// of size `output_size` = (H, W) (overlaps add up; entries that fall in the padding are
/// dropped). `cols` is (N, C·kh·kw, L), or (C·kh·kw, N, L) with `ColumnLayout::kBatched`,
/// and L must be the number of window positions over an H×W image. Like
/// `torch.nn.functional.fold`. Backward: `im2col`. Deterministic: each (n, c) image is
/// summed by one thread.
Tensor col2im(const Tensor& cols, Pair output_size, Pair kernel, Pair stride = {1, 1},
              Pair padding = {0, 0}, Pair dilation = {1, 1},
              ColumnLayout layout = ColumnLayout::kPerImage);

/// \f$y_{n,o} = b_o + \sum_{c}\sum_{i,j} w_{o,c,i,j}\,
/// x_{n,\,g C/G + c,\; oh\cdot s_h + i\cdot d_h - p_h,\; ow\cdot s_w + j\cdot d_w - p_w}\f$
/// with c over the C/G input channels of output o's group g.
/// x: (N, C, H, W); w: (O, C/groups, kh, kw); bias: (O) or undefined. Result:
/// (N, O, OH, OW), with OH, OW as in `im2col`.
///
/// Computed image by image: unfold one image (im2col), one GEMM per group from the
/// bias, (O/G, C/G·kh·kw) @ columns. The backward unfolds each image again and runs
///   \f$\bar w_g \mathrel{+}= \bar y_{n,g}\,\mathrm{cols}_{n,g}^\top\f$,
///   \f$\bar x_n = \mathrm{col2im}(w_g^\top \bar y_{n,g})\f$,
///   \f$\bar b_o = \sum_{n,oh,ow} \bar y_{n,o}\f$.
/// With `create_graph`, the gradients are those of `conv2d_reference`, so they can be
/// differentiated again.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1},
              std::int64_t groups = 1);
/// The same convolution composed of differentiable ops, im2col(x) and one batched
/// `matmul` ((1, G, O/G, K) @ (N, G, K, L)), plus the bias: no backward code of its own.
/// The readable definition, the reference `conv2d` is tested against, and the path of
/// its higher-order gradients.
Tensor conv2d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1},
                        std::int64_t groups = 1);
/// The transpose (adjoint) of conv2d in x: \f$\langle \mathrm{conv2d}(x, w), y\rangle =
/// \langle x, \mathrm{conv\_transpose2d}(y, w)\rangle\f$, computed as col2im(wᵀ @ x), one GEMM
/// per group for the whole batch (the `ColumnLayout::kBatched` columns).
/// x: (N, C_in, H, W); w: (C_in, C_out/groups, kh, kw); bias: (C_out) or undefined. The
/// output is (N, C_out, OH, OW) with OH = (H−1)·s − 2p + d·(k−1) + output_padding + 1
/// (likewise OW). `output_padding` must be smaller than the stride (PyTorch also allows
/// values below the dilation; zoo does not).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        Pair stride = {1, 1}, Pair padding = {0, 0}, Pair output_padding = {0, 0},
                        std::int64_t groups = 1, Pair dilation = {1, 1});

}  // namespace zoo
