// Reductions: values by hand, gradients by finite differences over several dim sets,
// keepdim, ties, zero-size and error cases.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::check_gradients;
using test::check_second_gradients;
using test::randn64;
using test::require_close;

TEST_CASE("sum and mean over any dims, with keepdim", "[reduce]") {
  Tensor x = arange(0.0, 24.0, 1.0, kFloat64).reshape({2, 3, 4});
  REQUIRE(sum(x).item() == 276.0);
  require_close(sum(x, {0, 2}), tensor({60.0, 92.0, 124.0}, kFloat64));
  REQUIRE(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  require_close(sum(x, {-1}), tensor({{6.0, 22.0, 38.0}, {54.0, 70.0, 86.0}}, kFloat64));
  require_close(mean(x, {0}), (x[0] + x[1]) / 2.0);
  // Transposed input takes the copy path and must agree.
  require_close(sum(x.transpose(0, 2), {1}), sum(x, {1}).t());
  REQUIRE(sum(ones({3}, kInt64)).dtype() == kInt64);
  REQUIRE(sum(tensor({1.0, 2.0}) > 1.5).item() == 1.0);
}

TEST_CASE("reduction gradients pass gradcheck", "[reduce]") {
  Tensor x = randn64({3, 4, 2});
  const std::vector<Dims> dim_sets = {{}, {0}, {1}, {2}, {0, 2}, {-1, 0}};
  for (const auto& dims : dim_sets) {
    for (bool keepdim : {false, true}) {
      INFO("dims " << fmt::format("{}", dims) << " keepdim " << keepdim);
      check_gradients([&](const std::vector<Tensor>& in) { return sum(in[0], dims, keepdim); }, {x});
      check_gradients([&](const std::vector<Tensor>& in) { return mean(in[0], dims, keepdim); }, {x});
      check_gradients([&](const std::vector<Tensor>& in) { return var(in[0], dims, 1, keepdim); }, {x});
      check_gradients([&](const std::vector<Tensor>& in) { return amax(in[0], dims, keepdim); }, {x});
      check_gradients([&](const std::vector<Tensor>& in) { return amin(in[0], dims, keepdim); }, {x});
      check_gradients([&](const std::vector<Tensor>& in) { return prod(in[0], dims, keepdim); }, {x});
      if (!dims.empty())
        check_gradients([&](const std::vector<Tensor>& in) { return logsumexp(in[0], dims, keepdim); }, {x});
    }
  }
  check_second_gradients([](const std::vector<Tensor>& in) { return var(in[0], {1}); }, {x});
  check_second_gradients([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0, 2}); }, {x});
  check_second_gradients([](const std::vector<Tensor>& in) { return prod(in[0], {2}); }, {x});
}

TEST_CASE("var uses the correction; logsumexp is stable", "[reduce]") {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, kFloat64);
  REQUIRE(var(x).item() == Approx(5.0 / 3.0));
  REQUIRE(var(x, {}, 0).item() == Approx(1.25));
  REQUIRE(logsumexp(tensor({1000.0, 1000.0}, kFloat64), {0}).item() == Approx(1000.0 + std::log(2.0)));
  REQUIRE(logsumexp(tensor({-INFINITY, -INFINITY}, kFloat64), {0}).item() == -INFINITY);
  // d logsumexp / dx = softmax(x)
  Tensor v = tensor({0.1, -0.4, 2.0}, kFloat64).requires_grad_();
  logsumexp(v, {0}).backward();
  Tensor e = exp(v.detach());
  require_close(v.grad(), e / sum(e));
}

