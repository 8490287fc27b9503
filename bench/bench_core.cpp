/// @file bench_core.cpp
/// @brief Core speed of zoo: matmul GFLOP/s and element-wise / reduction GB/s.
///
/// Each matmul workload is also timed as a raw `cblas_sgemm` call on preallocated
/// buffers (impl "openblas"): the floor that zoo's matmul overhead should approach.
/// bench/bench_core.py times the same workloads in PyTorch; bench/compare.py puts both
/// side by side. See bench/README.md.
///
///   bench_core [--threads N] [--json] [--min-time SECONDS] [--filter SUBSTRING]
///
/// With --json, one JSON object per line and workload:
///   {"impl": "zoo", "threads": 2, "name": "matmul_512", "shape": "512x512 @ 512x512",
///    "seconds": 1.2e-3, "iters": 250, "unit": "GFLOP/s", "rate": 223.5}
/// `seconds` is the median time of one iteration; `rate` is the work of one iteration
/// (2mnk flops for a product; bytes read + written for the memory-bound ops) divided by it.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <cblas.h>

#include "autograd/ops.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int threads = 0;  // 0: keep zoo's default (ZOO_NUM_THREADS, else all cores)
  bool json = false;
  double min_time = 0.3;  // seconds of timed repetitions per workload and impl
  std::string filter;
};

struct Timing {
  double seconds = 0;  // median of one iteration
  std::int64_t iters = 0;
};

double time_once(const std::function<void()>& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Warm-up (at least 3 calls and ~10% of the budget), then enough timed repetitions to
/// fill `min_time` (at least 5), each timed on its own; returns their median.
Timing measure(const std::function<void()>& fn, double min_time) {
  double warm = 0, fastest = INFINITY;
  for (int i = 0; i < 3 || warm < 0.1 * min_time; ++i) {
    const double t = time_once(fn);
    warm += t;
    fastest = std::min(fastest, t);
    if (i >= 1000) break;
  }
  const auto reps = static_cast<std::int64_t>(
      std::clamp(min_time / std::max(fastest, 1e-9), 5.0, 100000.0));
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(reps));
  for (std::int64_t i = 0; i < reps; ++i) samples.push_back(time_once(fn));
  std::nth_element(samples.begin(), samples.begin() + reps / 2, samples.end());
  return {samples[static_cast<std::size_t>(reps / 2)], reps};
}

/// One workload: the zoo call, and for products the raw cblas call doing the same math.
struct Workload {
  std::string name;
  std::string shape;
  std::string unit;  // "GFLOP/s" or "GB/s"
  double work = 0;   // flops or bytes per iteration
  std::function<void()> zoo;
  std::function<void()> raw;  // empty when there is no raw-BLAS counterpart
};

void report(const Options& opt, const Workload& w, const char* impl, const Timing& t) {
  const double rate = w.work / t.seconds / 1e9;
  if (opt.json) {
    std::printf(
        "{\"impl\": \"%s\", \"threads\": %d, \"name\": \"%s\", \"shape\": \"%s\", "
        "\"seconds\": %.6e, \"iters\": %lld, \"unit\": \"%s\", \"rate\": %.4f}\n",
        impl, zoo::num_threads(), w.name.c_str(), w.shape.c_str(), t.seconds,
        static_cast<long long>(t.iters), w.unit.c_str(), rate);
  } else {
    std::printf("%-10s %-22s %-28s %10.1f us  %9.2f %s\n", impl, w.name.c_str(),
                w.shape.c_str(), t.seconds * 1e6, rate, w.unit.c_str());
  }
  std::fflush(stdout);
}

void report_error(const Options& opt, const Workload& w, const char* impl, const char* what) {
  if (opt.json) {
    std::string msg(what);
    std::replace(msg.begin(), msg.end(), '"', '\'');
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    std::printf("{\"impl\": \"%s\", \"threads\": %d, \"name\": \"%s\", \"shape\": \"%s\", "
                "\"error\": \"%s\"}\n",
                impl, zoo::num_threads(), w.name.c_str(), w.shape.c_str(), msg.c_str());
  } else {
    std::printf("%-10s %-22s %-28s ERROR: %s\n", impl, w.name.c_str(), w.shape.c_str(), what);
  }
  std::fflush(stdout);
}

