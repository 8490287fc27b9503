/// @file factories.cpp
/// @brief Tensors from constants, ranges and random draws.

#include "autograd/factories.h"

#include <cmath>

namespace zoo {

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    const T v = static_cast<T>(value);
    std::fill(p, p + t.numel(), v);
  });
  return t;
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  ZOO_CHECK(step != 0, "arange: step must be nonzero");
  ZOO_CHECK((end - start) / step >= 0 || start == end,
            "arange: the range [{}, {}) cannot be walked with step {}", start, end, step);
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({std::max<std::int64_t>(n, 0)}, dtype);
  dispatch_numeric(dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor arange(std::int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor linspace(double start, double end, std::int64_t steps, DType dtype) {
  ZOO_CHECK(steps >= 0, "linspace: steps must be non-negative, got {}", steps);
  Tensor t = empty({steps}, dtype);
  dispatch_numeric(dtype, "linspace", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
    // Fill from both ends, as PyTorch does, so that the last value is exactly `end`.
    for (std::int64_t i = 0; i < steps; ++i)
      p[i] = static_cast<T>(i < steps / 2 ? start + step * static_cast<double>(i)
                                          : end - step * static_cast<double>(steps - 1 - i));
  });
  return t;
}

Tensor eye(std::int64_t n, std::int64_t m, DType dtype) {
  if (m < 0) m = n;
  ZOO_CHECK(n >= 0, "eye: n must be non-negative, got {}", n);
  Tensor t = zeros({n, m}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "rand", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.uniform());
  });
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.normal());
  });
  return t;
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, DType dtype,
               Generator& gen) {
  ZOO_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  Tensor t = empty(shape, dtype);
  dispatch_numeric(dtype, "randint", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.randint(low, high));
  });
  return t;
}

Tensor randperm(std::int64_t n, Generator& gen) {
  Tensor t = arange(n);
  std::int64_t* p = t.data_ptr<std::int64_t>();
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[gen.randint(0, i + 1)]);
  return t;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape) {
  if (shape == Shape{-1}) shape = {static_cast<std::int64_t>(values.size())};
  ZOO_CHECK(numel_of(shape) == static_cast<std::int64_t>(values.size()),
            "from_vector: {} values do not fill shape {}", values.size(), shape);
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data_ptr<T>());
  return t;
}
template Tensor from_vector<float>(const std::vector<float>&, Shape);
template Tensor from_vector<double>(const std::vector<double>&, Shape);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, Shape);

template <>
Tensor from_vector<bool>(const std::vector<bool>& values, Shape shape) {
  std::vector<std::int64_t> ints(values.begin(), values.end());
  return from_vector(ints, std::move(shape)).to(kBool);
}

Tensor tensor(std::initializer_list<double> values, DType dtype) {
  return from_vector(std::vector<double>(values), {static_cast<std::int64_t>(values.size())})
      .to(dtype);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, DType dtype) {
  std::vector<double> flat;
  const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
  for (const auto& row : rows) {
    ZOO_CHECK(row.size() == cols, "tensor: rows have different lengths ({} and {})", cols,
              row.size());
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return from_vector(flat, {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(cols)})
      .to(dtype);
}

}  // namespace zoo
