#include "models/ddpm/sample.h"

#include "autograd/ops.h"

namespace zoo::models {
namespace {

/// The (guided) noise prediction at step t for the whole batch.
Tensor predict_noise(UNet& net, const Tensor& x, std::int64_t t, const Tensor& labels, double guidance) {
  const std::int64_t n = x.size(0);
  const Tensor times = full({n}, static_cast<double>(t));
  if (!labels.defined() || guidance == 1.0) return net.forward(x, times, labels);
  // Both predictions in one batch: the labelled half, then the "no class" half.
  const Tensor none = full({n}, static_cast<double>(net.config.num_classes), kInt64);
  const Tensor both = net.forward(cat({x, x}, 0), cat({times, times}, 0), cat({labels, none}, 0));
  const Tensor conditional = both.narrow(0, 0, n), unconditional = both.narrow(0, n, n);
  return unconditional + (conditional - unconditional) * guidance;  // ε_∅ + w (ε_y − ε_∅)
}

}  // namespace

std::vector<std::int64_t> ddim_times(std::int64_t T, std::int64_t steps) {
  ZOO_CHECK(steps >= 1 && steps <= T, "ddim: the number of steps must be in 1..{}, got {}", T, steps);
  std::vector<std::int64_t> times;
  for (std::int64_t i = steps; i >= 0; --i) times.push_back(i * T / steps);
  return times;
}

Tensor sample_ddpm(UNet& net, const NoiseSchedule& schedule, std::int64_t n, const Tensor& labels,
                   const DdpmSampling& how, Generator& gen, const DdpmObserver& observe) {
  ZOO_CHECK(n > 0, "sample ddpm: the number of images must be positive, got {}", n);
  ZOO_CHECK(!labels.defined() || (labels.dim() == 1 && labels.size(0) == n),
            "sample ddpm: expected labels ({}), got {}", n, labels.defined() ? labels.shape() : Shape{});
  ZOO_CHECK(!labels.defined() || net.config.num_classes > 0, "sample ddpm: labels given to an unconditional network");
  ZOO_CHECK(how.sampler == "ddpm" || how.sampler == "ddim", "sample ddpm: the sampler is 'ddpm' or 'ddim', not '{}'",
            how.sampler);
  const bool was_training = net.is_training();
  net.eval();
  NoGradGuard no_grad;
  Tensor x = randn({n, net.config.in_channels, how.image_size, how.image_size}, kFloat32, gen);  // x_T
  if (how.sampler == "ddpm") {
    for (std::int64_t t = schedule.steps; t >= 1; --t) {
      x = ddpm_step(schedule, x, t, predict_noise(net, x, t, labels, how.guidance), how.variance, gen);
      if (observe) observe(t - 1, x);
    }
  } else {
    const std::vector<std::int64_t> times = ddim_times(schedule.steps, how.steps);
    for (std::size_t i = 0; i + 1 < times.size(); ++i) {
      x = ddim_step(schedule, x, times[i], times[i + 1], predict_noise(net, x, times[i], labels, how.guidance), how.eta,
                    gen);
      if (observe) observe(times[i + 1], x);
    }
  }
  net.train(was_training);
  return x;
}

}  // namespace zoo::models
