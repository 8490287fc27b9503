/// @file views.cpp
/// @brief Views (new shape/strides/offset over the same storage) and copies, each with
/// its backward. A view's backward maps the gradient back to the base's shape.

#include <algorithm>
#include <numeric>
#include <optional>

#include "autograd/factories.h"
#include "autograd/kernels/copy.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"

namespace zoo {
namespace {

/// A tensor over `base`'s storage with the given geometry (no autograd history yet).
Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

/// Replaces one -1 in `shape` by the size that makes the element count `numel`.
Shape infer_size(Shape shape, std::int64_t numel, const char* op) {
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      ZOO_CHECK(infer < 0, "{}: only one dimension can be -1, got shape {}", op, shape);
      infer = static_cast<int>(i);
    } else {
      ZOO_CHECK(shape[i] >= 0, "{}: invalid size {} in shape {}", op, shape[i], shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    ZOO_CHECK(known != 0 && numel % known == 0,
              "{}: shape {} is invalid for a tensor of {} elements", op, shape, numel);
    shape[infer] = numel / known;
  }
  ZOO_CHECK(numel_of(shape) == numel, "{}: shape {} is invalid for a tensor of {} elements", op,
            shape, numel);
  return shape;
}

/// Strides that let `new_shape` view memory laid out as (old_shape, old_strides), or
/// nothing if no view exists. Dims of the old shape are grouped into runs that are
/// contiguous with each other; each run must split exactly into new dims.
/// (The algorithm of PyTorch's `computeStride`.)
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides,
                                    const Shape& new_shape) {
  Strides out(new_shape.size());
  if (old_shape.empty()) return contiguous_strides(new_shape);
  if (numel_of(old_shape) == 0) return contiguous_strides(new_shape);
  std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.back();
  std::int64_t tensor_numel = 1;
  std::int64_t view_numel = 1;
  for (std::int64_t tensor_d = static_cast<std::int64_t>(old_shape.size()) - 1; tensor_d >= 0;
       --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    const bool run_ends = tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                                            old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (run_ends) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

/// The gradient of a slice: `grad` placed at [start : start + step·n : step] of dim
/// `dim` in a zero tensor of `shape`. Its own backward slices again, so slicing stays
/// differentiable to any order.
Tensor slice_backward(const Tensor& grad, const Shape& shape, int dim, std::int64_t start,
                      std::int64_t step) {
  Tensor out = zeros(shape, grad.dtype());
  Tensor window = make_view(out, grad.shape(), out.strides(), start * out.strides()[dim]);
  window.impl()->strides[dim] *= step;
  kernels::copy_elements(window, grad);
  const std::int64_t end = start + step * grad.size(dim);
  return record("slice_backward", {grad}, out, [dim, start, end, step](const Tensor& g, auto&) {
    return Grads{g.slice(dim, start, end, step)};
  });
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  const Shape new_shape = infer_size(shape_in, numel(), "view");
  auto strides_out = view_strides(shape(), strides(), new_shape);
  ZOO_CHECK(strides_out.has_value(),
            "view: shape {} is not compatible with the memory layout of a tensor of shape {} and "
            "strides {}; use reshape() (which copies)",
            new_shape, shape(), strides());
  const Shape old_shape = shape();
  Tensor out = make_view(*this, new_shape, *strides_out, offset());
  return record("view", {*this}, out,
                [old_shape](const Tensor& g, auto&) { return Grads{g.reshape(old_shape)}; });
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  const Shape new_shape = infer_size(shape_in, numel(), "reshape");
  if (view_strides(shape(), strides(), new_shape)) return view(new_shape);
  return contiguous().view(new_shape);
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int s = normalize_dim(start_dim, dim(), "flatten");
  const int e = normalize_dim(end_dim, dim(), "flatten");
  ZOO_CHECK(s <= e, "flatten: start_dim {} comes after end_dim {}", start_dim, end_dim);
  Shape out;
  for (int d = 0; d < s; ++d) out.push_back(shape()[d]);
  std::int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= shape()[d];
  out.push_back(merged);
  for (int d = e + 1; d < dim(); ++d) out.push_back(shape()[d]);
  return reshape(out);
}

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  if (dim() == 0) return *this;
  const int a = normalize_dim(dim0, dim(), "transpose");
  const int b = normalize_dim(dim1, dim(), "transpose");
  Shape sh = shape();
  Strides st = strides();
  std::swap(sh[a], sh[b]);
  std::swap(st[a], st[b]);
  Tensor out = make_view(*this, sh, st, offset());
  return record("transpose", {*this}, out,
                [a, b](const Tensor& g, auto&) { return Grads{g.transpose(a, b)}; });
}

Tensor Tensor::t() const {
  ZOO_CHECK(dim() <= 2, "t: expects a tensor with at most 2 dims, got shape {}", shape());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::mT() const {
  ZOO_CHECK(dim() >= 2, "mT: expects a tensor with at least 2 dims, got shape {}", shape());
  return transpose(-2, -1);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
  ZOO_CHECK(static_cast<std::int64_t>(dims.size()) == dim(),
            "permute: got {} dims {} for a tensor with {} dims", dims.size(), dims, dim());
  std::vector<int> order(dims.size());
  std::vector<bool> seen(dims.size(), false);
  Shape sh(dims.size());
  Strides st(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) {
    order[i] = normalize_dim(dims[i], dim(), "permute");
    ZOO_CHECK(!seen[order[i]], "permute: dim {} appears twice in {}", dims[i], dims);
    seen[order[i]] = true;
    sh[i] = shape()[order[i]];
    st[i] = strides()[order[i]];
  }
  std::vector<std::int64_t> inverse(dims.size());
  for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
  Tensor out = make_view(*this, sh, st, offset());
  return record("permute", {*this}, out,
                [inverse](const Tensor& g, auto&) { return Grads{g.permute(inverse)}; });
}

Tensor Tensor::squeeze() const {
  Shape sh;
  Strides st;
  for (std::int64_t d = 0; d < dim(); ++d)
    if (shape()[d] != 1) {
      sh.push_back(shape()[d]);
      st.push_back(strides()[d]);
    }
  const Shape old_shape = shape();
  Tensor out = make_view(*this, sh, st, offset());
  return record("squeeze", {*this}, out,
                [old_shape](const Tensor& g, auto&) { return Grads{g.reshape(old_shape)}; });
}

Tensor Tensor::squeeze(std::int64_t d) const {
  if (dim() == 0) return *this;
  const int k = normalize_dim(d, dim(), "squeeze");
  if (shape()[k] != 1) return *this;
  Shape sh = shape();
  Strides st = strides();
  sh.erase(sh.begin() + k);
  st.erase(st.begin() + k);
  Tensor out = make_view(*this, sh, st, offset());
  return record("squeeze", {*this}, out,
                [k](const Tensor& g, auto&) { return Grads{g.unsqueeze(k)}; });
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  const int k = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape();
  Strides st = strides();
  const std::int64_t stride_here =
      k < dim() ? st[k] * sh[k] : 1;  // any value works for a size-1 dim; keep it contiguous
  sh.insert(sh.begin() + k, 1);
  st.insert(st.begin() + k, stride_here);
  Tensor out = make_view(*this, sh, st, offset());
  return record("unsqueeze", {*this}, out,
                [k](const Tensor& g, auto&) { return Grads{g.squeeze(k)}; });
}

Tensor Tensor::expand(const Shape& target) const {
  ZOO_CHECK(target.size() >= shape().size(),
            "expand: cannot expand shape {} to {} with fewer dims", shape(), target);
  const std::size_t lead = target.size() - shape().size();
  Shape sh(target.size());
  Strides st(target.size(), 0);
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      ZOO_CHECK(target[i] >= 0, "expand: size -1 is not allowed for new leading dim {} in {}", i,
                target);
      sh[i] = target[i];
      continue;
    }
    const std::int64_t have = shape()[i - lead];
    const std::int64_t want = target[i] == -1 ? have : target[i];
    ZOO_CHECK(have == want || have == 1,
              "expand: the size of dim {} ({}) must match the target {} or be 1 (shape {} to {})",
              i, have, want, shape(), target);
    sh[i] = want;
    st[i] = have == want ? strides()[i - lead] : 0;
  }
  const Shape old_shape = shape();
  Tensor out = make_view(*this, sh, st, offset());
  return record("expand", {*this}, out,
                [old_shape](const Tensor& g, auto&) { return Grads{sum_to(g, old_shape)}; });
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  const int k = normalize_dim(d, dim(), "narrow");
  const std::int64_t n = shape()[k];
  if (start < 0) start += n;
  ZOO_CHECK(start >= 0 && length >= 0 && start + length <= n,
            "narrow: start {} and length {} are out of range for dim {} of size {} (shape {})",
            start, length, d, n, shape());
  return slice(k, start, start + length, 1);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  ZOO_CHECK(dim() > 0, "slice: cannot slice a 0-dim tensor");
  const int k = normalize_dim(d, dim(), "slice");
  ZOO_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const std::int64_t n = shape()[k];
  // Python's rules: negative bounds count from the end; out-of-range bounds clamp.
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape sh = shape();
  Strides st = strides();
  sh[k] = (end - start + step - 1) / step;
  st[k] *= step;
  const Shape old_shape = shape();
  Tensor out = make_view(*this, sh, st, offset() + start * strides()[k]);
  return record("slice", {*this}, out, [old_shape, k, start, step](const Tensor& g, auto&) {
    return Grads{slice_backward(g, old_shape, k, start, step)};
  });
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  ZOO_CHECK(dim() > 0, "select: cannot select from a 0-dim tensor");
  const int k = normalize_dim(d, dim(), "select");
  const std::int64_t n = shape()[k];
  ZOO_CHECK(index >= -n && index < n, "select: index {} is out of range for dim {} of size {}",
            index, d, n);
  if (index < 0) index += n;
  return slice(k, index, index + 1).squeeze(k);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  kernels::copy_elements(out, *this);
  return record("clone", {*this}, out, [](const Tensor& g, auto&) { return Grads{g}; });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target);
  kernels::copy_elements(out, *this);
  if (!is_floating(target)) return out;  // integers and bools carry no gradient
  const DType source = dtype();
  return record("to", {*this}, out,
                [source](const Tensor& g, auto&) { return Grads{g.to(source)}; });
}

}  // namespace zoo
