/// @file engine.cpp
/// @brief The backward pass: walk the graph from the roots in reverse topological order,
/// summing the gradients that reach each node before running it.

#include "autograd/engine.h"

#include <unordered_map>
#include <unordered_set>

#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"

namespace zoo::autograd {
namespace {

/// The gradient buffer of a node: one slot per output, filled as gradients arrive.
using Buffer = std::vector<Tensor>;

/// A gradient the caller of `grad()` wants: the gradient arriving at `node`'s output
/// `output_nr` (for a leaf, its accumulator's slot 0).
struct Capture {
  Node* node;
  std::uint32_t output_nr;
};

/// Every node reachable from the roots, with the number of edges that point to it from
/// other reachable nodes: a node may run once that many gradients have arrived.
std::unordered_map<Node*, int> count_dependencies(const std::vector<Node*>& roots) {
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  for (Node* r : roots)
    if (seen.insert(r).second) stack.push_back(r);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    deps.try_emplace(n, 0);
    for (const auto& e : n->next_edges) {
      if (!e.valid()) continue;
      deps[e.node.get()] += 1;
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }
  return deps;
}

/// Nodes that lie on a path to one of the `targets` (targets included), so that
/// `grad()` runs only the part of the graph it needs.
std::unordered_set<Node*> nodes_leading_to(const std::vector<Node*>& roots,
                                           const std::unordered_set<Node*>& targets) {
  std::unordered_map<Node*, bool> memo;
  // Iterative post-order DFS: a node is needed if it is a target or a child is needed.
  std::unordered_set<Node*> needed;
  std::vector<std::pair<Node*, std::size_t>> stack;
  for (Node* r : roots) {
    if (memo.count(r)) continue;
    stack.push_back({r, 0});
    memo[r] = false;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < n->next_edges.size()) {
        Node* child = n->next_edges[next++].node.get();
        if (child && !memo.count(child)) {
          memo[child] = false;
          stack.push_back({child, 0});
        }
        continue;
      }
      bool need = targets.count(n) > 0;
      for (const auto& e : n->next_edges)
        if (e.valid() && memo[e.node.get()]) need = true;
      memo[n] = need;
      if (need) needed.insert(n);
      stack.pop_back();
    }
  }
  return needed;
}

/// Checks that a gradient fits the output it belongs to; a mismatch is a bug in some
/// op's backward, so name that op.
void check_gradient(const Tensor& g, const Node& producer, const Node& receiver,
                    std::uint32_t slot) {
  const auto& info = receiver.outputs[slot];
  ZOO_CHECK(g.shape() == info.shape,
            "backward of '{}' returned a gradient of shape {} for an input of shape {} (from '{}')",
            producer.name(), g.shape(), info.shape, receiver.name());
}

