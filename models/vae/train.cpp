/// @file train.cpp
/// @brief The VAE's training loop: dynamic binarisation, one-sample ELBO, Adam;
/// evaluation, metrics, checkpoints and pictures per epoch.

#include "models/vae/train.h"

#include <filesystem>

#include "autograd/ops.h"
#include "models/common/make_optimizer.h"
#include "models/common/training_loop.h"
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
  const auto dataset = std::make_shared<nn::TensorDataset>(train, zeros({train.size(0)}, kInt64));

  manual_seed(o.seed);  // the weights, then every binarisation and every z
  Vae model(o.model);
  auto optimizer = make_optimizer(o.optimizer, model.named_parameters(), o.lr);
  nn::SafetensorsMetadata identity = model_metadata(o);
  identity["batch_size"] = std::to_string(o.batch_size);
  const TrainingLoopOptions loop{.label = "vae", .epochs = o.epochs, .log_every = 100, .out = o.out,
                                 .resume = o.resume, .save_every = o.save_every, .stop_after = o.stop_after,
                                 .quiet = o.quiet, .seed = o.seed, .identity = identity,
                                 .communicator = o.communicator, .bucket_bytes = o.bucket_bytes};
  const bool main = o.communicator == nullptr || o.communicator->is_main();

  VaeResult result;
  bool evaluated = false;
  TrainingHooks hooks;
  // The step: binarise, encode, sample z, decode; maximise the mean ELBO, i.e. minimise
  // its negative. The progress line and the metrics show the ELBO itself.
  hooks.loss = [&](const nn::Example& batch) {
    const Tensor x = dynamic ? binarize(batch.input, default_generator()) : batch.input;
    return neg(mean(elbo_parts(model, x, default_generator()).elbo()));
  };
  hooks.progress_fields = [](double loss) { return fmt::format("elbo {:.2f}", -loss); };
  hooks.end_epoch = [&](const EpochSummary& epoch) {
    // Process 0 evaluates (one pass of the test set with its fixed seed, so the figure
    // is the same however many processes trained); the others wait for the next step.
    result.train_elbo = -epoch.mean_loss;
    if (!main) return EpochReport{};
    result.test = evaluate_vae(model, test);
    evaluated = true;
    return EpochReport{
        .fields = {{"train_elbo", result.train_elbo}, {"test_elbo", result.test.elbo},
                   {"test_log_likelihood", result.test.log_likelihood}, {"test_kl", result.test.kl}},
        .line = fmt::format("epoch {}/{}: train ELBO {:.2f}, test ELBO {:.2f} (log p(x|z) {:.2f}, KL {:.2f}) nats",
                            epoch.epoch, o.epochs, result.train_elbo, result.test.elbo,
                            result.test.log_likelihood, result.test.kl)};
  };
  const TrainingLoopResult run = run_training_loop(loop, model, *optimizer, dataset, loader_options, hooks);
  result.steps = run.steps;
  if (!run.finished) return result;  // "interrupted": the checkpoint holds everything
  result.seconds = run.seconds;
  result.samples_per_second = run.samples_per_second;
  result.epochs = o.epochs;
  result.finished = true;
  if (!main) return result;
  if (!evaluated) result.test = evaluate_vae(model, test);  // resumed from a run that had already ended
  const fs::path out(o.out);
  nn::save_safetensors(out / "model.safetensors", model.state_dict(), model_metadata(o));
  if (o.pictures) {
    Generator gen(o.seed);
    save_samples(out / "samples.png", model, 64, gen);
    save_reconstructions(out / "reconstructions.png", model, test);
    if (o.model.latent_dim == 2) save_manifold(out / "manifold.png", model);
  }
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
