/// @file train.cpp
/// @brief DDPM's loss (the simple loss with label dropout), trained by the shared U-Net
/// loop (models/unet/training.h).

#include "models/ddpm/train.h"

#include "autograd/ops.h"
#include "models/ddpm/process.h"
#include "models/unet/config_io.h"
#include "nn/io/metadata_values.h"

namespace zoo::models {

Tensor ddpm_loss(UNet& net, const NoiseSchedule& schedule, const Tensor& x0, const Tensor& labels,
                 double label_dropout, Generator& gen) {
  const std::int64_t n = x0.size(0);
  const Tensor t = randint(1, schedule.steps + 1, {n}, kInt64, gen);  // a step per image
  const Tensor noise = randn(x0.shape(), x0.dtype(), gen);
  const Tensor y = drop_labels(labels, label_dropout, net.config.num_classes, gen);
  const Tensor predicted = net.forward(q_sample(schedule, x0, t, noise), t.to(kFloat32), y);
  return mse_loss(predicted, noise);  // ‖ε − ε_θ(x_t, t, y)‖², averaged
}

namespace {

/// The network's and the schedule's sizes as file metadata: what `load_ddpm` reads back.
nn::SafetensorsMetadata model_metadata(const DdpmOptions& o) {
  nn::SafetensorsMetadata m = unet_metadata(o.model);
  m["model"] = "ddpm";
  m["schedule"] = o.schedule;
  m["diffusion_steps"] = std::to_string(o.diffusion_steps);
  return m;
}

}  // namespace

DdpmResult train_ddpm(const DdpmOptions& o) {
  const NoiseSchedule schedule = NoiseSchedule::by_name(o.schedule, o.diffusion_steps);
  const double dropout = o.label_dropout;
  return train_unet(
      o,
      [&](UNet& net, const UNetBatch& batch, Generator& gen) {
        return ddpm_loss(net, schedule, batch.images, batch.labels, dropout, gen);
      },
      model_metadata(o), "ddpm");
}

std::pair<std::shared_ptr<UNet>, NoiseSchedule> load_ddpm(const std::string& path) {
  const auto [net, metadata] = load_unet(path, "ddpm");
  return {net, NoiseSchedule::by_name(nn::metadata_text(metadata, "schedule", path),
                                      nn::metadata_int(metadata, "diffusion_steps", path))};
}

}  // namespace zoo::models
