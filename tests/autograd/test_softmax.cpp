// Softmax and log-softmax: values by hand, the invariants (rows sum to 1, a constant
// shift changes nothing), extreme and masked inputs, every dim and layout against the
// composite exp(x - logsumexp(x)), and first and second gradients.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The readable (unfused) definition, as the reference for the fused kernel.
Tensor reference_log_softmax(const Tensor& x, std::int64_t dim) {
  return x - logsumexp(x, {dim}, /*keepdim=*/true);
}

}  // namespace

TEST_CASE("softmax and log_softmax match values computed by hand", "[softmax]") {
  const Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64);
  // Σ e^x = e + e² + e³ = 30.19287485; log of it = 3.40760596.
  test::require_close(softmax(x, 0), tensor({0.09003057317, 0.24472847105, 0.66524095577}, kFloat64),
                      1e-9);
  test::require_close(log_softmax(x, -1),
                      tensor({-2.40760596444, -1.40760596444, -0.40760596444}, kFloat64), 1e-9);
  // Two equal logits share the probability evenly.
  test::require_close(softmax(tensor({{5.0, 5.0}}, kFloat64), 1), tensor({{0.5, 0.5}}, kFloat64));
}

TEST_CASE("softmax rows sum to 1 and do not change when a constant is added", "[softmax]") {
  const Tensor x = test::randn64({4, 7}, 1).detach();
  const Tensor y = softmax(x, 1);
  test::require_close(sum(y, {1}), ones({4}, kFloat64), 1e-12);
  REQUIRE(amin(y).item() > 0.0);
  test::require_close(softmax(x + 123.0, 1), y, 1e-9, 1e-12);
  test::require_close(log_softmax(x - 50.0, 1), log_softmax(x, 1), 1e-9, 1e-12);
  // log_softmax is the log of softmax.
  test::require_close(exp(log_softmax(x, 1)), y, 1e-12);
}

TEST_CASE("softmax does not overflow on huge logits", "[softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = tensor({{1000.0, 0.0, -1000.0}, {1000.0, 1000.0, 999.0}}, dtype);
    const Tensor y = softmax(x, -1);
    REQUIRE(all(isfinite(y)));
    REQUIRE(y.at<double>({0, 0}) == Approx(1.0));
    REQUIRE(y.at<double>({0, 1}) == Approx(0.0).margin(1e-30));
    // Row 2: (e, e, 1)/(2e + 1) after shifting by 999.
    const double e = std::exp(1.0);
    REQUIRE(y.at<double>({1, 0}) == Approx(e / (2 * e + 1)).epsilon(1e-6));
    REQUIRE(y.at<double>({1, 2}) == Approx(1 / (2 * e + 1)).epsilon(1e-6));
    // log_softmax stays finite where the probability underflows to 0.
    const Tensor ly = log_softmax(x, -1);
    REQUIRE(all(isfinite(ly)));
    REQUIRE(ly.at<double>({0, 2}) == Approx(-2000.0));
    REQUIRE(ly.at<double>({0, 0}) == Approx(0.0).margin(1e-6));
  }
}

TEST_CASE("softmax gives 0 at -inf (masked scores) and NaN for an all -inf row",
          "[softmax]") {
  const Tensor x = tensor({{0.0, -kInf, 0.0}, {-kInf, -kInf, -kInf}}, kFloat64).requires_grad_();
  const Tensor y = softmax(x, 1);
  REQUIRE(y.at<double>({0, 0}) == 0.5);
  REQUIRE(y.at<double>({0, 1}) == 0.0);
  REQUIRE(y.at<double>({0, 2}) == 0.5);
  for (std::int64_t j = 0; j < 3; ++j) REQUIRE(std::isnan(y.at<double>({1, j})));
  const Tensor ly = log_softmax(x, 1);
  REQUIRE(ly.at<double>({0, 1}) == -kInf);
  REQUIRE(ly.at<double>({0, 0}) == Approx(std::log(0.5)));
  REQUIRE(std::isnan(ly.at<double>({1, 0})));

  // Gradients through the masked (finite) row are finite, and zero at the mask.
  const Tensor row = x.detach()[0].requires_grad_();
  const Tensor w = tensor({1.0, 2.0, 4.0}, kFloat64);
  sum(softmax(row, 0) * w).backward();
  REQUIRE(all(isfinite(row.grad())));
  REQUIRE(row.grad().at<double>({1}) == 0.0);
  // y = (½, 0, ½): x̄ = y ⊙ (w − Σ w y) = (½(1 − 2.5), 0, ½(4 − 2.5)).
  test::require_close(row.grad(), tensor({-0.75, 0.0, 0.75}, kFloat64));
}

