// Scaled dot-product attention: the fused kernel against the composed reference (value
// and all three gradients, float32 and float64, causal or not, KV-cache shapes, sizes
// off the block grid), finite differences of the fused op, 1 and 2 threads, exact
// causality, the bottom-right alignment of the causal mask, and errors.
#include <cmath>
#include <optional>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

/// Attention's three inputs: q (B, H, Tq, D), k and v (B, H, Tk, D).
struct Qkv {
  Tensor q, k, v;
};

/// Random float64 inputs that do not require grad. `spread` scales q, so the scores
/// (about N(0, spread²) with the default scale) can be made peaked.
Qkv random_qkv(std::int64_t B, std::int64_t H, std::int64_t Tq, std::int64_t Tk,
               std::int64_t D, std::uint64_t seed, double spread = 1.0) {
  return {(test::randn64({B, H, Tq, D}, seed) * spread).detach(),
          test::randn64({B, H, Tk, D}, seed + 1).detach(),
          test::randn64({B, H, Tk, D}, seed + 2).detach()};
}

/// The output O and \f$\partial \sum (O \circ \bar O) / \partial\f$ (q, k, v), computed in
/// `dtype` by the fused op (`fused`) or by the reference, returned in float64.
std::vector<Tensor> attention_and_grads(bool fused, const Qkv& x, const Tensor& go, bool causal,
                                        DType dtype, std::optional<double> scale = {}) {
  Tensor q = x.q.to(dtype).detach().requires_grad_();
  Tensor k = x.k.to(dtype).detach().requires_grad_();
  Tensor v = x.v.to(dtype).detach().requires_grad_();
  const Tensor o = fused ? scaled_dot_product_attention(q, k, v, causal, scale)
                         : attention_reference(q, k, v, causal, scale);
  const std::vector<Tensor> g = autograd::grad({o}, {q, k, v}, {go.to(dtype)});
  return {o.detach().to(kFloat64), g[0].to(kFloat64), g[1].to(kFloat64), g[2].to(kFloat64)};
}

}  // namespace

TEST_CASE("attention of a single key returns its value; equal keys average the values",
          "[attention]") {
  // One key: softmax over one score is 1, whatever the query.
  const Qkv one = random_qkv(2, 3, 1, 1, 5, 1);
  test::require_close(scaled_dot_product_attention(one.q, one.k, one.v), one.v, 1e-12, 1e-12);
  test::require_close(scaled_dot_product_attention(one.q, one.k, one.v, true), one.v, 1e-12, 1e-12);
  // Identical keys get equal weights: every output row is the mean of the values.
  const Qkv x = random_qkv(1, 2, 4, 70, 3, 4);
  const Tensor same_k = x.k.narrow(2, 0, 1).expand({1, 2, 70, 3});
  const Tensor mean_v = mean(x.v, {2}, /*keepdim=*/true).expand({1, 2, 4, 3});
  test::require_close(scaled_dot_product_attention(x.q, same_k, x.v), mean_v, 1e-10, 1e-12);
  // Causal, Tq = Tk: the first query sees only the first key.
  const Qkv y = random_qkv(1, 1, 5, 5, 3, 7);
  test::require_close(scaled_dot_product_attention(y.q, y.k, y.v, true).narrow(2, 0, 1),
                      y.v.narrow(2, 0, 1), 1e-12, 1e-12);
}

