#pragma once
/// @file muon.h
/// @brief `Muon`: momentum orthogonalised by Newton–Schulz for 2-D weight matrices,
/// with an internal AdamW for every other parameter.
///
/// Reference: Keller Jordan, "Muon: An optimizer for hidden layers in neural networks"
/// (blog post, 2024, https://kellerjordan.github.io/posts/muon/), and his implementation
/// in the modded-nanogpt speedrun and the `muon` repository.

#include <functional>
#include <string>
#include <vector>

#include "nn/optim/adam.h"

namespace zoo::optim {

/// Orthogonalises a matrix by Newton–Schulz iteration: returns roughly \f$U V^\top\f$ for
/// \f$G = U \Sigma V^\top\f$, i.e. G with every singular value replaced by (about) 1.
///
/// G (M, N) is first scaled to \f$X_0 = G / (\lVert G\rVert_F + 10^{-7})\f$, so that every
/// singular value is at most 1, and transposed if M > N so that \f$A\f$ below is the
/// smaller Gram matrix. Then, `steps` times, the quintic
/// \f[
///   A = X X^\top, \qquad X \leftarrow a X + (b A + c A^2) X,
///   \qquad (a, b, c) = (3.4445, -4.7750, 2.0315)
/// \f]
/// maps each singular value \f$\sigma\f$ of X to \f$p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5\f$
/// and leaves the singular vectors alone. The coefficients (Keller Jordan's) make the
/// slope at 0 large (\f$a\f$), so that small singular values grow fast, at the price of not
/// converging to exactly 1. Below 0.68, p pushes a value up (and never past p's maximum,
/// 1.2024 at \f$\sigma = 0.5545\f$); on [0.68, 1.21] it stays in [0.68, 1.14]. So once
/// there, a singular value stays in [0.68, 1.21], and 5 steps bring there every one that
/// starts above about 0.0016 (relative to \f$\lVert G\rVert_F\f$): close enough to 1 for
/// Muon. Returns (M, N), contiguous.
Tensor zeropower_via_newtonschulz5(const Tensor& g, int steps = 5);

/// Hyperparameters of `Muon`, set with chained setters:
/// `MuonOptions(0.02).momentum(0.95).adamw_params({"embed.weight", "head.weight"})`.
///
/// Defaults, following Keller Jordan's recommendations: lr 0.02, momentum 0.95 with
/// Nesterov, 5 Newton–Schulz steps, no weight decay; the AdamW half has lr 3e-4, betas
/// (0.9, 0.95), eps 1e-10 and no weight decay.
struct MuonOptions {
  /// Decides, for a 2-D parameter, whether Muon updates it (true) or AdamW (false).
  using Predicate = std::function<bool(const std::string& name, const Tensor& param)>;

  /// The defaults above, with Muon's learning rate `lr`.
  explicit MuonOptions(double lr = 0.02) : lr_(lr) {}

  /// Sets \f$\eta\f$.
  MuonOptions& lr(double v) { lr_ = v; return *this; }
  /// Sets \f$\mu\f$.
  MuonOptions& momentum(double v) { momentum_ = v; return *this; }
  /// Nesterov on/off.
  MuonOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  /// Sets the NS steps.
  MuonOptions& ns_steps(int v) { ns_steps_ = v; return *this; }
  /// Sets \f$\lambda\f$.
  MuonOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  /// Sets the AdamW half.
  MuonOptions& adamw(const AdamOptions& v) { adamw_ = v; return *this; }
  /// Names 2-D parameters that AdamW should update instead of Muon.
  MuonOptions& adamw_params(std::vector<std::string> v) {
    adamw_params_ = std::move(v);
    return *this;
  }
  /// Sets the test that 2-D parameters must pass to go to Muon.
  MuonOptions& use_muon(Predicate v) { use_muon_ = std::move(v); return *this; }

