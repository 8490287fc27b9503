/// @file bench_transformer.cpp
/// @brief Training speed of the transformer language model, dense and mixture-of-experts:
/// tokens/s of zoo's training step.
///
/// The models are the defaults of `zoo train transformer` and `zoo train moe`
/// (models/transformer/config.h): V = 4096, d = 256, L = 4 blocks, H = 4 heads, context
/// T = 128, RMSNorm (ε 1e-5), RoPE (base 10000), tied embedding, no biases, and
///   - dense: a SwiGLU feed-forward of 768 hidden units;
///   - moe: DeepSeekMoE, 16 routed SwiGLU experts of 192 units, top-3, one shared expert
///     of 192 units, sigmoid gating normalised over the chosen 3, auxiliary-loss-free
///     balancing (bias rate 1e-3): the same active parameters as dense.
/// The step is the one of models/transformer/train.cpp: forward, cross-entropy over the
/// B·T positions (+ the MoE auxiliary loss, none with bias balancing), `zero_grad`,
/// backward, `clip_grad_norm_(1.0)`, AdamW (lr 1e-3, betas 0.9/0.95, weight decay 0.01)
/// step, `update_bias()` of every MoE layer, `ce.item()`. The learning-rate schedule is
/// left out (here and in PyTorch): it sets one number per step.
///
/// Batches: B = 32 windows of T + 1 tokens drawn by splitmix64 from a fixed seed (inputs
/// the first T, targets the last T); bench/transformer_torch.py draws the very same tokens.
/// Each run builds a fresh model (seed 0) and optimizer, trains `--warmup` steps untimed,
/// then times `--steps` steps; the reported rate is the median over `--runs`.
///
///   bench_transformer [--model dense|moe|all] [--threads N] [--steps 20] [--warmup 3]
///                     [--runs 1] [--json] [--phases] [--max-foreign 0.15] [--retries 6]
///
/// With --json, one JSON object per line and model, in bench/compare.py's format:
///   {"impl": "zoo", "threads": 1, "name": "train_dense", "shape": "B 32, T 128",
///    "seconds": 0.25, "ms_per_step": 250.0, "iters": 20, "unit": "tokens/s",
///    "rate": 16384.0, "parameters": 4458752, "runs": [...], "foreign_load": [...],
///    "rejected_runs": 0, "cpu_use": 1.0}
/// `seconds` is one step in the median run; `foreign_load` (per run) the CPU time other
/// processes used during the timed steps, in cores (see bench_train.cpp: a run above
/// `--max-foreign` is redone, at most `--retries` times); `cpu_use` this process's CPU
/// seconds per wall second.
///
/// With --phases, instead: the mean time per step of each phase of the step (forward
/// with the loss, backward with zero_grad, clipping, the optimizer step, the bias update
/// with `item()`), one line per phase ({"impl", "threads", "name", "part", "ms"} with
/// --json), to compare with transformer_torch.py --phases.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "autograd/ops.h"
#include "models/transformer/model.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kBatch = 32;        // B
constexpr std::uint64_t kDataSeed = 1234;  // the token stream (same in transformer_torch.py)
constexpr std::int64_t kDistinctBatches = 16;

struct Options {
  std::vector<std::string> models = {"dense", "moe"};
  int threads = 0;  // 0: zoo's default (ZOO_NUM_THREADS, else all cores)
  int steps = 20;
  int warmup = 3;
  int runs = 1;
  bool json = false;
  bool phases = false;
  double max_foreign = 0.15;
  int retries = 6;
};

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// CPU seconds other processes used per wall second (as in bench_train.cpp).
class ForeignLoad {
 public:
  ForeignLoad() : busy0_(busy_seconds()), self0_(self_seconds()), t0_(Clock::now()) {}
  double get() const {
    const double wall = since(t0_);
    if (busy0_ < 0 || wall <= 0) return -1;
    return std::max(0.0, (busy_seconds() - busy0_) - (self_seconds() - self0_)) / wall;
  }
  double own() const {
    const double wall = since(t0_);
    return wall > 0 ? (self_seconds() - self0_) / wall : -1;
  }

 private:
  static double busy_seconds() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)) return -1;
    return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  static double self_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * t.tv_usec; };
    return s(u.ru_utime) + s(u.ru_stime);
  }
  double busy0_, self0_;
  Clock::time_point t0_;
};

/// The sizes of `zoo train transformer` (dense) or `zoo train moe`.
zoo::models::TransformerConfig config_for(const std::string& name) {
  zoo::models::TransformerConfig c;  // V 4096, d 256, L 4, H 4, T 128, ffn 768, eps 1e-5
  if (name == "moe") {
    c.moe.routed_experts = 16;
    c.moe.shared_experts = 1;
    c.moe.expert_hidden = 192;
    c.moe.top_k = 3;
    c.moe.gating = "sigmoid";
    c.moe.balance = "bias";
    c.moe.bias_update_rate = 1e-3;
  }
  return c;
}

