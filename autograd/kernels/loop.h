#pragma once
/// @file loop.h
/// @brief The one strided loop under every element-wise kernel.
///
/// An element-wise op visits every position of the output shape and, for each operand,
/// the element at that position (through its strides; a broadcast operand has stride 0).
/// Two tricks keep it fast:
///  - *coalescing*: adjacent dims that are laid out back to back in every operand are
///    merged, so contiguous tensors become one long 1-D loop whatever their shape;
///  - *inner runs*: the kernel gets a run along the innermost dim (offsets, steps, count)
///    and loops over it itself, so the compiler can vectorise the common unit-step case.

#include <array>
#include <cstdint>
#include <vector>

#include "autograd/parallel.h"
#include "autograd/shape.h"

namespace zoo::kernels {

/// Merges dims d and d+1 wherever, for every operand, stride[d] == stride[d+1]·size[d+1].
/// Size-1 dims are dropped. Shape and strides are rewritten in place.
template <std::size_t N>
void coalesce(Shape& shape, std::array<Strides, N>& strides) {
  Shape new_shape;
  std::array<Strides, N> new_strides;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool mergeable = !new_shape.empty();
    for (std::size_t k = 0; k < N && mergeable; ++k)
      mergeable = new_strides[k].back() == strides[k][d] * shape[d];
    if (mergeable) {
      new_shape.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) new_strides[k].back() = strides[k][d];
    } else {
      new_shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) new_strides[k].push_back(strides[k][d]);
    }
  }
  shape = std::move(new_shape);
  strides = std::move(new_strides);
}

/// Calls `inner(offsets, steps, count)` for consecutive runs that together cover every
/// position of `shape` in row-major order, in parallel chunks of at least `grain`
/// positions. `offsets[k]` is operand k's element offset at the run's start and
/// `steps[k]` its stride along the run. `strides[k]` must already be broadcast to
/// `shape` (0 where operand k is broadcast).
template <std::size_t N, class Inner>
void strided_loop(Shape shape, std::array<Strides, N> strides,
                  const std::array<std::int64_t, N>& base, std::int64_t grain,
                  const Inner& inner) {
  const std::int64_t total = numel_of(shape);
  if (total == 0) return;
  coalesce(shape, strides);
  if (shape.empty()) {  // a single element
    std::array<std::int64_t, N> steps{};
    inner(base, steps, std::int64_t{1});
    return;
  }
  const std::size_t nd = shape.size();
  const std::int64_t inner_size = shape[nd - 1];
  std::array<std::int64_t, N> steps;
  for (std::size_t k = 0; k < N; ++k) steps[k] = strides[k][nd - 1];

  parallel_for(0, total, grain, [&](std::int64_t begin, std::int64_t end) {
    // Position of `begin` as a multi-index, and each operand's offset there.
    std::vector<std::int64_t> index(nd);
    std::int64_t rest = begin;
    for (std::size_t d = nd; d-- > 0;) {
      index[d] = rest % shape[d];
      rest /= shape[d];
    }
    std::array<std::int64_t, N> offsets = base;
    for (std::size_t d = 0; d < nd; ++d)
      for (std::size_t k = 0; k < N; ++k) offsets[k] += index[d] * strides[k][d];

    std::int64_t pos = begin;
    while (pos < end) {
      const std::int64_t run = std::min(inner_size - index[nd - 1], end - pos);
      inner(offsets, steps, run);
      pos += run;
      // Advance the multi-index by `run` positions (carry into outer dims).
      index[nd - 1] += run;
      for (std::size_t k = 0; k < N; ++k) offsets[k] += run * steps[k];
      for (std::size_t d = nd - 1; d > 0 && index[d] == shape[d]; --d) {
        index[d] = 0;
        index[d - 1] += 1;
        for (std::size_t k = 0; k < N; ++k)
          offsets[k] += strides[k][d - 1] - shape[d] * strides[k][d];
      }
    }
  });
}

/// Strides of a tensor with `shape`/`strides` seen as broadcast to `out_shape`:
/// leading dims that broadcasting adds, and size-1 dims that it repeats, get stride 0.
inline Strides broadcast_strides(const Shape& shape, const Strides& strides,
                                 const Shape& out_shape) {
  Strides out(out_shape.size(), 0);
  const std::size_t lead = out_shape.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d)
    out[lead + d] = shape[d] == 1 ? 0 : strides[d];
  return out;
}

}  // namespace zoo::kernels
