// The pieces of data-parallel training that need no second process: the DataLoader's
// shards (together they are the big batch, each example once), gradient buckets (sizes,
// dtypes, the weighted sum through a communicator, missing gradients as zeros), the
// weights' fingerprint, and the group of one. tests/distributed/ runs real processes.
#include <numeric>
#include <set>

#include "autograd/ops.h"
#include "io_test_util.h"
#include "nn/data/dataloader.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"

using namespace zoo;
using namespace zoo::nn;

namespace {

std::shared_ptr<TensorDataset> numbered(std::int64_t n) {
  const Tensor i = arange(n);
  return std::make_shared<TensorDataset>(i.to(kFloat32).reshape({n, 1}), i);
}

/// Each process's batches of one epoch, as example numbers.
std::vector<std::vector<std::vector<std::int64_t>>> shards(std::int64_t n, std::int64_t batch, std::int64_t processes,
                                                           bool drop_last = false) {
  std::vector<std::vector<std::vector<std::int64_t>>> all;
  for (std::int64_t r = 0; r < processes; ++r) {
    DataLoader loader(numbered(n), {.batch_size = batch, .drop_last = drop_last, .seed = 3, .prefetch = false,
                                    .num_replicas = processes, .rank = r});
    loader.set_epoch(2);
    std::vector<std::vector<std::int64_t>> batches;
    for (const Example& b : loader) batches.push_back(b.target.to_vector<std::int64_t>());
    all.push_back(batches);
  }
  return all;
}

/// A recording communicator of `size` processes, seen from `rank`: sums by adding what
/// the "other processes" contribute (`others`, one value per element for all of them).
class FakeGroup final : public Communicator {
 public:
  FakeGroup(int rank, int size, float others) : rank_(rank), size_(size), others_(others) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(std::span<float> v) override {
    ++messages;
    elements.push_back(static_cast<std::int64_t>(v.size()));
    for (float& x : v) x += others_;
  }
  void all_reduce_sum(std::span<double> v) override {
    ++messages;
    elements.push_back(static_cast<std::int64_t>(v.size()));
    for (double& x : v) x += others_;
  }
  void broadcast(std::span<float> v, int) override { std::fill(v.begin(), v.end(), others_); }
  void broadcast(std::span<std::uint8_t> bytes, int) override { std::fill(bytes.begin(), bytes.end(), 0); }
  std::vector<std::string> gather(const std::string& t, int) override { return {t}; }
  [[noreturn]] void abort(int code) override { std::exit(code); }
  std::string describe() const override { return "fake"; }
  int messages = 0;
  std::vector<std::int64_t> elements;

 private:
  int rank_, size_;
  float others_;
};

}  // namespace

TEST_CASE("DataLoader shards: together they are the big batch, each example once") {
  for (const std::int64_t n : {200, 199, 7}) {
    for (const std::int64_t processes : {2, 3}) {
      INFO("n = " << n << ", processes = " << processes);
      const auto parts = shards(n, 12, processes);
      // The loader with one process and batch 12·W: the batches the shards must make up.
      DataLoader big(numbered(n), {.batch_size = 12 * processes, .seed = 3, .prefetch = false});
      big.set_epoch(2);
      std::vector<std::vector<std::int64_t>> whole;
      for (const Example& b : big) whole.push_back(b.target.to_vector<std::int64_t>());
      for (std::int64_t r = 0; r < processes; ++r) REQUIRE(parts[r].size() == whole.size());
      std::multiset<std::int64_t> seen;
      for (std::size_t k = 0; k < whole.size(); ++k) {
        std::vector<std::int64_t> joined;
        for (std::int64_t r = 0; r < processes; ++r) {
          joined.insert(joined.end(), parts[r][k].begin(), parts[r][k].end());
          // As even as can be: part sizes differ by at most one.
          CHECK(std::abs(static_cast<std::int64_t>(parts[r][k].size()) -
                         static_cast<std::int64_t>(whole[k].size()) / processes) <= 1);
        }
        CHECK(joined == whole[k]);  // contiguous parts in rank order
        seen.insert(joined.begin(), joined.end());
      }
      CHECK(seen.size() == static_cast<std::size_t>(n));
      CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == static_cast<std::size_t>(n));
    }
  }
}