/// splitmix64 (Steele et al. 2014): token i of the stream is splitmix64(seed·2⁴⁰ + i) mod V.
std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Batch b: B windows of T + 1 tokens, inputs x (B, T) and targets y (B, T), contiguous.
struct Batch {
  zoo::Tensor x, y;
};
std::vector<Batch> make_batches(std::int64_t count, std::int64_t T, std::int64_t V) {
  std::vector<Batch> batches;
  for (std::int64_t b = 0; b < count; ++b) {
    std::vector<std::int64_t> w(static_cast<std::size_t>(kBatch * (T + 1)));
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::uint64_t index = static_cast<std::uint64_t>(b) * w.size() + i;
      w[i] = static_cast<std::int64_t>(splitmix64((kDataSeed << 40) + index) % static_cast<std::uint64_t>(V));
    }
    const zoo::Tensor window = zoo::from_vector(w, {kBatch, T + 1});
    batches.push_back({window.narrow(1, 0, T).contiguous(), window.narrow(1, 1, T).contiguous()});
  }
  return batches;
}

/// The model and AdamW as train.cpp makes them.
struct Trainer {
  zoo::models::TransformerConfig config;
  std::unique_ptr<zoo::models::Transformer> model;
  std::unique_ptr<zoo::optim::Optimizer> optimizer;
  std::vector<std::shared_ptr<zoo::models::MoeFeedForward>> moe_layers;
  std::vector<zoo::Tensor> params;

  explicit Trainer(const std::string& name) : config(config_for(name)) {
    zoo::manual_seed(0);
    model = std::make_unique<zoo::models::Transformer>(config);
    model->train();
    optimizer = std::make_unique<zoo::optim::AdamW>(
        model->named_parameters(), zoo::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.01));
    moe_layers = model->moe_layers();
    params = model->parameters();
  }

  std::int64_t parameter_count() const {
    std::int64_t n = 0;
    for (const auto& p : params) n += p.numel();
    return n;
  }

  /// One step of train.cpp; `phase(i)` is called after each of its 5 phases.
  template <class Mark>
  double step(const Batch& batch, Mark&& phase) {
    using namespace zoo;
    const std::int64_t B = batch.x.size(0), T = batch.x.size(1), V = config.vocab_size;
    const models::TransformerOutput out = model->forward(batch.x, nullptr);
    const Tensor ce = cross_entropy(out.logits.reshape({B * T, V}), batch.y.reshape({B * T}));
    const Tensor loss = out.aux_loss.defined() ? ce + out.aux_loss : ce;
    phase(0);
    optimizer->zero_grad();
    loss.backward();
    phase(1);
    optim::clip_grad_norm_(params, 1.0);
    phase(2);
    optimizer->step();
    phase(3);
    for (const auto& layer : moe_layers) layer->update_bias();
    const double value = ce.item();
    phase(4);
    return value;
  }
  double step(const Batch& batch) {
    return step(batch, [](int) {});
  }
};

/// Tokens/s of one run: warm-up steps, then timed steps.
double run_once(const std::string& name, const std::vector<Batch>& data, const Options& opt, double* step_seconds,
                double* foreign, double* cpu_use, std::int64_t* parameters) {
  Trainer t(name);
  *parameters = t.parameter_count();
  std::size_t b = 0;
  for (int i = 0; i < opt.warmup; ++i) t.step(data[b++ % data.size()]);
  double loss_sum = 0;
  const ForeignLoad load;
  const auto t0 = Clock::now();
  for (int i = 0; i < opt.steps; ++i) loss_sum += t.step(data[b++ % data.size()]);
  const double seconds = since(t0);
  *foreign = load.get();
  *cpu_use = load.own();
  if (!(loss_sum == loss_sum)) throw std::runtime_error("the loss became NaN");
  *step_seconds = seconds / opt.steps;
  const std::int64_t T = t.config.context;
  return static_cast<double>(opt.steps * kBatch * T) / seconds;
}

void measure(const std::string& name, const std::vector<Batch>& data, const Options& opt) {
  std::vector<double> rates, step_seconds, foreign, cpu_use;
  std::int64_t parameters = 0;
  int rejected = 0;
  while (static_cast<int>(rates.size()) < opt.runs) {
    double s = 0, f = 0, c = 0;
    const double rate = run_once(name, data, opt, &s, &f, &c, &parameters);
    if (f > opt.max_foreign && rejected < opt.retries) {  // another job shared the cores
      ++rejected;
      continue;
    }
    rates.push_back(rate);
    step_seconds.push_back(s);
    foreign.push_back(f);
    cpu_use.push_back(c);
  }
  std::vector<std::size_t> order(rates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return rates[a] < rates[b]; });
  const std::size_t mid = order[(order.size() - 1) / 2];  // the lower median
  const std::int64_t T = config_for(name).context;
  if (opt.json) {
    std::string runs, loads;
    for (double r : rates) runs += (runs.empty() ? "" : ", ") + fmt::format("{:.1f}", r);
    for (double f : foreign) loads += (loads.empty() ? "" : ", ") + fmt::format("{:.2f}", f);
    std::printf(
        "{\"impl\": \"zoo\", \"threads\": %d, \"name\": \"train_%s\", \"shape\": \"B %lld, T %lld\", "
        "\"seconds\": %.6e, \"ms_per_step\": %.2f, \"iters\": %d, \"unit\": \"tokens/s\", \"rate\": %.1f, "
        "\"parameters\": %lld, \"runs\": [%s], \"foreign_load\": [%s], \"rejected_runs\": %d, "
        "\"cpu_use\": %.2f}\n",
        zoo::num_threads(), name.c_str(), static_cast<long long>(kBatch), static_cast<long long>(T),
        step_seconds[mid], step_seconds[mid] * 1e3, opt.steps, rates[mid], static_cast<long long>(parameters),
        runs.c_str(), loads.c_str(), rejected, cpu_use[mid]);
  } else {
    std::printf("zoo  %-5s %d thread(s): %9.1f tokens/s  (%.1f ms/step; %lld parameters; runs:", name.c_str(),
                zoo::num_threads(), rates[mid], step_seconds[mid] * 1e3, static_cast<long long>(parameters));
    for (double r : rates) std::printf(" %.1f", r);
    std::printf("; other load:");
    for (double f : foreign) std::printf(" %.2f", f);
    std::printf("; %d run(s) redone; own CPU use %.2f)\n", rejected, cpu_use[mid]);
  }
  std::fflush(stdout);
}

