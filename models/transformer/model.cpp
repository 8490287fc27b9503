/// @file model.cpp
/// @brief The transformer's blocks, its forward pass and its configuration checks.

#include "models/transformer/model.h"

#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/ops.h"
#include "nn/init.h"

namespace zoo::models {

void check_config(const TransformerConfig& c) {
  ZOO_CHECK(c.vocab_size > 0 && c.d_model > 0 && c.n_layers > 0 && c.n_heads > 0 && c.context > 0,
            "transformer: vocab_size, d_model, n_layers, n_heads and context must be positive");
  ZOO_CHECK(c.d_model % c.n_heads == 0, "transformer: d_model {} is not a multiple of n_heads {}", c.d_model,
            c.n_heads);
  ZOO_CHECK((c.d_model / c.n_heads) % 2 == 0, "transformer: the head size {} must be even (RoPE turns pairs)",
            c.d_model / c.n_heads);
  if (!c.is_moe()) {
    ZOO_CHECK(c.ffn_hidden > 0, "transformer: ffn_hidden must be positive, got {}", c.ffn_hidden);
    return;
  }
  const MoeConfig& m = c.moe;
  ZOO_CHECK(m.top_k >= 1 && m.top_k <= m.routed_experts,
            "moe: top_k must be between 1 and the {} routed experts, got {}", m.routed_experts, m.top_k);
  ZOO_CHECK(m.expert_hidden > 0 && m.shared_experts >= 0, "moe: expert_hidden must be positive and "
            "shared_experts not negative, got {} and {}", m.expert_hidden, m.shared_experts);
  ZOO_CHECK(m.gating == "softmax" || m.gating == "sigmoid", "moe: gating must be softmax or sigmoid, got '{}'",
            m.gating);
  ZOO_CHECK(m.balance == "aux-loss" || m.balance == "bias" || m.balance == "none",
            "moe: balance must be aux-loss, bias or none, got '{}'", m.balance);
  ZOO_CHECK(m.capacity_factor >= 0, "moe: the capacity factor must be >= 0, got {}", m.capacity_factor);
}

std::int64_t active_parameters(const TransformerConfig& c) {
  const std::int64_t d = c.d_model;
  std::int64_t ffn = 3 * d * c.ffn_hidden;
  if (c.is_moe()) {
    const MoeConfig& m = c.moe;
    ffn = m.routed_experts * d + 3 * d * m.expert_hidden * (m.shared_experts + m.top_k);
  }
  const std::int64_t block = 2 * d + 4 * d * d + ffn;  // two norms, qkv + out, feed-forward
  return c.vocab_size * d + c.n_layers * block + d;
}

TransformerBlock::TransformerBlock(const TransformerConfig& c) {
  norm1 = register_module("norm1", std::make_shared<nn::RMSNorm>(nn::RMSNormOptions(c.d_model).eps(c.norm_eps)));
  attn = register_module("attn", std::make_shared<CausalSelfAttention>(c));
  norm2 = register_module("norm2", std::make_shared<nn::RMSNorm>(nn::RMSNormOptions(c.d_model).eps(c.norm_eps)));
  if (c.is_moe())
    moe = register_module("moe", std::make_shared<MoeFeedForward>(c.d_model, c.moe));
  else
    ffn = register_module("ffn", std::make_shared<SwiGLU>(c.d_model, c.ffn_hidden));
}

BlockOutput TransformerBlock::forward(const Tensor& h, LayerCache* cache) {
  const Tensor a = h + attn->forward(norm1->forward(h), cache);
  if (!moe) return {a + ffn->forward(norm2->forward(a)), Tensor()};
  MoeOutput m = moe->forward_with_aux(norm2->forward(a));
  return {a + m.y, m.aux_loss};
}

Transformer::Transformer(const TransformerConfig& c) : config(c) {
  check_config(c);
  embed = register_module("embed", std::make_shared<nn::Embedding>(c.vocab_size, c.d_model));
  blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
  for (std::int64_t i = 0; i < c.n_layers; ++i) blocks->push_back(std::make_shared<TransformerBlock>(c));
  norm = register_module("norm", std::make_shared<nn::RMSNorm>(nn::RMSNormOptions(c.d_model).eps(c.norm_eps)));
  // GPT-2's initialisation (see the class comment).
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layers));
  for (auto& [name, p] : named_parameters()) {
    if (p.dim() != 2) continue;  // RMSNorm gains stay 1
    const bool writes_residual = name.ends_with("attn.out.weight") || name.ends_with("w2.weight");
    nn::init::normal_(p, 0.0, writes_residual ? residual_std : 0.02);
  }
}

std::vector<std::shared_ptr<MoeFeedForward>> Transformer::moe_layers() const {
  std::vector<std::shared_ptr<MoeFeedForward>> layers;
  for (const auto& block : *blocks)
    if (auto moe = std::static_pointer_cast<TransformerBlock>(block)->moe) layers.push_back(moe);
  return layers;
}

BlockOutput Transformer::run_block(std::size_t i, const Tensor& h, LayerCache* cache) {
  auto block = blocks->at<TransformerBlock>(i);
  if (!config.checkpoint_blocks || cache || !is_training() || !GradMode::is_enabled())
    return block->forward(h, cache);
  // Checkpointed: the block runs twice, once here without a graph and once in backward.
  // The second run must not count the experts' load again.
  auto runs = std::make_shared<int>(0);
  const auto outputs = autograd::checkpoint(
      [block, runs](const std::vector<Tensor>& in) {
        const bool recomputing = (*runs)++ > 0;
        // Counting is back on when this scope ends, even if the forward throws.
        struct CountAgain {
          MoeFeedForward* moe;
          ~CountAgain() { if (moe) moe->count_load = true; }
        } count_again{block->moe.get()};
        if (block->moe) block->moe->count_load = !recomputing;
        BlockOutput out = block->forward(in[0], nullptr);
        return out.aux_loss.defined() ? std::vector<Tensor>{out.h, out.aux_loss} : std::vector<Tensor>{out.h};
      },
      {h});
  return {outputs[0], outputs.size() > 1 ? outputs[1] : Tensor()};
}

TransformerOutput Transformer::forward(const Tensor& tokens, KVCache* cache) {
  ZOO_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == kInt64,
            "Transformer: expected tokens (B, T) as int64, got {}", tokens.defined() ? tokens.shape() : Shape{});
  const std::int64_t cached = cache && !cache->empty() ? (*cache)[0].length() : 0;
  ZOO_CHECK(cached + tokens.size(1) <= config.context,
            "Transformer: {} tokens after {} cached exceed the context of {}", tokens.size(1), cached,
            config.context);
  if (cache && cache->empty()) cache->resize(static_cast<std::size_t>(config.n_layers));
  Tensor h = embed->forward(tokens);
  Tensor aux;
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    BlockOutput out = run_block(i, h, cache ? &(*cache)[i] : nullptr);
    h = out.h;
    if (out.aux_loss.defined()) aux = aux.defined() ? aux + out.aux_loss : out.aux_loss;
  }
  // Tied output layer: z = RMSNorm(h) Eᵀ.
  return {linear(norm->forward(h), embed->weight), aux};
}

}  // namespace zoo::models
