#pragma once
/// @file reflow.h
/// @brief Reflow (Liu, Gong and Liu, 2022, §2.3): pairs of noise and the image a trained
/// rectified flow carries it to, on which a second flow is trained to straighten its paths.
///
/// **Why the paths of a first flow are curved.** Training pairs each image \f$x_0\f$ with
/// noise \f$\varepsilon\f$ drawn independently, so the straight lines
/// \f$x_t = (1-t)x_0 + t\varepsilon\f$ cross: many lines pass through the same point
/// \f$x_t\f$, heading for different images. The network learns their average velocity,
/// \f$v^*(x, t) = \mathbb E[\varepsilon - x_0 \mid x_t = x]\f$, and the ODE that follows
/// it bends around the crossings. A bent path needs many small steps.
///
/// **Reflow.** Draw noise \f$z\f$, follow the first flow's ODE from z to an image
/// \f$\hat x = \Phi_1(z)\f$, and train a second flow on the pairs \f$(\hat x, z)\f$
/// instead of independent ones:
/// \f[ \min_\theta\ \mathbb E_{t, z}\,\big\|v_\theta\big((1-t)\hat x + t z,\ t\big) - (z - \hat x)\big\|^2. \f]
/// The ODE's paths never cross (it is deterministic), so the straight lines between
/// \f$z\f$ and \f$\Phi_1(z)\f$ cross much less than those between independent pairs:
/// the new average velocity is nearly the line's own, the paths are nearly straight, and
/// one or two Euler steps land close to where many would. The marginals do not change:
/// \f$\hat x\f$ has (up to the first flow's error) the data's distribution, z the noise's.
/// The second flow starts from the first one's weights, as in the paper.
/// Lesson: @ref tutorial_14_rectified_flow.

#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "models/unet/unet.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

/// How reflow's pairs are drawn from the first flow.
struct ReflowPairing {
  std::int64_t pairs = 10000;      ///< (noise, image) pairs
  std::string sampler = "heun";    ///< the first flow's ODE solver: "euler" or "heun"
  std::int64_t steps = 10;         ///< its steps from noise to image
  std::int64_t chunk = 1000;       ///< pairs drawn (and saved) at a time
};

/// The pairs: noise z, the image \f$\Phi_1(z)\f$ it was carried to, and the label it
/// was drawn with.
struct ReflowPairs {
  Tensor noise;    ///< (P, C, 28, 28)
  Tensor samples;  ///< (P, C, 28, 28), in about [-1, 1] (not clipped: the ODE's own end points)
  Tensor labels;   ///< (P) int64: pair j has class j mod K (0 for an unconditional flow)
};

/// Draws `how.pairs` pairs from `teacher` (plain conditional velocity, no guidance), chunk
/// by chunk, saving all pairs so far to `file` after each chunk (atomically). Chunk k's
/// noise comes from a generator seeded with (seed, k), so a run interrupted in the
/// middle continues from `file` and ends with the same pairs; a file drawn with other
/// settings (checked against `identity`) is an error. Prints progress unless `quiet`.
ReflowPairs draw_reflow_pairs(UNet& teacher, const ReflowPairing& how, const std::string& file,
                              const nn::SafetensorsMetadata& identity, std::uint64_t seed, bool quiet);

}  // namespace zoo::models
