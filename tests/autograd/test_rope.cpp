// Rotary position embedding: the fused op against the definition written with Tensor
// ops, its gradients, the relative-position property and the KV-cache offset.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

TEST_CASE("rotary_embedding equals its definition with Tensor ops", "[rope]") {
  const Tensor x = test::randn64({2, 3, 5, 8}, 1);
  test::require_close(rotary_embedding(x), rotary_embedding_reference(x), 1e-12, 1e-12);
  test::require_close(rotary_embedding(x, 7, 100.0), rotary_embedding_reference(x, 7, 100.0), 1e-12, 1e-12);
  // A non-contiguous input (the (B, T, H, D) -> (B, H, T, D) permute of attention).
  const Tensor y = test::randn64({2, 5, 3, 6}, 2).permute({0, 2, 1, 3});
  test::require_close(rotary_embedding(y, 3), rotary_embedding_reference(y, 3), 1e-12, 1e-12);
  // float32 agrees with float64 to float precision.
  test::require_close(rotary_embedding(x.to(kFloat32), 4).to(kFloat64), rotary_embedding(x, 4), 1e-5, 1e-5);
}

TEST_CASE("rotary_embedding at position 0 is the identity and keeps every pair's length", "[rope]") {
  const Tensor x = test::randn64({1, 1, 4, 6}, 3).detach();
  const Tensor y = rotary_embedding(x);
  test::require_close(y.narrow(2, 0, 1), x.narrow(2, 0, 1), 0, 1e-15);
  // |(y_i, y_{i+D/2})| = |(x_i, x_{i+D/2})|: a rotation of each pair.
  const auto pair_norms = [](const Tensor& t) {
    const auto halves = split(t, 3, -1);
    return square(halves[0]) + square(halves[1]);
  };
  test::require_close(pair_norms(y), pair_norms(x), 1e-12, 1e-12);
}

TEST_CASE("rotary_embedding makes the score depend on the relative position only", "[rope]") {
  // q at position p, k at position s: <R_p q, R_s k> = <q, R_{s-p} k>. Shift both by 11.
  const Tensor q = test::randn64({1, 1, 1, 16}, 4).detach();
  const Tensor k = test::randn64({1, 1, 1, 16}, 5).detach();
  const auto score = [&](std::int64_t p, std::int64_t s) {
    return sum(rotary_embedding(q, p) * rotary_embedding(k, s)).item();
  };
  for (std::int64_t p : {0, 3, 20})
    for (std::int64_t s : {0, 2, 9}) REQUIRE(score(p, s) == Approx(score(p + 11, s + 11)).epsilon(1e-10));
  // ...and it does depend on the offset.
  REQUIRE(std::abs(score(0, 1) - score(0, 5)) > 1e-3);
}

TEST_CASE("rotary_embedding with an offset equals the same rows of a longer sequence", "[rope]") {
  // A KV cache rotates a new token at position 6 alone: it must match row 6 of the whole.
  const Tensor x = test::randn64({2, 2, 9, 4}, 6).detach();
  const Tensor whole = rotary_embedding(x);
  test::require_close(rotary_embedding(x.narrow(2, 6, 3), 6), whole.narrow(2, 6, 3), 1e-12, 1e-12);
}

TEST_CASE("rotary_embedding gradients match finite differences", "[rope][grad]") {
  const Tensor x = test::randn64({2, 3, 4}, 8);
  test::check_gradients([](const auto& in) { return rotary_embedding(in[0], 2, 50.0); }, {x});
  test::check_second_gradients([](const auto& in) { return square(rotary_embedding(in[0], 1)); }, {x});
  // The backward is the inverse rotation: the gradient of sum(w ⊙ R x) is Rᵀ w.
  const Tensor w = test::randn64({2, 3, 4}, 9).detach();
  const Tensor xg = x.detach().requires_grad_();
  sum(rotary_embedding(xg, 5) * w).backward();
  test::require_close(rotary_embedding(xg.grad(), 5), w, 1e-12, 1e-12);
}

TEST_CASE("rotary_embedding rejects an odd feature size and integer input", "[rope]") {
  REQUIRE_THROWS_WITH(rotary_embedding(zeros({2, 3, 5})), Contains("rotary_embedding") && Contains("even"));
  REQUIRE_THROWS_WITH(rotary_embedding(zeros({4}, kFloat32)), Contains("(..., T, D)"));
  REQUIRE_THROWS_WITH(rotary_embedding(zeros({2, 4}, kInt64)), Contains("floating"));
  REQUIRE_THROWS_WITH(rotary_embedding(zeros({2, 4}), -1), Contains("position_offset"));
}
