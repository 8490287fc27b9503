// Normalisation and dropout: values by hand, the statistics each norm promises,
// gradients (second order for layer norm), errors, and dropout's expectation and seeds.
#include <cmath>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

/// Largest |value| of a tensor.
double max_abs(const Tensor& t) { return amax(abs(t.detach())).item(); }

/// A leaf copy of `t` in `dtype` that requires grad; an undefined `t` stays undefined.
Tensor leaf(const Tensor& t, DType dtype) {
  return t.defined() ? t.detach().to(dtype).clone().requires_grad_() : Tensor();
}

/// y = group_norm(x, groups, w, b) in `dtype` (group_norm_reference's if `reference`),
/// and the gradients of Σ y·gy for x, w and b: {y, x̄, w̄, b̄}, as float64, undefined
/// where w or b is.
std::vector<Tensor> group_norm_and_grads(bool reference, const Tensor& x, std::int64_t groups,
                                         const Tensor& w, const Tensor& b, const Tensor& gy,
                                         DType dtype) {
  const Tensor xl = leaf(x, dtype), wl = leaf(w, dtype), bl = leaf(b, dtype);
  const Tensor y = reference ? group_norm_reference(xl, groups, wl, bl)
                             : group_norm(xl, groups, wl, bl);
  y.backward(gy.to(dtype));
  auto grad64 = [](const Tensor& t) { return t.defined() ? t.grad().to(kFloat64) : Tensor(); };
  return {y.detach().to(kFloat64), grad64(xl), grad64(wl), grad64(bl)};
}

}  // namespace

TEST_CASE("layer_norm standardizes each row", "[norm]") {
  const Tensor x = tensor({{1, 2, 3, 4}, {10, 10, 10, 14}}, kFloat64);
  // Row 0: mean 2.5, biased variance 1.25. Row 1: mean 11, variance 3.
  const double s0 = std::sqrt(1.25 + 1e-5), s1 = std::sqrt(3.0 + 1e-5);
  test::require_close(layer_norm(x, {4}), tensor({{-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0},
                                                  {-1 / s1, -1 / s1, -1 / s1, 3 / s1}},
                                                 kFloat64));
  // Weight and bias apply per feature after normalizing.
  const Tensor w = tensor({1, 2, 3, 4}, kFloat64), b = tensor({0.5, 0, -0.5, 1}, kFloat64);
  test::require_close(layer_norm(x, {4}, w, b), layer_norm(x, {4}) * w + b);

  // Any data: mean 0 and variance 1 per row (up to eps).
  const Tensor r = (test::randn64({4, 5, 6}, 1) * 3.0 + 2.0).detach();
  const Tensor y = layer_norm(r, {6});
  REQUIRE(y.shape() == r.shape());
  REQUIRE(max_abs(mean(y, {-1})) < 1e-12);
  REQUIRE(max_abs(var(y, {-1}, 0) - 1.0) < 1e-4);
  // Two normalized dims behave like one flattened dim.
  test::require_close(layer_norm(r, {5, 6}),
                      layer_norm(r.reshape({4, 30}), {30}).reshape({4, 5, 6}));
  // A non-contiguous input gives the same result as its contiguous copy.
  test::require_close(layer_norm(r.transpose(0, 2), {4}),
                      layer_norm(r.transpose(0, 2).contiguous(), {4}));
  // float32 too, and an empty batch.
  REQUIRE(allclose(layer_norm(r.to(kFloat32), {6}).to(kFloat64), y, 1e-4, 1e-5));
  REQUIRE(layer_norm(zeros({0, 3}), {3}).shape() == Shape{0, 3});
}

TEST_CASE("layer_norm gradients match finite differences, to second order", "[norm]") {
  const auto f = [](const std::vector<Tensor>& in) {
    return layer_norm(in[0], {2, 3}, in[1], in[2]);
  };
  const std::vector<Tensor> inputs = {test::randn64({2, 2, 3}, 2), test::randn64({2, 3}, 3),
                                      test::randn64({2, 3}, 4)};
  test::check_gradients(f, inputs);
  test::check_second_gradients(f, inputs);
  // Without the affine part, and on a non-contiguous input.
  test::check_gradients([](const std::vector<Tensor>& in) { return layer_norm(in[0].t(), {3}); },
                        {test::randn64({3, 4}, 5)});
}

