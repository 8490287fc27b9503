// Tutorial 17: data parallelism. Why averaging the gradients of W processes is one step
// on a W times larger batch, and the weights a short last batch needs; the ring
// all-reduce simulated step by step, and what each process sends; gradient buckets, and
// the real thing inside one program: W threads, each with its own CNN, that talk through
// a Communicator whose all-reduce is the ring; how zoo's training loop steps, written out
// on threads and checked against a one-process run of that loop. Read README.md alongside.
//
// Run: ./tutorial_17_data_parallel   (a few seconds on one core; CTest runs it with
// --quick, which trains one epoch in 17.4 instead of three)

#include <unistd.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "lesson.h"
#include "models/classifier/model.h"
#include "models/common/training_loop.h"
#include "nn/data/dataloader.h"
#include "nn/data/mnist.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/gradient_buckets.h"
#include "nn/optim/optim.h"

using namespace zoo;
namespace fs = std::filesystem;

// Shapes: images x (n, 1, 28, 28), labels y (n); W processes (here: threads), each with a
// rank r in 0..W-1 and a part of n_r examples of a batch of n = Σ_r n_r.

namespace {

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The 200 training images of the test fixture tests/data/mnist-mini.
nn::MnistData load_fixture() {
  const fs::path dir = fs::path(ZOO_SOURCE_DIR) / "tests" / "data" / "mnist-mini";
  return nn::load_mnist(dir, true, 0);  // 0: any number of images
}

/// The gradient of the mean cross-entropy of `model` on (x, y): one tensor per parameter.
std::vector<Tensor> gradient(nn::Module& model, const Tensor& x, const Tensor& y) {
  model.zero_grad();
  cross_entropy(model(x), y).backward();
  std::vector<Tensor> g;
  for (const Tensor& p : model.parameters()) g.push_back(p.grad().clone());
  return g;
}

/// Σ_r w_r g_r, parameter by parameter.
std::vector<Tensor> weighted_sum(const std::vector<std::vector<Tensor>>& g, const std::vector<double>& w) {
  std::vector<Tensor> sum;
  for (std::size_t i = 0; i < g[0].size(); ++i) {
    Tensor s = zeros_like(g[0][i]);
    for (std::size_t r = 0; r < g.size(); ++r) s = s + g[r][i] * w[r];
    sum.push_back(s);
  }
  return sum;
}

/// max_i |a_i| over a list of tensors.
double max_abs(const std::vector<Tensor>& a) {
  double m = 0;
  for (const Tensor& t : a) m = std::max(m, amax(abs(t)).item());
  return m;
}

/// max_i |a_i − b_i| over two lists of tensors of the same shapes.
double max_abs_diff(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, amax(abs(a[i] - b[i])).item());
  return m;
}

/// Copies of a model's parameters (its weights at this moment).
std::vector<Tensor> weights(const nn::Module& model) {
  std::vector<Tensor> w;
  for (const Tensor& p : model.parameters()) w.push_back(p.detach().clone());
  return w;
}

