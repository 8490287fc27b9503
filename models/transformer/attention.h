#pragma once
/// @file attention.h
/// @brief Causal multi-head self-attention with rotary position embedding, and the
/// per-layer key/value cache that makes generation cost one token per step.
///
/// Lesson: @ref tutorial_15_attention_transformer.

#include <cstdint>
#include <memory>

#include "models/transformer/config.h"
#include "nn/layers/linear.h"
#include "nn/module.h"

namespace zoo::models {

/// The keys and values one attention layer has seen so far, (B, H, t, D) each after
/// RoPE; undefined before the first token. Generation reads the prompt once, then feeds
/// one token at a time: its query attends to every cached key, and its own key and
/// value are appended, so no earlier token is ever recomputed.
struct LayerCache {
  Tensor k;  ///< rotated keys of the t tokens so far
  Tensor v;  ///< their values
  /// Tokens cached (the position the next token will have).
  std::int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

/// Multi-head causal self-attention (Vaswani et al. 2017) with RoPE. For x (B, T, d):
/// \f[ [Q, K, V] = x W_{qkv}^\top, \qquad
///     O_h = \mathrm{softmax}\!\Big(\frac{\tilde Q_h \tilde K_h^\top}{\sqrt{D}} + M\Big) V_h,
///     \qquad y = [O_1, \ldots, O_H]\, W_o^\top, \f]
/// with each head h a slice of D = d/H features, \f$\tilde Q, \tilde K\f$ the queries and
/// keys rotated by their positions (`rotary_embedding`), and M the causal mask (−∞
/// above the diagonal: a position sees itself and the past, never the future).
/// Parameters: `qkv.weight` (3d, d), `out.weight` (d, d); no biases.
class CausalSelfAttention : public nn::Module {
 public:
  /// Sizes from `config` (d_model, n_heads, rope_base, fused_attention).
  explicit CausalSelfAttention(const TransformerConfig& config);
  /// x (B, T, d) -> (B, T, d), positions 0..T−1.
  Tensor forward(const Tensor& x) override { return forward(x, nullptr); }
  /// With a cache: x holds the T tokens that follow the cached ones, at positions
  /// t..t+T−1 (t = `cache->length()`); their keys and values are appended to the cache.
  Tensor forward(const Tensor& x, LayerCache* cache);

  std::int64_t n_heads;  ///< H
  double rope_base;      ///< RoPE's base
  bool fused;            ///< fused kernel or the readable reference
  std::shared_ptr<nn::Linear> qkv;  ///< d -> 3d: queries, keys, values of every head
  std::shared_ptr<nn::Linear> out;  ///< d -> d: the heads' outputs mixed
};

}  // namespace zoo::models
