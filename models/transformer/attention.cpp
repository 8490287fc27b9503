/// @file attention.cpp
/// @brief Causal self-attention: the projections, the heads' layout, RoPE, the cache.

#include "models/transformer/attention.h"

#include "autograd/ops.h"

namespace zoo::models {

CausalSelfAttention::CausalSelfAttention(const TransformerConfig& c)
    : n_heads(c.n_heads), rope_base(c.rope_base), fused(c.fused_attention) {
  qkv = register_module("qkv", std::make_shared<nn::Linear>(nn::LinearOptions(c.d_model, 3 * c.d_model).bias(false)));
  out = register_module("out", std::make_shared<nn::Linear>(nn::LinearOptions(c.d_model, c.d_model).bias(false)));
}

Tensor CausalSelfAttention::forward(const Tensor& x, LayerCache* cache) {
  ZOO_CHECK(x.defined() && x.dim() == 3, "CausalSelfAttention: expected x (B, T, d), got {}",
            x.defined() ? x.shape() : Shape{});
  const std::int64_t B = x.size(0), T = x.size(1), d = x.size(2), H = n_heads, D = d / H;
  const std::int64_t start = cache ? cache->length() : 0;  // position of the first new token
  // (B, T, 3d) -> (B, T, 3, H, D) -> three (B, T, H, D) -> each (B, H, T, D).
  const std::vector<Tensor> parts = split(qkv->forward(x).reshape({B, T, 3, H, D}), 1, 2);
  const auto heads = [](const Tensor& t) { return t.squeeze(2).permute({0, 2, 1, 3}); };
  // RoPE turns queries and keys by their positions (it also makes them contiguous).
  const Tensor q = rotary_embedding(heads(parts[0]), start, rope_base);
  Tensor k = rotary_embedding(heads(parts[1]), start, rope_base);
  Tensor v = heads(parts[2]).contiguous();
  if (cache) {
    if (cache->k.defined()) {
      k = cat({cache->k, k}, 2);
      v = cat({cache->v, v}, 2);
    }
    cache->k = k;
    cache->v = v;
  }
  // Query i sits at position start + i and sees keys 0..start + i (bottom-right causal).
  const Tensor o = fused ? scaled_dot_product_attention(q, k, v, /*causal=*/true)
                         : attention_reference(q, k, v, /*causal=*/true);
  return out->forward(o.permute({0, 2, 1, 3}).reshape({B, T, d}));
}

}  // namespace zoo::models
