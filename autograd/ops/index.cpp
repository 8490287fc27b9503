/// @file index.cpp
/// @brief Indexing with int64 index tensors, and the gradients that go with it.
///
/// Four kernels do all the work. Each sees its tensors as contiguous 3-D blocks
/// (O, N, I) around the indexed dim: O is the product of the sizes before `dim`, N the
/// size of `dim` and I the product of the sizes after it. With K the number of indices
/// along `dim`:
///
/// | op           | formula                                  | index shape |
/// |--------------|------------------------------------------|-------------|
/// | index_select | out[o, k, i]  = x[o, idx[k], i]          | (K)         |
/// | index_add    | out[o, idx[k], i] += src[o, k, i]        | (K)         |
/// | gather       | out[o, k, i]  = x[o, idx[o, k, i], i]    | (O, K, I)   |
/// | scatter_add  | out[o, idx[o, k, i], i] += src[o, k, i]  | (O, K, I)   |
///
/// Reading and adding are transposes of each other (as linear maps of x and src), so
/// each is the other's backward: index_select ↔ index_add, gather ↔ scatter_add.
/// Because every backward is written with these ops, gradients of any order work.

#include "autograd/ops/index.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/factories.h"
#include "autograd/kernels/loop.h"
#include "autograd/node.h"
#include "autograd/ops/join.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

// ---------------------------------------------------------------------------
// checks and layout helpers
// ---------------------------------------------------------------------------

/// A grain for `parallel_for` over items that each cost `work` elements.
std::int64_t grain_for(std::int64_t work) {
  return std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(work, 1));
}

void check_index_dtype(const Tensor& index, const char* op) {
  ZOO_CHECK(index.dtype() == kInt64, "{}: index must be an int64 tensor, got {} (shape {})", op,
            index.dtype(), index.shape());
}

/// Throws unless every value of the contiguous int64 tensor `index` lies in [0, size).
/// Reports the first offending value, so the message is the same on every run.
void check_index_values(const Tensor& index, std::int64_t size, int dim, const char* op) {
  const std::int64_t* p = index.data_ptr<std::int64_t>();
  const std::int64_t n = index.numel();  // computed from the shape: once, not per index
  for (std::int64_t j = 0; j < n; ++j)
    ZOO_CHECK(p[j] >= 0 && p[j] < size, "{}: index {} is out of range for dim {} of size {}", op,
              p[j], dim, size);
}

/// `index` detached, contiguous and checked: dtype int64, values in [0, size).
Tensor checked_index(const Tensor& index, std::int64_t size, int dim, const char* op) {
  check_index_dtype(index, op);
  Tensor c = index.detach().contiguous();
  check_index_values(c, size, dim, op);
  return c;
}

/// The sizes of `shape` seen as (O, N, I) around `dim`.
struct Block {
  std::int64_t outer = 1, size = 1, inner = 1;
};
Block block_of(const Shape& shape, int dim) {
  Block b;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d)
    (d < dim ? b.outer : d == dim ? b.size : b.inner) *= shape[d];
  return b;
}

/// `shape` with dimension `dim` replaced by `size`.
Shape with_size(Shape shape, int dim, std::int64_t size) {
  shape[dim] = size;
  return shape;
}

/// A 0-dim tensor as a 1-element 1-D one; PyTorch treats the two alike when indexing.
Tensor lift(const Tensor& t) { return t.dim() == 0 ? t.reshape({1}) : t; }

/// `t` with zeros appended so that it has `shape` (every size of t at most shape's).
/// Built with `cat`, so it stays differentiable.
Tensor pad_to(Tensor t, const Shape& shape) {
  for (int d = 0; d < t.dim(); ++d) {
    const std::int64_t missing = shape[d] - t.shape()[d];
    if (missing > 0) t = cat({t, zeros(with_size(t.shape(), d, missing), t.dtype())}, d);
  }
  return t;
}

/// `t` narrowed to the first `shape[d]` entries of every dim d except `skip` (-1: none).
Tensor narrow_to(Tensor t, const Shape& shape, int skip) {
  for (int d = 0; d < t.dim(); ++d)
    if (d != skip && shape[d] < t.shape()[d]) t = t.narrow(d, 0, shape[d]);
  return t;
}

/// scatter_add, adding into a copy of `self`; or, with `into_self`, straight into `self`,
/// which must then be a fresh contiguous tensor that nothing else sees. gather's backward
/// passes its fresh zeros that way and saves copying them. Defined below scatter_add.
Tensor scatter_add_impl(const Tensor& self, std::int64_t dim_in, const Tensor& index,
                        const Tensor& src, bool into_self);

