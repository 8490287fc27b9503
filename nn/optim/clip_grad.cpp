#include "nn/optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace zoo::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  ZOO_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  ZOO_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 (or infinity), got {}",
            norm_type);
  NoGradGuard no_grad;
  const bool inf_norm = std::isinf(norm_type);

  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (Tensor g = p.grad(); g.defined()) grads.push_back(g);

  // Σ|g|ᵖ over every gradient (or max |g| for p = ∞), accumulated in float64.
  double total = 0;
  for (const Tensor& g : grads) {
    if (g.numel() == 0) continue;
    const Tensor a = abs(g.to(kFloat64));
    if (inf_norm)
      total = std::max(total, max(a).item());
    else
      total += sum(norm_type == 2.0 ? a * a : pow(a, norm_type)).item();
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);

  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (Tensor& g : grads) g.mul_(coef);
  return total;
}

double clip_grad_norm_(const NamedParameters& params, double max_norm, double norm_type) {
  std::vector<Tensor> tensors;
  tensors.reserve(params.size());
  for (const auto& [name, p] : params) tensors.push_back(p);
  return clip_grad_norm_(tensors, max_norm, norm_type);
}

}  // namespace zoo::optim
