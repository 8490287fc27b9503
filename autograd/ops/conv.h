#pragma once
/// @file conv.h
/// @brief 2-D convolution as im2col + GEMM, its transpose, and the im2col/col2im pair.

#include <array>
#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

using Pair = std::array<std::int64_t, 2>;

/// Unfolds every kernel-sized patch of x (N, C, H, W) into a column:
/// the result is (N, C·kh·kw, L) with L the number of output positions, row
/// c·kh·kw + i·kw + j holding x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]
/// (`pad_value` outside the image). Like `torch.nn.functional.unfold`. Backward: `col2im`.
Tensor im2col(const Tensor& x, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
              Pair dilation = {1, 1}, double pad_value = 0.0);
/// The adjoint of `im2col`: adds each column's entries back into an (N, C, H, W) image
/// of size `output_size` (overlaps add up). Like `torch.nn.functional.fold`.
Tensor col2im(const Tensor& cols, Pair output_size, Pair kernel, Pair stride = {1, 1},
              Pair padding = {0, 0}, Pair dilation = {1, 1});

/// y[n, o] = b[o] + Σ_c Σ_{i,j} w[o, c, i, j] · x[n, c, oh·s + i·d − p, ow·s + j·d − p],
/// computed as (O, C·kh·kw) @ im2col(x) per group. x: (N, C, H, W); w: (O, C/groups, kh, kw);
/// bias: (O) or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1},
              std::int64_t groups = 1);
/// The transpose (adjoint) of conv2d in x: w is (C_in, C_out/groups, kh, kw); the output
/// size is (H−1)·s − 2p + d·(k−1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        Pair stride = {1, 1}, Pair padding = {0, 0}, Pair output_padding = {0, 0},
                        std::int64_t groups = 1, Pair dilation = {1, 1});

}  // namespace zoo
