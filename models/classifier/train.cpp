/// @file train.cpp
/// @brief The classifier's training loop: shuffle, forward, cross-entropy, backward,
/// optimizer step, cosine learning rate; evaluation, metrics and checkpoints per epoch.

#include "models/classifier/train.h"

#include <array>
#include <filesystem>

#include "autograd/ops.h"
#include "models/classifier/model.h"
#include "models/common/make_optimizer.h"
#include "models/common/training_loop.h"
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
  const auto dataset = std::make_shared<nn::TensorDataset>(train.images, train.labels);
  const int processes = o.communicator != nullptr ? o.communicator->size() : 1;
  const std::int64_t steps_per_epoch = (dataset->size() + o.batch_size * processes - 1) / (o.batch_size * processes);

  // Model and optimizer; the seed fixes the initial weights and every dropout mask.
  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model = o.make_model ? o.make_model()
                                      : o.dropout >= 0 ? make_classifier(o.model, o.dropout)
                                                       : make_classifier(o.model);
  auto optimizer = make_optimizer(o.optimizer, model->named_parameters(), o.lr);
  optim::CosineAnnealingLR schedule(*optimizer, epochs * steps_per_epoch);

  TrainingLoopOptions loop{.label = o.model, .epochs = epochs, .log_every = 100, .out = o.out, .resume = o.resume,
                           .save_every = o.save_every, .stop_after = o.stop_after, .quiet = o.quiet, .seed = o.seed,
                           .identity = {{"model", o.model}, {"dataset", o.dataset}},
                           .communicator = o.communicator, .bucket_bytes = o.bucket_bytes};
  ClassifierResult result;
  TrainingHooks hooks;
  hooks.loss = [&](const nn::Example& batch) { return cross_entropy((*model)(batch.input), batch.target); };
  hooks.before_step = [&] {
    if (o.clip_grad_norm > 0) optim::clip_grad_norm_(model->parameters(), o.clip_grad_norm);
  };
  hooks.after_step = [&] { schedule.step(); };
  hooks.progress_fields = [&](double loss) { return fmt::format("loss {:.4f} lr {:.2e}", loss, optimizer->lr()); };
  // The schedule's state goes into the checkpoint's extra tensors, as "schedule.NAME".
  hooks.save_state = [&](nn::Checkpoint& ck) {
    for (const auto& [name, t] : schedule.state_dict()) ck.extra.insert("schedule." + name, t);
  };
  hooks.restore_state = [&](const nn::Checkpoint& ck) {
    nn::StateDict schedule_state;
    for (const auto& [name, t] : ck.extra)
      if (name.rfind("schedule.", 0) == 0) schedule_state.insert(name.substr(9), t);
    schedule.load_state_dict(schedule_state);
  };
  hooks.end_epoch = [&](const EpochSummary& epoch) {
    // Each process evaluates its share of the test images; the sums are added up.
    const auto [begin, end] = split_evenly(test.images.size(0), epoch.communicator->rank(),
                                           epoch.communicator->size());
    std::array<double, 3> sums{0, 0, static_cast<double>(end - begin)};  // loss sum, correct, images
    if (end > begin) {
      const auto [loss, accuracy] = evaluate_classifier(*model, test.images.narrow(0, begin, end - begin),
                                                        test.labels.narrow(0, begin, end - begin));
      sums = {loss * sums[2], accuracy * sums[2], sums[2]};
    }
    epoch.communicator->all_reduce_sum(sums);
    result.test_loss = sums[0] / sums[2];
    result.test_accuracy = sums[1] / sums[2];
    result.train_loss = epoch.mean_loss;
    return EpochReport{
        .fields = {{"train_loss", epoch.mean_loss}, {"test_loss", result.test_loss},
                   {"test_accuracy", result.test_accuracy}, {"lr", optimizer->lr()}},
        .line = fmt::format("epoch {}/{}: train loss {:.4f}, test loss {:.4f}, test accuracy {:.2f}%", epoch.epoch,
                            epochs, epoch.mean_loss, result.test_loss, 100 * result.test_accuracy)};
  };
  const TrainingLoopResult run = run_training_loop(loop, *model, *optimizer, dataset, loader_options, hooks);
  result.steps = run.steps;
  result.seconds = run.seconds;
  result.samples_per_second = run.samples_per_second;
  result.communication_seconds_per_step =
      run.steps_this_run > 0 ? run.communication_seconds / static_cast<double>(run.steps_this_run) : 0.0;
  if (!run.finished) return result;  // stopped by stop_after: the checkpoint holds everything
  if (loop.communicator == nullptr || loop.communicator->is_main())
    nn::save_safetensors(fs::path(o.out) / "model.safetensors", model->state_dict(),
                         {{"model", o.model}, {"dataset", o.dataset}});
  result.epochs = epochs;
  result.finished = true;
  return result;
}

}  // namespace zoo::models
