/// @file transformer_commands.cpp
/// @brief `zoo train transformer`, `zoo train moe`, `zoo generate transformer|moe` and
/// `zoo eval transformer|moe`: the BPE-level language models on the Brown corpus.

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "models/bpe/model_file.h"
#include "models/cli/commands.h"
#include "models/transformer/data.h"
#include "models/transformer/generate.h"
#include "models/transformer/train.h"

namespace zoo::cli {
namespace {
namespace fs = std::filesystem;
namespace bpe = models::bpe;

/// The options of `zoo train moe` before any flag: the dense defaults with DeepSeekMoE
/// feed-forward layers of the same active size (1 shared + 3 of 16 routed experts of 192
/// units = 768, the dense layer's width).
models::TransformerTrainOptions moe_defaults() {
  models::TransformerTrainOptions o;
  o.model.moe.routed_experts = 16;
  o.model.moe.shared_experts = 1;
  o.model.moe.expert_hidden = 192;
  o.model.moe.top_k = 3;
  o.out = "runs/moe";
  return o;
}

void add_train(CLI::App& train, bool moe) {
  auto o = std::make_shared<models::TransformerTrainOptions>(moe ? moe_defaults() : models::TransformerTrainOptions{});
  CLI::App* cmd = train.add_subcommand(
      moe ? "moe" : "transformer",
      moe ? "Train a mixture-of-experts transformer language model on the Brown corpus (BPE tokens)"
          : "Train a dense transformer language model on the Brown corpus (BPE tokens)");
  auto& m = o->model;
  cmd->add_option("--data", o->data_dir, "Folder with train.txt and valid.txt")->capture_default_str();
  cmd->add_option("--vocab", m.vocab_size, "BPE vocabulary size (trained on train.txt)")->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer file to use (trained and written there if missing; "
                  "default OUT/tokenizer.bpe)");
  cmd->add_option("--d-model", m.d_model, "Width of the residual stream")->capture_default_str();
  cmd->add_option("--layers", m.n_layers, "Transformer blocks")->capture_default_str();
  cmd->add_option("--heads", m.n_heads, "Attention heads")->capture_default_str();
  cmd->add_option("--context", m.context, "Tokens per training window (T)")->capture_default_str();
  if (moe) {
    cmd->add_option("--experts", m.moe.routed_experts, "Routed experts (E)")->capture_default_str();
    cmd->add_option("--shared-experts", m.moe.shared_experts, "Shared experts every token uses")
        ->capture_default_str();
    cmd->add_option("--expert-hidden", m.moe.expert_hidden, "Hidden units of one expert")->capture_default_str();
    cmd->add_option("--top-k", m.moe.top_k, "Routed experts per token (K)")->capture_default_str();
    cmd->add_option("--gating", m.moe.gating,
                    "sigmoid or softmax (the bias balancing needs sigmoid: with softmax it cycles; tutorial 16)")->capture_default_str();
    cmd->add_option("--balance", m.moe.balance, "bias (auxiliary-loss-free), aux-loss or none")
        ->capture_default_str();
    cmd->add_option("--aux-loss-coef", m.moe.aux_loss_coef, "alpha of the auxiliary loss")->capture_default_str();
    cmd->add_option("--bias-rate", m.moe.bias_update_rate, "gamma, the balancing bias step")->capture_default_str();
    cmd->add_option("--capacity-factor", m.moe.capacity_factor, "Expert capacity factor (0: no limit)")
        ->capture_default_str();
  } else {
    cmd->add_option("--ffn-hidden", m.ffn_hidden, "Hidden units of the SwiGLU feed-forward")->capture_default_str();
  }
  cmd->add_flag("--reference-attention", [&m](std::int64_t) { m.fused_attention = false; },
                "Attention through the readable reference instead of the fused kernel");
  cmd->add_flag("--checkpoint-blocks", m.checkpoint_blocks,
                "Gradient checkpointing: recompute each block's activations in backward");
  cmd->add_option("--steps", o->steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Windows per step (B)")->capture_default_str();
  cmd->add_option("--optimizer", o->optimizer, "adamw or muon")->capture_default_str();
  cmd->add_option("--lr", o->lr, "Peak learning rate (Muon's with --optimizer muon)")->capture_default_str();
  cmd->add_option("--adamw-lr", o->adamw_lr, "With muon: lr of the AdamW part (embedding, routers, norms)")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o->weight_decay, "Decoupled weight decay")->capture_default_str();
  cmd->add_option("--warmup", o->warmup_steps, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--min-lr-ratio", o->min_lr_ratio, "The cosine decays to this fraction of the peak")
      ->capture_default_str();
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
  cmd->callback([o, moe] {
    const models::TransformerTrainResult r = models::train_transformer(*o);
    fmt::print(stderr, "sample: {}\n", r.sample);
    nlohmann::json j{{"model", moe ? "moe" : "transformer"},
                     {"valid_loss", r.valid_loss},
                     {"valid_perplexity", r.valid_perplexity},
                     {"train_loss", r.train_loss},
                     {"steps", r.steps},
                     {"tokens", r.tokens},
                     {"seconds", r.seconds},
                     {"tokens_per_second", r.tokens_per_second},
                     {"parameters", r.parameters},
                     {"active_parameters", r.active_parameters},
                     {"peak_bytes", r.peak_bytes},
                     {"weights", o->out + "/model.safetensors"},
                     {"checkpoint", o->out + "/checkpoint.safetensors"}};
    if (moe) {
      j["max_violation"] = r.max_violation;
      j["aux_loss"] = r.aux_loss;
    }
    fmt::print("{}\n", j.dump());
  });
}

/// The tokenizer of a model file: `tokenizer` if given, else tokenizer.bpe beside it.
bpe::Tokenizer tokenizer_for(const std::string& ckpt, const std::string& tokenizer) {
  const fs::path path = tokenizer.empty() ? fs::path(ckpt).parent_path() / "tokenizer.bpe" : fs::path(tokenizer);
  ZOO_CHECK(fs::exists(path), "no tokenizer at '{}' (training writes one beside the model; or pass --tokenizer)",
            path.string());
  return bpe::load_tokenizer(path);
}

void add_generate(CLI::App& generate, bool moe) {
  struct Options {
    std::string ckpt;
    std::string tokenizer;
    std::string prompt = "The";
    models::GenerateOptions sampling;
    bool no_cache = false;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto g = std::make_shared<Options>();
  g->ckpt = moe ? "runs/moe/model.safetensors" : "runs/transformer/model.safetensors";
  CLI::App* cmd = generate.add_subcommand(moe ? "moe" : "transformer",
                                          "Continue a prompt with a trained transformer language model");
  cmd->add_option("--ckpt", g->ckpt, "model.safetensors or checkpoint.safetensors written by zoo train")
      ->capture_default_str();
  cmd->add_option("--tokenizer", g->tokenizer, "Tokenizer file (default: tokenizer.bpe beside --ckpt)");
  cmd->add_option("--prompt", g->prompt, "Text to continue")->capture_default_str();
  cmd->add_option("--tokens", g->sampling.max_new_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", g->sampling.temperature, "Sampling temperature (0: most likely token)")
      ->capture_default_str();
  cmd->add_option("--top-k", g->sampling.top_k, "Draw among the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_flag("--no-cache", g->no_cache, "Recompute the whole window for every token (slower, same text)");
  cmd->add_option("--seed", g->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", g->threads, "Threads");
  cmd->callback([g] {
    if (g->threads > 0) set_num_threads(g->threads);
    auto model = models::load_transformer(g->ckpt);
    const bpe::Tokenizer tokenizer = tokenizer_for(g->ckpt, g->tokenizer);
    const std::vector<bpe::TokenId> prompt = tokenizer.encode(g->prompt);
    ZOO_CHECK(!prompt.empty(), "generate: the prompt is empty");
    models::GenerateOptions o = g->sampling;
    o.use_cache = !g->no_cache;
    Generator rng(g->seed);
    const auto ids = models::generate(*model, std::vector<std::int64_t>(prompt.begin(), prompt.end()), o, rng);
    fmt::print("{}\n", tokenizer.decode(std::vector<bpe::TokenId>(ids.begin(), ids.end())));
  });
}

void add_eval(CLI::App& parent, bool moe) {
  struct Options {
    std::string weights;
    std::string tokenizer;
    std::string text = "data/brown/valid.txt";
    std::int64_t batch_size = 32;
    int threads = 0;
  };
  auto e = std::make_shared<Options>();
  e->weights = moe ? "runs/moe/model.safetensors" : "runs/transformer/model.safetensors";
  CLI::App* cmd = parent.add_subcommand(moe ? "moe" : "transformer",
                                        "Loss and perplexity of a trained transformer language model on a text");
  cmd->add_option("--weights", e->weights, "model.safetensors or checkpoint.safetensors written by zoo train")
      ->capture_default_str();
  cmd->add_option("--tokenizer", e->tokenizer, "Tokenizer file (default: tokenizer.bpe beside --weights)");
  cmd->add_option("--text", e->text, "The text to score")->capture_default_str();
  cmd->add_option("--batch-size", e->batch_size, "Windows per forward pass")->capture_default_str();
  cmd->add_option("--threads", e->threads, "Threads");
  cmd->callback([e, moe] {
    if (e->threads > 0) set_num_threads(e->threads);
    auto model = models::load_transformer(e->weights);
    const bpe::Tokenizer tokenizer = tokenizer_for(e->weights, e->tokenizer);
    ZOO_CHECK(fs::exists(e->text), "eval: cannot read '{}'", e->text);
    const std::vector<bpe::TokenId> ids = tokenizer.encode(bpe::read_file_bytes(e->text));
    const double loss = models::evaluate_loss(*model, std::vector<std::int64_t>(ids.begin(), ids.end()),
                                              e->batch_size);
    fmt::print("{}\n", nlohmann::json{{"model", moe ? "moe" : "transformer"}, {"text", e->text},
                                      {"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", ids.size()},
                                      {"weights", e->weights}}
                           .dump());
  });
}

}  // namespace

void add_transformer_commands(const Verbs& verbs) {
  for (bool moe : {false, true}) {
    add_train(*verbs.train, moe);
    add_generate(*verbs.generate, moe);
    add_eval(*verbs.eval, moe);
  }
}

}  // namespace zoo::cli
