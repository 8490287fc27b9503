#include "nn/layers/conv.h"

#include <cmath>
#include <vector>

#include "autograd/factories.h"
#include "nn/init.h"
#include "nn/repr.h"

namespace zoo::nn {

namespace {

std::vector<std::int64_t> vec(Pair p) { return {p[0], p[1]}; }

/// Checks the settings shared by both layers; `layer` names the layer in messages.
void check_channels(const char* layer, std::int64_t in, std::int64_t out, std::int64_t groups,
                    Pair kernel, Pair stride, Pair dilation) {
  ZOO_CHECK(in > 0 && out > 0, "{}: channel counts must be positive, got {} and {}", layer, in,
            out);
  ZOO_CHECK(groups > 0 && in % groups == 0 && out % groups == 0,
            "{}: groups = {} must divide in_channels = {} and out_channels = {}", layer, groups,
            in, out);
  ZOO_CHECK(kernel[0] > 0 && kernel[1] > 0 && stride[0] > 0 && stride[1] > 0 && dilation[0] > 0 &&
                dilation[1] > 0,
            "{}: kernel_size, stride and dilation must be positive, got {}, {} and {}", layer,
            vec(kernel), vec(stride), vec(dilation));
}

/// PyTorch's _ConvNd.reset_parameters: W ~ kaiming_uniform_(a = √5), which is
/// U(-1/√fan_in, 1/√fan_in), and b ~ U(-1/√fan_in, 1/√fan_in), fan_in from W's shape.
void reset_conv(Tensor& weight, Tensor& bias, Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (bias.defined()) {
    const auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(weight);
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound, gen);
  }
}

/// x must be (N, channels, H, W).
void check_input(const Module& layer, const Tensor& x, std::int64_t channels) {
  ZOO_CHECK(x.defined() && x.dim() == 4 && x.size(1) == channels,
            "{}({}): expected an input (N, {}, H, W), got shape {}", layer.name(),
            layer.extra_repr(), channels, x.defined() ? x.shape() : Shape{});
}

/// The optional parts of a conv layer's summary, in PyTorch's order.
std::string conv_repr(std::int64_t in, std::int64_t out, Pair kernel, Pair stride, Pair padding,
                      Pair dilation, Pair output_padding, std::int64_t groups, bool bias) {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in, out,
                              repr_tuple(vec(kernel)), repr_tuple(vec(stride)));
  if (padding != Pair{0, 0}) s += ", padding=" + repr_tuple(vec(padding));
  if (dilation != Pair{1, 1}) s += ", dilation=" + repr_tuple(vec(dilation));
  if (output_padding != Pair{0, 0}) s += ", output_padding=" + repr_tuple(vec(output_padding));
  if (groups != 1) s += fmt::format(", groups={}", groups);
  if (!bias) s += ", bias=False";
  return s;
}

}  // namespace

// ---- Conv2d ----

Conv2d::Conv2d(const Conv2dOptions& opts) : options(opts) {
  check_channels("Conv2d", options.in_channels(), options.out_channels(), options.groups(),
                 options.kernel_size(), options.stride(), options.dilation());
  const Pair k = options.kernel_size();
  weight = register_parameter(
      "weight", empty({options.out_channels(), options.in_channels() / options.groups(), k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters();
}

void Conv2d::reset_parameters(Generator& gen) { reset_conv(weight, bias, gen); }

Tensor Conv2d::forward(const Tensor& x) {
  check_input(*this, x, options.in_channels());  // x: (N, C, H, W)
  return conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(),
                options.groups());  // (N, O, OH, OW)
}

std::string Conv2d::extra_repr() const {
  return conv_repr(options.in_channels(), options.out_channels(), options.kernel_size(),
                   options.stride(), options.padding(), options.dilation(), {0, 0},
                   options.groups(), options.bias());
}

// ---- ConvTranspose2d ----

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& opts) : options(opts) {
  check_channels("ConvTranspose2d", options.in_channels(), options.out_channels(),
                 options.groups(), options.kernel_size(), options.stride(), options.dilation());
  const Pair k = options.kernel_size();
  weight = register_parameter(
      "weight", empty({options.in_channels(), options.out_channels() / options.groups(), k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters();
}

void ConvTranspose2d::reset_parameters(Generator& gen) { reset_conv(weight, bias, gen); }

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input(*this, x, options.in_channels());  // x: (N, C, H, W)
  return conv_transpose2d(x, weight, bias, options.stride(), options.padding(),
                          options.output_padding(), options.groups(),
                          options.dilation());  // (N, O, OH, OW)
}

std::string ConvTranspose2d::extra_repr() const {
  return conv_repr(options.in_channels(), options.out_channels(), options.kernel_size(),
                   options.stride(), options.padding(), options.dilation(),
                   options.output_padding(), options.groups(), options.bias());
}

}  // namespace zoo::nn