TEST_CASE("fused attention matches attention_reference in value and gradients", "[attention]") {
  struct Case {
    std::int64_t B, H, Tq, Tk, D;
    double spread;  // scale of q: 4 makes the softmax peaked, the running max move
  };
  const std::vector<Case> cases = {
      {2, 3, 37, 37, 24, 1.0},    // less than one block
      {1, 2, 130, 130, 20, 1.0},  // 3 blocks of 64 queries, 2 of 128 keys, the last partial
      {1, 1, 64, 64, 64, 1.0},    // exactly one block of queries
      {1, 1, 128, 256, 16, 1.0},  // whole blocks of queries and of keys
      {2, 2, 37, 130, 10, 1.0},   // KV cache: 37 new queries after 93 cached keys
      {1, 2, 1, 70, 12, 1.0},     // KV cache, one query (decoding)
      {2, 1, 1, 1, 8, 1.0},       // one query, one key
      {1, 1, 65, 129, 7, 4.0},    // off-grid by one; peaked scores
      {1, 2, 100, 100, 5, 6.0},   // very peaked
  };
  std::uint64_t seed = 10;
  for (const Case& c : cases) {
    const Qkv x = random_qkv(c.B, c.H, c.Tq, c.Tk, c.D, seed, c.spread);
    const Tensor go = test::randn64({c.B, c.H, c.Tq, c.D}, seed + 3).detach();
    seed += 4;
    for (bool causal : {false, true}) {
      const auto expected = attention_and_grads(false, x, go, causal, kFloat64);
      for (DType dtype : {kFloat32, kFloat64}) {
        INFO(fmt::format("B {} H {} Tq {} Tk {} D {}, spread {}, causal {}, {}", c.B, c.H, c.Tq,
                         c.Tk, c.D, c.spread, causal, dtype));
        const double tol = dtype == kFloat32 ? 2e-4 : 1e-10;
        const auto got = attention_and_grads(true, x, go, causal, dtype);
        REQUIRE(got[0].shape() == Shape{c.B, c.H, c.Tq, c.D});
        for (std::size_t i = 0; i < 4; ++i) {
          INFO("output " << i << " of O, q̄, k̄, v̄");
          test::require_close(got[i], expected[i], tol, tol);
        }
      }
    }
  }
  // An explicit scale, in place of 1/√D.
  const Qkv x = random_qkv(1, 2, 20, 90, 6, 50);
  const Tensor go = test::randn64({1, 2, 20, 6}, 53).detach();
  const auto expected = attention_and_grads(false, x, go, true, kFloat64, 0.7);
  const auto got = attention_and_grads(true, x, go, true, kFloat64, 0.7);
  for (std::size_t i = 0; i < 4; ++i) test::require_close(got[i], expected[i], 1e-10, 1e-12);
}

TEST_CASE("fused attention gradients match finite differences", "[attention]") {
  auto attend = [](bool causal) {
    return [causal](const std::vector<Tensor>& in) {
      return scaled_dot_product_attention(in[0], in[1], in[2], causal);
    };
  };
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    test::check_gradients(attend(causal), {test::randn64({1, 2, 3, 4}, 60),
                                           test::randn64({1, 2, 5, 4}, 61),
                                           test::randn64({1, 2, 5, 4}, 62)});
    test::check_gradients(attend(causal), {test::randn64({2, 1, 4, 3}, 63),
                                           test::randn64({2, 1, 4, 3}, 64),
                                           test::randn64({2, 1, 4, 3}, 65)});
    // 130 keys: two key blocks of the forward (so the online softmax rescales between
    // them) and three of the backward.
    test::check_gradients(attend(causal), {test::randn64({1, 1, 2, 2}, 66),
                                           test::randn64({1, 1, 130, 2}, 67),
                                           test::randn64({1, 1, 130, 2}, 68)});
  }
  // Non-contiguous inputs: (B, T, H, D) tensors seen as (B, H, T, D), and a scale.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0].permute({0, 2, 1, 3}),
                                            in[1].permute({0, 2, 1, 3}),
                                            in[2].permute({0, 2, 1, 3}), true, 0.5);
      },
      {test::randn64({1, 3, 2, 3}, 69), test::randn64({1, 4, 2, 3}, 70),
       test::randn64({1, 4, 2, 3}, 71)});
}

TEST_CASE("fused attention second derivatives match finite differences", "[attention]") {
  // With create_graph the fused backward differentiates attention_reference.
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], true);
      },
      {test::randn64({1, 1, 2, 2}, 80), test::randn64({1, 1, 3, 2}, 81),
       test::randn64({1, 1, 3, 2}, 82)});
  // The graph's first derivatives are the fused kernels' ones.
  const Qkv x = random_qkv(1, 2, 5, 9, 3, 83);
  const Tensor go = test::randn64({1, 2, 5, 3}, 86).detach();
  Tensor q = x.q.clone().requires_grad_(), k = x.k.clone().requires_grad_();
  Tensor v = x.v.clone().requires_grad_();
  const auto found = autograd::grad({scaled_dot_product_attention(q, k, v, true)}, {q, k, v},
                                    {go}, {.create_graph = true});
  REQUIRE(found[0].requires_grad());
  const auto fused = attention_and_grads(true, x, go, true, kFloat64);
  for (std::size_t i = 0; i < 3; ++i) test::require_close(found[i], fused[i + 1], 1e-10, 1e-12);
}

