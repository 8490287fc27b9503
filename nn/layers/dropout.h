#pragma once
/// @file dropout.h
/// @brief `Dropout`: zeroes random elements while training, a regulariser.

#include <string>

#include "autograd/generator.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `Dropout` layer: `DropoutOptions(0.1)`.
class DropoutOptions {
 public:
  /// Drop each element with probability `p` (default 0.5).
  DropoutOptions(double p = 0.5) : p_(p) {}
  /// The probability of zeroing an element, in [0, 1].
  double p() const { return p_; }
  /// Sets the probability.
  DropoutOptions& p(double value) { p_ = value; return *this; }

 private:
  double p_;
};

/// Dropout (Srivastava et al., 2014), like `torch.nn.Dropout`. In training mode each
/// element is zeroed with probability p and the survivors are scaled by 1/(1−p):
/// \f$y = x \odot m / (1 - p)\f$, \f$m_i \sim \text{Bernoulli}(1 - p)\f$, so that
/// \f$E[y] = x\f$ and evaluation needs no rescaling. In evaluation mode (`eval()`) it
/// is the identity. The mask is drawn from the module's generator (the default
/// generator unless `set_generator` was called). No parameters.
///
/// Shapes: any -> the same.
class Dropout : public Module {
 public:
  /// A layer with the given settings: `Dropout(0.1)` or `Dropout(DropoutOptions(0.1))`.
  explicit Dropout(const DropoutOptions& opts = DropoutOptions());
  /// Draws masks from `gen` from now on (it must outlive the module); nullptr goes back
  /// to the default generator.
  void set_generator(Generator* gen) { generator_ = gen; }
  /// x -> x ⊙ m / (1 − p) in training mode, x in evaluation mode.
  Tensor forward(const Tensor& x) override;
  /// "p=0.5, inplace=False", as PyTorch prints it.
  std::string extra_repr() const override;

  DropoutOptions options;  ///< The settings the layer was built with.

 private:
  Generator* generator_ = nullptr;
};

}  // namespace zoo::nn
