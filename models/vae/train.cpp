/// @file train.cpp
/// @brief The VAE's training loop: dynamic binarisation, one-sample ELBO, Adam;
/// evaluation, metrics, checkpoints and pictures per epoch.

#include "models/vae/train.h"

#include <chrono>
#include <filesystem>

#include "autograd/ops.h"
#include "models/common/make_optimizer.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/vae/pictures.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/io/metadata_values.h"
#include "nn/io/safetensors.h"

namespace zoo::models {
namespace fs = std::filesystem;

Tensor binarize(const Tensor& x, Generator& gen) {
  return lt(rand(x.shape(), kFloat32, gen), x).to(kFloat32);  // 1[u < grey]
}

Tensor load_mnist_rows(const std::string& dir, bool train, std::int64_t limit) {
  const nn::MnistData data = nn::load_mnist(dir, train, dir == "data/mnist" ? -1 : 0);
  Tensor rows = data.images.reshape({data.images.size(0), 784});
  if (limit > 0 && limit < rows.size(0)) rows = rows.narrow(0, 0, limit);
  return rows.contiguous();
}

Tensor test_data(const Tensor& grey, const std::string& binarization) {
  if (binarization == "grey") return grey;
  ZOO_CHECK(binarization == "dynamic", "vae: binarization must be 'dynamic' or 'grey', not '{}'", binarization);
  Generator gen(kTestBinarizationSeed);
  return binarize(grey, gen);
}

VaeEvaluation evaluate_vae(Vae& model, const Tensor& x, std::uint64_t seed, std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Generator gen(seed);
  VaeEvaluation sum_of;
  const std::int64_t n = x.size(0);
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const ElboParts parts = elbo_parts(model, x.narrow(0, start, std::min(batch_size, n - start)), gen);
    sum_of.log_likelihood += sum(parts.log_likelihood).item();
    sum_of.kl += sum(parts.kl).item();
  }
  model.train(was_training);
  const double N = static_cast<double>(n);
  return {(sum_of.log_likelihood - sum_of.kl) / N, sum_of.log_likelihood / N, sum_of.kl / N};
}

namespace {

/// The sizes and data of a model as file metadata: what `load_vae` reads back.
nn::SafetensorsMetadata model_metadata(const VaeOptions& o) {
  std::string hidden;
  for (const std::int64_t h : o.model.hidden) {
    if (!hidden.empty()) hidden += ',';
    hidden += std::to_string(h);
  }
  return {{"model", "vae"},
          {"input_dim", std::to_string(o.model.input_dim)},
          {"hidden", hidden},
          {"latent_dim", std::to_string(o.model.latent_dim)},
          {"binarization", o.binarization}};
}

/// Where a run is, everything a checkpoint must hold besides the tensors.
struct Position {
  std::int64_t epoch = 0;       // the epoch in progress (0-based)
  std::int64_t next_batch = 0;  // the first batch of that epoch not yet trained on
  std::int64_t step = 0;        // optimizer steps so far
  double epoch_elbo_sum = 0;    // sum of this epoch's batch ELBOs so far
};

void save(const fs::path& path, Vae& model, const optim::Optimizer& optimizer, const Position& pos,
          const VaeOptions& o) {
  nn::Checkpoint ck;
  ck.model = model.state_dict();
  ck.optimizer = optimizer.state_dict();
  ck.step = pos.step;
  ck.epoch = pos.epoch;
  ck.generators["default"] = default_generator().get_state();
  ck.metadata = model_metadata(o);
  ck.metadata["next_batch"] = std::to_string(pos.next_batch);
  ck.metadata["epoch_elbo_sum"] = fmt::format("{:.17g}", pos.epoch_elbo_sum);
  ck.metadata["batch_size"] = std::to_string(o.batch_size);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, Vae& model, optim::Optimizer& optimizer, const VaeOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  auto expected = model_metadata(o);
  expected["batch_size"] = std::to_string(o.batch_size);
  for (const auto& [key, value] : expected) {
    const auto it = ck.metadata.find(key);
    ZOO_CHECK(it != ck.metadata.end() && it->second == value,
              "resume: '{}' was saved with {} = {}, this run asks for {}", path.string(), key,
              it == ck.metadata.end() ? "(nothing)" : it->second, value);
  }
  model.load_state_dict(ck.model);
  optimizer.load_state_dict(ck.optimizer);
  default_generator().set_state(ck.generator_state("default"));
  Position pos;
  pos.epoch = ck.epoch;
  pos.step = ck.step;
  pos.next_batch = ck.metadata_int("next_batch");
  pos.epoch_elbo_sum = ck.metadata_double("epoch_elbo_sum");
  return pos;
}

}  // namespace

