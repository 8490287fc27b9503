#pragma once
/// @file adam.h
/// @brief `Adam` and `AdamW`: adaptive moment estimation, with L2 or decoupled weight
/// decay, bias correction and optional AMSGrad, with PyTorch's update rules.

#include <utility>

#include "nn/optim/optimizer.h"

namespace zoo::optim {

/// Hyperparameters of `Adam` (and `AdamW`), set with chained setters:
/// `AdamOptions(1e-3).betas({0.9, 0.999}).weight_decay(0)`.
struct AdamOptions {
  /// Adam's defaults (PyTorch's) with learning rate `lr`.
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}

  /// Sets \f$\eta\f$.
  AdamOptions& lr(double v) { lr_ = v; return *this; }
  /// Sets \f$(\beta_1, \beta_2)\f$.
  AdamOptions& betas(std::pair<double, double> v) { betas_ = v; return *this; }
  /// Sets \f$\epsilon\f$.
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  /// Sets \f$\lambda\f$.
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  /// AMSGrad on/off.
  AdamOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }
  /// AdamW's decay instead of L2 (see the getter).
  AdamOptions& decoupled_weight_decay(bool v) { decoupled_weight_decay_ = v; return *this; }

  double lr() const { return lr_; }                           ///< \f$\eta\f$
  std::pair<double, double> betas() const { return betas_; }  ///< \f$(\beta_1, \beta_2)\f$
  double eps() const { return eps_; }                         ///< \f$\epsilon\f$
  double weight_decay() const { return weight_decay_; }       ///< \f$\lambda\f$
  bool amsgrad() const { return amsgrad_; }                   ///< use \f$\max_s v_s\f$
  /// AdamW's decay \f$\theta \leftarrow \theta - \eta\lambda\theta\f$ instead of Adam's
  /// \f$g \leftarrow g + \lambda\theta\f$ (PyTorch's `decoupled_weight_decay`).
  bool decoupled_weight_decay() const { return decoupled_weight_decay_; }

 private:
  double lr_;
  std::pair<double, double> betas_ = {0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_ = 0;
  bool amsgrad_ = false;
  bool decoupled_weight_decay_ = false;
};

/// `AdamOptions` with AdamW's defaults (PyTorch's): weight decay 0.01, decoupled.
struct AdamWOptions : AdamOptions {
  /// AdamW's defaults with learning rate `lr`.
  explicit AdamWOptions(double lr = 1e-3) : AdamOptions(lr) {
    weight_decay(1e-2);
    decoupled_weight_decay(true);
  }
};

/// Adam (Kingma & Ba, 2015), PyTorch's `torch.optim.Adam`. With gradient \f$g_t\f$ at
/// update \f$t = 1, 2, \dots\f$ and \f$m_0 = v_0 = 0\f$:
/// \f[
/// \begin{aligned}
/// g_t &\leftarrow g_t + \lambda\,\theta_{t-1} && \text{(L2 weight decay, Adam)}
/// \\ \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1} && \text{(decoupled, AdamW)}
/// \\ m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t && \text{(first moment)}
/// \\ v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 && \text{(second moment)}
/// \\ \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ with AMSGrad, else } v_t
/// \\ \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\;
///   \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
/// \end{aligned}
/// \f]
/// The factors \f$1 - \beta^t\f$ undo the bias of moments that start at zero. Buffers:
/// `"exp_avg"` (m), `"exp_avg_sq"` (v) and, with AMSGrad, `"max_exp_avg_sq"`.
class Adam : public Optimizer {
 public:
  /// Adam over named parameters (e.g. `model.named_parameters()`).
  explicit Adam(NamedParameters params, AdamOptions options = AdamOptions());
  /// Adam over plain tensors, named "0", "1", ...
  explicit Adam(const std::vector<Tensor>& params, AdamOptions options = AdamOptions());

  /// The hyperparameters given to the constructor.
  const AdamOptions& options() const { return options_; }

 protected:
  /// For AdamW: the same maths under another name.
  Adam(std::string name, NamedParameters params, AdamOptions options);

  void init_state(std::size_t index, const Tensor& param, nn::StateDict& buffers) const override;
  void update(std::size_t index, Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  AdamOptions options_;
};

/// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019),
/// PyTorch's `torch.optim.AdamW`: Adam whose weight decay shrinks the parameter directly,
/// \f$\theta \leftarrow \theta - \eta\lambda\theta\f$, before the Adam step, instead of
/// adding \f$\lambda\theta\f$ to the gradient, where Adam's \f$1/\sqrt{\hat v}\f$ would
/// rescale it. `decoupled_weight_decay` is always on, whatever the options say.
class AdamW : public Adam {
 public:
  /// AdamW over named parameters.
  explicit AdamW(NamedParameters params, AdamOptions options = AdamWOptions());
  /// AdamW over plain tensors, named "0", "1", ...
  explicit AdamW(const std::vector<Tensor>& params, AdamOptions options = AdamWOptions());
};

/// Checks Adam's hyperparameters (lr is checked by the optimizer); `who` names the caller.
void check_adam_options(const AdamOptions& options, const std::string& who);
/// Creates Adam's buffers for `param`: zeros for "exp_avg", "exp_avg_sq" and, with
/// AMSGrad, "max_exp_avg_sq".
void init_adam_state(const Tensor& param, const AdamOptions& options, nn::StateDict& buffers);
/// One Adam (or, with `decoupled_weight_decay`, AdamW) update of `param` in place, at
/// learning rate `lr` (the optimizer's current one, not `options.lr()`). Shared by
/// `Adam`, `AdamW` and `Muon`'s AdamW half. Contiguous tensors of one floating dtype
/// (the usual case) take a fused single pass; anything else `adam_update_reference`.
void adam_update(Tensor& param, const Tensor& grad, ParamState& state,
                 const AdamOptions& options, double lr);
/// The same update written with tensor ops, one line per equation of `Adam`: the
/// readable form, and the reference the fused pass is tested against.
void adam_update_reference(Tensor& param, const Tensor& grad, ParamState& state,
                           const AdamOptions& options, double lr);

}  // namespace zoo::optim
