#pragma once
/// @file optimizer.h
/// @brief `Optimizer`: the base of SGD, Adam, AdamW and Muon. It owns the list of named
/// parameters, the learning rate, the per-parameter state, and the `state_dict` that
/// saves and restores all of it exactly.
///
/// A training step, as in PyTorch:
/// \code
///   optimizer.zero_grad();          // forget the previous step's gradients
///   Tensor loss = model(x, y);
///   loss.backward();                // fill every parameter's .grad()
///   optimizer.step();               // θ ← update(θ, ∇θ, state), in place
///   scheduler.step();               // optional: the learning rate of the next step
/// \endcode

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/state_dict.h"

namespace zoo::optim {

/// Parameters with their names, in order: the type `Module::named_parameters()` returns.
using NamedParameters = std::vector<std::pair<std::string, Tensor>>;

/// Names plain tensors "0", "1", ... (the indices PyTorch gives a param group's tensors).
NamedParameters number_parameters(const std::vector<Tensor>& params);

/// What an optimizer remembers about one parameter between steps.
struct ParamState {
  /// How many updates this parameter has received, \f$t\f$ (0: none yet, no state).
  /// Adam's bias correction uses it; it can differ between parameters when some of
  /// them have no gradient in some steps.
  std::int64_t step = 0;
  /// The parameter's buffers by slot name ("momentum_buffer", "exp_avg", ...), each of
  /// the parameter's shape and dtype, created by the optimizer before the first update.
  nn::StateDict buffers;
};

/// The base of every optimizer: parameters, learning rate, state, `state_dict`.
///
/// A subclass says what state a parameter needs (`init_state`) and how one parameter
/// is updated from its gradient (`update`); the base does the rest. Updates run in place
/// under `NoGradGuard`, so the parameters stay the same tensors (the model's) and
/// nothing is recorded in a graph. A parameter whose `.grad()` is undefined is skipped:
/// it is not changed and its state does not advance.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  void step();
  /// Clears the gradients: undefined (`set_to_none`, PyTorch's default, which frees the
  /// memory and lets the next backward write rather than add) or filled with zeros.
  void zero_grad(bool set_to_none = true);

  /// The learning rate \f$\eta\f$ of the next step.
  double lr() const { return lr_; }
  /// Sets the learning rate (what a schedule calls before each step). Must be >= 0.
  virtual void set_lr(double lr);

  /// How many times `step()` has run.
  std::int64_t step_count() const { return step_count_; }
  /// The parameters, by name, in the order given to the constructor.
  const NamedParameters& parameters() const { return params_; }
  /// The state of parameter `index` (step 0 and no buffers before its first update).
  const ParamState& param_state(std::size_t index) const;
  /// "SGD", "Adam", "AdamW" or "Muon": the name used in error messages.
  const std::string& name() const { return name_; }

  /// Everything needed to continue training bit-identically, as named tensors (a copy:
  /// later steps do not change it):
  /// - `"step"`: `step_count()`, a 0-dim int64 tensor;
  /// - `"lr"`: `lr()`, a 0-dim float64 tensor;
  /// - for each parameter that has state, in parameter order, `"<name>.step"` (0-dim
  ///   int64) and one `"<name>.<slot>"` per buffer, e.g. `"fc1.weight.exp_avg"`.
  nn::StateDict state_dict() const;
  /// Restores a `state_dict()` of the same kind of optimizer over parameters with the
  /// same names and shapes. Every key is checked before anything changes: a missing
  /// key, a shape that differs from the parameter's, or a key this optimizer does not
  /// know is an error that names it. Hyperparameters other than the learning rate come
  /// from the constructor, as in libtorch.
  void load_state_dict(const nn::StateDict& state);

 protected:
  /// Checks the parameters (at least one; defined, floating, leaves, distinct names and
  /// tensors) and the learning rate; `name` prefixes every error message.
  Optimizer(std::string name, NamedParameters params, double lr);

  /// Creates parameter `index`'s buffers in `buffers` (zeros of the parameter's shape,
  /// usually). Called before its first update, and by `load_state_dict` to know which
  /// slots to expect.
  virtual void init_state(std::size_t index, const Tensor& param,
                          nn::StateDict& buffers) const = 0;
  /// Updates parameter `index` in place from its gradient. `state.step` already counts
  /// this update (it is 1 on the first one). Runs under `NoGradGuard`.
  virtual void update(std::size_t index, Tensor& param, const Tensor& grad,
                      ParamState& state) = 0;

 private:
  std::string name_;
  NamedParameters params_;
  std::vector<ParamState> state_;  // one per parameter
  double lr_;
  std::int64_t step_count_ = 0;
};

}  // namespace zoo::optim
