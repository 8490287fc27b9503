// The transformer language model: causality, the fused and reference attention inside
// the model, the mixture of experts against a per-token loop, routing and balancing,
// checkpointed blocks, and KV-cache generation against full recomputation.
#include <numeric>

#include "models/transformer/generate.h"
#include "models/transformer/model.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::models;
using Catch::Matchers::Contains;

namespace {

TransformerConfig tiny_config(bool moe) {
  TransformerConfig c;
  c.vocab_size = 37;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.context = 12;
  c.ffn_hidden = 24;
  if (moe) {
    c.moe.routed_experts = 6;
    c.moe.shared_experts = 1;
    c.moe.expert_hidden = 8;
    c.moe.top_k = 2;
  }
  return c;
}

Tensor random_tokens(std::int64_t B, std::int64_t T, std::int64_t V, std::uint64_t seed) {
  Generator gen(seed);
  return randint(0, V, {B, T}, kInt64, gen);
}

/// Expected expert ids and loads. (Written as `std::vector<std::int64_t>{2, 2, 2, 0}`
/// directly, GCC 12 at -O3 -march=native built {2, 2, 2, 2} in this file.)
std::vector<std::int64_t> ids(std::initializer_list<int> values) {
  return std::vector<std::int64_t>(values.begin(), values.end());
}

/// A float64 copy of everything in the model, so comparisons can be tight.
Transformer make_model(const TransformerConfig& c, std::uint64_t seed) {
  manual_seed(seed);
  Transformer m(c);
  m.to(kFloat64);
  return m;
}

}  // namespace

TEST_CASE("transformer: no position sees the future", "[transformer]") {
  for (bool moe : {false, true}) {
    Transformer model = make_model(tiny_config(moe), 1);
    // Attention alone: the gradient of output t with respect to inputs after t is zero.
    Tensor x = test::randn64({2, 7, 16}, 2);
    auto& attn = *model.blocks->at<TransformerBlock>(0)->attn;
    const std::int64_t t = 3;
    sum(attn.forward(x).narrow(1, t, 1)).backward();
    REQUIRE(amax(abs(x.grad().narrow(1, t + 1, 7 - t - 1))).item() == 0.0);
    REQUIRE(amax(abs(x.grad().narrow(1, 0, t + 1))).item() > 0.0);
    // The whole model: changing tokens after t leaves the logits up to t unchanged.
    const Tensor a = random_tokens(2, 9, 37, 3);
    Tensor b = a.clone();
    b.narrow(1, 5, 4).copy_(random_tokens(2, 4, 37, 4));
    NoGradGuard no_grad;
    test::require_close(model.forward(a).narrow(1, 0, 5), model.forward(b).narrow(1, 0, 5), 0, 0);
    REQUIRE_FALSE(allclose(model.forward(a).narrow(1, 5, 4), model.forward(b).narrow(1, 5, 4)));
  }
}

TEST_CASE("transformer: the fused attention and the reference give the same model", "[transformer]") {
  TransformerConfig c = tiny_config(false);
  Transformer fused = make_model(c, 5);
  c.fused_attention = false;
  Transformer reference = make_model(c, 5);
  const Tensor tokens = random_tokens(3, 12, 37, 6);
  test::require_close(fused.forward(tokens), reference.forward(tokens), 1e-10, 1e-12);
  cross_entropy(fused.forward(tokens).reshape({36, 37}), tokens.reshape({36})).backward();
  cross_entropy(reference.forward(tokens).reshape({36, 37}), tokens.reshape({36})).backward();
  const auto pf = fused.named_parameters(), pr = reference.named_parameters();
  for (std::size_t i = 0; i < pf.size(); ++i) {
    INFO(pf[i].first);
    test::require_close(pf[i].second.grad(), pr[i].second.grad(), 1e-9, 1e-12);
  }
}

TEST_CASE("route: top-k, gates and capacity", "[transformer][moe]") {
  // Three tokens, four experts.
  const Tensor s = tensor({{0.1, 0.4, 0.3, 0.2}, {0.5, 0.2, 0.2, 0.1}, {0.25, 0.25, 0.3, 0.2}}, kFloat64);
  Routing r = route(s, Tensor(), 2, /*normalize=*/false);
  using Ids = std::vector<std::int64_t>;
  const Ids chosen = ids({1, 2, 0, 1, 2, 0});
  const Ids load = ids({2, 2, 2, 0});
  REQUIRE(r.experts == chosen);  // ties (0.2, 0.2; 0.25, 0.25) go to the lower id
  REQUIRE(r.load == load);
  test::require_close(r.gates, tensor({{0.4, 0.3}, {0.5, 0.2}, {0.3, 0.25}}, kFloat64));
  // Normalised gates (sigmoid gating) sum to 1 for every token.
  r = route(s, Tensor(), 3, /*normalize=*/true);
  test::require_close(sum(r.gates, {1}), ones({3}, kFloat64), 1e-12);
  // The bias changes the choice, not the gates' values.
  r = route(s, tensor({0.0, 0.0, 0.0, 1.0}, kFloat64), 2, false);
  const Ids biased = ids({3, 1, 3, 0, 3, 2});
  REQUIRE(r.experts == biased);
  test::require_close(r.gates, tensor({{0.2, 0.4}, {0.1, 0.5}, {0.2, 0.3}}, kFloat64));
  // Capacity: ⌈0.5 · 3·2 / 4⌉ = 1 place per expert, first come first served.
  r = route(s, Tensor(), 2, false, 0.5);
  const std::vector<bool> kept{true, true, true, false, false, false};
  REQUIRE(r.kept == kept);
  REQUIRE(r.dropped == 3);
  REQUIRE(r.load == load);  // the load counts the choices, dropped or not
  REQUIRE_THROWS_WITH(route(s, Tensor(), 5, false), Contains("top_k"));
}

