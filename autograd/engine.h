#pragma once
/// @file engine.h
/// @brief The backward engine: `backward` (accumulate into leaves' `.grad`) and `grad`
/// (return gradients, optionally as a differentiable graph for higher-order derivatives).

#include <optional>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::autograd {

/// Backpropagates from `roots`: every leaf that requires grad and was used to compute
/// them gets \f$\sum_r g_r^\top \partial r / \partial \text{leaf}\f$ added to its `.grad`.
/// `grad_roots` holds one gradient per root (may be empty for scalar roots: ones).
/// Without `retain_graph` the saved tensors are freed on the way, and a second backward
/// through the same graph is an error. With `create_graph` the backward computation is
/// itself recorded, so the gradients can be differentiated again.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots = {},
              bool retain_graph = false, bool create_graph = false);

/// Options of `grad`, with PyTorch's names and defaults.
struct GradOptions {
  /// Keep the saved tensors for another backward. Defaults to `create_graph`.
  std::optional<bool> retain_graph;
  /// Record the backward pass, so the returned gradients can be differentiated again.
  bool create_graph = false;
  /// Return an undefined tensor (instead of failing) for an input the outputs do not use.
  bool allow_unused = false;
};

/// Returns \f$\partial(\sum_r g_r \cdot \text{outputs}_r) / \partial\,\text{inputs}_i\f$
/// for each input, without touching any `.grad`, like `torch.autograd.grad`. Inputs may
/// be leaves or intermediate tensors. `grad_outputs` may be empty for scalar outputs.
/// Example, a second derivative: `Tensor dy = grad({y}, {x}, {}, {.create_graph = true})[0];`
/// then `Tensor d2y = grad({dy}, {x})[0];` (tutorial 02 computes d³/dx³ of x³ this way).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, GradOptions options = {});

}  // namespace zoo::autograd
