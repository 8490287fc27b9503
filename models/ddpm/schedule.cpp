#include "models/ddpm/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/error.h"

namespace zoo::models {

double NoiseSchedule::posterior_variance(std::int64_t t) const {
  ZOO_CHECK(t >= 1 && t <= steps, "NoiseSchedule: step {} is outside 1..{}", t, steps);
  const auto i = static_cast<std::size_t>(t);
  return (1 - alpha_bar[i - 1]) / (1 - alpha_bar[i]) * beta[i];
}

std::pair<double, double> NoiseSchedule::posterior_mean_coefficients(std::int64_t t) const {
  ZOO_CHECK(t >= 1 && t <= steps, "NoiseSchedule: step {} is outside 1..{}", t, steps);
  const auto i = static_cast<std::size_t>(t);
  const double denominator = 1 - alpha_bar[i];
  return {std::sqrt(alpha_bar[i - 1]) * beta[i] / denominator,
          std::sqrt(alpha[i]) * (1 - alpha_bar[i - 1]) / denominator};
}

NoiseSchedule NoiseSchedule::from_betas(const std::vector<double>& betas) {
  ZOO_CHECK(!betas.empty(), "NoiseSchedule: no steps");
  NoiseSchedule s;
  s.steps = static_cast<std::int64_t>(betas.size());
  s.beta = {0.0};
  s.alpha = {1.0};
  s.alpha_bar = {1.0};
  for (const double b : betas) {
    ZOO_CHECK(b > 0 && b < 1, "NoiseSchedule: every beta must be in (0, 1), got {}", b);
    s.beta.push_back(b);
    s.alpha.push_back(1 - b);
    s.alpha_bar.push_back(s.alpha_bar.back() * (1 - b));
  }
  return s;
}

NoiseSchedule NoiseSchedule::linear(std::int64_t steps, double beta_start, double beta_end) {
  ZOO_CHECK(steps >= 2, "NoiseSchedule::linear: needs at least 2 steps, got {}", steps);
  std::vector<double> betas;
  for (std::int64_t t = 0; t < steps; ++t)
    betas.push_back(beta_start + (beta_end - beta_start) * static_cast<double>(t) / static_cast<double>(steps - 1));
  return from_betas(betas);
}

NoiseSchedule NoiseSchedule::cosine(std::int64_t steps, double s) {
  ZOO_CHECK(steps >= 1, "NoiseSchedule::cosine: needs at least 1 step, got {}", steps);
  const auto f = [&](double t) {
    const double c = std::cos((t / static_cast<double>(steps) + s) / (1 + s) * std::numbers::pi / 2);
    return c * c;
  };
  std::vector<double> betas;
  for (std::int64_t t = 1; t <= steps; ++t)
    betas.push_back(std::min(1 - f(static_cast<double>(t)) / f(static_cast<double>(t - 1)), 0.999));
  return from_betas(betas);
}

NoiseSchedule NoiseSchedule::by_name(const std::string& name, std::int64_t steps) {
  if (name == "linear") return linear(steps);
  if (name == "cosine") return cosine(steps);
  throw Error(fmt::format("noise schedule: expected 'linear' or 'cosine', not '{}'", name));
}

}  // namespace zoo::models
