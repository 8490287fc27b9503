#pragma once
/// @file gradcheck.h
/// @brief Checking gradients against finite differences: `gradcheck` and `gradgradcheck`.

#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace zoo {

/// A function under test: tensors in, one tensor out.
using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// Step and tolerances of `gradcheck` and `gradgradcheck`.
struct GradcheckOptions {
  /// Step of the central difference \f$(f(x+\epsilon) - f(x-\epsilon)) / 2\epsilon\f$.
  double eps = 1e-6;
  /// An entry passes when \f$|a - n| \le \text{atol} + \text{rtol}\,|n|\f$.
  double atol = 1e-5;
  double rtol = 1e-3;  ///< Relative tolerance (see `atol`).
};

/// What `gradcheck` found: pass or fail, and the worst entry of the Jacobian.
struct GradcheckResult {
  bool ok = true;  ///< True if every entry is within tolerance.
  /// The worst entry: which input, element and output, and both values.
  std::string message;
  double max_error = 0;  ///< largest |analytic − numeric| − rtol·|numeric| seen
};

/// Compares the Jacobian that backward computes with central differences, for every
/// input that requires grad. Inputs must be float64 (float32 differences are too noisy)
/// and must not overlap in memory (no expanded inputs: expand inside `f` instead).
/// Each output element is backpropagated separately (a one-hot gradient), each input
/// element is perturbed separately, so keep the tensors small.
GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

/// Checks second derivatives: gradcheck of \f$v \mapsto \partial (v \cdot f) / \partial x\f$,
/// computed with `create_graph`, with a fixed random v.
GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {});

}  // namespace zoo