/// "25 MiB", "256 KiB".
std::string bytes_label(std::int64_t bytes) {
  if (bytes % (1 << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} KiB", bytes >> 10);
}

// ---------------------------------------------------------------------------
// 17.1 Averaging gradients is a bigger batch
// ---------------------------------------------------------------------------

/// The gradient of a batch against the weighted and the plain averages of the gradients
/// of its parts, for an even and an uneven split.
void averaging(lesson::Lesson& lesson, const nn::MnistData& train) {
  lesson.section("17.1 Averaging gradients is a bigger batch");

  manual_seed(17);
  auto cnn = models::make_cnn(0.0);  // no dropout: the loss is a function of the weights alone
  const std::int64_t n = 8;
  const Tensor x = train.images.narrow(0, 0, n), y = train.labels.narrow(0, 0, n);

  // One process, the whole batch: g = ∇ (1/n) Σ_i ℓ_i.
  const std::vector<Tensor> g = gradient(*cnn, x, y);
  const double scale = max_abs(g);
  fmt::print("the CNN (dropout 0) on {} images: g, the gradient of their mean loss; largest |g_i| = {:.3e}\n\n", n,
             scale);

  // Two processes: one takes the first n_0 images, the other the remaining n_1.
  fmt::print("  split    n_r / n          max |sum_r (n_r/n) g_r - g|    max |(g_0 + g_1)/2 - g|\n");
  double worst_weighted = 0, even_plain = 0, uneven_plain = 0;
  for (const std::int64_t n0 : {n / 2, std::int64_t{3}}) {
    const std::int64_t n1 = n - n0;
    const std::vector<Tensor> g0 = gradient(*cnn, x.narrow(0, 0, n0), y.narrow(0, 0, n0));  // mean over its n_0
    const std::vector<Tensor> g1 = gradient(*cnn, x.narrow(0, n0, n1), y.narrow(0, n0, n1));
    const double w0 = static_cast<double>(n0) / n, w1 = static_cast<double>(n1) / n;
    const double weighted = max_abs_diff(weighted_sum({g0, g1}, {w0, w1}), g);
    const double plain = max_abs_diff(weighted_sum({g0, g1}, {0.5, 0.5}), g);
    fmt::print("  {} + {}    {:.3f}, {:.3f}     {:.2e}                       {:.2e}\n", n0, n1, w0, w1, weighted,
               plain);
    worst_weighted = std::max(worst_weighted, weighted);
    (n0 == n1 ? even_plain : uneven_plain) = plain;
  }
  fmt::print("\n");
  lesson.check(worst_weighted <= 1e-5 * scale,
               "sum_r (n_r/n) g_r is the gradient of the whole batch, up to float32 rounding (< 1e-5 of max |g|)");
  lesson.check(even_plain <= 1e-5 * scale, "with equal parts the weights are all 1/W: the plain average is g");
  lesson.check(uneven_plain > 1e-3 * scale,
               "with unequal parts the plain average is a different vector: it over-weights the smaller part");
}

// ---------------------------------------------------------------------------
// 17.2 Ring all-reduce
// ---------------------------------------------------------------------------

int mod(int a, int w) { return ((a % w) + w) % w; }

/// Chunk c of a vector of n elements cut into w: the elements [n c / w, n (c + 1) / w).
std::pair<std::int64_t, std::int64_t> chunk(std::int64_t n, int w, int c) { return {n * c / w, n * (c + 1) / w}; }

/// The number of elements of that chunk: n/w, rounded down or up when w does not divide n.
std::int64_t chunk_size(std::int64_t n, int w, int c) { return n * (c + 1) / w - n * c / w; }

/// Reduce-scatter, step s = 0..W-2: process r sends its chunk (r − s) mod W to process
/// r + 1, which adds it to its own copy of that chunk.
int reduce_scatter_chunk(int r, int s, int w) { return mod(r - s, w); }

/// All-gather, step s = 0..W-2: process r sends its chunk (r + 1 − s) mod W, which is
/// complete, to process r + 1, which overwrites its own copy with it.
int all_gather_chunk(int r, int s, int w) { return mod(r + 1 - s, w); }

/// Prints the chunks of every process, a `*` after the one it received in this step.
void print_state(const std::vector<std::vector<double>>& x, const std::vector<int>& received) {
  const int w = static_cast<int>(x.size());
  std::string header = "             ";
  for (int c = 0; c < w; ++c) header += fmt::format("{:>9} ", fmt::format("chunk {}", c));
  header.erase(header.find_last_not_of(' ') + 1);
  fmt::print("{}\n", header);
  for (int r = 0; r < w; ++r) {
    std::string line = fmt::format("    process {}", r);
    for (int c = 0; c < w; ++c) line += fmt::format("{:>9}{}", x[r][c], c == received[r] ? '*' : ' ');
    line.erase(line.find_last_not_of(' ') + 1);
    fmt::print("{}\n", line);
  }
}

/// The ring all-reduce on W vectors x[0..W-1] kept in one place, step by step as W
/// processes would run it: in every step each process sends one chunk to its right
/// neighbour, all at the same time (so all the messages are copied first, as onto a
/// wire, then received). Returns the elements each process sent. With `show`, prints the
/// chunks after every step.
std::vector<std::int64_t> simulate_ring(std::vector<std::vector<double>>& x, bool show) {
  const int w = static_cast<int>(x.size());
  const auto n = static_cast<std::int64_t>(x[0].size());
  std::vector<std::int64_t> sent(w, 0);
  const auto step = [&](int s, bool reduce) {
    const auto chunk_sent_by = [&](int r) {
      return reduce ? reduce_scatter_chunk(r, s, w) : all_gather_chunk(r, s, w);
    };
    std::vector<std::vector<double>> message(w);
    for (int r = 0; r < w; ++r) {  // every process sends...
      const auto [b, e] = chunk(n, w, chunk_sent_by(r));
      message[r].assign(x[r].begin() + b, x[r].begin() + e);
      sent[r] += e - b;
    }
    std::vector<int> received(w);
    for (int r = 0; r < w; ++r) {  // ...and every process receives from its left neighbour
      const int left = mod(r - 1, w);
      received[r] = chunk_sent_by(left);
      const std::int64_t b = chunk(n, w, received[r]).first;
      for (std::size_t k = 0; k < message[left].size(); ++k) {
        double& mine = x[r][b + k];
        mine = reduce ? mine + message[left][k] : message[left][k];  // add, or overwrite
      }
    }
    if (show) {
      std::vector<std::string> sends;
      for (int r = 0; r < w; ++r) sends.push_back(fmt::format("{}->{} chunk {}", r, mod(r + 1, w), chunk_sent_by(r)));
      fmt::print("  {} step {} ({}):\n", reduce ? "reduce-scatter" : "all-gather", s + 1, fmt::join(sends, ", "));
      print_state(x, received);
    }
  };
  for (int s = 0; s < w - 1; ++s) step(s, true);   // reduce-scatter
  for (int s = 0; s < w - 1; ++s) step(s, false);  // all-gather
  return sent;
}

/// The naive all-reduce: processes 1..W-1 send their vectors to process 0, which adds them
/// and sends the sum back to each. Returns the elements process 0 sends and receives.
std::int64_t simulate_naive(std::vector<std::vector<double>>& x) {
  std::int64_t moved_by_0 = 0;
  for (std::size_t r = 1; r < x.size(); ++r) {  // gather to process 0
    for (std::size_t i = 0; i < x[0].size(); ++i) x[0][i] += x[r][i];
    moved_by_0 += static_cast<std::int64_t>(x[r].size());
  }
  for (std::size_t r = 1; r < x.size(); ++r) {  // send the sum back
    x[r] = x[0];
    moved_by_0 += static_cast<std::int64_t>(x[0].size());
  }
  return moved_by_0;
}

/// The ring by hand on a tiny example, then what it and the naive way send as W grows.
void ring_all_reduce(lesson::Lesson& lesson) {
  lesson.section("17.2 Ring all-reduce");

  // A tiny example to follow by hand: W = 4 processes, N = 4 elements, so one element per
  // chunk; process r holds (c + 1) 10^r in chunk c, so the digits of a partial sum say
  // which processes it already holds.
  const int w = 4;
  const std::int64_t n_small = w;
  std::vector<std::vector<double>> x(w, std::vector<double>(n_small));
  for (int r = 0; r < w; ++r)
    for (int c = 0; c < w; ++c) x[r][c] = (c + 1) * std::pow(10.0, r);
  std::vector<double> direct(n_small, 0);
  for (const auto& v : x)
    for (std::size_t c = 0; c < v.size(); ++c) direct[c] += v[c];
  fmt::print("  start (W = {}, N = {}):\n", w, n_small);
  print_state(x, std::vector<int>(w, -1));
  const std::vector<std::int64_t> sent = simulate_ring(x, true);
  fmt::print("\n  the direct sum: {}; elements sent by each process: {} (2 (W-1) N / W = {})\n", direct, sent,
             2 * (w - 1) * n_small / w);
  bool all_equal = true;
  for (const auto& v : x) all_equal = all_equal && v == direct;
  lesson.check(all_equal, "after W-1 reduce-scatter and W-1 all-gather steps every process holds the sum");
  lesson.check(std::all_of(sent.begin(), sent.end(), [&](std::int64_t s) { return s == 2 * (w - 1) * n_small / w; }),
               "each process sent 2 (W-1) chunks of N/W elements");

  // Larger: N = 16384 random integers per process (sums of integers are exact in double,
  // so every result can be compared with ==), W from 2 to 64.
  const std::int64_t n = 16384;
  fmt::print("\n  N = {} elements per process:\n", n);
  fmt::print("     W   ring: sent per process   2(W-1)/W N   / N     naive: process 0 sends + receives   / N\n");
  Generator gen(17);
  bool exact = true, as_formula = true;
  for (const int processes : {2, 3, 4, 8, 16, 64}) {
    std::vector<std::vector<double>> ring(processes);
    for (auto& v : ring) v = randint(0, 1000, {n}, kInt64, gen).to(kFloat64).to_vector<double>();
    std::vector<double> sum(n, 0);
    for (const auto& v : ring)
      for (std::size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
    std::vector<std::vector<double>> naive = ring;
    const std::vector<std::int64_t> ring_sent = simulate_ring(ring, false);
    const std::int64_t naive_moved = simulate_naive(naive);
    for (std::size_t r = 0; r < ring.size(); ++r) exact = exact && ring[r] == sum && naive[r] == sum;
    const double formula = 2.0 * (processes - 1) / processes * static_cast<double>(n);
    const std::int64_t most = *std::max_element(ring_sent.begin(), ring_sent.end());
    const std::int64_t least = *std::min_element(ring_sent.begin(), ring_sent.end());
    as_formula = as_formula && std::abs(most - formula) <= 2 && std::abs(least - formula) <= 2;
    fmt::print("    {:>2}   {:>22}   {:>10.0f}   {:.3f}   {:>33}   {:.0f}\n", processes,
               most == least ? fmt::format("{}", most) : fmt::format("{}..{}", least, most), formula,
               static_cast<double>(most) / static_cast<double>(n), naive_moved,
               static_cast<double>(naive_moved) / static_cast<double>(n));
  }
  lesson.check(exact, "ring and naive all-reduce give every process the exact sum, for every W");
  lesson.check(as_formula, "the ring sends 2 (W-1)/W N elements per process (within 2, when W does not divide N)");
}

// ---------------------------------------------------------------------------
// 17.3 Buckets, and W threads that all-reduce through the ring
// ---------------------------------------------------------------------------

/// How GradientBuckets groups the CNN's parameters, for three bucket sizes.
void bucket_layouts(lesson::Lesson& lesson) {
  manual_seed(0);
  auto cnn = models::make_cnn(0.0);
  fmt::print("the CNN's parameters, in order (what GradientBuckets groups):\n");
  for (const auto& [name, p] : cnn->named_parameters())
    fmt::print("  {:<10} {:<16} {:>7} elements\n", name, fmt::format("{}", p.shape()), p.numel());
  fmt::print("  total {} elements, {} bytes of float32 gradient\n\n", cnn->num_parameters(),
             4 * cnn->num_parameters());

  const auto named = cnn->named_parameters();
  bool covered = true, within = true;
  fmt::print("  bucket cap   buckets   elements per bucket (its parameters)\n");
  for (const std::int64_t cap : {nn::kDefaultBucketBytes, std::int64_t{256} << 10, std::int64_t{16} << 10}) {
    const nn::GradientBuckets buckets(cnn->parameters(), cap);
    std::vector<std::string> parts;
    std::size_t next = 0;
    std::int64_t elements = 0;
    for (const auto& b : buckets.buckets()) {
      const std::string& first = named[b.first].first;
      const std::string& last = named[b.last - 1].first;
      parts.push_back(b.last - b.first == 1 ? fmt::format("{} ({})", b.elements, first)
                                            : fmt::format("{} ({}..{})", b.elements, first, last));
      covered = covered && b.first == next && b.last > b.first;
      within = within && (4 * b.elements <= cap || b.last - b.first == 1);
      next = b.last;
      elements += b.elements;
    }
    covered = covered && next == named.size() && elements == cnn->num_parameters();
    fmt::print("  {:<10}   {:>7}   {}\n", bytes_label(cap), buckets.buckets().size(), fmt::join(parts, " | "));
  }
  fmt::print("\n");
  lesson.check(covered, "the buckets take every parameter once, in order");
  lesson.check(within, "a bucket holds at most its cap of bytes, unless one parameter alone is larger");
}

/// What W threads share to act as W processes: a barrier, at which every collective
/// operation waits for all of them, and one slot per thread where it shows its buffer.
struct ThreadGroup {
  explicit ThreadGroup(int size)
      : size(size), barrier(size), slots(size), texts(size) {}
  int size;
  std::barrier<> barrier;
  std::vector<void*> slots;         // each thread's buffer, during a collective
  std::vector<std::string> texts;   // each thread's text, during a gather
};

/// An `nn::Communicator` for one of the W threads of a `ThreadGroup`: what `mpi_world()`
/// is for W processes, inside one program. `all_reduce_sum` is the ring of 17.2, each
/// thread reading its left neighbour's buffer where a process would receive a message.
class ThreadCommunicator final : public nn::Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return group_.size; }
  void all_reduce_sum(std::span<float> values) override { ring(values); }
  void all_reduce_sum(std::span<double> values) override { ring(values); }
  void broadcast(std::span<float> values, int root) override { broadcast_from(values, root); }
  void broadcast(std::span<std::uint8_t> bytes, int root) override { broadcast_from(bytes, root); }

  std::vector<std::string> gather(const std::string& text, int root) override {
    group_.texts[rank_] = text;
    group_.barrier.arrive_and_wait();  // every text is in place
    std::vector<std::string> texts;
    if (rank_ == root) texts = group_.texts;
    group_.barrier.arrive_and_wait();  // root has read them
    return texts;
  }

  /// Ends the whole program, every thread with it, as MPI_Abort ends every process.
  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);
    std::_Exit(code);
  }
  std::string describe() const override { return fmt::format("{} threads", group_.size); }

  /// Elements this thread has sent to its right neighbour in all-reduces so far.
  std::int64_t elements_sent() const { return sent_; }

 private:
  /// The ring all-reduce of 17.2 (the same schedule: reduce_scatter_chunk,
  /// all_gather_chunk), one step at a time in all threads, with a barrier after each.
  template <class T>
  void ring(std::span<T> values) {
    const int w = size(), r = rank_;
    const auto n = static_cast<std::int64_t>(values.size());
    const int left = mod(r - 1, w);
    group_.slots[r] = values.data();
    group_.barrier.arrive_and_wait();  // every buffer is in its slot
    const T* from_left = static_cast<const T*>(group_.slots[left]);
    // In a step, thread r writes the chunk its left neighbour sends, and its right
    // neighbour reads the chunk r sends: never the same chunk, so no step races.
    for (int s = 0; s < w - 1; ++s) {  // reduce-scatter
      const auto [b, e] = chunk(n, w, reduce_scatter_chunk(left, s, w));
      for (std::int64_t i = b; i < e; ++i) values[i] += from_left[i];
      sent_ += chunk_size(n, w, reduce_scatter_chunk(r, s, w));  // what r's right neighbour reads
      group_.barrier.arrive_and_wait();
    }
    for (int s = 0; s < w - 1; ++s) {  // all-gather
      const auto [b, e] = chunk(n, w, all_gather_chunk(left, s, w));
      std::copy(from_left + b, from_left + e, values.data() + b);
      sent_ += chunk_size(n, w, all_gather_chunk(r, s, w));
      group_.barrier.arrive_and_wait();  // the last one: nobody reads a buffer any more
    }
  }

  template <class T>
  void broadcast_from(std::span<T> values, int root) {
    group_.slots[rank_] = values.data();
    group_.barrier.arrive_and_wait();
    if (rank_ != root) {
      const T* source = static_cast<const T*>(group_.slots[root]);
      std::copy(source, source + values.size(), values.data());
    }
    group_.barrier.arrive_and_wait();  // every copy is done
  }

  ThreadGroup& group_;
  int rank_;
  std::int64_t sent_ = 0;
};

