#pragma once
/// @file rectified_flow.h
/// @brief Rectified flow (Liu, Gong and Liu, 2022; the "flow matching" of Stable
/// Diffusion 3): the straight path from data to noise, its velocity, the times training
/// draws, and the ODE samplers that walk the path back.
///
/// **The path.** For an image \f$x_0\f$ and noise \f$\varepsilon \sim \mathcal N(0, I)\f$,
/// \f[ x_t = (1 - t)\,x_0 + t\,\varepsilon, \qquad t \in [0, 1], \f]
/// a straight line whose velocity \f$\frac{dx_t}{dt} = \varepsilon - x_0\f$ is constant. The
/// network \f$v_\theta(x_t, t)\f$ learns it by least squares,
/// \f$\mathbb E\,\|v_\theta(x_t, t) - (\varepsilon - x_0)\|^2\f$, whose minimiser is the
/// average velocity through each point, \f$v^*(x, t) = \mathbb E[\varepsilon - x_0 \mid x_t = x]\f$.
/// Following \f$v^*\f$ from t = 1 (noise) to t = 0 carries the noise distribution onto
/// the data distribution, every intermediate marginal matching the path's.
///
/// **Samplers.** The ODE \f$dx/dt = v(x, t)\f$ is integrated from t = 1 to 0 on a uniform
/// grid of n steps, h = 1/n: Euler, \f$x \leftarrow x - h\,v(x, t)\f$ (error O(h)), or
/// Heun, Euler's step corrected by the velocity at its end point (error O(h²)). The
/// straighter the learned paths, the fewer steps they need: *reflow* trains a second
/// network on (noise, sample) pairs of the first, whose paths cross less.
/// Lesson: @ref tutorial_14_rectified_flow.

#include <cstdint>
#include <functional>
#include <string>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo::models {

/// \f$x_t = (1 - t)\,x_0 + t\,\varepsilon\f$: x0 and noise (N, ...), t (N) in [0, 1] → (N, ...).
Tensor flow_interpolate(const Tensor& x0, const Tensor& noise, const Tensor& t);

/// The regression target, the path's velocity \f$\varepsilon - x_0\f$: (N, ...).
Tensor flow_target(const Tensor& x0, const Tensor& noise);

/// N training times: "uniform" on [0, 1), or "logit-normal", \f$t = \sigma(u)\f$ with
/// \f$u \sim \mathcal N(0, 1)\f$ (Esser et al., 2024), which draws the middle of the path,
/// where the velocity is hardest to predict, more often than its ends. Float32 (N).
Tensor sample_flow_times(std::int64_t n, const std::string& distribution, Generator& gen);

/// A velocity field: x (N, ...) and a time t in [0, 1] → v (N, ...).
using VelocityField = std::function<Tensor(const Tensor& x, double t)>;

/// Called after each step with the time reached and x there (for the trajectory picture).
using FlowObserver = std::function<void(double t, const Tensor& x)>;

/// Integrates \f$dx/dt = v(x, t)\f$ from t = 1 (x = `noise`) to t = 0 in `steps` Euler steps.
Tensor euler_sample(const VelocityField& v, const Tensor& noise, std::int64_t steps,
                    const FlowObserver& observe = nullptr);

/// The same with Heun's method: \f$\tilde x = x - h\,v(x, t)\f$, then
/// \f$x \leftarrow x - \tfrac h2\,[v(x, t) + v(\tilde x, t - h)]\f$ (two evaluations a step).
Tensor heun_sample(const VelocityField& v, const Tensor& noise, std::int64_t steps,
                   const FlowObserver& observe = nullptr);

}  // namespace zoo::models
