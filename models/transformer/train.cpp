/// @file train.cpp
/// @brief The transformer's training loop: random windows, warm-up and cosine decay,
/// clipping, validation with expert loads, checkpoints that resume exactly.

#include "models/transformer/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "autograd/ops.h"
#include "autograd/storage.h"
#include "models/bpe/model_file.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/transformer/data.h"
#include "models/transformer/generate.h"
#include "nn/io/checkpoint.h"
#include "nn/io/metadata_values.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/muon.h"

namespace zoo::models {
namespace fs = std::filesystem;

nn::SafetensorsMetadata transformer_metadata(const TransformerConfig& c) {
  const MoeConfig& m = c.moe;
  return {{"model", c.is_moe() ? "moe" : "transformer"},
          {"vocab_size", std::to_string(c.vocab_size)},
          {"d_model", std::to_string(c.d_model)},
          {"n_layers", std::to_string(c.n_layers)},
          {"n_heads", std::to_string(c.n_heads)},
          {"context", std::to_string(c.context)},
          {"ffn_hidden", std::to_string(c.ffn_hidden)},
          {"rope_base", fmt::format("{}", c.rope_base)},
          {"norm_eps", fmt::format("{}", c.norm_eps)},
          {"routed_experts", std::to_string(m.routed_experts)},
          {"shared_experts", std::to_string(m.shared_experts)},
          {"expert_hidden", std::to_string(m.expert_hidden)},
          {"top_k", std::to_string(m.top_k)},
          {"gating", m.gating},
          {"balance", m.balance},
          {"aux_loss_coef", fmt::format("{}", m.aux_loss_coef)},
          {"bias_update_rate", fmt::format("{}", m.bias_update_rate)},
          {"capacity_factor", fmt::format("{}", m.capacity_factor)}};
}

TransformerConfig transformer_config_from(const nn::SafetensorsMetadata& meta, const std::string& path) {
  const auto get = [&](const char* key) { return nn::metadata_text(meta, key, path); };
  const auto integer = [&](const char* key) { return nn::metadata_int(meta, key, path); };
  const auto real = [&](const char* key) { return nn::metadata_double(meta, key, path); };
  TransformerConfig c;
  c.vocab_size = integer("vocab_size");
  c.d_model = integer("d_model");
  c.n_layers = integer("n_layers");
  c.n_heads = integer("n_heads");
  c.context = integer("context");
  c.ffn_hidden = integer("ffn_hidden");
  c.rope_base = real("rope_base");
  c.norm_eps = real("norm_eps");
  c.moe.routed_experts = integer("routed_experts");
  c.moe.shared_experts = integer("shared_experts");
  c.moe.expert_hidden = integer("expert_hidden");
  c.moe.top_k = integer("top_k");
  c.moe.gating = get("gating");
  c.moe.balance = get("balance");
  c.moe.aux_loss_coef = real("aux_loss_coef");
  c.moe.bias_update_rate = real("bias_update_rate");
  c.moe.capacity_factor = real("capacity_factor");
  check_config(c);
  return c;
}

std::shared_ptr<Transformer> load_transformer(const std::string& path) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: its weights are its model.* tensors
    nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = std::move(ck.model);
    file.metadata = std::move(ck.metadata);
  }
  auto model = std::make_shared<Transformer>(transformer_config_from(file.metadata, path));
  model->load_state_dict(file.tensors);
  return model;
}

double evaluate_loss(Transformer& model, const std::vector<std::int64_t>& tokens, std::int64_t batch) {
  const std::int64_t T = model.config.context;
  const std::int64_t windows = (static_cast<std::int64_t>(tokens.size()) - 1) / T;
  ZOO_CHECK(windows > 0, "evaluate: {} tokens are fewer than one window of {}", tokens.size(), T + 1);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double nats = 0;
  for (std::int64_t first = 0; first < windows; first += batch) {
    const std::int64_t B = std::min(batch, windows - first);
    std::vector<std::int64_t> x(static_cast<std::size_t>(B * T)), y(static_cast<std::size_t>(B * T));
    for (std::int64_t b = 0; b < B; ++b) {
      const auto start = tokens.begin() + (first + b) * T;  // window [start, start + T + 1)
      std::copy(start, start + T, x.begin() + b * T);
      std::copy(start + 1, start + T + 1, y.begin() + b * T);
    }
    const Tensor logits = model.forward(from_vector(x, {B, T}));
    nats += cross_entropy(logits.reshape({B * T, model.config.vocab_size}), from_vector(y, {B * T}), -100, 0.0,
                          Reduction::Sum)
                .item();
  }
  model.train(was_training);
  return nats / static_cast<double>(windows * T);
}

