#pragma once
/// @file tensor.h
/// @brief `Tensor`: a handle to a strided view of shared storage, with autograd metadata.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/shape.h"
#include "autograd/storage.h"

namespace zoo {

class Node;
class Tensor;

/// What a `Tensor` handle points to. Several impls may share one `Storage` (views);
/// each has its own shape, strides and offset.
///
/// The element at index \f$(i_0, \dots, i_{n-1})\f$ lives at
/// \f$ \text{offset} + \sum_k i_k \cdot \text{strides}_k \f$ elements from the start of
/// the storage. Transposing swaps two strides; expanding sets a stride to 0; slicing
/// moves the offset. No data moves.
struct TensorImpl {
  std::shared_ptr<Storage> storage;  ///< The memory, shared with every view of it.
  Shape shape;                       ///< Size of each dim, outermost first.
  Strides strides;                   ///< Elements to skip per step along each dim.
  std::int64_t offset = 0;           ///< Index in `storage` of the first element.
  DType dtype = kFloat32;            ///< Element type.

  // ---- autograd ----
  bool requires_grad = false;  ///< Whether gradients flow to (or through) this tensor.
  /// Accumulated gradient of a leaf (or of a tensor that called `retain_grad`).
  std::shared_ptr<TensorImpl> grad;
  /// The node that produced this tensor, or null for a leaf.
  std::shared_ptr<Node> grad_fn;
  /// Which output of `grad_fn` this tensor is.
  std::uint32_t output_nr = 0;
  /// A leaf's gradient accumulator, shared by every graph that uses the leaf.
  std::weak_ptr<Node> grad_accumulator;
  /// For a copy of an op's output saved by that op for its own backward: the producing
  /// node, held weakly so that a node does not keep itself alive (see `SavedTensor`).
  std::weak_ptr<Node> weak_grad_fn;
  /// Saved copies of this output that wait for their `weak_grad_fn` (see `record`).
  std::vector<std::weak_ptr<TensorImpl>> pending_saved_aliases;
  /// Set by `retain_grad()` on a non-leaf: the engine then stores its gradient too.
  bool retains_grad = false;
};

/// A multi-dimensional array that can take part in automatic differentiation.
///
/// `Tensor` is a cheap handle (a shared pointer): copying it shares the data, like a
/// Python variable. Views (`view`, `transpose`, `narrow`, `expand`, ...) share the storage
/// of their base; `contiguous()` and `clone()` copy. Math is in free functions
/// (`zoo::exp(x)`, `a + b`, `zoo::matmul(a, b)`) declared in `autograd/ops.h`.
class Tensor {
 public:
  /// An undefined tensor (no data); `defined()` is false.
  Tensor() = default;
  /// A handle to an existing impl (what ops and views use to build their results).
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// False for a default-constructed tensor ("no tensor", e.g. a missing gradient).
  bool defined() const { return impl_ != nullptr; }
  /// The impl this handle points to (null if undefined).
  TensorImpl* impl() const { return impl_.get(); }
  /// The shared pointer itself, to share the impl with another handle.
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// True if both handles point to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- metadata ----
  /// Size of each dim, outermost first (`{}` for a scalar).
  const Shape& shape() const { return checked().shape; }
  /// Elements to skip in the storage per step along each dim.
  const Strides& strides() const { return checked().strides; }
  /// Index in the storage of the first element.
  std::int64_t offset() const { return checked().offset; }
  /// Element type.
  DType dtype() const { return checked().dtype; }
  /// Number of dims (0 for a scalar).
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  /// Size of dimension `d` (negative counts from the end).
  std::int64_t size(std::int64_t d) const;
  /// Stride of dimension `d` (negative counts from the end).
  std::int64_t stride(std::int64_t d) const;
  /// Number of elements: the product of the sizes.
  std::int64_t numel() const { return numel_of(shape()); }
  /// True if the strides are row-major (size-1 dims may have any stride).
  bool is_contiguous() const;
  /// True for float32 and float64.
  bool is_floating_point() const { return is_floating(dtype()); }

  // ---- data ----
  /// Pointer to the first element (storage + offset). Checks that T matches the dtype.
  template <class T> T* data_ptr() const;
  /// The shared storage, and its version counter (bumped by every in-place write).
  Storage& storage() const { return *checked().storage; }
  /// The storage's version counter: how many in-place writes it has seen.
  std::uint64_t version() const { return storage().version(); }
  /// The value of a one-element tensor, converted to double.
  double item() const;
  /// The value of a one-element tensor, converted to T.
  template <class T> T item() const { return static_cast<T>(item()); }
  /// The element at a full index (negative indices count from the end).
  template <class T> T at(const std::vector<std::int64_t>& index) const;
  /// All elements in row-major order.
  template <class T> std::vector<T> to_vector() const;