TEST_CASE("rms_norm divides by the root mean square", "[norm]") {
  // [3, 4]: mean square 12.5.
  const Tensor x = tensor({{3, 4}, {-1, 1}}, kFloat64);
  const double r0 = std::sqrt(12.5 + 1e-6), r1 = std::sqrt(1.0 + 1e-6);
  test::require_close(rms_norm(x, {2}), tensor({{3 / r0, 4 / r0}, {-1 / r1, 1 / r1}}, kFloat64));
  const Tensor w = tensor({2, -1}, kFloat64);
  test::require_close(rms_norm(x, {2}, w),
                      tensor({{6 / r0, -4 / r0}, {-2 / r1, -1 / r1}}, kFloat64));
  // Each row of the output has mean square 1 (up to eps).
  const Tensor y = rms_norm(test::randn64({3, 7}, 6).detach() * 5.0, {7});
  REQUIRE(max_abs(mean(y * y, {-1}) - 1.0) < 1e-6);
  test::check_gradients([](const std::vector<Tensor>& in) { return rms_norm(in[0], {4}, in[1]); },
                        {test::randn64({3, 4}, 7), test::randn64({4}, 8)});
}

TEST_CASE("group_norm standardizes each group of channels", "[norm]") {
  const Tensor x = (test::randn64({2, 6, 3, 2}, 9) * 2.0 - 1.0).detach();
  const Tensor y = group_norm(x, 3);
  REQUIRE(y.shape() == x.shape());
  // Per (sample, group of 2 channels): mean 0, variance 1.
  const Tensor groups = y.reshape({2, 3, 12});
  REQUIRE(max_abs(mean(groups, {2})) < 1e-12);
  REQUIRE(max_abs(var(groups, {2}, 0) - 1.0) < 1e-4);
  // But not per channel: a channel alone is not standardized.
  REQUIRE(max_abs(mean(y.reshape({2, 6, 6}), {2})) > 1e-3);
  // One group is layer norm over (C, H, W); C groups normalize each channel alone.
  test::require_close(group_norm(x, 1), layer_norm(x, {6, 3, 2}));
  test::require_close(group_norm(x, 6), layer_norm(x.reshape({2, 6, 6}), {6}).reshape(x.shape()));
  // The affine part is per channel.
  const Tensor w = test::randn64({6}, 10).detach(), b = test::randn64({6}, 11).detach();
  test::require_close(group_norm(x, 3, w, b),
                      y * w.reshape({1, 6, 1, 1}) + b.reshape({1, 6, 1, 1}));
  // (N, C, L) inputs and an empty batch work too.
  REQUIRE(group_norm(zeros({2, 4, 5}), 2).shape() == Shape{2, 4, 5});
  REQUIRE(group_norm(zeros({0, 4, 5}), 2).shape() == Shape{0, 4, 5});
}

TEST_CASE("group_norm gradients match finite differences", "[norm]") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return group_norm(in[0], 2, in[1], in[2]); },
      {test::randn64({2, 4, 2, 3}, 12), test::randn64({4}, 13), test::randn64({4}, 14)});
  // Without the affine part, with a weight only, (N, C) and (N, C, L) inputs, and a
  // non-contiguous input.
  test::check_gradients([](const std::vector<Tensor>& in) { return group_norm(in[0], 3); },
                        {test::randn64({2, 6, 5}, 15)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return group_norm(in[0], 1, in[1]); },
      {test::randn64({3, 4}, 16), test::randn64({4}, 17)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return group_norm(in[0].transpose(2, 3), 2, in[1], in[2]);
      },
      {test::randn64({2, 4, 3, 2}, 18), test::randn64({4}, 19), test::randn64({4}, 20)});
}

