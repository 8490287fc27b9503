#pragma once
/// @file norm.h
/// @brief Normalisation layers: `LayerNorm`, `RMSNorm`, `GroupNorm`. Each rescales its
/// input to zero mean and/or unit scale over some dims, then applies a learned per-feature
/// scale (and shift), which starts as the identity: weight 1, bias 0.

#include <cstdint>
#include <string>
#include <utility>

#include "autograd/shape.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `LayerNorm` layer: `LayerNormOptions({512}).eps(1e-5)`.
class LayerNormOptions {
 public:
  /// Normalise over trailing dims of this shape (usually one dim: the features).
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  /// Normalise over the last dim, of size `size`: `LayerNormOptions(512)`.
  LayerNormOptions(std::int64_t size) : normalized_shape_{size} {}
  /// The trailing dims normalised over.
  const Shape& normalized_shape() const { return normalized_shape_; }
  /// Sets the trailing dims normalised over.
  LayerNormOptions& normalized_shape(Shape value) { normalized_shape_ = std::move(value); return *this; }
  /// Added to the variance before the square root (default 1e-5).
  double eps() const { return eps_; }
  /// Sets eps.
  LayerNormOptions& eps(double value) { eps_ = value; return *this; }
  /// Whether the layer has a learned `weight` (and `bias`) (default true).
  bool elementwise_affine() const { return elementwise_affine_; }
  /// Sets whether the layer has learned affine parameters.
  LayerNormOptions& elementwise_affine(bool value) { elementwise_affine_ = value; return *this; }
  /// Whether the affine part includes `bias` (default true; PyTorch ≥ 2.1's option).
  bool bias() const { return bias_; }
  /// Sets whether the affine part includes a bias.
  LayerNormOptions& bias(bool value) { bias_ = value; return *this; }

 private:
  Shape normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
  bool bias_ = true;
};

/// Layer normalisation (Ba et al., 2016), like `torch.nn.LayerNorm`:
/// \f$y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot w + b\f$, with the mean
/// \f$\mu\f$ and the biased variance \f$\sigma^2\f$ of each sample over the trailing
/// `normalized_shape` dims. Computed by `zoo::layer_norm`.
///
/// Shapes: x (..., *normalized_shape) -> same shape. Parameters: `weight` and `bias`,
/// both `normalized_shape`, initialised to 1 and 0.
class LayerNorm : public Module {
 public:
  /// A layer with the given settings.
  explicit LayerNorm(const LayerNormOptions& options);
  /// Sets the weight to 1 and the bias to 0.
  void reset_parameters();
  /// x (..., *normalized_shape) -> same shape.
  Tensor forward(const Tensor& x) override;
  /// "(512,), eps=1e-05, elementwise_affine=True".
  std::string extra_repr() const override;

  LayerNormOptions options;  ///< The settings the layer was built with.
  Tensor weight;             ///< w: normalized_shape, or undefined without affine.
  Tensor bias;               ///< b: normalized_shape, or undefined.
};

/// Settings of an `RMSNorm` layer: `RMSNormOptions({512}).eps(1e-6)`.
class RMSNormOptions {
 public:
  /// Normalise over trailing dims of this shape.
  RMSNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  /// Normalise over the last dim, of size `size`: `RMSNormOptions(512)`.
  RMSNormOptions(std::int64_t size) : normalized_shape_{size} {}
  /// The trailing dims normalised over.
  const Shape& normalized_shape() const { return normalized_shape_; }
  /// Sets the trailing dims normalised over.
  RMSNormOptions& normalized_shape(Shape value) { normalized_shape_ = std::move(value); return *this; }
  /// Added to the mean square before the square root (default 1e-6; PyTorch's default,
  /// None, means the dtype's machine epsilon).
  double eps() const { return eps_; }
  /// Sets eps.
  RMSNormOptions& eps(double value) { eps_ = value; return *this; }
  /// Whether the layer has a learned `weight` (default true).
  bool elementwise_affine() const { return elementwise_affine_; }
  /// Sets whether the layer has a learned weight.
  RMSNormOptions& elementwise_affine(bool value) { elementwise_affine_ = value; return *this; }

