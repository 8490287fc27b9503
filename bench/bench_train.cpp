/// @file bench_train.cpp
/// @brief Training speed of the MNIST models: samples/s of zoo's training step.
///
/// The step is the one of `zoo train` (models/classifier/train.cpp): forward through
/// `make_mlp()` or `make_cnn()` in train mode (dropout on), cross-entropy, `zero_grad`,
/// backward, Adam (lr 1e-3) step, cosine schedule step, `loss.item()`. For `--model vae`
/// it is the one of `zoo train vae` (models/vae/train.cpp): binarise the batch, encode,
/// sample z, decode, −ELBO, backward, Adam (lr 1e-3, constant). For `--model unet`, DDPM's
/// step on the U-Net of models/unet (see `UnetTrainer`). Batches of 128
/// real MNIST training images (data/mnist, the IDX files), taken in file order: batch b
/// is images [128 b, 128 b + 128), so bench/bench_train.py feeds PyTorch exactly the
/// same pixels. Each run makes a fresh model and optimizer, trains `--warmup` steps
/// untimed, then times `--steps` steps; the rate reported is the median over `--runs`.
///
///   bench_train [--model mlp|cnn|vae|unet|all] [--threads N] [--steps 100] [--warmup 10]
///               [--runs 3] [--data DIR] [--json] [--profile]
///               [--max-foreign 0.15] [--retries 6]
///
/// With --json, one JSON object per line and model, in bench/compare.py's format:
///   {"impl": "zoo", "threads": 1, "name": "train_mlp", "shape": "batch 128",
///    "seconds": 5.1e-3, "iters": 100, "unit": "samples/s", "rate": 25000.0,
///    "runs": [24800.1, 25000.0, 25100.3], "foreign_load": [0.01, 0.0, 0.02],
///    "rejected_runs": 0, "cpu_use": 1.0}
/// `seconds` is the time of one step in the median run. `foreign_load`, per run, is the
/// CPU time that other processes used during the timed steps, in cores (from
/// /proc/stat): above ~0.1 the machine was not quiet and the number is noisy. A run
/// with more than `--max-foreign` is thrown away and done again, at most `--retries`
/// times per model (`rejected_runs` counts them); after that, runs are kept as they are.
/// `cpu_use` is this process's CPU time per wall second in the median run: about how
/// many threads were busy (a check that "1 thread" used one core).
///
/// With --profile, instead: where the time of a step goes. The model is cut at every
/// layer (each layer's input is a detached leaf), so each layer's forward and backward
/// can be timed on its own; the loss, zero_grad and the optimizer step are timed too.
/// One JSON line per part: {"impl": "zoo", "threads": 1, "name": "cnn", "part":
/// "fwd 0 Conv2d", "ms": 1.23, "steps": 100, "foreign_load": 0.01}; bench_train.py
/// --profile-table prints them as a table. Cutting the graph adds a little work (each
/// cut stores a gradient in a leaf's .grad); the line "step (uncut, as trained)" times
/// ordinary steps for comparison with "step (sum of parts + glue)".

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "autograd/ops.h"
#include "models/classifier/model.h"
#include "models/common/make_optimizer.h"
#include "models/ddpm/process.h"
#include "models/unet/unet.h"
#include "models/vae/train.h"
#include "nn/data/mnist.h"
#include "nn/optim/optim.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kBatch = 128;
constexpr double kLr = 1e-3;

struct Options {
  std::vector<std::string> models = {"mlp", "cnn"};
  int threads = 0;  // 0: zoo's default (ZOO_NUM_THREADS, else all cores)
  int steps = 100;
  int warmup = 10;
  int runs = 3;
  std::string data = "data/mnist";
  bool json = false;
  bool profile = false;
  double max_foreign = 0.15;  // a run during which other jobs used more CPU is redone...
  int retries = 6;            // ...at most this many times in all
};

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// How busy the machine is besides this process: CPU seconds spent by everything else
/// per wall second (0 = the cores were ours alone; 1 = another job used a whole core).
/// From /proc/stat (all CPUs) minus this process's own CPU time (getrusage).
class ForeignLoad {
 public:
  ForeignLoad() : busy0_(busy_seconds()), self0_(self_seconds()), t0_(Clock::now()) {}
  double get() const {
    const double wall = since(t0_);
    if (busy0_ < 0 || wall <= 0) return -1;  // no /proc/stat: unknown
    return std::max(0.0, (busy_seconds() - busy0_) - (self_seconds() - self0_)) / wall;
  }
  /// This process's own CPU seconds per wall second: about the number of busy threads.
  double own() const {
    const double wall = since(t0_);
    return wall > 0 ? (self_seconds() - self0_) / wall : -1;
  }