/// Runs `body` on W threads, each with its own communicator, as `mpirun -np W` runs W
/// processes. An exception on one thread ends the program (the others would wait forever
/// at their next collective), as `zoo train ... --distributed` ends all its processes.
void run_on_threads(int w, const std::function<void(ThreadCommunicator&)>& body) {
  ThreadGroup group(w);
  std::vector<std::thread> threads;
  for (int r = 0; r < w; ++r)
    threads.emplace_back([&group, &body, r] {
      ThreadCommunicator comm(group, r);
      try {
        body(comm);
      } catch (const std::exception& e) {
        fmt::print("\nerror on thread {} of {}: {}\n", r, group.size, e.what());
        comm.abort(1);
      }
    });
  for (std::thread& t : threads) t.join();
}

/// One zoo thread per lesson thread while alive: W threads that each started a team of
/// OpenMP threads would put W teams on the same cores (one pool, one count).
class OneThreadEach {
 public:
  OneThreadEach() : saved_(num_threads()) { set_num_threads(1); }
  ~OneThreadEach() { set_num_threads(saved_); }
  OneThreadEach(const OneThreadEach&) = delete;
  OneThreadEach& operator=(const OneThreadEach&) = delete;

 private:
  int saved_;
};

/// W threads, each with its own CNN, do what W processes do for one batch: broadcast rank
/// 0's weights, compute the gradient of their part, all-reduce it in buckets. The result is
/// compared with the gradient of the whole batch in one process.
void buckets_on_threads(lesson::Lesson& lesson, const nn::MnistData& train) {
  const int w = 4;
  const std::int64_t n = 14, cap = std::int64_t{256} << 10;
  const Tensor x = train.images.narrow(0, 0, n), y = train.labels.narrow(0, 0, n);

  // One replica per thread, each initialised from its own seed, as separate processes
  // would be; and the one-process reference, from rank 0's seed.
  std::vector<std::shared_ptr<nn::Sequential>> replicas;
  for (int r = 0; r < w; ++r) {
    manual_seed(100 + static_cast<std::uint64_t>(r));
    replicas.push_back(models::make_cnn(0.0));
  }
  manual_seed(100);
  auto reference = models::make_cnn(0.0);
  const std::vector<Tensor> g = gradient(*reference, x, y);  // all n images at once
  const std::uint64_t reference_print = nn::GradientBuckets(reference->parameters()).fingerprint();

  // Each thread's part of the batch: contiguous, as even as can be (as the DataLoader cuts).
  std::vector<Tensor> xs, ys;
  for (int r = 0; r < w; ++r) {
    const auto [b, e] = models::split_evenly(n, r, w);
    xs.push_back(x.narrow(0, b, e - b));
    ys.push_back(y.narrow(0, b, e - b));
  }

  struct Rank {
    std::uint64_t before = 0, after = 0;  // fingerprints of the weights
    std::int64_t part = 0, sent = 0;
    double weight = 0;
    std::vector<Tensor> grad;
  };
  std::vector<Rank> ranks(w);
  {
    const OneThreadEach one_each;
    run_on_threads(w, [&](ThreadCommunicator& comm) {
      const int r = comm.rank();
      nn::Module& model = *replicas[r];
      Rank& me = ranks[r];
      nn::GradientBuckets buckets(model.parameters(), cap);
      me.before = buckets.fingerprint();
      buckets.broadcast_parameters(comm);  // every replica now holds rank 0's weights
      me.after = buckets.fingerprint();

      model.zero_grad();
      cross_entropy(model(xs[r]), ys[r]).backward();  // g_r: the mean over this part
      me.part = xs[r].size(0);
      me.weight = static_cast<double>(me.part) / static_cast<double>(n);
      const std::int64_t sent_before = comm.elements_sent();
      buckets.all_reduce(comm, me.weight);  // grad = Σ_r (n_r / n) g_r, on every thread
      me.sent = comm.elements_sent() - sent_before;
      for (const Tensor& p : model.parameters()) me.grad.push_back(p.grad());
    });
  }

  const auto bucket_count =
      static_cast<std::int64_t>(nn::GradientBuckets(reference->parameters(), cap).buckets().size());
  const double formula = 2.0 * (w - 1) / w * static_cast<double>(reference->num_parameters());
  fmt::print("\n{} threads, a batch of {} images, buckets of {} ({} all-reduces):\n", w, n, bytes_label(cap),
             bucket_count);
  fmt::print("  rank   n_r   n_r/n    weights before      after broadcast     elements sent\n");
  bool in_step = true, identical = true, sent_ok = true;
  std::vector<std::uint64_t> befores;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const Rank& me = ranks[r];
    fmt::print("  {:>4}   {:>3}   {:.3f}    {:016x}    {:016x}    {}\n", r, me.part, me.weight, me.before, me.after,
               me.sent);
    befores.push_back(me.before);
    in_step = in_step && me.after == reference_print;
    identical = identical && max_abs_diff(me.grad, ranks[0].grad) == 0;
    sent_ok = sent_ok && std::abs(static_cast<double>(me.sent) - formula) <= 2.0 * static_cast<double>(bucket_count);
  }
  const double diff = max_abs_diff(ranks[0].grad, g), scale = max_abs(g);
  fmt::print("  2 (W-1)/W N = {:.1f} for N = {} gradient elements\n", formula, reference->num_parameters());
  fmt::print("  max |g_threads - g_one_process| = {:.2e}, max |g| = {:.3e}\n\n", diff, scale);
  std::sort(befores.begin(), befores.end());
  lesson.check(std::adjacent_find(befores.begin(), befores.end()) == befores.end(),
               "the replicas start from different weights (their own seeds)");
  lesson.check(in_step, "after broadcast_parameters every replica holds rank 0's weights");
  lesson.check(identical, "after all_reduce every thread holds bit for bit the same gradient");
  lesson.check(diff <= 1e-5 * scale,
               "and it is the gradient of the whole batch in one process, up to float32 rounding");
  lesson.check(sent_ok, "each thread sent 2 (W-1)/W N elements, as 17.2 counted (within 2 per bucket)");
}

