#include "nn/init.h"

#include <cmath>
#include <string>

#include "autograd/error.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"

namespace zoo::nn::init {

namespace {

/// Checks that `tensor` can be filled by the initialiser `op`.
void check_fillable(const Tensor& tensor, const char* op) {
  ZOO_CHECK(tensor.defined(), "init::{}: the tensor is undefined", op);
  ZOO_CHECK(tensor.is_floating_point(), "init::{}: expected a floating tensor, got {} of shape {}",
            op, tensor.dtype(), tensor.shape());
}

/// Overwrites `tensor` with `values` (same shape), unrecorded.
Tensor assign(Tensor tensor, const Tensor& values) {
  NoGradGuard no_grad;
  tensor.copy_(values);
  return tensor;
}

/// The fan that `mode` selects.
double fan(const Tensor& tensor, FanMode mode, const char* op) {
  ZOO_CHECK(tensor.dim() >= 2,
            "init::{}: fan in and fan out need a tensor of at least 2 dims, got shape {}", op,
            tensor.shape());
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const std::int64_t f = mode == FanMode::FanIn ? fan_in : fan_out;
  ZOO_CHECK(f > 0, "init::{}: the fan of a tensor of shape {} is 0", op, tensor.shape());
  return static_cast<double>(f);
}

}  // namespace

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  const std::string name(nonlinearity);
  if (name == "linear" || name == "conv1d" || name == "conv2d" || name == "conv3d" ||
      name == "conv_transpose1d" || name == "conv_transpose2d" || name == "conv_transpose3d" ||
      name == "sigmoid")
    return 1.0;
  if (name == "tanh") return 5.0 / 3.0;
  if (name == "relu") return std::sqrt(2.0);
  if (name == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (name == "selu") return 3.0 / 4.0;
  throw Error(fmt::format(
      "init::calculate_gain: unknown nonlinearity '{}' (expected linear, conv1d, conv2d, "
      "conv3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu or selu)",
      name));
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  ZOO_CHECK(tensor.defined() && tensor.dim() >= 2,
            "init::calculate_fan_in_and_fan_out: needs a tensor of at least 2 dims, got shape {}",
            tensor.defined() ? tensor.shape() : Shape{});
  std::int64_t receptive_field = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

Tensor uniform_(Tensor tensor, double a, double b, Generator& gen) {
  check_fillable(tensor, "uniform_");
  ZOO_CHECK(a <= b, "init::uniform_: the lower bound {} is above the upper bound {}", a, b);
  // u ~ U[0, 1) drawn in float64, then a + (b - a) u in the tensor's dtype.
  NoGradGuard no_grad;
  return assign(tensor, (rand(tensor.shape(), kFloat64, gen) * (b - a) + a));
}

Tensor normal_(Tensor tensor, double mean, double std, Generator& gen) {
  check_fillable(tensor, "normal_");
  ZOO_CHECK(std >= 0, "init::normal_: the standard deviation must be >= 0, got {}", std);
  NoGradGuard no_grad;
  return assign(tensor, randn(tensor.shape(), kFloat64, gen) * std + mean);
}

Tensor constant_(Tensor tensor, double value) {
  check_fillable(tensor, "constant_");
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) { return constant_(std::move(tensor), 0.0); }

Tensor ones_(Tensor tensor) { return constant_(std::move(tensor), 1.0); }

Tensor xavier_uniform_(Tensor tensor, double gain, Generator& gen) {
  check_fillable(tensor, "xavier_uniform_");
  const double fan_sum = fan(tensor, FanMode::FanIn, "xavier_uniform_") +
                         fan(tensor, FanMode::FanOut, "xavier_uniform_");
  const double bound = gain * std::sqrt(6.0 / fan_sum);  // = sqrt(3) * std
  return uniform_(std::move(tensor), -bound, bound, gen);
}

Tensor xavier_normal_(Tensor tensor, double gain, Generator& gen) {
  check_fillable(tensor, "xavier_normal_");
  const double fan_sum = fan(tensor, FanMode::FanIn, "xavier_normal_") +
                         fan(tensor, FanMode::FanOut, "xavier_normal_");
  return normal_(std::move(tensor), 0.0, gain * std::sqrt(2.0 / fan_sum), gen);
}

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, std::string_view nonlinearity,
                        Generator& gen) {
  check_fillable(tensor, "kaiming_uniform_");
  const double sigma =
      calculate_gain(nonlinearity, a) / std::sqrt(fan(tensor, mode, "kaiming_uniform_"));
  const double bound = std::sqrt(3.0) * sigma;  // U(-b, b) has variance b²/3
  return uniform_(std::move(tensor), -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, std::string_view nonlinearity,
                       Generator& gen) {
  check_fillable(tensor, "kaiming_normal_");
  const double sigma =
      calculate_gain(nonlinearity, a) / std::sqrt(fan(tensor, mode, "kaiming_normal_"));
  return normal_(std::move(tensor), 0.0, sigma, gen);
}

}  // namespace zoo::nn::init
