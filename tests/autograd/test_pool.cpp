// Pooling and resizing: values by hand and against a naive loop, where the gradient
// goes (the argmax for max pooling, with ties and NaN), finite-difference gradients of
// first and second order, thread-count independence, non-contiguous inputs, errors and
// an empty batch.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

/// The reference: y[n, c, oh, ow] = max over the in-image pixels of the window at
/// (oh·s − p, ow·s − p) with dilation d, plain loops in double.
Tensor naive_max_pool2d(const Tensor& x, Pair k, Pair s, Pair p, Pair d) {
  const auto xv = x.to_vector<double>();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t OH = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
  const std::int64_t OW = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
  std::vector<double> y;
  for (std::int64_t nc = 0; nc < N * C; ++nc)
    for (std::int64_t oh = 0; oh < OH; ++oh)
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::int64_t i = 0; i < k[0]; ++i)
          for (std::int64_t j = 0; j < k[1]; ++j) {
            const std::int64_t ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
            if (ih >= 0 && ih < H && iw >= 0 && iw < W)
              best = std::max(best, xv[(nc * H + ih) * W + iw]);
          }
        y.push_back(best);
      }
  return from_vector(y, {N, C, OH, OW});
}

/// The reference argmax: for each window, the flat index ih·W + iw of its first largest
/// in-image pixel (the first NaN if there is one), plain loops in double.
Tensor naive_max_pool2d_indices(const Tensor& x, Pair k, Pair s, Pair p, Pair d) {
  const auto xv = x.to_vector<double>();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t OH = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
  const std::int64_t OW = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
  std::vector<std::int64_t> idx;
  for (std::int64_t nc = 0; nc < N * C; ++nc)
    for (std::int64_t oh = 0; oh < OH; ++oh)
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        std::int64_t best = -1;
        for (std::int64_t i = 0; i < k[0]; ++i)
          for (std::int64_t j = 0; j < k[1]; ++j) {
            const std::int64_t ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const double v = xv[(nc * H + ih) * W + iw];
            const double b = best < 0 ? 0.0 : xv[nc * H * W + best];
            if (best < 0 || (!std::isnan(b) && (v > b || std::isnan(v)))) best = ih * W + iw;
          }
        idx.push_back(best);
      }
  return from_vector(idx, {N, C, OH, OW});
}

/// Pooling and resizing are (piecewise) linear, so central differences are exact up to
/// rounding away from ties: a tolerance much tighter than the default.
const GradcheckOptions kLinear{.eps = 1e-6, .atol = 1e-7, .rtol = 1e-6};

Tensor image(std::initializer_list<std::initializer_list<double>> rows) {
  const Tensor t = tensor(rows, kFloat64);
  return t.reshape({1, 1, t.size(0), t.size(1)});
}

}  // namespace

TEST_CASE("max_pool2d takes the largest value of each window", "[pool]") {
  const Tensor x = arange(0.0, 16.0, 1.0, kFloat64).reshape({1, 1, 4, 4});
  test::require_close(max_pool2d(x, {2, 2}), image({{5, 7}, {13, 15}}));
  // Padding is −∞, not 0: all-negative windows keep their (negative) maximum.
  test::require_close(max_pool2d(-(x + 1.0), {3, 3}, {2, 2}, {1, 1}), image({{-1, -2}, {-5, -6}}));
  // Stride defaults to the kernel, per axis.
  REQUIRE(max_pool2d(zeros({2, 3, 6, 7}), {2, 3}).shape() == Shape{2, 3, 3, 2});
  REQUIRE(max_pool2d(zeros({2, 3, 6, 7}), {2, 3}, {1, 0}).shape() == Shape{2, 3, 5, 2});
  // Stride, padding and dilation against plain loops.
  const Tensor r = test::randn64({2, 3, 7, 8}, 1).detach();
  test::require_close(max_pool2d(r, {3, 2}, {2, 3}, {1, 1}, {2, 1}),
                      naive_max_pool2d(r, {3, 2}, {2, 3}, {1, 1}, {2, 1}));
  test::require_close(max_pool2d(r, {2, 2}, {1, 1}, {1, 0}),
                      naive_max_pool2d(r, {2, 2}, {1, 1}, {1, 0}, {1, 1}));
  // float32 works the same.
  test::require_close(
      max_pool2d(r.to(kFloat32), {3, 3}, {2, 2}, {1, 1}).to(kFloat64),
      naive_max_pool2d(r.to(kFloat32).to(kFloat64), {3, 3}, {2, 2}, {1, 1}, {1, 1}));
}

