/// @file prior.cpp
/// @brief The logistic and Gaussian priors of NICE: log-densities and draws.

#include "models/nice/prior.h"

#include <cmath>
#include <numbers>

#include "autograd/ops.h"

namespace zoo::models {

NicePrior parse_nice_prior(const std::string& name) {
  if (name == "logistic") return NicePrior::Logistic;
  if (name == "gaussian") return NicePrior::Gaussian;
  throw Error(fmt::format("nice: unknown prior '{}' (expected 'logistic' or 'gaussian')", name));
}

std::string nice_prior_name(NicePrior prior) {
  return prior == NicePrior::Logistic ? "logistic" : "gaussian";
}

Tensor prior_log_prob(NicePrior prior, const Tensor& h) {
  ZOO_CHECK(h.dim() == 2, "nice prior_log_prob: expected latents h of shape (N, D), got shape {}", h.shape());
  if (prior == NicePrior::Logistic) {
    // log σ(h) + log σ(−h) = −softplus(−h) − softplus(h); softplus is exact to ~e^{-20}
    // past its threshold of 20, where it returns h itself.
    return neg(sum(softplus(h) + softplus(neg(h)), {1}));
  }
  // −½ h² − ½ log 2π per dimension.
  const double half_log_2pi = 0.5 * std::log(2 * std::numbers::pi);
  return neg(sum(square(h) * 0.5 + half_log_2pi, {1}));
}

Tensor sample_prior(NicePrior prior, std::int64_t n, std::int64_t dim, double temperature, Generator& gen,
                    DType dtype) {
  ZOO_CHECK(n > 0 && dim > 0, "nice sample_prior: need n > 0 and dim > 0, got n = {}, dim = {}", n, dim);
  ZOO_CHECK(temperature >= 0, "nice sample_prior: the temperature must not be negative, got {}", temperature);
  Tensor h;
  if (prior == NicePrior::Logistic) {
    // The inverse CDF of the logistic is the logit: h = log u − log(1 − u). Drawn in
    // float64 and kept off 0 and 1, where the logit is infinite.
    const Tensor u = clamp(rand({n, dim}, kFloat64, gen), 1e-12, 1 - 1e-12);
    h = log(u) - log(1.0 - u);
  } else {
    h = randn({n, dim}, kFloat64, gen);
  }
  return (h * temperature).to(dtype);
}

}  // namespace zoo::models