TEST_CASE("the auxiliary-loss-free bias moves toward even load", "[transformer][moe]") {
  Tensor bias = zeros({4});
  update_balance_bias(bias, {10, 2, 4, 4}, 0.5);  // mean 5: over, under, under, under
  REQUIRE(bias.to_vector<float>() == std::vector<float>{-0.5f, 0.5f, 0.5f, 0.5f});
  update_balance_bias(bias, {5, 5, 5, 5}, 0.5);  // even: nothing moves
  REQUIRE(bias.to_vector<float>() == std::vector<float>{-0.5f, 0.5f, 0.5f, 0.5f});
  REQUIRE(max_violation({10, 2, 4, 4}) == Approx(1.0));
  REQUIRE(max_violation({3, 3, 3}) == 0.0);

  // In a layer: a router that favours expert 2 for most tokens is overruled by the bias
  // after enough steps, and the load evens out. (The tokens must differ for the bias to
  // be able to split them: identical tokens would all move together. And the affinities
  // are sigmoids, as in DeepSeek-V3: with softmax affinities the dominant expert squashes
  // the others' to nearly equal tiny values, and the sign rule cycles between loads
  // instead of settling; tutorial 16 shows it.)
  MoeConfig c;
  c.routed_experts = 4;
  c.top_k = 1;
  c.gating = "sigmoid";
  c.balance = "bias";
  c.bias_update_rate = 0.01;
  manual_seed(3);
  MoeFeedForward layer(8, c);
  Generator gen(4);
  {
    NoGradGuard no_grad;
    layer.router->weight.copy_(randn({4, 8}, kFloat32, gen));
    layer.router->weight.narrow(0, 2, 1).add_(2.0);
  }
  const Tensor x = (randn({1, 256, 8}, kFloat32, gen) + 0.5).detach();
  NoGradGuard no_grad;
  layer.forward(x);
  const double before = max_violation(layer.take_load());
  REQUIRE(before > 1.5);  // expert 2 takes most of the 256 tokens
  for (int step = 0; step < 300; ++step) {
    layer.forward(x);
    layer.update_bias();
  }
  layer.forward(x);
  const double after = max_violation(layer.take_load());
  INFO("max violation " << before << " -> " << after);
  REQUIRE(after < 0.25);
}

TEST_CASE("the mixture of experts equals a per-token loop", "[transformer][moe]") {
  for (const char* gating : {"softmax", "sigmoid"})
    for (double capacity : {0.0, 0.75}) {
      INFO(gating << " capacity " << capacity);
      MoeConfig c;
      c.routed_experts = 5;
      c.shared_experts = 2;
      c.expert_hidden = 6;
      c.top_k = 2;
      c.gating = gating;
      c.capacity_factor = capacity;
      manual_seed(7);
      MoeFeedForward layer(8, c);
      layer.to(kFloat64);
      const Tensor x = test::randn64({2, 5, 8}, 8);
      const Tensor y = layer.forward(x);
      test::require_close(y, moe_forward_reference(layer, x), 1e-12, 1e-12);
      // And in gradient, for the input and for every weight.
      const Tensor w = test::randn64({2, 5, 8}, 9).detach();
      sum(y * w).backward();
      std::vector<Tensor> grads;
      for (const auto& [name, p] : layer.named_parameters()) grads.push_back(p.grad().clone());
      const Tensor gx = x.grad().clone();
      layer.zero_grad();
      x.grad().zero_();
      sum(moe_forward_reference(layer, x) * w).backward();
      test::require_close(x.grad(), gx, 1e-10, 1e-12);
      std::size_t i = 0;
      for (const auto& [name, p] : layer.named_parameters()) {
        INFO(name);
        test::require_close(p.grad(), grads[i++], 1e-10, 1e-12);
      }
    }
}