// ---------------------------------------------------------------------------
// the two kernels: read at indices, add at indices
// ---------------------------------------------------------------------------

/// out[o, k, i] = x[o, index_at(o, k, i), i] with x contiguous (O, N, I) and out
/// contiguous (O, K, I). Every output row (o, k) is written by one thread. (o, k) is
/// stepped rather than divided out of the row number: with I = 1 (gathering along the
/// last dim, as max pooling does) a row is one element, and two divisions per element
/// would cost more than the copy.
template <class T, class IndexAt>
void gather_kernel(const T* x, T* out, Block xb, std::int64_t K, const IndexAt& index_at) {
  const std::int64_t N = xb.size, I = xb.inner;
  parallel_for(0, xb.outer * K, grain_for(I), [&](std::int64_t begin, std::int64_t end) {
    std::int64_t o = begin / K, k = begin % K;
    for (std::int64_t r = begin; r < end; ++r) {
      const T* src = x + o * N * I;
      T* dst = out + r * I;
      for (std::int64_t i = 0; i < I; ++i) dst[i] = src[index_at(o, k, i) * I + i];
      if (++k == K) {  // next row of the index: (o, K − 1) -> (o + 1, 0)
        k = 0;
        ++o;
      }
    }
  });
}

/// out[o, index_at(o, k, i), i] += src[o, k, i] with out contiguous (O, N, I) and src
/// contiguous (O, K, I). Repeated indices add up. Each thread owns a set of (o, i)
/// columns and walks k in order: no two threads touch the same element, and every sum
/// is taken in the same order whatever the thread count.
template <class T, class IndexAt>
void scatter_add_kernel(T* out, const T* src, Block ob, std::int64_t K, const IndexAt& index_at) {
  const std::int64_t N = ob.size, I = ob.inner;
  parallel_for(0, ob.outer * I, grain_for(K), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end;) {
      const std::int64_t o = c / I, i0 = c % I, i1 = std::min(I, i0 + (end - c));
      T* dst = out + o * N * I;
      for (std::int64_t k = 0; k < K; ++k) {
        const T* s = src + (o * K + k) * I;
        for (std::int64_t i = i0; i < i1; ++i) dst[index_at(o, k, i) * I + i] += s[i];
      }
      c += i1 - i0;
    }
  });
}

/// index_at for a 1-D index shared by every (o, i): index_select and index_add.
struct RowIndex {
  const std::int64_t* p;
  std::int64_t operator()(std::int64_t, std::int64_t k, std::int64_t) const { return p[k]; }
};
/// index_at for a full (O, K, I) index: gather and scatter_add.
struct ElementIndex {
  const std::int64_t* p;
  std::int64_t K, I;
  std::int64_t operator()(std::int64_t o, std::int64_t k, std::int64_t i) const {
    return p[(o * K + k) * I + i];
  }
};

/// index_select under the name `op` (embedding reuses it, so its errors name it).
Tensor index_select_impl(const Tensor& x, std::int64_t dim_in, const Tensor& index,
                         const char* op) {
  check_index_dtype(index, op);
  ZOO_CHECK(index.dim() <= 1, "{}: index must be 0-D or 1-D, got shape {}", op, index.shape());
  if (x.dim() == 0) {
    normalize_dim(dim_in, 0, op);
    ZOO_CHECK(index.numel() == 1, "{}: a 0-dim tensor takes exactly one index, got {}", op,
              index.numel());
    return index_select_impl(x.reshape({1}), 0, index.reshape({1}), op).reshape({});
  }
  const int dim = normalize_dim(dim_in, x.dim(), op);
  const Tensor idx = checked_index(index.reshape({-1}), x.shape()[dim], dim, op);
  const std::int64_t K = idx.numel();
  Tensor out = empty(with_size(x.shape(), dim, K), x.dtype());
  const Tensor c = x.detach().contiguous();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_kernel(c.data_ptr<T>(), out.data_ptr<T>(), block_of(c.shape(), dim), K,
                  RowIndex{idx.data_ptr<std::int64_t>()});
  });
  // x̄ = index_add(0, dim, index, ȳ): each selected row sends its gradient back.
  return record(op, {x, index}, out,
                [shape = x.shape(), dim, si = SavedTensor::input(idx)](const Tensor& g, auto&) {
                  return Grads{index_add(zeros(shape, g.dtype()), dim, si.get(), g), Tensor()};
                });
}

