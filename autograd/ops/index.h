#pragma once
/// @file index.h
/// @brief Indexing with int64 index tensors: select, gather, scatter, masks, one-hot,
/// embedding lookup and top-k. Every index is bounds-checked.

#include <cstdint>
#include <utility>

#include "autograd/tensor.h"

namespace zoo {

/// Entries `index[i]` of dimension `dim` (index is 1-D int64). Backward: `index_add`.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// `self` with `src` added at positions `index` of dimension `dim` (repeats add up):
/// out[..., index[i], ...] += src[..., i, ...]. Out of place.
Tensor index_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);
/// out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims); `index` has
/// the output's shape. Backward: `scatter_add`.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// `self` with out[index[i][j]][j] += src[i][j] (dim 0; likewise for others). Out of place.
Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);
/// `value` where `mask` (bool, broadcast to x) is true, x elsewhere.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
/// int64 class indices to a one-hot int64 tensor with a new last dim of `num_classes`
/// (-1: max index + 1).
Tensor one_hot(const Tensor& index, std::int64_t num_classes = -1);
/// Rows of `weight` (V×D) picked by int64 `index` of any shape: the result has shape
/// index.shape + (D). Gradient rows for repeated indices add up.
Tensor embedding(const Tensor& weight, const Tensor& index);
/// The k largest (or smallest) values along `dim` and their int64 indices, sorted
/// (largest first) when `sorted`.
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1,
                               bool largest = true, bool sorted = true);

}  // namespace zoo