void buckets_section(lesson::Lesson& lesson, const nn::MnistData& train) {
  lesson.section("17.3 Buckets, and the ring on threads");
  bucket_layouts(lesson);
  buckets_on_threads(lesson, train);
}

// ---------------------------------------------------------------------------
// 17.4 How zoo trains with it
// ---------------------------------------------------------------------------

/// The DataLoader's parts of each batch (num_replicas, rank) against one loader with a
/// batch W times larger.
void sharded_batches(lesson::Lesson& lesson) {
  // Ten examples whose target is their own index, so a batch shows which examples it holds.
  const std::int64_t n = 10, batch_size = 2;
  const int w = 3;
  const auto data = std::make_shared<nn::TensorDataset>(arange(n).to(kFloat32).unsqueeze(1), arange(n));
  nn::DataLoader one(data, {.batch_size = batch_size * w, .seed = 5, .prefetch = false});
  std::vector<std::unique_ptr<nn::DataLoader>> parts;
  for (int r = 0; r < w; ++r)
    parts.push_back(std::make_unique<nn::DataLoader>(data, nn::DataLoaderOptions{.batch_size = batch_size,
                                                                                  .seed = 5,
                                                                                  .prefetch = false,
                                                                                  .num_replicas = w,
                                                                                  .rank = r}));

  const auto targets = [](nn::DataLoader& loader) {
    std::vector<std::vector<std::int64_t>> batches;
    for (const nn::Example& batch : loader) batches.push_back(batch.target.to_vector<std::int64_t>());
    return batches;
  };
  const std::vector<std::int64_t> order = one.epoch_order(0);
  const auto whole = targets(one);
  std::vector<std::vector<std::vector<std::int64_t>>> shards;
  for (auto& loader : parts) shards.push_back(targets(*loader));

  fmt::print("{} examples, {} processes with --batch-size {}; epoch 0 visits them in the order {}\n", n, w,
             batch_size, order);
  bool same = true, positions = true;
  std::vector<std::int64_t> seen(n, 0);
  for (std::size_t k = 0; k < whole.size(); ++k) {
    std::vector<std::int64_t> joined;
    const auto batch = static_cast<std::int64_t>(k);
    std::string line = fmt::format("  batch {} (n = {}):", k, parts[0]->global_batch_size(batch));
    for (std::size_t r = 0; r < shards.size(); ++r) {
      const std::vector<std::int64_t>& mine = shards[r][k];
      line += fmt::format("  process {} {}", r, mine);
      joined.insert(joined.end(), mine.begin(), mine.end());
      const auto [b, e] = parts[r]->shard_of_batch(batch);
      positions = positions && std::equal(mine.begin(), mine.end(), order.begin() + b, order.begin() + e);
      for (const std::int64_t i : mine) ++seen[i];
    }
    fmt::print("{}   one process, batch {}: {}\n", line, batch_size * w, whole[k]);
    same = same && joined == whole[k];
  }
  lesson.check(same, "the processes' parts of batch k, side by side, are batch k of one loader W times larger");
  lesson.check(positions, "each part is the positions shard_of_batch(k) of the epoch's order");
  lesson.check(std::all_of(seen.begin(), seen.end(), [](std::int64_t c) { return c == 1; }),
               "together the processes see every example once per epoch");
}

