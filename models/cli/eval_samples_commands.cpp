/// @file eval_samples_commands.cpp
/// @brief `zoo eval-samples`: how good are a generative model's MNIST samples? The
/// Fréchet distance of their CNN features to the test set's, the CNN's mean confidence
/// and its accuracy on requested labels (models/sample_quality/evaluate.h).

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/parallel.h"
#include "models/cli/commands.h"
#include "models/sample_quality/evaluate.h"
#include "models/sample_quality/samples_file.h"
#include "nn/data/mnist.h"

namespace zoo::cli {
namespace {

constexpr const char* kDefaultData = "data/mnist";

struct EvalSamplesOptions {
  std::string samples;
  std::string classifier = "runs/cnn/model.safetensors";
  std::string data_dir = kDefaultData;
  bool floor = false;
  std::int64_t count = 10000;
  std::int64_t per_class = 0;  // with --floor: this many random images of each digit instead
  std::uint64_t seed = 0;
  int threads = 0;
};

void run(const EvalSamplesOptions& o) {
  ZOO_CHECK(o.floor || !o.samples.empty(),
            "zoo eval-samples: give --samples FILE (images to score), or --floor (real training images instead)");
  ZOO_CHECK(o.count >= 2, "zoo eval-samples: --count must be at least 2, got {}", o.count);
  if (o.threads > 0) set_num_threads(o.threads);
  const auto started = std::chrono::steady_clock::now();
  auto cnn = models::load_cnn_classifier(o.classifier);
  // A folder other than the default may hold a cut-down split: take any number of images.
  const std::int64_t expected = o.data_dir == kDefaultData ? -1 : 0;
  models::SamplesFile samples;
  std::string source = o.samples;
  if (o.floor && o.per_class > 0) {  // class-balanced, like the samples of a conditional model
    Generator gen(o.seed);
    const nn::MnistData train = nn::balanced_examples(nn::load_mnist(o.data_dir, true, expected), o.per_class, gen);
    samples = {train.images, train.labels};
    source = fmt::format("{} training images, {} of each digit (seed {})", o.data_dir, o.per_class, o.seed);
  } else if (o.floor) {
    const nn::MnistData train = nn::first_examples(nn::load_mnist(o.data_dir, true, expected), o.count);
    samples = {train.images, train.labels};  // the labels are the true digits: the CNN's training accuracy
    source = fmt::format("{} training images 0..{}", o.data_dir, train.images.size(0) - 1);
  } else {
    samples = models::load_samples_file(o.samples);
  }
  const nn::MnistData test = nn::load_mnist(o.data_dir, false, expected);
  const models::GaussianStats reference = models::reference_statistics(*cnn, test.images);
  const models::SampleQuality q = models::evaluate_samples(*cnn, samples.images, samples.labels, reference);

  nlohmann::json out{{"command", "eval-samples"},
                     {"samples", source},
                     {"count", q.count},
                     {"reference", o.data_dir + " test images"},
                     {"reference_count", q.reference_count},
                     {"frechet_distance", q.frechet_distance},
                     {"mean_confidence", q.mean_confidence},
                     {"classifier", o.classifier},
                     {"threads", num_threads()}};
  if (q.label_accuracy) out["label_accuracy"] = *q.label_accuracy;
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("{}\n", out.dump());
}

}  // namespace

void add_eval_samples_commands(CLI::App& app) {
  auto o = std::make_shared<EvalSamplesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval-samples",
      "Score generated MNIST images: Frechet distance of the CNN classifier's features to the test set's, "
      "the CNN's mean confidence, and its accuracy on requested labels");
  auto* samples = cmd->add_option("--samples", o->samples,
                                  "safetensors file with 'images' (N,1,28,28) or (N,784) float32 in [0,1] and "
                                  "optionally 'labels' (N) int64, the requested digits");
  auto* floor = cmd->add_flag("--floor", o->floor,
                              "Score the first --count real training images instead: the floor a model can reach");
  samples->excludes(floor);
  cmd->add_option("--count", o->count, "With --floor: how many training images")->capture_default_str();
  cmd->add_option("--per-class", o->per_class,
                  "With --floor: this many random training images of each digit instead (the first N are not "
                  "class-balanced; compare with samples of the same count)");
  cmd->add_option("--seed", o->seed, "With --per-class: the draw")->capture_default_str();
  cmd->add_option("--classifier", o->classifier, "Weights of the CNN, written by `zoo train cnn --out runs/cnn`")
      ->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Folder with the MNIST IDX files; its test images are the reference")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->callback([o] { run(*o); });
}

}  // namespace zoo::cli
