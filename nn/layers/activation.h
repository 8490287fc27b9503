#pragma once
/// @file activation.h
/// @brief The activation functions as modules, so that they can sit in a `Sequential`:
/// ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softplus. None has parameters; each
/// forward is the autograd op of the same name (autograd/ops/elementwise.h), applied
/// element-wise (any shape -> the same shape).

#include <string>
#include <utility>

#include "nn/module.h"

namespace zoo::nn {

/// \f$\mathrm{ReLU}(x) = \max(x, 0)\f$, like `torch.nn.ReLU`.
class ReLU : public Module {
 public:
  /// max(x, 0), element-wise.
  Tensor forward(const Tensor& x) override;
};

/// Settings of a `LeakyReLU`: `LeakyReLUOptions().negative_slope(0.2)`.
class LeakyReLUOptions {
 public:
  /// The slope for x < 0 (default 0.01).
  double negative_slope() const { return negative_slope_; }
  /// Sets the slope for x < 0.
  LeakyReLUOptions& negative_slope(double value) { negative_slope_ = value; return *this; }

 private:
  double negative_slope_ = 0.01;
};

/// x for x > 0 and a·x otherwise (a = negative_slope), like `torch.nn.LeakyReLU`.
class LeakyReLU : public Module {
 public:
  /// A layer with the given settings.
  explicit LeakyReLU(const LeakyReLUOptions& opts = LeakyReLUOptions()) : options(opts) {}
  /// max(x, 0) + a·min(x, 0), element-wise.
  Tensor forward(const Tensor& x) override;
  /// "negative_slope=0.01".
  std::string extra_repr() const override;

  LeakyReLUOptions options;  ///< The settings the layer was built with.
};

/// Settings of a `GELU`: `GELUOptions().approximate("tanh")`.
class GELUOptions {
 public:
  /// "none" (the exact form, the default) or "tanh" (the approximation), as in PyTorch.
  const std::string& approximate() const { return approximate_; }
  /// Sets the form: "none" or "tanh".
  GELUOptions& approximate(std::string value) { approximate_ = std::move(value); return *this; }

 private:
  std::string approximate_ = "none";
};

/// The Gaussian error linear unit (Hendrycks & Gimpel, 2016), like `torch.nn.GELU`:
/// \f$x\,\Phi(x) = \tfrac12 x(1 + \mathrm{erf}(x/\sqrt2))\f$, or with "tanh",
/// \f$\tfrac12 x(1+\tanh(\sqrt{2/\pi}(x + 0.044715x^3)))\f$.
class GELU : public Module {
 public:
  /// A layer with the given settings ("none" or "tanh"; anything else is an error).
  explicit GELU(const GELUOptions& opts = GELUOptions());
  /// x Φ(x), element-wise.
  Tensor forward(const Tensor& x) override;
  /// "approximate='none'".
  std::string extra_repr() const override;

  GELUOptions options;  ///< The settings the layer was built with.
};

/// The sigmoid linear unit (swish), like `torch.nn.SiLU`: \f$x\,\sigma(x)\f$.
class SiLU : public Module {
 public:
  /// x σ(x), element-wise.
  Tensor forward(const Tensor& x) override;
};

/// The logistic function, like `torch.nn.Sigmoid`: \f$\sigma(x) = 1/(1 + e^{-x})\f$.
class Sigmoid : public Module {
 public:
  /// σ(x), element-wise.
  Tensor forward(const Tensor& x) override;
};

/// The hyperbolic tangent, like `torch.nn.Tanh`.
class Tanh : public Module {
 public:
  /// tanh(x), element-wise.
  Tensor forward(const Tensor& x) override;
};

/// Settings of a `Softplus`: `SoftplusOptions().beta(2)`.
class SoftplusOptions {
 public:
  /// The sharpness β (default 1).
  double beta() const { return beta_; }
  /// Sets β.
  SoftplusOptions& beta(double value) { beta_ = value; return *this; }
  /// Above β·x > threshold the function is x itself, for stability (default 20).
  double threshold() const { return threshold_; }
  /// Sets the threshold.
  SoftplusOptions& threshold(double value) { threshold_ = value; return *this; }

 private:
  double beta_ = 1.0;
  double threshold_ = 20.0;
};

/// A smooth ReLU, like `torch.nn.Softplus`: \f$\frac1\beta\log(1 + e^{\beta x})\f$, and x
/// where \f$\beta x\f$ exceeds the threshold.
class Softplus : public Module {
 public:
  /// A layer with the given settings.
  explicit Softplus(const SoftplusOptions& opts = SoftplusOptions()) : options(opts) {}
  /// log(1 + e^{βx}) / β, element-wise.
  Tensor forward(const Tensor& x) override;
  /// "beta=1.0, threshold=20.0".
  std::string extra_repr() const override;

  SoftplusOptions options;  ///< The settings the layer was built with.
};

}  // namespace zoo::nn
