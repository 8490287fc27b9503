/// @file reduce.cpp
/// @brief Reductions. One kernel reduces the middle axis of an (O, R, I) layout:
/// out[o, i] = ⊕_r x[o, r, i]; any set of reduced dims is brought to that layout first.

#include "autograd/ops/reduce.h"

#include <cmath>
#include <limits>

#include "autograd/factories.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Sum in double for float32 (no precision lost over millions of pixels), else in the type.
template <class T> struct SumAcc { using type = T; };
template <> struct SumAcc<float> { using type = double; };
template <> struct SumAcc<bool> { using type = std::int64_t; };

struct SumOp {
  template <class T> static auto init() { return typename SumAcc<T>::type(0); }
  template <class A, class T> static A combine(A acc, T v) { return acc + static_cast<A>(v); }
  template <class A> static A merge(A a, A b) { return a + b; }
};
struct ProdOp {
  template <class T> static auto init() { return typename SumAcc<T>::type(1); }
  template <class A, class T> static A combine(A acc, T v) { return acc * static_cast<A>(v); }
  template <class A> static A merge(A a, A b) { return a * b; }
};
/// Maximum that propagates NaN, as PyTorch's does.
struct MaxOp {
  template <class T> static T init() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  template <class A, class T> static A combine(A acc, T v) { return (v > acc || v != v) ? v : acc; }
  template <class A> static A merge(A a, A b) { return combine(a, b); }
};
struct MinOp {
  template <class T> static T init() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  template <class A, class T> static A combine(A acc, T v) { return (v < acc || v != v) ? v : acc; }
  template <class A> static A merge(A a, A b) { return combine(a, b); }
};

/// The shape after reducing `dims` (kept as size 1 with keepdim).
Shape reduced_shape(const Shape& shape, const std::vector<int>& dims, bool keepdim) {
  Shape out;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

/// Σ of a contiguous run of floats, fast and accurate. A plain `acc += x[i]` loop cannot
/// be vectorised without -ffast-math (the compiler may not reorder the additions), so
/// the sum is kept in 16 independent lanes, which it can: one AVX-512 register, or two
/// AVX2 ones. Each block of 4096 values is summed that way in the value's type, then
/// added to a double total, so the rounding error grows with the block, not the row.
template <class T>
double fast_sum(const T* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 16, kBlock = 4096;
  double total = 0;
  for (std::int64_t start = 0; start < n; start += kBlock) {
    const std::int64_t len = std::min(kBlock, n - start);
    const T* p = x + start;
    T lanes[kLanes] = {};
    std::int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) lanes[k] += p[i + k];
    T block = 0;
    for (; i < len; ++i) block += p[i];
    for (std::int64_t k = 0; k < kLanes; ++k) block += lanes[k];
    total += static_cast<double>(block);
  }
  return total;
}

/// ⊕ of a contiguous run with `Op`: the vectorised `fast_sum` for floating sums, a plain
/// loop for everything else.
template <class Op, class T, class A>
A reduce_run(A acc, const T* x, std::int64_t n) {
  if constexpr (std::is_same_v<Op, SumOp> && std::is_floating_point_v<T>)
    return acc + static_cast<A>(fast_sum(x, n));
  for (std::int64_t r = 0; r < n; ++r) acc = Op::combine(acc, x[r]);
  return acc;
}

