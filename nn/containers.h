#pragma once
/// @file containers.h
/// @brief Modules that hold other modules by position: `ModuleList` and `Sequential`.

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/error.h"
#include "nn/module.h"

namespace zoo::nn {

/// @cond
namespace detail {
template <class T> struct is_module_ptr : std::false_type {};
template <class M> struct is_module_ptr<std::shared_ptr<M>> : std::is_base_of<Module, M> {};
}  // namespace detail
/// @endcond

/// What a container accepts: a `std::shared_ptr` to a module, or a module moved in by
/// value (`Linear(784, 10)`), which the container then owns.
template <class T>
concept ModuleArg = detail::is_module_ptr<std::remove_cvref_t<T>>::value ||
                    (std::is_base_of_v<Module, std::remove_cvref_t<T>> &&
                     !std::is_lvalue_reference_v<T>);

/// Modules held in order and named by their position, "0", "1", ..., like
/// `torch.nn.ModuleList`: a list whose parameters the parent sees
/// (`layers.0.weight`, `layers.1.weight`, ...). It has no `forward`; the owner decides
/// how to call its modules (e.g. the blocks of a transformer, in a loop).
class ModuleList : public Module {
 public:
  /// An empty list.
  ModuleList() = default;
  /// A list of the given modules: `ModuleList(Linear(4, 4), Linear(4, 4))`.
  template <ModuleArg... Ms>
    requires(sizeof...(Ms) > 0)
  explicit ModuleList(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  /// Appends `module` under the name `std::to_string(size())`; returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(module);
    return module;
  }
  /// Appends a module given by value (moved into a new shared_ptr); returns it.
  template <class M>
    requires(std::is_base_of_v<Module, M> && !std::is_lvalue_reference_v<M>)
  std::shared_ptr<M> push_back(M&& module) {
    return push_back(std::make_shared<M>(std::move(module)));
  }

  /// How many modules the list holds.
  std::size_t size() const { return modules_.size(); }
  /// True if the list holds no module.
  bool empty() const { return modules_.empty(); }
  /// The module at position `i` (checked).
  const std::shared_ptr<Module>& operator[](std::size_t i) const;
  /// The module at position `i` as an `M` (checked: an error if it is another type).
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    ZOO_CHECK(typed != nullptr, "{}::at({}): the module there is a {}, not the type asked for",
              name(), i, (*this)[i]->name());
    return typed;
  }
  /// Iterators over the modules, in order.
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  /// End of the iteration.
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

/// A chain of single-input modules: \f$y = f_{n-1}(\cdots f_1(f_0(x)))\f$, like
/// `torch.nn.Sequential`. Its children are named "0", "1", ..., so an MLP's parameters
/// are `0.weight`, `0.bias`, `2.weight`, ...
///
/// ```cpp
/// Sequential mlp(Linear(784, 512), ReLU(), Linear(512, 10));
/// Tensor logits = mlp(x);  // x: (N, 784) -> (N, 10)
/// ```
class Sequential : public ModuleList {
 public:
  using ModuleList::ModuleList;
  /// Feeds x through every module in order. An empty Sequential returns x.
  Tensor forward(const Tensor& x) override;
};

}  // namespace zoo::nn
