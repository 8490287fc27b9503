#include "autograd/shape.h"

#include <algorithm>

#include "autograd/error.h"

namespace zoo {

std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

bool shape_fits_in_64_bits(const Shape& shape) {
  std::int64_t product = 1;
  for (auto s : shape) {
    if (s < 0 || __builtin_mul_overflow(product, std::max<std::int64_t>(s, 1), &product)) return false;
  }
  return true;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Align on the right: missing leading dims count as size 1.
    const std::int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    ZOO_CHECK(sa == sb || sa == 1 || sb == 1,
              "{}: shapes {} and {} cannot be broadcast (dimension {}: {} vs {})", op, a, b, i, sa,
              sb);
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

int normalize_dim(std::int64_t dim, std::int64_t ndim, std::string_view op) {
  // A scalar accepts dim 0 and -1, as in PyTorch.
  const std::int64_t range = std::max<std::int64_t>(ndim, 1);
  ZOO_CHECK(dim >= -range && dim < range, "{}: dim {} is out of range for a tensor with {} dims",
            op, dim, ndim);
  return static_cast<int>(dim < 0 ? dim + range : dim);
}

std::vector<int> normalize_dims(const std::vector<std::int64_t>& dims, std::int64_t ndim,
                                std::string_view op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (int d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (auto d : dims) {
    int nd = normalize_dim(d, ndim, op);
    ZOO_CHECK(std::find(out.begin(), out.end(), nd) == out.end(), "{}: dim {} appears twice in {}",
              op, d, dims);
    out.push_back(nd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace zoo
