#pragma once
/// @file module.h
/// @brief `Module`: the base class of every layer and model. It owns named parameters,
/// buffers and submodules, and gives them dotted names, a train/eval flag, a
/// `state_dict`, and a printed summary, as PyTorch's `torch.nn.Module` does.
///
/// Lesson: @ref tutorial_05_modules.

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/state_dict.h"

namespace zoo::nn {

/// (name, tensor) pairs in order: what `named_parameters()` and `named_buffers()` return.
/// Iterate with structured bindings: `for (const auto& [name, p] : m.named_parameters())`.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;

/// (name, module) pairs in order: what `named_children()` and `named_modules()` return.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

/// What `load_state_dict` found besides the tensors it loaded (PyTorch's `_IncompatibleKeys`).
struct LoadStateDictResult {
  /// Names the model has and the `StateDict` lacks (their values were left as they were).
  std::vector<std::string> missing_keys;
  /// Names the `StateDict` has and the model lacks (ignored).
  std::vector<std::string> unexpected_keys;
};

/// The base class of layers and models, like `torch.nn.Module`.
///
/// A module *registers* what it owns, under a name:
/// - parameters (`register_parameter`): tensors an optimizer trains; they require grad;
/// - buffers (`register_buffer`): state that is saved but not trained (running means);
/// - submodules (`register_module`): other modules, whose names become prefixes.
///
/// The registration order is the order of `named_parameters()`, `state_dict()` and the
/// printed summary; names are dotted paths, `"encoder.0.weight"`, exactly as in PyTorch,
/// so weights saved by zoo load in PyTorch and the other way round.
///
/// ```cpp
/// struct Net : zoo::nn::Module {
///   std::shared_ptr<Linear> fc1, fc2;
///   Net() {
///     fc1 = register_module("fc1", std::make_shared<Linear>(784, 100));
///     fc2 = register_module("fc2", std::make_shared<Linear>(100, 10));
///   }
///   Tensor forward(const Tensor& x) override { return (*fc2)(relu((*fc1)(x))); }
/// };
/// ```
///
/// Modules are handled through `std::shared_ptr` once they are part of a model; they can
/// be moved but not copied (a copy would silently share the parameters).
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  /// Moving a module moves its registered tensors and children (handles, not data).
  Module(Module&&) = default;
  /// Moving a module moves its registered tensors and children (handles, not data).
  Module& operator=(Module&&) = default;

