#pragma once
/// @file linear.h
/// @brief `Linear`: the fully connected layer \f$y = x W^\top + b\f$.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `Linear` layer: `LinearOptions(784, 10).bias(false)`.
class LinearOptions {
 public:
  /// A layer from `in_features` inputs to `out_features` outputs, with a bias.
  LinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// Size of each input sample (the last dim of x).
  std::int64_t in_features() const { return in_features_; }
  /// Sets the size of each input sample.
  LinearOptions& in_features(std::int64_t value) { in_features_ = value; return *this; }
  /// Size of each output sample.
  std::int64_t out_features() const { return out_features_; }
  /// Sets the size of each output sample.
  LinearOptions& out_features(std::int64_t value) { out_features_ = value; return *this; }
  /// Whether the layer adds a learned bias b (default true).
  bool bias() const { return bias_; }
  /// Sets whether the layer adds a learned bias.
  LinearOptions& bias(bool value) { bias_ = value; return *this; }

 private:
  std::int64_t in_features_;
  std::int64_t out_features_;
  bool bias_ = true;
};

/// The fully connected layer, like `torch.nn.Linear`:
/// \f$y = x W^\top + b\f$, i.e. \f$y_{n,o} = b_o + \sum_i x_{n,i} W_{o,i}\f$.
///
/// Shapes: x (..., in) -> y (..., out); any number of leading dims.
/// Parameters (PyTorch's names and shapes): `weight` W (out, in); `bias` b (out), absent
/// with `.bias(false)`. Initialisation (PyTorch's): W from `kaiming_uniform_` with
/// a = √5, which is \f$U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})\f$, and b from the
/// same \f$U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})\f$.
class Linear : public Module {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit Linear(const LinearOptions& options);
  /// `Linear(LinearOptions(in_features, out_features))`.
  Linear(std::int64_t in_features, std::int64_t out_features)
      : Linear(LinearOptions(in_features, out_features)) {}

  /// Draws new weights (and bias) from `gen`, as described above.
  void reset_parameters(Generator& gen = default_generator());
  /// x (..., in) -> x Wᵀ + b (..., out).
  Tensor forward(const Tensor& x) override;
  /// "in_features=784, out_features=10, bias=True".
  std::string extra_repr() const override;

  LinearOptions options;  ///< The settings the layer was built with.
  Tensor weight;          ///< W: (out_features, in_features).
  Tensor bias;            ///< b: (out_features), or undefined without a bias.
};

}  // namespace zoo::nn
