#include "nn/state_dict.h"

#include "autograd/error.h"

namespace zoo::nn {

void StateDict::insert(const std::string& name, const Tensor& tensor) {
  ZOO_CHECK(!contains(name), "StateDict: the name '{}' is already taken", name);
  index_[name] = items_.size();
  items_.emplace_back(name, tensor);
}

const Tensor& StateDict::at(const std::string& name) const {
  auto it = index_.find(name);
  ZOO_CHECK(it != index_.end(), "StateDict: no tensor named '{}'", name);
  return items_[it->second].second;
}

Tensor StateDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? Tensor() : items_[it->second].second;
}

}  // namespace zoo::nn
