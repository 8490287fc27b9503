#include "models/ddpm/process.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace zoo::models {
namespace {

/// A per-image coefficient (N) shaped to broadcast over an image batch like `like`.
Tensor per_image(const std::vector<float>& values, const Tensor& like) {
  Shape shape(static_cast<std::size_t>(like.dim()), 1);
  shape[0] = static_cast<std::int64_t>(values.size());
  return from_vector(values, shape);
}

void check_step(const NoiseSchedule& schedule, std::int64_t t, const char* op) {
  ZOO_CHECK(t >= 1 && t <= schedule.steps, "{}: step {} is outside 1..{}", op, t, schedule.steps);
}

}  // namespace

Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t, const Tensor& noise) {
  ZOO_CHECK(x0.shape() == noise.shape(), "q_sample: x0 {} and noise {} must have the same shape", x0.shape(),
            noise.shape());
  ZOO_CHECK(t.dim() == 1 && t.size(0) == x0.size(0) && t.dtype() == kInt64,
            "q_sample: expected steps t ({}) int64, got {}", x0.size(0), t.shape());
  std::vector<float> signal, noise_scale;
  for (const std::int64_t step : t.to_vector<std::int64_t>()) {
    ZOO_CHECK(step >= 0 && step <= schedule.steps, "q_sample: step {} is outside 0..{}", step, schedule.steps);
    const double a = schedule.alpha_bar[static_cast<std::size_t>(step)];
    signal.push_back(static_cast<float>(std::sqrt(a)));
    noise_scale.push_back(static_cast<float>(std::sqrt(1 - a)));
  }
  return add(mul(per_image(signal, x0), x0), mul(per_image(noise_scale, x0), noise));
}

Tensor predict_x0(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, const Tensor& eps) {
  check_step(schedule, t, "predict_x0");
  const double a = schedule.alpha_bar[static_cast<std::size_t>(t)];
  return (x_t - eps * std::sqrt(1 - a)) * (1 / std::sqrt(a));
}

Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, const Tensor& eps,
                 PosteriorVariance variance, Generator& gen, bool clip) {
  check_step(schedule, t, "ddpm_step");
  Tensor x0 = predict_x0(schedule, x_t, t, eps);
  if (clip) x0 = clamp(x0, -1.0, 1.0);
  const auto [c0, ct] = schedule.posterior_mean_coefficients(t);
  const Tensor mean = x0 * c0 + x_t * ct;  // μ̃_t(x_t, x̂_0)
  if (t == 1) return mean;                               // the last step adds no noise
  const double var = variance == PosteriorVariance::posterior ? schedule.posterior_variance(t)
                                                              : schedule.beta[static_cast<std::size_t>(t)];
  return mean + randn(x_t.shape(), x_t.dtype(), gen) * std::sqrt(var);
}

double ddim_sigma(const NoiseSchedule& schedule, std::int64_t t, std::int64_t s, double eta) {
  ZOO_CHECK(t >= 1 && t <= schedule.steps && s >= 0 && s < t, "ddim: cannot step from {} to {} (T = {})", t, s,
            schedule.steps);
  ZOO_CHECK(eta >= 0, "ddim: eta must be >= 0, got {}", eta);
  const double a_t = schedule.alpha_bar[static_cast<std::size_t>(t)];
  const double a_s = schedule.alpha_bar[static_cast<std::size_t>(s)];
  return eta * std::sqrt((1 - a_s) / (1 - a_t)) * std::sqrt(1 - a_t / a_s);
}

Tensor ddim_step(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, std::int64_t s, const Tensor& eps,
                 double eta, Generator& gen, bool clip) {
  const double sigma = ddim_sigma(schedule, t, s, eta);
  const double a_t = schedule.alpha_bar[static_cast<std::size_t>(t)];
  const double a_s = schedule.alpha_bar[static_cast<std::size_t>(s)];
  Tensor x0 = predict_x0(schedule, x_t, t, eps);
  Tensor direction = eps;
  if (clip) {  // keep x̂₀ in the data's range, and the noise consistent with it
    x0 = clamp(x0, -1.0, 1.0);
    direction = (x_t - x0 * std::sqrt(a_t)) * (1 / std::sqrt(1 - a_t));
  }
  const double along = std::sqrt(std::max(0.0, 1 - a_s - sigma * sigma));
  Tensor x_s = x0 * std::sqrt(a_s) + direction * along;
  if (sigma > 0) x_s = x_s + randn(x_t.shape(), x_t.dtype(), gen) * sigma;
  return x_s;
}

}  // namespace zoo::models
