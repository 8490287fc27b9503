#pragma once
/// @file pictures.h
/// @brief What a VAE learned, as PNG grids: samples from the prior, test images with
/// their reconstructions, and (with a 2-D latent) the manifold of decoded digits.
///
/// Lesson: @ref tutorial_11_vae.

#include <cstdint>
#include <filesystem>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/vae/model.h"

namespace zoo::models {

/// \f$\Phi^{-1}(p)\f$, the standard normal quantile, for p in (0, 1): Newton's method on
/// \f$\Phi(x) - p\f$ with \f$\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)\f$ and
/// \f$\Phi'(x) = e^{-x^2/2}/\sqrt{2\pi}\f$, to double precision.
double normal_quantile(double p);

/// `count` samples: z from the prior \f$\mathcal N(0, I)\f$ (drawn from `gen`), each shown
/// as the decoder's pixel probabilities \f$\sigma(\ell(z))\f$, 8 to a row.
void save_samples(const std::filesystem::path& path, Vae& model, std::int64_t count, Generator& gen);

/// Rows of 8 test images x (N ≥ 1, 784), each row followed by the reconstructions
/// \f$\sigma(\ell(\mu(x)))\f$ of those images; at most 32 images.
void save_reconstructions(const std::filesystem::path& path, Vae& model, const Tensor& x);

/// For a 2-D latent: an n × n grid of the decoded \f$\sigma(\ell(z))\f$ at
/// \f$z = (\Phi^{-1}(u_i), \Phi^{-1}(u_j))\f$, u evenly spaced in [0.05, 0.95], so equal
/// steps in the grid are equal steps in prior probability (Kingma & Welling's figure 4).
void save_manifold(const std::filesystem::path& path, Vae& model, std::int64_t n = 20);

}  // namespace zoo::models
