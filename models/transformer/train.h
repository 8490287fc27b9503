#pragma once
/// @file train.h
/// @brief Training the transformer language model (dense or mixture-of-experts) on the
/// Brown corpus tokenized by zoo's BPE: the recipe behind `zoo train transformer` and
/// `zoo train moe`.
///
/// Each step draws B random windows of T + 1 tokens from the training text (T = the
/// context), predicts tokens 2..T+1 from 1..T, and takes one optimizer step on the mean
/// cross-entropy (plus the MoE auxiliary loss, if chosen). The learning rate warms up
/// linearly, then follows a cosine down to `min_lr_ratio` of its peak; the gradient's
/// total norm is clipped. Every `eval_every` steps the validation text, cut into
/// consecutive windows, gives the validation loss, its perplexity \f$e^{\text{loss}}\f$
/// and, for MoE, each expert's load and the maximal violation.
///
/// Lesson: @ref tutorial_15_attention_transformer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/transformer/model.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

/// Everything `zoo train transformer|moe` can set.
struct TransformerTrainOptions {
  TransformerConfig model;               ///< sizes; moe.routed_experts > 0 for MoE
  std::string data_dir = "data/brown";   ///< holds train.txt and valid.txt
  std::int64_t steps = 1000;             ///< optimizer steps (4.1M tokens, 2.5 passes over Brown)
  std::int64_t batch_size = 32;          ///< B windows of `model.context` tokens
  std::string optimizer = "adamw";       ///< adamw or muon
  double lr = 1e-3;                      ///< peak lr (AdamW's; Muon's for muon)
  double adamw_lr = 3e-3;                ///< muon only: the lr of its AdamW half (embedding, routers, norms)
  double weight_decay = 0.01;            ///< AdamW's decoupled weight decay
  std::int64_t warmup_steps = 100;       ///< linear warm-up steps
  double min_lr_ratio = 0.1;             ///< the cosine ends at this fraction of the peak
  double clip_grad_norm = 1.0;           ///< total gradient norm limit (0: off)
  std::int64_t eval_every = 100;         ///< validate every this many steps (and at the end)
  std::int64_t train_bytes = 0;          ///< use only the first N bytes of train.txt (0: all)
  std::int64_t valid_bytes = 0;          ///< validate on the first N bytes of valid.txt (0: all)
  std::uint64_t seed = 0;                ///< initialisation and batches
  int threads = 0;                       ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/transformer";  ///< metrics.jsonl, checkpoint, model, tokenizer.bpe
  /// The tokenizer file: read if it exists, else trained on train.txt and written there.
  /// Empty: `out`/tokenizer.bpe.
  std::string tokenizer;
  bool resume = false;                   ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 500;         ///< checkpoint every this many steps (and at the end)
  std::int64_t stop_after = 0;           ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;                    ///< no progress line
};

/// What a run measured.
struct TransformerTrainResult {
  double valid_loss = 0;       ///< mean cross-entropy per validation token, at the end (nats)
  double valid_perplexity = 0; ///< \f$e^{\text{valid\_loss}}\f$
  double train_loss = 0;       ///< mean training cross-entropy over the last eval period
  double aux_loss = 0;         ///< mean auxiliary loss over the last eval period (MoE, aux-loss)
  double max_violation = 0;    ///< MoE: max over layers of the validation load's max violation
  std::vector<std::vector<double>> expert_load;  ///< MoE: per layer, each expert's share of the load
  std::int64_t steps = 0;      ///< optimizer steps taken
  std::int64_t tokens = 0;     ///< training tokens seen (steps · B · T)
  double seconds = 0;          ///< wall time of the training steps (validation excluded)
  double tokens_per_second = 0;  ///< training tokens per second
  std::int64_t parameters = 0;   ///< all parameters
  std::int64_t active_parameters = 0;  ///< parameters a token passes through
  /// The most tensor memory alive at once during the training steps of this process
  /// (`storage_peak_bytes`; validation left out): weights, optimizer state, and the
  /// activations a step keeps for backward, which `checkpoint_blocks` reduces.
  std::size_t peak_bytes = 0;
  std::string sample;          ///< 60 tokens generated after "The" at the end
  bool finished = false;       ///< false if stopped early by `stop_after`
};

/// Trains as `options` say, writes `metrics.jsonl`, `model.safetensors` (with the sizes
/// in its metadata) and the tokenizer into `options.out`. A checkpoint every `save_every`
/// steps and at the end holds the weights (the MoE balancing biases among them), the
/// optimizer's state, the step, the batch generator and the running sums; a run
/// continued with `resume` ends with the same parameters, bit for bit, as one that was
/// never interrupted (same options and thread count).
TransformerTrainResult train_transformer(const TransformerTrainOptions& options);

/// The model sizes as safetensors metadata, and back.
nn::SafetensorsMetadata transformer_metadata(const TransformerConfig& config);
/// Reads the sizes from metadata written by `transformer_metadata`; `path` names the file
/// in errors.
TransformerConfig transformer_config_from(const nn::SafetensorsMetadata& metadata, const std::string& path);

/// Loads a model written by training: `model.safetensors` or a checkpoint.
std::shared_ptr<Transformer> load_transformer(const std::string& path);

/// Mean cross-entropy per token of `model` on `tokens`, read as consecutive windows of
/// T + 1 tokens overlapping by one (each token after the first predicted once), in
/// batches of `batch` windows, in eval mode without a graph (a tail shorter than a window
/// is left out).
double evaluate_loss(Transformer& model, const std::vector<std::int64_t>& tokens, std::int64_t batch);

}  // namespace zoo::models
