#pragma once
/// @file join.h
/// @brief Joining and splitting along a dim: cat, stack, split, chunk.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace zoo {

/// Concatenates along `dim`; all other sizes must agree. The gradient of each input is
/// its slice of the output gradient.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Stacks equal-shaped tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Views of consecutive pieces of `split_size` along `dim` (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
/// Views of pieces with the given sizes, which must add up to the dim's size.
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes,
                          std::int64_t dim = 0);
/// `chunks` views of (nearly) equal size along `dim`, as `torch.chunk`.
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);

}  // namespace zoo
