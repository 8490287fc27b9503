/// @file node.cpp
/// @brief Recording ops into the graph, saved tensors, and the two kinds of node.

#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"

namespace zoo {

namespace {
thread_local bool grad_enabled = true;
}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

std::uint64_t Node::next_sequence_nr() {
  static std::atomic<std::uint64_t> counter{0};
  return counter++;
}

Grads FunctionNode::apply(const Grads& grad_outputs) {
  ZOO_CHECK(backward_ != nullptr,
            "backward through the graph a second time (reached '{}'): the tensors the graph saved "
            "were freed by the first backward. Pass retain_graph=true to the first backward() if "
            "you need to call it twice",
            name());
  std::vector<bool> needs(next_edges.size());
  for (std::size_t i = 0; i < next_edges.size(); ++i) needs[i] = next_edges[i].valid();
  return backward_(grad_outputs, needs);
}

namespace {

/// True if `g` is the only handle on its memory: no other tensor, view or saved alias
/// shares its impl or its storage, it covers the whole storage and is contiguous. Such a
/// gradient can become `.grad` as it is.
bool owns_its_memory(const Tensor& g) {
  const auto& impl = g.impl_ptr();
  return impl.use_count() == 1 && impl->storage.use_count() == 1 && !g.requires_grad() &&
         g.is_contiguous() && g.offset() == 0 &&
         impl->storage->nbytes() == static_cast<std::size_t>(g.numel()) * element_size(g.dtype());
}

}  // namespace

Grads AccumulateGrad::apply(const Grads& grad_outputs) {
  const Tensor& g = grad_outputs[0];
  auto& leaf = *leaf_;
  if (GradMode::is_enabled()) {
    // create_graph: keep the gradient differentiable (out of place).
    Tensor sum = leaf.grad ? Tensor(leaf.grad) + g : g;
    leaf.grad = sum.impl_ptr();
  } else if (!leaf.grad) {
    // The incoming gradient may be a view or shared with another leaf: own a copy,
    // unless nothing else can see its memory, as PyTorch does (saves a copy per step).
    leaf.grad = owns_its_memory(g) ? g.impl_ptr() : g.detach().clone().impl_ptr();
  } else {
    Tensor(leaf.grad).add_(g);
  }
  return {};
}

SavedTensor SavedTensor::input(const Tensor& t) {
  SavedTensor s;
  s.tensor_ = t;
  s.version_ = t.version();
  return s;
}

SavedTensor SavedTensor::output(const Tensor& t) {
  SavedTensor s;
  s.tensor_ = t.detach();
  s.version_ = t.version();
  s.is_output_ = true;
  // `record` will fill in the node this alias came from (see TensorImpl::weak_grad_fn).
  t.impl()->pending_saved_aliases.push_back(s.tensor_.impl_ptr());
  return s;
}

Tensor SavedTensor::get() const {
  ZOO_CHECK(tensor_.version() == version_,
            "a tensor saved for backward was modified in place (its version is {}, it was {} when "
            "saved); clone it before modifying it",
            tensor_.version(), version_);
  if (!is_output_) return tensor_;
  auto node = tensor_.impl()->weak_grad_fn.lock();
  if (!node) return tensor_;
  // Re-attach the output to its node, so that a backward that uses it (create_graph)
  // is differentiated through the op that produced it.
  auto impl = std::make_shared<TensorImpl>(*tensor_.impl());
  impl->grad_fn = std::move(node);
  impl->requires_grad = true;
  impl->weak_grad_fn.reset();
  return Tensor(std::move(impl));
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return Edge{t.grad_fn(), t.output_nr()};
  auto* impl = t.impl();
  auto acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    acc->outputs.push_back({impl->shape, impl->dtype});
    impl->grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record_multi(const char* op, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs, BackwardFn backward) {
  if (!any_requires_grad(inputs)) {
    for (const auto& out : outputs) out.impl()->pending_saved_aliases.clear();
    return;
  }
  auto node = std::make_shared<FunctionNode>(op, std::move(backward));
  node->next_edges.reserve(inputs.size());
  for (const auto& in : inputs) node->next_edges.push_back(gradient_edge(in));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    auto* impl = outputs[i].impl();
    node->outputs.push_back({impl->shape, impl->dtype});
    if (!is_floating(impl->dtype)) continue;  // e.g. the indices of max: no gradient
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = static_cast<std::uint32_t>(i);
    for (auto& weak_alias : impl->pending_saved_aliases)
      if (auto alias = weak_alias.lock()) {
        alias->weak_grad_fn = node;
        alias->output_nr = static_cast<std::uint32_t>(i);
      }
    impl->pending_saved_aliases.clear();
  }
}

Tensor record(const char* op, const std::vector<Tensor>& inputs, Tensor output,
              std::function<Grads(const Tensor& grad, const std::vector<bool>& needs)> backward) {
  record_multi(op, inputs, {output},
               [backward = std::move(backward)](const Grads& grads, const std::vector<bool>& needs) {
                 return backward(grads[0], needs);
               });
  return output;
}

}  // namespace zoo
