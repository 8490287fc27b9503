/// @file main.cpp
/// @brief `zoo`: one command for every model, in the style of git (`zoo train mlp`).

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "autograd/error.h"
#include "models/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"zoo: train, evaluate and sample classic deep-learning models on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "zoo 0.1.0");

  zoo::cli::Verbs verbs;
  verbs.train = app.add_subcommand("train", "Train a model (zoo train MODEL --help)");
  verbs.train->require_subcommand(1);
  verbs.eval = app.add_subcommand("eval", "Evaluate a trained model");
  verbs.eval->require_subcommand(1);
  verbs.generate = app.add_subcommand("generate", "Generate from a trained model");
  verbs.generate->require_subcommand(1);
  verbs.sample = app.add_subcommand("sample", "Draw images from a trained generative model");
  verbs.sample->require_subcommand(1);
  verbs.inpaint = app.add_subcommand("inpaint", "Fill in the missing pixels of test images");
  verbs.inpaint->require_subcommand(1);
  zoo::cli::add_classifier_commands(verbs);
  zoo::cli::add_lstm_mnist_commands(verbs);
  zoo::cli::add_char_lstm_commands(verbs);
  zoo::cli::add_transformer_commands(verbs);
  zoo::cli::add_vae_commands(verbs);
  zoo::cli::add_nice_commands(verbs);
  zoo::cli::add_ddpm_commands(verbs);
  zoo::cli::add_flow_commands(verbs);
  zoo::cli::add_bpe_commands(app);
  zoo::cli::add_word2vec_commands(app);
  zoo::cli::add_eval_samples_commands(app);
  zoo::cli::add_plot_commands(app);

  try {
    app.parse(argc, argv);  // the chosen subcommand runs in its callback
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const zoo::Error& e) {
    fmt::print(stderr, "zoo: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "zoo: unexpected error: {}\n", e.what());
    return 1;
  }
  return 0;
}