TEST_CASE("group_norm second derivatives match finite differences", "[norm]") {
  // With create_graph the fused backward differentiates group_norm_reference.
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) { return group_norm(in[0], 2, in[1], in[2]); },
      {test::randn64({2, 4, 3}, 21), test::randn64({4}, 22), test::randn64({4}, 23)});
  test::check_second_gradients([](const std::vector<Tensor>& in) { return group_norm(in[0], 3); },
                               {test::randn64({1, 3, 2, 2}, 24)});
  // The graph's first derivative is the fused kernels' one.
  Tensor x = test::randn64({2, 4, 5}, 25), w = test::randn64({4}, 26);
  const Tensor gy = test::randn64({2, 4, 5}, 27).detach();
  const auto found = autograd::grad({group_norm(x, 2, w)}, {x, w}, {gy}, {.create_graph = true});
  REQUIRE(found[0].requires_grad());
  const auto fused = group_norm_and_grads(false, x, 2, w, Tensor(), gy, kFloat64);
  test::require_close(found[0], fused[1], 1e-10, 1e-12);
  test::require_close(found[1], fused[2], 1e-10, 1e-12);
}

TEST_CASE("group_norm's fused kernels match group_norm_reference, at 1 and 2 threads", "[norm]") {
  // Output and all three gradients of the fused op, in float32 and float64, against the
  // composed reference in float64; with and without weight and bias; 2-D to 5-D inputs
  // of odd sizes; and one input large enough that parallel_for splits the (n, g) pairs.
  // The w̄ and b̄ sums must not depend on the thread count.
  struct Case {
    Shape shape;
    std::int64_t groups;
  };
  const std::vector<Case> cases = {
      {{3, 6}, 3},           // (N, C): one value per channel
      {{2, 6, 7}, 2},        // (N, C, L)
      {{3, 4, 5, 3}, 2},     // (N, C, H, W)
      {{2, 6, 3, 1, 5}, 3},  // (N, C, D, H, W)
      {{2, 5, 9}, 1},        // one group: layer norm over (C, L)
      {{1, 5, 9}, 5},        // one channel per group
      {{6, 8, 37, 39}, 4},   // 69 264 values: two chunks at two threads
  };
  const int saved = num_threads();
  std::uint64_t seed = 40;
  for (const Case& c : cases) {
    const Tensor x = (test::randn64(c.shape, seed++) * 2.0 + 0.5).detach();
    const Tensor gy = test::randn64(c.shape, seed++).detach();
    const Tensor w0 = test::randn64({c.shape[1]}, seed++).detach();
    const Tensor b0 = test::randn64({c.shape[1]}, seed++).detach();
    for (int affine = 0; affine < 4; ++affine) {  // none, weight, bias, both
      const Tensor w = (affine & 1) ? w0 : Tensor(), b = (affine & 2) ? b0 : Tensor();
      const auto expected = group_norm_and_grads(true, x, c.groups, w, b, gy, kFloat64);
      for (DType dtype : {kFloat32, kFloat64}) {
        INFO(fmt::format("shape {}, {} groups, weight {}, bias {}, {}", c.shape, c.groups,
                         w.defined(), b.defined(), dtype));
        const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
        set_num_threads(1);
        const auto one = group_norm_and_grads(false, x, c.groups, w, b, gy, dtype);
        set_num_threads(2);
        const auto two = group_norm_and_grads(false, x, c.groups, w, b, gy, dtype);
        for (std::size_t i = 0; i < 4; ++i) {
          INFO("output " << i << " of y, x̄, w̄, b̄");
          REQUIRE(one[i].defined() == expected[i].defined());
          if (!expected[i].defined()) continue;
          test::require_close(one[i], expected[i], tol, tol);
          REQUIRE(one[i].to_vector<double>() == two[i].to_vector<double>());
        }
      }
    }
  }
  set_num_threads(saved);
}

