/// @file char_lstm_commands.cpp
/// @brief `zoo train char-lstm`, `zoo generate char-lstm` and `zoo eval char-lstm`: the
/// byte-level LSTM language model on the Brown corpus.

#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/char_lstm/train.h"
#include "models/cli/commands.h"

namespace zoo::cli {
namespace {

void add_train(CLI::App& train) {
  auto o = std::make_shared<models::CharLstmOptions>();
  CLI::App* cmd = train.add_subcommand(
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
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint.safetensors (same options; --steps may grow)");
  cmd->add_option("--save-every", o->save_every, "Checkpoint every N steps (0: only at the end)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->callback([o] {
    const models::CharLstmResult r = models::train_char_lstm(*o);
    fmt::print(stderr, "sample: {}\n", r.sample);
    fmt::print("{}\n", nlohmann::json{{"model", "char-lstm"},
                                      {"valid_bpc", r.valid_bpc},
                                      {"train_bpc", r.train_bpc},
                                      {"steps", r.steps},
                                      {"seconds", r.seconds},
                                      {"tokens_per_second", r.tokens_per_second},
                                      {"weights", o->out + "/model.safetensors"},
                                      {"checkpoint", o->out + "/checkpoint.safetensors"}}
                           .dump());
  });

}

void add_generate(CLI::App& generate) {
  struct GenerateOptions {
    std::string ckpt = "runs/char-lstm/model.safetensors";
    std::string prompt = "The ";
    std::int64_t length = 500;
    double temperature = 0.8;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto g = std::make_shared<GenerateOptions>();
  CLI::App* gen = generate.add_subcommand("char-lstm", "Continue a prompt with a trained char-lstm");
  gen->add_option("--ckpt", g->ckpt, "model.safetensors or checkpoint.safetensors written by zoo train char-lstm")
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

void add_eval(CLI::App& parent) {
  struct EvalOptions {
    std::string weights = "runs/char-lstm/model.safetensors";
    std::string text = "data/brown/valid.txt";
    std::int64_t batch_size = models::CharLstmOptions{}.batch_size;
    std::int64_t seq_len = models::CharLstmOptions{}.seq_len;
    std::int64_t bytes = 0;
    int threads = 0;
  };
  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval = parent.add_subcommand("char-lstm", "Bits per character of a trained char-lstm on a text file");
  eval->add_option("--weights", e->weights, "model.safetensors or checkpoint.safetensors written by zoo train char-lstm")
      ->capture_default_str();
  eval->add_option("--text", e->text, "The text to score")->capture_default_str();
  eval->add_option("--batch-size", e->batch_size, "Streams the text is cut into (as in training)")
      ->capture_default_str();
  eval->add_option("--seq-len", e->seq_len, "Bytes per chunk; the state is carried across chunks")
      ->capture_default_str();
  eval->add_option("--bytes", e->bytes, "Score only the first N bytes (0: all)");
  eval->add_option("--threads", e->threads, "Threads");
  eval->callback([e] {
    if (e->threads > 0) set_num_threads(e->threads);
    auto model = models::load_char_lstm(e->weights);
    const double bpc = models::evaluate_bpc_on_file(*model, e->text, e->batch_size, e->seq_len, e->bytes);
    fmt::print("{}\n", nlohmann::json{{"model", "char-lstm"}, {"text", e->text}, {"bpc", bpc},
                                      {"weights", e->weights}}
                           .dump());
  });
}

}  // namespace

void add_char_lstm_commands(const Verbs& verbs) {
  add_train(*verbs.train);
  add_generate(*verbs.generate);
  add_eval(*verbs.eval);
}

}  // namespace zoo::cli
