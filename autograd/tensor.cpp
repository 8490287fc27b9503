/// @file tensor.cpp
/// @brief Tensor metadata, element access, autograd flags and in-place updates.

#include "autograd/tensor.h"

#include <cstring>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/copy.h"
#include "autograd/kernels/loop.h"
#include "autograd/node.h"

namespace zoo {

const TensorImpl& Tensor::checked() const {
  if (!impl_) throw Error("use of an undefined tensor (it was default-constructed or moved from)");
  return *impl_;
}

Tensor empty(const Shape& shape, DType dtype) {
  for (auto s : shape)
    ZOO_CHECK(s >= 0, "empty: negative size in shape {}", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel_of(shape) * element_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

std::int64_t Tensor::size(std::int64_t d) const {
  return shape()[normalize_dim(d, dim(), "size")];
}

std::int64_t Tensor::stride(std::int64_t d) const {
  return strides()[normalize_dim(d, dim(), "stride")];
}

bool Tensor::is_contiguous() const {
  const auto& sh = shape();
  const auto& st = strides();
  std::int64_t expected = 1;
  for (std::size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;  // a size-1 dim may have any stride
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

template <class T>
T* Tensor::data_ptr() const {
  const auto& impl = checked();
  ZOO_CHECK(impl.dtype == dtype_of<T>(), "data_ptr: tensor has dtype {}, asked for {}", impl.dtype,
            dtype_of<T>());
  return static_cast<T*>(impl.storage->data()) + impl.offset;
}
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template std::int64_t* Tensor::data_ptr<std::int64_t>() const;
template bool* Tensor::data_ptr<bool>() const;

double Tensor::item() const {
  ZOO_CHECK(numel() == 1, "item: a tensor with {} elements (shape {}) cannot be converted to a number",
            numel(), shape());
  return dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(*data_ptr<T>());
  });
}

template <class T>
T Tensor::at(const std::vector<std::int64_t>& index) const {
  ZOO_CHECK(static_cast<std::int64_t>(index.size()) == dim(),
            "at: index {} has {} entries for a tensor with {} dims (shape {})", index, index.size(),
            dim(), shape());
  std::int64_t offset = 0;
  for (std::size_t d = 0; d < index.size(); ++d) {
    std::int64_t i = index[d] < 0 ? index[d] + shape()[d] : index[d];
    ZOO_CHECK(i >= 0 && i < shape()[d], "at: index {} is out of range for dim {} of size {}",
              index[d], d, shape()[d]);
    offset += i * strides()[d];
  }
  return dispatch_all(dtype(), [&](auto tag) {
    using S = decltype(tag);
    return static_cast<T>(data_ptr<S>()[offset]);
  });
}
template float Tensor::at<float>(const std::vector<std::int64_t>&) const;
template double Tensor::at<double>(const std::vector<std::int64_t>&) const;
template std::int64_t Tensor::at<std::int64_t>(const std::vector<std::int64_t>&) const;
template bool Tensor::at<bool>(const std::vector<std::int64_t>&) const;

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = detach().to(dtype_of<T>()).contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

// ---------------------------------------------------------------------------
// autograd
// ---------------------------------------------------------------------------

Tensor& Tensor::requires_grad_(bool on) {
  auto& impl = const_cast<TensorImpl&>(checked());
  ZOO_CHECK(!on || is_floating(impl.dtype),
            "requires_grad_: only floating tensors can require gradients, this one is {}",
            impl.dtype);
  ZOO_CHECK(impl.grad_fn == nullptr || on,
            "requires_grad_(false): this tensor is the output of '{}', not a leaf; use detach()",
            impl.grad_fn ? impl.grad_fn->name() : "");
  impl.requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(checked().grad); }

void Tensor::set_grad(const Tensor& grad) const {
  const auto& impl = checked();
  if (grad.defined())
    ZOO_CHECK(grad.shape() == impl.shape && grad.dtype() == impl.dtype,
              "set_grad: gradient of shape {} and dtype {} does not match tensor of shape {} and "
              "dtype {}",
              grad.shape(), grad.dtype(), impl.shape, impl.dtype);
  impl_->grad = grad.impl_ptr();
}

void Tensor::retain_grad() const {
  ZOO_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  impl_->grad_fn->retained_grads.push_back({impl_->output_nr, impl_});
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  std::vector<Tensor> grads;
  if (gradient.defined()) grads.push_back(gradient);
  autograd::backward({*this}, grads, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  const auto& impl = checked();
  auto out = std::make_shared<TensorImpl>();
  out->storage = impl.storage;
  out->shape = impl.shape;
  out->strides = impl.strides;
  out->offset = impl.offset;
  out->dtype = impl.dtype;
  return Tensor(std::move(out));
}

// ---------------------------------------------------------------------------
// in-place updates
// ---------------------------------------------------------------------------

void Tensor::check_inplace(const char* op) const {
  const auto& impl = checked();
  if (!GradMode::is_enabled()) return;
  ZOO_CHECK(!(impl.requires_grad && impl.grad_fn == nullptr),
            "{}: a leaf tensor that requires grad cannot be modified in place while grad mode is "
            "on (wrap the update in zoo::NoGradGuard)",
            op);
  ZOO_CHECK(!impl.requires_grad,
            "{}: in-place ops are not recorded by autograd; this tensor is part of a graph (output "
            "of '{}'). Use the out-of-place op",
            op, impl.grad_fn ? impl.grad_fn->name() : "");
}

namespace {

/// dst[i] = f(dst[i], src[i]) over dst's shape, with src broadcast to it and converted
/// to dst's dtype.
template <class F>
void inplace_binary(const Tensor& dst, const Tensor& src, const char* op, F f) {
  Shape b = broadcast_shapes(dst.shape(), src.shape(), op);
  ZOO_CHECK(b == dst.shape(), "{}: cannot broadcast a tensor of shape {} into one of shape {}", op,
            src.shape(), dst.shape());
  Tensor s = src.dtype() == dst.dtype() ? src : src.detach().to(dst.dtype());
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(dst.storage().data());
    const T* x = static_cast<const T*>(s.storage().data());
    kernels::strided_loop<2>(
        dst.shape(), {dst.strides(), kernels::broadcast_strides(s.shape(), s.strides(), dst.shape())},
        {dst.offset(), s.offset()}, kGrainSize,
        [&](const std::array<std::int64_t, 2>& o, const std::array<std::int64_t, 2>& st,
            std::int64_t n) {
          T* dp = d + o[0];
          const T* xp = x + o[1];
          // f may compute in double (a + alpha·b); the cast back to T is explicit, also
          // for bool, where it means "nonzero".
          if (st[0] == 1 && st[1] == 1) {
            for (std::int64_t i = 0; i < n; ++i) dp[i] = static_cast<T>(f(dp[i], xp[i]));
          } else {
            for (std::int64_t i = 0; i < n; ++i)
              dp[i * st[0]] = static_cast<T>(f(dp[i * st[0]], xp[i * st[1]]));
          }
        });
  });
  dst.storage().bump_version();
}

template <class F>
void inplace_unary(const Tensor& dst, F f) {
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(dst.storage().data());
    kernels::strided_loop<1>(dst.shape(), {dst.strides()}, {dst.offset()}, kGrainSize,
                             [&](const std::array<std::int64_t, 1>& o,
                                 const std::array<std::int64_t, 1>& st, std::int64_t n) {
                               T* dp = d + o[0];
                               for (std::int64_t i = 0; i < n; ++i)
                                 dp[i * st[0]] = static_cast<T>(f(dp[i * st[0]]));
                             });
  });
  dst.storage().bump_version();
}

}  // namespace

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_");
  dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    inplace_unary(*this, [v](T) { return v; });
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_");
  kernels::copy_elements(*this, src);
  storage().bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace("add_");
  dispatch_numeric(dtype(), "add_", [&](auto tag) {
    using T = decltype(tag);
    const T a = static_cast<T>(alpha);
    if (alpha == 1.0)
      inplace_binary(*this, other, "add_", [](T d, T s) { return d + s; });
    else
      inplace_binary(*this, other, "add_", [a](T d, T s) { return d + a * s; });
  });
  return *this;
}

Tensor& Tensor::add_(double value) {
  check_inplace("add_");
  dispatch_numeric(dtype(), "add_", [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    inplace_unary(*this, [v](T d) { return d + v; });
  });
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace("mul_");
  dispatch_numeric(dtype(), "mul_", [&](auto tag) {
    using T = decltype(tag);
    inplace_binary(*this, other, "mul_", [](T d, T s) { return d * s; });
  });
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_inplace("mul_");
  dispatch_numeric(dtype(), "mul_", [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    inplace_unary(*this, [v](T d) { return d * v; });
  });
  return *this;
}

Tensor& Tensor::div_(const Tensor& other) {
  check_inplace("div_");
  dispatch_floating(dtype(), "div_", [&](auto tag) {
    using T = decltype(tag);
    inplace_binary(*this, other, "div_", [](T d, T s) { return d / s; });
  });
  return *this;
}

}  // namespace zoo
