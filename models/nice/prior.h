#pragma once
/// @file prior.h
/// @brief NICE's factorised prior \f$p_H(h) = \prod_d p_{H_d}(h_d)\f$: the standard
/// logistic distribution (the paper's choice for MNIST) or the standard normal; the
/// log-density of a batch and draws with a temperature.
///
/// The standard logistic density is
/// \f[ p(h) = \frac{e^{-h}}{(1 + e^{-h})^2} = \sigma(h)\,\sigma(-h), \qquad
///     \log p(h) = -\log(1 + e^{h}) - \log(1 + e^{-h}) = -\operatorname{softplus}(h) - \operatorname{softplus}(-h). \f]
/// Its tails fall like \f$e^{-|h|}\f$, not \f$e^{-h^2/2}\f$: a latent far from 0 costs
/// linearly, so the gradient of \f$\log p\f$ stays bounded (\f$|\partial_h \log p| < 1\f$),
/// which the paper found to train better. Its inverse CDF is the logit, so a draw is
/// \f$h = \log u - \log(1 - u)\f$, \f$u \sim U(0, 1)\f$.
/// Lesson: @ref tutorial_12_nice.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo::models {

/// Which factorised prior a NICE model uses.
enum class NicePrior {
  Logistic,  ///< standard logistic, \f$\log p(h) = -\operatorname{softplus}(h) - \operatorname{softplus}(-h)\f$
  Gaussian,  ///< standard normal, \f$\log p(h) = -\tfrac12 h^2 - \tfrac12\log 2\pi\f$
};

/// "logistic" or "gaussian" as a `NicePrior`; anything else is an error naming both.
NicePrior parse_nice_prior(const std::string& name);
/// The name `parse_nice_prior` reads back: "logistic" or "gaussian".
std::string nice_prior_name(NicePrior prior);

/// \f$\log p_H(h) = \sum_d \log p(h_d)\f$ for every row: h (N, D) -> (N).
/// Differentiable in h.
Tensor prior_log_prob(NicePrior prior, const Tensor& h);

/// n draws of D independent latents, each scaled by `temperature`: (n, D) of `dtype`.
/// Logistic: \f$\tau(\log u - \log(1-u))\f$; Gaussian: \f$\tau\,\varepsilon\f$,
/// \f$\varepsilon \sim N(0, 1)\f$. With \f$\tau < 1\f$ the draws stay nearer the mode
/// (cleaner, less varied images); \f$\tau = 1\f$ is the model's own distribution.
Tensor sample_prior(NicePrior prior, std::int64_t n, std::int64_t dim, double temperature, Generator& gen,
                    DType dtype = kFloat32);

}  // namespace zoo::models