/// Line-by-line top-k: writes into `out` (contiguous (O, k, I)) the positions along
/// dim of the k largest (or smallest) values of x (contiguous (O, N, I)).
/// NaN counts as larger than every number, as in PyTorch; ties keep the lower index.
template <class T>
void topk_kernel(const T* x, std::int64_t* out, Block xb, std::int64_t k, bool largest,
                 bool sorted) {
  const std::int64_t N = xb.size, I = xb.inner;
  // less(a, b): a < b, with NaN above everything.
  const auto less = [](T a, T b) { return (b != b) ? (a == a) : (a == a && a < b); };
  parallel_for(0, xb.outer * I, grain_for(N), [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int64_t> order(N);
    for (std::int64_t line = begin; line < end; ++line) {
      const std::int64_t o = line / I, i = line % I;
      const T* v = x + o * N * I + i;  // v[n * I] is element n of this line
      const auto before = [&](std::int64_t a, std::int64_t b) {
        const T va = v[a * I], vb = v[b * I];
        if (largest ? less(vb, va) : less(va, vb)) return true;
        if (largest ? less(va, vb) : less(vb, va)) return false;
        return a < b;  // a tie: the first occurrence wins
      };
      std::iota(order.begin(), order.end(), std::int64_t{0});
      if (sorted) {
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      } else {  // the k winners, in the order they appear in x
        std::nth_element(order.begin(), order.begin() + k, order.end(), before);
        std::sort(order.begin(), order.begin() + k);
      }
      for (std::int64_t j = 0; j < k; ++j) out[(o * k + j) * I + i] = order[j];
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------
// index_select / index_add
// ---------------------------------------------------------------------------

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  return index_select_impl(x, dim, index, "index_select");
}

Tensor index_add(const Tensor& self, std::int64_t dim_in, const Tensor& index, const Tensor& src) {
  check_index_dtype(index, "index_add");
  ZOO_CHECK(index.dim() <= 1, "index_add: index must be 0-D or 1-D, got shape {}", index.shape());
  if (self.dim() == 0) {
    normalize_dim(dim_in, 0, "index_add");
    return index_add(self.reshape({1}), 0, index.reshape({-1}), lift(src)).reshape({});
  }
  const int dim = normalize_dim(dim_in, self.dim(), "index_add");
  ZOO_CHECK(self.dtype() == src.dtype(), "index_add: self is {} but src is {}", self.dtype(),
            src.dtype());
  const Shape expected = with_size(self.shape(), dim, index.numel());
  ZOO_CHECK(src.shape() == expected,
            "index_add: src has shape {}, expected {} (self's shape {} with dim {} the length {} "
            "of index)",
            src.shape(), expected, self.shape(), dim, index.numel());
  const Tensor idx = checked_index(index.reshape({-1}), self.shape()[dim], dim, "index_add");
  Tensor out = self.detach().clone();  // a fresh contiguous copy to add into
  const Tensor s = src.detach().contiguous();
  dispatch_numeric(self.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    scatter_add_kernel(out.data_ptr<T>(), s.data_ptr<T>(), block_of(out.shape(), dim), idx.numel(),
                       RowIndex{idx.data_ptr<std::int64_t>()});
  });
  // ∂out/∂self = identity; ∂out/∂src picks the rows src was added to: index_select.
  return record("index_add", {self, index, src}, out,
                [dim, si = SavedTensor::input(idx)](const Tensor& g, const std::vector<bool>& needs) {
                  return Grads{needs[0] ? g : Tensor(), Tensor(),
                               needs[2] ? index_select(g, dim, si.get()) : Tensor()};
                });
}

// ---------------------------------------------------------------------------
// gather / scatter_add
// ---------------------------------------------------------------------------

Tensor gather(const Tensor& x_in, std::int64_t dim_in, const Tensor& index_in) {
  check_index_dtype(index_in, "gather");
  if (x_in.dim() == 0 || index_in.dim() == 0) {
    ZOO_CHECK(x_in.dim() <= 1 && index_in.dim() <= 1,
              "gather: index has {} dims but x has {} (shapes {} and {})", index_in.dim(),
              x_in.dim(), index_in.shape(), x_in.shape());
    normalize_dim(dim_in, 1, "gather");
    return gather(lift(x_in), 0, lift(index_in)).reshape(index_in.shape());
  }
  const Tensor& x = x_in;
  const int dim = normalize_dim(dim_in, x.dim(), "gather");
  ZOO_CHECK(index_in.dim() == x.dim(), "gather: index has {} dims but x has {} (shapes {} and {})",
            index_in.dim(), x.dim(), index_in.shape(), x.shape());
  for (int d = 0; d < x.dim(); ++d)
    ZOO_CHECK(d == dim || index_in.shape()[d] <= x.shape()[d],
              "gather: index of shape {} is larger than x of shape {} in dim {}", index_in.shape(),
              x.shape(), d);
  const Tensor idx = checked_index(index_in, x.shape()[dim], dim, "gather");
  const Shape& shape = idx.shape();
  Tensor out = empty(shape, x.dtype());
  // Only the part of x that the index covers outside `dim` is read.
  const Tensor c = narrow_to(x.detach(), shape, dim).contiguous();
  const Block b = block_of(shape, dim);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_kernel(c.data_ptr<T>(), out.data_ptr<T>(), block_of(c.shape(), dim), b.size,
                  ElementIndex{idx.data_ptr<std::int64_t>(), b.size, b.inner});
  });
  // x̄ = scatter_add(0, dim, index, ȳ): each gathered element sends its gradient back
  // (added straight into the fresh zeros, which nothing else sees).
  return record("gather", {x, index_in}, out,
                [shape = x.shape(), dim, si = SavedTensor::input(idx)](const Tensor& g, auto&) {
                  return Grads{scatter_add_impl(zeros(shape, g.dtype()), dim, si.get(), g,
                                                /*into_self=*/true),
                               Tensor()};
                });
}

Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index,
                   const Tensor& src) {
  return scatter_add_impl(self, dim, index, src, /*into_self=*/false);
}

