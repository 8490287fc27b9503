// matmul: NumPy's shape rules, values against a naive product, gradients, BLAS layouts.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::check_gradients;
using test::check_second_gradients;
using test::randn64;
using test::require_close;

namespace {
/// C[i][j] = Σ_k A[i][k] B[k][j], three loops, for 2-D float64 tensors.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const auto m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> c(m * n, 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p) c[i * n + j] += a.at<double>({i, p}) * b.at<double>({p, j});
  return from_vector(c, {m, n});
}
}  // namespace

TEST_CASE("matmul follows NumPy's shape rules", "[linalg]") {
  REQUIRE(matmul(ones({3}), ones({3})).shape() == Shape{});
  REQUIRE(matmul(ones({3}), ones({3, 4})).shape() == Shape{4});
  REQUIRE(matmul(ones({2, 3}), ones({3})).shape() == Shape{2});
  REQUIRE(matmul(ones({5, 2, 3}), ones({3, 4})).shape() == Shape{5, 2, 4});
  REQUIRE(matmul(ones({2, 1, 2, 3}), ones({5, 3, 4})).shape() == Shape{2, 5, 2, 4});
  REQUIRE(matmul(ones({3}), ones({5, 3, 4})).shape() == Shape{5, 4});
  REQUIRE(matmul(ones({2, 3}), ones({3, 4})).to_vector<float>() == std::vector<float>(8, 3.0f));
}

TEST_CASE("matmul equals the naive product for every BLAS layout", "[linalg]") {
  Tensor a = randn64({5, 7}, 1).detach(), b = randn64({7, 3}, 2).detach();
  const Tensor ref = naive_matmul(a, b);
  require_close(matmul(a, b), ref);
  require_close(matmul(a.t().contiguous().t(), b), ref);         // A stored transposed
  require_close(matmul(a, b.t().contiguous().t()), ref);         // B stored transposed
  require_close(matmul(a.slice(1, 0, 7), b.slice(0, 0, 7)), ref);
  // Slices with a leading dimension larger than the row length.
  Tensor wide = randn64({5, 10}, 3).detach();
  require_close(matmul(wide.narrow(1, 2, 7), b), naive_matmul(wide.narrow(1, 2, 7), b));
  // A layout BLAS cannot take (every other column) is copied first.
  Tensor strided = randn64({5, 14}, 4).detach().slice(1, 0, 14, 2);
  require_close(matmul(strided, b), naive_matmul(strided, b));
  // float32 against float64
  require_close(matmul(a.to(kFloat32), b.to(kFloat32)).to(kFloat64), ref, 1e-5, 1e-5);
  // int64 has no BLAS: the plain loop
  Tensor ia = tensor({{1, 2}, {3, 4}}, kInt64);
  REQUIRE(matmul(ia, ia).to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 10, 15, 22});
}

TEST_CASE("batched matmul broadcasts batch dims", "[linalg]") {
  Tensor a = randn64({2, 1, 3, 4}, 5).detach();
  Tensor b = randn64({3, 4, 2}, 6).detach();
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 3, 3, 2});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) require_close(c[i][j], naive_matmul(a[i][0], b[j]));
  // (B, T, C) @ (C, D): the folded single-GEMM path.
  Tensor x = randn64({4, 5, 3}, 7).detach(), w = randn64({3, 2}, 8).detach();
  Tensor y = matmul(x, w);
  for (std::int64_t i = 0; i < 4; ++i) require_close(y[i], naive_matmul(x[i], w));
}

TEST_CASE("matmul gradients: A-bar = C-bar B^T, B-bar = A^T C-bar", "[linalg]") {
  Tensor a = randn64({3, 4}, 1), b = randn64({4, 2}, 2);
  Tensor g = randn64({3, 2}, 3).detach();
  matmul(a, b).backward(g);
  require_close(a.grad(), naive_matmul(g, b.detach().t()));
  require_close(b.grad(), naive_matmul(a.detach().t(), g));
}