TEST_CASE("max_pool2d sends the gradient to each window's maximum", "[pool]") {
  // Windows {9,1,3,4}, {1,2,4,5}, {3,4,6,7}, {4,5,7,8}: maxima at (0,0), (1,2), (2,1), (2,2).
  Tensor x = image({{9, 1, 2}, {3, 4, 5}, {6, 7, 8}}).requires_grad_();
  max_pool2d(x, {2, 2}, {1, 1}).sum().backward();
  test::require_close(x.grad(), image({{1, 0, 0}, {0, 0, 1}, {0, 1, 1}}));
  // One pixel that is the maximum of all four overlapping windows gets all four.
  Tensor c = image({{1, 2, 3}, {4, 9, 5}, {6, 7, 8}}).requires_grad_();
  max_pool2d(c, {2, 2}, {1, 1}).sum().backward();
  test::require_close(c.grad(), image({{0, 0, 0}, {0, 4, 0}, {0, 0, 0}}));
}

TEST_CASE("max_pool2d gradients match finite differences", "[pool]") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1});
      },
      {test::randn64({2, 2, 5, 5}, 2)}, kLinear);
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {2, 2}, {1, 2}, {0, 1}, {2, 1});
      },
      {test::randn64({1, 2, 5, 4}, 3)}, kLinear);
}

TEST_CASE("max_pool2d_indices finds the first maximum of each window", "[pool]") {
  const auto indices = [](const Tensor& t) { return t.to_vector<std::int64_t>(); };
  // Flat indices into each H×W plane, as PyTorch's return_indices=True.
  const Tensor x = arange(0.0, 16.0, 1.0, kFloat64).reshape({1, 1, 4, 4});
  const Tensor i = max_pool2d_indices(x, {2, 2});
  REQUIRE(i.dtype() == kInt64);
  REQUIRE(i.shape() == Shape{1, 1, 2, 2});
  REQUIRE(indices(i) == std::vector<std::int64_t>{5, 7, 13, 15});
  // Ties go to the first pixel of the window, in row-major order.
  REQUIRE(indices(max_pool2d_indices(ones({1, 1, 3, 3}), {2, 2}, {1, 1})) ==
          std::vector<std::int64_t>{0, 1, 3, 4});
  // Padding never wins, even over −∞: the first pixel inside the image does.
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor neg = full({1, 1, 3, 3}, -inf, kFloat64);
  REQUIRE(indices(max_pool2d_indices(neg, {3, 3}, {2, 2}, {1, 1})) ==
          std::vector<std::int64_t>{0, 1, 3, 4});
  test::require_close(max_pool2d(neg, {3, 3}, {2, 2}, {1, 1}), full({1, 1, 2, 2}, -inf, kFloat64));
  // Stride, padding, dilation, and many ties (small integers), against plain loops.
  const Tensor r = test::randn64({2, 3, 7, 8}, 1).detach();
  const Tensor ties = (r * 1.5).to(kInt64).to(kFloat64);  // small integers
  for (const Tensor& t : {r, ties, r.to(kFloat32), ties.to(kFloat32)}) {
    REQUIRE(indices(max_pool2d_indices(t, {3, 2}, {2, 3}, {1, 1}, {2, 1})) ==
            indices(naive_max_pool2d_indices(t, {3, 2}, {2, 3}, {1, 1}, {2, 1})));
    REQUIRE(indices(max_pool2d_indices(t, {3, 3}, {1, 2}, {1, 1})) ==
            indices(naive_max_pool2d_indices(t, {3, 3}, {1, 2}, {1, 1}, {1, 1})));
    REQUIRE(indices(max_pool2d_indices(t, {2, 2}, {1, 1}, {1, 0}, {3, 2})) ==
            indices(naive_max_pool2d_indices(t, {2, 2}, {1, 1}, {1, 0}, {3, 2})));
  }
  // Non-contiguous input: the indices are into the (logical) H×W plane.
  const Tensor xt = r.transpose(2, 3);  // (2, 3, 8, 7)
  REQUIRE(indices(max_pool2d_indices(xt, {2, 2})) ==
          indices(naive_max_pool2d_indices(xt.contiguous(), {2, 2}, {2, 2}, {0, 0}, {1, 1})));
}

