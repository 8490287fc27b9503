/// @file training_loop.cpp
/// @brief The shared training loop: batches, steps, checkpoints, resume, and the
/// data-parallel steps (broadcast, sharded batches, bucketed gradient all-reduce).

#include "models/common/training_loop.h"

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "autograd/generator.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"

namespace zoo::models {
namespace fs = std::filesystem;

std::pair<std::int64_t, std::int64_t> split_evenly(std::int64_t n, int rank, int size) {
  return {n * rank / size, n * (rank + 1) / size};
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The checkpoint name of process `rank`'s generator: "default" for process 0 (so a
/// one-process checkpoint reads as before), "default.rankR" for the others.
std::string generator_name(int rank) { return rank == 0 ? "default" : fmt::format("default.rank{}", rank); }

/// Process r > 0 draws its dropout masks, noise and binarisations from a stream of its
/// own, seeded from (seed, r); were all processes to share process 0's stream, they
/// would draw the same masks for different examples. Process 0 keeps the run's stream,
/// so a one-process run is the same whether or not it is "distributed".
void seed_this_process(std::uint64_t seed, int rank) {
  if (rank > 0) manual_seed(seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(rank)));
}

/// Everything the loop needs to write a checkpoint.
struct Saver {
  fs::path path;
  nn::Module& model;
  optim::Optimizer& optimizer;
  const TrainingLoopOptions& options;
  const TrainingHooks& hooks;
  nn::Communicator& comm;

  /// Collective: process 0 gathers every process's generator and writes the file.
  void save(const TrainingPosition& pos) const {
    const std::vector<std::string> generators = comm.gather(default_generator().get_state(), 0);
    if (!comm.is_main()) return;
    nn::Checkpoint ck;
    ck.model = model.state_dict();
    ck.optimizer = optimizer.state_dict();
    ck.step = pos.step;
    ck.epoch = pos.epoch;
    for (std::size_t r = 0; r < generators.size(); ++r) ck.generators[generator_name(static_cast<int>(r))] = generators[r];
    ck.metadata = options.identity;
    ck.metadata["world_size"] = std::to_string(comm.size());
    ck.metadata["next_batch"] = std::to_string(pos.next_batch);
    ck.metadata["epoch_loss_sum"] = fmt::format("{:.17g}", pos.epoch_loss_sum);
    if (hooks.save_state) hooks.save_state(ck);
    nn::save_checkpoint(path, ck);
  }

  /// Every process reads the same file (on several machines: a shared folder).
  TrainingPosition restore() const {
    ZOO_CHECK(fs::exists(path), "resume: no checkpoint at '{}'", path.string());
    const nn::Checkpoint ck = nn::load_checkpoint(path);
    nn::SafetensorsMetadata expected = options.identity;
    expected["world_size"] = std::to_string(comm.size());
    for (const auto& [key, value] : expected) {
      const auto it = ck.metadata.find(key);
      // Checkpoints from before data parallelism have no world_size: one process.
      const std::string saved = it != ck.metadata.end() ? it->second : key == "world_size" ? "1" : "(nothing)";
      ZOO_CHECK(saved == value, "resume: '{}' was saved with {} = {}, this run asks for {}", path.string(), key, saved,
                value);
    }
    model.load_state_dict(ck.model);
    optimizer.load_state_dict(ck.optimizer);
    if (hooks.restore_state) hooks.restore_state(ck);
    default_generator().set_state(ck.generator_state(generator_name(comm.rank())));
    return {ck.epoch, ck.metadata_int("next_batch"), ck.step, ck.metadata_double("epoch_loss_sum")};
  }
};

/// Collective: stops the run, on every process, if the processes' weights are no longer
/// identical, which would mean they took different steps (a bug, or an all-reduce whose
/// result is not the same everywhere). Each compares its fingerprint with process 0's.
void check_in_step(nn::Communicator& comm, const nn::GradientBuckets& buckets, std::int64_t step) {
  const std::uint64_t mine = buckets.fingerprint();
  std::uint64_t main = mine;
  comm.broadcast(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&main), sizeof main), 0);
  std::array<double, 1> drifted{mine == main ? 0.0 : 1.0};
  comm.all_reduce_sum(drifted);
  ZOO_CHECK(drifted[0] == 0, "distributed: after step {} the weights of {} of {} processes differ from process 0's "
            "(this one's fingerprint {:016x}, process 0's {:016x}): the processes are out of step", step,
            drifted[0], comm.size(), mine, main);
}

}  // namespace