 private:
  static double busy_seconds() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal))
      return -1;
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

/// Batch b of the data in file order (wrapping around): views, no copy.
struct Batches {
  zoo::Tensor images, labels;
  std::int64_t count() const { return images.size(0) / kBatch; }
  zoo::Tensor x(std::int64_t b) const { return images.narrow(0, (b % count()) * kBatch, kBatch); }
  zoo::Tensor y(std::int64_t b) const { return labels.narrow(0, (b % count()) * kBatch, kBatch); }
};

/// A model, Adam over its parameters and the cosine schedule, as `zoo train` makes them.
struct Trainer {
  std::shared_ptr<zoo::nn::Sequential> model;
  std::unique_ptr<zoo::optim::Optimizer> optimizer;
  std::unique_ptr<zoo::optim::CosineAnnealingLR> schedule;

  Trainer(const std::string& name, std::int64_t total_steps) {
    zoo::manual_seed(0);
    model = zoo::models::make_classifier(name);
    model->train();
    optimizer = zoo::models::make_optimizer("adam", model->named_parameters(), kLr);
    schedule = std::make_unique<zoo::optim::CosineAnnealingLR>(*optimizer, total_steps);
  }

  /// One training step, exactly as in models/classifier/train.cpp; returns the loss.
  double step(const zoo::Tensor& x, const zoo::Tensor& y) {
    const zoo::Tensor logits = (*model)(x);
    const zoo::Tensor loss = zoo::cross_entropy(logits, y);
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
    schedule->step();
    return loss.item();
  }
};

/// The VAE (784-400-20) and Adam, as `zoo train vae` makes them (constant learning rate).
struct VaeTrainer {
  zoo::models::Vae model;
  std::unique_ptr<zoo::optim::Optimizer> optimizer;

  VaeTrainer(const std::string&, std::int64_t) {
    zoo::manual_seed(0);
    model.train();
    optimizer = zoo::models::make_optimizer("adam", model.named_parameters(), kLr);
  }

  /// One training step, exactly as in models/vae/train.cpp: binarise, ELBO, Adam; returns −ELBO.
  double step(const zoo::Tensor& images, const zoo::Tensor&) {
    const zoo::Tensor x = zoo::models::binarize(images.reshape({images.size(0), 784}), zoo::default_generator());
    const zoo::Tensor loss = zoo::neg(zoo::mean(zoo::models::elbo_parts(model, x, zoo::default_generator()).elbo()));
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
    return loss.item();
  }
};

/// The U-Net of DDPM and rectified flow (C = 32, levels 28/14/7, 10 classes) with Adam, and
/// DDPM's training step: images to [-1, 1], a step t uniform in 1..1000 and noise ε per
/// image, x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε, labels dropped (to "no class") with probability
/// 0.1, loss = mean (ε_θ(x_t, t, y) − ε)².
struct UnetTrainer {
  zoo::models::UNet model;
  zoo::models::NoiseSchedule schedule = zoo::models::NoiseSchedule::linear();
  std::unique_ptr<zoo::optim::Optimizer> optimizer;

  UnetTrainer(const std::string&, std::int64_t) : model(unet_config()) {
    model.train();
    optimizer = zoo::models::make_optimizer("adam", model.named_parameters(), kLr);
  }
  static zoo::models::UNetConfig unet_config() {
    zoo::manual_seed(0);
    return {.num_classes = 10};
  }

  double step(const zoo::Tensor& images, const zoo::Tensor& labels) {
    using namespace zoo;
    const std::int64_t n = images.size(0);
    const Tensor x0 = images * 2.0 - 1.0;
    const Tensor t = randint(1, schedule.steps + 1, {n});
    const Tensor noise = randn(x0.shape());
    const Tensor x_t = models::q_sample(schedule, x0, t, noise);
    const Tensor keep = lt(rand({n}), full({n}, 0.9));  // drop 10% of the labels
    const Tensor y = where(keep, labels, full({n}, 10.0, kInt64));
    const Tensor loss = mse_loss(model.forward(x_t, t.to(kFloat32), y), noise);
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
    return loss.item();
  }
};