float* data(const zoo::Tensor& t) { return t.data_ptr<float>(); }

/// Checks once, before timing, that zoo's product and the raw call agree, so that the
/// two columns of the table are the same computation.
void check_close(const std::string& name, const zoo::Tensor& got, const std::vector<float>& want) {
  const std::vector<float> g = got.to_vector<float>();
  if (g.size() != want.size()) throw std::runtime_error(name + ": result sizes differ");
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!(std::fabs(g[i] - want[i]) <= 1e-3f + 1e-3f * std::fabs(want[i])))
      throw std::runtime_error(name + ": zoo and raw sgemm disagree at element " +
                               std::to_string(i));
}

/// A product of row-major operands as seen by BLAS: C(m×n) = op(A)·op(B), each operand
/// stored as given (op = transpose where flagged) with its natural leading dimension.
Workload gemm_workload(const std::string& name, const std::string& shape, std::int64_t m,
                       std::int64_t n, std::int64_t k, bool ta, bool tb) {
  // Storage as PyTorch/zoo would hold it: A is (k×m) when transposed, else (m×k).
  zoo::Tensor a = ta ? zoo::randn({k, m}) : zoo::randn({m, k});
  zoo::Tensor b = tb ? zoo::randn({n, k}) : zoo::randn({k, n});
  const zoo::Tensor a_op = ta ? a.t() : a;  // views: no copy, zoo hands BLAS the flag
  const zoo::Tensor b_op = tb ? b.t() : b;
  auto c = std::make_shared<std::vector<float>>(static_cast<std::size_t>(m * n));
  const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;

  Workload w;
  w.name = name;
  w.shape = shape;
  w.unit = "GFLOP/s";
  w.work = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  w.zoo = [a_op, b_op] { zoo::Tensor out = zoo::matmul(a_op, b_op); };
  w.raw = [=] {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f,
                data(a), static_cast<blasint>(lda), data(b), static_cast<blasint>(ldb), 0.0f,
                c->data(), static_cast<blasint>(n));
  };
  w.raw();
  check_close(name, zoo::matmul(a_op, b_op), *c);
  return w;
}

/// (batch, m, k) @ (batch, k, n): zoo's matmul against the best plain use of OpenBLAS for
/// many mid-sized products: whole products per thread (an OpenMP loop over the batch, in
/// which OpenBLAS runs single-threaded), not one product after another with BLAS's
/// threads inside each, which pays a fork and join per product.
Workload bmm_workload(std::int64_t batch, std::int64_t m, std::int64_t k, std::int64_t n) {
  zoo::Tensor a = zoo::randn({batch, m, k});
  zoo::Tensor b = zoo::randn({batch, k, n});
  auto c = std::make_shared<std::vector<float>>(static_cast<std::size_t>(batch * m * n));
  Workload w;
  w.name = "bmm";
  w.shape = std::to_string(batch) + "x" + std::to_string(m) + "x" + std::to_string(k) + " @ " +
            std::to_string(batch) + "x" + std::to_string(k) + "x" + std::to_string(n);
  w.unit = "GFLOP/s";
  w.work = 2.0 * static_cast<double>(batch * m * n * k);
  w.zoo = [a, b] { zoo::Tensor out = zoo::matmul(a, b); };
  w.raw = [=] {
    const float* pa = data(a);
    const float* pb = data(b);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < batch; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m),
                  static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, pa + i * m * k,
                  static_cast<blasint>(k), pb + i * k * n, static_cast<blasint>(n), 0.0f,
                  c->data() + i * m * n, static_cast<blasint>(n));
  };
  w.raw();
  check_close("bmm", zoo::matmul(a, b), *c);
  return w;
}

Workload memory_workload(const std::string& name, const std::string& shape, double bytes,
                         std::function<void()> fn) {
  Workload w;
  w.name = name;
  w.shape = shape;
  w.unit = "GB/s";
  w.work = bytes;
  w.zoo = std::move(fn);
  return w;
}

