/// @file char_lstm_commands.cpp
/// @brief `zoo train char-lstm` and `zoo generate char-lstm`: the byte-level LSTM
/// language model on the Brown corpus.

#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/char_lstm/train.h"
#include "models/cli/commands.h"

namespace zoo::cli {

void add_char_lstm_commands(const Verbs& verbs) {
  auto o = std::make_shared<models::CharLstmOptions>();
  CLI::App* cmd = verbs.train->add_subcommand(
      "char-lstm", "Train a byte-level LSTM language model on the Brown corpus (truncated BPTT)");
  cmd->add_option("--data", o->data_dir, "Folder with train.txt and valid.txt")->capture_default_str();
  cmd->add_option("--embed", o->model.embed_dim, "Byte embedding size")->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden_size, "LSTM hidden units")->capture_default_str();
  cmd->add_option("--layers", o->model.num_layers, "LSTM layers")->capture_default_str();
  cmd->add_option("--dropout", o->model.dropout, "Dropout between LSTM layers")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Streams read side by side (B)")->capture_default_str();
  cmd->add_option("--seq-len", o->seq_len, "Steps of backpropagation through time (T)")
      ->capture_default_str();
  cmd->add_option("--lr", o->lr, "Learning rate (constant)")->capture_default_str();
  cmd->add_option("--optimizer", o->optimizer, "adam, adamw, sgd or muon")->capture_default_str();
  cmd->add_option("--clip", o->clip_grad_norm, "Gradient norm limit (0: off)")->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "Validate every N steps")->capture_default_str();
  cmd->add_option("--train-bytes", o->train_bytes, "Use only the first N bytes of train.txt");
  cmd->add_option("--valid-bytes", o->valid_bytes, "Validate on the first N bytes of valid.txt");
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_option("--out", o->out, "Output folder")->capture_default_str();
  cmd->callback([o] {
    const models::CharLstmResult r = models::train_char_lstm(*o);
    fmt::print(stderr, "sample: {}\n", r.sample);
    fmt::print("{}\n", nlohmann::json{{"model", "char-lstm"},
                                      {"valid_bpc", r.valid_bpc},
                                      {"train_bpc", r.train_bpc},
                                      {"steps", r.steps},
                                      {"seconds", r.seconds},
                                      {"tokens_per_second", r.tokens_per_second},
                                      {"weights", o->out + "/model.safetensors"}}
                           .dump());
  });

  struct GenerateOptions {
    std::string ckpt = "runs/char-lstm/model.safetensors";
    std::string prompt = "The ";
    std::int64_t length = 500;
    double temperature = 0.8;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto g = std::make_shared<GenerateOptions>();
  CLI::App* gen = verbs.generate->add_subcommand("char-lstm", "Continue a prompt with a trained char-lstm");
  gen->add_option("--ckpt", g->ckpt, "model.safetensors written by zoo train char-lstm")
      ->capture_default_str();
  gen->add_option("--prompt", g->prompt, "Text to continue")->capture_default_str();
  gen->add_option("--length", g->length, "Bytes to generate")->capture_default_str();
  gen->add_option("--temperature", g->temperature, "Sampling temperature (0: most likely byte)")
      ->capture_default_str();
  gen->add_option("--seed", g->seed, "Random seed")->capture_default_str();
  gen->add_option("--threads", g->threads, "Threads");
  gen->callback([g] {
    if (g->threads > 0) set_num_threads(g->threads);
    auto model = models::load_char_lstm(g->ckpt);
    Generator rng(g->seed);
    fmt::print("{}\n", models::sample_text(*model, g->prompt, g->length, g->temperature, rng));
  });
}

}  // namespace zoo::cli
