#pragma once
/// @file state_dict.h
/// @brief `StateDict`: named tensors in order, what a model saves and loads.

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::nn {

/// Tensors by name, in insertion order, like the OrderedDict PyTorch's `state_dict()`
/// returns. Names are dotted paths ("encoder.0.weight").
class StateDict {
 public:
  /// One entry: a dotted name and its tensor.
  using Item = std::pair<std::string, Tensor>;

  /// Adds `name` (which must be new) at the end.
  void insert(const std::string& name, const Tensor& tensor);
  /// True if a tensor is called `name`.
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  /// The tensor called `name`; an error naming it if there is none.
  const Tensor& at(const std::string& name) const;
  /// The tensor called `name`, or an undefined tensor.
  Tensor find(const std::string& name) const;
  /// The number of tensors.
  std::size_t size() const { return items_.size(); }
  /// True if there is no tensor.
  bool empty() const { return items_.empty(); }
  /// Iterators over the (name, tensor) entries, in insertion order.
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  /// End of the iteration.
  std::vector<Item>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace zoo::nn
