#include "nn/layers/norm.h"

#include <algorithm>

#include "autograd/factories.h"
#include "autograd/ops/norm.h"
#include "nn/init.h"
#include "nn/repr.h"

namespace zoo::nn {

namespace {

/// x's trailing dims must equal `normalized` (what LayerNorm and RMSNorm normalise over).
void check_trailing(const Module& layer, const Tensor& x, const Shape& normalized) {
  const auto n = static_cast<std::int64_t>(normalized.size());
  ZOO_CHECK(x.defined() && x.dim() >= n &&
                std::equal(normalized.begin(), normalized.end(), x.shape().end() - n),
            "{}({}): expected an input whose last dims are {}, got shape {}", layer.name(),
            layer.extra_repr(), normalized, x.defined() ? x.shape() : Shape{});
}

void check_normalized_shape(const char* layer, const Shape& shape) {
  ZOO_CHECK(!shape.empty() && std::all_of(shape.begin(), shape.end(), [](auto d) { return d > 0; }),
            "{}: normalized_shape must be non-empty with positive sizes, got {}", layer, shape);
}

}  // namespace

// ---- LayerNorm ----

LayerNorm::LayerNorm(const LayerNormOptions& opts) : options(opts) {
  check_normalized_shape("LayerNorm", options.normalized_shape());
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", empty(options.normalized_shape()));
    if (options.bias()) bias = register_parameter("bias", empty(options.normalized_shape()));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  check_trailing(*this, x, options.normalized_shape());
  return layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

std::string LayerNorm::extra_repr() const {
  std::string s = fmt::format("{}, eps={}, elementwise_affine={}",
                              repr_tuple(options.normalized_shape()), repr_float(options.eps()),
                              repr_bool(options.elementwise_affine()));
  if (options.elementwise_affine() && !options.bias()) s += ", bias=False";
  return s;
}

// ---- RMSNorm ----

RMSNorm::RMSNorm(const RMSNormOptions& opts) : options(opts) {
  check_normalized_shape("RMSNorm", options.normalized_shape());
  if (options.elementwise_affine())
    weight = register_parameter("weight", empty(options.normalized_shape()));
  reset_parameters();
}

void RMSNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
}

Tensor RMSNorm::forward(const Tensor& x) {
  check_trailing(*this, x, options.normalized_shape());
  return rms_norm(x, options.normalized_shape(), weight, options.eps());
}

std::string RMSNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", repr_tuple(options.normalized_shape()),
                     repr_float(options.eps()), repr_bool(options.elementwise_affine()));
}

// ---- GroupNorm ----

GroupNorm::GroupNorm(const GroupNormOptions& opts) : options(opts) {
  ZOO_CHECK(options.num_groups() > 0 && options.num_channels() > 0 &&
                options.num_channels() % options.num_groups() == 0,
            "GroupNorm: num_groups = {} must be positive and divide num_channels = {}",
            options.num_groups(), options.num_channels());
  if (options.affine()) {
    weight = register_parameter("weight", empty({options.num_channels()}));
    bias = register_parameter("bias", empty({options.num_channels()}));
  }
  reset_parameters();
}

void GroupNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) {
  ZOO_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == options.num_channels(),
            "GroupNorm({}): expected an input (N, {}, ...), got shape {}", extra_repr(),
            options.num_channels(), x.defined() ? x.shape() : Shape{});
  return group_norm(x, options.num_groups(), weight, bias, options.eps());
}

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", options.num_groups(), options.num_channels(),
                     repr_float(options.eps()), repr_bool(options.affine()));
}

}  // namespace zoo::nn