TEST_CASE("matmul passes gradcheck in every shape form", "[linalg]") {
  auto mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  check_gradients(mm, {randn64({4}, 1), randn64({4}, 2)});
  check_gradients(mm, {randn64({4}, 1), randn64({4, 3}, 2)});
  check_gradients(mm, {randn64({2, 4}, 1), randn64({4}, 2)});
  check_gradients(mm, {randn64({2, 1, 3, 4}, 1), randn64({3, 4, 2}, 2)});
  check_gradients(mm, {randn64({2, 3, 4}, 1), randn64({4, 2}, 2)});
  check_gradients([](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); },
                  {randn64({4, 3}, 1), randn64({2, 4}, 2)});
  check_second_gradients(mm, {randn64({3, 4}, 1), randn64({4, 2}, 2)});
}

TEST_CASE("matmul reports mismatched shapes", "[linalg][errors]") {
  REQUIRE_THROWS_WITH(matmul(ones({2, 3}), ones({4, 2})),
                      Contains("matmul") && Contains("[2, 3]") && Contains("[4, 2]"));
  REQUIRE_THROWS_WITH(matmul(ones({2, 2, 3}), ones({3, 3, 2})), Contains("matmul"));
  REQUIRE_THROWS_WITH(matmul(ones({3}), ones({4})), Contains("matmul"));
  REQUIRE_THROWS_WITH(matmul(scalar_tensor(1.0), ones({3})), Contains("matmul"));
  REQUIRE(matmul(zeros({0, 3}), ones({3, 2})).shape() == Shape{0, 2});
  REQUIRE(matmul(ones({2, 0}), ones({0, 2})).to_vector<float>() == std::vector<float>(4, 0.0f));
}

TEST_CASE("linear equals x W^T + b for any leading dims and layouts", "[linalg]") {
  Tensor x = randn64({2, 3, 4}, 1).detach(), w = randn64({5, 4}, 2).detach();
  Tensor b = randn64({5}, 3).detach();
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 5});
  for (std::int64_t i = 0; i < 2; ++i)
    require_close(y[i], naive_matmul(x[i], w.t()) + b);
  require_close(linear(x, w), matmul(x, w.t()));  // no bias
  // A weight stored transposed and an input BLAS cannot read (every other column).
  Tensor wt = w.t().contiguous().t();
  Tensor strided = randn64({3, 8}, 4).detach().slice(1, 0, 8, 2);
  require_close(linear(strided, wt, b), naive_matmul(strided, w.t()) + b);
  require_close(linear(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32)).to(kFloat64),
                matmul(x, w.t()) + b, 1e-5, 1e-5);
}

TEST_CASE("linear gradients: x-bar = y-bar W, W-bar = y-bar^T x, b-bar = row sums", "[linalg]") {
  Tensor x = randn64({3, 4}, 1), w = randn64({2, 4}, 2), b = randn64({2}, 3);
  Tensor g = randn64({3, 2}, 4).detach();
  linear(x, w, b).backward(g);
  require_close(x.grad(), naive_matmul(g, w.detach()));
  require_close(w.grad(), naive_matmul(g.t(), x.detach()));
  require_close(b.grad(), sum(g, {0}));
  REQUIRE(w.grad().is_contiguous());  // in W's own layout, ready for the optimizer

  auto f = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  check_gradients(f, {randn64({2, 3, 4}, 1), randn64({5, 4}, 2), randn64({5}, 3)});
  check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                  {randn64({3, 4}, 1).t(), randn64({2, 3}, 2)});
  check_second_gradients(f, {randn64({3, 4}, 1), randn64({2, 4}, 2), randn64({2}, 3)});
}

TEST_CASE("linear reports bad shapes and dtypes", "[linalg][errors]") {
  REQUIRE_THROWS_WITH(linear(ones({2, 3}), ones({4, 2})),
                      Contains("linear") && Contains("[4, 2]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(linear(ones({2, 3}), ones({4, 3}), ones({5})),
                      Contains("linear") && Contains("bias") && Contains("[5]"));
  REQUIRE_THROWS_WITH(linear(ones({2, 3}), ones({4, 3}, kFloat64)),
                      Contains("linear") && Contains("float64"));
  REQUIRE_THROWS_WITH(linear(ones({2, 3}), ones({3})), Contains("(out, in)"));
  REQUIRE(linear(zeros({0, 3}), ones({2, 3})).shape() == Shape{0, 2});
  REQUIRE(linear(ones({2, 0}), ones({2, 0}), ones({2})).to_vector<float>() ==
          std::vector<float>(4, 1.0f));
}
