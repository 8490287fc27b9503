#pragma once
/// @file sgd.h
/// @brief `SGD`: stochastic gradient descent with momentum, dampening, Nesterov momentum
/// and L2 weight decay, with PyTorch's update rules.

#include "nn/optim/optimizer.h"

namespace zoo::optim {

/// Hyperparameters of `SGD`, set with chained setters: `SGDOptions(0.1).momentum(0.9)`.
struct SGDOptions {
  /// The learning rate \f$\eta\f$ is required, as in libtorch.
  explicit SGDOptions(double lr) : lr_(lr) {}

  /// Sets \f$\eta\f$.
  SGDOptions& lr(double v) { lr_ = v; return *this; }
  /// Sets \f$\mu\f$.
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  /// Sets \f$\tau\f$.
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  /// Nesterov on/off.
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  /// Sets \f$\lambda\f$.
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }

  double lr() const { return lr_; }                      ///< \f$\eta\f$
  double momentum() const { return momentum_; }          ///< \f$\mu\f$ (0: plain SGD)
  double dampening() const { return dampening_; }        ///< \f$\tau\f$
  bool nesterov() const { return nesterov_; }            ///< look-ahead momentum
  double weight_decay() const { return weight_decay_; }  ///< \f$\lambda\f$ (L2)

 private:
  double lr_;
  double momentum_ = 0;
  double dampening_ = 0;
  bool nesterov_ = false;
  double weight_decay_ = 0;
};

/// Stochastic gradient descent, PyTorch's `torch.optim.SGD`. With gradient \f$g_t\f$ of
/// parameter \f$\theta\f$ at update \f$t = 1, 2, \dots\f$:
/// \f[
/// \begin{aligned}
/// g_t &\leftarrow g_t + \lambda\,\theta_{t-1} && \text{(weight decay, if } \lambda \ne 0)
/// \\ b_1 &= g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t && \text{(momentum, if } \mu \ne 0)
/// \\ d_t &= \begin{cases} g_t + \mu\, b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases}
///   && (d_t = g_t \text{ if } \mu = 0)
/// \\ \theta_t &= \theta_{t-1} - \eta\, d_t
/// \end{aligned}
/// \f]
/// The first buffer is the gradient itself, undamped (PyTorch's initialisation). The
/// buffer is saved as `"<name>.momentum_buffer"`. Nesterov needs \f$\mu > 0\f$ and
/// \f$\tau = 0\f$.
class SGD : public Optimizer {
 public:
  /// SGD over named parameters (e.g. `model.named_parameters()`).
  SGD(NamedParameters params, SGDOptions options);
  /// SGD over plain tensors, named "0", "1", ...
  SGD(const std::vector<Tensor>& params, SGDOptions options);

  /// The hyperparameters given to the constructor.
  const SGDOptions& options() const { return options_; }

 protected:
  void init_state(std::size_t index, const Tensor& param, nn::StateDict& buffers) const override;
  void update(std::size_t index, Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  SGDOptions options_;
};

}  // namespace zoo::optim