TEST_CASE("max_pool2d propagates NaN, as PyTorch does", "[pool]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Window 0 holds a NaN after its maximum, window 1 two NaNs: the first NaN wins.
  Tensor x = image({{1, 9, 2, nan}, {nan, 3, nan, 0}}).requires_grad_();
  const Tensor i = max_pool2d_indices(x, {2, 2});
  REQUIRE(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 3});
  const Tensor y = max_pool2d(x, {2, 2});
  REQUIRE(std::isnan(y.at<double>({0, 0, 0, 0})));
  REQUIRE(std::isnan(y.at<double>({0, 0, 0, 1})));
  y.sum().backward();
  const auto g = x.grad().to_vector<double>();
  REQUIRE(g == std::vector<double>{0, 0, 0, 1, 1, 0, 0, 0});
}

TEST_CASE("max_pool2d is the same for any thread count", "[pool][parallel]") {
  // Big enough to be split across threads; integer values make ties common.
  Generator gen(9);
  const Tensor x = (randn({8, 16, 28, 28}, kFloat32, gen) * 2.0).to(kInt64).to(kFloat32);
  const Tensor g = randn({8, 16, 14, 14}, kFloat32, gen);
  const auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor leaf = x.detach().requires_grad_();
    const Tensor idx = max_pool2d_indices(leaf, {3, 3}, {2, 2}, {1, 1});
    max_pool2d(leaf, {3, 3}, {2, 2}, {1, 1}).backward(g);
    return std::pair{idx.to_vector<std::int64_t>(), leaf.grad().to_vector<float>()};
  };
  const int saved = num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(saved);
  REQUIRE(one.first == two.first);
  REQUIRE(one.second == two.second);
  REQUIRE(one.first == naive_max_pool2d_indices(x, {3, 3}, {2, 2}, {1, 1}, {1, 1})
                           .to_vector<std::int64_t>());
}

TEST_CASE("max_pool2d second derivatives match finite differences", "[pool]") {
  // Through gather and its backward, scatter_add, whose backward is gather again.
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        return square(max_pool2d(in[0], {2, 2}, {1, 1}, {1, 0}));
      },
      {test::randn64({1, 2, 4, 3}, 8)});
}

TEST_CASE("avg_pool2d averages each window, counting the zero padding", "[pool]") {
  const Tensor x = arange(0.0, 16.0, 1.0, kFloat64).reshape({1, 1, 4, 4});
  test::require_close(avg_pool2d(x, {2, 2}), image({{2.5, 4.5}, {10.5, 12.5}}));
  // Ones with padding 1: a corner window holds 4 ones out of 9, an edge window 6.
  test::require_close(avg_pool2d(ones({1, 1, 3, 3}, kFloat64), {3, 3}, {1, 1}, {1, 1}),
                      image({{4, 6, 4}, {6, 9, 6}, {4, 6, 4}}) / 9.0);
  // Each pixel of non-overlapping 2x2 windows gets a quarter of the gradient.
  Tensor g = test::randn64({1, 2, 4, 6});
  avg_pool2d(g, {2, 2}).sum().backward();
  test::require_close(g.grad(), full({1, 2, 4, 6}, 0.25, kFloat64));
}

TEST_CASE("avg_pool2d gradients match finite differences", "[pool]") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return avg_pool2d(in[0], {3, 2}, {2, 1}, {1, 1});
      },
      {test::randn64({2, 2, 5, 4}, 4)}, kLinear);
}

TEST_CASE("interpolate_nearest copies the source pixel floor(dst·in/out)", "[pool]") {
  // Upsampling by 2 turns each pixel into a 2x2 block.
  test::require_close(interpolate_nearest(image({{1, 2}, {3, 4}}), {4, 4}),
                      image({{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}}));
  // 3 -> 5 rows: sources 0, 0, 1, 1, 2; 3 -> 2 columns: sources 0, 1.
  const Tensor x = image({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  test::require_close(interpolate_nearest(x, {5, 2}),
                      image({{1, 2}, {1, 2}, {4, 5}, {4, 5}, {7, 8}}));
  // The gradient of a source pixel sums over its copies.
  Tensor g = image({{1, 2}, {3, 4}}).requires_grad_();
  interpolate_nearest(g, {4, 6}).sum().backward();
  test::require_close(g.grad(), full({1, 1, 2, 2}, 6.0, kFloat64));
}

TEST_CASE("interpolate_nearest gradients match finite differences", "[pool]") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return interpolate_nearest(in[0], {5, 2});
      },
      {test::randn64({2, 2, 3, 4}, 5)}, kLinear);
}

