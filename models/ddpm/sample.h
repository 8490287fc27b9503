#pragma once
/// @file sample.h
/// @brief Drawing images from a trained DDPM: ancestral sampling over all T steps, or
/// DDIM over any subsequence, with classifier-free guidance.
///
/// **Classifier-free guidance** (Ho and Salimans, 2021). One network learns both
/// \f$\varepsilon_\theta(x_t, t, y)\f$ and, with the label dropped to "no class" 10% of
/// the time in training, \f$\varepsilon_\theta(x_t, t, \varnothing)\f$. Sampling mixes them,
/// \f[ \tilde\varepsilon = \varepsilon_\theta(x_t, t, \varnothing)
///     + w\,\big(\varepsilon_\theta(x_t, t, y) - \varepsilon_\theta(x_t, t, \varnothing)\big), \f]
/// so w = 0 ignores the label, w = 1 is the plain conditional model, and w > 1 pushes
/// further along the direction that makes x look like class y: digits become more
/// typical and less varied.
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/ddpm/process.h"
#include "models/ddpm/schedule.h"
#include "models/unet/unet.h"

namespace zoo::models {

/// How `sample_ddpm` draws.
struct DdpmSampling {
  std::string sampler = "ddim";  ///< "ddpm" (ancestral, all T steps) or "ddim"
  std::int64_t steps = 50;       ///< DDIM's number of steps (ancestral sampling always takes T)
  double eta = 0.0;              ///< DDIM's noise: 0 deterministic, 1 DDPM-like
  double guidance = 1.0;         ///< w above; used only with labels
  PosteriorVariance variance = PosteriorVariance::posterior;  ///< ancestral sampling's σ²
  std::int64_t image_size = 28;  ///< H = W of the images drawn
};

/// The DDIM times for `steps` steps out of T: \f$\tau_i = \lfloor i\,T / S \rfloor\f$ for
/// i = S..0, from T down to 0 (each step goes from \f$\tau_i\f$ to \f$\tau_{i-1}\f$).
std::vector<std::int64_t> ddim_times(std::int64_t T, std::int64_t steps);

/// Called after each step with the step's time and the current x (N, 1, H, W) in [-1, 1]
/// (for the trajectory picture).
using DdpmObserver = std::function<void(std::int64_t t, const Tensor& x)>;

/// n images (n, C, size, size) in [-1, 1] from `net` (its noise prediction) under `schedule`:
/// starting from \f$x_T \sim \mathcal N(0, I)\f$ drawn from `gen`, the sampler's steps down
/// to \f$x_0\f$. `labels` (n) int64, or undefined for unconditional sampling; without
/// labels a conditional network samples from its "no class" model. No graph.
Tensor sample_ddpm(UNet& net, const NoiseSchedule& schedule, std::int64_t n, const Tensor& labels,
                   const DdpmSampling& how, Generator& gen, const DdpmObserver& observe = nullptr);

}  // namespace zoo::models
