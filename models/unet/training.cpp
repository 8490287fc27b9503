/// @file training.cpp
/// @brief The shared U-Net training loop (DDPM and rectified flow).

#include "models/unet/training.h"

#include <chrono>
#include <filesystem>

#include "autograd/ops.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/unet/config_io.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/optim/optim.h"

namespace zoo::models {
namespace fs = std::filesystem;

Tensor drop_labels(const Tensor& labels, double p, std::int64_t num_classes, Generator& gen) {
  if (!labels.defined() || p <= 0) return labels;
  const std::int64_t n = labels.size(0);
  return where(lt(rand({n}, kFloat32, gen), full({n}, p)), full({n}, static_cast<double>(num_classes), kInt64),
               labels);
}

namespace {

/// Where a run is, besides the tensors.
struct Position {
  std::int64_t epoch = 0, next_batch = 0, step = 0;
  double epoch_loss_sum = 0;
};

void save(const fs::path& path, UNet& net, const optim::Optimizer& optimizer,
          const optim::ExponentialMovingAverage& ema, const Position& pos, const nn::SafetensorsMetadata& identity) {
  nn::Checkpoint ck;
  ck.model = net.state_dict();
  ck.optimizer = optimizer.state_dict();
  for (const auto& [name, t] : ema.state_dict()) ck.extra.insert("ema." + name, t);
  ck.step = pos.step;
  ck.epoch = pos.epoch;
  ck.generators["default"] = default_generator().get_state();
  ck.metadata = identity;
  ck.metadata["next_batch"] = std::to_string(pos.next_batch);
  ck.metadata["epoch_loss_sum"] = fmt::format("{:.17g}", pos.epoch_loss_sum);
  ck.metadata["ema_updates"] = std::to_string(ema.updates());
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, UNet& net, optim::Optimizer& optimizer, optim::ExponentialMovingAverage& ema,
                 const nn::SafetensorsMetadata& identity) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  for (const auto& [key, value] : identity) {
    const auto it = ck.metadata.find(key);
    ZOO_CHECK(it != ck.metadata.end() && it->second == value, "resume: '{}' was saved with {} = {}, this run asks for {}",
              path.string(), key, it == ck.metadata.end() ? "(nothing)" : it->second, value);
  }
  net.load_state_dict(ck.model);
  optimizer.load_state_dict(ck.optimizer);
  nn::StateDict shadows;
  for (const auto& [name, t] : ck.extra)
    if (name.rfind("ema.", 0) == 0) shadows.insert(name.substr(4), t);
  ema.load_state_dict(shadows);
  ema.set_updates(ck.metadata_int("ema_updates"));
  default_generator().set_state(ck.generator_state("default"));
  return {ck.epoch, ck.metadata_int("next_batch"), ck.step, ck.metadata_double("epoch_loss_sum")};
}

}  // namespace

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
  nn::DataLoader loader(dataset, loader_options);
  // What a checkpoint must agree with to be continued.
  nn::SafetensorsMetadata identity = metadata;
  identity["batch_size"] = std::to_string(o.batch_size);

  manual_seed(o.seed);  // the weights, then every draw of the loss
  UNet net(o.model);
  if (set != nullptr && !set->initial_weights.empty()) net.load_state_dict(set->initial_weights);
  optim::Adam optimizer(net.named_parameters(), optim::AdamOptions(o.lr));
  optim::ExponentialMovingAverage ema(net.named_parameters(), o.ema_decay);
  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, net, optimizer, ema, identity);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  UNetTrainingResult result;
  const auto started = std::chrono::steady_clock::now();
  std::int64_t samples = 0;
  net.train();
  for (; pos.epoch < o.epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_loss_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("{} epoch {}/{}", label, pos.epoch + 1, o.epochs), loader.num_batches(), 50,
                          o.quiet ? nullptr : stderr);
    for (const nn::Example& batch : loader) {
      UNetBatch b{.labels = o.model.num_classes > 0 ? batch.target : Tensor()};
      if (set == nullptr) {
        b.images = batch.input * 2.0 - 1.0;  // pixels to [-1, 1]
      } else {
        const std::int64_t channels = o.model.in_channels;
        b.images = batch.input.narrow(1, 0, channels);
        if (paired) b.noise = batch.input.narrow(1, channels, channels);
      }
      const Tensor& x0 = b.images;
      const Tensor loss = loss_of(net, b, default_generator());
      optimizer.zero_grad();
      loss.backward();
      if (o.clip_grad_norm > 0) optim::clip_grad_norm_(net.named_parameters(), o.clip_grad_norm);
      optimizer.step();
      ema.update();

      const double value = loss.item();
      pos.epoch_loss_sum += value;
      ++pos.next_batch;
      ++pos.step;
      samples += x0.size(0);
      progress.update(pos.next_batch, x0.size(0), fmt::format("loss {:.4f}", value));
      if (o.stop_after > 0 && pos.step >= o.stop_after) {
        save(checkpoint_path, net, optimizer, ema, pos, identity);
        result.steps = pos.step;
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        save(checkpoint_path, net, optimizer, ema, pos, identity);
    }
    progress.finish();
    result.train_loss = pos.epoch_loss_sum / static_cast<double>(loader.num_batches());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.write({{"epoch", pos.epoch + 1}, {"step", pos.step}, {"train_loss", result.train_loss},
                   {"seconds", seconds}, {"samples_per_second", seconds > 0 ? samples / seconds : 0.0}});
    if (!o.quiet) fmt::print(stderr, "epoch {}/{}: train loss {:.4f}\n", pos.epoch + 1, o.epochs, result.train_loss);
    Position next = pos;
    ++next.epoch;
    next.next_batch = 0;
    next.epoch_loss_sum = 0;
    save(checkpoint_path, net, optimizer, ema, next, identity);
  }
  nn::save_safetensors(out / "model.safetensors", ema.averaged(), metadata);  // sample with the average
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = result.seconds > 0 ? samples / result.seconds : 0.0;
  result.epochs = o.epochs;
  result.steps = pos.step;
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
