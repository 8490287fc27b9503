#pragma once
/// @file training_loop.h
/// @brief The training loop the MNIST classifiers, the VAE, DDPM and rectified flow
/// share: epochs of shuffled batches, forward, backward, optimizer step, progress line,
/// metrics, atomic checkpoints, bit-exact `--resume`, and data parallelism over
/// processes (`--distributed`). What differs between the models comes in as hooks.
///
/// Lesson: @ref tutorial_17_data_parallel.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/tensor.h"
#include "nn/data/dataloader.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace zoo::models {

/// How the loop runs: length, output, checkpoints, processes.
struct TrainingLoopOptions {
  std::string label;                ///< names the run in progress lines ("mlp", "vae")
  std::int64_t epochs = 1;          ///< passes over the training data
  std::int64_t log_every = 100;     ///< a plain progress line every N steps (not on a terminal)
  std::string out;                  ///< metrics.jsonl and checkpoint.safetensors go here
  bool resume = false;              ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 0;      ///< also checkpoint every N steps (0: per epoch only)
  std::int64_t stop_after = 0;      ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;               ///< no progress line
  std::uint64_t seed = 0;           ///< the run's seed (process r > 0 draws from a stream of its own)
  /// What a checkpoint must agree with to be continued ("model" = "vae", sizes, ...):
  /// written into every checkpoint, compared on resume.
  nn::SafetensorsMetadata identity;
  /// The processes that train together, or null for one process. Each batch of
  /// `batch_size` examples per process; see `run_training_loop`.
  nn::Communicator* communicator = nullptr;
  std::int64_t bucket_bytes = nn::kDefaultBucketBytes;  ///< gradient bucket size (distributed)
};

/// Where a run is, besides its tensors: what a checkpoint holds to continue exactly.
struct TrainingPosition {
  std::int64_t epoch = 0;       ///< the epoch in progress (0-based)
  std::int64_t next_batch = 0;  ///< the first batch of that epoch not yet trained on
  std::int64_t step = 0;        ///< optimizer steps so far
  double epoch_loss_sum = 0;    ///< sum of this epoch's batch losses so far
};

/// What happened at the end of an epoch, for the `end_epoch` hook.
struct EpochSummary {
  std::int64_t epoch = 0;          ///< 1-based: the epoch that just ended
  std::int64_t step = 0;           ///< optimizer steps so far
  double mean_loss = 0;            ///< the epoch's mean batch loss (over all processes)
  nn::Communicator* communicator = nullptr;  ///< for an evaluation split across processes
};

/// What the `end_epoch` hook reports.
struct EpochReport {
  /// The metrics record's model-specific fields ("test_accuracy", ...), which process 0
  /// logs between the loop's "epoch", "step" and its "seconds", "samples_per_second".
  std::vector<std::pair<std::string, nlohmann::json>> fields;
  /// A line for people ("epoch 2/10: train loss 0.1234, ..."), printed by process 0.
  std::string line;
};

/// What differs between models. Only `loss` is required.
struct TrainingHooks {
  /// The differentiable mean loss of a batch (this process's part of it). Random draws
  /// come from `default_generator()`, whose state checkpoints keep.
  std::function<Tensor(const nn::Example& batch)> loss;
  /// After the gradients are complete (averaged over processes), before the optimizer
  /// step: clipping.
  std::function<void()> before_step;
  /// After the optimizer step: a learning-rate schedule, a moving average of weights.
  std::function<void()> after_step;
  /// The fields of the progress line, given the step's loss ("loss 0.2134 lr 1.0e-03").
  std::function<std::string(double loss)> progress_fields;
  /// Adds what else a checkpoint must hold (a schedule's state, EMA weights).
  std::function<void(nn::Checkpoint&)> save_state;
  /// Reads back what `save_state` added, on resume.
  std::function<void(const nn::Checkpoint&)> restore_state;
  /// Runs on every process after each epoch (evaluation goes here).
  std::function<EpochReport(const EpochSummary&)> end_epoch;
};

/// What the loop measured.
struct TrainingLoopResult {
  double train_loss = 0;           ///< mean batch loss of the last epoch trained
  std::int64_t epochs = 0;         ///< epochs completed
  std::int64_t steps = 0;          ///< optimizer steps taken (including before a resume)
  double seconds = 0;              ///< wall time of this run's loop
  double samples_per_second = 0;   ///< training examples per second, all processes together
  double communication_seconds = 0;  ///< time in gradient all-reduces (0 in one process)
  std::int64_t steps_this_run = 0;   ///< steps taken by this run (after a resume: since it)
  bool finished = false;           ///< false if stopped early by `stop_after`
};

/// Trains `model` with `optimizer` on `data` for `options.epochs`, each step:
///
///     loss = hooks.loss(batch); zero_grad; loss.backward();
///     [average the gradients over the processes]; before_step; optimizer.step(); after_step
///
/// Writes `out/metrics.jsonl` (a record per epoch) and `out/checkpoint.safetensors`
/// (model, optimizer, generators, position, `identity`, what `save_state` adds) after
/// every epoch and every `save_every` steps. With `resume` it continues from that
/// checkpoint and ends bit-identical to a run that was never interrupted (same seed,
/// same thread count, same number of processes).
///
/// **Data parallel.** With a `communicator` of W processes, all of them run this loop
/// in step. Process 0's weights are broadcast to all at the start; each process reads
/// its own part of every batch (`DataLoaderOptions::num_replicas`, so one step consumes
/// W·B examples) and computes its gradient; the gradients are summed, weighted by each
/// part's share of the batch, through `nn::GradientBuckets` (few large all-reduces);
/// then every process takes the same optimizer step. Only process 0 prints, writes
/// metrics and checkpoints; a checkpoint holds every process's random generator. After
/// each epoch the processes compare fingerprints of their weights and stop with an
/// error if they drifted apart.
TrainingLoopResult run_training_loop(const TrainingLoopOptions& options, nn::Module& model,
                                     optim::Optimizer& optimizer, std::shared_ptr<const nn::Dataset> data,
                                     nn::DataLoaderOptions loader_options, const TrainingHooks& hooks);

/// The part [begin, end) of `n` items that process `rank` of `size` takes: contiguous,
/// as even as can be. For an evaluation split across the processes.
std::pair<std::int64_t, std::int64_t> split_evenly(std::int64_t n, int rank, int size);

}  // namespace zoo::models
