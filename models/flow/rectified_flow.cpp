#include "models/flow/rectified_flow.h"

#include "autograd/ops.h"

namespace zoo::models {
namespace {

/// t (N) shaped to broadcast over a batch like `like`: (N, 1, 1, ...).
Tensor per_image(const Tensor& t, const Tensor& like) {
  Shape shape(static_cast<std::size_t>(like.dim()), 1);
  shape[0] = t.size(0);
  return t.to(like.dtype()).reshape(shape);
}

}  // namespace

Tensor flow_interpolate(const Tensor& x0, const Tensor& noise, const Tensor& t) {
  ZOO_CHECK(x0.shape() == noise.shape(), "flow_interpolate: x0 {} and noise {} must have the same shape", x0.shape(),
            noise.shape());
  ZOO_CHECK(t.dim() == 1 && t.size(0) == x0.size(0), "flow_interpolate: expected times t ({}), got {}", x0.size(0),
            t.shape());
  const Tensor s = per_image(t, x0);
  return x0 * (1 - s) + noise * s;  // (1 − t) x₀ + t ε
}

Tensor flow_target(const Tensor& x0, const Tensor& noise) {
  ZOO_CHECK(x0.shape() == noise.shape(), "flow_target: x0 {} and noise {} must have the same shape", x0.shape(),
            noise.shape());
  return noise - x0;
}

Tensor sample_flow_times(std::int64_t n, const std::string& distribution, Generator& gen) {
  ZOO_CHECK(n > 0, "sample_flow_times: n must be positive, got {}", n);
  if (distribution == "uniform") return rand({n}, kFloat32, gen);
  ZOO_CHECK(distribution == "logit-normal", "sample_flow_times: expected 'uniform' or 'logit-normal', not '{}'",
            distribution);
  return sigmoid(randn({n}, kFloat32, gen));
}

Tensor euler_sample(const VelocityField& v, const Tensor& noise, std::int64_t steps, const FlowObserver& observe) {
  ZOO_CHECK(steps > 0, "euler_sample: steps must be positive, got {}", steps);
  const double h = 1.0 / static_cast<double>(steps);
  Tensor x = noise;
  for (std::int64_t i = 0; i < steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) * h;
    x = x - v(x, t) * h;
    if (observe) observe(t - h, x);
  }
  return x;
}

Tensor heun_sample(const VelocityField& v, const Tensor& noise, std::int64_t steps, const FlowObserver& observe) {
  ZOO_CHECK(steps > 0, "heun_sample: steps must be positive, got {}", steps);
  const double h = 1.0 / static_cast<double>(steps);
  Tensor x = noise;
  for (std::int64_t i = 0; i < steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) * h;
    const Tensor v_start = v(x, t);
    const Tensor predicted = x - v_start * h;                        // Euler's guess at t − h
    x = x - (v_start + v(predicted, t - h)) * (h / 2);  // the average slope
    if (observe) observe(t - h, x);
  }
  return x;
}

}  // namespace zoo::models