TrainingLoopResult run_training_loop(const TrainingLoopOptions& o, nn::Module& model, optim::Optimizer& optimizer,
                                     std::shared_ptr<const nn::Dataset> data, nn::DataLoaderOptions loader_options,
                                     const TrainingHooks& hooks) {
  ZOO_CHECK(static_cast<bool>(hooks.loss), "training loop '{}': no loss hook", o.label);
  ZOO_CHECK(o.epochs > 0, "train {}: --epochs must be positive, got {}", o.label, o.epochs);
  nn::SingleProcess one_process;
  nn::Communicator& comm = o.communicator != nullptr ? *o.communicator : one_process;
  const int processes = comm.size();
  seed_this_process(o.seed, comm.rank());

  // This process's part of every batch.
  loader_options.num_replicas = processes;
  loader_options.rank = comm.rank();
  nn::DataLoader loader(std::move(data), loader_options);
  ZOO_CHECK(loader.num_batches() > 0, "train {}: no batch to train on ({} examples, {} per step)", o.label,
            loader.dataset().size(), loader_options.batch_size * processes);
  nn::GradientBuckets buckets(model.parameters(), o.bucket_bytes);

  const fs::path out(o.out);
  fs::create_directories(out);
  const Saver saver{out / "checkpoint.safetensors", model, optimizer, o, hooks, comm};
  TrainingPosition pos;
  if (o.resume) pos = saver.restore();
  if (processes > 1) buckets.broadcast_parameters(comm);  // everyone starts from process 0's weights
  std::optional<MetricsWriter> metrics;
  if (comm.is_main()) metrics.emplace(o.out, o.resume ? std::optional(pos.step) : std::nullopt);
  const bool talk = comm.is_main() && !o.quiet;

  TrainingLoopResult result;
  result.steps = pos.step;
  const auto started = Clock::now();
  std::int64_t samples = 0;
  model.train();
  for (; pos.epoch < o.epochs; ++pos.epoch, pos.next_batch = 0, pos.epoch_loss_sum = 0) {
    loader.set_epoch(pos.epoch, pos.next_batch);
    ProgressLine progress(fmt::format("{} epoch {}/{}", o.label, pos.epoch + 1, o.epochs), loader.num_batches(),
                          o.log_every, talk ? stderr : nullptr);
    for (const nn::Example& batch : loader) {
      // The step. This process's gradient of the mean loss over its n_r examples...
      const std::int64_t batch_size = loader.global_batch_size(pos.next_batch);  // n, all processes
      const std::int64_t part = batch.input.size(0);                             // n_r, this one
      optimizer.zero_grad();
      double loss_value = 0;
      if (part > 0) {  // a short last batch may leave a process nothing
        const Tensor loss = hooks.loss(batch);
        loss.backward();
        loss_value = loss.item();
      }
      // ...becomes the gradient of the mean over all n: g = Σ_r (n_r / n) g_r.
      if (processes > 1) {
        const auto before = Clock::now();
        const double share = static_cast<double>(part) / static_cast<double>(batch_size);
        buckets.all_reduce(comm, share);
        std::array<double, 1> mean_loss{share * loss_value};
        comm.all_reduce_sum(mean_loss);
        loss_value = mean_loss[0];
        result.communication_seconds += seconds_since(before);
      }
      if (hooks.before_step) hooks.before_step();
      optimizer.step();
      if (hooks.after_step) hooks.after_step();

      pos.epoch_loss_sum += loss_value;
      ++pos.next_batch;
      ++pos.step;
      ++result.steps_this_run;
      samples += batch_size;
      progress.update(pos.next_batch, batch_size,
                      hooks.progress_fields ? hooks.progress_fields(loss_value) : fmt::format("loss {:.4f}", loss_value));
      if (o.stop_after > 0 && pos.step >= o.stop_after) {
        result.steps = pos.step;
        result.seconds = seconds_since(started);  // the throughput of the steps taken, before the save
        result.samples_per_second = static_cast<double>(samples) / result.seconds;
        saver.save(pos);
        return result;  // "interrupted": the checkpoint holds everything
      }
      if (o.save_every > 0 && pos.step % o.save_every == 0 && pos.next_batch < loader.num_batches())
        saver.save(pos);
    }
    progress.finish();
    if (processes > 1) check_in_step(comm, buckets, pos.step);

    result.train_loss = pos.epoch_loss_sum / static_cast<double>(loader.num_batches());
    EpochReport report;
    if (hooks.end_epoch) report = hooks.end_epoch({pos.epoch + 1, pos.step, result.train_loss, &comm});
    if (talk && !report.line.empty()) fmt::print(stderr, "{}\n", report.line);
    const double seconds = seconds_since(started);
    if (metrics) {
      nlohmann::json record = {{"epoch", pos.epoch + 1}, {"step", pos.step}};
      for (const auto& [key, value] : report.fields) record[key] = value;
      record["seconds"] = seconds;
      record["samples_per_second"] = seconds > 0 ? static_cast<double>(samples) / seconds : 0.0;
      if (processes > 1) {
        record["processes"] = processes;
        record["communication_seconds_per_step"] =
            result.communication_seconds / static_cast<double>(std::max<std::int64_t>(1, result.steps_this_run));
      }
      metrics->write(record);
    }
    TrainingPosition next{pos.epoch + 1, 0, pos.step, 0};
    saver.save(next);
    result.epochs = pos.epoch + 1;
  }
  result.epochs = o.epochs;
  result.steps = pos.step;
  result.seconds = seconds_since(started);
  result.samples_per_second = result.seconds > 0 ? static_cast<double>(samples) / result.seconds : 0.0;
  result.finished = true;
  return result;
}

}  // namespace zoo::models