namespace {

/// The optimizer: AdamW over everything, or Muon over the 2-D weights inside the blocks
/// with AdamW (lr `adamw_lr`) for the embedding, the routers and the norms' gains.
std::unique_ptr<optim::Optimizer> make_transformer_optimizer(Transformer& model, const TransformerTrainOptions& o) {
  if (o.optimizer == "adamw")
    return std::make_unique<optim::AdamW>(
        model.named_parameters(), optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay));
  ZOO_CHECK(o.optimizer == "muon", "train transformer: unknown optimizer '{}' (expected adamw or muon)",
            o.optimizer);
  std::vector<std::string> adamw_params;
  for (const auto& [name, p] : model.named_parameters())
    if (name == "embed.weight" || name.ends_with("router.weight")) adamw_params.push_back(name);
  return std::make_unique<optim::Muon>(
      model.named_parameters(),
      optim::MuonOptions(o.lr).adamw_params(adamw_params).weight_decay(o.weight_decay).adamw(
          optim::AdamWOptions(o.adamw_lr).betas({0.9, 0.95}).eps(1e-10).weight_decay(o.weight_decay)));
}

/// Where a run is, besides weights and optimizer state.
struct Position {
  std::int64_t step = 0;
  double loss_sum = 0;  // training cross-entropy since the last validation...
  double aux_sum = 0;   // ...the auxiliary loss...
  std::int64_t loss_count = 0;  // ...and how many steps
  double seconds = 0;   // training time so far, validation left out
};

/// The options a checkpoint must agree with to be continued.
std::map<std::string, std::string> run_identity(const TransformerTrainOptions& o) {
  std::map<std::string, std::string> id = transformer_metadata(o.model);
  id["batch_size"] = std::to_string(o.batch_size);
  id["optimizer"] = o.optimizer;
  id["lr"] = fmt::format("{}", o.lr);
  id["adamw_lr"] = fmt::format("{}", o.adamw_lr);
  id["weight_decay"] = fmt::format("{}", o.weight_decay);
  id["warmup_steps"] = std::to_string(o.warmup_steps);
  id["min_lr_ratio"] = fmt::format("{}", o.min_lr_ratio);
  id["clip"] = fmt::format("{}", o.clip_grad_norm);
  id["train_bytes"] = std::to_string(o.train_bytes);
  id["seed"] = std::to_string(o.seed);
  return id;
}

void save(const fs::path& path, Transformer& model, const optim::Optimizer& optimizer, const Position& pos,
          Generator& batches, const TransformerTrainOptions& o) {
  nn::Checkpoint ck;
  ck.model = model.state_dict();
  ck.optimizer = optimizer.state_dict();
  ck.step = pos.step;
  ck.generators["batches"] = batches.get_state();
  ck.metadata = run_identity(o);
  ck.metadata["steps_planned"] = std::to_string(o.steps);
  ck.metadata["loss_sum"] = fmt::format("{:.17g}", pos.loss_sum);
  ck.metadata["aux_sum"] = fmt::format("{:.17g}", pos.aux_sum);
  ck.metadata["loss_count"] = std::to_string(pos.loss_count);
  ck.metadata["seconds"] = fmt::format("{:.17g}", pos.seconds);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, Transformer& model, optim::Optimizer& optimizer, Generator& batches,
                 const TransformerTrainOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  const auto get = [&](const std::string& key) {
    const auto it = ck.metadata.find(key);
    ZOO_CHECK(it != ck.metadata.end(), "resume: '{}' has no '{}' (not a transformer checkpoint?)", path.string(),
              key);
    return it->second;
  };
  for (const auto& [key, value] : run_identity(o))
    ZOO_CHECK(get(key) == value, "resume: '{}' was saved with {} = {}, this run asks for {}", path.string(), key,
              get(key), value);
  model.load_state_dict(ck.model);
  optimizer.load_state_dict(ck.optimizer);
  batches.set_state(ck.generator_state("batches"));
  Position pos;
  pos.step = ck.step;
  pos.loss_sum = ck.metadata_double("loss_sum");
  pos.aux_sum = ck.metadata_double("aux_sum");
  pos.loss_count = ck.metadata_int("loss_count");
  pos.seconds = ck.metadata_double("seconds");
  return pos;
}

