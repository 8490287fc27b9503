#pragma once
/// @file model.h
/// @brief The decoder-only transformer language model (GPT-style, with LLaMA's RMSNorm,
/// RoPE and SwiGLU), dense or with mixture-of-experts feed-forward layers.
///
/// Tokens \f$x_1, \ldots, x_T\f$ (BPE ids) become vectors \f$h^0_t = E[x_t]\f$; each of L
/// blocks updates the residual stream with pre-normalisation,
/// \f[ h \leftarrow h + \mathrm{Attn}(\mathrm{RMSNorm}(h)), \qquad
///     h \leftarrow h + \mathrm{FFN}(\mathrm{RMSNorm}(h)), \f]
/// and the logits of the next token are \f$z_t = E\,\mathrm{RMSNorm}(h^L_t)\f$: the output
/// layer is the embedding matrix itself (tied weights, Press & Wolf 2017), so a token's
/// vector both reads it in and scores it out. Causal attention makes \f$z_t\f$ depend on
/// \f$x_{\le t}\f$ only, so one forward pass over T tokens gives T predictions, and the loss
/// is the mean cross-entropy \f$-\frac1T\sum_t \ln p(x_{t+1} \mid x_{\le t})\f$; its
/// exponential is the perplexity. Tutorial 15 derives each piece; tutorial 16 the
/// mixture of experts.
///
/// Lesson: @ref tutorial_15_attention_transformer.

#include <cstdint>
#include <memory>
#include <vector>

#include "models/transformer/attention.h"
#include "models/transformer/config.h"
#include "models/transformer/feed_forward.h"
#include "models/transformer/moe.h"
#include "nn/containers.h"
#include "nn/layers/embedding.h"
#include "nn/layers/norm.h"
#include "nn/module.h"

namespace zoo::models {

/// One `LayerCache` per block: what generation carries from one token to the next.
using KVCache = std::vector<LayerCache>;

/// A block's output and, in a mixture-of-experts block with the auxiliary loss, that loss.
struct BlockOutput {
  Tensor h;         ///< (B, T, d), the updated residual stream
  Tensor aux_loss;  ///< scalar or undefined
};

/// Pre-norm transformer block: `norm1` → `attn` → residual, `norm2` → `ffn` (or `moe`) →
/// residual.
class TransformerBlock : public nn::Module {
 public:
  /// A block of the sizes in `config`.
  explicit TransformerBlock(const TransformerConfig& config);
  /// h (B, T, d) -> (B, T, d).
  Tensor forward(const Tensor& h) override { return forward(h, nullptr).h; }
  /// With the layer's cache (or null).
  BlockOutput forward(const Tensor& h, LayerCache* cache);

  std::shared_ptr<nn::RMSNorm> norm1;            ///< before attention
  std::shared_ptr<CausalSelfAttention> attn;     ///< mixes positions
  std::shared_ptr<nn::RMSNorm> norm2;            ///< before the feed-forward layer
  std::shared_ptr<SwiGLU> ffn;                   ///< dense feed-forward, or null
  std::shared_ptr<MoeFeedForward> moe;           ///< mixture of experts, or null
};

/// The logits and the summed auxiliary loss of the MoE blocks (undefined if none).
struct TransformerOutput {
  Tensor logits;    ///< (B, T, V)
  Tensor aux_loss;  ///< scalar or undefined
};

/// The language model. Parameters: `embed.weight` (V, d) (also the output layer),
/// `blocks.i.norm1.weight`, `blocks.i.attn.qkv.weight`, ..., `norm.weight`.
///
/// Initialisation (GPT-2's): every weight matrix from N(0, 0.02²), the projections that
/// write into the residual stream (`attn.out`, the feed-forward `w2`s) from
/// N(0, (0.02/√(2L))²), so that the stream's variance does not grow with depth; RMSNorm
/// gains 1.
class Transformer : public nn::Module {
 public:
  /// A model of the sizes in `config` (checked), initialised from the default generator.
  explicit Transformer(const TransformerConfig& config);
  /// tokens (B, T) int64 -> logits (B, T, V).
  Tensor forward(const Tensor& tokens) override { return forward(tokens, nullptr).logits; }
  /// With a cache (one `LayerCache` per block; resized if empty): the tokens continue the
  /// cached ones. T + cached must not exceed the context.
  TransformerOutput forward(const Tensor& tokens, KVCache* cache);
  /// The mixture-of-experts layers, block by block (empty for a dense model).
  std::vector<std::shared_ptr<MoeFeedForward>> moe_layers() const;

  TransformerConfig config;                 ///< the sizes it was built with
  std::shared_ptr<nn::Embedding> embed;     ///< token vectors, tied with the output layer
  std::shared_ptr<nn::ModuleList> blocks;   ///< L `TransformerBlock`s
  std::shared_ptr<nn::RMSNorm> norm;        ///< the final normalisation

 private:
  /// Block i on h, through `autograd::checkpoint` when checkpointing is on and a graph is
  /// being recorded.
  BlockOutput run_block(std::size_t i, const Tensor& h, LayerCache* cache);
};

}  // namespace zoo::models
