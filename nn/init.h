#pragma once
/// @file init.h
/// @brief Parameter initialisers, as in `torch.nn.init`: uniform, normal, constants,
/// Xavier (Glorot) and Kaiming (He), with PyTorch's fans and gains.
///
/// Every initialiser overwrites the tensor it is given in place (the `Tensor` argument
/// is a handle: the caller's tensor sees the new values), under `NoGradGuard` so that a
/// parameter that requires grad can be filled, and returns the same handle. Random ones
/// draw from `gen` (the default generator unless given), one value per element in
/// row-major order, so a seed fixes the result.
///
/// Why the scale matters: a layer \f$y = Wx\f$ with \f$n_\text{in}\f$ inputs of variance
/// \f$v\f$ and weights of variance \f$\sigma^2\f$ gives outputs of variance
/// \f$n_\text{in}\sigma^2 v\f$. Unless \f$n_\text{in}\sigma^2\f$ (times what the
/// activation keeps, 1/2 for ReLU) is 1, activations shrink or grow geometrically with
/// depth. Xavier and Kaiming choose \f$\sigma\f$ to make that product 1 (tutorial 05).

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo::nn::init {

/// Which fan Kaiming initialisation keeps the variance for: `FanIn` preserves the
/// variance of the activations in the forward pass, `FanOut` that of the gradients in
/// the backward pass.
enum class FanMode { FanIn, FanOut };

/// The recommended gain for a nonlinearity, as PyTorch's `calculate_gain`:
/// linear, conv1d/2d/3d, conv_transpose1d/2d/3d and sigmoid: 1; tanh: 5/3;
/// relu: \f$\sqrt 2\f$; leaky_relu with slope a (`param`, default 0.01):
/// \f$\sqrt{2 / (1 + a^2)}\f$; selu: 3/4. Any other name is an error.
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

/// (fan_in, fan_out) of a weight of at least 2 dims, as PyTorch computes them:
/// with the receptive field \f$r = \prod_{d \ge 2} \text{size}_d\f$ (1 for a matrix),
/// \f$\text{fan\_in} = \text{size}_1 \cdot r\f$ and \f$\text{fan\_out} = \text{size}_0 \cdot r\f$.
/// For a Linear weight (out, in) that is (in, out); for a Conv2d weight (O, C, kh, kw),
/// (C·kh·kw, O·kh·kw).
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

/// Fills with \f$U(a, b)\f$.
Tensor uniform_(Tensor tensor, double a = 0.0, double b = 1.0,
                Generator& gen = default_generator());
/// Fills with \f$\mathcal N(\text{mean}, \text{std}^2)\f$.
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0,
               Generator& gen = default_generator());
/// Fills with `value`.
Tensor constant_(Tensor tensor, double value);
/// Fills with 0.
Tensor zeros_(Tensor tensor);
/// Fills with 1.
Tensor ones_(Tensor tensor);

/// Glorot & Bengio (2010): \f$U(-b, b)\f$ with
/// \f$b = \text{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}\f$, so that the variance
/// \f$b^2/3 = \text{gain}^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})\f$ balances the
/// forward and backward passes.
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0, Generator& gen = default_generator());
/// Glorot & Bengio (2010): \f$\mathcal N(0, \sigma^2)\f$ with
/// \f$\sigma = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}\f$.
Tensor xavier_normal_(Tensor tensor, double gain = 1.0, Generator& gen = default_generator());

/// He et al. (2015): \f$U(-b, b)\f$ with \f$b = \sqrt 3\,\sigma\f$ and
/// \f$\sigma = \text{gain} / \sqrt{\text{fan}}\f$, where gain is
/// `calculate_gain(nonlinearity, a)` (a = the negative slope of a leaky ReLU) and fan is
/// fan_in or fan_out (`mode`). For ReLU, \f$\sigma^2 = 2/\text{fan\_in}\f$ makes
/// \f$E[y^2]\f$ the same in every layer. PyTorch's Linear and Conv layers use a = √5,
/// which gives \f$b = 1/\sqrt{\text{fan\_in}}\f$.
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        std::string_view nonlinearity = "leaky_relu",
                        Generator& gen = default_generator());
/// He et al. (2015): \f$\mathcal N(0, \sigma^2)\f$ with \f$\sigma = \text{gain} / \sqrt{\text{fan}}\f$,
/// gain and fan as in `kaiming_uniform_`.
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       std::string_view nonlinearity = "leaky_relu",
                       Generator& gen = default_generator());

}  // namespace zoo::nn::init