/// Validation loss and, for MoE, each layer's load on the validation text.
struct Evaluation {
  double loss = 0;
  std::vector<std::vector<double>> load_share;  // per layer, per expert: share of the load
  double max_violation = 0;                      // max over layers
};

Evaluation evaluate(Transformer& model, const std::vector<std::int64_t>& valid, std::int64_t batch) {
  const auto layers = model.moe_layers();
  for (const auto& layer : layers) layer->take_load();  // count the validation tokens only
  Evaluation e;
  e.loss = evaluate_loss(model, valid, batch);
  for (const auto& layer : layers) {
    const std::vector<std::int64_t> load = layer->take_load();
    double total = 0;
    for (std::int64_t c : load) total += static_cast<double>(c);
    std::vector<double> share;
    for (std::int64_t c : load) share.push_back(total > 0 ? static_cast<double>(c) / total : 0.0);
    e.load_share.push_back(share);
    e.max_violation = std::max(e.max_violation, max_violation(load));
  }
  return e;
}

std::int64_t count_parameters(const Transformer& model) {
  std::int64_t n = 0;
  for (const auto& [name, p] : model.named_parameters()) n += p.numel();
  return n;
}

}  // namespace

TransformerTrainResult train_transformer(const TransformerTrainOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const char* name = o.model.is_moe() ? "moe" : "transformer";
  ZOO_CHECK(o.steps > 0 && o.batch_size > 0, "train {}: --steps and --batch-size must be positive", name);
  ZOO_CHECK(o.eval_every > 0 && o.save_every >= 0 && o.warmup_steps >= 0,
            "train {}: --eval-every must be positive, --save-every and --warmup not negative", name);
  check_config(o.model);
  const fs::path out(o.out);
  fs::create_directories(out);
  const fs::path tokenizer_path = o.tokenizer.empty() ? out / "tokenizer.bpe" : fs::path(o.tokenizer);
  if (!o.quiet) fmt::print(stderr, "{}: tokenizing {} with a {}-token BPE vocabulary\n", name, o.data_dir,
                           o.model.vocab_size);
  const TokenizedCorpus corpus =
      tokenize_corpus(o.data_dir, o.model.vocab_size, tokenizer_path, o.train_bytes, o.valid_bytes);
  if (!o.tokenizer.empty() && fs::path(o.tokenizer) != out / "tokenizer.bpe")
    bpe::save_tokenizer(corpus.tokenizer, out / "tokenizer.bpe");  // generation finds it beside the model
  const std::int64_t T = o.model.context, B = o.batch_size;
  if (!o.quiet)
    fmt::print(stderr, "{}: {} training tokens, {} validation tokens ({:.2f} bytes per token)\n", name,
               corpus.train.size(), corpus.valid.size(),
               static_cast<double>(fs::file_size(fs::path(o.data_dir) / "train.txt")) /
                   static_cast<double>(corpus.train.size()));

  manual_seed(o.seed);
  Transformer model(o.model);
  auto optimizer = make_transformer_optimizer(model, o);
  const std::int64_t warmup = std::min(o.warmup_steps, o.steps - 1);
  optim::WarmupCosine schedule(*optimizer, warmup, o.steps, o.lr * o.min_lr_ratio);
  Generator batches(o.seed + 1);
  const fs::path checkpoint_path = out / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, model, *optimizer, batches, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  TransformerTrainResult result;
  result.parameters = count_parameters(model);
  result.active_parameters = active_parameters(o.model);
  const auto moe_layers = model.moe_layers();
  std::int64_t evaluated_at = -1;
  ProgressLine progress(name, o.steps, 50, o.quiet ? nullptr : stderr);
  auto started = std::chrono::steady_clock::now();
  const auto seconds_now = [&] {
    return pos.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto validate = [&](std::int64_t step) {
    const Evaluation e = evaluate(model, corpus.valid, B);
    result.valid_loss = e.loss;
    result.valid_perplexity = std::exp(e.loss);
    result.max_violation = e.max_violation;
    result.expert_load = e.load_share;
    nlohmann::json record = {{"step", step}, {"valid_loss", e.loss}, {"valid_perplexity", std::exp(e.loss)},
                             {"seconds", pos.seconds}, {"tokens", step * B * T}};
    if (pos.loss_count > 0) {
      result.train_loss = pos.loss_sum / static_cast<double>(pos.loss_count);
      result.aux_loss = pos.aux_sum / static_cast<double>(pos.loss_count);
      record["train_loss"] = result.train_loss;
      record["tokens_per_second"] = static_cast<double>(step * B * T) / pos.seconds;
      record["lr"] = optimizer->lr();
    }
    if (!moe_layers.empty()) {
      record["aux_loss"] = result.aux_loss;
      record["max_violation"] = e.max_violation;
      record["expert_load"] = e.load_share;
    }
    metrics.write(record);
    if (!o.quiet) {
      fmt::print(stderr, "\nstep {}: train loss {:.4f}, valid loss {:.4f} (perplexity {:.1f})", step,
                 result.train_loss, e.loss, std::exp(e.loss));
      if (!moe_layers.empty()) fmt::print(stderr, ", max violation {:.3f}", e.max_violation);
      fmt::print(stderr, "\n");
    }
    pos.loss_sum = pos.aux_sum = 0;
    pos.loss_count = 0;
    evaluated_at = step;
  };

  reset_storage_peak();
  while (pos.step < o.steps) {
    const std::int64_t step = pos.step + 1;
    optimizer->set_lr(schedule.lr_at(step - 1));
    const Tensor window = random_windows(corpus.train, B, T + 1, batches);
    const Tensor x = window.narrow(1, 0, T).contiguous(), y = window.narrow(1, 1, T).contiguous();
    const TransformerOutput out_ = model.forward(x, nullptr);
    const Tensor ce = cross_entropy(out_.logits.reshape({B * T, o.model.vocab_size}), y.reshape({B * T}));
    const Tensor loss = out_.aux_loss.defined() ? ce + out_.aux_loss : ce;
    optimizer->zero_grad();
    loss.backward();
    if (o.clip_grad_norm > 0) optim::clip_grad_norm_(model.parameters(), o.clip_grad_norm);
    optimizer->step();
    for (const auto& layer : moe_layers) layer->update_bias();  // aux-loss-free balancing (or drop the count)

    const double value = ce.item();
    pos.loss_sum += value;
    pos.aux_sum += out_.aux_loss.defined() ? out_.aux_loss.item() : 0.0;
    ++pos.loss_count;
    pos.step = step;
    progress.update(step, B * T, fmt::format("loss {:.4f}", value));
    result.peak_bytes = std::max(result.peak_bytes, storage_peak_bytes());
    if (step % o.eval_every == 0 || step == o.steps) {
      pos.seconds = seconds_now();
      validate(step);
      reset_storage_peak();  // the training steps' peak only
      started = std::chrono::steady_clock::now();
    }
    const bool interrupted = o.stop_after > 0 && step >= o.stop_after && step < o.steps;
    if (interrupted || step == o.steps || (o.save_every > 0 && step % o.save_every == 0)) {
      Position saved = pos;
      saved.seconds = seconds_now();
      save(checkpoint_path, model, *optimizer, saved, batches, o);
    }
    if (interrupted) {
      result.steps = step;
      return result;  // the checkpoint holds everything
    }
  }
  progress.finish();
  pos.seconds = seconds_now();
  if (evaluated_at != o.steps) validate(o.steps);  // resumed from a run that had already ended
  result.steps = o.steps;
  result.tokens = o.steps * B * T;
  result.seconds = pos.seconds;
  result.tokens_per_second = static_cast<double>(result.tokens) / pos.seconds;
  nn::save_safetensors(out / "model.safetensors", model.state_dict(), transformer_metadata(o.model));
  Generator gen(o.seed);
  GenerateOptions g;
  g.max_new_tokens = 60;
  const std::vector<bpe::TokenId> prompt = corpus.tokenizer.encode("The");
  const auto ids = generate(model, std::vector<std::int64_t>(prompt.begin(), prompt.end()), g, gen);
  result.sample = corpus.tokenizer.decode(std::vector<bpe::TokenId>(ids.begin(), ids.end()));
  result.finished = true;
  return result;
}

}  // namespace zoo::models
