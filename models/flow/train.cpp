/// @file train.cpp
/// @brief Rectified flow's loss and sampler on the U-Net; training by the shared loop.

#include "models/flow/train.h"

#include "autograd/ops.h"
#include "models/unet/config_io.h"

namespace zoo::models {

Tensor flow_loss(UNet& net, const Tensor& x0, const Tensor& labels, double label_dropout,
                 const std::string& time_distribution, Generator& gen) {
  const std::int64_t n = x0.size(0);
  const Tensor t = sample_flow_times(n, time_distribution, gen);
  const Tensor noise = randn(x0.shape(), x0.dtype(), gen);
  const Tensor y = drop_labels(labels, label_dropout, net.config.num_classes, gen);
  const Tensor predicted = net.forward(flow_interpolate(x0, noise, t), t * 1000.0, y);
  return mse_loss(predicted, flow_target(x0, noise));  // ‖v_θ − (ε − x₀)‖², averaged
}

UNetTrainingResult train_flow(const FlowOptions& o) {
  nn::SafetensorsMetadata metadata = unet_metadata(o.model);
  metadata["model"] = "flow";
  metadata["time_distribution"] = o.time_distribution;
  ZOO_CHECK(o.time_distribution == "uniform" || o.time_distribution == "logit-normal",
            "train flow: --times must be uniform or logit-normal, not '{}'", o.time_distribution);
  return train_unet(
      o,
      [&](UNet& net, const Tensor& x0, const Tensor& labels, Generator& gen) {
        return flow_loss(net, x0, labels, o.label_dropout, o.time_distribution, gen);
      },
      metadata, "flow");
}

Tensor sample_flow(UNet& net, std::int64_t n, const Tensor& labels, const FlowSampling& how, Generator& gen) {
  ZOO_CHECK(n > 0, "sample flow: the number of images must be positive, got {}", n);
  ZOO_CHECK(!labels.defined() || (labels.dim() == 1 && labels.size(0) == n), "sample flow: expected labels ({}), got {}",
            n, labels.defined() ? labels.shape() : Shape{});
  ZOO_CHECK(how.sampler == "euler" || how.sampler == "heun", "sample flow: the sampler is 'euler' or 'heun', not '{}'",
            how.sampler);
  const bool was_training = net.is_training();
  net.eval();
  NoGradGuard no_grad;
  const Tensor none = full({n}, static_cast<double>(net.config.num_classes), kInt64);
  const VelocityField v = [&](const Tensor& x, double t) {
    const Tensor times = full({n}, 1000.0 * t);
    if (!labels.defined() || how.guidance == 1.0) return net.forward(x, times, labels);
    const Tensor both = net.forward(cat({x, x}, 0), cat({times, times}, 0), cat({labels, none}, 0));
    const Tensor conditional = both.narrow(0, 0, n), unconditional = both.narrow(0, n, n);
    return unconditional + (conditional - unconditional) * how.guidance;  // v_∅ + w (v_y − v_∅)
  };
  const Tensor noise = randn({n, net.config.in_channels, how.image_size, how.image_size}, kFloat32, gen);
  const Tensor x = how.sampler == "euler" ? euler_sample(v, noise, how.steps) : heun_sample(v, noise, how.steps);
  net.train(was_training);
  return x;
}

std::shared_ptr<UNet> load_flow(const std::string& path) { return load_unet(path, "flow").first; }

}  // namespace zoo::models
