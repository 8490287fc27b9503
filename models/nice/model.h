#pragma once
/// @file model.h
/// @brief NICE (Dinh, Krueger and Bengio, 2014): an invertible map \f$h = f(x)\f$ built
/// from additive coupling layers and a diagonal scaling, trained by exact maximum
/// likelihood through the change of variables.
///
/// For an invertible, differentiable \f$f : \mathbb R^D \to \mathbb R^D\f$ and a simple
/// factorised prior \f$p_H\f$ (prior.h), the density of \f$x\f$ is
/// \f[ \log p_X(x) = \log p_H(f(x)) + \log\left|\det \frac{\partial f(x)}{\partial x}\right|. \f]
/// \f$f\f$ is a chain of layers \f$f = f_L \circ \cdots \circ f_1\f$, so the log-determinant
/// is the sum of the layers' log-determinants, each at its own input. Every layer here
/// (`FlowLayer`) offers the same three things, as in the authors' code: `forward`,
/// `inverse` and `log_det`.
///
/// Shapes: N images per batch, D values per image (D = 784 for MNIST, flattened row by
/// row); every tensor that goes through the flow is (N, D).
/// Lesson: @ref tutorial_12_nice.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "autograd/generator.h"
#include "models/nice/prior.h"
#include "nn/containers.h"
#include "nn/module.h"

namespace zoo::models {

/// The sizes of a `Nice` model. The paper's MNIST model is 4 couplings of 5 hidden
/// layers of 1000 units each; `NiceOptions` (train.h) chooses the default for training.
struct NiceConfig {
  std::int64_t dim = 784;             ///< D, values per example (even)
  std::int64_t coupling_layers = 4;   ///< additive coupling layers
  std::int64_t hidden_size = 1000;    ///< units of each hidden layer of a coupling MLP
  std::int64_t hidden_layers = 5;     ///< ReLU hidden layers of each coupling MLP
  std::string prior = "logistic";     ///< "logistic" or "gaussian"
};

/// A bijective layer of a flow: forward, inverse and the log-determinant of its Jacobian.
class FlowLayer : public nn::Module {
 public:
  /// y = f(x): x (N, D) -> y (N, D).
  Tensor forward(const Tensor& x) override = 0;
  /// x = f⁻¹(y): y (N, D) -> x (N, D); `inverse(forward(x))` is x up to rounding.
  virtual Tensor inverse(const Tensor& y) = 0;
  /// \f$\log|\det \partial f(x) / \partial x|\f$ for each row: x (N, D) -> (N).
  virtual Tensor log_det(const Tensor& x) = 0;
};

/// The additive coupling layer. The D inputs are split into two interleaved halves,
/// the even-indexed values \f$x_{I_e} = (x_0, x_2, \ldots)\f$ and the odd-indexed
/// \f$x_{I_o} = (x_1, x_3, \ldots)\f$ (the paper's "odd and even" split, counted from 0
/// here). One half, \f$I_1\f$, passes through unchanged and drives a ReLU MLP \f$m\f$
/// that shifts the other half, \f$I_2\f$:
/// \f[ y_{I_1} = x_{I_1}, \qquad y_{I_2} = x_{I_2} + m(x_{I_1}), \f]
/// \f[ x_{I_1} = y_{I_1}, \qquad x_{I_2} = y_{I_2} - m(y_{I_1}). \f]
/// The inverse needs \f$m\f$ only forwards, so \f$m\f$ can be any network. In the order
/// \f$(I_1, I_2)\f$ the Jacobian is block lower-triangular with identity blocks on the
/// diagonal,
/// \f[ \frac{\partial y}{\partial x} = \begin{pmatrix} I & 0 \\ \partial m / \partial x_{I_1} & I \end{pmatrix}, \f]
/// so its determinant is 1 and `log_det` is 0: the layer preserves volume.
///
/// `changes_odd` says which half is \f$I_2\f$; a `Nice` alternates it from layer to
/// layer so that every value is changed. Parameters: the MLP `m` (D/2 → H → … → H → D/2),
/// `m.0.weight`, `m.0.bias`, `m.2.weight`, ... (the ReLUs take the odd positions).
class AdditiveCoupling : public FlowLayer {
 public:
  /// A coupling over D values whose MLP has `hidden_layers` ReLU layers of `hidden_size`.
  AdditiveCoupling(std::int64_t dim, std::int64_t hidden_size, std::int64_t hidden_layers, bool changes_odd);
  /// \f$y_{I_1} = x_{I_1}\f$, \f$y_{I_2} = x_{I_2} + m(x_{I_1})\f$: (N, D) -> (N, D).
  Tensor forward(const Tensor& x) override;
  /// \f$x_{I_2} = y_{I_2} - m(y_{I_1})\f$: (N, D) -> (N, D).
  Tensor inverse(const Tensor& y) override;
  /// Zeros (N): an additive coupling has a unit Jacobian determinant.
  Tensor log_det(const Tensor& x) override;
  /// "dim=784, changes=odd".
  std::string extra_repr() const override;