/// The mean time per step of each phase of the step, over `opt.steps` steps after the
/// warm-up.
void phases(const std::string& name, const std::vector<Batch>& data, const Options& opt) {
  static const char* kParts[] = {"forward + loss", "zero_grad + backward", "clip_grad_norm", "AdamW step",
                                 "update_bias + item"};
  Trainer t(name);
  std::size_t b = 0;
  for (int i = 0; i < opt.warmup; ++i) t.step(data[b++ % data.size()]);
  std::vector<double> total(5, 0.0);
  const ForeignLoad load;
  const auto start = Clock::now();
  for (int i = 0; i < opt.steps; ++i) {
    auto t0 = Clock::now();
    t.step(data[b++ % data.size()], [&](int p) {
      const auto now = Clock::now();
      total[static_cast<std::size_t>(p)] += std::chrono::duration<double>(now - t0).count();
      t0 = now;
    });
  }
  const double whole = since(start);
  const double foreign = load.get();
  total.push_back(whole);
  for (std::size_t p = 0; p < total.size(); ++p) {
    const char* part = p < 5 ? kParts[p] : "step (all)";
    const double ms = total[p] / opt.steps * 1e3;
    if (opt.json)
      std::printf("{\"impl\": \"zoo\", \"threads\": %d, \"name\": \"%s\", \"part\": \"%s\", \"ms\": %.3f, "
                  "\"steps\": %d, \"foreign_load\": %.2f}\n",
                  zoo::num_threads(), name.c_str(), part, ms, opt.steps, foreign);
    else
      std::printf("zoo %-5s %d thread(s)  %-22s %9.2f ms\n", name.c_str(), zoo::num_threads(), part, ms);
  }
  if (!opt.json) std::printf("zoo %s: other load during the phases: %.2f\n", name.c_str(), foreign);
  std::fflush(stdout);
}

Options parse(int argc, char** argv) {
  Options opt;
  std::string model = "all";
  CLI::App app{"zoo bench_transformer: training tokens/s of the transformer language model, dense and MoE"};
  app.add_option("--model", model, "dense, moe, or all (both)")->check(CLI::IsMember({"dense", "moe", "all"}));
  app.add_option("--threads", opt.threads, "Threads (0: ZOO_NUM_THREADS or all cores)");
  app.add_option("--steps", opt.steps, "Timed steps per run")->check(CLI::PositiveNumber);
  app.add_option("--warmup", opt.warmup, "Untimed steps before them")->check(CLI::NonNegativeNumber);
  app.add_option("--runs", opt.runs, "Runs whose median is reported")->check(CLI::PositiveNumber);
  app.add_flag("--json", opt.json, "One JSON object per measurement");
  app.add_flag("--phases", opt.phases, "Time each phase of the step instead");
  app.add_option("--max-foreign", opt.max_foreign, "Redo a run if other jobs used more cores");
  app.add_option("--retries", opt.retries, "At most this many redone runs in all");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  if (model != "all") opt.models = {model};
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    if (opt.threads > 0) zoo::set_num_threads(opt.threads);
    const zoo::models::TransformerConfig c = config_for("dense");
    const std::vector<Batch> data =
        make_batches(std::min<std::int64_t>(kDistinctBatches, opt.warmup + opt.steps), c.context, c.vocab_size);
    if (!opt.json)
      std::printf("zoo bench_transformer: %d thread(s), B %lld, T %lld, %d warm-up + %d timed steps, "
                  "median of %d runs; token checksum %lld\n",
                  zoo::num_threads(), static_cast<long long>(kBatch), static_cast<long long>(c.context),
                  opt.warmup, opt.steps, opt.runs, static_cast<long long>(zoo::sum(data[0].x).item()));
    std::fflush(stdout);
    for (const std::string& name : opt.models) {
      if (opt.phases) phases(name, data, opt);
      else measure(name, data, opt);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_transformer: %s\n", e.what());
    return 1;
  }
  return 0;
}