namespace {

Tensor scatter_add_impl(const Tensor& self, std::int64_t dim_in, const Tensor& index,
                        const Tensor& src, bool into_self) {
  check_index_dtype(index, "scatter_add");
  if (self.dim() == 0 || index.dim() == 0 || src.dim() == 0) {
    ZOO_CHECK(self.dim() <= 1 && index.dim() <= 1 && src.dim() <= 1,
              "scatter_add: self, index and src must have the same number of dims, got shapes "
              "{}, {} and {}",
              self.shape(), index.shape(), src.shape());
    normalize_dim(dim_in, 1, "scatter_add");
    return scatter_add(lift(self), 0, lift(index), lift(src)).reshape(self.shape());
  }
  const int dim = normalize_dim(dim_in, self.dim(), "scatter_add");
  ZOO_CHECK(self.dtype() == src.dtype(), "scatter_add: self is {} but src is {}", self.dtype(),
            src.dtype());
  ZOO_CHECK(index.dim() == self.dim() && src.dim() == self.dim(),
            "scatter_add: self, index and src must have the same number of dims, got shapes {}, "
            "{} and {}",
            self.shape(), index.shape(), src.shape());
  for (int d = 0; d < self.dim(); ++d)
    ZOO_CHECK(index.shape()[d] <= src.shape()[d] && (d == dim || index.shape()[d] <= self.shape()[d]),
              "scatter_add: index of shape {} is larger than src {} or self {} in dim {}",
              index.shape(), src.shape(), self.shape(), d);
  const Tensor idx = checked_index(index, self.shape()[dim], dim, "scatter_add");
  const Shape& shape = idx.shape();
  Tensor out = into_self ? self.detach() : self.detach().clone();
  // Only the part of src that the index covers is read.
  const Tensor s = narrow_to(src.detach(), shape, -1).contiguous();
  // Where the index covers all of self outside `dim` (the usual case, and always in
  // gather's backward), add straight into the copy; otherwise into a zero block that
  // is then added to the covered part of the copy.
  const Tensor covered = narrow_to(out, shape, dim);
  const bool direct = covered.shape() == out.shape();
  Tensor target = direct ? out : zeros(covered.shape(), out.dtype());
  const Block b = block_of(shape, dim);
  dispatch_numeric(self.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    scatter_add_kernel(target.data_ptr<T>(), s.data_ptr<T>(), block_of(target.shape(), dim),
                       b.size, ElementIndex{idx.data_ptr<std::int64_t>(), b.size, b.inner});
  });
  if (!direct) Tensor(covered).add_(target);
  // ∂out/∂self = identity; ∂out/∂src reads back where src went: gather (zero-padded
  // where src is larger than the index).
  return record("scatter_add", {self, index, src}, out,
                [dim, si = SavedTensor::input(idx), src_shape = src.shape()](
                    const Tensor& g, const std::vector<bool>& needs) {
                  return Grads{needs[0] ? g : Tensor(), Tensor(),
                               needs[2] ? pad_to(gather(g, dim, si.get()), src_shape) : Tensor()};
                });
}

}  // namespace