 private:
  Shape normalized_shape_;
  double eps_ = 1e-6;
  bool elementwise_affine_ = true;
};

/// Root-mean-square normalisation (Zhang & Sennrich, 2019), like `torch.nn.RMSNorm`:
/// \f$y = \frac{x}{\sqrt{\overline{x^2} + \epsilon}} \odot w\f$, with the mean square
/// over the trailing dims; no centring and no bias. Computed by `zoo::rms_norm`.
///
/// Shapes: x (..., *normalized_shape) -> same shape. Parameter: `weight`
/// (normalized_shape), initialised to 1.
class RMSNorm : public Module {
 public:
  /// A layer with the given settings.
  explicit RMSNorm(const RMSNormOptions& options);
  /// Sets the weight to 1.
  void reset_parameters();
  /// x (..., *normalized_shape) -> same shape.
  Tensor forward(const Tensor& x) override;
  /// "(512,), eps=1e-06, elementwise_affine=True".
  std::string extra_repr() const override;

  RMSNormOptions options;  ///< The settings the layer was built with.
  Tensor weight;           ///< w: normalized_shape, or undefined without affine.
};

/// Settings of a `GroupNorm` layer: `GroupNormOptions(8, 64)` (8 groups of 8 channels).
class GroupNormOptions {
 public:
  /// `num_channels` channels in `num_groups` groups (the groups must divide the channels).
  GroupNormOptions(std::int64_t num_groups, std::int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  /// Number of groups G.
  std::int64_t num_groups() const { return num_groups_; }
  /// Sets the number of groups.
  GroupNormOptions& num_groups(std::int64_t value) { num_groups_ = value; return *this; }
  /// Number of channels C.
  std::int64_t num_channels() const { return num_channels_; }
  /// Sets the number of channels.
  GroupNormOptions& num_channels(std::int64_t value) { num_channels_ = value; return *this; }
  /// Added to the variance before the square root (default 1e-5).
  double eps() const { return eps_; }
  /// Sets eps.
  GroupNormOptions& eps(double value) { eps_ = value; return *this; }
  /// Whether the layer has a learned per-channel `weight` and `bias` (default true).
  bool affine() const { return affine_; }
  /// Sets whether the layer has learned affine parameters.
  GroupNormOptions& affine(bool value) { affine_ = value; return *this; }

 private:
  std::int64_t num_groups_;
  std::int64_t num_channels_;
  double eps_ = 1e-5;
  bool affine_ = true;
};

/// Group normalisation (Wu & He, 2018), like `torch.nn.GroupNorm`: each sample's
/// channels are split into G groups; each group is normalised over its channels and
/// all spatial positions, \f$\hat x = (x - \mu_g)/\sqrt{\sigma_g^2 + \epsilon}\f$, then
/// \f$y_{n,c,\dots} = \hat x_{n,c,\dots} w_c + b_c\f$. G = 1 is a layer norm over
/// (C, H, W); G = C is instance norm. Computed by `zoo::group_norm`.
///
/// Shapes: x (N, C, ...) -> same shape. Parameters: `weight` and `bias` (C), 1 and 0.
class GroupNorm : public Module {
 public:
  /// A layer with the given settings.
  explicit GroupNorm(const GroupNormOptions& options);
  /// Sets the weight to 1 and the bias to 0.
  void reset_parameters();
  /// x (N, C, ...) -> same shape.
  Tensor forward(const Tensor& x) override;
  /// "2, 4, eps=1e-05, affine=True" (num_groups, num_channels, ...).
  std::string extra_repr() const override;

  GroupNormOptions options;  ///< The settings the layer was built with.
  Tensor weight;             ///< w: (C), or undefined without affine.
  Tensor bias;               ///< b: (C), or undefined without affine.
};

}  // namespace zoo::nn
