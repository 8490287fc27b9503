#include "nn/data/dataset.h"

#include <cstring>

#include "autograd/error.h"

namespace zoo::nn {
namespace {

/// Rows `indices` of the contiguous tensor `src` (N, ...) as a new tensor (B, ...).
Tensor gather_rows(const Tensor& src, const std::vector<std::int64_t>& indices) {
  Shape shape = src.shape();
  const std::int64_t n = shape[0];
  shape[0] = static_cast<std::int64_t>(indices.size());
  Tensor out = empty(shape, src.dtype());
  const std::size_t row_bytes = (n == 0 ? 0 : src.numel() / n) * element_size(src.dtype());
  const auto* from =
      static_cast<const char*>(src.storage().data()) + src.offset() * element_size(src.dtype());
  auto* to = static_cast<char*>(out.storage().data());
  for (std::size_t b = 0; b < indices.size(); ++b) {
    const std::int64_t i = indices[b];
    ZOO_CHECK(i >= 0 && i < n, "TensorDataset: index {} is out of range for {} examples", i, n);
    std::memcpy(to + b * row_bytes, from + i * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace

Example Dataset::get(std::int64_t index) const {
  Example batch = get_batch({index});
  return {batch.input.select(0, 0), batch.target.select(0, 0)};
}

TensorDataset::TensorDataset(const Tensor& inputs, const Tensor& targets) {
  ZOO_CHECK(inputs.defined() && targets.defined(),
            "TensorDataset: inputs and targets must be defined");
  ZOO_CHECK(inputs.dim() >= 1 && targets.dim() >= 1,
            "TensorDataset: inputs and targets need a first dim that indexes the examples, got "
            "shapes {} and {}",
            inputs.shape(), targets.shape());
  ZOO_CHECK(inputs.size(0) == targets.size(0),
            "TensorDataset: {} inputs (shape {}) but {} targets (shape {})", inputs.size(0),
            inputs.shape(), targets.size(0), targets.shape());
  inputs_ = inputs.detach().contiguous();
  targets_ = targets.detach().contiguous();
}

Example TensorDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  return {gather_rows(inputs_, indices), gather_rows(targets_, indices)};
}

}  // namespace zoo::nn
