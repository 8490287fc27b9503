/// @file train.cpp
/// @brief The classifier's training loop: shuffle, forward, cross-entropy, backward,
/// optimizer step, cosine learning rate; evaluation, metrics and checkpoints per epoch.

#include "models/classifier/train.h"

#include <filesystem>

#include "autograd/ops.h"
#include "models/classifier/model.h"
#include "models/common/make_optimizer.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/optim.h"

namespace zoo::models {
namespace fs = std::filesystem;

std::string default_data_dir(const std::string& dataset) {
  if (dataset == "mnist") return "data/mnist";
  if (dataset == "fashion") return "data/fashion-mnist";
  throw Error(fmt::format("unknown dataset '{}' (expected mnist or fashion)", dataset));
}

std::pair<double, double> evaluate_classifier(nn::Module& model, const Tensor& images,
                                              const Tensor& labels, std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double loss_sum = 0;
  std::int64_t correct = 0;
  const std::int64_t n = images.size(0);
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const std::int64_t len = std::min(batch_size, n - start);
    const Tensor x = images.narrow(0, start, len);
    const Tensor y = labels.narrow(0, start, len);
    const Tensor logits = model(x);
    loss_sum += cross_entropy(logits, y, -100, 0.0, Reduction::Sum).item();
    correct += static_cast<std::int64_t>(sum(argmax(logits, 1) == y).item());
  }
  model.train(was_training);
  return {loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

namespace {

/// Where a run is, everything a checkpoint must hold besides the tensors.
struct Position {
  std::int64_t epoch = 0;       // the epoch in progress (0-based)
  std::int64_t next_batch = 0;  // the first batch of that epoch not yet trained on
  std::int64_t step = 0;        // optimizer steps so far
  double epoch_loss_sum = 0;    // sum of this epoch's batch losses so far
};

void save(const fs::path& path, nn::Module& model, const optim::Optimizer& opt,
          const optim::LRScheduler& schedule, const Position& pos, const ClassifierOptions& o) {
  nn::Checkpoint ck;
  ck.model = model.state_dict();
  ck.optimizer = opt.state_dict();
  for (const auto& [name, t] : schedule.state_dict()) ck.optimizer.insert("schedule." + name, t);
  ck.step = pos.step;
  ck.epoch = pos.epoch;
  ck.generators["default"] = default_generator().get_state();
  ck.metadata["model"] = o.model;
  ck.metadata["dataset"] = o.dataset;
  ck.metadata["next_batch"] = std::to_string(pos.next_batch);
  ck.metadata["epoch_loss_sum"] = fmt::format("{:.17g}", pos.epoch_loss_sum);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, nn::Module& model, optim::Optimizer& opt,
                 optim::LRScheduler& schedule, const ClassifierOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  ZOO_CHECK(ck.metadata.count("model") && ck.metadata.at("model") == o.model,
            "resume: '{}' is a checkpoint of model '{}', not '{}'", path.string(),
            ck.metadata.count("model") ? ck.metadata.at("model") : "?", o.model);
  model.load_state_dict(ck.model);
  nn::StateDict optimizer_state, schedule_state;
  for (const auto& [name, t] : ck.optimizer) {
    if (name.rfind("schedule.", 0) == 0) schedule_state.insert(name.substr(9), t);
    else optimizer_state.insert(name, t);
  }
  opt.load_state_dict(optimizer_state);
  schedule.load_state_dict(schedule_state);
  default_generator().set_state(ck.generator_state("default"));
  Position pos;
  pos.epoch = ck.epoch;
  pos.step = ck.step;
  pos.next_batch = ck.metadata_int("next_batch");
  pos.epoch_loss_sum = ck.metadata_double("epoch_loss_sum");
  return pos;
}

}  // namespace

ClassifierResult train_classifier(const ClassifierOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const std::int64_t epochs = o.epochs > 0 ? o.epochs : (o.model == "cnn" ? 6 : 10);
  ZOO_CHECK(o.batch_size > 0, "train: --batch-size must be positive, got {}", o.batch_size);
  ZOO_CHECK(o.lr > 0, "train: --lr must be positive, got {}", o.lr);
  const std::string data_dir = o.data_dir.empty() ? default_data_dir(o.dataset) : o.data_dir;

  // Data: the real IDX files, as tensors (N, 1, 28, 28) in [0, 1] and labels (N). The
  // default folders must hold the full 60000/10000 splits; a folder given with --data
  // may hold fewer (a subset, or the test fixture).
  const std::int64_t expected = o.data_dir.empty() ? -1 : 0;
  const nn::MnistData train = nn::first_examples(nn::load_mnist(data_dir, true, expected), o.train_limit);
  const nn::MnistData test = nn::first_examples(nn::load_mnist(data_dir, false, expected), o.test_limit);
  nn::DataLoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.shuffle = true;
  loader_options.seed = o.seed;
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(train.images, train.labels),
                        loader_options);

  // Model and optimizer; the seed fixes the initial weights and every dropout mask.
  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model = o.make_model ? o.make_model() : make_classifier(o.model);
  auto optimizer = make_optimizer(o.optimizer, model->named_parameters(), o.lr);
  const std::int64_t total_steps = epochs * loader.num_batches();
  optim::CosineAnnealingLR schedule(*optimizer, total_steps);

  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, *model, *optimizer, schedule, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  ClassifierResult result;
  const auto started = std::chrono::steady_clock::now();
  std::int64_t samples = 0;
  model->train();
  for (; pos.epoch < epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_loss_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("{} epoch {}/{}", o.model, pos.epoch + 1, epochs),
                          loader.num_batches(), 100, o.quiet ? nullptr : stderr);
    for (const nn::Example& batch : loader) {
      // The step: forward, loss, backward, update.
      const Tensor logits = (*model)(batch.input);
      const Tensor loss = cross_entropy(logits, batch.target);
      optimizer->zero_grad();
      loss.backward();
      if (o.clip_grad_norm > 0) optim::clip_grad_norm_(model->parameters(), o.clip_grad_norm);
      optimizer->step();
      schedule.step();

      const double loss_value = loss.item();
      pos.epoch_loss_sum += loss_value;
      ++pos.next_batch;
      ++pos.step;
      samples += batch.input.size(0);
      progress.update(pos.next_batch, batch.input.size(0),
                      fmt::format("loss {:.4f} lr {:.2e}", loss_value, optimizer->lr()));
      if (o.stop_after > 0 && pos.step >= o.stop_after) {
        save(checkpoint_path, *model, *optimizer, schedule, pos, o);
        result.steps = pos.step;
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        save(checkpoint_path, *model, *optimizer, schedule, pos, o);
    }
    progress.finish();

    const auto [test_loss, test_accuracy] = evaluate_classifier(*model, test.images, test.labels);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.train_loss = pos.epoch_loss_sum / static_cast<double>(loader.num_batches());
    result.test_loss = test_loss;
    result.test_accuracy = test_accuracy;
    metrics.write({{"epoch", pos.epoch + 1}, {"step", pos.step}, {"train_loss", result.train_loss},
                   {"test_loss", test_loss}, {"test_accuracy", test_accuracy},
                   {"lr", optimizer->lr()}, {"seconds", seconds},
                   {"samples_per_second", seconds > 0 ? samples / seconds : 0.0}});
    if (!o.quiet)
      fmt::print(stderr, "epoch {}/{}: train loss {:.4f}, test loss {:.4f}, test accuracy {:.2f}%\n",
                 pos.epoch + 1, epochs, result.train_loss, test_loss, 100 * test_accuracy);
    Position next = pos;
    ++next.epoch;
    next.next_batch = 0;
    next.epoch_loss_sum = 0;
    save(checkpoint_path, *model, *optimizer, schedule, next, o);
  }
  nn::save_safetensors(out / "model.safetensors", model->state_dict(),
                       {{"model", o.model}, {"dataset", o.dataset}});
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = result.seconds > 0 ? samples / result.seconds : 0.0;
  result.epochs = epochs;
  result.steps = pos.step;
  result.finished = true;
  return result;
}

}  // namespace zoo::models