  // ---- the computation ----
  /// The computation of a module with one input and one output (most layers). Modules
  /// that take other inputs define their own `forward` overloads instead; calling this
  /// one on them is an error that names the module.
  virtual Tensor forward(const Tensor& x);
  /// `forward(x)`, as `module(x)` in PyTorch.
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- registration ----
  /// Registers `tensor` as the parameter `name` and marks it as requiring grad. It must
  /// be a floating leaf (a tensor no recorded op produced; `detach()` one if needed).
  /// Returns the same handle, so `weight = register_parameter("weight", ...)` keeps the
  /// module's member and its registry pointing to one tensor. `name` must be new and
  /// contain no dot.
  Tensor register_parameter(const std::string& name, Tensor tensor);
  /// Registers `tensor` as the buffer `name`: state that moves with the module and, if
  /// `persistent`, is saved in `state_dict()`, but is not trained (no gradient).
  Tensor register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
  /// Registers `module` as the child `name`, whose parameters are then named with the
  /// prefix "name." ("fc1.weight"). Returns the pointer with its own type.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from Module");
    add_child(name, module);
    return module;
  }

  // ---- what the module holds ----
  /// Parameters with their dotted names, in registration order: this module's own
  /// first, then each child's, depth first. With `recurse = false`, only its own.
  /// A tensor registered twice (weight tying) appears once, under its first name.
  NamedTensors named_parameters(bool recurse = true) const;
  /// The tensors of `named_parameters()`: what an optimizer is given.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Buffers with their dotted names, in the same order as the parameters.
  NamedTensors named_buffers(bool recurse = true) const;
  /// The tensors of `named_buffers()`.
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// The direct children, with their names.
  NamedModules named_children() const;
  /// The direct children.
  std::vector<std::shared_ptr<Module>> children() const;
  /// This module (named "") and every module below it, depth first, with dotted names
  /// ("", "encoder", "encoder.0", ...). The pointers do not own the modules; a module
  /// reachable twice appears once.
  std::vector<std::pair<std::string, Module*>> named_modules();
  /// The total number of parameter elements (each shared tensor counted once).
  std::int64_t num_parameters() const;
  /// Calls `fn` on every module below this one and then on this one (children first,
  /// like PyTorch's `apply`), e.g. to initialise all the Linear layers of a model.
  void apply(const std::function<void(Module&)>& fn);

  // ---- modes and gradients ----
  /// Sets training mode (`on`) or evaluation mode, here and in every submodule. Layers
  /// such as `Dropout` behave differently in the two.
  virtual void train(bool on = true);
  /// `train(false)`.
  void eval() { train(false); }
  /// True in training mode (the default for a new module).
  bool is_training() const { return training_; }
  /// Clears the gradient of every parameter (sets it to an undefined tensor, like
  /// PyTorch's `zero_grad(set_to_none=True)`): the next backward writes fresh ones.
  void zero_grad();
  /// Converts every floating parameter and buffer to `dtype` in place, keeping every
  /// handle to them valid (the impls are updated, as PyTorch's `module.to` does);
  /// gradients are cleared. Returns the module, for chaining. Convert before creating
  /// an optimizer, whose state would keep the old dtype.
  Module& to(DType dtype);

  // ---- saving and loading ----
  /// Every parameter and persistent buffer by dotted name, detached: the tensors share
  /// storage with the model (clone them to keep a snapshot). Order: a module's own
  /// parameters, then its buffers, then its children's, depth first, as in PyTorch.
  StateDict state_dict() const;
  /// Copies the tensors of `state_dict` into this model's parameters and buffers, in
  /// place (no gradient is recorded). Every name the two share must agree in shape and
  /// dtype; the first mismatch is an error that names the key and both shapes (or
  /// dtypes). With `strict`, missing and unexpected keys are an error that lists them;
  /// without it they are returned. Nothing is copied unless every check passes.
  LoadStateDictResult load_state_dict(const StateDict& state_dict, bool strict = true);

  // ---- printing ----
  /// The module's type, as printed in summaries: by default the C++ class name without
  /// its namespace ("Linear", "Net"). Override to print another name.
  virtual std::string name() const;
  /// The settings shown inside the parentheses of the summary, e.g.
  /// "in_features=784, out_features=10, bias=True". Empty by default.
  virtual std::string extra_repr() const { return ""; }

 protected:
  /// Adds `module` as a child (what the `register_module` template calls).
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  struct Buffer {
    std::string name;
    Tensor tensor;
    bool persistent = true;
  };

  void check_new_name(const std::string& name, const char* what) const;
  void collect_parameters(const std::string& prefix, bool recurse, NamedTensors& out,
                          std::vector<const TensorImpl*>& seen) const;
  void collect_buffers(const std::string& prefix, bool recurse, NamedTensors& out) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_modules(const std::string& prefix,
                       std::vector<std::pair<std::string, Module*>>& out);

  NamedTensors parameters_;
  std::vector<Buffer> buffers_;
  NamedModules children_;
  bool training_ = true;
};

/// The summary of `module` in PyTorch's format: its name, its `extra_repr()`, and each
/// child on its own line, indented by two spaces per level:
/// ```text
/// Sequential(
///   (0): Linear(in_features=784, out_features=512, bias=True)
///   (1): ReLU()
/// )
/// ```
std::string to_string(const Module& module);
/// Writes `to_string(module)`.
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace zoo::nn