TEST_CASE("the auxiliary loss is alpha times the sum of f_i P_i", "[transformer][moe]") {
  MoeConfig c;
  c.routed_experts = 4;
  c.top_k = 2;
  c.gating = "softmax";  // P_i is then the mean of the affinities themselves
  c.balance = "aux-loss";
  c.aux_loss_coef = 0.1;
  manual_seed(11);
  MoeFeedForward layer(6, c);
  layer.to(kFloat64);
  const Tensor x = test::randn64({1, 9, 6}, 12);
  const MoeOutput out = layer.forward_with_aux(x);
  const Tensor s = layer.affinities(x.reshape({9, 6}));
  const Routing r = route(s, Tensor(), 2, false);
  double expected = 0;
  for (std::int64_t i = 0; i < 4; ++i) {
    const double f = 4.0 / (2.0 * 9.0) * static_cast<double>(r.load[i]);
    expected += f * mean(s.narrow(1, i, 1)).item();
  }
  REQUIRE(out.aux_loss.item() == Approx(0.1 * expected).epsilon(1e-12));
  // Its gradient reaches the router only.
  out.aux_loss.backward();
  REQUIRE(amax(abs(layer.router->weight.grad())).item() > 0);
  REQUIRE_FALSE(layer.expert(0).w1->weight.grad().defined());
}

TEST_CASE("checkpointed blocks give the same gradients and loads", "[transformer]") {
  for (bool moe : {false, true}) {
    TransformerConfig c = tiny_config(moe);
    if (moe) c.moe.balance = "aux-loss";
    Transformer plain = make_model(c, 13);
    c.checkpoint_blocks = true;
    Transformer checkpointed = make_model(c, 13);
    const Tensor tokens = random_tokens(2, 12, 37, 14);
    for (Transformer* m : {&plain, &checkpointed}) {
      const TransformerOutput out = m->forward(tokens, nullptr);
      Tensor loss = cross_entropy(out.logits.reshape({24, 37}), tokens.reshape({24}));
      if (out.aux_loss.defined()) loss = loss + out.aux_loss;
      loss.backward();
    }
    const auto a = plain.named_parameters(), b = checkpointed.named_parameters();
    for (std::size_t i = 0; i < a.size(); ++i) {
      INFO(a[i].first);
      test::require_close(a[i].second.grad(), b[i].second.grad(), 1e-12, 1e-14);
    }
    for (std::size_t i = 0; i < plain.moe_layers().size(); ++i)
      REQUIRE(plain.moe_layers()[i]->take_load() == checkpointed.moe_layers()[i]->take_load());
  }
}

TEST_CASE("generation with the KV cache equals recomputing the whole window", "[transformer]") {
  for (bool moe : {false, true}) {
    Transformer model = make_model(tiny_config(moe), 15);
    // Logits: a cached prefix, then the rest, equal the whole sequence's.
    const Tensor tokens = random_tokens(2, 10, 37, 16);
    KVCache cache;
    const Tensor first = model.forward(tokens.narrow(1, 0, 6), &cache).logits;
    const Tensor rest = model.forward(tokens.narrow(1, 6, 4), &cache).logits;
    REQUIRE(cache[0].length() == 10);
    test::require_close(cat({first, rest}, 1), model.forward(tokens), 1e-10, 1e-12);
    // Sampled text, 30 tokens past a context of 12 (the window restarts several times).
    GenerateOptions o;
    o.max_new_tokens = 30;
    o.temperature = 1.0;
    o.top_k = 5;
    Generator g1(17), g2(17);
    const std::vector<std::int64_t> prompt{1, 2, 3};
    const auto with_cache = generate(model, prompt, o, g1);
    o.use_cache = false;
    REQUIRE(generate(model, prompt, o, g2) == with_cache);
    REQUIRE(with_cache.size() == 33);
  }
}

TEST_CASE("sample_token: argmax at temperature 0, only the top k otherwise", "[transformer]") {
  const std::vector<double> z{0.0, 3.0, 1.0, 2.9};
  Generator gen(1);
  REQUIRE(sample_token(z, 0.0, 0, gen) == 1);
  std::vector<int> seen(4, 0);
  for (int i = 0; i < 400; ++i) ++seen[static_cast<std::size_t>(sample_token(z, 1.0, 2, gen))];
  REQUIRE(seen[0] == 0);
  REQUIRE(seen[2] == 0);
  REQUIRE(seen[1] > 100);
  REQUIRE(seen[3] > 100);
}

TEST_CASE("transformer: bad sizes are refused with the reason", "[transformer]") {
  TransformerConfig c = tiny_config(false);
  c.n_heads = 3;
  REQUIRE_THROWS_WITH(Transformer(c), Contains("multiple of n_heads"));
  c = tiny_config(true);
  c.moe.top_k = 9;
  REQUIRE_THROWS_WITH(Transformer(c), Contains("top_k"));
  c = tiny_config(true);
  c.moe.gating = "relu";
  REQUIRE_THROWS_WITH(Transformer(c), Contains("gating"));
  Transformer m = make_model(tiny_config(false), 1);
  REQUIRE_THROWS_WITH(m.forward(random_tokens(1, 13, 37, 1)), Contains("context"));
  // active_parameters: a dense model's count is all its parameters.
  std::int64_t total = 0;
  for (const auto& [name, p] : m.named_parameters()) total += p.numel();
  REQUIRE(active_parameters(m.config) == total);
}