std::vector<Workload> make_workloads() {
  std::vector<Workload> ws;
  for (std::int64_t s : {256, 512, 1024}) {
    const std::string d = std::to_string(s);
    ws.push_back(gemm_workload("matmul_" + d, d + "x" + d + " @ " + d + "x" + d, s, s, s, false,
                               false));
  }
  // Linear-like: x (256×784), weight W (784×512), output gradient g (256×512).
  ws.push_back(gemm_workload("linear_fwd", "256x784 @ 784x512", 256, 512, 784, false, false));
  ws.push_back(gemm_workload("linear_dx_ABt", "256x512 @ (784x512)^T", 256, 784, 512, false,
                             true));
  ws.push_back(gemm_workload("linear_dW_AtB", "(256x784)^T @ 256x512", 784, 512, 256, true,
                             false));
  ws.push_back(bmm_workload(64, 128, 64, 128));

  constexpr std::int64_t kN = 4 * 1024 * 1024;  // 4M elements
  constexpr double kF = sizeof(float);
  const zoo::Tensor a = zoo::randn({kN}), b = zoo::randn({kN});
  const zoo::Tensor m = zoo::randn({4096, 1024}), v = zoo::randn({1024});
  const std::string n4m = "4194304";
  ws.push_back(memory_workload("add", n4m + " + " + n4m, 3 * kN * kF,
                               [=] { zoo::Tensor o = a + b; }));
  ws.push_back(memory_workload("mul_scalar", n4m + " * 2.0", 2 * kN * kF,
                               [=] { zoo::Tensor o = a * 2.0; }));
  ws.push_back(memory_workload("exp", n4m, 2 * kN * kF, [=] { zoo::Tensor o = zoo::exp(a); }));
  ws.push_back(memory_workload("relu", n4m, 2 * kN * kF, [=] { zoo::Tensor o = zoo::relu(a); }));
  ws.push_back(memory_workload("sigmoid", n4m, 2 * kN * kF,
                               [=] { zoo::Tensor o = zoo::sigmoid(a); }));
  ws.push_back(memory_workload("add_broadcast", "4096x1024 + 1024",
                               (2.0 * 4096 * 1024 + 1024) * kF,
                               [=] { zoo::Tensor o = m + v; }));
  ws.push_back(memory_workload("sum_all", n4m, (kN + 1) * kF,
                               [=] { zoo::Tensor o = zoo::sum(a); }));
  ws.push_back(memory_workload("sum_lastdim", "4096x1024 -> 4096", (4096.0 * 1024 + 4096) * kF,
                               [=] { zoo::Tensor o = zoo::sum(m, {-1}); }));
  return ws;
}

/// The command line, parsed by CLI11 (as the `zoo` command is).
Options parse(int argc, char** argv) {
  Options opt;
  CLI::App app{"zoo bench_core: matmul GFLOP/s and element-wise GB/s, zoo and raw OpenBLAS"};
  app.add_option("--threads", opt.threads, "Threads (0: ZOO_NUM_THREADS or all cores)");
  app.add_flag("--json", opt.json, "One JSON object per workload instead of a table");
  app.add_option("--min-time", opt.min_time, "Seconds of timed repetitions per workload")
      ->check(CLI::PositiveNumber);
  app.add_option("--filter", opt.filter, "Only workloads whose name contains this");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (opt.threads > 0) zoo::set_num_threads(opt.threads);
  zoo::manual_seed(0);
  // Inputs never require grad, but say it anyway: this measures the forward kernels.
  zoo::NoGradGuard no_grad;

  std::vector<Workload> workloads;
  try {
    workloads = make_workloads();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_core: setting up the workloads failed: %s\n", e.what());
    return 1;
  }
  if (!opt.json)
    std::printf("zoo bench_core: %d thread(s), median of repetitions filling %.2f s each\n",
                zoo::num_threads(), opt.min_time);
  for (const Workload& w : workloads) {
    if (!opt.filter.empty() && w.name.find(opt.filter) == std::string::npos) continue;
    try {
      report(opt, w, "zoo", measure(w.zoo, opt.min_time));
    } catch (const std::exception& e) {
      report_error(opt, w, "zoo", e.what());
    }
    if (w.raw) report(opt, w, "openblas", measure(w.raw, opt.min_time));
  }
  return 0;
}
