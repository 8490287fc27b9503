/// @file generate.cpp
/// @brief Token-by-token sampling with and without the KV cache.

#include "models/transformer/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/ops.h"

namespace zoo::models {

std::int64_t sample_token(const std::vector<double>& z, double temperature, std::int64_t top_k,
                          Generator& gen) {
  ZOO_CHECK(!z.empty(), "sample_token: no logits");
  ZOO_CHECK(temperature >= 0 && top_k >= 0, "sample_token: temperature and top_k must be >= 0, got {} and {}",
            temperature, top_k);
  const auto V = static_cast<std::int64_t>(z.size());
  if (temperature == 0) return std::max_element(z.begin(), z.end()) - z.begin();
  // The candidates, most likely first (ties: lower id first).
  std::vector<std::int64_t> ids(static_cast<std::size_t>(V));
  std::iota(ids.begin(), ids.end(), 0);
  const std::int64_t k = top_k > 0 ? std::min(top_k, V) : V;
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](std::int64_t a, std::int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
  // p_i ∝ exp((z_i − z_max)/τ) over the k candidates; invert the cumulative sum at u.
  std::vector<double> p(static_cast<std::size_t>(k));
  double total = 0;
  for (std::int64_t i = 0; i < k; ++i) total += p[i] = std::exp((z[ids[i]] - z[ids[0]]) / temperature);
  double u = gen.uniform() * total;
  for (std::int64_t i = 0; i < k; ++i) {
    u -= p[i];
    if (u < 0) return ids[i];
  }
  return ids[k - 1];
}

std::vector<std::int64_t> generate(Transformer& model, const std::vector<std::int64_t>& prompt,
                                   const GenerateOptions& o, Generator& gen) {
  ZOO_CHECK(!prompt.empty(), "generate: the prompt must hold at least one token");
  for (std::int64_t id : prompt)
    ZOO_CHECK(id >= 0 && id < model.config.vocab_size, "generate: token {} is outside the vocabulary of {}", id,
              model.config.vocab_size);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const std::int64_t context = model.config.context;
  std::vector<std::int64_t> tokens = prompt;
  const auto n = [&] { return static_cast<std::int64_t>(tokens.size()); };
  std::int64_t w = 0;  // the window [w, n) the model reads
  KVCache cache;
  std::int64_t fed = 0;  // with the cache: tokens of the window already in it
  for (std::int64_t step = 0; step < o.max_new_tokens; ++step) {
    if (n() - w > context) {  // restart the window at the last ⌊context/2⌋ tokens
      w = n() - context / 2;
      cache.clear();
      fed = 0;
    }
    // The tokens to feed: the window's unread part (all of it without the cache).
    const std::int64_t from = o.use_cache ? w + fed : w;
    const std::vector<std::int64_t> input(tokens.begin() + from, tokens.end());
    const auto T = static_cast<std::int64_t>(input.size());
    const Tensor logits = model.forward(from_vector(input, {1, T}), o.use_cache ? &cache : nullptr).logits;
    fed = n() - w;
    const std::vector<double> last = logits.select(1, T - 1).reshape({-1}).to(kFloat64).to_vector<double>();
    tokens.push_back(sample_token(last, o.temperature, o.top_k, gen));
  }
  model.train(was_training);
  return tokens;
}

}  // namespace zoo::models
