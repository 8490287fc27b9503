#pragma once
/// @file config.h
/// @brief The sizes of the transformer language model, dense or mixture-of-experts.

#include <cstdint>
#include <string>

namespace zoo::models {

/// The mixture-of-experts feed-forward layer (DeepSeekMoE): `routed_experts` small
/// SwiGLU experts of `expert_hidden` units, of which each token uses `top_k`, plus
/// `shared_experts` of the same size that every token uses. `routed_experts` = 0 means a
/// dense model (one SwiGLU of `TransformerConfig::ffn_hidden` units per block).
struct MoeConfig {
  std::int64_t routed_experts = 0;   ///< E, experts to choose from (0: dense model)
  std::int64_t shared_experts = 0;   ///< experts every token goes through
  std::int64_t expert_hidden = 128;  ///< hidden units of one expert
  std::int64_t top_k = 2;            ///< K, routed experts per token
  /// "softmax": gates are the softmax of the router's logits (DeepSeekMoE, V2);
  /// "sigmoid": each expert's affinity is a sigmoid, and the chosen K are normalised to
  /// sum to 1 (DeepSeek-V3).
  std::string gating = "sigmoid";
  /// "aux-loss": a Switch-style auxiliary loss pushes the router toward even load;
  /// "bias": DeepSeek-V3's auxiliary-loss-free balancing, a per-expert bias added to the
  /// affinities only when choosing experts, nudged after every step; "none". The bias
  /// needs sigmoid gating: with softmax affinities the favoured expert squashes the
  /// others' to nearly equal tiny values, one bias step moves a whole crowd of tokens,
  /// and the load cycles instead of settling (tutorial 16 measures it).
  std::string balance = "bias";
  double aux_loss_coef = 0.01;     ///< α of the auxiliary loss
  double bias_update_rate = 1e-3;  ///< γ, the bias step per optimizer step
  /// Each expert takes at most ⌈factor · N·K / E⌉ of a batch's N tokens (in token order);
  /// the tokens beyond are dropped from that expert. 0: no limit (dropless).
  double capacity_factor = 0;
};

/// The decoder-only transformer: token embedding (tied with the output layer), then
/// `n_layers` blocks of RMSNorm → causal self-attention with RoPE → residual, RMSNorm →
/// SwiGLU feed-forward (or a mixture of experts) → residual, then a final RMSNorm.
struct TransformerConfig {
  std::int64_t vocab_size = 4096;  ///< V, tokens of the BPE vocabulary
  std::int64_t d_model = 256;      ///< d, the width of the residual stream
  std::int64_t n_layers = 4;       ///< L, transformer blocks
  std::int64_t n_heads = 4;        ///< H, attention heads of d/H features each
  std::int64_t context = 128;      ///< the longest sequence the model reads at once
  std::int64_t ffn_hidden = 768;   ///< hidden units of the dense SwiGLU feed-forward
  double rope_base = 10000.0;      ///< RoPE's base (θ_i = base^(−2i/D))
  double norm_eps = 1e-5;          ///< RMSNorm's ε
  /// Attention through the fused kernel (`scaled_dot_product_attention`); false: through
  /// the readable reference that stores the (T, T) score matrix.
  bool fused_attention = true;
  /// Gradient checkpointing: each block keeps only its input for backward and runs its
  /// forward again there (`autograd::checkpoint`), trading time for memory.
  bool checkpoint_blocks = false;
  MoeConfig moe;  ///< the feed-forward layer's experts (routed_experts 0: dense)

  /// True if the feed-forward layers are mixtures of experts.
  bool is_moe() const { return moe.routed_experts > 0; }
};

/// Throws a `zoo::Error` naming the first size that does not make a model: d not a
/// multiple of H, an odd head size (RoPE turns pairs), K > E, unknown gating or balance.
void check_config(const TransformerConfig& config);

/// Parameters a token passes through: everything but the routed experts it does not use
/// (the embedding counted once, as it is tied). For a dense model, all parameters.
std::int64_t active_parameters(const TransformerConfig& config);

}  // namespace zoo::models
