#pragma once
/// @file pool.h
/// @brief `MaxPool2d` and `AvgPool2d`: pooling over the windows of (N, C, H, W) images.

#include <cstdint>
#include <optional>
#include <string>

#include "autograd/ops/conv.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `MaxPool2d` layer: `MaxPool2dOptions(2)` halves H and W.
class MaxPool2dOptions {
 public:
  /// A kh×kw window whose stride defaults to its size.
  explicit MaxPool2dOptions(Pair kernel_size) : kernel_size_(kernel_size) {}
  /// A k×k window whose stride defaults to k.
  explicit MaxPool2dOptions(std::int64_t kernel_size)
      : MaxPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// Window size (kh, kw).
  Pair kernel_size() const { return kernel_size_; }
  /// Sets the window size.
  MaxPool2dOptions& kernel_size(Pair value) { kernel_size_ = value; return *this; }
  /// Step between windows: the kernel size unless set, as in PyTorch.
  Pair stride() const { return stride_.value_or(kernel_size_); }
  /// Sets the stride.
  MaxPool2dOptions& stride(Pair value) { stride_ = value; return *this; }
  /// Sets the same stride in both directions.
  MaxPool2dOptions& stride(std::int64_t value) { return stride(Pair{value, value}); }
  /// −∞ padding on each side (default 0; at most half the kernel).
  Pair padding() const { return padding_; }
  /// Sets the padding.
  MaxPool2dOptions& padding(Pair value) { padding_ = value; return *this; }
  /// Sets the same padding in both directions.
  MaxPool2dOptions& padding(std::int64_t value) { return padding(Pair{value, value}); }
  /// Spacing between window elements (default 1).
  Pair dilation() const { return dilation_; }
  /// Sets the dilation.
  MaxPool2dOptions& dilation(Pair value) { dilation_ = value; return *this; }
  /// Sets the same dilation in both directions.
  MaxPool2dOptions& dilation(std::int64_t value) { return dilation(Pair{value, value}); }

 private:
  Pair kernel_size_;
  std::optional<Pair> stride_;
  Pair padding_{0, 0};
  Pair dilation_{1, 1};
};

/// The largest value of each window, like `torch.nn.MaxPool2d`:
/// \f$y_{n,c,i,j} = \max_{u,v} x_{n,c,\,i s_h - p_h + u d_h,\,j s_w - p_w + v d_w}\f$.
/// Shapes: x (N, C, H, W) -> (N, C, OH, OW), OH as for a convolution (floor mode).
/// No parameters. The gradient flows to the first maximum of each window.
class MaxPool2d : public Module {
 public:
  /// A layer with the given settings.
  explicit MaxPool2d(const MaxPool2dOptions& opts) : options(opts) {}
  /// `MaxPool2d(MaxPool2dOptions(kernel_size))`.
  explicit MaxPool2d(std::int64_t kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  /// x (N, C, H, W) -> (N, C, OH, OW).
  Tensor forward(const Tensor& x) override;
  /// "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False", as PyTorch prints it.
  std::string extra_repr() const override;

  MaxPool2dOptions options;  ///< The settings the layer was built with.
};

/// Settings of an `AvgPool2d` layer: `AvgPool2dOptions(2)` halves H and W.
class AvgPool2dOptions {
 public:
  /// A kh×kw window whose stride defaults to its size.
  explicit AvgPool2dOptions(Pair kernel_size) : kernel_size_(kernel_size) {}
  /// A k×k window whose stride defaults to k.
  explicit AvgPool2dOptions(std::int64_t kernel_size)
      : AvgPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// Window size (kh, kw).
  Pair kernel_size() const { return kernel_size_; }
  /// Sets the window size.
  AvgPool2dOptions& kernel_size(Pair value) { kernel_size_ = value; return *this; }
  /// Step between windows: the kernel size unless set, as in PyTorch.
  Pair stride() const { return stride_.value_or(kernel_size_); }
  /// Sets the stride.
  AvgPool2dOptions& stride(Pair value) { stride_ = value; return *this; }
  /// Sets the same stride in both directions.
  AvgPool2dOptions& stride(std::int64_t value) { return stride(Pair{value, value}); }
  /// Zero padding on each side, counted in the mean (default 0; at most half the kernel).
  Pair padding() const { return padding_; }
  /// Sets the padding.
  AvgPool2dOptions& padding(Pair value) { padding_ = value; return *this; }
  /// Sets the same padding in both directions.
  AvgPool2dOptions& padding(std::int64_t value) { return padding(Pair{value, value}); }

 private:
  Pair kernel_size_;
  std::optional<Pair> stride_;
  Pair padding_{0, 0};
};

/// The mean of each window, like `torch.nn.AvgPool2d` (with count_include_pad=True):
/// \f$y_{n,c,i,j} = \frac{1}{k_h k_w}\sum_{u,v} x_{n,c,\,i s_h - p_h + u,\,j s_w - p_w + v}\f$.
/// Shapes: x (N, C, H, W) -> (N, C, OH, OW). No parameters.
class AvgPool2d : public Module {
 public:
  /// A layer with the given settings.
  explicit AvgPool2d(const AvgPool2dOptions& opts) : options(opts) {}
  /// `AvgPool2d(AvgPool2dOptions(kernel_size))`.
  explicit AvgPool2d(std::int64_t kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  /// x (N, C, H, W) -> (N, C, OH, OW).
  Tensor forward(const Tensor& x) override;
  /// "kernel_size=2, stride=2, padding=0", as PyTorch prints it.
  std::string extra_repr() const override;

  AvgPool2dOptions options;  ///< The settings the layer was built with.
};

}  // namespace zoo::nn
