/// @file train.cpp
/// @brief Rectified flow's loss and sampler on the U-Net; training by the shared loop.

#include "models/flow/train.h"

#include <filesystem>

#include "autograd/ops.h"
#include "models/unet/config_io.h"

namespace zoo::models {

Tensor flow_loss(UNet& net, const Tensor& x0, const Tensor& labels, double label_dropout,
                 const std::string& time_distribution, Generator& gen, const Tensor& paired_noise) {
  const std::int64_t n = x0.size(0);
  const Tensor t = sample_flow_times(n, time_distribution, gen);
  const Tensor noise = paired_noise.defined() ? paired_noise : randn(x0.shape(), x0.dtype(), gen);
  const Tensor y = drop_labels(labels, label_dropout, net.config.num_classes, gen);
  const Tensor predicted = net.forward(flow_interpolate(x0, noise, t), t * 1000.0, y);
  return mse_loss(predicted, flow_target(x0, noise));  // ‖v_θ − (ε − x₀)‖², averaged
}

UNetTrainingResult train_flow(const FlowOptions& o) {
  ZOO_CHECK(o.time_distribution == "uniform" || o.time_distribution == "logit-normal",
            "train flow: --times must be uniform or logit-normal, not '{}'", o.time_distribution);
  const UNetLoss loss = [&](UNet& net, const UNetBatch& batch, Generator& gen) {
    return flow_loss(net, batch.images, batch.labels, o.label_dropout, o.time_distribution, gen, batch.noise);
  };
  const auto metadata_of = [&](const UNetConfig& config) {
    nn::SafetensorsMetadata m = unet_metadata(config);
    m["model"] = "flow";
    m["time_distribution"] = o.time_distribution;
    return m;
  };
  if (o.reflow_from.empty()) return train_unet(o, loss, metadata_of(o.model), "flow");

  // Reflow: the first flow's network, its pairs, and a second run starting from its weights.
  if (o.threads > 0) set_num_threads(o.threads);
  const std::shared_ptr<UNet> teacher = load_flow(o.reflow_from);
  FlowOptions second = o;
  second.model = teacher->config;
  nn::SafetensorsMetadata metadata = metadata_of(teacher->config);
  metadata["reflow_from"] = o.reflow_from;
  metadata["reflow_pairs"] = std::to_string(o.reflow.pairs);
  metadata["reflow_sampler"] = o.reflow.sampler;
  metadata["reflow_steps"] = std::to_string(o.reflow.steps);
  std::filesystem::create_directories(o.out);
  const ReflowPairs pairs = draw_reflow_pairs(*teacher, o.reflow, o.out + "/reflow_pairs.safetensors", metadata,
                                              o.seed, o.quiet);
  const UNetTrainingSet set{.images = pairs.samples,
                            .labels = pairs.labels,
                            .noise = pairs.noise,
                            .initial_weights = teacher->state_dict()};
  return train_unet(second, loss, metadata, "reflow", &set);
}

Tensor integrate_flow(UNet& net, const Tensor& noise, const Tensor& labels, const FlowSampling& how,
                      const FlowObserver& observe) {
  const std::int64_t n = noise.size(0);
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
  const Tensor x =
      how.sampler == "euler" ? euler_sample(v, noise, how.steps, observe) : heun_sample(v, noise, how.steps, observe);
  net.train(was_training);
  return x;
}

Tensor sample_flow(UNet& net, std::int64_t n, const Tensor& labels, const FlowSampling& how, Generator& gen,
                   const FlowObserver& observe) {
  ZOO_CHECK(n > 0, "sample flow: the number of images must be positive, got {}", n);
  const Tensor noise = randn({n, net.config.in_channels, how.image_size, how.image_size}, kFloat32, gen);
  return integrate_flow(net, noise, labels, how, observe);
}

std::shared_ptr<UNet> load_flow(const std::string& path) { return load_unet(path, "flow").first; }

}  // namespace zoo::models
