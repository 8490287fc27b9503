/// @file classifier_commands.cpp
/// @brief `zoo train mlp|cnn` and `zoo eval mlp|cnn`.

#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/classifier/model.h"
#include "models/classifier/train.h"
#include "models/cli/commands.h"
#include "models/cli/distributed.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"

namespace zoo::cli {

void add_classifier_training_flags(CLI::App& cmd, models::ClassifierOptions& o) {
  cmd.add_option("--batch-size", o.batch_size, "Batch size")->capture_default_str();
  cmd.add_option("--lr", o.lr, "Peak learning rate (cosine-annealed)")->capture_default_str();
  cmd.add_option("--optimizer", o.optimizer, "adam, adamw, sgd or muon")->capture_default_str();
  cmd.add_option("--clip", o.clip_grad_norm, "Gradient norm limit (0: off)")->capture_default_str();
  cmd.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd.add_option("--out", o.out, "Output folder")->capture_default_str();
  cmd.add_flag("--resume", o.resume, "Continue from OUT/checkpoint.safetensors");
  cmd.add_option("--save-every", o.save_every, "Checkpoint every N steps (0: per epoch)")
      ->capture_default_str();
  cmd.add_option("--train-limit", o.train_limit, "Use only the first N training images");
  cmd.add_option("--stop-after", o.stop_after, "Stop after N steps with a checkpoint, as if interrupted");
}

nlohmann::json classifier_result_json(const models::ClassifierOptions& o, const models::ClassifierResult& r) {
  nlohmann::json j = {{"model", o.model},
                      {"dataset", o.dataset},
                      {"steps", r.steps},
                      {"seconds", r.seconds},
                      {"samples_per_second", r.samples_per_second}};
  // A run stopped by --stop-after measured its steps only: no test figures, no model file yet.
  if (r.finished) {
    j.update({{"test_accuracy", r.test_accuracy}, {"test_loss", r.test_loss}, {"train_loss", r.train_loss},
              {"epochs", r.epochs}, {"weights", o.out + "/model.safetensors"}});
  } else {
    j.update({{"stopped_after", r.steps}, {"checkpoint", o.out + "/checkpoint.safetensors"}});
  }
  if (o.communicator != nullptr) {
    j["processes"] = o.communicator->size();
    j["communication_seconds_per_step"] = r.communication_seconds_per_step;
  }
  return j;
}

namespace {

void add_train(CLI::App& train, const std::string& name, const std::string& description) {
  auto options = std::make_shared<models::ClassifierOptions>();
  auto distributed = std::make_shared<DistributedFlags>();
  options->model = name;
  options->out = "runs/" + name;
  CLI::App* cmd = train.add_subcommand(name, description);
  cmd->add_option("--dataset", options->dataset, "mnist or fashion")->capture_default_str();
  cmd->add_option("--data", options->data_dir,
                  "Folder with the IDX files (default data/mnist or data/fashion-mnist)");
  cmd->add_option("--epochs", options->epochs, "Epochs (default: mlp 10, cnn 6)");
  cmd->add_option("--dropout", options->dropout, "Dropout probability (default: mlp 0.2, cnn 0.25)");
  add_classifier_training_flags(*cmd, *options);
  add_distributed_flags(*cmd, *distributed);
  cmd->callback([options, distributed] {
    run_training(*distributed, [&](nn::Communicator* communicator, bool main) {
      options->communicator = communicator;
      options->bucket_bytes = distributed->bucket_bytes();
      const models::ClassifierResult r = models::train_classifier(*options);
      if (!main) return;
      fmt::print("{}\n", classifier_result_json(*options, r).dump());
    });
  });
}

void add_eval(CLI::App& eval, const std::string& name) {
  struct EvalOptions {
    std::string weights;
    std::string dataset = "mnist";
    std::string data_dir;
    int threads = 0;
  };
  auto options = std::make_shared<EvalOptions>();
  options->weights = "runs/" + name + "/model.safetensors";
  CLI::App* cmd = eval.add_subcommand(name, "Test accuracy and loss of trained " + name + " weights");
  cmd->add_option("--weights", options->weights, "model.safetensors (or a checkpoint's model.*)")
      ->capture_default_str();
  cmd->add_option("--dataset", options->dataset, "mnist or fashion")->capture_default_str();
  cmd->add_option("--data", options->data_dir, "Folder with the IDX files");
  cmd->add_option("--threads", options->threads, "Threads");
  cmd->callback([options, name] {
    if (options->threads > 0) set_num_threads(options->threads);
    auto model = models::make_classifier(name);
    model->load_state_dict(nn::load_safetensors(options->weights).tensors);
    const std::string dir =
        options->data_dir.empty() ? models::default_data_dir(options->dataset) : options->data_dir;
    const nn::MnistData test = nn::load_mnist(dir, false, options->data_dir.empty() ? -1 : 0);
    const auto [loss, accuracy] = models::evaluate_classifier(*model, test.images, test.labels);
    fmt::print("{}\n", nlohmann::json{{"model", name}, {"dataset", options->dataset},
                                      {"test_accuracy", accuracy}, {"test_loss", loss},
                                      {"weights", options->weights}}
                           .dump());
  });
}

}  // namespace

void add_classifier_commands(const Verbs& verbs) {
  add_train(*verbs.train, "mlp", "Train the MLP classifier (784-512-512-10) on MNIST");
  add_train(*verbs.train, "cnn", "Train the CNN classifier (2 conv + pool blocks, 2 linear) on MNIST");
  add_eval(*verbs.eval, "mlp");
  add_eval(*verbs.eval, "cnn");
}

}  // namespace zoo::cli
