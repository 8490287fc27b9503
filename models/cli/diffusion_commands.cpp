/// @file diffusion_commands.cpp
/// @brief `zoo train ddpm|flow` and `zoo sample ddpm|flow`: the two generative models on
/// the shared U-Net, with the same training flags and the same sample output.

#include <algorithm>
#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "models/cli/commands.h"
#include "models/cli/distributed.h"
#include "models/common/image_grid.h"
#include "models/ddpm/sample.h"
#include "models/ddpm/train.h"
#include "models/flow/train.h"
#include "models/sample_quality/samples_file.h"

namespace zoo::cli {
namespace {

/// The flags of the shared U-Net training loop, bound to `o`.
void add_unet_training_flags(CLI::App& cmd, models::UNetTraining& o) {
  cmd.add_option("--channels", o.model.base_channels, "U-Net channels at full resolution")->capture_default_str();
  cmd.add_option("--mults", o.model.channel_mults, "Channel multipliers per level")->delimiter(',')->capture_default_str();
  cmd.add_option("--classes", o.model.num_classes, "Classes for guidance (0: unconditional)")->capture_default_str();
  cmd.add_option("--data", o.data_dir, "Folder with the MNIST IDX files")->capture_default_str();
  cmd.add_option("--epochs", o.epochs, "Passes over the training images")->capture_default_str();
  cmd.add_option("--batch-size", o.batch_size, "Images per step")->capture_default_str();
  cmd.add_option("--lr", o.lr, "Adam's learning rate")->capture_default_str();
  cmd.add_option("--ema", o.ema_decay, "Decay of the weights' moving average used for sampling")->capture_default_str();
  cmd.add_option("--label-dropout", o.label_dropout, "Probability of training without the label")->capture_default_str();
  cmd.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd.add_option("--out", o.out, "Output folder")->capture_default_str();
  cmd.add_flag("--resume", o.resume, "Continue from OUT/checkpoint.safetensors (same options)");
  cmd.add_option("--save-every", o.save_every, "Checkpoint every N steps (0: per epoch)")->capture_default_str();
  cmd.add_flag("--quiet", o.quiet, "No progress line");
}

void print_training_result(const std::string& model, const models::UNetTrainingResult& r, const std::string& out) {
  fmt::print("{}\n", nlohmann::json{{"model", model},
                                    {"train_loss", r.train_loss},
                                    {"epochs", r.epochs},
                                    {"steps", r.steps},
                                    {"seconds", r.seconds},
                                    {"samples_per_second", r.samples_per_second},
                                    {"weights", out + "/model.safetensors"}}
                         .dump());
}

/// Runs `train(o)` on the processes `distributed` asks for; process 0 prints the result
/// as model `model`.
template <class Options, class Train>
void train_and_print(const std::string& model, const DistributedFlags& distributed, Options& o, const Train& train) {
  run_training(distributed, [&](nn::Communicator* communicator, bool main) {
    o.communicator = communicator;
    o.bucket_bytes = distributed.bucket_bytes();
    const models::UNetTrainingResult r = train(o);
    if (main) print_training_result(model, r, o.out);
  });
}

/// What every `zoo sample` of these models writes, and how many.
struct SampleOutput {
  std::string out;
  std::string trajectory;  // the trajectory picture, if asked for
  std::string save;
  std::int64_t per_class = 10;
  std::int64_t count = 100;
  std::uint64_t seed = 0;
  int threads = 0;
};

/// The flags every `zoo sample` of these models shares, bound to `s` and the sampler's
/// guidance scale.
void add_sample_output_flags(CLI::App& cmd, SampleOutput& s, double& guidance) {
  cmd.add_option("--out", s.out, "The PNG grid to write")->capture_default_str();
  cmd.add_option("--save", s.save, "Also write the images (and labels) for zoo eval-samples (safetensors)");
  cmd.add_option("--per-class", s.per_class, "Images per class, a row each (conditional models)")->capture_default_str();
  cmd.add_option("--count", s.count, "Images (unconditional models)")->capture_default_str();
  cmd.add_option("--seed", s.seed, "Random seed")->capture_default_str();
  cmd.add_option("--threads", s.threads, "Threads");
  cmd.add_option("--guidance", guidance, "Classifier-free guidance scale w (1: plain conditional)")->capture_default_str();
  cmd.add_option("--trajectory", s.trajectory, "Also write the first 8 images at ten moments from noise to image");
}

/// The labels to draw: `per_class` of each class in order (a grid row each), or none for
/// an unconditional network; and how many images that is.
std::pair<Tensor, std::int64_t> requested_labels(std::int64_t classes, const SampleOutput& s) {
  if (classes == 0) return {Tensor(), s.count};
  std::vector<std::int64_t> y;
  for (std::int64_t c = 0; c < classes; ++c)
    for (std::int64_t i = 0; i < s.per_class; ++i) y.push_back(c);
  const auto n = static_cast<std::int64_t>(y.size());
  return {from_vector(y, {n}), n};
}

/// Writes the grid (and the samples file) of x (n, 1, 28, 28) in [-1, 1].
void write_samples(const SampleOutput& s, const Tensor& x, const Tensor& labels) {
  const Tensor images = clamp((x + 1.0) * 0.5, 0.0, 1.0);  // [-1, 1] → [0, 1]
  models::GridOptions grid;
  grid.columns = labels.defined() ? s.per_class : 10;
  models::save_image_grid(s.out, images, grid);
  if (!s.save.empty())
    models::save_samples_file(s.save, images, labels.defined() ? std::optional(labels) : std::nullopt);
}

/// The trajectory picture: the first 8 images at 10 moments evenly spread over a
/// sampler's `total` steps, a row per image, noise on the left and the result on the right.
class Trajectory {
 public:
  /// Records nothing if `file` is empty.
  Trajectory(std::string file, std::int64_t total, std::int64_t n) : file_(std::move(file)), total_(total), n_(n) {}
  /// After each step: keeps x (N, 1, 28, 28) in [-1, 1] when a tenth of the steps has passed.
  void observe(const Tensor& x) {
    ++done_;
    if (!file_.empty() && (done_ * 10) / total_ != ((done_ - 1) * 10) / total_)
      snapshots_.push_back(x.narrow(0, 0, std::min<std::int64_t>(8, n_)));
  }
  /// Writes the PNG grid.
  void write() const {
    if (file_.empty() || snapshots_.empty()) return;
    const Tensor steps = stack(snapshots_, 1);  // (8, 10, 1, 28, 28)
    models::GridOptions grid;
    grid.columns = steps.size(1);
    models::save_image_grid(file_, clamp((steps.reshape({-1, 1, 28, 28}) + 1.0) * 0.5, 0.0, 1.0), grid);
  }