/// Reduces `dims` of x with `Op`, returning dtype R. The core of every reduction.
template <class Op, class T, class R>
Tensor reduce_kernel(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  using A = decltype(Op::template init<T>());
  const Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
  Tensor out = empty(out_shape, dtype_of<R>());
  R* po = out.data_ptr<R>();

  // Bring x to an (O, R, I) layout: contiguous with the reduced dims as one block.
  Tensor src = x;
  const bool block = !dims.empty() && dims.back() - dims.front() + 1 == static_cast<int>(dims.size());
  std::int64_t O = 1, Rn = 1, I = 1;
  if (block && x.is_contiguous()) {
    for (int d = 0; d < x.dim(); ++d)
      (d < dims.front() ? O : d <= dims.back() ? Rn : I) *= x.shape()[d];
  } else {
    std::vector<std::int64_t> order;
    for (int d = 0; d < x.dim(); ++d)
      if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
        order.push_back(d);
        O *= x.shape()[d];
      }
    for (int d : dims) {
      order.push_back(d);
      Rn *= x.shape()[d];
    }
    src = x.detach().permute(order).contiguous();
  }
  const T* px = src.data_ptr<T>();
  if (out.numel() == 0) return out;

  if (I == 1 && O < num_threads() && Rn >= 2 * kGrainSize) {
    // Few long rows (e.g. the sum of a whole tensor): split each row across threads and
    // merge the partial results in a fixed order, so the result is deterministic.
    const int parts = num_threads();
    for (std::int64_t o = 0; o < O; ++o) {
      std::vector<A> partial(parts, Op::template init<T>());
      const std::int64_t per = (Rn + parts - 1) / parts;
      parallel_for(0, parts, 1, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t p = b; p < e; ++p) {
          A acc = Op::template init<T>();
          const std::int64_t lo = p * per, hi = std::min(Rn, lo + per);
          if (lo < hi) acc = reduce_run<Op>(acc, px + o * Rn + lo, hi - lo);
          partial[p] = acc;
        }
      });
      A acc = Op::template init<T>();
      for (const A& v : partial) acc = Op::merge(acc, v);
      po[o] = static_cast<R>(acc);
    }
  } else if (I == 1) {
    parallel_for(0, O, std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(Rn, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                   for (std::int64_t o = b; o < e; ++o) {
                     A acc = Op::template init<T>();
                     const T* row = px + o * Rn;
                     acc = reduce_run<Op>(acc, row, Rn);
                     po[o] = static_cast<R>(acc);
                   }
                 });
  } else {
    // out[o, i] = ⊕_r x[o, r, i]: the inner loop runs over contiguous i and vectorises.
    parallel_for(0, O * I, std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(Rn, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                   std::vector<A> acc;
                   while (b < e) {
                     const std::int64_t o = b / I, i0 = b % I;
                     const std::int64_t i1 = std::min(I, i0 + (e - b));
                     acc.assign(i1 - i0, Op::template init<T>());
                     for (std::int64_t r = 0; r < Rn; ++r) {
                       const T* row = px + (o * Rn + r) * I;
                       for (std::int64_t i = i0; i < i1; ++i)
                         acc[i - i0] = Op::combine(acc[i - i0], row[i]);
                     }
                     for (std::int64_t i = i0; i < i1; ++i) po[o * I + i] = static_cast<R>(acc[i - i0]);
                     b += i1 - i0;
                   }
                 });
  }
  return out;
}

/// The gradient of a reduction, broadcast back over the reduced dims.
Tensor expand_reduced(const Tensor& g, const Shape& input_shape, const std::vector<int>& dims,
                      bool keepdim) {
  Tensor gk = g;
  if (!keepdim)
    for (int d : dims) gk = gk.unsqueeze(d);  // dims are sorted, so positions stay right
  return gk.expand(input_shape);
}

/// Number of elements reduced over.
std::int64_t reduced_count(const Shape& shape, const std::vector<int>& dims) {
  std::int64_t n = 1;
  for (int d : dims) n *= shape[d];
  return n;
}

/// amax/amin: the gradient is shared equally among the elements equal to the extreme.
Tensor extreme(const Tensor& x, const Dims& dims_in, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  const auto dims = normalize_dims(dims_in, x.dim(), op);
  for (int d : dims)
    ZOO_CHECK(x.shape()[d] > 0, "{}: cannot reduce over dim {} of size 0 (shape {})", op, d,
              x.shape());
  Tensor out = dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return is_max ? reduce_kernel<MaxOp, T, T>(x, dims, keepdim)
                  : reduce_kernel<MinOp, T, T>(x, dims, keepdim);
  });
  return record(op, {x}, out,
                [sx = SavedTensor::input(x), y = SavedTensor::output(out), dims, keepdim](
                    const Tensor& g, auto&) {
                  const Tensor v = sx.get();
                  const Tensor mask = (v == expand_reduced(y.get(), v.shape(), dims, keepdim)).to(g.dtype());
                  const Tensor count = sum(mask, Dims(dims.begin(), dims.end()), true);
                  return Grads{mask / count * expand_reduced(g, v.shape(), dims, keepdim)};
                });
}

