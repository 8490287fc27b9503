/// @file ddpm_commands.cpp
/// @brief `zoo train ddpm` and `zoo sample ddpm`: the denoising diffusion model on MNIST.

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "models/cli/commands.h"
#include "models/common/image_grid.h"
#include "models/ddpm/sample.h"
#include "models/ddpm/train.h"
#include "models/sample_quality/samples_file.h"

namespace zoo::cli {
namespace {

void add_train(CLI::App& train) {
  auto o = std::make_shared<models::DdpmOptions>();
  CLI::App* cmd = train.add_subcommand("ddpm", "Train a denoising diffusion model (U-Net, classifier-free guidance) on MNIST");
  cmd->add_option("--channels", o->model.base_channels, "U-Net channels at full resolution")->capture_default_str();
  cmd->add_option("--mults", o->model.channel_mults, "Channel multipliers per level")->delimiter(',')->capture_default_str();
  cmd->add_option("--classes", o->model.num_classes, "Classes for guidance (0: unconditional)")->capture_default_str();
  cmd->add_option("--schedule", o->schedule, "Noise schedule: linear or cosine")->capture_default_str();
  cmd->add_option("--diffusion-steps", o->diffusion_steps, "T")->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Folder with the MNIST IDX files")->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Passes over the training images")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per step")->capture_default_str();
  cmd->add_option("--lr", o->lr, "Adam's learning rate")->capture_default_str();
  cmd->add_option("--ema", o->ema_decay, "Decay of the weights' moving average used for sampling")->capture_default_str();
  cmd->add_option("--label-dropout", o->label_dropout, "Probability of training without the label")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_option("--out", o->out, "Output folder")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint.safetensors (same options)");
  cmd->add_option("--save-every", o->save_every, "Checkpoint every N steps (0: per epoch)")->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->callback([o] {
    const models::DdpmResult r = models::train_ddpm(*o);
    fmt::print("{}\n", nlohmann::json{{"model", "ddpm"},
                                      {"train_loss", r.train_loss},
                                      {"epochs", r.epochs},
                                      {"steps", r.steps},
                                      {"seconds", r.seconds},
                                      {"samples_per_second", r.samples_per_second},
                                      {"weights", o->out + "/model.safetensors"}}
                           .dump());
  });
}

void add_sample(CLI::App& sample) {
  struct SampleOptions {
    std::string weights = "runs/ddpm/model.safetensors";
    std::string out = "runs/ddpm/samples.png";
    std::string trajectory;
    std::string save;
    std::int64_t per_class = 10;
    std::int64_t count = 100;
    models::DdpmSampling how;
    std::string variance = "posterior";
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto s = std::make_shared<SampleOptions>();
  CLI::App* cmd = sample.add_subcommand("ddpm", "Draw digits from a trained DDPM (a row per class if it has classes)");
  cmd->add_option("--weights", s->weights, "model.safetensors or checkpoint.safetensors written by zoo train ddpm")
      ->capture_default_str();
  cmd->add_option("--out", s->out, "The PNG grid to write")->capture_default_str();
  cmd->add_option("--sampler", s->how.sampler, "ddpm (ancestral, all T steps) or ddim")->capture_default_str();
  cmd->add_option("--steps", s->how.steps, "DDIM's number of steps")->capture_default_str();
  cmd->add_option("--eta", s->how.eta, "DDIM's noise (0: deterministic)")->capture_default_str();
  cmd->add_option("--guidance", s->how.guidance, "Classifier-free guidance scale w (1: plain conditional)")
      ->capture_default_str();
  cmd->add_option("--variance", s->variance, "Ancestral sampling's variance: posterior or beta")->capture_default_str();
  cmd->add_option("--per-class", s->per_class, "Images per class (conditional models)")->capture_default_str();
  cmd->add_option("--count", s->count, "Images (unconditional models)")->capture_default_str();
  cmd->add_option("--trajectory", s->trajectory, "Also write the denoising of the first 8 images, step by step");
  cmd->add_option("--save", s->save, "Also write the images (and labels) for zoo eval-samples (safetensors)");
  cmd->add_option("--seed", s->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", s->threads, "Threads");
  cmd->callback([s] {
    if (s->threads > 0) set_num_threads(s->threads);
    ZOO_CHECK(s->variance == "posterior" || s->variance == "beta",
              "sample ddpm: --variance is posterior or beta, not '{}'", s->variance);
    s->how.variance = s->variance == "beta" ? models::PosteriorVariance::beta : models::PosteriorVariance::posterior;
    auto [net, schedule] = models::load_ddpm(s->weights);
    const std::int64_t classes = net->config.num_classes;
    Tensor labels;  // row r of the grid: class r
    std::int64_t n = s->count;
    if (classes > 0) {
      std::vector<std::int64_t> y;
      for (std::int64_t c = 0; c < classes; ++c)
        for (std::int64_t i = 0; i < s->per_class; ++i) y.push_back(c);
      labels = from_vector(y, {static_cast<std::int64_t>(y.size())});
      n = labels.size(0);
    }
    // The trajectory: the first 8 images at 10 moments evenly spread over the steps.
    std::vector<Tensor> snapshots;
    const std::int64_t total = s->how.sampler == "ddpm" ? schedule.steps : s->how.steps;
    std::int64_t done = 0;
    const models::DdpmObserver observe = [&](std::int64_t, const Tensor& x) {
      ++done;
      if (!s->trajectory.empty() && (done * 10) / total != ((done - 1) * 10) / total)
        snapshots.push_back(x.narrow(0, 0, std::min<std::int64_t>(8, n)));
    };
    Generator gen(s->seed);
    const auto started = std::chrono::steady_clock::now();
    const Tensor x = models::sample_ddpm(*net, schedule, n, labels, s->how, gen, observe);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    models::GridOptions grid;
    grid.columns = classes > 0 ? s->per_class : 10;
    const Tensor images = clamp((x + 1.0) * 0.5, 0.0, 1.0);  // [-1, 1] → [0, 1]
    models::save_image_grid(s->out, images, grid);
    if (!s->save.empty())
      models::save_samples_file(s->save, images, labels.defined() ? std::optional(labels) : std::nullopt);
    if (!s->trajectory.empty()) {  // rows: images; columns: time, noise on the left
      const Tensor steps = stack(snapshots, 1);  // (8, 10, 1, 28, 28)
      models::GridOptions t;
      t.columns = steps.size(1);
      models::save_image_grid(s->trajectory, (steps.reshape({-1, 1, 28, 28}) + 1.0) * 0.5, t);
    }
    fmt::print("{}\n", nlohmann::json{{"model", "ddpm"}, {"sampler", s->how.sampler}, {"steps", total},
                                      {"guidance", s->how.guidance}, {"images", n}, {"seconds", seconds},
                                      {"samples", s->out}}
                           .dump());
  });
}

}  // namespace

void add_ddpm_commands(const Verbs& verbs) {
  add_train(*verbs.train);
  add_sample(*verbs.sample);
}

}  // namespace zoo::cli