  std::int64_t dim;                   ///< D
  bool changes_odd;                   ///< I₂ is the odd-indexed half (else the even)
  std::shared_ptr<nn::Sequential> m;  ///< the coupling function, (N, D/2) -> (N, D/2)

 private:
  /// y = x with I₂ shifted by `sign`·m(x_{I₁}), the shared body of forward and inverse.
  Tensor shift(const Tensor& x, double sign);
};

/// The diagonal scaling layer, NICE's last layer: \f$y = x \odot e^{s}\f$, with
/// \f$s \in \mathbb R^D\f$ the learned log-scales (the paper's \f$S_{dd}\f$, used through
/// \f$e^{S}\f$ so that the scale stays positive). The Jacobian is \f$\mathrm{diag}(e^{s})\f$:
/// \f[ \log|\det| = \sum_d s_d, \qquad x = y \odot e^{-s}. \f]
/// Without it every layer would preserve volume and the model could not concentrate
/// mass; with it, a large \f$s_d\f$ marks a dimension the model finds nearly constant
/// (the black border of MNIST digits). Parameter: `log_scale` (D), initially 0.
class DiagonalScaling : public FlowLayer {
 public:
  /// Log-scales of D values, all 0 (the identity).
  explicit DiagonalScaling(std::int64_t dim);
  /// \f$x \odot e^{s}\f$: (N, D) -> (N, D).
  Tensor forward(const Tensor& x) override;
  /// \f$y \odot e^{-s}\f$: (N, D) -> (N, D).
  Tensor inverse(const Tensor& y) override;
  /// \f$\sum_d s_d\f$ for every row: (N).
  Tensor log_det(const Tensor& x) override;
  /// "dim=784".
  std::string extra_repr() const override;

  std::int64_t dim;  ///< D
  Tensor log_scale;  ///< s: (D)
};

/// The NICE model: `coupling_layers` additive couplings that alternate which half they
/// change (the first changes the odd-indexed values), then a `DiagonalScaling`, then the
/// prior. Parameters: `couplings.K.m.J.weight|bias`, `scaling.log_scale`.
class Nice : public nn::Module {
 public:
  /// A model of the given sizes, initialised from the default generator (PyTorch's
  /// Linear initialisation; log-scales 0). Bad sizes are errors naming them.
  explicit Nice(const NiceConfig& config = {});
  /// h = f(x): x (N, D) -> h (N, D).
  Tensor forward(const Tensor& x) override;
  /// h = f(x) and \f$\log|\det \partial f / \partial x|\f$, summed over the layers each at
  /// its own input: x (N, D) -> (h (N, D), log_det (N)).
  std::pair<Tensor, Tensor> forward_with_log_det(const Tensor& x);
  /// x = f⁻¹(h), the layers undone in reverse order: h (N, D) -> x (N, D).
  Tensor inverse(const Tensor& h);
  /// \f$\log p_X(x) = \log p_H(f(x)) + \log|\det \partial f / \partial x|\f$ in nats,
  /// for each row: x (N, D) -> (N). Differentiable in x and in the parameters.
  Tensor log_prob(const Tensor& x);
  /// n draws \f$x = f^{-1}(h)\f$, \f$h\f$ from the prior scaled by `temperature`
  /// (`sample_prior`), without a graph: (n, D).
  Tensor sample(std::int64_t n, double temperature, Generator& gen);

  NiceConfig config;                          ///< the sizes it was built with
  NicePrior prior;                            ///< `config.prior`, parsed
  std::shared_ptr<nn::ModuleList> couplings;  ///< the `AdditiveCoupling`s, in order
  std::shared_ptr<DiagonalScaling> scaling;   ///< the last layer

 private:
  /// Checks that x is (N, D) for this model; `op` names the caller in the error.
  void check_input(const Tensor& x, const char* op) const;
};

}  // namespace zoo::models
