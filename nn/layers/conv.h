#pragma once
/// @file conv.h
/// @brief `Conv2d` and `ConvTranspose2d`: 2-D convolution layers over (N, C, H, W) images.
///
/// Shape letters: N batch, C input channels, O output channels, H×W input size,
/// OH×OW output size, kh×kw kernel size, G groups.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "autograd/ops/conv.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `Conv2d` layer: `Conv2dOptions(1, 32, 3).stride(1).padding(1)`.
/// Sizes are (height, width) pairs; a single number sets both.
class Conv2dOptions {
 public:
  /// C → O channels with a kh×kw kernel, stride 1, no padding, a bias.
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  /// C → O channels with a k×k kernel.
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size)
      : Conv2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}

  /// Input channels C.
  std::int64_t in_channels() const { return in_channels_; }
  /// Sets the input channels.
  Conv2dOptions& in_channels(std::int64_t value) { in_channels_ = value; return *this; }
  /// Output channels O.
  std::int64_t out_channels() const { return out_channels_; }
  /// Sets the output channels.
  Conv2dOptions& out_channels(std::int64_t value) { out_channels_ = value; return *this; }
  /// Kernel size (kh, kw).
  Pair kernel_size() const { return kernel_size_; }
  /// Sets the kernel size.
  Conv2dOptions& kernel_size(Pair value) { kernel_size_ = value; return *this; }
  /// Sets a square kernel size.
  Conv2dOptions& kernel_size(std::int64_t value) { return kernel_size(Pair{value, value}); }
  /// Step between windows (default 1).
  Pair stride() const { return stride_; }
  /// Sets the stride.
  Conv2dOptions& stride(Pair value) { stride_ = value; return *this; }
  /// Sets the same stride in both directions.
  Conv2dOptions& stride(std::int64_t value) { return stride(Pair{value, value}); }
  /// Zeros added on each side (default 0).
  Pair padding() const { return padding_; }
  /// Sets the padding.
  Conv2dOptions& padding(Pair value) { padding_ = value; return *this; }
  /// Sets the same padding in both directions.
  Conv2dOptions& padding(std::int64_t value) { return padding(Pair{value, value}); }
  /// Spacing between kernel elements (default 1).
  Pair dilation() const { return dilation_; }
  /// Sets the dilation.
  Conv2dOptions& dilation(Pair value) { dilation_ = value; return *this; }
  /// Sets the same dilation in both directions.
  Conv2dOptions& dilation(std::int64_t value) { return dilation(Pair{value, value}); }
  /// Number of groups G: channels are split into G independent convolutions (default 1).
  std::int64_t groups() const { return groups_; }
  /// Sets the number of groups; it must divide both channel counts.
  Conv2dOptions& groups(std::int64_t value) { groups_ = value; return *this; }
  /// Whether a learned bias is added per output channel (default true).
  bool bias() const { return bias_; }
  /// Sets whether a learned bias is added.
  Conv2dOptions& bias(bool value) { bias_ = value; return *this; }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Pair kernel_size_;
  Pair stride_{1, 1};
  Pair padding_{0, 0};
  Pair dilation_{1, 1};
  std::int64_t groups_ = 1;
  bool bias_ = true;
};

/// 2-D convolution (cross-correlation, as in every deep learning library), like
/// `torch.nn.Conv2d`:
/// \f$y_{n,o,i,j} = b_o + \sum_{c \in g(o)} \sum_{u,v} W_{o,c,u,v}\,
/// x_{n,c,\,i s_h - p_h + u d_h,\,j s_w - p_w + v d_w}\f$,
/// computed by `zoo::conv2d` (im2col + GEMM).
///
/// Shapes: x (N, C, H, W) -> y (N, O, OH, OW) with
/// \f$OH = \lfloor (H + 2p_h - d_h(k_h - 1) - 1)/s_h \rfloor + 1\f$ (likewise OW).
/// Parameters: `weight` (O, C/G, kh, kw); `bias` (O). Initialisation (PyTorch's):
/// W from `kaiming_uniform_` with a = √5 and b from \f$U(-1/\sqrt{\text{fan\_in}},
/// 1/\sqrt{\text{fan\_in}})\f$, with fan_in = C/G·kh·kw.
class Conv2d : public Module {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit Conv2d(const Conv2dOptions& options);
  /// Draws new weights (and bias) from `gen`, as described above.
  void reset_parameters(Generator& gen = default_generator());
  /// x (N, C, H, W) -> (N, O, OH, OW).
  Tensor forward(const Tensor& x) override;
  /// "1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)", as PyTorch prints it.
  std::string extra_repr() const override;

  Conv2dOptions options;  ///< The settings the layer was built with.
  Tensor weight;          ///< W: (O, C/G, kh, kw).
  Tensor bias;            ///< b: (O), or undefined without a bias.
};