  double lr() const { return lr_; }                      ///< \f$\eta\f$ of the Muon half
  double momentum() const { return momentum_; }          ///< \f$\mu\f$
  bool nesterov() const { return nesterov_; }            ///< update with \f$G + \mu B\f$
  int ns_steps() const { return ns_steps_; }             ///< Newton–Schulz iterations
  double weight_decay() const { return weight_decay_; }  ///< decoupled \f$\lambda\f$
  /// Options of the AdamW half (always with decoupled weight decay).
  const AdamOptions& adamw() const { return adamw_; }
  /// Names of 2-D parameters to give to AdamW anyway (embeddings, output heads).
  const std::vector<std::string>& adamw_params() const { return adamw_params_; }
  /// Optional test for 2-D parameters; those it rejects go to AdamW.
  const Predicate& use_muon() const { return use_muon_; }

 private:
  double lr_;
  double momentum_ = 0.95;
  bool nesterov_ = true;
  int ns_steps_ = 5;
  double weight_decay_ = 0;
  AdamOptions adamw_ = AdamWOptions(3e-4).betas({0.9, 0.95}).eps(1e-10).weight_decay(0);
  std::vector<std::string> adamw_params_;
  Predicate use_muon_;
};

/// Muon: MomentUm Orthogonalized by Newton–Schulz. For a 2-D weight \f$W\f$ (M, N) with
/// gradient \f$G_t\f$ and momentum buffer \f$B_0 = 0\f$:
/// \f[
/// \begin{aligned}
/// B_t &= \mu B_{t-1} + G_t
/// \\ U_t &= \begin{cases} G_t + \mu B_t & \text{Nesterov (default)}
///   \\ B_t & \text{otherwise} \end{cases}
/// \\ O_t &= \mathrm{NS}_5(U_t) \approx \text{the orthogonal factor of } U_t
/// \\ W_t &= (1 - \eta\lambda)\, W_{t-1} - \eta \sqrt{\max(1, M/N)}\; O_t
/// \end{aligned}
/// \f]
/// Orthogonalising makes every direction of the update equally long, so the rare
/// directions that plain momentum would barely move get their share. The factor
/// \f$\sqrt{\max(1, M/N)}\f$ keeps the update's RMS similar for tall matrices.
///
/// Which parameters Muon updates: every 2-D parameter, except those named in
/// `adamw_params` and those `use_muon` rejects. Everything else (biases, norms' gains,
/// convolution kernels, and whatever the caller marked: embeddings and output heads
/// should go to AdamW, as Keller Jordan recommends) is updated by AdamW with its own
/// learning rate. Buffers: `"momentum_buffer"` for Muon's parameters, Adam's for the rest.
///
/// `set_lr` scales both learning rates by the same factor: the AdamW lr becomes
/// `adamw().lr() * lr / options.lr()`, so one schedule drives both halves (if
/// `options.lr()` is 0 there is no ratio, and the AdamW lr stays as given).
///
/// (Keller Jordan's newer code keeps an exponential average, \f$B \leftarrow \mu B + (1-\mu)G\f$
/// and \f$U = (1-\mu)G + \mu B\f$: that is \f$(1-\mu)\f$ times the \f$U\f$ above, and
/// Newton–Schulz normalises the scale away, so both give the same update.)
class Muon : public Optimizer {
 public:
  /// Muon over named parameters (e.g. `model.named_parameters()`).
  explicit Muon(NamedParameters params, MuonOptions options = MuonOptions());
  /// Muon over plain tensors, named "0", "1", ...
  explicit Muon(const std::vector<Tensor>& params, MuonOptions options = MuonOptions());

  /// True if parameter `index` is updated by Muon, false if by AdamW.
  bool uses_muon(std::size_t index) const { return use_muon_.at(index); }
  /// The learning rate of the AdamW half (moves with `set_lr`).
  double adamw_lr() const { return adamw_lr_; }
  /// Sets Muon's lr, and AdamW's in the same proportion.
  void set_lr(double lr) override;
  /// The hyperparameters given to the constructor.
  const MuonOptions& options() const { return options_; }

 protected:
  void init_state(std::size_t index, const Tensor& param, nn::StateDict& buffers) const override;
  void update(std::size_t index, Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  MuonOptions options_;
  std::vector<bool> use_muon_;  // one per parameter
  double adamw_lr_;
};

}  // namespace zoo::optim
