#pragma once
/// @file process.h
/// @brief DDPM's forward process and its two reverse samplers, one step at a time:
/// ancestral sampling (Ho et al., 2020) and DDIM (Song, Meng and Ermon, 2021).
///
/// Images x are (N, C, H, W) with pixels scaled to [-1, 1]; a step index t is in 1..T
/// (schedule.h). The network predicts the noise: \f$\hat\varepsilon = \varepsilon_\theta(x_t, t)\f$.
/// From it, the clean image it implies is
/// \f[ \hat x_0 = \frac{x_t - \sqrt{1 - \bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}}, \f]
/// (the forward process's closed form solved for \f$x_0\f$), and both samplers step from
/// \f$x_t\f$ towards it.
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/ddpm/schedule.h"

namespace zoo::models {

/// \f$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon\f$, a draw from
/// \f$q(x_t \mid x_0)\f$ given the noise: x0 and noise (N, ...), t (N) int64 in 0..T (one
/// step per image) → (N, ...).
Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t, const Tensor& noise);

/// \f$\hat x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}\f$ at one
/// step t in 1..T for the whole batch.
Tensor predict_x0(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, const Tensor& eps);

/// Which variance the ancestral sampler adds at each step; Ho et al. found both give
/// similar samples.
enum class PosteriorVariance {
  posterior,  ///< \f$\tilde\beta_t\f$: the variance of \f$q(x_{t-1} \mid x_t, x_0)\f$ (the lower bound)
  beta,       ///< \f$\beta_t\f$ (the upper bound)
};

/// One ancestral step, \f$x_{t-1} \sim p_\theta(x_{t-1} \mid x_t)\f$: the posterior mean
/// \f$\tilde\mu_t(x_t, \hat x_0)\f$ with \f$\hat x_0\f$ from `predict_x0` (clipped to [-1, 1]
/// when `clip` is set, as the reference code does), plus \f$\sigma_t z\f$, z drawn from
/// `gen`; no noise at t = 1. x_t and eps (N, ...) → (N, ...).
Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, const Tensor& eps,
                 PosteriorVariance variance, Generator& gen, bool clip = true);

/// DDIM's noise level from step t to an earlier step s (0 ≤ s < t):
/// \f$\sigma = \eta\sqrt{\frac{1 - \bar\alpha_s}{1 - \bar\alpha_t}}\sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_s}}\f$.
/// With η = 1 and s = t − 1 it is \f$\sqrt{\tilde\beta_t}\f$, DDPM's; with η = 0 the step
/// is deterministic.
double ddim_sigma(const NoiseSchedule& schedule, std::int64_t t, std::int64_t s, double eta);

/// One DDIM step from t to s < t:
/// \f$x_s = \sqrt{\bar\alpha_s}\,\hat x_0 + \sqrt{1 - \bar\alpha_s - \sigma^2}\,\hat\varepsilon + \sigma z\f$,
/// which keeps the marginals \f$q(x_s \mid x_0)\f$ of the forward process for any σ up to
/// its limit, so any subsequence of steps can be used. \f$\hat x_0\f$ is clipped to
/// [-1, 1] when `clip` is set (and \f$\hat\varepsilon\f$ recomputed from it).
Tensor ddim_step(const NoiseSchedule& schedule, const Tensor& x_t, std::int64_t t, std::int64_t s, const Tensor& eps,
                 double eta, Generator& gen, bool clip = true);

}  // namespace zoo::models
