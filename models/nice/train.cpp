/// @file train.cpp
/// @brief NICE's training loop: dequantise, log-likelihood, backward, Adam; the test
/// log-likelihood, samples and a checkpoint after every epoch; loading a trained model.

#include "models/nice/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include "autograd/ops.h"
#include "models/common/image_grid.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/io/metadata_values.h"
#include "nn/io/safetensors.h"
#include "nn/optim/adam.h"

namespace zoo::models {
namespace fs = std::filesystem;

Tensor dequantize(const Tensor& images, Generator& gen) {
  ZOO_CHECK(images.dim() >= 2 && images.is_floating_point(),
            "nice dequantize: expected floating images (N, ...) with values k/255, got shape {} ({})",
            images.shape(), dtype_name(images.dtype()));
  const Tensor flat = images.reshape({images.size(0), -1});  // (N, D)
  const Tensor u = rand(flat.shape(), flat.dtype(), gen);    // U[0, 1)
  return (flat * 255.0 + u) / 256.0;                          // (k + u) / 256
}

double bits_per_dim(double log_likelihood, std::int64_t dim) {
  ZOO_CHECK(dim > 0, "nice bits_per_dim: the dimension must be positive, got {}", dim);
  return (-log_likelihood / static_cast<double>(dim) + std::log(256.0)) / std::numbers::ln2;
}

NiceScore evaluate_nice(Nice& model, const Tensor& images, std::int64_t batch_size) {
  ZOO_CHECK(images.dim() >= 1 && images.size(0) > 0, "evaluate_nice: no images to score");
  ZOO_CHECK(batch_size > 0, "evaluate_nice: the batch size must be positive, got {}", batch_size);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Generator noise(0);  // the same dequantised test points every time
  double total = 0;
  const std::int64_t n = images.size(0);
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const std::int64_t len = std::min(batch_size, n - start);
    const Tensor x = dequantize(images.narrow(0, start, len), noise);
    total += sum(model.log_prob(x.to(model.scaling->log_scale.dtype()))).item();
  }
  model.train(was_training);
  const double ll = total / static_cast<double>(n);
  return {ll, bits_per_dim(ll, model.config.dim)};
}