TEST_CASE("DataLoader shards: sizes of a short last batch, drop_last, bad ranks") {
  DataLoader loader(numbered(199), {.batch_size = 12, .num_replicas = 2, .rank = 1});
  CHECK(loader.num_batches() == 9);  // ceil(199 / 24)
  CHECK(loader.global_batch_size(0) == 24);
  CHECK(loader.global_batch_size(8) == 7);
  CHECK(loader.shard_of_batch(8) == std::pair<std::int64_t, std::int64_t>{195, 199});  // 3 + 4
  // Seven examples over three processes of batch 4: one batch of 2 + 2 + 3.
  const auto tiny = shards(7, 4, 3);
  CHECK(tiny[0][0].size() == 2);
  CHECK(tiny[1][0].size() == 2);
  CHECK(tiny[2][0].size() == 3);
  // Two examples over three processes: process 0's part is empty.
  const auto empty = shards(2, 4, 3);
  CHECK(empty[0][0].empty());
  CHECK(empty[1][0].size() + empty[2][0].size() == 2);
  CHECK(shards(199, 12, 2, true)[0].size() == 8);  // drop_last drops the short batch
  CHECK_THROWS_WITH(DataLoader(numbered(10), {.num_replicas = 2, .rank = 2}),
                    Catch::Contains("rank 2 is not one of num_replicas = 2"));
}

TEST_CASE("GradientBuckets: buckets close at the size limit and at a change of dtype") {
  const std::vector<Tensor> params = {zeros({10}), zeros({20}), zeros({5}), zeros({3}, kFloat64), zeros({100})};
  // 100 bytes: 10 + 20 floats = 120 bytes would pass it, so [0], [1, 2], [3], [4].
  const GradientBuckets buckets(params, 100);
  const auto& b = buckets.buckets();
  REQUIRE(b.size() == 4);
  CHECK((b[0].first == 0 && b[0].last == 1 && b[0].elements == 10));
  CHECK((b[1].first == 1 && b[1].last == 3 && b[1].elements == 25));
  CHECK((b[2].first == 3 && b[2].last == 4 && b[2].dtype == kFloat64));
  CHECK((b[3].first == 4 && b[3].elements == 100));  // larger than a bucket: a bucket of its own
  CHECK(GradientBuckets(params).buckets().size() == 3);  // 25 MiB: only the dtype splits
  CHECK_THROWS_WITH(GradientBuckets({arange(3)}), Catch::Contains("float32 or float64"));
}

TEST_CASE("GradientBuckets::all_reduce: the weighted sum, in few messages, gradients replaced") {
  Tensor a = tensor({1, 2, 3}).requires_grad_();
  Tensor b = tensor({{1, 1}, {2, 2}}).requires_grad_();
  Tensor c = tensor({5}, kFloat64).requires_grad_();
  Tensor unused = tensor({7, 7}).requires_grad_();
  // Gradients: a ← (1, 1, 1), b ← (1, 1, 1, 1) through one shared tensor, c ← 2c.
  (sum(a) + sum(b) + sum(c * c).to(kFloat32)).backward();
  const Tensor old_a_grad = a.grad();
  GradientBuckets buckets({a, b, c, unused}, 1 << 20);
  // This process holds 1/4 of the batch; the others add 0.5 to every element.
  FakeGroup group(1, 2, 0.5f);
  buckets.all_reduce(group, 0.25);
  // In order: a float32 bucket (a, b: 7 elements), a float64 one (c), a float32 one (unused).
  CHECK(group.messages == 3);
  CHECK(group.elements == std::vector<std::int64_t>{7, 1, 2});
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0.75f, 0.75f, 0.75f});  // 0.25·1 + 0.5
  CHECK(b.grad().shape() == Shape{2, 2});
  CHECK(c.grad().to_vector<double>() == std::vector<double>{0.25 * 10 + 0.5});
  CHECK(unused.grad().to_vector<float>() == std::vector<float>{0.5f, 0.5f});  // no gradient: zeros + others
  CHECK(old_a_grad.to_vector<float>() == std::vector<float>{1, 1, 1});  // replaced, not written over
  // The group of one leaves a full-weight gradient as it is.
  SingleProcess one;
  buckets.all_reduce(one, 1.0);
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0.75f, 0.75f, 0.75f});
}

TEST_CASE("GradientBuckets: broadcast writes the parameters, the fingerprint sees any change") {
  Tensor a = tensor({1, 2, 3});
  Tensor c = tensor({5}, kFloat64);
  GradientBuckets buckets({a, c});
  const std::uint64_t before = buckets.fingerprint();
  CHECK(buckets.fingerprint() == before);
  a.data_ptr<float>()[1] = std::nextafter(2.0f, 3.0f);  // one bit
  CHECK(buckets.fingerprint() != before);
  FakeGroup group(1, 2, 0);
  buckets.broadcast_parameters(group);  // the fake "process 0" has all-zero bytes
  CHECK(a.to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(c.to_vector<double>() == std::vector<double>{0});
}

TEST_CASE("SingleProcess: the group of one") {
  SingleProcess one;
  CHECK(one.size() == 1);
  CHECK(one.is_main());
  std::vector<double> v{1, 2};
  one.all_reduce_sum(std::span<double>(v));
  CHECK(v == std::vector<double>{1, 2});
  CHECK(one.gather("x", 0) == std::vector<std::string>{"x"});
}