TEST_CASE("softmax along any dim and layout matches the composite definition", "[softmax]") {
  const Tensor x = test::randn64({3, 4, 5}, 3).detach();
  for (std::int64_t dim : {0, 1, 2, -1, -3}) {
    INFO("dim " << dim);
    const Tensor expected = reference_log_softmax(x, dim);
    test::require_close(log_softmax(x, dim), expected, 1e-10, 1e-12);
    test::require_close(softmax(x, dim), exp(expected), 1e-10, 1e-12);
    REQUIRE(softmax(x, dim).is_contiguous());
  }
  // A transposed (non-contiguous) input, along its last and first dims.
  const Tensor xt = x.transpose(0, 2);
  REQUIRE_FALSE(xt.is_contiguous());
  for (std::int64_t dim : {-1, 0}) {
    test::require_close(softmax(xt, dim), exp(reference_log_softmax(xt, dim)), 1e-10, 1e-12);
    test::require_close(log_softmax(xt, dim), reference_log_softmax(xt, dim), 1e-10, 1e-12);
  }
  // Attention-shaped scores (B, H, T, T), in float32.
  const Tensor scores = test::randn64({2, 3, 4, 4}, 5).detach().to(kFloat32);
  const Tensor y = softmax(scores, -1);
  REQUIRE(y.dtype() == kFloat32);
  test::require_close(y.to(kFloat64), exp(reference_log_softmax(scores.to(kFloat64), -1)), 1e-5,
                      1e-7);
  // A 0-dim tensor is a single class: probability 1.
  REQUIRE(softmax(scalar_tensor(3.0, kFloat64), 0).item() == 1.0);
  REQUIRE(log_softmax(scalar_tensor(3.0, kFloat64), -1).item() == 0.0);
}

TEST_CASE("softmax over many long rows (the threaded path) is exact and deterministic",
          "[softmax]") {
  Generator gen(11);
  const Tensor x = randn({64, 3000}, kFloat32, gen) * 5.0;
  const Tensor y = softmax(x, 1);
  test::require_close(y.to(kFloat64), exp(reference_log_softmax(x.to(kFloat64), 1)), 1e-4, 1e-9);
  test::require_close(sum(y.to(kFloat64), {1}), ones({64}, kFloat64), 1e-5);
  REQUIRE(softmax(x, 1).to_vector<float>() == y.to_vector<float>());
  // And along dim 0 (transposed internally).
  test::require_close(log_softmax(x, 0).to(kFloat64), reference_log_softmax(x.to(kFloat64), 0),
                      1e-4, 1e-5);
}

TEST_CASE("softmax and log_softmax have correct first and second gradients", "[softmax]") {
  const Tensor x = test::randn64({3, 4}, 2);
  const Tensor x3 = test::randn64({2, 3, 2}, 4);
  for (std::int64_t dim : {-1, 0}) {
    INFO("dim " << dim);
    auto sm = [dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); };
    auto lsm = [dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); };
    test::check_gradients(sm, {x});
    test::check_gradients(lsm, {x});
    test::check_second_gradients(sm, {x});
    test::check_second_gradients(lsm, {x});
  }
  // A middle dim of a 3-D tensor, and a transposed (non-contiguous) input.
  auto sm_mid = [](const std::vector<Tensor>& in) { return softmax(in[0], 1); };
  auto lsm_t = [](const std::vector<Tensor>& in) { return log_softmax(in[0].transpose(0, 1), -1); };
  auto sm_t = [](const std::vector<Tensor>& in) { return softmax(in[0].transpose(0, 2), 0); };
  test::check_gradients(sm_mid, {x3});
  test::check_gradients(lsm_t, {x});
  test::check_gradients(sm_t, {x3});
  test::check_second_gradients(sm_mid, {x3});
  test::check_second_gradients(lsm_t, {x});
}

TEST_CASE("softmax's Jacobian is diag(y) - y yᵀ", "[softmax]") {
  // Backpropagating e_k gives row k of the Jacobian: y_k (δ_kj − y_j).
  const Tensor x = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  const Tensor y = softmax(x, 0);
  const auto p = y.to_vector<double>();
  for (std::int64_t k = 0; k < 3; ++k) {
    Tensor e = zeros({3}, kFloat64);
    e[k].fill_(1.0);
    const Tensor gx = autograd::grad({y}, {x}, {e}, {.retain_graph = true})[0];
    for (std::int64_t j = 0; j < 3; ++j)
      REQUIRE(gx.at<double>({j}) == Approx(p[k] * ((j == k) - p[j])).margin(1e-15));
  }
  // log_softmax with ȳ = 1: x̄ = 1 − C·softmax(x).
  const Tensor ly = log_softmax(x, 0);
  const Tensor gl = autograd::grad({ly}, {x}, {ones({3}, kFloat64)})[0];
  test::require_close(gl, 1.0 - 3.0 * y.detach());
}

TEST_CASE("softmax rejects integer tensors and bad dims", "[softmax]") {
  REQUIRE_THROWS_WITH(softmax(arange(4), 0), Contains("softmax") && Contains("int64"));
  REQUIRE_THROWS_WITH(log_softmax(arange(4), 0), Contains("log_softmax") && Contains("int64"));
  REQUIRE_THROWS_WITH(softmax(zeros({2, 3}), 2), Contains("softmax") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(log_softmax(zeros({2, 3}), -3), Contains("log_softmax"));
}
