/// @file lstm_mnist_commands.cpp
/// @brief `zoo train lstm-mnist` and `zoo eval lstm-mnist`: sequential MNIST.

#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/cli/commands.h"
#include "models/cli/distributed.h"
#include "models/lstm_mnist/train.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"

namespace zoo::cli {

void add_lstm_mnist_commands(const Verbs& verbs) {
  auto options = std::make_shared<models::LstmMnistOptions>();
  auto distributed = std::make_shared<DistributedFlags>();
  CLI::App* cmd = verbs.train->add_subcommand(
      "lstm-mnist", "Train an LSTM that reads MNIST images row by row (sequential MNIST)");
  cmd->add_option("--data", options->training.data_dir,
                  "Folder with the MNIST IDX files (default data/mnist)");
  cmd->add_option("--hidden", options->model.hidden_size, "LSTM hidden units")->capture_default_str();
  cmd->add_option("--layers", options->model.num_layers, "LSTM layers")->capture_default_str();
  cmd->add_option("--dropout", options->model.dropout, "Dropout between LSTM layers")
      ->capture_default_str();
  cmd->add_option("--epochs", options->training.epochs, "Epochs")->capture_default_str();
  add_classifier_training_flags(*cmd, options->training);
  add_distributed_flags(*cmd, *distributed);
  cmd->callback([options, distributed] {
    run_training(*distributed, [&](nn::Communicator* communicator, bool main) {
      options->training.communicator = communicator;
      options->training.bucket_bytes = distributed->bucket_bytes();
      const models::ClassifierResult r = models::train_lstm_mnist(*options);
      if (!main) return;
      fmt::print("{}\n", classifier_result_json(options->training, r).dump());
    });
  });

  struct EvalOptions {
    std::string weights = "runs/lstm-mnist/model.safetensors";
    std::string data_dir;
    models::LstmMnistConfig model;
    int threads = 0;
  };
  auto eval = std::make_shared<EvalOptions>();
  CLI::App* ecmd = verbs.eval->add_subcommand("lstm-mnist", "Test accuracy and loss of trained lstm-mnist weights");
  ecmd->add_option("--weights", eval->weights, "model.safetensors")->capture_default_str();
  ecmd->add_option("--data", eval->data_dir, "Folder with the MNIST IDX files (default data/mnist)");
  ecmd->add_option("--hidden", eval->model.hidden_size, "LSTM hidden units")->capture_default_str();
  ecmd->add_option("--layers", eval->model.num_layers, "LSTM layers")->capture_default_str();
  ecmd->add_option("--threads", eval->threads, "Threads");
  ecmd->callback([eval] {
    if (eval->threads > 0) set_num_threads(eval->threads);
    models::LstmMnist model(eval->model);
    model.load_state_dict(nn::load_safetensors(eval->weights).tensors);
    const std::string dir = eval->data_dir.empty() ? "data/mnist" : eval->data_dir;
    const nn::MnistData test = nn::load_mnist(dir, false, eval->data_dir.empty() ? -1 : 0);
    const auto [loss, accuracy] = models::evaluate_classifier(model, test.images, test.labels);
    fmt::print("{}\n", nlohmann::json{{"model", "lstm-mnist"}, {"test_accuracy", accuracy},
                                      {"test_loss", loss}, {"weights", eval->weights}}
                           .dump());
  });
}

}  // namespace zoo::cli