namespace {

/// The model sizes as file metadata: what `load_nice` reads back.
nn::SafetensorsMetadata size_metadata(const NiceConfig& c) {
  return {{"model", "nice"},
          {"dim", std::to_string(c.dim)},
          {"coupling_layers", std::to_string(c.coupling_layers)},
          {"hidden_size", std::to_string(c.hidden_size)},
          {"hidden_layers", std::to_string(c.hidden_layers)},
          {"prior", c.prior}};
}

/// The options a checkpoint must agree with to be continued: anything else would not be
/// the same run.
std::map<std::string, std::string> run_identity(const NiceOptions& o) {
  return {{"batch_size", std::to_string(o.batch_size)}, {"lr", fmt::format("{}", o.lr)},
          {"beta1", fmt::format("{}", o.beta1)},         {"beta2", fmt::format("{}", o.beta2)},
          {"eps", fmt::format("{}", o.eps)},             {"seed", std::to_string(o.seed)},
          {"train_limit", std::to_string(o.train_limit)}};
}

/// Where a run is, everything a checkpoint holds besides the weights and Adam's moments.
struct Position {
  std::int64_t epoch = 0;       // the epoch in progress (0-based)
  std::int64_t next_batch = 0;  // the first batch of that epoch not yet trained on
  std::int64_t step = 0;        // optimizer steps so far
  double epoch_ll_sum = 0;      // sum of this epoch's batch log-likelihoods so far
  double seconds = 0;           // training time so far
};

void save(const fs::path& path, Nice& model, const optim::Optimizer& optimizer, const Generator& noise,
          const Position& pos, const NiceOptions& o) {
  nn::Checkpoint ck;
  ck.model = model.state_dict();
  ck.optimizer = optimizer.state_dict();
  ck.step = pos.step;
  ck.epoch = pos.epoch;
  ck.generators["noise"] = noise.get_state();
  for (const auto& [key, value] : size_metadata(model.config)) ck.metadata[key] = value;
  for (const auto& [key, value] : run_identity(o)) ck.metadata[key] = value;
  ck.metadata["next_batch"] = std::to_string(pos.next_batch);
  ck.metadata["epoch_ll_sum"] = fmt::format("{:.17g}", pos.epoch_ll_sum);
  ck.metadata["seconds"] = fmt::format("{:.17g}", pos.seconds);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, Nice& model, optim::Optimizer& optimizer, Generator& noise,
                 const NiceOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  const auto get = [&](const std::string& key) {
    const auto it = ck.metadata.find(key);
    ZOO_CHECK(it != ck.metadata.end(), "resume: '{}' has no '{}' (not a nice checkpoint?)", path.string(), key);
    return it->second;
  };
  ZOO_CHECK(get("model") == "nice", "resume: '{}' is a checkpoint of '{}', not nice", path.string(), get("model"));
  auto expected = size_metadata(o.model);
  for (const auto& [key, value] : run_identity(o)) expected[key] = value;
  for (const auto& [key, value] : expected)
    ZOO_CHECK(get(key) == value, "resume: '{}' was saved with {} = {}, this run asks for {}", path.string(), key,
              get(key), value);
  model.load_state_dict(ck.model);
  optimizer.load_state_dict(ck.optimizer);
  noise.set_state(ck.generator_state("noise"));
  Position pos;
  pos.epoch = ck.epoch;
  pos.step = ck.step;
  pos.next_batch = ck.metadata_int("next_batch");
  pos.epoch_ll_sum = ck.metadata_double("epoch_ll_sum");
  pos.seconds = ck.metadata_double("seconds");
  return pos;
}

/// 64 samples at `temperature` from a generator seeded with `seed`, as a PNG grid.
void write_samples(Nice& model, const fs::path& path, double temperature, std::uint64_t seed) {
  Generator gen(seed);
  const Tensor x = model.sample(64, temperature, gen);  // (64, 784)
  save_image_grid(path, clamp(x, 0.0, 1.0).reshape({64, 1, 28, 28}));
}

}  // namespace

