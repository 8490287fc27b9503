// TensorDataset and DataLoader: batches gather the right rows; each epoch visits every
// example once; drop_last; orders depend only on (seed, epoch); set_epoch resumes an
// epoch exactly, mid-epoch too; the background thread gives the same batches as none,
// hands its exceptions to the loop, and stops cleanly when the loop is left early.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "io_test_util.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"

using namespace zoo;
using namespace zoo::nn;

namespace {

/// N examples: input i is the row (i, i + 0.5) as float32 (shape (N, 2)), target i is i.
std::shared_ptr<TensorDataset> numbered(std::int64_t n) {
  const Tensor i = arange(n);
  const Tensor inputs = stack({i.to(kFloat32), i.to(kFloat32) + 0.5}, 1);
  return std::make_shared<TensorDataset>(inputs, i);
}

/// The targets of every batch of one pass, batch by batch.
std::vector<std::vector<std::int64_t>> one_pass(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> batches;
  for (const Example& batch : loader) batches.push_back(batch.target.to_vector<std::int64_t>());
  return batches;
}

/// All targets of a pass, in order.
std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

/// A data set that records the thread it runs on and throws at example `fail_at`.
class Faulty : public Dataset {
 public:
  explicit Faulty(std::int64_t fail_at) : fail_at_(fail_at) {}
  std::int64_t size() const override { return 10; }
  Example get_batch(const std::vector<std::int64_t>& indices) const override {
    thread_ = std::this_thread::get_id();
    for (std::int64_t i : indices) ZOO_CHECK(i != fail_at_, "Faulty: example {} is broken", i);
    const Tensor t = from_vector(indices);
    return {t.to(kFloat32), t};
  }
  mutable std::atomic<std::thread::id> thread_;

 private:
  std::int64_t fail_at_;
};

}  // namespace

TEST_CASE("TensorDataset: batches gather rows of both tensors", "[dataloader]") {
  const auto data = numbered(6);
  CHECK(data->size() == 6);
  const Example batch = data->get_batch({4, 0, 4});
  CHECK(batch.input.shape() == Shape{3, 2});
  CHECK(batch.input.to_vector<float>() == std::vector<float>{4, 4.5, 0, 0.5, 4, 4.5});
  CHECK(batch.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 0, 4});
  // The same as index_select, on a 3-D non-contiguous input too.
  const Tensor x = arange(0.0, 24.0, 1.0, kFloat64).reshape({4, 3, 2}).transpose(1, 2);
  TensorDataset d3(x, arange(4));
  const Tensor expected = index_select(x, 0, from_vector<std::int64_t>({3, 1}));
  CHECK(test::same_bytes(d3.get_batch({3, 1}).input, expected));
  CHECK(d3.get(2).input.shape() == Shape{2, 3});
  CHECK(d3.get(2).target.item() == 2);
  CHECK(d3.get_batch({}).input.shape() == Shape{0, 2, 3});

  CHECK_THROWS_WITH(data->get_batch({6}), Catch::Matchers::Contains("index 6 is out of range"));
  CHECK_THROWS_WITH(data->get_batch({-1}), Catch::Matchers::Contains("index -1 is out of range"));
  CHECK_THROWS_WITH(TensorDataset(zeros({3, 2}), zeros({4})),
                    Catch::Matchers::Contains("3 inputs (shape [3, 2]) but 4 targets"));
  CHECK_THROWS_WITH(TensorDataset(scalar_tensor(1), zeros({1})),
                    Catch::Matchers::Contains("first dim"));
}

TEST_CASE("DataLoader: every example once per epoch, batch sizes, drop_last", "[dataloader]") {
  for (bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    DataLoader loader(numbered(10), {.batch_size = 3, .seed = 5, .prefetch = prefetch});
    CHECK(loader.num_batches() == 4);
    for (int epoch = 0; epoch < 3; ++epoch) {
      const auto batches = one_pass(loader);
      REQUIRE(batches.size() == 4);
      CHECK(batches[0].size() == 3);
      CHECK(batches[3].size() == 1);
      std::vector<std::int64_t> seen = flat(batches);
      std::sort(seen.begin(), seen.end());
      CHECK(seen == arange(10).to_vector<std::int64_t>());
    }
    CHECK(loader.epoch() == 3);

    DataLoader dropping(numbered(10), {.batch_size = 3, .drop_last = true, .prefetch = prefetch});
    CHECK(dropping.num_batches() == 3);
    const auto batches = one_pass(dropping);
    REQUIRE(batches.size() == 3);
    std::vector<std::int64_t> seen = flat(batches);
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 9);
  }
  // Inputs travel with their targets.
  DataLoader loader(numbered(7), {.batch_size = 4});
  for (const Example& batch : loader)
    CHECK(test::same_bytes(batch.input.select(1, 0), batch.target.to(kFloat32)));
}

TEST_CASE("DataLoader: no shuffle, and an empty data set", "[dataloader]") {
  DataLoader ordered(numbered(5), {.batch_size = 2, .shuffle = false});
  CHECK(one_pass(ordered) == std::vector<std::vector<std::int64_t>>{{0, 1}, {2, 3}, {4}});
  DataLoader empty(numbered(0), {.batch_size = 2});
  CHECK(empty.num_batches() == 0);
  CHECK(one_pass(empty).empty());
  CHECK_THROWS_WITH(DataLoader(numbered(3), {.batch_size = 0}),
                    Catch::Matchers::Contains("batch_size must be at least 1"));
}

