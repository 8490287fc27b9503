#pragma once
/// @file commands.h
/// @brief How each model adds its subcommands to `zoo train`, `zoo eval`, `zoo sample`,
/// and the tools with verbs of their own (`zoo bpe ...`, `zoo word2vec ...`).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/classifier/train.h"

namespace zoo::cli {

/// The top-level verbs; each model adds a subcommand under those it supports.
struct Verbs {
  CLI::App* train;  ///< `zoo train`: models add `zoo train NAME`
  CLI::App* eval;   ///< `zoo eval`: models add `zoo eval NAME`
  CLI::App* generate = nullptr;  ///< `zoo generate`: models add `zoo generate NAME`
  CLI::App* sample = nullptr;    ///< `zoo sample`: generative image models add `zoo sample NAME`
  CLI::App* inpaint = nullptr;   ///< `zoo inpaint`: models that fill in missing pixels add `zoo inpaint NAME`
};

/// `zoo train mlp|cnn`, `zoo eval mlp|cnn`.
void add_classifier_commands(const Verbs& verbs);

/// The flags every image classifier trained by `train_classifier` shares (batch size,
/// learning rate, optimizer, clipping, seed, threads, output, resume, checkpoints),
/// bound to `options`. Shared by `zoo train mlp|cnn` and `zoo train lstm-mnist`.
void add_classifier_training_flags(CLI::App& cmd, models::ClassifierOptions& options);

/// The last line of `zoo train mlp|cnn|lstm-mnist`: what `train_classifier` measured, as
/// JSON (test figures and the weights' path for a finished run; the checkpoint's for one
/// stopped by `--stop-after`; the processes and all-reduce time when distributed).
nlohmann::json classifier_result_json(const models::ClassifierOptions& options, const models::ClassifierResult& result);

/// `zoo train lstm-mnist`, `zoo eval lstm-mnist`: sequential MNIST.
void add_lstm_mnist_commands(const Verbs& verbs);

/// `zoo train char-lstm`, `zoo generate char-lstm`, `zoo eval char-lstm`: the byte-level LSTM language model.
void add_char_lstm_commands(const Verbs& verbs);

/// `zoo train|generate|eval transformer` and `... moe`: the BPE-level language models.
void add_transformer_commands(const Verbs& verbs);

/// `zoo train nice`, `zoo eval nice`, `zoo sample nice`, `zoo inpaint nice`: the NICE flow on MNIST.
void add_nice_commands(const Verbs& verbs);

/// `zoo train vae`, `zoo eval vae`, `zoo sample vae`: the variational autoencoder on MNIST.
void add_vae_commands(const Verbs& verbs);

/// `zoo train ddpm`, `zoo sample ddpm`: the denoising diffusion model on MNIST.
void add_ddpm_commands(const Verbs& verbs);

/// `zoo train flow`, `zoo sample flow`: rectified flow on MNIST, on the same U-Net.
void add_flow_commands(const Verbs& verbs);

/// `zoo bpe train|encode|decode|show`: a tokenizer has verbs of its own, not a model's.
void add_bpe_commands(CLI::App& app);

/// `zoo word2vec train|neighbors|analogy|eval`: word vectors, with verbs of their own.
void add_word2vec_commands(CLI::App& app);

/// `zoo eval-samples`: the sample-quality metric of generated MNIST images (models/sample_quality/).
void add_eval_samples_commands(CLI::App& app);

/// `zoo plot RUN_DIR... --out FILE`: the runs' curves on one chart, drawn by gnuplot (models/plot/).
void add_plot_commands(CLI::App& app);

}  // namespace zoo::cli
