/// @file moe.cpp
/// @brief Routing, balancing and the batched dispatch of the mixture-of-experts layer.

#include "models/transformer/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/ops.h"

namespace zoo::models {

Routing route(const Tensor& scores, const Tensor& bias, std::int64_t top_k, bool normalize,
              double capacity_factor) {
  ZOO_CHECK(scores.defined() && scores.dim() == 2, "route: expected scores (N, E), got {}",
            scores.defined() ? scores.shape() : Shape{});
  const std::int64_t N = scores.size(0), E = scores.size(1), K = top_k;
  ZOO_CHECK(K >= 1 && K <= E, "route: top_k must be in [1, {}], got {}", E, K);
  ZOO_CHECK(!bias.defined() || bias.shape() == Shape{E}, "route: expected a bias of shape ({}), got {}", E,
            bias.defined() ? bias.shape() : Shape{});
  ZOO_CHECK(capacity_factor >= 0, "route: the capacity factor must be >= 0, got {}", capacity_factor);
  // Choosing is not differentiable: it reads the values only, in double.
  const std::vector<double> s = scores.detach().to(kFloat64).contiguous().to_vector<double>();
  const std::vector<double> b = bias.defined() ? bias.detach().to(kFloat64).to_vector<double>()
                                               : std::vector<double>(static_cast<std::size_t>(E), 0.0);
  Routing r;
  r.experts.resize(static_cast<std::size_t>(N * K));
  r.kept.assign(static_cast<std::size_t>(N * K), true);
  r.load.assign(static_cast<std::size_t>(E), 0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(E));
  for (std::int64_t t = 0; t < N; ++t) {
    const double* st = &s[static_cast<std::size_t>(t * E)];
    std::iota(order.begin(), order.end(), 0);
    // The K largest s + b first; equal keys keep the lower id first.
    std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](std::int64_t i, std::int64_t j) {
      const double a = st[i] + b[i], c = st[j] + b[j];
      return a > c || (a == c && i < j);
    });
    for (std::int64_t k = 0; k < K; ++k) {
      r.experts[t * K + k] = order[k];
      ++r.load[order[k]];
    }
  }
  if (capacity_factor > 0) {
    // C = ⌈c·N·K/E⌉ places per expert, handed out in token order.
    const auto capacity = static_cast<std::int64_t>(
        std::ceil(capacity_factor * static_cast<double>(N * K) / static_cast<double>(E)));
    std::vector<std::int64_t> taken(static_cast<std::size_t>(E), 0);
    for (std::int64_t a = 0; a < N * K; ++a)
      if (taken[r.experts[a]]++ >= capacity) {
        r.kept[a] = false;
        ++r.dropped;
      }
  }
  // The gates: the chosen affinities, a differentiable gather; normalised if asked.
  const Tensor index = from_vector(r.experts, {N, K});
  r.gates = gather(scores, 1, index);
  if (normalize) r.gates = r.gates / sum(r.gates, {1}, /*keepdim=*/true);
  return r;
}

void update_balance_bias(Tensor& bias, const std::vector<std::int64_t>& load, double rate) {
  ZOO_CHECK(bias.defined() && bias.dim() == 1 && bias.size(0) == static_cast<std::int64_t>(load.size()),
            "update_balance_bias: a bias of shape {} for {} experts",
            bias.defined() ? bias.shape() : Shape{}, load.size());
  const double mean = static_cast<double>(std::accumulate(load.begin(), load.end(), std::int64_t{0})) /
                      static_cast<double>(load.size());
  std::vector<double> step(load.size());
  for (std::size_t i = 0; i < load.size(); ++i) {
    const double c = static_cast<double>(load[i]);
    step[i] = rate * static_cast<double>((c < mean) - (c > mean));  // γ · sign(c̄ − c_i)
  }
  NoGradGuard no_grad;
  bias.add_(from_vector(step, {static_cast<std::int64_t>(step.size())}).to(bias.dtype()));
}

double max_violation(const std::vector<std::int64_t>& load) {
  const std::int64_t total = std::accumulate(load.begin(), load.end(), std::int64_t{0});
  if (total == 0 || load.empty()) return 0;
  const double mean = static_cast<double>(total) / static_cast<double>(load.size());
  return static_cast<double>(*std::max_element(load.begin(), load.end())) / mean - 1;
}

MoeFeedForward::MoeFeedForward(std::int64_t d_model, const MoeConfig& c) : config(c) {
  ZOO_CHECK(c.routed_experts > 0 && c.top_k >= 1 && c.top_k <= c.routed_experts && c.expert_hidden > 0,
            "MoeFeedForward: need 1 <= top_k ({}) <= routed_experts ({}) and expert_hidden > 0 ({})", c.top_k,
            c.routed_experts, c.expert_hidden);
  router = register_module("router",
                           std::make_shared<nn::Linear>(nn::LinearOptions(d_model, c.routed_experts).bias(false)));
  experts = register_module("experts", std::make_shared<nn::ModuleList>());
  for (std::int64_t i = 0; i < c.routed_experts; ++i)
    experts->push_back(std::make_shared<SwiGLU>(d_model, c.expert_hidden));
  if (c.shared_experts > 0)
    shared = register_module("shared", std::make_shared<SwiGLU>(d_model, c.shared_experts * c.expert_hidden));
  expert_bias = register_buffer("expert_bias", zeros({c.routed_experts}));
  load_counts.assign(static_cast<std::size_t>(c.routed_experts), 0);
}