/// Settings of a `ConvTranspose2d` layer:
/// `ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)` doubles H and W.
class ConvTranspose2dOptions {
 public:
  /// C → O channels with a kh×kw kernel, stride 1, no padding, a bias.
  ConvTranspose2dOptions(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  /// C → O channels with a k×k kernel.
  ConvTranspose2dOptions(std::int64_t in_channels, std::int64_t out_channels,
                         std::int64_t kernel_size)
      : ConvTranspose2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}

  /// Input channels C.
  std::int64_t in_channels() const { return in_channels_; }
  /// Sets the input channels.
  ConvTranspose2dOptions& in_channels(std::int64_t value) { in_channels_ = value; return *this; }
  /// Output channels O.
  std::int64_t out_channels() const { return out_channels_; }
  /// Sets the output channels.
  ConvTranspose2dOptions& out_channels(std::int64_t value) { out_channels_ = value; return *this; }
  /// Kernel size (kh, kw).
  Pair kernel_size() const { return kernel_size_; }
  /// Sets the kernel size.
  ConvTranspose2dOptions& kernel_size(Pair value) { kernel_size_ = value; return *this; }
  /// Sets a square kernel size.
  ConvTranspose2dOptions& kernel_size(std::int64_t value) { return kernel_size(Pair{value, value}); }
  /// Stride of the convolution this layer transposes (default 1): the upsampling factor.
  Pair stride() const { return stride_; }
  /// Sets the stride.
  ConvTranspose2dOptions& stride(Pair value) { stride_ = value; return *this; }
  /// Sets the same stride in both directions.
  ConvTranspose2dOptions& stride(std::int64_t value) { return stride(Pair{value, value}); }
  /// Padding of the convolution this layer transposes: crops p from each side (default 0).
  Pair padding() const { return padding_; }
  /// Sets the padding.
  ConvTranspose2dOptions& padding(Pair value) { padding_ = value; return *this; }
  /// Sets the same padding in both directions.
  ConvTranspose2dOptions& padding(std::int64_t value) { return padding(Pair{value, value}); }
  /// Extra rows/columns added on one side of the output (default 0; below the stride).
  Pair output_padding() const { return output_padding_; }
  /// Sets the output padding.
  ConvTranspose2dOptions& output_padding(Pair value) { output_padding_ = value; return *this; }
  /// Sets the same output padding in both directions.
  ConvTranspose2dOptions& output_padding(std::int64_t value) {
    return output_padding(Pair{value, value});
  }
  /// Spacing between kernel elements (default 1).
  Pair dilation() const { return dilation_; }
  /// Sets the dilation.
  ConvTranspose2dOptions& dilation(Pair value) { dilation_ = value; return *this; }
  /// Sets the same dilation in both directions.
  ConvTranspose2dOptions& dilation(std::int64_t value) { return dilation(Pair{value, value}); }
  /// Number of groups G (default 1).
  std::int64_t groups() const { return groups_; }
  /// Sets the number of groups; it must divide both channel counts.
  ConvTranspose2dOptions& groups(std::int64_t value) { groups_ = value; return *this; }
  /// Whether a learned bias is added per output channel (default true).
  bool bias() const { return bias_; }
  /// Sets whether a learned bias is added.
  ConvTranspose2dOptions& bias(bool value) { bias_ = value; return *this; }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Pair kernel_size_;
  Pair stride_{1, 1};
  Pair padding_{0, 0};
  Pair output_padding_{0, 0};
  Pair dilation_{1, 1};
  std::int64_t groups_ = 1;
  bool bias_ = true;
};

/// The transposed convolution (the adjoint of `Conv2d` in its input; "deconvolution"),
/// like `torch.nn.ConvTranspose2d`, computed by `zoo::conv_transpose2d`. Each input pixel
/// scatters a copy of the kernel, scaled by its value, into the output.
///
/// Shapes: x (N, C, H, W) -> y (N, O, OH, OW) with
/// \f$OH = (H - 1)s_h - 2p_h + d_h(k_h - 1) + \text{output\_padding}_h + 1\f$ (likewise OW).
/// Parameters: `weight` (C, O/G, kh, kw) (note: input channels first, as in PyTorch);
/// `bias` (O). Initialisation (PyTorch's): as `Conv2d`, with PyTorch's fan_in of this
/// weight, \f$\text{size}_1 \cdot k_h k_w = O/G \cdot k_h k_w\f$.
class ConvTranspose2d : public Module {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options);
  /// Draws new weights (and bias) from `gen`, as described above.
  void reset_parameters(Generator& gen = default_generator());
  /// x (N, C, H, W) -> (N, O, OH, OW).
  Tensor forward(const Tensor& x) override;
  /// "64, 32, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1)", as PyTorch prints it.
  std::string extra_repr() const override;

  ConvTranspose2dOptions options;  ///< The settings the layer was built with.
  Tensor weight;                   ///< W: (C, O/G, kh, kw).
  Tensor bias;                     ///< b: (O), or undefined without a bias.
};

}  // namespace zoo::nn
