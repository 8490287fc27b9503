#pragma once
/// @file dataloader.h
/// @brief `DataLoader`: batches from a `Dataset`, shuffled per epoch, prepared on a
/// background thread while the model trains.
///
/// Lesson: @ref tutorial_07_mnist_classifier.

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "nn/data/dataset.h"

namespace zoo::nn {

/// How a `DataLoader` cuts a data set into batches.
struct DataLoaderOptions {
  /// Examples per batch (the last batch may be smaller, unless `drop_last`).
  std::int64_t batch_size = 64;
  /// Visit the examples in a new random order each epoch (else in order 0..N-1).
  bool shuffle = true;
  /// Skip the last batch if it is smaller than `batch_size`.
  bool drop_last = false;
  /// Seed of the shuffles: the same seed gives the same order in every run.
  std::uint64_t seed = 0;
  /// Prepare the next batch on a background thread while the current one is in use.
  /// Off, batches are made on the calling thread; the batches are the same either way.
  bool prefetch = true;
  /// Data-parallel training: the number of processes that share each batch (the role of
  /// PyTorch's `DistributedSampler(num_replicas, rank)`, which instead pads the epoch and
  /// deals examples out in turn; zoo cuts each batch, see "Shards"). Each step consumes
  /// `batch_size * num_replicas` examples of the epoch's order, of which this process
  /// gets the part `rank`.
  std::int64_t num_replicas = 1;
  /// This process's part of each batch, 0 ≤ rank < num_replicas.
  std::int64_t rank = 0;
};

/// Iterates over a data set in batches, like PyTorch's `DataLoader`:
///
///     DataLoader loader(train_set, {.batch_size = 64, .seed = 1});
///     for (int e = 0; e < epochs; ++e)
///       for (const Example& batch : loader)   // each loop is one epoch
///         train_step(batch.input, batch.target);
///
/// **Order.** Epoch e visits the examples in `epoch_order(e)`: a permutation drawn from a
/// `Generator` seeded with (seed, e), or 0..N-1 without shuffling. The order depends on
/// nothing else: not on the thread, not on earlier epochs. So `--resume` needs no
/// generator state, only the position: `set_epoch(e, b)` continues epoch e at batch b
/// exactly as the interrupted run would have.
///
/// **Shards.** With `num_replicas` = W > 1, batch k is the k-th run of B·W examples of
/// the epoch's order (B = batch_size), cut into W contiguous parts of B; this loader
/// yields part `rank`. Every process computes the same order from the same seed, so
/// together they see each example of the epoch exactly once, and the union of their
/// batch k is the batch k a single loader with batch size B·W would give. A short last
/// batch of n < B·W examples is cut into parts of floor(n·(r+1)/W) - floor(n·r/W):
/// as even as can be, possibly empty.
///
/// **Threads.** Each pass starts a background thread that calls `Dataset::get_batch`
/// for the batches in order and keeps up to two ready. An exception thrown there is
/// rethrown to the loop when it reaches that batch. Leaving the loop early (`break`),
/// starting a new pass, or destroying the loader stops the thread and waits for it.
///
/// One pass at a time: `begin()` ends the previous pass, and its iterators with it.
class DataLoader {
 public:
  class Iterator;

  /// A loader over `dataset` (shared: the background thread reads it too).
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  /// Stops the background thread, if a pass is running.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Batches per epoch: ceil(N / G), or floor with `drop_last`, where G =
  /// batch_size · num_replicas is the examples one step consumes across all processes.
  std::int64_t num_batches() const;
  /// How many examples batch `batch` holds across all processes: G, or fewer for a
  /// short last batch. This process's part is `shard_of_batch(batch)`.
  std::int64_t global_batch_size(std::int64_t batch) const;
  /// Positions [begin, end) in the epoch's order of this process's part of batch `batch`.
  std::pair<std::int64_t, std::int64_t> shard_of_batch(std::int64_t batch) const;
  /// The data set.
  const Dataset& dataset() const { return *dataset_; }
  /// The options.
  const DataLoaderOptions& options() const { return options_; }

  /// The epoch the next pass (the next `begin()`) will run. Starts at 0; each pass
  /// moves it on by one.
  std::int64_t epoch() const { return epoch_; }
  /// Makes the next pass run epoch `epoch` from batch `first_batch` (0 ≤ first_batch ≤
  /// num_batches()), skipping the batches before it: how `--resume` continues mid-epoch.
  void set_epoch(std::int64_t epoch, std::int64_t first_batch = 0);
  /// The order in which epoch `epoch` visits the examples (a permutation of 0..N-1).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;

  /// Starts a pass over epoch `epoch()` (ending any previous pass).
  Iterator begin();
  /// The end of a pass.
  std::default_sentinel_t end() const { return {}; }

 private:
  struct Pass;  // the batches of one pass and the thread that prepares them
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_ = 0;
  std::int64_t first_batch_ = 0;
  std::unique_ptr<Pass> pass_;
};

/// Walks the batches of one pass; compares equal to `end()` after the last batch.
class DataLoader::Iterator {
 public:
  using value_type = Example;              ///< What the iterator yields.
  using difference_type = std::ptrdiff_t;  ///< Required of iterators; unused.

  /// The current batch.
  const Example& operator*() const { return *current_; }
  /// The current batch's members.
  const Example* operator->() const { return &*current_; }
  /// Moves to the next batch, waiting for it if it is not ready; rethrows an exception
  /// thrown while preparing it.
  Iterator& operator++();
  /// Same as prefix ++.
  void operator++(int) { ++*this; }
  /// True after the last batch.
  bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

 private:
  friend class DataLoader;
  explicit Iterator(Pass* pass);
  Pass* pass_;
  std::optional<Example> current_;
};

}  // namespace zoo::nn