VaeResult train_vae(const VaeOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.epochs > 0 && o.batch_size > 0 && o.lr > 0,
            "train vae: --epochs, --batch-size and --lr must be positive");
  const Tensor train = load_mnist_rows(o.data_dir, true, o.train_limit);
  const Tensor test = test_data(load_mnist_rows(o.data_dir, false, o.test_limit), o.binarization);
  const bool dynamic = o.binarization == "dynamic";
  nn::DataLoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.seed = o.seed;
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(train, zeros({train.size(0)}, kInt64)), loader_options);

  manual_seed(o.seed);  // the weights, then every binarisation and every z
  Vae model(o.model);
  auto optimizer = make_optimizer(o.optimizer, model.named_parameters(), o.lr);
  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, model, *optimizer, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  VaeResult result;
  const auto started = std::chrono::steady_clock::now();
  std::int64_t samples = 0;
  bool evaluated = false;
  model.train();
  for (; pos.epoch < o.epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_elbo_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("vae epoch {}/{}", pos.epoch + 1, o.epochs), loader.num_batches(), 100,
                          o.quiet ? nullptr : stderr);
    for (const nn::Example& batch : loader) {
      // The step: binarise, encode, sample z, decode; maximise the mean ELBO.
      const Tensor x = dynamic ? binarize(batch.input, default_generator()) : batch.input;
      const Tensor elbo = mean(elbo_parts(model, x, default_generator()).elbo());
      const Tensor loss = neg(elbo);
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();

      const double value = elbo.item();
      pos.epoch_elbo_sum += value;
      ++pos.next_batch;
      ++pos.step;
      samples += x.size(0);
      progress.update(pos.next_batch, x.size(0), fmt::format("elbo {:.2f}", value));
      if (o.stop_after > 0 && pos.step >= o.stop_after) {
        save(checkpoint_path, model, *optimizer, pos, o);
        result.steps = pos.step;
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        save(checkpoint_path, model, *optimizer, pos, o);
    }
    progress.finish();

    result.test = evaluate_vae(model, test);
    evaluated = true;
    result.train_elbo = pos.epoch_elbo_sum / static_cast<double>(loader.num_batches());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.write({{"epoch", pos.epoch + 1}, {"step", pos.step}, {"train_elbo", result.train_elbo},
                   {"test_elbo", result.test.elbo}, {"test_log_likelihood", result.test.log_likelihood},
                   {"test_kl", result.test.kl}, {"seconds", seconds},
                   {"samples_per_second", seconds > 0 ? samples / seconds : 0.0}});
    if (!o.quiet)
      fmt::print(stderr, "epoch {}/{}: train ELBO {:.2f}, test ELBO {:.2f} (log p(x|z) {:.2f}, KL {:.2f}) nats\n",
                 pos.epoch + 1, o.epochs, result.train_elbo, result.test.elbo, result.test.log_likelihood,
                 result.test.kl);
    Position next = pos;
    ++next.epoch;
    next.next_batch = 0;
    next.epoch_elbo_sum = 0;
    save(checkpoint_path, model, *optimizer, next, o);
  }
  if (!evaluated) result.test = evaluate_vae(model, test);  // resumed from a run that had already ended
  nn::save_safetensors(out / "model.safetensors", model.state_dict(), model_metadata(o));
  if (o.pictures) {
    Generator gen(o.seed);
    save_samples(out / "samples.png", model, 64, gen);
    save_reconstructions(out / "reconstructions.png", model, test);
    if (o.model.latent_dim == 2) save_manifold(out / "manifold.png", model);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = result.seconds > 0 ? samples / result.seconds : 0.0;
  result.epochs = o.epochs;
  result.steps = pos.step;
  result.finished = true;
  return result;
}

std::shared_ptr<Vae> load_vae(const std::string& path, std::string* binarization) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: its weights are its model.* tensors
    nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = std::move(ck.model);
  }
  VaeConfig config;
  config.input_dim = nn::metadata_int(file.metadata, "input_dim", path);
  config.latent_dim = nn::metadata_int(file.metadata, "latent_dim", path);
  config.hidden = nn::metadata_int_list(file.metadata, "hidden", path);
  if (binarization != nullptr) *binarization = nn::metadata_text(file.metadata, "binarization", path);
  auto model = std::make_shared<Vae>(config);
  model->load_state_dict(file.tensors);
  return model;
}

}  // namespace zoo::models
