#pragma once
/// @file inpaint.h
/// @brief Inpainting with NICE (the paper's section 5.2): fill the missing pixels of an
/// image by climbing the model's log-likelihood over those pixels only.
///
/// An image \f$x = (x_O, x_H)\f$ has observed pixels \f$x_O\f$ and hidden (missing) ones
/// \f$x_H\f$. NICE gives \f$\log p(x_O, x_H)\f$ exactly and its gradient by backpropagation,
/// so the hidden pixels can follow the gradient while the observed ones stay fixed: a
/// projected (stochastic) gradient ascent, starting from uniform noise,
/// \f[ x_H^{(i+1)} = \Pi_{[0,1]}\Big(x_H^{(i)} + \alpha_i \big(\nabla_{x_H} \log p(x_O, x_H^{(i)}) + \sigma\varepsilon_i\big)\Big),
///     \qquad \alpha_i = \frac{a}{b + i}, \quad \varepsilon_i \sim N(0, I), \f]
/// where \f$\Pi_{[0,1]}\f$ clips each pixel to [0, 1]. With the paper's a = 10, b = 100
/// and \f$\sigma = 1\f$ the decaying noise lets the pixels explore before they settle
/// (a Langevin-like walk); \f$\sigma = 0\f$ is plain projected gradient ascent, which
/// finds a nearby mode. The model is not trained for this: it only knows \f$p(x)\f$.
///
/// **Normalised gradient (the default).** A trained NICE stretches the nearly constant
/// background pixels by \f$e^{s_d}\f$ in the hundreds, so along them \f$\log p\f$ curves
/// like \f$e^{2 s_d}\f$ while along stroke pixels it is nearly flat: no single step size
/// suits both (the paper's \f$\alpha_0 = 0.1\f$ throws background pixels from 0 to 1
/// and back; a step small enough for them leaves the strokes where they started). So by
/// default each pixel's gradient is divided by the root of its running mean square, as
/// RMSProp does, \f$v \leftarrow \rho v + (1-\rho) g^2\f$, \f$g \leftarrow g / \sqrt{v / (1 - \rho^{i+1})}\f$
/// (\f$\rho = 0.9\f$): every pixel then moves by about \f$\alpha_i\f$ per step, in pixel
/// units. `normalize = false` is the paper's plain update.
/// Lesson: @ref tutorial_12_nice.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/nice/model.h"

namespace zoo::models {

/// How `inpaint` climbs.
struct InpaintOptions {
  std::int64_t steps = 1000;  ///< gradient steps
  double step_scale = 10;     ///< a in \f$\alpha_i = a / (b + i)\f$
  double step_offset = 100;   ///< b in \f$\alpha_i = a / (b + i)\f$
  double noise = 1.0;         ///< \f$\sigma\f$, the scale of the gradient noise (0: none)
  bool normalize = true;      ///< divide each pixel's gradient by its running RMS (see above)
};

/// Which pixels of 28 × 28 images are missing: a (N, 784) float tensor, 1 where missing.
/// `kind` is "top", "bottom", "left" or "right" (that half of every image) or "random"
/// (each pixel missing with probability `fraction`, drawn from `gen`).
Tensor inpainting_mask(const std::string& kind, std::int64_t n, double fraction, Generator& gen);

/// Fills the pixels of x (N, D) where `mask` (N, D) is 1 by projected gradient ascent on
/// \f$\log p(x)\f$ (see above), starting from uniform noise drawn from `gen`; the other
/// pixels keep their values. Returns the filled images (N, D), without a graph.
Tensor inpaint(Nice& model, const Tensor& x, const Tensor& mask, const InpaintOptions& options, Generator& gen);

}  // namespace zoo::models