TEST_CASE("fused attention: strided inputs, partial gradients, empty sizes", "[attention]") {
  // (B, T, H, D) storage viewed as (B, H, T, D): the layout a fused QKV projection gives.
  const Tensor qs = test::randn64({2, 40, 3, 8}, 90).detach();
  const Tensor ks = test::randn64({2, 75, 3, 8}, 91).detach();
  const Tensor vs = test::randn64({2, 75, 3, 8}, 92).detach();
  const Qkv x{qs.permute({0, 2, 1, 3}), ks.permute({0, 2, 1, 3}), vs.permute({0, 2, 1, 3})};
  REQUIRE_FALSE(x.q.is_contiguous());
  const Tensor go = test::randn64({2, 3, 40, 8}, 93).detach();
  const auto expected = attention_and_grads(false, x, go, true, kFloat64);
  const auto got = attention_and_grads(true, x, go, true, kFloat64);
  for (std::size_t i = 0; i < 4; ++i) test::require_close(got[i], expected[i], 1e-10, 1e-12);
  // The gradient reaches the (B, T, H, D) leaf through the permutation.
  Tensor qleaf = qs.clone().requires_grad_();
  scaled_dot_product_attention(qleaf.permute({0, 2, 1, 3}), x.k, x.v, true).backward(go);
  test::require_close(qleaf.grad().permute({0, 2, 1, 3}), expected[1], 1e-10, 1e-12);
  // Only v wants a gradient (q̄ and k̄ are skipped), then only k.
  Tensor vleaf = x.v.contiguous().requires_grad_();
  scaled_dot_product_attention(x.q, x.k, vleaf, true).backward(go);
  test::require_close(vleaf.grad(), expected[3], 1e-10, 1e-12);
  Tensor kleaf = x.k.contiguous().requires_grad_();
  scaled_dot_product_attention(x.q, kleaf, x.v, false).backward(go);
  test::require_close(kleaf.grad(), attention_and_grads(false, x, go, false, kFloat64)[2], 1e-10,
                      1e-12);
  // No queries, no keys (the output is then 0, as softmax over nothing times nothing),
  // width 0.
  const Tensor k3 = zeros({1, 2, 3, 4});
  REQUIRE(scaled_dot_product_attention(zeros({1, 2, 0, 4}), k3, k3).shape() == Shape{1, 2, 0, 4});
  Tensor qe = ones({1, 1, 2, 4}, kFloat64).requires_grad_();
  const Tensor oe = scaled_dot_product_attention(qe, zeros({1, 1, 0, 4}, kFloat64),
                                                 zeros({1, 1, 0, 4}, kFloat64));
  test::require_close(oe, zeros({1, 1, 2, 4}, kFloat64));
  test::require_close(oe, attention_reference(qe, zeros({1, 1, 0, 4}, kFloat64),
                                              zeros({1, 1, 0, 4}, kFloat64), false));
  oe.sum().backward();
  test::require_close(qe.grad(), zeros({1, 1, 2, 4}, kFloat64));
  const Tensor k0 = zeros({1, 1, 3, 0});
  REQUIRE(scaled_dot_product_attention(zeros({1, 1, 2, 0}), k0, k0).shape() == Shape{1, 1, 2, 0});
}

TEST_CASE("fused attention gives the same bits at 1 and 2 threads", "[attention]") {
  const int saved = num_threads();
  struct Case {
    std::int64_t B, H, Tq, Tk, D;
  };
  // Many (batch·head, query block) items, and a single batch·head (one backward item).
  for (const Case& c : {Case{2, 3, 130, 130, 16}, Case{1, 1, 200, 200, 32}}) {
    const Qkv x = random_qkv(c.B, c.H, c.Tq, c.Tk, c.D, 100);
    const Tensor go = test::randn64({c.B, c.H, c.Tq, c.D}, 103).detach();
    for (DType dtype : {kFloat32, kFloat64}) {
      for (bool causal : {false, true}) {
        INFO(fmt::format("B {} H {} T {} D {}, {}, causal {}", c.B, c.H, c.Tq, c.D, dtype, causal));
        set_num_threads(1);
        const auto one = attention_and_grads(true, x, go, causal, dtype);
        set_num_threads(2);
        const auto two = attention_and_grads(true, x, go, causal, dtype);
        for (std::size_t i = 0; i < 4; ++i)
          REQUIRE(one[i].to_vector<double>() == two[i].to_vector<double>());
      }
    }
  }
  set_num_threads(saved);
}

