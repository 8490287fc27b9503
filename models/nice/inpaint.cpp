/// @file inpaint.cpp
/// @brief Masks of missing pixels and their filling by projected gradient ascent on
/// NICE's log-likelihood.

#include "models/nice/inpaint.h"

#include <cmath>

#include "autograd/ops.h"

namespace zoo::models {

namespace {
constexpr double kRho = 0.9;  // decay of the running mean square of the gradient
}  // namespace

Tensor inpainting_mask(const std::string& kind, std::int64_t n, double fraction, Generator& gen) {
  ZOO_CHECK(n > 0, "inpainting_mask: need at least one image, got {}", n);
  if (kind == "random") {
    ZOO_CHECK(fraction >= 0 && fraction <= 1, "inpainting_mask: the fraction must be in [0, 1], got {}", fraction);
    return (rand({n, 784}, kFloat32, gen) < fraction).to(kFloat32);
  }
  // A half of the 28 × 28 grid: row r, column c is missing when the test holds.
  const Tensor row = arange(28, kFloat32).reshape({28, 1}).expand({28, 28});
  const Tensor col = arange(28, kFloat32).reshape({1, 28}).expand({28, 28});
  Tensor half;
  if (kind == "top") half = row < 14.0;
  else if (kind == "bottom") half = row >= 14.0;
  else if (kind == "left") half = col < 14.0;
  else if (kind == "right") half = col >= 14.0;
  else throw Error(fmt::format("inpainting_mask: unknown mask '{}' (expected top, bottom, left, right or random)", kind));
  return half.to(kFloat32).reshape({1, 784}).expand({n, 784}).contiguous();
}

Tensor inpaint(Nice& model, const Tensor& x, const Tensor& mask, const InpaintOptions& o, Generator& gen) {
  ZOO_CHECK(x.dim() == 2 && x.size(1) == model.config.dim,
            "inpaint: expected images x of shape (N, {}), got shape {}", model.config.dim, x.shape());
  ZOO_CHECK(mask.shape() == x.shape(), "inpaint: the mask's shape {} differs from the images' {}", mask.shape(),
            x.shape());
  ZOO_CHECK(o.steps >= 0 && o.step_offset > 0 && o.step_scale > 0 && o.noise >= 0,
            "inpaint: need steps >= 0, step scale and offset > 0 and noise >= 0");
  const bool was_training = model.is_training();
  model.eval();
  const DType dtype = model.scaling->log_scale.dtype();
  const Tensor missing = mask.to(dtype) > 0.5;  // bool (N, D)
  const Tensor observed = x.detach().to(dtype);
  Tensor current = where(missing, rand(x.shape(), dtype, gen), observed);  // start: uniform noise
  Tensor mean_square = zeros_like(current);  // v, the running mean of g² (with `normalize`)
  for (std::int64_t i = 0; i < o.steps; ++i) {
    // ∇_x log p(x) by backpropagation, for x only (the weights' gradients are not needed).
    const Tensor xi = current.detach().requires_grad_();
    const Tensor g = autograd::grad({sum(model.log_prob(xi))}, {xi})[0];
    NoGradGuard no_grad;
    const double alpha = o.step_scale / (o.step_offset + static_cast<double>(i));
    Tensor direction = g;
    if (o.normalize) {  // g / √v̂, v̂ = v / (1 − ρ^{i+1}): each pixel's step about α
      mean_square = mean_square * kRho + square(g) * (1 - kRho);
      const double correction = 1 - std::pow(kRho, static_cast<double>(i + 1));
      direction = g / (sqrt(mean_square / correction) + 1e-12);
    }
    if (o.noise > 0) direction = direction + randn(x.shape(), dtype, gen) * o.noise;
    // Step, project onto [0, 1], and keep the observed pixels as they were.
    current = where(missing, clamp(current + direction * alpha, 0.0, 1.0), observed);
  }
  model.train(was_training);
  return current.detach();
}

}  // namespace zoo::models