/// Index of the extreme along one dim of a contiguous (O, R, I) layout.
Tensor arg_extreme(const Tensor& x, std::int64_t dim_in, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  const int dim = normalize_dim(dim_in, x.dim(), op);
  const Tensor src = x.dim() == 0 ? x.reshape({1}) : x;
  ZOO_CHECK(src.shape()[dim] > 0, "{}: dim {} has size 0 (shape {})", op, dim, x.shape());
  const Tensor c = src.detach().contiguous();
  std::int64_t O = 1, R = c.shape()[dim], I = 1;
  for (int d = 0; d < dim; ++d) O *= c.shape()[d];
  for (int d = dim + 1; d < c.dim(); ++d) I *= c.shape()[d];
  Tensor out = empty(reduced_shape(c.shape(), {dim}, keepdim), kInt64);
  std::int64_t* po = out.data_ptr<std::int64_t>();
  dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = c.data_ptr<T>();
    parallel_for(0, O * I, std::max<std::int64_t>(1, kGrainSize / R), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t k = b; k < e; ++k) {
        const std::int64_t o = k / I, i = k % I;
        const T* p = px + o * R * I + i;
        std::int64_t best = 0;
        T best_v = p[0];
        for (std::int64_t r = 1; r < R; ++r) {
          const T v = p[r * I];
          if (best_v != best_v) break;  // NaN wins, as in PyTorch
          if (is_max ? (v > best_v || v != v) : (v < best_v || v != v)) {
            best = r;
            best_v = v;
          }
        }
        po[k] = best;
      }
    });
  });
  if (x.dim() == 0) return out.reshape({});
  return out;
}

/// For each element, the product of the *other* elements of its reduction group:
/// \f$o_i = \prod_{j<i} x_j \cdot \prod_{j>i} x_j\f$ (running products from both ends),
/// which needs no division and so works when some \f$x_j = 0\f$. Used by prod's
/// backward; not differentiable again.
Tensor product_of_others(const Tensor& x, const std::vector<int>& dims) {
  // Bring the reduced dims last, as rows of length R.
  std::vector<std::int64_t> order, inverse(x.dim());
  for (int d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) order.push_back(d);
  for (int d : dims) order.push_back(d);
  for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
  const Tensor rows = x.detach().permute(order).contiguous();
  const std::int64_t R = reduced_count(x.shape(), dims);
  const std::int64_t n_rows = R ? rows.numel() / R : 0;
  Tensor others = empty(rows.shape(), rows.dtype());
  dispatch_numeric(x.dtype(), "prod", [&](auto tag) {
    using T = decltype(tag);
    const T* px = rows.data_ptr<T>();
    T* po = others.data_ptr<T>();
    for (std::int64_t r = 0; r < n_rows; ++r) {
      const T* row = px + r * R;
      T* o = po + r * R;
      T before = 1;  // x_0 · … · x_{i-1}
      for (std::int64_t i = 0; i < R; ++i) {
        o[i] = before;
        before *= row[i];
      }
      T after = 1;  // x_{i+1} · … · x_{R-1}
      for (std::int64_t i = R - 1; i >= 0; --i) {
        o[i] *= after;
        after *= row[i];
      }
    }
  });
  return others.permute(inverse);
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims_in, bool keepdim) {
  const auto dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using R = std::conditional_t<std::is_floating_point_v<T>, T, std::int64_t>;
    return reduce_kernel<SumOp, T, R>(x, dims, keepdim);
  });
  return record("sum", {x}, out, [shape = x.shape(), dims, keepdim](const Tensor& g, auto&) {
    return Grads{expand_reduced(g, shape, dims, keepdim)};
  });
}

Tensor mean(const Tensor& x, const Dims& dims_in, bool keepdim) {
  ZOO_CHECK(is_floating(x.dtype()), "mean: expected a floating tensor, got {}", x.dtype());
  const auto dims = normalize_dims(dims_in, x.dim(), "mean");
  const std::int64_t n = reduced_count(x.shape(), dims);
  return sum(x, dims_in, keepdim) / static_cast<double>(n);
}

Tensor var(const Tensor& x, const Dims& dims_in, std::int64_t correction, bool keepdim) {
  ZOO_CHECK(is_floating(x.dtype()), "var: expected a floating tensor, got {}", x.dtype());
  const auto dims = normalize_dims(dims_in, x.dim(), "var");
  const std::int64_t n = reduced_count(x.shape(), dims);
  // Two passes (mean, then squared deviations): more accurate than E[x²] − E[x]².
  const Tensor deviation = x - mean(x, dims_in, /*keepdim=*/true);
  return sum(deviation * deviation, dims_in, keepdim) /
         static_cast<double>(std::max<std::int64_t>(n - correction, 0));
}