/// Runs the backward pass. Without captures, accumulates into leaves; with captures,
/// runs only the nodes that lead to them and returns their gradients instead.
std::vector<Tensor> run_backward(const std::vector<Tensor>& roots,
                                 const std::vector<Tensor>& grad_roots, bool retain_graph,
                                 bool create_graph, const std::vector<Capture>* captures) {
  ZOO_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(),
            "backward: got {} gradients for {} tensors", grad_roots.size(), roots.size());

  std::unordered_map<Node*, Buffer> buffers;
  std::vector<Node*> root_nodes;
  std::vector<std::shared_ptr<Node>> keep_alive;  // roots' nodes, while we run
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    ZOO_CHECK(root.defined(), "backward: tensor {} is undefined", i);
    ZOO_CHECK(root.requires_grad(),
              "backward: tensor {} does not require grad and has no grad_fn: nothing it depends "
              "on requires grad",
              i);
    Tensor g;
    if (!grad_roots.empty() && grad_roots[i].defined()) {
      g = grad_roots[i];
      ZOO_CHECK(g.shape() == root.shape(),
                "backward: gradient of shape {} given for a tensor of shape {}", g.shape(),
                root.shape());
    } else {
      ZOO_CHECK(root.numel() == 1,
                "backward: a gradient can be created implicitly only for a scalar; this tensor "
                "has shape {}, so pass the gradient explicitly",
                root.shape());
      g = ones(root.shape(), root.dtype());
    }
    Edge edge = gradient_edge(root);
    keep_alive.push_back(edge.node);
    Node* n = edge.node.get();
    Buffer& buffer = buffers[n];
    buffer.resize(n->outputs.size());
    Tensor& slot = buffer[edge.input_nr];
    slot = slot.defined() ? slot + g : g;
    root_nodes.push_back(n);
  }

  auto deps = count_dependencies(root_nodes);

  std::unordered_set<Node*> needed;
  std::unordered_map<Node*, std::vector<std::size_t>> captures_at;
  std::vector<Tensor> captured;
  if (captures) {
    std::unordered_set<Node*> targets;
    for (std::size_t i = 0; i < captures->size(); ++i) {
      targets.insert((*captures)[i].node);
      captures_at[(*captures)[i].node].push_back(i);
    }
    needed = nodes_leading_to(root_nodes, targets);
    captured.resize(captures->size());
  }

  GradModeGuard mode(create_graph);
  std::vector<Node*> ready;
  for (Node* r : root_nodes)
    if (deps[r] == 0 && std::find(ready.begin(), ready.end(), r) == ready.end()) ready.push_back(r);

  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    Buffer grads = std::move(buffers[node]);
    buffers.erase(node);
    grads.resize(node->outputs.size());
    // Outputs that received no gradient contribute zero.
    for (std::size_t i = 0; i < grads.size(); ++i)
      if (!grads[i].defined()) grads[i] = zeros(node->outputs[i].shape, node->outputs[i].dtype);

    // Non-leaves that asked for retain_grad() keep a copy of their gradient.
    for (const auto& [output_nr, weak_impl] : node->retained_grads)
      if (auto impl = weak_impl.lock()) {
        Tensor g = create_graph ? grads[output_nr] : grads[output_nr].detach();
        impl->grad = (impl->grad ? Tensor(impl->grad) + g : g.clone()).impl_ptr();
      }

    if (captures) {
      if (auto it = captures_at.find(node); it != captures_at.end())
        for (std::size_t i : it->second) captured[i] = grads[(*captures)[i].output_nr];
      if (node->is_accumulator()) continue;
      bool runs = false;  // only if some node below leads to a target
      for (const auto& e : node->next_edges)
        if (e.valid() && needed.count(e.node.get())) runs = true;
      if (!runs) continue;
    }

    Grads input_grads;
    try {
      input_grads = node->apply(grads);
    } catch (const Error& e) {
      // Say which op's backward failed: the message alone may not tell.
      throw Error(fmt::format("in the backward of '{}': {}", node->name(), e.what()));
    }
    if (!retain_graph) node->release();

    for (std::size_t i = 0; i < node->next_edges.size() && i < input_grads.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.node.get();
      if (input_grads[i].defined()) {
        check_gradient(input_grads[i], *node, *next, e.input_nr);
        Buffer& buffer = buffers[next];
        buffer.resize(next->outputs.size());
        Tensor& slot = buffer[e.input_nr];
        slot = slot.defined() ? slot + input_grads[i] : input_grads[i];
      }
      if (--deps[next] == 0) ready.push_back(next);
    }
  }
  return captured;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
              bool retain_graph, bool create_graph) {
  run_backward(roots, grad_roots, retain_graph || create_graph, create_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions options) {
  const bool retain_graph = options.retain_graph.value_or(options.create_graph);
  const bool create_graph = options.create_graph;
  const bool allow_unused = options.allow_unused;
  std::vector<Capture> captures;
  std::vector<std::shared_ptr<Node>> keep_alive;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    ZOO_CHECK(in.defined() && in.requires_grad(),
              "grad: input {} does not require grad, so it has no gradient", i);
    Edge e = gradient_edge(in);
    keep_alive.push_back(e.node);
    captures.push_back({e.node.get(), e.input_nr});
  }
  auto result = run_backward(outputs, grad_outputs, retain_graph, create_graph, &captures);
  for (std::size_t i = 0; i < result.size(); ++i)
    ZOO_CHECK(result[i].defined() || allow_unused,
              "grad: input {} was not used to compute the outputs (pass allow_unused=true to get "
              "an undefined gradient instead)",
              i);
  return result;
}

}  // namespace zoo::autograd