TEST_CASE("causal attention: no output row depends on a later key or value", "[attention]") {
  // Tq = Tk = 70 (two blocks of queries, and of keys in the backward), and a KV cache
  // (3 queries after 67 cached keys).
  for (std::int64_t Tq : {70, 3}) {
    const std::int64_t Tk = 70, offset = Tk - Tq;
    const Qkv x = random_qkv(1, 2, Tq, Tk, 6, 110);
    for (std::int64_t t : {std::int64_t{0}, Tq / 2, Tq - 1, std::min<std::int64_t>(64, Tq - 1)}) {
      INFO("Tq " << Tq << ", output row " << t);
      // The gradient of output row t alone, with respect to k and v.
      Tensor k = x.k.clone().requires_grad_(), v = x.v.clone().requires_grad_();
      const Tensor o = scaled_dot_product_attention(x.q, k, v, true);
      Tensor go = zeros({1, 2, Tq, 6}, kFloat64);
      go.narrow(2, t, 1).copy_(test::randn64({1, 2, 1, 6}, 113));
      o.backward(go);
      const std::int64_t seen = offset + t + 1;  // keys 0 .. offset + t
      if (seen < Tk) {
        REQUIRE(all(k.grad().narrow(2, seen, Tk - seen) == 0.0));
        REQUIRE(all(v.grad().narrow(2, seen, Tk - seen) == 0.0));
      }
      REQUIRE(any(v.grad().narrow(2, 0, seen) != 0.0));
      // And the values: changing every later key and value leaves rows 0..t as they were.
      Tensor k2 = x.k.clone(), v2 = x.v.clone();
      if (seen < Tk) {
        k2.narrow(2, seen, Tk - seen).fill_(3.0);
        v2.narrow(2, seen, Tk - seen).fill_(-5.0);
      }
      const Tensor o2 = scaled_dot_product_attention(x.q, k2, v2, true);
      REQUIRE(o2.narrow(2, 0, t + 1).to_vector<double>() ==
              o.narrow(2, 0, t + 1).to_vector<double>());
    }
  }
}

TEST_CASE("causal attention aligns bottom-right: a KV cache gives the full sequence's rows",
          "[attention]") {
  // Query i of Tq sits at position Tk − Tq + i and attends (without a mask) to keys 0..that.
  const Qkv x = random_qkv(2, 2, 4, 9, 5, 120);
  const Tensor o = scaled_dot_product_attention(x.q, x.k, x.v, true);
  for (std::int64_t i = 0; i < 4; ++i) {
    const std::int64_t seen = 9 - 4 + i + 1;
    const Tensor row = scaled_dot_product_attention(x.q.narrow(2, i, 1), x.k.narrow(2, 0, seen),
                                                    x.v.narrow(2, 0, seen), false);
    test::require_close(o.narrow(2, i, 1), row, 1e-12, 1e-12);
  }
  // The last Tq queries of a causal self-attention over T positions, against all T keys,
  // are the last Tq rows of the full causal self-attention (what decoding with a cache does).
  const Qkv full = random_qkv(1, 3, 77, 77, 8, 123);
  const Tensor all_rows = scaled_dot_product_attention(full.q, full.k, full.v, true);
  for (std::int64_t Tq : {1, 5, 77}) {
    const Tensor last = scaled_dot_product_attention(full.q.narrow(2, 77 - Tq, Tq), full.k,
                                                     full.v, true);
    test::require_close(last, all_rows.narrow(2, 77 - Tq, Tq), 1e-12, 1e-12);
  }
}

TEST_CASE("attention rejects bad shapes and dtypes with clear errors", "[attention]") {
  const Tensor q = zeros({2, 3, 4, 5}), k = zeros({2, 3, 6, 5}), v = zeros({2, 3, 6, 5});
  const char* op = "scaled_dot_product_attention";
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(zeros({3, 4, 5}), k, v),
                      Contains(op) && Contains("[3, 4, 5]"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, zeros({2, 3, 6, 5, 1}), v),
                      Contains(op) && Contains("[2, 3, 6, 5, 1]"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, zeros({1, 3, 6, 5}), v),
                      Contains(op) && Contains("[1, 3, 6, 5]") && Contains("[2, 3, 4, 5]"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, zeros({2, 2, 6, 5})),
                      Contains(op) && Contains("[2, 2, 6, 5]"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, zeros({2, 3, 6, 4}), v),
                      Contains(op) && Contains("[2, 3, 6, 4]"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, zeros({2, 3, 7, 5})),
                      Contains(op) && Contains("[2, 3, 7, 5]") && Contains("Tk"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(zeros({2, 3, 7, 5}), k, v, true),
                      Contains(op) && Contains("causal") && Contains("[2, 3, 7, 5]"));
  REQUIRE_NOTHROW(scaled_dot_product_attention(zeros({2, 3, 7, 5}), k, v, false));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k.to(kFloat64), v),
                      Contains(op) && Contains("float64") && Contains("float32"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q.to(kInt64), k.to(kInt64), v.to(kInt64)),
                      Contains(op) && Contains("int64"));
  REQUIRE_THROWS_WITH(attention_reference(q, zeros({2, 3, 6, 4}), v, false),
                      Contains("attention_reference") && Contains("[2, 3, 6, 4]"));
  REQUIRE_THROWS_WITH(attention_reference(zeros({2, 3, 7, 5}), k, v, true),
                      Contains("attention_reference") && Contains("causal"));
}