  // ---- autograd ----
  /// Whether gradients flow to (a leaf) or through (an op's output) this tensor.
  bool requires_grad() const { return checked().requires_grad; }
  /// Marks a leaf as needing a gradient (only floating tensors can).
  Tensor& requires_grad_(bool on = true);
  /// The accumulated gradient, or an undefined tensor before any backward.
  Tensor grad() const;
  /// Replaces the gradient; `set_grad(Tensor())` clears it.
  void set_grad(const Tensor& grad) const;
  /// The node that produced this tensor (its backward), or null for a leaf.
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  /// Which output of `grad_fn()` this tensor is (0 for single-output ops).
  std::uint32_t output_nr() const { return checked().output_nr; }
  /// A leaf is a tensor no recorded op produced: user-created or detached.
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  /// Asks the engine to store this non-leaf's gradient in `grad()` too.
  void retain_grad() const;
  /// Computes the gradient of this tensor with respect to every leaf that requires
  /// grad and adds it to their `grad()`. A non-scalar needs `gradient` (the vector in
  /// the vector-Jacobian product). See `autograd/engine.h`.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  /// The same data, cut from the graph: a new leaf that does not require grad.
  Tensor detach() const;

  // ---- views (share storage; see autograd/views.cpp) ----
  /// Same data, new shape; needs a compatible memory layout (one -1 is inferred).
  Tensor view(const Shape& shape) const;
  /// Like `view`, but copies when the layout does not allow a view.
  Tensor reshape(const Shape& shape) const;
  /// Merges dims start..end into one.
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  /// Swaps dims `dim0` and `dim1` (their sizes and strides).
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// Transpose of a matrix (a tensor with at most 2 dims).
  Tensor t() const;
  /// Transpose of the last two dims (a batch of matrices).
  Tensor mT() const;
  /// Reorders the dims: dim i of the result is dim `dims[i]` of this tensor.
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  /// Removes all size-1 dims, or only `dim` if it has size 1.
  Tensor squeeze() const;
  /// Removes `dim` if it has size 1; returns the tensor unchanged otherwise.
  Tensor squeeze(std::int64_t dim) const;
  /// Inserts a size-1 dim at position `dim`.
  Tensor unsqueeze(std::int64_t dim) const;
  /// Repeats size-1 dims (stride 0, no copy); -1 keeps a size; new dims go in front.
  Tensor expand(const Shape& shape) const;
  /// `expand(other.shape())`.
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  /// Elements start..start+length-1 of dimension `dim`.
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// Python's `x[..., start:end:step, ...]` on one dim (end is clamped to the size).
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  /// Index `index` of dimension `dim`, which disappears.
  Tensor select(std::int64_t dim, std::int64_t index) const;
  /// `x[i]`: select along the first dim.
  Tensor operator[](std::int64_t index) const { return select(0, index); }

  // ---- copies ----
  /// This tensor if already contiguous, else a row-major copy.
  Tensor contiguous() const;
  /// A row-major copy that owns new storage (differentiable).
  Tensor clone() const;
  /// Converts to another dtype (differentiable between floating dtypes).
  Tensor to(DType dtype) const;

  // ---- in-place (bump the version counter; not recorded by autograd) ----
  /// Sets every element to 0.
  Tensor& zero_();
  /// Sets every element to `value` (converted to the dtype).
  Tensor& fill_(double value);
  /// Copies `src` (broadcast to this shape, converted to this dtype) into this tensor.
  Tensor& copy_(const Tensor& src);
  /// this += alpha * other
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// this += value
  Tensor& add_(double value);
  /// this -= other
  Tensor& sub_(const Tensor& other) { return add_(other, -1.0); }
  /// this *= other (broadcast to this shape)
  Tensor& mul_(const Tensor& other);
  /// this *= value
  Tensor& mul_(double value);
  /// this /= other (broadcast to this shape; floating tensors only)
  Tensor& div_(const Tensor& other);
  /// this /= value
  Tensor& div_(double value) { return mul_(1.0 / value); }

  // ---- a few methods in PyTorch's style; the rest are free functions ----
  /// `zoo::sum(*this)`: the sum of all elements.
  Tensor sum() const;
  /// `zoo::mean(*this)`: the mean of all elements.
  Tensor mean() const;
  /// `zoo::matmul(*this, other)`.
  Tensor matmul(const Tensor& other) const;

 private:
  const TensorImpl& checked() const;
  void check_inplace(const char* op) const;
  std::shared_ptr<TensorImpl> impl_;
};

/// A new tensor with uninitialised storage, row-major strides and no autograd history.
Tensor empty(const Shape& shape, DType dtype = kFloat32);

/// PyTorch-style text: `tensor([[1.0000, 2.0000]], requires_grad=True)`.
std::string to_string(const Tensor& t);
/// Writes `to_string(t)`.
std::ostream& operator<<(std::ostream& out, const Tensor& t);

}  // namespace zoo

// Lets fmt print a Tensor (`fmt::print("{}", t)`); hidden from Doxygen (it extends fmt).
/// @cond
template <>
struct fmt::formatter<zoo::Tensor> : fmt::formatter<std::string_view> {
  auto format(const zoo::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(zoo::to_string(t), ctx);
  }
};
/// @endcond
