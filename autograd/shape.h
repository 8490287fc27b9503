#pragma once
/// @file shape.h
/// @brief Shapes and strides: element counts, row-major strides, broadcasting, dim wrapping.

#include <cstdint>
#include <string_view>
#include <vector>

namespace zoo {

/// Sizes of each dimension, outermost first. `{}` is the shape of a scalar (0-dim tensor).
using Shape = std::vector<std::int64_t>;
/// Elements to skip to move one step along each dimension.
using Strides = std::vector<std::int64_t>;

/// Product of the sizes (1 for a scalar, 0 if any size is 0).
std::int64_t numel_of(const Shape& shape);

/// True if a tensor can have this shape: no size is negative, and the product of the
/// sizes, a size 0 counted as 1, fits in 64 bits. That product is the largest
/// contiguous stride, so a shape such as (0, 2^40, 2^40), which holds no element, still
/// fails. Readers check it on the shapes a file announces before making a tensor.
bool shape_fits_in_64_bits(const Shape& shape);

/// Row-major ("C-contiguous") strides: the last dimension moves fastest.
/// For shape (2, 3, 4) these are (12, 4, 1).
Strides contiguous_strides(const Shape& shape);

/// The NumPy broadcast of two shapes: align them on the right; each pair of sizes must
/// be equal or one of them 1; the result takes the larger. Throws naming `op` otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

/// Turns a possibly negative dim (-1 = last) into 0..ndim-1, or throws naming `op`.
int normalize_dim(std::int64_t dim, std::int64_t ndim, std::string_view op);

/// Normalizes a list of dims; an empty list means "all dims". Duplicates are an error.
std::vector<int> normalize_dims(const std::vector<std::int64_t>& dims, std::int64_t ndim,
                                std::string_view op);

}  // namespace zoo