/// Samples/s of one run: warm-up steps, then timed steps.
template <class T>
double run_once(const std::string& name, const Batches& data, const Options& opt,
                double* step_seconds, double* foreign, double* cpu_use) {
  T t(name, opt.warmup + opt.steps);
  std::int64_t b = 0;
  for (int i = 0; i < opt.warmup; ++i, ++b) t.step(data.x(b), data.y(b));
  double loss_sum = 0;
  const ForeignLoad load;
  const auto t0 = Clock::now();
  for (int i = 0; i < opt.steps; ++i, ++b) loss_sum += t.step(data.x(b), data.y(b));
  const double seconds = since(t0);
  *foreign = load.get();
  *cpu_use = load.own();
  if (!(loss_sum == loss_sum)) throw std::runtime_error("the loss became NaN");
  *step_seconds = seconds / opt.steps;
  return static_cast<double>(opt.steps * kBatch) / seconds;
}

void measure(const std::string& name, const Batches& data, const Options& opt) {
  std::vector<double> rates, step_seconds, foreign, cpu_use;
  int rejected = 0;
  while (static_cast<int>(rates.size()) < opt.runs) {
    double s = 0, f = 0, c = 0;
    const double rate = name == "vae"    ? run_once<VaeTrainer>(name, data, opt, &s, &f, &c)
                        : name == "unet" ? run_once<UnetTrainer>(name, data, opt, &s, &f, &c)
                                         : run_once<Trainer>(name, data, opt, &s, &f, &c);
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
  const std::size_t mid = order[(order.size() - 1) / 2];  // the lower median, as median_low
  if (opt.json) {
    std::string runs, loads;
    for (double r : rates) runs += (runs.empty() ? "" : ", ") + fmt::format("{:.1f}", r);
    for (double f : foreign) loads += (loads.empty() ? "" : ", ") + fmt::format("{:.2f}", f);
    std::printf(
        "{\"impl\": \"zoo\", \"threads\": %d, \"name\": \"train_%s\", \"shape\": \"batch %lld\", "
        "\"seconds\": %.6e, \"iters\": %d, \"unit\": \"samples/s\", \"rate\": %.1f, "
        "\"runs\": [%s], \"foreign_load\": [%s], \"rejected_runs\": %d, \"cpu_use\": %.2f}\n",
        zoo::num_threads(), name.c_str(), static_cast<long long>(kBatch), step_seconds[mid],
        opt.steps, rates[mid], runs.c_str(), loads.c_str(), rejected, cpu_use[mid]);
  } else {
    std::printf("zoo  %-4s %d thread(s): %9.1f samples/s  (%.2f ms/step; runs:", name.c_str(),
                zoo::num_threads(), rates[mid], step_seconds[mid] * 1e3);
    for (double r : rates) std::printf(" %.1f", r);
    std::printf("; other load:");
    for (double f : foreign) std::printf(" %.2f", f);
    std::printf("; %d run(s) redone; own CPU use %.2f)\n", rejected, cpu_use[mid]);
  }
  std::fflush(stdout);
}

/// Where a step's time goes: the model cut at every layer, each part timed on its own,
/// summed over `opt.steps` steps after `opt.warmup` and reported as ms per step.
void profile(const std::string& name, const Batches& data, const Options& opt) {
  Trainer t(name, opt.warmup + opt.steps);
  const auto& layers = *t.model;
  const std::size_t n = layers.size();
  std::vector<std::string> parts;  // in the order printed
  std::map<std::string, double> total;
  auto add = [&](const std::string& part, double s) {
    if (!total.count(part)) parts.push_back(part);
    total[part] += s;
  };
  std::vector<std::string> label(n);
  for (std::size_t i = 0; i < n; ++i) label[i] = fmt::format("{} {}", i, layers[i]->name());

  std::int64_t b = 0;
  const ForeignLoad load;
  for (int it = 0; it < opt.warmup + opt.steps; ++it, ++b) {
    const bool timed = it >= opt.warmup;
    auto record = [&](const std::string& part, Clock::time_point t0) {
      if (timed) add(part, since(t0));
    };
    const auto step_start = Clock::now();
    // Forward, one layer at a time; the inputs of layers 1.. are leaves that want grad.
    std::vector<zoo::Tensor> in(n), out(n);
    zoo::Tensor x = data.x(b);
    for (std::size_t i = 0; i < n; ++i) {
      in[i] = i == 0 ? x : out[i - 1].detach().requires_grad_(true);
      const auto t0 = Clock::now();
      out[i] = (*layers[i])(in[i]);
      record("fwd " + label[i], t0);
    }
    zoo::Tensor logits = out[n - 1].detach().requires_grad_(true);
    auto t0 = Clock::now();
    const zoo::Tensor loss = zoo::cross_entropy(logits, data.y(b));
    record("fwd cross_entropy", t0);

    t0 = Clock::now();
    t.optimizer->zero_grad();
    record("zero_grad", t0);

    t0 = Clock::now();
    loss.backward();
    record("bwd cross_entropy", t0);
    zoo::Tensor g = logits.grad();
    for (std::size_t i = n; i-- > 0;) {
      if (!out[i].requires_grad()) break;  // a first layer without parameters (Flatten)
      t0 = Clock::now();
      out[i].backward(g);
      record("bwd " + label[i], t0);
      if (i > 0) g = in[i].grad();
    }

    t0 = Clock::now();
    t.optimizer->step();
    t.schedule->step();
    (void)loss.item();
    record("adam step + schedule", t0);
    record("step (sum of parts + glue)", step_start);
  }

  // A normal, uncut step right after, for comparison with the sum of the parts.
  double plain = 0;
  for (int it = 0; it < opt.steps; ++it, ++b) {
    const auto t0 = Clock::now();
    t.step(data.x(b), data.y(b));
    plain += since(t0);
  }
  add("step (uncut, as trained)", plain);
  const double foreign = load.get();

  for (const std::string& part : parts) {
    const double ms = total[part] / opt.steps * 1e3;
    if (opt.json)
      std::printf("{\"impl\": \"zoo\", \"threads\": %d, \"name\": \"%s\", \"part\": \"%s\", "
                  "\"ms\": %.4f, \"steps\": %d, \"foreign_load\": %.2f}\n",
                  zoo::num_threads(), name.c_str(), part.c_str(), ms, opt.steps, foreign);
    else
      std::printf("zoo %s %d thread(s)  %-32s %9.3f ms\n", name.c_str(), zoo::num_threads(),
                  part.c_str(), ms);
  }
  if (!opt.json) std::printf("zoo %s: other load during the profile: %.2f\n", name.c_str(), foreign);
  std::fflush(stdout);
}

/// The command line, parsed by CLI11 (as the `zoo` command is).
Options parse(int argc, char** argv) {
  Options opt;
  std::string model = "all";
  CLI::App app{"zoo bench_train: training samples/s of the MNIST classifiers"};
  app.add_option("--model", model, "mlp, cnn, vae, unet, or all (mlp and cnn)")
      ->check(CLI::IsMember({"mlp", "cnn", "vae", "unet", "all"}));
  app.add_option("--threads", opt.threads, "Threads (0: ZOO_NUM_THREADS or all cores)");
  app.add_option("--steps", opt.steps, "Timed steps per run")->check(CLI::PositiveNumber);
  app.add_option("--warmup", opt.warmup, "Untimed steps before them")->check(CLI::NonNegativeNumber);
  app.add_option("--runs", opt.runs, "Runs whose median is reported")->check(CLI::PositiveNumber);
  app.add_option("--data", opt.data, "Folder with the MNIST IDX files");
  app.add_flag("--json", opt.json, "One JSON object per measurement");
  app.add_flag("--profile", opt.profile, "Per-layer forward/backward times instead");
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
    const zoo::nn::MnistData train = zoo::nn::load_mnist(opt.data, true, 0);
    const Batches data{train.images, train.labels};
    if (data.count() < 1) throw std::runtime_error("fewer than one batch of images");
    if (!opt.json)
      std::printf("zoo bench_train: %d thread(s), batch %lld, %d warm-up + %d timed steps, "
                  "median of %d runs, %lld MNIST images from %s\n",
                  zoo::num_threads(), static_cast<long long>(kBatch), opt.warmup, opt.steps,
                  opt.runs, static_cast<long long>(train.images.size(0)), opt.data.c_str());
    std::fflush(stdout);
    for (const std::string& name : opt.models) {
      if (opt.profile && (name == "vae" || name == "unet"))
        throw std::runtime_error("--profile cuts a Sequential; " + name + " is not one");
      if (opt.profile) profile(name, data, opt);
      else measure(name, data, opt);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
