#include "nn/containers.h"

namespace zoo::nn {

const std::shared_ptr<Module>& ModuleList::operator[](std::size_t i) const {
  ZOO_CHECK(i < modules_.size(), "{}[{}]: index out of range (it holds {} modules)", name(), i,
            modules_.size());
  return modules_[i];
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  std::size_t i = 0;
  for (const auto& module : *this) {
    try {
      y = module->forward(y);
    } catch (const Error& e) {
      // Say which link of the chain failed: "Sequential, module (2) Linear: ..."
      throw Error(fmt::format("{}, module ({}) {}: {}", name(), i, module->name(), e.what()));
    }
    ++i;
  }
  return y;
}

}  // namespace zoo::nn