TEST_CASE("group_norm's fused kernels: strided inputs, partial gradients, far-off means",
          "[norm]") {
  const Tensor x = test::randn64({2, 4, 3, 5}, 60).detach(), gy = test::randn64({2, 4, 5, 3}, 61);
  const Tensor w = test::randn64({4}, 62).detach(), b = test::randn64({4}, 63).detach();
  // A transposed (non-contiguous) input.
  const auto got = group_norm_and_grads(false, x.transpose(2, 3), 2, w, b, gy, kFloat64);
  const auto expected = group_norm_and_grads(true, x.transpose(2, 3), 2, w, b, gy, kFloat64);
  for (std::size_t i = 0; i < 4; ++i) test::require_close(got[i], expected[i], 1e-10, 1e-12);
  // Only the weight wants a gradient (x̄ is skipped), then only x.
  Tensor wl = w.clone().requires_grad_();
  group_norm(x.transpose(2, 3), 2, wl, b).backward(gy);
  test::require_close(wl.grad(), expected[2], 1e-10, 1e-12);
  Tensor xl = x.transpose(2, 3).contiguous().requires_grad_();
  group_norm(xl, 2, w, b).backward(gy);
  test::require_close(xl.grad(), expected[1], 1e-10, 1e-12);
  // float32 values around 1000 with unit spread: with the statistics in double, in two
  // passes, the error is that of rounding x to float32 (6e-5 at 1000), not more.
  const Tensor far = (x + 1000.0).detach();
  test::require_close(group_norm(far.to(kFloat32), 2).to(kFloat64), group_norm_reference(far, 2),
                      1e-3, 1e-3);
  // Groups without positions: an empty output, and a zero (not NaN) w̄.
  Tensor we = ones({4}, kFloat64).requires_grad_();
  group_norm(zeros({2, 4, 0}, kFloat64), 2, we).sum().backward();
  test::require_close(we.grad(), zeros({4}, kFloat64));
}

