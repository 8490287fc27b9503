#pragma once
/// @file copy.h
/// @brief Copying elements between strided tensors, converting the dtype on the way.

#include "autograd/tensor.h"

namespace zoo::kernels {

/// dst[i] = (dst's type) src[i] for every position of dst; src must broadcast to dst's
/// shape. Does not touch autograd metadata or version counters.
void copy_elements(const Tensor& dst, const Tensor& src);

}  // namespace zoo::kernels
