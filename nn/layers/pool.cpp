#include "nn/layers/pool.h"

#include <vector>

#include "autograd/ops/pool.h"
#include "nn/repr.h"

namespace zoo::nn {

namespace {

std::vector<std::int64_t> vec(Pair p) { return {p[0], p[1]}; }

/// x must be (N, C, H, W).
void check_image(const Module& layer, const Tensor& x) {
  ZOO_CHECK(x.defined() && x.dim() == 4, "{}({}): expected an input (N, C, H, W), got shape {}",
            layer.name(), layer.extra_repr(), x.defined() ? x.shape() : Shape{});
}

}  // namespace

Tensor MaxPool2d::forward(const Tensor& x) {
  check_image(*this, x);
  return max_pool2d(x, options.kernel_size(), options.stride(), options.padding(),
                    options.dilation());
}

std::string MaxPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode=False",
                     repr_size(vec(options.kernel_size())), repr_size(vec(options.stride())),
                     repr_size(vec(options.padding())), repr_size(vec(options.dilation())));
}

Tensor AvgPool2d::forward(const Tensor& x) {
  check_image(*this, x);
  return avg_pool2d(x, options.kernel_size(), options.stride(), options.padding());
}

std::string AvgPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}", repr_size(vec(options.kernel_size())),
                     repr_size(vec(options.stride())), repr_size(vec(options.padding())));
}

}  // namespace zoo::nn