TEST_CASE("norms reject mismatched shapes with clear errors", "[norm]") {
  const Tensor x = zeros({3, 4});
  REQUIRE_THROWS_WITH(layer_norm(x, {5}),
                      Contains("layer_norm") && Contains("[5]") && Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(layer_norm(x, {2, 3, 4}), Contains("layer_norm") && Contains("[2, 3, 4]"));
  REQUIRE_THROWS_WITH(layer_norm(x, {}), Contains("layer_norm") && Contains("empty"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, zeros({3})), Contains("layer_norm") &&
                                                          Contains("weight") && Contains("[3]") &&
                                                          Contains("[4]"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, zeros({4}), zeros({2, 2})),
                      Contains("layer_norm") && Contains("bias") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, zeros({4}, kFloat64)),
                      Contains("layer_norm") && Contains("float64"));
  REQUIRE_THROWS_WITH(layer_norm(zeros({3, 4}, kInt64), {4}),
                      Contains("layer_norm") && Contains("int64"));
  REQUIRE_THROWS_WITH(rms_norm(x, {3}),
                      Contains("rms_norm") && Contains("[3]") && Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(rms_norm(x, {4}, zeros({5})), Contains("rms_norm") && Contains("weight"));
  REQUIRE_THROWS_WITH(group_norm(zeros({2, 6, 3}), 4),
                      Contains("group_norm") && Contains("num_groups"));
  REQUIRE_THROWS_WITH(group_norm(zeros({2, 6, 3}), 0),
                      Contains("group_norm") && Contains("num_groups"));
  REQUIRE_THROWS_WITH(group_norm(zeros({6}), 2), Contains("group_norm") && Contains("[6]"));
  REQUIRE_THROWS_WITH(group_norm(zeros({2, 6, 3}), 3, zeros({3})),
                      Contains("group_norm") && Contains("weight") && Contains("[6]"));
  REQUIRE_THROWS_WITH(group_norm(zeros({2, 6, 3}), 3, Tensor(), zeros({2})),
                      Contains("group_norm") && Contains("bias"));
  REQUIRE_THROWS_WITH(group_norm(zeros({2, 6, 3}, kInt64), 3),
                      Contains("group_norm") && Contains("int64"));
  REQUIRE_THROWS_WITH(group_norm_reference(zeros({2, 6, 3}), 4),
                      Contains("group_norm") && Contains("num_groups"));
}

TEST_CASE("dropout zeroes with probability p and keeps the expected value", "[norm]") {
  const Tensor x = ones({200001});  // odd: the last element takes half a draw
  Generator gen(1);
  const Tensor y = dropout(x, 0.3, true, gen);
  const auto v = y.to_vector<float>();
  std::int64_t zeros_seen = 0;
  bool only_two_values = true;
  for (float e : v) {
    if (e == 0.0f)
      ++zeros_seen;
    else
      only_two_values = only_two_values && e == Approx(1 / 0.7);
  }
  REQUIRE(only_two_values);  // kept elements are scaled by 1/(1 − p)
  REQUIRE(static_cast<double>(zeros_seen) / v.size() == Approx(0.3).margin(0.005));
  REQUIRE(mean(y).item() == Approx(1.0).margin(0.01));
  // Not training, or p = 0: the input itself.
  REQUIRE(dropout(x, 0.3, false, gen).is_same(x));
  REQUIRE(dropout(x, 0.0, true, gen).is_same(x));
  // p = 1: everything dropped.
  REQUIRE(!any(dropout(x, 1.0, true, gen) != 0.0));
}

TEST_CASE("dropout is reproducible from a seed and its gradient is the mask", "[norm]") {
  Generator a(42), b(42), c(43);
  const Tensor x = test::randn64({1000}, 15).detach();
  const Tensor ya = dropout(x, 0.5, true, a);
  REQUIRE(ya.to_vector<double>() == dropout(x, 0.5, true, b).to_vector<double>());
  REQUIRE(ya.to_vector<double>() != dropout(x, 0.5, true, c).to_vector<double>());
  // The mask, written out: element 2k is kept when the low 32 bits of the generator's
  // k-th 64-bit draw are ≥ p · 2³², element 2k + 1 when the high 32 bits are.
  Generator u(42);
  std::vector<double> expected(1000);
  for (std::size_t k = 0; k < 500; ++k) {
    const std::uint64_t bits = u.next_u64();
    expected[2 * k] = (bits & 0xffffffffu) >= 2147483648u ? 2.0 : 0.0;
    expected[2 * k + 1] = (bits >> 32) >= 2147483648u ? 2.0 : 0.0;
  }
  test::require_close(ya, x * from_vector(expected, {1000}));
  // The same seed drops the same elements in float32 and float64.
  Generator d(42);
  REQUIRE(all((dropout(x.to(kFloat32), 0.5, true, d) == 0.0) == (ya == 0.0)));

  Tensor w = ones({50}, kFloat64).requires_grad_();
  Generator e(7), f(7);
  dropout(w, 0.4, true, e).sum().backward();
  test::require_close(w.grad(), dropout(ones({50}, kFloat64), 0.4, true, f));
  // Drop-everything still gives a (zero) gradient.
  Tensor z = ones({5}, kFloat64).requires_grad_();
  dropout(z, 1.0, true, e).sum().backward();
  test::require_close(z.grad(), zeros({5}, kFloat64));
  // With a fixed mask, finite differences agree.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        Generator g(3);
        return dropout(in[0], 0.5, true, g);
      },
      {test::randn64({12}, 16)});
}

TEST_CASE("dropout rejects probabilities outside [0, 1]", "[norm]") {
  REQUIRE_THROWS_WITH(dropout(ones({3}), -0.1, true), Contains("dropout") && Contains("-0.1"));
  REQUIRE_THROWS_WITH(dropout(ones({3}), 1.5, false), Contains("dropout") && Contains("1.5"));
  REQUIRE_THROWS_WITH(dropout(ones({3}, kInt64), 0.5, true),
                      Contains("dropout") && Contains("int64"));
}
