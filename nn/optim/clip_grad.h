#pragma once
/// @file clip_grad.h
/// @brief `clip_grad_norm_`: rescale all gradients together when their norm is too large.

#include <limits>
#include <vector>

#include "nn/optim/optimizer.h"

namespace zoo::optim {

/// Clips the gradients of `params` by their total norm, in place, like PyTorch's
/// `torch.nn.utils.clip_grad_norm_`. The total norm treats all gradients as one vector:
/// \f[
///   \lVert g \rVert_p = \Big(\sum_{\text{params}} \sum_i |g_i|^p\Big)^{1/p},
///   \qquad \lVert g \rVert_\infty = \max_i |g_i| .
/// \f]
/// If it exceeds `max_norm`, every gradient is multiplied by
/// \f$\text{max\_norm} / (\lVert g\rVert_p + 10^{-6})\f$, which keeps its direction and
/// brings the norm to (just under) `max_norm`; otherwise nothing changes. Parameters
/// without a gradient are skipped. The sums run in float64.
///
/// `norm_type` is p > 0, or `std::numeric_limits<double>::infinity()`. Returns the total
/// norm *before* clipping (worth logging: spikes show instabilities).
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
/// The same for named parameters (e.g. `model.named_parameters()`).
double clip_grad_norm_(const NamedParameters& params, double max_norm, double norm_type = 2.0);

}  // namespace zoo::optim
