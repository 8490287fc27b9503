#pragma once
/// @file generate.h
/// @brief Sampling text from the transformer, token by token, with a KV cache,
/// a temperature and top-k.
///
/// Lesson: @ref tutorial_15_attention_transformer.

#include <cstdint>
#include <vector>

#include "autograd/generator.h"
#include "models/transformer/model.h"

namespace zoo::models {

/// How `generate` draws.
struct GenerateOptions {
  std::int64_t max_new_tokens = 100;  ///< tokens to add after the prompt
  double temperature = 0.8;           ///< τ: 0 takes the most likely token
  std::int64_t top_k = 40;            ///< draw among the k most likely tokens (0: all)
  bool use_cache = true;              ///< false: recompute the whole window every token
};

/// The next token from logits z (V): with \f$\tau = 0\f$ the argmax; otherwise only the
/// `top_k` largest \f$z_i\f$ stay (all if 0), and i is drawn with probability
/// \f$\propto e^{z_i/\tau}\f$ by inverting the cumulative sum at a uniform draw from `gen`.
std::int64_t sample_token(const std::vector<double>& logits, double temperature, std::int64_t top_k,
                          Generator& gen);

/// Continues `prompt` (token ids, at least one) with `max_new_tokens` sampled tokens and
/// returns prompt + new tokens.
///
/// The model reads a window [w, n) of the n tokens so far, at positions 0..n−w−1. It
/// starts at w = 0; when the window would grow beyond the context, it restarts at the
/// last ⌊context/2⌋ tokens (so positions stay within what training saw). With the cache
/// each step feeds only the new token (the keys and values of the window are cached, and
/// a restart reads the kept half again); without it each step reads the whole window.
/// Both give the same tokens: the cache only avoids recomputation.
std::vector<std::int64_t> generate(Transformer& model, const std::vector<std::int64_t>& prompt,
                                   const GenerateOptions& options, Generator& gen);

}  // namespace zoo::models