 private:
  std::string file_;
  std::int64_t total_, n_, done_ = 0;
  std::vector<Tensor> snapshots_;
};

/// Writes the grid, the samples file and the trajectory of x (n, 1, 28, 28) in [-1, 1],
/// then prints one JSON line: `summary` with the count, the sampling time and the grid.
void finish_sampling(const SampleOutput& s, const Tensor& x, const Tensor& labels, const Trajectory& trajectory,
                     nlohmann::json summary, double seconds) {
  write_samples(s, x, labels);
  trajectory.write();
  summary["images"] = x.size(0);
  summary["seconds"] = seconds;
  summary["samples"] = s.out;
  fmt::print("{}\n", summary.dump());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void add_ddpm_train(CLI::App& train) {
  auto o = std::make_shared<models::DdpmOptions>();
  auto distributed = std::make_shared<DistributedFlags>();
  CLI::App* cmd = train.add_subcommand("ddpm", "Train a denoising diffusion model (U-Net, classifier-free guidance) on MNIST");
  add_unet_training_flags(*cmd, *o);
  add_distributed_flags(*cmd, *distributed);
  cmd->add_option("--schedule", o->schedule, "Noise schedule: linear or cosine")->capture_default_str();
  cmd->add_option("--diffusion-steps", o->diffusion_steps, "T")->capture_default_str();
  cmd->callback([o, distributed] { train_and_print("ddpm", *distributed, *o, models::train_ddpm); });
}

void add_ddpm_sample(CLI::App& sample) {
  struct Options {
    std::string weights = "runs/ddpm/model.safetensors";
    SampleOutput output{.out = "runs/ddpm/samples.png"};
    models::DdpmSampling how;
    std::string variance = "posterior";
  };
  auto s = std::make_shared<Options>();
  CLI::App* cmd = sample.add_subcommand("ddpm", "Draw digits from a trained DDPM (a row per class if it has classes)");
  cmd->add_option("--weights", s->weights, "model.safetensors or checkpoint.safetensors written by zoo train ddpm")
      ->capture_default_str();
  add_sample_output_flags(*cmd, s->output, s->how.guidance);
  cmd->add_option("--sampler", s->how.sampler, "ddpm (ancestral, all T steps) or ddim")->capture_default_str();
  cmd->add_option("--steps", s->how.steps, "DDIM's number of steps")->capture_default_str();
  cmd->add_option("--eta", s->how.eta, "DDIM's noise (0: deterministic)")->capture_default_str();
  cmd->add_option("--variance", s->variance, "Ancestral sampling's variance: posterior or beta")->capture_default_str();
  cmd->callback([s] {
    if (s->output.threads > 0) set_num_threads(s->output.threads);
    ZOO_CHECK(s->variance == "posterior" || s->variance == "beta",
              "sample ddpm: --variance is posterior or beta, not '{}'", s->variance);
    s->how.variance = s->variance == "beta" ? models::PosteriorVariance::beta : models::PosteriorVariance::posterior;
    auto [net, schedule] = models::load_ddpm(s->weights);
    const auto [labels, n] = requested_labels(net->config.num_classes, s->output);
    const std::int64_t total = s->how.sampler == "ddpm" ? schedule.steps : s->how.steps;
    Trajectory trajectory(s->output.trajectory, total, n);
    const models::DdpmObserver observe = [&](std::int64_t, const Tensor& x) { trajectory.observe(x); };
    Generator gen(s->output.seed);
    const auto started = std::chrono::steady_clock::now();
    const Tensor x = models::sample_ddpm(*net, schedule, n, labels, s->how, gen, observe);
    const double seconds = seconds_since(started);
    finish_sampling(s->output, x, labels, trajectory,
                    {{"model", "ddpm"}, {"sampler", s->how.sampler}, {"steps", total}, {"guidance", s->how.guidance}}, seconds);
  });
}

void add_flow_train(CLI::App& train) {
  auto o = std::make_shared<models::FlowOptions>();
  auto distributed = std::make_shared<DistributedFlags>();
  CLI::App* cmd = train.add_subcommand("flow", "Train a rectified flow (U-Net, classifier-free guidance) on MNIST");
  add_unet_training_flags(*cmd, *o);
  add_distributed_flags(*cmd, *distributed);
  cmd->add_option("--times", o->time_distribution, "Training times: uniform or logit-normal")->capture_default_str();
  cmd->add_option("--reflow-from", o->reflow_from,
                  "Reflow: train on (noise, sample) pairs of this trained flow (its model.safetensors), starting from "
                  "its weights and sizes; --epochs then counts passes over the pairs");
  cmd->add_option("--reflow-pairs", o->reflow.pairs, "Reflow: pairs to draw")->capture_default_str();
  cmd->add_option("--reflow-sampler", o->reflow.sampler, "Reflow: the first flow's sampler, euler or heun")
      ->capture_default_str();
  cmd->add_option("--reflow-steps", o->reflow.steps, "Reflow: the first flow's steps per pair")->capture_default_str();
  cmd->callback([o, distributed] {
    train_and_print(o->reflow_from.empty() ? "flow" : "reflow", *distributed, *o, models::train_flow);
  });
}

void add_flow_sample(CLI::App& sample) {
  struct Options {
    std::string weights = "runs/flow/model.safetensors";
    SampleOutput output{.out = "runs/flow/samples.png"};
    models::FlowSampling how;
  };
  auto s = std::make_shared<Options>();
  CLI::App* cmd = sample.add_subcommand("flow", "Draw digits from a trained rectified flow (a row per class)");
  cmd->add_option("--weights", s->weights, "model.safetensors or checkpoint.safetensors written by zoo train flow")
      ->capture_default_str();
  add_sample_output_flags(*cmd, s->output, s->how.guidance);
  cmd->add_option("--sampler", s->how.sampler, "euler or heun")->capture_default_str();
  cmd->add_option("--steps", s->how.steps, "Steps from noise to image")->capture_default_str();
  cmd->callback([s] {
    if (s->output.threads > 0) set_num_threads(s->output.threads);
    auto net = models::load_flow(s->weights);
    const auto [labels, n] = requested_labels(net->config.num_classes, s->output);
    Trajectory trajectory(s->output.trajectory, s->how.steps, n);
    Generator gen(s->output.seed);
    const auto started = std::chrono::steady_clock::now();
    const Tensor x = models::sample_flow(*net, n, labels, s->how, gen,
                                         [&](double, const Tensor& x) { trajectory.observe(x); });
    const double seconds = seconds_since(started);
    finish_sampling(s->output, x, labels, trajectory,
                    {{"model", "flow"}, {"sampler", s->how.sampler}, {"steps", s->how.steps}, {"guidance", s->how.guidance}}, seconds);
  });
}

}  // namespace

void add_ddpm_commands(const Verbs& verbs) {
  add_ddpm_train(*verbs.train);
  add_ddpm_sample(*verbs.sample);
}

void add_flow_commands(const Verbs& verbs) {
  add_flow_train(*verbs.train);
  add_flow_sample(*verbs.sample);
}

}  // namespace zoo::cli