Tensor prod(const Tensor& x, const Dims& dims_in, bool keepdim) {
  const auto dims = normalize_dims(dims_in, x.dim(), "prod");
  Tensor out = dispatch_numeric(x.dtype(), "prod", [&](auto tag) {
    using T = decltype(tag);
    return reduce_kernel<ProdOp, T, T>(x, dims, keepdim);
  });
  // ∂/∂x_i Π_j x_j = Π_{j≠i} x_j. Written as prod/x_i when no x_i is zero (differentiable
  // again); otherwise from running products, which divide by nothing.
  return record("prod", {x}, out,
                [sx = SavedTensor::input(x), y = SavedTensor::output(out), dims, keepdim](
                    const Tensor& g, auto&) {
                  const Tensor v = sx.get();
                  const Tensor ge = expand_reduced(g, v.shape(), dims, keepdim);
                  if (!any(v == 0.0))
                    return Grads{ge * expand_reduced(y.get(), v.shape(), dims, keepdim) / v};
                  return Grads{ge * product_of_others(v, dims)};
                });
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(x, dims, keepdim, true); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extreme(x, dims, keepdim, false); }
Tensor max(const Tensor& x) {
  ZOO_CHECK(x.numel() > 0, "max: the tensor is empty");
  return amax(x);
}
Tensor min(const Tensor& x) {
  ZOO_CHECK(x.numel() > 0, "min: the tensor is empty");
  return amin(x);
}

std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim) {
  // The value is gathered at the index, so its gradient flows to that one element.
  Tensor index = argmax(x, dim, /*keepdim=*/true);
  if (x.dim() == 0) return {x, index.reshape({})};
  Tensor values = gather(x, dim, index);
  if (!keepdim) {
    values = values.squeeze(dim);
    index = index.squeeze(dim);
  }
  return {values, index};
}

std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim) {
  Tensor index = argmin(x, dim, /*keepdim=*/true);
  if (x.dim() == 0) return {x, index.reshape({})};
  Tensor values = gather(x, dim, index);
  if (!keepdim) {
    values = values.squeeze(dim);
    index = index.squeeze(dim);
  }
  return {values, index};
}

Tensor argmax(const Tensor& x) { return arg_extreme(x.reshape({-1}), 0, false, true); }
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extreme(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x) { return arg_extreme(x.reshape({-1}), 0, false, false); }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_extreme(x, dim, keepdim, false); }

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  ZOO_CHECK(is_floating(x.dtype()), "logsumexp: expected a floating tensor, got {}", x.dtype());
  // m is a constant shift (detached): the gradient of the sum is then exactly softmax.
  // Where every input is −∞, shift by 0 instead so that −∞ − (−∞) does not make NaN.
  Tensor m = amax(x.detach(), dims, /*keepdim=*/true);
  m = where(isfinite(m), m, 0.0);
  Tensor out = log(sum(exp(x - m), dims, /*keepdim=*/true)) + m;
  if (!keepdim) {
    const auto nd = normalize_dims(dims, x.dim(), "logsumexp");
    for (auto it = nd.rbegin(); it != nd.rend(); ++it) out = out.squeeze(*it);
  }
  return out;
}

Tensor cumsum(const Tensor& x, std::int64_t dim_in) {
  const int dim = normalize_dim(dim_in, x.dim(), "cumsum");
  if (x.dim() == 0) return x.clone();
  const Tensor c = x.detach().transpose(dim, -1).contiguous();
  const std::int64_t n = c.dim() ? c.shape().back() : 1;
  const std::int64_t rows = n ? c.numel() / n : 0;
  Tensor out = dispatch_numeric(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    Tensor o = empty(c.shape(), c.dtype());
    const T* px = c.data_ptr<T>();
    T* po = o.data_ptr<T>();
    parallel_for(0, rows, std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(n, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                   for (std::int64_t r = b; r < e; ++r) {
                     typename SumAcc<T>::type acc = 0;
                     for (std::int64_t i = 0; i < n; ++i) {
                       acc += px[r * n + i];
                       po[r * n + i] = static_cast<T>(acc);
                     }
                   }
                 });
    return o.transpose(dim, -1).contiguous();
  });
  // The gradient is the reversed running sum: x̄_i = Σ_{j≥i} ȳ_j = Σ_j ȳ_j − Σ_{j<i} ȳ_j.
  return record("cumsum", {x}, out, [dim](const Tensor& g, auto&) {
    return Grads{sum(g, {dim}, true) - cumsum(g, dim) + g};
  });
}

}  // namespace zoo

namespace zoo {
Tensor Tensor::sum() const { return zoo::sum(*this); }
Tensor Tensor::mean() const { return zoo::mean(*this); }
}  // namespace zoo
