/// @file train.cpp
/// @brief DDPM's training loop: the simple loss with label dropout, Adam with gradient
/// clipping, EMA weights; metrics, checkpoints and resume.

#include "models/ddpm/train.h"

#include <chrono>
#include <filesystem>

#include "autograd/ops.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/ddpm/process.h"
#include "models/unet/config_io.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/optim/optim.h"

namespace zoo::models {
namespace fs = std::filesystem;

Tensor ddpm_loss(UNet& net, const NoiseSchedule& schedule, const Tensor& x0, const Tensor& labels,
                 double label_dropout, Generator& gen) {
  const std::int64_t n = x0.size(0);
  const Tensor t = randint(1, schedule.steps + 1, {n}, kInt64, gen);  // a step per image
  const Tensor noise = randn(x0.shape(), x0.dtype(), gen);
  Tensor y = labels;
  if (labels.defined() && label_dropout > 0)  // "no class" with probability label_dropout
    y = where(lt(rand({n}, kFloat32, gen), full({n}, label_dropout)),
              full({n}, static_cast<double>(net.config.num_classes), kInt64), labels);
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

/// Where a run is, besides the tensors.
struct Position {
  std::int64_t epoch = 0, next_batch = 0, step = 0;
  double epoch_loss_sum = 0;
};

void save(const fs::path& path, UNet& net, const optim::Optimizer& optimizer,
          const optim::ExponentialMovingAverage& ema, const Position& pos, const DdpmOptions& o) {
  nn::Checkpoint ck;
  ck.model = net.state_dict();
  ck.optimizer = optimizer.state_dict();
  for (const auto& [name, t] : ema.state_dict()) ck.extra.insert("ema." + name, t);
  ck.step = pos.step;
  ck.epoch = pos.epoch;
  ck.generators["default"] = default_generator().get_state();
  ck.metadata = model_metadata(o);
  ck.metadata["batch_size"] = std::to_string(o.batch_size);
  ck.metadata["next_batch"] = std::to_string(pos.next_batch);
  ck.metadata["epoch_loss_sum"] = fmt::format("{:.17g}", pos.epoch_loss_sum);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, UNet& net, optim::Optimizer& optimizer, optim::ExponentialMovingAverage& ema,
                 const DdpmOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  auto expected = model_metadata(o);
  expected["batch_size"] = std::to_string(o.batch_size);
  for (const auto& [key, value] : expected) {
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
  default_generator().set_state(ck.generators.at("default"));
  return {ck.epoch, std::stoll(ck.metadata.at("next_batch")), ck.step, std::stod(ck.metadata.at("epoch_loss_sum"))};
}

}  // namespace

DdpmResult train_ddpm(const DdpmOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.epochs > 0 && o.batch_size > 0 && o.lr > 0, "train ddpm: --epochs, --batch-size and --lr must be positive");
  ZOO_CHECK(o.label_dropout >= 0 && o.label_dropout < 1, "train ddpm: --label-dropout must be in [0, 1), got {}",
            o.label_dropout);
  const NoiseSchedule schedule = NoiseSchedule::by_name(o.schedule, o.diffusion_steps);
  const std::int64_t expected = o.data_dir == "data/mnist" ? -1 : 0;
  const nn::MnistData train = nn::first_examples(nn::load_mnist(o.data_dir, true, expected), o.train_limit);
  nn::DataLoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.seed = o.seed;
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(train.images, train.labels), loader_options);

  manual_seed(o.seed);  // the weights, then every t, ε and label drop
  UNet net(o.model);
  optim::Adam optimizer(net.named_parameters(), optim::AdamOptions(o.lr));
  optim::ExponentialMovingAverage ema(net.named_parameters(), o.ema_decay);
  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, net, optimizer, ema, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  DdpmResult result;
  const auto started = std::chrono::steady_clock::now();
  std::int64_t samples = 0;
  net.train();
  for (; pos.epoch < o.epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_loss_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("ddpm epoch {}/{}", pos.epoch + 1, o.epochs), loader.num_batches(), 50,
                          o.quiet ? nullptr : stderr);
    for (const nn::Example& batch : loader) {
      const Tensor x0 = batch.input * 2.0 - 1.0;  // pixels to [-1, 1]
      const Tensor labels = o.model.num_classes > 0 ? batch.target : Tensor();
      const Tensor loss = ddpm_loss(net, schedule, x0, labels, o.label_dropout, default_generator());
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
        save(checkpoint_path, net, optimizer, ema, pos, o);
        result.steps = pos.step;
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        save(checkpoint_path, net, optimizer, ema, pos, o);
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
    save(checkpoint_path, net, optimizer, ema, next, o);
  }
  nn::save_safetensors(out / "model.safetensors", ema.averaged(), model_metadata(o));  // sample with the average
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = result.seconds > 0 ? samples / result.seconds : 0.0;
  result.epochs = o.epochs;
  result.steps = pos.step;
  result.finished = true;
  return result;
}

std::pair<std::shared_ptr<UNet>, NoiseSchedule> load_ddpm(const std::string& path) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: sample with its EMA weights
    const nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = nn::StateDict();
    for (const auto& [name, t] : ck.extra)
      if (name.rfind("ema.", 0) == 0) file.tensors.insert(name.substr(4), t);
  }
  const auto get = [&](const char* key) {
    const auto it = file.metadata.find(key);
    ZOO_CHECK(it != file.metadata.end(), "ddpm: '{}' has no '{}' in its metadata (not written by zoo train ddpm?)",
              path, key);
    return it->second;
  };
  ZOO_CHECK(get("model") == "ddpm", "ddpm: '{}' holds a '{}' model, not ddpm", path, get("model"));
  auto net = std::make_shared<UNet>(unet_config_from(file.metadata, path));
  net->load_state_dict(file.tensors);
  return {net, NoiseSchedule::by_name(get("schedule"), std::stoll(get("diffusion_steps")))};
}

}  // namespace zoo::models
