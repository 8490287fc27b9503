#pragma once
/// @file pool.h
/// @brief Pooling and resizing of (N, C, H, W) images.

#include "autograd/ops/conv.h"

namespace zoo {

/// Largest value of each window (padding counts as −∞); stride defaults to the kernel.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0},
                  Pair dilation = {1, 1});
/// Mean of each window (zero padding included in the count, as PyTorch's default).
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
/// Nearest-neighbour resize to `size` (H, W): source index floor(dst · in / out).
Tensor interpolate_nearest(const Tensor& x, Pair size);

}  // namespace zoo