TEST_CASE("pooling accepts non-contiguous inputs", "[pool]") {
  const Tensor x = test::randn64({2, 3, 7, 6}, 6).detach().transpose(2, 3);  // (2, 3, 6, 7)
  REQUIRE_FALSE(x.is_contiguous());
  const Tensor c = x.contiguous();
  test::require_close(max_pool2d(x, {3, 3}, {2, 2}, {1, 1}), max_pool2d(c, {3, 3}, {2, 2}, {1, 1}));
  test::require_close(avg_pool2d(x, {2, 3}, {1, 2}), avg_pool2d(c, {2, 3}, {1, 2}));
  test::require_close(interpolate_nearest(x, {9, 4}), interpolate_nearest(c, {9, 4}));
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0].transpose(2, 3), {2, 2}) +
               avg_pool2d(in[0].transpose(2, 3), {2, 2});
      },
      {test::randn64({1, 2, 4, 6}, 7)}, kLinear);
}

TEST_CASE("pooling handles an empty batch", "[pool]") {
  Tensor x = zeros({0, 3, 4, 4}, kFloat64).requires_grad_();
  const Tensor m = max_pool2d(x, {2, 2});
  REQUIRE(m.shape() == Shape{0, 3, 2, 2});
  REQUIRE(avg_pool2d(x, {2, 2}, {1, 1}).shape() == Shape{0, 3, 3, 3});
  REQUIRE(interpolate_nearest(x, {8, 2}).shape() == Shape{0, 3, 8, 2});
  m.sum().backward();
  REQUIRE(x.grad().shape() == x.shape());
}

TEST_CASE("pooling rejects bad arguments with clear errors", "[pool]") {
  const Tensor x = zeros({1, 2, 4, 4});
  REQUIRE_THROWS_WITH(max_pool2d(zeros({2, 4, 4}), {2, 2}),
                      Contains("max_pool2d") && Contains("4-D"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {5, 2}), Contains("max_pool2d") && Contains("larger"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {2, 2}, {0, 0}, {0, 0}, {4, 1}),
                      Contains("max_pool2d") && Contains("larger"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {2, 2}, {1, 1}, {2, 0}),
                      Contains("max_pool2d") && Contains("padding"));
  REQUIRE_NOTHROW(max_pool2d(x, {2, 2}, {1, 1}, {1, 0}));
  REQUIRE_THROWS_WITH(max_pool2d(x, {0, 2}), Contains("max_pool2d") && Contains("kernel"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {2, 2}, {-1, 1}), Contains("max_pool2d") && Contains("stride"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {2, 2}, {1, 1}, {0, 0}, {0, 1}),
                      Contains("max_pool2d") && Contains("dilation"));
  REQUIRE_THROWS_WITH(max_pool2d(zeros({1, 2, 4, 4}, kInt64), {2, 2}),
                      Contains("max_pool2d") && Contains("int64"));
  REQUIRE_THROWS_WITH(max_pool2d_indices(zeros({1, 2, 4, 4}, kInt64), {2, 2}),
                      Contains("max_pool2d") && Contains("int64"));
  // Dilation 2 steps over a 1×1 image: the taps at −1 and 1 are both padding.
  REQUIRE_THROWS_WITH(max_pool2d(zeros({1, 1, 1, 1}), {2, 2}, {1, 1}, {1, 1}, {2, 2}),
                      Contains("max_pool2d") && Contains("only padding"));
  REQUIRE_NOTHROW(max_pool2d(zeros({1, 1, 2, 2}), {2, 2}, {1, 1}, {1, 1}, {2, 2}));
  REQUIRE_THROWS_WITH(avg_pool2d(zeros({4, 4}), {2, 2}), Contains("avg_pool2d") && Contains("4-D"));
  REQUIRE_THROWS_WITH(avg_pool2d(x, {3, 3}, {1, 1}, {2, 2}),
                      Contains("avg_pool2d") && Contains("padding"));
  REQUIRE_THROWS_WITH(avg_pool2d(x, {2, 6}), Contains("avg_pool2d") && Contains("larger"));
  REQUIRE_THROWS_WITH(interpolate_nearest(zeros({2, 4, 4}), {8, 8}),
                      Contains("interpolate_nearest") && Contains("4-D"));
  REQUIRE_THROWS_WITH(interpolate_nearest(x, {0, 8}),
                      Contains("interpolate_nearest") && Contains("positive"));
  REQUIRE_THROWS_WITH(interpolate_nearest(zeros({1, 2, 0, 4}), {2, 2}),
                      Contains("interpolate_nearest") && Contains("empty"));
}