// ---------------------------------------------------------------------------
// masks, one-hot, embedding, top-k
// ---------------------------------------------------------------------------

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  ZOO_CHECK(mask.dtype() == kBool, "masked_fill: mask must be a bool tensor, got {}", mask.dtype());
  ZOO_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(),
            "masked_fill: mask of shape {} does not broadcast to x's shape {}", mask.shape(),
            x.shape());
  ZOO_CHECK(is_floating(x.dtype()) || value == std::floor(value),
            "masked_fill: cannot fill a {} tensor with the fractional value {}", x.dtype(), value);
  Tensor out = empty(x.shape(), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    T* po = out.data_ptr<T>();
    const T* px = static_cast<const T*>(x.storage().data());
    const bool* pm = static_cast<const bool*>(mask.storage().data());
    using Offsets = std::array<std::int64_t, 3>;
    kernels::strided_loop<3>(
        x.shape(),
        {out.strides(), x.strides(), kernels::broadcast_strides(mask.shape(), mask.strides(), x.shape())},
        {0, x.offset(), mask.offset()}, kGrainSize,
        [&](const Offsets& off, const Offsets& st, std::int64_t n) {
          for (std::int64_t j = 0; j < n; ++j)
            po[off[0] + j * st[0]] = pm[off[2] + j * st[2]] ? v : px[off[1] + j * st[1]];
        });
  });
  // The filled positions no longer depend on x: their gradient is 0.
  return record("masked_fill", {x, mask}, out,
                [sm = SavedTensor::input(mask)](const Tensor& g, auto&) {
                  return Grads{masked_fill(g, sm.get(), 0.0), Tensor()};
                });
}

Tensor one_hot(const Tensor& index, std::int64_t num_classes) {
  check_index_dtype(index, "one_hot");
  const Tensor idx = index.contiguous();
  const std::int64_t* p = idx.data_ptr<std::int64_t>();
  const std::int64_t n = idx.numel();
  if (num_classes == -1) {
    ZOO_CHECK(n > 0, "one_hot: cannot infer the number of classes from an empty index");
    num_classes = *std::max_element(p, p + n) + 1;
  }
  ZOO_CHECK(num_classes >= 0, "one_hot: num_classes must be -1 or non-negative, got {}",
            num_classes);
  for (std::int64_t j = 0; j < n; ++j)
    ZOO_CHECK(p[j] >= 0 && p[j] < num_classes,
              "one_hot: index {} is out of range for {} classes", p[j], num_classes);
  Shape shape = idx.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, kInt64);
  std::int64_t* po = out.data_ptr<std::int64_t>();
  parallel_for(0, n, kGrainSize, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t j = begin; j < end; ++j) po[j * num_classes + p[j]] = 1;
  });
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& index) {
  ZOO_CHECK(weight.dim() == 2, "embedding: weight must be 2-D (V×D), got shape {}", weight.shape());
  check_index_dtype(index, "embedding");
  // out[..., :] = weight[index[...], :]: an index_select of the flattened index, whose
  // backward (index_add) adds up the gradient rows of repeated indices.
  Shape shape = index.shape();
  shape.push_back(weight.shape()[1]);
  return index_select_impl(weight, 0, index.reshape({-1}), "embedding").reshape(shape);
}

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim_in, bool largest,
                               bool sorted) {
  if (x.dim() == 0) {
    normalize_dim(dim_in, 0, "topk");
    ZOO_CHECK(k == 0 || k == 1, "topk: k {} is out of range for a 0-dim tensor", k);
    auto [values, indices] = topk(x.reshape({1}), k, 0, largest, sorted);
    if (k == 0) return {values, indices};
    return {values.reshape({}), indices.reshape({})};
  }
  const int dim = normalize_dim(dim_in, x.dim(), "topk");
  ZOO_CHECK(k >= 0 && k <= x.shape()[dim], "topk: k {} is out of range for dim {} of size {}", k,
            dim, x.shape()[dim]);
  const Tensor c = x.detach().contiguous();
  Tensor indices = empty(with_size(x.shape(), dim, k), kInt64);
  dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
    using T = decltype(tag);
    topk_kernel(c.data_ptr<T>(), indices.data_ptr<std::int64_t>(), block_of(c.shape(), dim), k,
                largest, sorted);
  });
  // The values are gathered at the indices, so their gradient comes from gather.
  return {gather(x, dim, indices), indices};
}

}  // namespace zoo
