/// @file training.cpp
/// @brief The shared U-Net training loop (DDPM and rectified flow).

#include "models/unet/training.h"

#include <filesystem>

#include "autograd/ops.h"
#include "models/common/training_loop.h"
#include "models/unet/config_io.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/optim.h"

namespace zoo::models {
namespace fs = std::filesystem;

Tensor drop_labels(const Tensor& labels, double p, std::int64_t num_classes, Generator& gen) {
  if (!labels.defined() || p <= 0) return labels;
  const std::int64_t n = labels.size(0);
  return where(lt(rand({n}, kFloat32, gen), full({n}, p)), full({n}, static_cast<double>(num_classes), kInt64),
               labels);
}

UNetTrainingResult train_unet(const UNetTraining& o, const UNetLoss& loss_of, const nn::SafetensorsMetadata& metadata,
                              const std::string& label, const UNetTrainingSet* set) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.epochs > 0 && o.batch_size > 0 && o.lr > 0, "train {}: --epochs, --batch-size and --lr must be positive",
            label);
  ZOO_CHECK(o.label_dropout >= 0 && o.label_dropout < 1, "train {}: --label-dropout must be in [0, 1), got {}", label,
            o.label_dropout);
  // The examples: MNIST's pixels, scaled to [-1, 1] per batch below, or the given set,
  // whose paired noise rides along as extra channels of each input.
  std::shared_ptr<nn::TensorDataset> dataset;
  const bool paired = set != nullptr && set->noise.defined();
  if (set == nullptr) {
    const std::int64_t expected = o.data_dir == "data/mnist" ? -1 : 0;
    const nn::MnistData train = nn::first_examples(nn::load_mnist(o.data_dir, true, expected), o.train_limit);
    dataset = std::make_shared<nn::TensorDataset>(train.images, train.labels);
  } else {
    ZOO_CHECK(!paired || set->noise.shape() == set->images.shape(), "train {}: noise {} and images {} must match", label,
              set->noise.shape(), set->images.shape());
    dataset = std::make_shared<nn::TensorDataset>(paired ? cat({set->images, set->noise}, 1) : set->images, set->labels);
  }
  nn::DataLoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.seed = o.seed;
  // What a checkpoint must agree with to be continued.
  nn::SafetensorsMetadata identity = metadata;
  identity["batch_size"] = std::to_string(o.batch_size);

  manual_seed(o.seed);  // the weights, then every draw of the loss
  UNet net(o.model);
  if (set != nullptr && !set->initial_weights.empty()) net.load_state_dict(set->initial_weights);
  optim::Adam optimizer(net.named_parameters(), optim::AdamOptions(o.lr));
  optim::ExponentialMovingAverage ema(net.named_parameters(), o.ema_decay);
  const TrainingLoopOptions loop{.label = label, .epochs = o.epochs, .log_every = 50, .out = o.out,
                                 .resume = o.resume, .save_every = o.save_every, .stop_after = o.stop_after,
                                 .quiet = o.quiet, .seed = o.seed, .identity = identity,
                                 .communicator = o.communicator, .bucket_bytes = o.bucket_bytes};

  TrainingHooks hooks;
  hooks.loss = [&](const nn::Example& batch) {
    UNetBatch b{.labels = o.model.num_classes > 0 ? batch.target : Tensor()};
    if (set == nullptr) {
      b.images = batch.input * 2.0 - 1.0;  // pixels to [-1, 1]
    } else {
      const std::int64_t channels = o.model.in_channels;
      b.images = batch.input.narrow(1, 0, channels);
      if (paired) b.noise = batch.input.narrow(1, channels, channels);
    }
    return loss_of(net, b, default_generator());
  };
  hooks.before_step = [&] {
    if (o.clip_grad_norm > 0) optim::clip_grad_norm_(net.named_parameters(), o.clip_grad_norm);
  };
  hooks.after_step = [&] { ema.update(); };
  // The EMA weights go into the checkpoint's extra tensors as "ema.NAME".
  hooks.save_state = [&](nn::Checkpoint& ck) {
    for (const auto& [name, t] : ema.state_dict()) ck.extra.insert("ema." + name, t);
    ck.metadata["ema_updates"] = std::to_string(ema.updates());
  };
  hooks.restore_state = [&](const nn::Checkpoint& ck) {
    nn::StateDict shadows;
    for (const auto& [name, t] : ck.extra)
      if (name.rfind("ema.", 0) == 0) shadows.insert(name.substr(4), t);
    ema.load_state_dict(shadows);
    ema.set_updates(ck.metadata_int("ema_updates"));
  };
  UNetTrainingResult result;
  hooks.end_epoch = [&](const EpochSummary& epoch) {
    result.train_loss = epoch.mean_loss;
    return EpochReport{.fields = {{"train_loss", epoch.mean_loss}},
                       .line = fmt::format("epoch {}/{}: train loss {:.4f}", epoch.epoch, o.epochs, epoch.mean_loss)};
  };
  const TrainingLoopResult run = run_training_loop(loop, net, optimizer, dataset, loader_options, hooks);
  result.steps = run.steps;
  if (!run.finished) return result;  // "interrupted": the checkpoint holds everything
  if (o.communicator == nullptr || o.communicator->is_main())
    nn::save_safetensors(fs::path(o.out) / "model.safetensors", ema.averaged(), metadata);  // sample with the average
  result.seconds = run.seconds;
  result.samples_per_second = run.samples_per_second;
  result.epochs = o.epochs;
  result.finished = true;
  return result;
}

std::pair<std::shared_ptr<UNet>, nn::SafetensorsMetadata> load_unet(const std::string& path, const std::string& model) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: sample with its EMA weights
    const nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = nn::StateDict();
    for (const auto& [name, t] : ck.extra)
      if (name.rfind("ema.", 0) == 0) file.tensors.insert(name.substr(4), t);
  }
  const auto it = file.metadata.find("model");
  ZOO_CHECK(it != file.metadata.end() && it->second == model, "{}: '{}' holds {}, not a {} model", model, path,
            it == file.metadata.end() ? std::string("no model name") : "a '" + it->second + "' model", model);
  auto net = std::make_shared<UNet>(unet_config_from(file.metadata, path));
  net->load_state_dict(file.tensors);
  return {net, file.metadata};
}

}  // namespace zoo::models
