#include "nn/data/dataloader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

#include "autograd/error.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/parallel.h"

namespace zoo::nn {
namespace {

/// Batches the background thread keeps ready ahead of the loop.
constexpr std::size_t kPrefetchDepth = 2;

/// splitmix64's mixing function: nearby inputs (seed, seed + 1) give unrelated outputs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

// ---------------------------------------------------------------------------
// One pass: a list of batches, made in order, on a background thread or on demand.
// ---------------------------------------------------------------------------

struct DataLoader::Pass {
  Pass(std::shared_ptr<const Dataset> dataset, std::vector<std::vector<std::int64_t>> batches,
       bool prefetch)
      : dataset(std::move(dataset)), batches(std::move(batches)) {
    if (prefetch) worker = std::thread([this] { produce(); });
  }

  ~Pass() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    changed.notify_all();
    if (worker.joinable()) worker.join();
  }

  /// The next batch, or nothing after the last one. Called by the loop's thread.
  std::optional<Example> next() {
    if (!worker.joinable()) {  // no prefetching: make the batch here
      if (made == batches.size()) return std::nullopt;
      NoGradGuard no_grad;
      return dataset->get_batch(batches[made++]);
    }
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return !ready.empty() || finished; });
    if (!ready.empty()) {
      Example batch = std::move(ready.front());
      ready.pop_front();
      lock.unlock();
      changed.notify_all();  // there is room for one more
      return batch;
    }
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
    return std::nullopt;
  }

  /// The background thread: makes the batches in order, at most kPrefetchDepth ahead.
  void produce() {
    NoGradGuard no_grad;       // grad mode is per thread; batches never need a graph
    SerialRegionGuard serial;  // no second OpenMP team beside the training loop's
    for (const auto& indices : batches) {
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return stop || ready.size() < kPrefetchDepth; });
        if (stop) return;
      }
      Example batch;
      try {
        batch = dataset->get_batch(indices);
      } catch (...) {  // hand the exception to the loop, which rethrows it
        std::lock_guard lock(mutex);
        error = std::current_exception();
        break;
      }
      std::lock_guard lock(mutex);
      ready.push_back(std::move(batch));
      changed.notify_all();
    }
    std::lock_guard lock(mutex);
    finished = true;
    changed.notify_all();
  }

  std::shared_ptr<const Dataset> dataset;
  std::vector<std::vector<std::int64_t>> batches;  ///< example indices of each batch, in order
  std::size_t made = 0;                            ///< batches made so far (no prefetching)

  // Shared by the two threads, guarded by `mutex`; `changed` signals any change.
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Example> ready;  ///< made, not yet taken, in order
  std::exception_ptr error;   ///< what `get_batch` threw, for the loop to rethrow
  bool finished = false;      ///< the producer has made its last batch (or failed)
  bool stop = false;          ///< the pass is being torn down

  std::thread worker;  // last: it starts after every member above exists
};

// ---------------------------------------------------------------------------
// DataLoader
// ---------------------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  ZOO_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  ZOO_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got {}",
            options_.batch_size);
  ZOO_CHECK(options_.num_replicas >= 1 && options_.rank >= 0 && options_.rank < options_.num_replicas,
            "DataLoader: rank {} is not one of num_replicas = {} processes", options_.rank,
            options_.num_replicas);
}

DataLoader::~DataLoader() = default;

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = dataset_->size(), g = options_.batch_size * options_.num_replicas;
  return options_.drop_last ? n / g : (n + g - 1) / g;
}

std::int64_t DataLoader::global_batch_size(std::int64_t batch) const {
  ZOO_CHECK(batch >= 0 && batch < num_batches(), "DataLoader: batch {} is outside 0..{}", batch, num_batches() - 1);
  const std::int64_t g = options_.batch_size * options_.num_replicas;
  return std::min(g, dataset_->size() - batch * g);
}

std::pair<std::int64_t, std::int64_t> DataLoader::shard_of_batch(std::int64_t batch) const {
  const std::int64_t first = batch * options_.batch_size * options_.num_replicas;
  const std::int64_t n = global_batch_size(batch), w = options_.num_replicas, r = options_.rank;
  return {first + n * r / w, first + n * (r + 1) / w};  // B each when n = B·W
}

void DataLoader::set_epoch(std::int64_t epoch, std::int64_t first_batch) {
  ZOO_CHECK(epoch >= 0, "DataLoader::set_epoch: epoch {} is negative", epoch);
  ZOO_CHECK(first_batch >= 0 && first_batch <= num_batches(),
            "DataLoader::set_epoch: batch {} is outside 0..{} (batches per epoch)", first_batch,
            num_batches());
  epoch_ = epoch;
  first_batch_ = first_batch;
}

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  const std::int64_t n = dataset_->size();
  if (!options_.shuffle) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    return order;
  }
  // Each epoch has its own generator, seeded from (seed, epoch) alone.
  Generator generator(mix(options_.seed ^ mix(static_cast<std::uint64_t>(epoch))));
  return randperm(n, generator).to_vector<std::int64_t>();
}

DataLoader::Iterator DataLoader::begin() {
  pass_.reset();  // stop the previous pass's thread before starting another
  const std::vector<std::int64_t> order = epoch_order(epoch_);
  std::vector<std::vector<std::int64_t>> batches;
  for (std::int64_t k = first_batch_; k < num_batches(); ++k) {
    const auto [begin, end] = shard_of_batch(k);
    batches.emplace_back(order.begin() + begin, order.begin() + end);
  }
  pass_ = std::make_unique<Pass>(dataset_, std::move(batches), options_.prefetch);
  ++epoch_;
  first_batch_ = 0;
  return Iterator(pass_.get());
}

DataLoader::Iterator::Iterator(Pass* pass) : pass_(pass), current_(pass->next()) {}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  current_.reset();  // if next() throws, the iterator is at the end
  current_ = pass_->next();
  return *this;
}

}  // namespace zoo::nn