/// The training loop's step written out on W threads with batch B each, against
/// run_training_loop in one process with batch W·B: the same losses and weights.
void training_loop(lesson::Lesson& lesson, const nn::MnistData& train, const fs::path& tmp) {
  const int w = 3;
  const std::int64_t batch_size = 16, epochs = lesson.quick() ? 1 : 3;
  const std::uint64_t seed = 7;
  const double lr = 0.05, momentum = 0.9;
  const auto dataset = std::make_shared<nn::TensorDataset>(train.images, train.labels);

  // One process: zoo's own loop, with a batch of W·B.
  manual_seed(seed);
  auto single = models::make_cnn(0.0);
  optim::SGD single_optimizer(single->named_parameters(), optim::SGDOptions(lr).momentum(momentum));
  std::vector<double> single_losses;
  models::TrainingHooks hooks;
  hooks.loss = [&](const nn::Example& batch) { return cross_entropy((*single)(batch.input), batch.target); };
  hooks.progress_fields = [&](double loss) {  // called once per step with the step's loss
    single_losses.push_back(loss);
    return std::string();
  };
  const models::TrainingLoopOptions options{.label = "cnn", .epochs = epochs, .out = tmp.string(), .quiet = true,
                                            .seed = seed};
  const models::TrainingLoopResult result = models::run_training_loop(
      options, *single, single_optimizer, dataset, {.batch_size = batch_size * w, .seed = seed}, hooks);

  // W threads with a batch of B each: the loop's step, written out.
  std::vector<std::shared_ptr<nn::Sequential>> replicas;
  for (int r = 0; r < w; ++r) {
    manual_seed(seed + static_cast<std::uint64_t>(r));  // rank 0 draws what the one process drew
    replicas.push_back(models::make_cnn(0.0));
  }
  std::vector<double> losses;                        // rank 0 keeps the record
  std::vector<std::vector<std::string>> fingerprints;  // per epoch, every rank's
  {
    const OneThreadEach one_each;
    run_on_threads(w, [&](ThreadCommunicator& comm) {
      nn::Module& model = *replicas[comm.rank()];
      optim::SGD optimizer(model.named_parameters(), optim::SGDOptions(lr).momentum(momentum));
      // This rank's part of every batch of batch_size · W (what the loop sets up).
      nn::DataLoader loader(dataset,
                            {.batch_size = batch_size, .seed = seed, .num_replicas = w, .rank = comm.rank()});
      nn::GradientBuckets buckets(model.parameters());
      buckets.broadcast_parameters(comm);  // everyone starts from rank 0's weights
      for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
        std::int64_t k = 0;
        for (const nn::Example& batch : loader) {  // this rank's part of batch k
          const std::int64_t n = loader.global_batch_size(k++), part = batch.input.size(0);
          optimizer.zero_grad();
          double loss_value = 0;
          if (part > 0) {
            const Tensor loss = cross_entropy(model(batch.input), batch.target);
            loss.backward();
            loss_value = loss.item();
          }
          const double share = static_cast<double>(part) / static_cast<double>(n);
          buckets.all_reduce(comm, share);  // g = Σ_r (n_r / n) g_r everywhere
          std::array<double, 1> mean_loss{share * loss_value};
          comm.all_reduce_sum(mean_loss);
          optimizer.step();  // the same step on every rank
          if (comm.is_main()) losses.push_back(mean_loss[0]);
        }
        // After each epoch, as the loop does: are the replicas still in step?
        const std::vector<std::string> prints = comm.gather(fmt::format("{:016x}", buckets.fingerprint()), 0);
        if (comm.is_main()) fingerprints.push_back(prints);
      }
    });
  }

  // What each step's batch was made of.
  std::vector<std::unique_ptr<nn::DataLoader>> loaders;
  for (int r = 0; r < w; ++r)
    loaders.push_back(std::make_unique<nn::DataLoader>(
        dataset, nn::DataLoaderOptions{.batch_size = batch_size, .seed = seed, .num_replicas = w, .rank = r}));
  const std::int64_t per_epoch = loaders[0]->num_batches();
  fmt::print("\n{} images, SGD (lr {}, momentum {}), {} epoch{}; the loss of every step:\n", dataset->size(), lr,
             momentum, epochs, epochs == 1 ? "" : "s");
  fmt::print("  step   n (parts)       {} threads, batch {} each   one process, batch {} (run_training_loop)\n", w,
             batch_size, batch_size * w);
  double loss_diff = 0;
  for (std::size_t s = 0; s < losses.size() && s < single_losses.size(); ++s) {
    const auto k = static_cast<std::int64_t>(s) % per_epoch;
    std::vector<std::int64_t> sizes;
    for (const auto& loader : loaders) {
      const auto [b, e] = loader->shard_of_batch(k);
      sizes.push_back(e - b);
    }
    const std::string batch = fmt::format("{} ({})", loaders[0]->global_batch_size(k), fmt::join(sizes, "+"));
    fmt::print("  {:>4}   {:<13}   {:<27.6f}{:.6f}\n", s + 1, batch, losses[s], single_losses[s]);
    loss_diff = std::max(loss_diff, std::abs(losses[s] - single_losses[s]));
  }
  for (std::size_t e = 0; e < fingerprints.size(); ++e)
    fmt::print("  after epoch {}: fingerprints {}\n", e + 1, fingerprints[e]);
  const double weight_diff = max_abs_diff(weights(*replicas[0]), weights(*single));
  fmt::print("  largest |loss difference| {:.2e}; largest |weight difference| {:.2e} (largest |weight| {:.3f})\n",
             loss_diff, weight_diff, max_abs(weights(*single)));

  bool in_step = fingerprints.size() == static_cast<std::size_t>(epochs);
  for (const auto& prints : fingerprints)
    in_step = in_step && std::all_of(prints.begin(), prints.end(),
                                     [&](const std::string& p) { return p == prints[0]; });
  lesson.check(losses.size() == single_losses.size() && result.steps == static_cast<std::int64_t>(losses.size()),
               "W processes with batch B take as many steps as one process with batch W B");
  lesson.check(in_step, "after every epoch the W replicas' weights are bit for bit the same");
  lesson.check(loss_diff < 1e-4 && weight_diff < 1e-4,
               "and they follow the one-process run of batch W B (losses and weights within 1e-4)");
}

void zoo_trains(lesson::Lesson& lesson, const nn::MnistData& train, const fs::path& tmp) {
  lesson.section("17.4 How zoo trains with it");
  sharded_batches(lesson);
  training_loop(lesson, train, tmp);

  fmt::print("\n");
  if (nn::built_with_mpi()) {
    fmt::print("this zoo was built with MPI: mpirun -np 2 ./build/zoo train cnn --distributed --threads 1\n");
  } else {
    fmt::print("this zoo was built without MPI; asking for the processes of mpirun says so:\n");
    const std::string message = lesson.expect_error([] { nn::mpi_world(); });
    lesson.check(lesson::contains(message, "built without"),
                 "a build without MPI refuses --distributed, and says why");
  }
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    const nn::MnistData train = load_fixture();
    // run_training_loop writes its files here; removed at the end, even after an error.
    const lesson::TempDir tmp_dir(fs::temp_directory_path() / fmt::format("zoo_tutorial_17_{}", getpid()));

    averaging(lesson, train);
    ring_all_reduce(lesson);
    buckets_section(lesson, train);
    zoo_trains(lesson, train, tmp_dir.path);
  });
}
