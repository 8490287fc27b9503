/// @file nice_commands.cpp
/// @brief `zoo train nice`, `zoo eval nice`, `zoo sample nice` and `zoo inpaint nice`:
/// the NICE flow on MNIST.

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/cli/commands.h"
#include "models/common/image_grid.h"
#include "models/nice/inpaint.h"
#include "models/nice/train.h"
#include "nn/data/mnist.h"

namespace zoo::cli {
namespace {

const char* const kDefaultWeights = "runs/nice/model.safetensors";

void add_train(CLI::App& train) {
  auto o = std::make_shared<models::NiceOptions>();
  CLI::App* cmd = train.add_subcommand("nice", "Train NICE, a flow of additive coupling layers, on MNIST");
  cmd->add_option("--data", o->data_dir, "Folder with MNIST's IDX files")->capture_default_str();
  cmd->add_option("--couplings", o->model.coupling_layers, "Additive coupling layers")->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden_size, "Units per hidden layer of each coupling MLP")
      ->capture_default_str();
  cmd->add_option("--depth", o->model.hidden_layers, "Hidden layers of each coupling MLP (the paper: 5)")
      ->capture_default_str();
  cmd->add_option("--prior", o->model.prior, "logistic or gaussian")->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Passes over the training images")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per step")->capture_default_str();
  cmd->add_option("--lr", o->lr, "Adam's learning rate (constant)")->capture_default_str();
  cmd->add_option("--beta1", o->beta1, "Adam's beta1")->capture_default_str();
  cmd->add_option("--beta2", o->beta2, "Adam's beta2 (the paper's '0.01' in 2014 notation)")->capture_default_str();
  cmd->add_option("--eps", o->eps, "Adam's epsilon")->capture_default_str();
  cmd->add_option("--train-limit", o->train_limit, "Use only the first N training images (0: all)");
  cmd->add_option("--test-limit", o->test_limit, "Evaluate on the first N test images (0: all)");
  cmd->add_option("--temperature", o->temperature, "Temperature of the samples written each epoch")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_option("--out", o->out, "Output folder")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint.safetensors (same options; --epochs may grow)");
  cmd->add_option("--save-every", o->save_every, "Also checkpoint every N steps (0: per epoch only)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->callback([o] {
    const models::NiceResult r = models::train_nice(*o);
    fmt::print("{}\n", nlohmann::json{{"model", "nice"},
                                      {"test_log_likelihood_nats", r.test_log_likelihood},
                                      {"test_bits_per_dim", r.test_bits_per_dim},
                                      {"train_log_likelihood_nats", r.train_log_likelihood},
                                      {"epochs", r.epochs},
                                      {"steps", r.steps},
                                      {"seconds", r.seconds},
                                      {"samples_per_second", r.samples_per_second},
                                      {"weights", o->out + "/model.safetensors"},
                                      {"checkpoint", o->out + "/checkpoint.safetensors"},
                                      {"samples", o->out + "/samples.png"}}
                           .dump());
  });
}

void add_eval(CLI::App& eval) {
  struct EvalOptions {
    std::string weights = kDefaultWeights;
    std::string data_dir = "data/mnist";
    std::int64_t limit = 0;
    int threads = 0;
  };
  auto e = std::make_shared<EvalOptions>();
  CLI::App* cmd = eval.add_subcommand("nice", "Test log-likelihood (nats and bits/dim) of a trained NICE");
  cmd->add_option("--weights", e->weights, "model.safetensors or checkpoint.safetensors written by zoo train nice")
      ->capture_default_str();
  cmd->add_option("--data", e->data_dir, "Folder with MNIST's IDX files")->capture_default_str();
  cmd->add_option("--limit", e->limit, "Score only the first N test images (0: all)");
  cmd->add_option("--threads", e->threads, "Threads");
  cmd->callback([e] {
    if (e->threads > 0) set_num_threads(e->threads);
    auto model = models::load_nice(e->weights);
    Tensor images = nn::load_mnist(e->data_dir, false, e->data_dir == "data/mnist" ? -1 : 0).images;
    if (e->limit > 0 && e->limit < images.size(0)) images = images.narrow(0, 0, e->limit);
    const models::NiceScore s = models::evaluate_nice(*model, images);
    fmt::print("{}\n", nlohmann::json{{"model", "nice"},
                                      {"test_log_likelihood_nats", s.log_likelihood},
                                      {"test_bits_per_dim", s.bits_per_dim},
                                      {"images", images.size(0)},
                                      {"weights", e->weights}}
                           .dump());
  });
}