TEST_CASE("DataLoader: the order depends on the seed and the epoch only", "[dataloader]") {
  DataLoader a(numbered(50), {.batch_size = 8, .seed = 42});
  DataLoader b(numbered(50), {.batch_size = 8, .seed = 42, .prefetch = false});
  DataLoader c(numbered(50), {.batch_size = 8, .seed = 43});
  const auto a0 = one_pass(a), a1 = one_pass(a);
  CHECK(a0 == one_pass(b));  // same seed, with and without the background thread
  CHECK(a1 == one_pass(b));
  CHECK(a0 != a1);                       // a new order each epoch
  CHECK(flat(a0) != flat(one_pass(c)));  // another seed, another order
  CHECK(flat(a0) == a.epoch_order(0));
  CHECK(flat(a0) != arange(50).to_vector<std::int64_t>());  // really shuffled
}

TEST_CASE("DataLoader: set_epoch reproduces an epoch exactly, also from mid-epoch",
          "[dataloader]") {
  DataLoader run(numbered(20), {.batch_size = 6, .seed = 7});
  std::vector<std::vector<std::vector<std::int64_t>>> epochs;
  for (int e = 0; e < 3; ++e) epochs.push_back(one_pass(run));

  // A resumed run: a fresh loader told where to continue.
  DataLoader resumed(numbered(20), {.batch_size = 6, .seed = 7});
  resumed.set_epoch(2);
  CHECK(one_pass(resumed) == epochs[2]);
  CHECK(resumed.epoch() == 3);

  resumed.set_epoch(1, 2);  // interrupted after two batches of epoch 1
  const auto rest = one_pass(resumed);
  CHECK(rest == std::vector<std::vector<std::int64_t>>(epochs[1].begin() + 2, epochs[1].end()));
  CHECK(one_pass(resumed) == epochs[2]);  // and the next epoch follows as before

  resumed.set_epoch(0, resumed.num_batches());
  CHECK(one_pass(resumed).empty());
  CHECK_THROWS_WITH(resumed.set_epoch(0, 5), Catch::Matchers::Contains("batch 5 is outside 0..4"));
  CHECK_THROWS_WITH(resumed.set_epoch(-1), Catch::Matchers::Contains("negative"));
}

TEST_CASE("DataLoader: batches are made on a background thread, and its errors reach the loop",
          "[dataloader]") {
  const auto faulty = std::make_shared<Faulty>(/*fail_at=*/7);
  DataLoader loader(faulty, {.batch_size = 2, .shuffle = false});
  std::vector<std::int64_t> got;
  auto it = loader.begin();
  CHECK(faulty->thread_.load() != std::this_thread::get_id());
  try {
    for (; it != loader.end(); ++it) {
      const auto t = it->target.to_vector<std::int64_t>();
      got.insert(got.end(), t.begin(), t.end());
    }
    FAIL("the exception thrown on the loader's thread did not reach the loop");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("Faulty: example 7 is broken") != std::string::npos);
  }
  // The batches before the broken one arrived, in order.
  CHECK(got == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(it == loader.end());

  // The same without the thread: the same batches, the same error, on this thread.
  DataLoader inline_loader(faulty, {.batch_size = 2, .shuffle = false, .prefetch = false});
  CHECK_THROWS_WITH(one_pass(inline_loader), Catch::Matchers::Contains("example 7 is broken"));
  CHECK(faulty->thread_.load() == std::this_thread::get_id());
}

TEST_CASE("DataLoader: leaving a pass early stops its thread cleanly", "[dataloader]") {
  auto loader = std::make_unique<DataLoader>(numbered(1000), DataLoaderOptions{.batch_size = 1});
  for (int round = 0; round < 20; ++round) {
    int taken = 0;
    for (const Example& batch : *loader) {
      (void)batch;
      if (++taken == 3) break;  // the producer is blocked on a full queue
    }
    CHECK(taken == 3);
  }
  CHECK(loader->epoch() == 20);
  // Destroying the loader mid-pass must join its blocked thread: a hang here fails the
  // test by CTest's timeout, a crash fails it outright.
  auto it = loader->begin();
  REQUIRE(it != loader->end());
  loader.reset();
}

TEST_CASE("DataLoader: MNIST fixture batches", "[dataloader]") {
  const MnistData mnist =
      load_mnist(std::filesystem::path(ZOO_TEST_DATA_DIR) / "mnist-mini", true, 200);
  DataLoader loader(std::make_shared<TensorDataset>(mnist.images, mnist.labels),
                    {.batch_size = 64});
  std::vector<std::int64_t> sizes;
  for (const Example& batch : loader) {
    CHECK(batch.input.shape() == Shape{batch.target.size(0), 1, 28, 28});
    CHECK(batch.input.dtype() == kFloat32);
    CHECK(batch.target.dtype() == kInt64);
    sizes.push_back(batch.target.size(0));
  }
  CHECK(sizes == std::vector<std::int64_t>{64, 64, 64, 8});
}
