#pragma once
/// @file node.h
/// @brief The recorded graph: `Node` (a `grad_fn`), `Edge`, `SavedTensor`, and `record`,
/// which every differentiable op calls to attach its backward to its output.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace zoo {

class Node;

/// Gradients, one per input (or per output); an undefined entry means "no gradient".
using Grads = std::vector<Tensor>;

/// Where a gradient goes: input slot `input_nr` of `node` (the node's output number).
struct Edge {
  std::shared_ptr<Node> node;  ///< The node that receives the gradient (null: none needed).
  std::uint32_t input_nr = 0;  ///< Which of its gradient slots (its outputs) it fills.
  /// False for the edge of an input that needs no gradient.
  bool valid() const { return node != nullptr; }
};

/// A step of the backward pass: maps the gradients of an op's outputs to the gradients
/// of its inputs, and knows where to send them (`next_edges`, one per input).
class Node : public std::enable_shared_from_this<Node> {
 public:
  /// A node called `name`, numbered after every node created before it.
  explicit Node(std::string name) : name_(std::move(name)), sequence_nr_(next_sequence_nr()) {}
  virtual ~Node() = default;

  /// The op's name, e.g. "mul"; error messages and printed tensors use it.
  const std::string& name() const { return name_; }
  /// Creation order: later nodes have larger numbers.
  std::uint64_t sequence_nr() const { return sequence_nr_; }

  /// One edge per input of the op; an invalid edge for inputs that need no gradient.
  std::vector<Edge> next_edges;
  /// Shape and dtype of each output, to check incoming gradients and fill missing ones.
  struct OutputInfo {
    Shape shape;  ///< The output's shape.
    DType dtype;  ///< The output's dtype.
  };
  std::vector<OutputInfo> outputs;  ///< One entry per output of the op.
  /// Outputs that called `retain_grad()`: the engine stores their gradient in `.grad`.
  std::vector<std::pair<std::uint32_t, std::weak_ptr<TensorImpl>>> retained_grads;

  /// Computes input gradients from output gradients (all defined, one per output).
  virtual Grads apply(const Grads& grad_outputs) = 0;
  /// Frees what the node saved for backward (after a backward without retain_graph).
  virtual void release() {}
  /// True for the node that accumulates into a leaf's `.grad`.
  virtual bool is_accumulator() const { return false; }

 private:
  static std::uint64_t next_sequence_nr();
  std::string name_;
  std::uint64_t sequence_nr_;
};

/// The backward of a recorded op: output gradients in, input gradients out.
/// `needs_input_grad[i]` says whether input i wants a gradient, so that an op can skip
/// costly work (matmul skips the GEMM for an input that is data, not a parameter).
using BackwardFn =
    std::function<Grads(const Grads& grad_outputs, const std::vector<bool>& needs_input_grad)>;

/// The node of every recorded op: its backward is a closure written next to the forward.
class FunctionNode final : public Node {
 public:
  /// A node called `name` (the op's name) that runs `backward`.
  FunctionNode(std::string name, BackwardFn backward)
      : Node(std::move(name)), backward_(std::move(backward)) {}
  Grads apply(const Grads& grad_outputs) override;
  /// Destroys the closure and with it the saved tensors.
  void release() override { backward_ = nullptr; }

 private:
  BackwardFn backward_;
};

/// Adds incoming gradients to a leaf's `.grad`.
class AccumulateGrad final : public Node {
 public:
  /// The accumulator of `leaf` (one per leaf, shared by every graph that uses it).
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf)
      : Node("AccumulateGrad"), leaf_(std::move(leaf)) {}
  Grads apply(const Grads& grad_outputs) override;
  bool is_accumulator() const override { return true; }
  /// The leaf whose `.grad` this node adds to.
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

/// A tensor an op keeps for its backward, with the storage version at the time of
/// saving. `get()` refuses to return it if it has been written in place since: the
/// gradient would silently be wrong.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves an input of the op (or any tensor other than the op's own output).
  static SavedTensor input(const Tensor& t);
  /// Saves the op's own output (exp, tanh, sigmoid and softmax reuse it in backward).
  /// The saved copy refers to its node weakly, so that node and output do not keep
  /// each other alive; `get()` rebuilds the link, so higher-order gradients still flow.
  static SavedTensor output(const Tensor& t);
  /// The saved tensor; throws `Error` if it was modified in place since it was saved.
  Tensor get() const;

 private:
  Tensor tensor_;
  std::uint64_t version_ = 0;
  bool is_output_ = false;
};

/// The edge a gradient for `t` should follow: its `grad_fn`, or its leaf accumulator.
Edge gradient_edge(const Tensor& t);

/// True if grad mode is on and any of `inputs` requires grad: the op must record.
bool any_requires_grad(const std::vector<Tensor>& inputs);

/// Records a single-output op: if any input requires grad (and grad mode is on), gives
/// `output` a node named `op` whose backward is `backward(grad_output, needs_input_grad)`.
/// Returns `output`.
Tensor record(const char* op, const std::vector<Tensor>& inputs, Tensor output,
              std::function<Grads(const Tensor& grad, const std::vector<bool>& needs)> backward);

/// Records an op with several outputs (they all get the same node).
void record_multi(const char* op, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs, BackwardFn backward);

}  // namespace zoo