void add_sample(CLI::App& sample) {
  struct SampleOptions {
    std::string weights = kDefaultWeights;
    std::string out = "runs/nice/samples.png";
    std::int64_t count = 64;
    double temperature = 1.0;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto s = std::make_shared<SampleOptions>();
  CLI::App* cmd = sample.add_subcommand("nice", "Draw digits from a trained NICE as a PNG grid");
  cmd->add_option("--weights", s->weights, "model.safetensors or checkpoint.safetensors written by zoo train nice")
      ->capture_default_str();
  cmd->add_option("--out", s->out, "The PNG to write")->capture_default_str();
  cmd->add_option("--count", s->count, "Images to draw")->capture_default_str();
  cmd->add_option("--temperature", s->temperature,
                  "Scale of the prior's draws (below 1: cleaner, less varied digits)")
      ->capture_default_str();
  cmd->add_option("--seed", s->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", s->threads, "Threads");
  cmd->callback([s] {
    if (s->threads > 0) set_num_threads(s->threads);
    auto model = models::load_nice(s->weights);
    ZOO_CHECK(model->config.dim == 784, "sample nice: '{}' models {} values, not 28 x 28 images", s->weights,
              model->config.dim);
    Generator gen(s->seed);
    const Tensor x = model->sample(s->count, s->temperature, gen);  // (count, 784)
    models::save_image_grid(s->out, clamp(x, 0.0, 1.0).reshape({s->count, 1, 28, 28}));
    fmt::print("{}\n", nlohmann::json{{"model", "nice"}, {"samples", s->out}, {"count", s->count},
                                      {"temperature", s->temperature}}
                           .dump());
  });
}

void add_inpaint(CLI::App& inpaint) {
  struct InpaintCommand {
    std::string weights = kDefaultWeights;
    std::string data_dir = "data/mnist";
    std::string out = "runs/nice/inpaint.png";
    std::string mask = "bottom";
    double fraction = 0.5;
    std::int64_t count = 10;
    std::int64_t first = 0;
    models::InpaintOptions climb;
    bool plain = false;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto c = std::make_shared<InpaintCommand>();
  CLI::App* cmd = inpaint.add_subcommand(
      "nice", "Fill missing pixels of test digits by gradient ascent on a trained NICE's log-likelihood");
  cmd->add_option("--weights", c->weights, "model.safetensors or checkpoint.safetensors written by zoo train nice")
      ->capture_default_str();
  cmd->add_option("--data", c->data_dir, "Folder with MNIST's IDX files")->capture_default_str();
  cmd->add_option("--out", c->out, "The PNG to write: originals, masked, filled (one row each)")
      ->capture_default_str();
  cmd->add_option("--mask", c->mask, "top, bottom, left, right or random")->capture_default_str();
  cmd->add_option("--fraction", c->fraction, "Share of pixels missing with --mask random")->capture_default_str();
  cmd->add_option("--count", c->count, "Test images to inpaint")->capture_default_str();
  cmd->add_option("--first", c->first, "Index of the first test image")->capture_default_str();
  cmd->add_option("--steps", c->climb.steps, "Gradient steps")->capture_default_str();
  cmd->add_option("--step-scale", c->climb.step_scale, "a in the step size a / (b + i)")->capture_default_str();
  cmd->add_option("--step-offset", c->climb.step_offset, "b in the step size a / (b + i)")->capture_default_str();
  cmd->add_option("--noise", c->climb.noise, "Scale of the Gaussian noise added to the gradient (0: none)")
      ->capture_default_str();
  cmd->add_flag("--plain", c->plain, "The paper's plain gradient step (default: each pixel's gradient divided by "
                "its running RMS)");
  cmd->add_option("--seed", c->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", c->threads, "Threads");
  cmd->callback([c] {
    if (c->threads > 0) set_num_threads(c->threads);
    c->climb.normalize = !c->plain;
    auto model = models::load_nice(c->weights);
    ZOO_CHECK(model->config.dim == 784, "inpaint nice: '{}' models {} values, not 28 x 28 images", c->weights,
              model->config.dim);
    const Tensor test = nn::load_mnist(c->data_dir, false, c->data_dir == "data/mnist" ? -1 : 0).images;
    ZOO_CHECK(c->count > 0 && c->first >= 0 && c->first + c->count <= test.size(0),
              "inpaint nice: images {}..{} are not all in the test set of {}", c->first, c->first + c->count - 1,
              test.size(0));
    const Tensor x = test.narrow(0, c->first, c->count).reshape({c->count, 784});
    Generator gen(c->seed);
    const Tensor mask = models::inpainting_mask(c->mask, c->count, c->fraction, gen);
    const Tensor filled = models::inpaint(*model, x, mask, c->climb, gen);
    const Tensor shown = where(mask > 0.5, full_like(x, 0.5), x);  // missing pixels in grey
    const auto log_p = [&](const Tensor& images) {
      NoGradGuard no_grad;
      return mean(model->log_prob(images)).item();
    };
    models::GridOptions grid;
    grid.columns = c->count;
    models::save_image_grid(c->out, cat({x, shown, filled}, 0).reshape({3 * c->count, 1, 28, 28}), grid);
    fmt::print("{}\n", nlohmann::json{{"model", "nice"},
                                      {"inpainting", c->out},
                                      {"mask", c->mask},
                                      {"images", c->count},
                                      {"log_likelihood_original", log_p(x)},
                                      {"log_likelihood_filled", log_p(filled)},
                                      {"missing_pixel_mae", (sum(abs(filled - x) * mask) / sum(mask)).item()}}
                           .dump());
  });
}

}  // namespace

void add_nice_commands(const Verbs& verbs) {
  add_train(*verbs.train);
  add_eval(*verbs.eval);
  add_sample(*verbs.sample);
  add_inpaint(*verbs.inpaint);
}

}  // namespace zoo::cli