NiceResult train_nice(const NiceOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.epochs > 0 && o.batch_size > 0, "train nice: --epochs and --batch-size must be positive, got {} and {}",
            o.epochs, o.batch_size);
  ZOO_CHECK(o.lr > 0 && o.save_every >= 0, "train nice: --lr must be positive and --save-every not negative");
  ZOO_CHECK(o.model.dim == 784, "train nice: MNIST images have 784 pixels, the model was given dim = {}", o.model.dim);

  // Data: the real IDX files, images (N, 1, 28, 28) with values k/255. The default folder
  // must hold the full splits; a folder given with --data may hold fewer (the fixture).
  const std::int64_t expected = o.data_dir == "data/mnist" ? -1 : 0;
  const nn::MnistData train = nn::first_examples(nn::load_mnist(o.data_dir, true, expected), o.train_limit);
  const nn::MnistData test = nn::first_examples(nn::load_mnist(o.data_dir, false, expected), o.test_limit);
  nn::DataLoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.shuffle = true;
  loader_options.seed = o.seed;
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(train.images, train.labels), loader_options);

  // Model, optimizer and the dequantisation noise's own generator.
  manual_seed(o.seed);
  Nice model(o.model);
  optim::Adam optimizer(model.named_parameters(),
                        optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps));
  Generator noise(o.seed);

  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, model, optimizer, noise, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  NiceResult result;
  bool evaluated = false;  // by this process
  auto started = std::chrono::steady_clock::now();
  const auto seconds_now = [&] {
    return pos.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto checkpoint = [&](const Position& at) {
    Position saved = at;
    saved.seconds = seconds_now();
    save(checkpoint_path, model, optimizer, noise, saved, o);
  };
  std::int64_t trained_images = 0;  // by this process, for the throughput
  model.train();
  for (; pos.epoch < o.epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_ll_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("nice epoch {}/{}", pos.epoch + 1, o.epochs), loader.num_batches(), 50,
                          o.quiet ? nullptr : stderr);
    for (const nn::Example& batch : loader) {
      // The step: maximise the mean log-likelihood, i.e. minimise its negative.
      const Tensor x = dequantize(batch.input, noise);  // (B, 784) in [0, 1)
      const Tensor log_likelihood = mean(model.log_prob(x));
      const Tensor loss = neg(log_likelihood);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();

      const double ll = log_likelihood.item();
      pos.epoch_ll_sum += ll;
      ++pos.next_batch;
      ++pos.step;
      trained_images += x.size(0);
      progress.update(pos.next_batch, x.size(0),
                      fmt::format("log p(x) {:.1f} nats, {:.3f} bits/dim", ll, bits_per_dim(ll, 784)));
      if (o.stop_after > 0 && pos.step >= o.stop_after) {
        checkpoint(pos);
        result.steps = pos.step;
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        checkpoint(pos);
    }
    progress.finish();

    const NiceScore score = evaluate_nice(model, test.images);
    result.train_log_likelihood = pos.epoch_ll_sum / static_cast<double>(loader.num_batches());
    result.test_log_likelihood = score.log_likelihood;
    result.test_bits_per_dim = score.bits_per_dim;
    evaluated = true;
    const double seconds = seconds_now();
    metrics.write({{"epoch", pos.epoch + 1},
                   {"step", pos.step},
                   {"train_log_likelihood", result.train_log_likelihood},
                   {"test_log_likelihood", score.log_likelihood},
                   {"test_bits_per_dim", score.bits_per_dim},
                   {"seconds", seconds}});
    if (!o.quiet)
      fmt::print(stderr, "epoch {}/{}: train log p(x) {:.2f}, test log p(x) {:.2f} nats ({:.4f} bits/dim)\n",
                 pos.epoch + 1, o.epochs, result.train_log_likelihood, score.log_likelihood, score.bits_per_dim);
    write_samples(model, out / "samples.png", o.temperature, o.seed);
    Position next = pos;
    ++next.epoch;
    next.next_batch = 0;
    next.epoch_ll_sum = 0;
    checkpoint(next);
  }
  pos.seconds = seconds_now();
  if (!evaluated) {  // resumed from a run that had already ended
    const NiceScore score = evaluate_nice(model, test.images);
    result.test_log_likelihood = score.log_likelihood;
    result.test_bits_per_dim = score.bits_per_dim;
    result.train_log_likelihood = std::nan("");
  }
  nn::save_safetensors(out / "model.safetensors", model.state_dict(), size_metadata(model.config));
  result.epochs = o.epochs;
  result.steps = pos.step;
  result.seconds = pos.seconds;
  const double this_run = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = this_run > 0 ? static_cast<double>(trained_images) / this_run : 0.0;
  result.finished = true;
  return result;
}

std::shared_ptr<Nice> load_nice(const std::string& path) {
  ZOO_CHECK(fs::exists(path), "nice: no model file at '{}' (train one with zoo train nice)", path);
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: its weights are its model.* tensors
    nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = std::move(ck.model);
  }
  const auto it = file.metadata.find("model");
  ZOO_CHECK(it != file.metadata.end() && it->second == "nice", "nice: '{}' is not a NICE model (its metadata says "
            "model = '{}')", path, it == file.metadata.end() ? "" : it->second);
  const auto integer = [&](const char* key) { return nn::metadata_int(file.metadata, key, path); };
  NiceConfig config;
  config.dim = integer("dim");
  config.coupling_layers = integer("coupling_layers");
  config.hidden_size = integer("hidden_size");
  config.hidden_layers = integer("hidden_layers");
  config.prior = nn::metadata_text(file.metadata, "prior", path);
  auto model = std::make_shared<Nice>(config);
  model->load_state_dict(file.tensors);
  return model;
}

}  // namespace zoo::models