SwiGLU& MoeFeedForward::expert(std::int64_t i) {
  return static_cast<SwiGLU&>(*(*experts)[static_cast<std::size_t>(i)]);
}

Tensor MoeFeedForward::affinities(const Tensor& x) {
  const Tensor logits = router->forward(x);
  return config.gating == "sigmoid" ? sigmoid(logits) : softmax(logits, 1);
}

MoeOutput MoeFeedForward::forward_with_aux(const Tensor& x) {
  ZOO_CHECK(x.defined() && x.dim() == 3, "MoeFeedForward: expected x (B, T, d), got {}",
            x.defined() ? x.shape() : Shape{});
  const std::int64_t B = x.size(0), T = x.size(1), d = x.size(2), N = B * T;
  const std::int64_t E = config.routed_experts, K = config.top_k;
  const Tensor xf = x.reshape({N, d});
  const Tensor scores = affinities(xf);  // (N, E)
  const Routing r = route(scores, config.balance == "bias" ? expert_bias : Tensor(), K,
                          /*normalize=*/config.gating == "sigmoid", config.capacity_factor);
  if (count_load)
    for (std::int64_t i = 0; i < E; ++i) load_counts[i] += r.load[i];

  // Sort the kept assignments by expert (a counting sort, stable: token order within an
  // expert): rows[a] is the token of assignment a, slots[a] its place in gates (N·K).
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(E), 0);
  for (std::int64_t a = 0; a < N * K; ++a)
    if (r.kept[a]) ++sizes[r.experts[a]];
  std::vector<std::int64_t> next(static_cast<std::size_t>(E), 0);
  std::exclusive_scan(sizes.begin(), sizes.end(), next.begin(), std::int64_t{0});
  const std::int64_t A = N * K - r.dropped;
  std::vector<std::int64_t> rows(static_cast<std::size_t>(A)), slots(static_cast<std::size_t>(A));
  for (std::int64_t a = 0; a < N * K; ++a)
    if (r.kept[a]) {
      const std::int64_t at = next[r.experts[a]]++;
      rows[at] = a / K;
      slots[at] = a;
    }
  const Tensor row_index = from_vector(rows, {A});
  const Tensor slot_index = from_vector(slots, {A});

  // Gather (A, d), one block per expert, one SwiGLU per block, joined back in order.
  const std::vector<Tensor> blocks = split(index_select(xf, 0, row_index), sizes, 0);
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(E));
  for (std::int64_t i = 0; i < E; ++i)
    if (sizes[i] > 0) outputs.push_back(expert(i).forward(blocks[i]));
  Tensor y = zeros({N, d}, x.dtype());
  if (A > 0) {
    const Tensor weights = index_select(r.gates.reshape({N * K}), 0, slot_index).unsqueeze(1);  // (A, 1)
    y = index_add(y, 0, row_index, cat(outputs, 0) * weights);  // y_t += g · FFN_i(x_t)
  }
  if (shared) y = y + shared->forward(xf);

  MoeOutput out{y.reshape({B, T, d}), Tensor()};
  if (config.balance == "aux-loss") {
    // f_i = E/(K·N) · load_i (a constant), P_i = mean over tokens of ŝ_{t,i}.
    std::vector<double> f(static_cast<std::size_t>(E));
    for (std::int64_t i = 0; i < E; ++i)
      f[i] = static_cast<double>(E) / static_cast<double>(K * N) * static_cast<double>(r.load[i]);
    const Tensor s_hat = config.gating == "sigmoid" ? scores / sum(scores, {1}, true) : scores;
    const Tensor P = mean(s_hat, {0});
    out.aux_loss = sum(from_vector(f, {E}).to(x.dtype()) * P) * config.aux_loss_coef;
  }
  return out;
}

std::vector<std::int64_t> MoeFeedForward::take_load() {
  std::vector<std::int64_t> load(static_cast<std::size_t>(config.routed_experts), 0);
  std::swap(load, load_counts);
  return load;
}

void MoeFeedForward::update_bias() {
  const std::vector<std::int64_t> load = take_load();
  if (config.balance == "bias") update_balance_bias(expert_bias, load, config.bias_update_rate);
}

Tensor moe_forward_reference(MoeFeedForward& layer, const Tensor& x) {
  const std::int64_t B = x.size(0), T = x.size(1), d = x.size(2), N = B * T, K = layer.config.top_k;
  const Tensor xf = x.reshape({N, d});
  const Routing r = route(layer.affinities(xf),
                          layer.config.balance == "bias" ? layer.expert_bias : Tensor(), K,
                          layer.config.gating == "sigmoid", layer.config.capacity_factor);
  std::vector<Tensor> rows;
  for (std::int64_t t = 0; t < N; ++t) {
    const Tensor xt = xf.narrow(0, t, 1);  // (1, d)
    Tensor yt = layer.shared ? layer.shared->forward(xt) : zeros({1, d}, x.dtype());
    for (std::int64_t k = 0; k < K; ++k)
      if (r.kept[t * K + k])
        yt = yt + r.gates.narrow(0, t, 1).narrow(1, k, 1) * layer.expert(r.experts[t * K + k]).forward(xt);
    rows.push_back(yt);
  }
  return cat(rows, 0).reshape({B, T, d});
}

}  // namespace zoo::models
