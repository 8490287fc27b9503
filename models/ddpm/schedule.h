#pragma once
/// @file schedule.h
/// @brief DDPM's noise schedule (Ho, Jain and Abbeel, 2020): the variances
/// \f$\beta_1..\beta_T\f$ of the forward process and everything derived from them.
///
/// The forward process adds a little Gaussian noise at each of T steps,
/// \f[ q(x_t \mid x_{t-1}) = \mathcal N\big(\sqrt{1 - \beta_t}\, x_{t-1},\ \beta_t I\big), \f]
/// and with \f$\alpha_t = 1 - \beta_t\f$, \f$\bar\alpha_t = \prod_{s \le t} \alpha_s\f$ the
/// steps compose in closed form (a sum of independent Gaussians is Gaussian):
/// \f[ q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big). \f]
/// Steps are numbered 1..T as in the paper; index 0 of the arrays holds t = 0
/// (\f$\bar\alpha_0 = 1\f$: no noise). Everything is float64.
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>
#include <string>
#include <vector>

namespace zoo::models {

/// \f$\beta_t\f$ and the quantities the sampler needs, for t = 0..T.
struct NoiseSchedule {
  std::int64_t steps = 0;          ///< T
  std::vector<double> beta;        ///< \f$\beta_t\f$ (beta[0] = 0)
  std::vector<double> alpha;       ///< \f$\alpha_t = 1 - \beta_t\f$
  std::vector<double> alpha_bar;   ///< \f$\bar\alpha_t = \prod_{s=1}^t \alpha_s\f$ (alpha_bar[0] = 1)

  /// \f$\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\beta_t\f$, the variance of
  /// the posterior \f$q(x_{t-1} \mid x_t, x_0)\f$, for t = 1..T.
  double posterior_variance(std::int64_t t) const;
  /// The posterior mean's coefficients: \f$\tilde\mu_t = c_0 x_0 + c_t x_t\f$ with
  /// \f$c_0 = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\f$ and
  /// \f$c_t = \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\f$, for t = 1..T.
  std::pair<double, double> posterior_mean_coefficients(std::int64_t t) const;

  /// The schedule from its betas (t = 1..T); each must be in (0, 1).
  static NoiseSchedule from_betas(const std::vector<double>& betas);
  /// The paper's: \f$\beta_t\f$ linear from \f$10^{-4}\f$ (t = 1) to 0.02 (t = T), for T = 1000.
  static NoiseSchedule linear(std::int64_t steps = 1000, double beta_start = 1e-4, double beta_end = 0.02);
  /// Nichol and Dhariwal's (2021): \f$\bar\alpha_t = f(t)/f(0)\f$ with
  /// \f$f(t) = \cos^2\big(\frac{t/T + s}{1 + s}\cdot\frac\pi2\big)\f$, s = 0.008, and
  /// \f$\beta_t = \min(1 - \bar\alpha_t/\bar\alpha_{t-1},\ 0.999)\f$: noise is added more
  /// evenly over the steps than by the linear schedule, whose last steps add little.
  static NoiseSchedule cosine(std::int64_t steps = 1000, double s = 0.008);
  /// `linear(steps)` or `cosine(steps)` by name; an error for anything else.
  static NoiseSchedule by_name(const std::string& name, std::int64_t steps = 1000);
};

}  // namespace zoo::models