TEST_CASE("max and min along a dim return values and indices; the gradient goes there",
          "[reduce]") {
  Tensor x = tensor({{1.0, 5.0, 5.0}, {7.0, -1.0, 0.0}}, kFloat64).requires_grad_();
  auto [values, indices] = max(x, 1);
  require_close(values, tensor({5.0, 7.0}, kFloat64));
  REQUIRE(indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});  // first on ties
  sum(values).backward();
  require_close(x.grad(), tensor({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}, kFloat64));
  auto [mv, mi] = min(x, 0, true);
  REQUIRE(mv.shape() == Shape{1, 3});
  REQUIRE(mi.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 1});
  REQUIRE(argmax(x).item() == 3.0);
  REQUIRE(argmin(x, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  REQUIRE(max(x).item() == 7.0);
  // amax shares the gradient among ties.
  Tensor t = tensor({2.0, 2.0, 1.0}, kFloat64).requires_grad_();
  amax(t).backward();
  require_close(t.grad(), tensor({0.5, 0.5, 0.0}, kFloat64));
  Tensor r = randn64({3, 5});
  check_gradients([](const std::vector<Tensor>& in) { return max(in[0], 1).first; }, {r});
  check_gradients([](const std::vector<Tensor>& in) { return min(in[0].t(), 0, true).first; }, {r});
}

TEST_CASE("prod handles zeros in its gradient", "[reduce]") {
  Tensor x = tensor({{2.0, 0.0, 3.0}, {1.0, 4.0, 5.0}}, kFloat64).requires_grad_();
  sum(prod(x, {1})).backward();
  require_close(x.grad(), tensor({{0.0, 6.0, 0.0}, {20.0, 5.0, 4.0}}, kFloat64));
  // Over dim 0, and a group with two zeros (every gradient there is 0).
  Tensor z = tensor({{0.0, 2.0}, {3.0, 0.0}, {4.0, 0.0}}, kFloat64).requires_grad_();
  sum(prod(z, {0})).backward();
  require_close(z.grad(), tensor({{12.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}}, kFloat64));
  // A large group with one zero stays linear in time (running products, no division).
  Tensor big = ones({200000}, kFloat64);
  big.narrow(0, 5, 1).fill_(0.0);
  big.requires_grad_();
  prod(big).backward();
  REQUIRE(big.grad().at<double>({5}) == 1.0);
  REQUIRE(big.grad().at<double>({6}) == 0.0);
}

TEST_CASE("cumsum runs along any dim and its gradient is the reversed running sum",
          "[reduce]") {
  Tensor x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64);
  require_close(cumsum(x, 1), tensor({{1.0, 3.0, 6.0}, {4.0, 9.0, 15.0}}, kFloat64));
  require_close(cumsum(x, 0), tensor({{1.0, 2.0, 3.0}, {5.0, 7.0, 9.0}}, kFloat64));
  Tensor r = randn64({3, 4});
  check_gradients([](const std::vector<Tensor>& in) { return cumsum(in[0], 1); }, {r});
  check_gradients([](const std::vector<Tensor>& in) { return cumsum(in[0].t(), 1); }, {r});
  check_second_gradients([](const std::vector<Tensor>& in) { return cumsum(in[0], 0) * in[0]; }, {r});
}

TEST_CASE("big reductions are parallel and deterministic", "[reduce]") {
  Generator gen(1);
  Tensor x = rand({1 << 20}, kFloat32, gen);
  const double s = sum(x).item();
  double ref = 0;
  for (float v : x.to_vector<float>()) ref += v;
  REQUIRE(s == Approx(ref).epsilon(1e-6));
  set_num_threads(1);
  const double s1 = sum(x).item();
  set_num_threads(omp_get_num_procs());
  REQUIRE(sum(x).item() == s);  // same thread count, same bits
  REQUIRE(s1 == Approx(s).epsilon(1e-6));
  Tensor m = rand({512, 1000}, kFloat32, gen);
  require_close(sum(m, {0}).to(kFloat64), sum(m.to(kFloat64), {0}), 1e-5);
}

TEST_CASE("reductions report bad dims and empty inputs", "[reduce][errors]") {
  Tensor x = ones({2, 3});
  REQUIRE_THROWS_WITH(sum(x, {2}), Contains("sum") && Contains("out of range"));
  REQUIRE_THROWS_WITH(sum(x, {0, 0}), Contains("twice"));
  REQUIRE_THROWS_WITH(amax(zeros({0, 3}), {0}), Contains("amax") && Contains("size 0"));
  REQUIRE_THROWS_WITH(max(zeros({0})), Contains("empty"));
  REQUIRE_THROWS_WITH(argmax(zeros({2, 0}), 1), Contains("argmax"));
  REQUIRE_THROWS_WITH(mean(ones({2}, kInt64)), Contains("mean") && Contains("int64"));
  REQUIRE(sum(zeros({0, 3}), {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
}
