// Indexing ops: index_select, index_add, gather, scatter_add, masked_fill, one_hot,
// embedding and topk. Known values by hand, float64 gradient checks (first and second
// order, with non-contiguous and broadcast inputs), error messages, zero-size cases.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using zoo::test::check_gradients;
using zoo::test::check_second_gradients;
using zoo::test::randn64;

namespace {

/// A 1-D int64 index tensor.
Tensor idx(std::initializer_list<double> values) { return tensor(values, kInt64); }
/// A 2-D int64 index tensor (a separate name: `{{0}, {1}}` would also fit the 1-D one).
Tensor idx2(std::initializer_list<std::initializer_list<double>> rows) { return tensor(rows, kInt64); }
/// A float64 leaf that requires grad and is *not* contiguous: the transpose of a
/// (shape[1], shape[0]) tensor.
Tensor transposed64(const Shape& shape, std::uint64_t seed = 11) {
  Generator gen(seed);
  Tensor t = randn({shape[1], shape[0]}, kFloat64, gen).t();
  t.requires_grad_();
  return t;
}
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

// ---------------------------------------------------------------------------
// index_select
// ---------------------------------------------------------------------------

TEST_CASE("index_select picks rows or columns, repeats included", "[index]") {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  Tensor rows = index_select(x, 0, idx({2, 0, 2}));
  REQUIRE(rows.shape() == Shape{3, 3});
  REQUIRE(rows.to_vector<float>() == std::vector<float>{7, 8, 9, 1, 2, 3, 7, 8, 9});
  Tensor cols = index_select(x, -1, idx({1, 1}));
  REQUIRE(cols.to_vector<float>() == std::vector<float>{2, 2, 5, 5, 8, 8});
  // Non-contiguous input: the columns of x.t() are the rows of x.
  REQUIRE(index_select(x.t(), 1, idx({2})).to_vector<float>() == std::vector<float>{7, 8, 9});
  // A 0-dim index keeps the dim with size 1.
  REQUIRE(index_select(x, 0, scalar_tensor(1, kInt64)).shape() == Shape{1, 3});
  // Other dtypes.
  Tensor xi = arange(6).reshape({2, 3});
  REQUIRE(index_select(xi, 1, idx({2, 0})).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{2, 0, 5, 3});
  Tensor xb = tensor({1, 0, 1}) > 0.5;
  REQUIRE(index_select(xb, 0, idx({1, 2})).to_vector<bool>() == std::vector<bool>{false, true});
  // 3-D, middle dim.
  Tensor y = arange(24).reshape({2, 3, 4});
  Tensor ys = index_select(y, 1, idx({2, 0}));
  REQUIRE(ys.shape() == Shape{2, 2, 4});
  REQUIRE(ys.at<std::int64_t>({1, 0, 3}) == y.at<std::int64_t>({1, 2, 3}));
  REQUIRE(ys.at<std::int64_t>({0, 1, 2}) == y.at<std::int64_t>({0, 0, 2}));
  // A 0-dim x takes one index and stays 0-dim.
  REQUIRE(index_select(scalar_tensor(4.0), 0, idx({0})).item() == 4.0);
}

TEST_CASE("index_select gradients add up over repeated indices", "[index][grad]") {
  Tensor x = randn64({4, 3});
  Tensor y = index_select(x, 0, idx({3, 1, 3, 3}));
  y.sum().backward();
  // Row 3 was picked three times, row 1 once, rows 0 and 2 never.
  REQUIRE(values(x.grad()) == std::vector<double>{0, 0, 0, 1, 1, 1, 0, 0, 0, 3, 3, 3});

  check_gradients([](const auto& in) { return index_select(in[0], 0, idx({3, 1, 3})); },
                  {randn64({4, 3})});
  check_gradients([](const auto& in) { return index_select(in[0], 1, idx({2, 0, 2, 1})); },
                  {transposed64({3, 4})});
  // Sliced inside the function.
  check_gradients(
      [](const auto& in) { return index_select(in[0].slice(1, 0, 5, 2), 1, idx({1, 1, 0})); },
      {randn64({2, 5})});
  check_second_gradients(
      [](const auto& in) { return index_select(in[0] * in[0], 1, idx({0, 2, 0})); },
      {randn64({3, 3})});
}

TEST_CASE("index_select checks its index", "[index][errors]") {
  Tensor x = zeros({3, 2});
  REQUIRE_THROWS_WITH(index_select(x, 0, tensor({0, 1})), Contains("index_select") && Contains("int64"));
  REQUIRE_THROWS_WITH(index_select(x, 0, idx({0, 5})),
                      Contains("index_select") && Contains("index 5") && Contains("size 3"));
  REQUIRE_THROWS_WITH(index_select(x, 0, idx({-1})),
                      Contains("index_select") && Contains("index -1"));
  REQUIRE_THROWS_WITH(index_select(x, 2, idx({0})), Contains("index_select") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(index_select(x, 0, idx2({{0}, {1}})),
                      Contains("index_select") && Contains("1-D"));
}

TEST_CASE("index_select handles zero-size tensors", "[index][empty]") {
  Tensor x = randn64({3, 2});
  Tensor none = index_select(x, 0, zeros({0}, kInt64));
  REQUIRE(none.shape() == Shape{0, 2});
  none.sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>(6, 0.0));
  REQUIRE(index_select(zeros({0, 2}), 0, zeros({0}, kInt64)).shape() == Shape{0, 2});
  REQUIRE_THROWS_WITH(index_select(zeros({0, 2}), 0, idx({0})),
                      Contains("index_select") && Contains("size 0"));
}

// ---------------------------------------------------------------------------
// index_add
// ---------------------------------------------------------------------------

TEST_CASE("index_add adds src rows at the indices, repeats add up", "[index]") {
  Tensor out = index_add(tensor({10, 20, 30, 40}), 0, idx({0, 2, 0}), tensor({1, 2, 3}));
  REQUIRE(out.to_vector<float>() == std::vector<float>{14, 20, 32, 40});
  // Along dim 1 of a matrix, int64.
  Tensor self = zeros({2, 3}, kInt64);
  Tensor src = arange(4).reshape({2, 2});
  Tensor r = index_add(self, 1, idx({2, 2}), src);
  REQUIRE(r.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 0, 0, 5});
  // Out of place: self is untouched.
  REQUIRE(self.to_vector<std::int64_t>() == std::vector<std::int64_t>(6, 0));
  // Non-contiguous self and src.
  Tensor a = tensor({{1, 2}, {3, 4}}).t();  // [[1, 3], [2, 4]]
  Tensor b = index_add(a, 0, idx({1}), tensor({{10, 20}}).t().t());
  REQUIRE(b.to_vector<float>() == std::vector<float>{1, 3, 12, 24});
}

TEST_CASE("index_add gradients: identity for self, index_select for src", "[index][grad]") {
  check_gradients(
      [](const auto& in) { return index_add(in[0], 0, idx({2, 0, 2}), in[1]); },
      {randn64({3, 2}, 1), randn64({3, 2}, 2)});
  check_gradients(
      [](const auto& in) { return index_add(in[0], 1, idx({1, 1}), in[1]); },
      {transposed64({2, 3}), transposed64({2, 2}, 5)});
  // Broadcast src, expanded inside the function.
  check_gradients(
      [](const auto& in) { return index_add(in[0], 0, idx({0, 1}), in[1].expand({2, 3})); },
      {randn64({2, 3}, 1), randn64({1, 3}, 2)});
  check_second_gradients(
      [](const auto& in) { return index_add(in[0] * in[1].sum(), 0, idx({1, 1}), in[1] * in[1]); },
      {randn64({2, 2}, 1), randn64({2, 2}, 2)});
}

TEST_CASE("index_add checks shapes, dtypes and indices", "[index][errors]") {
  Tensor self = zeros({3, 2});
  REQUIRE_THROWS_WITH(index_add(self, 0, idx({0, 1}), zeros({3, 2})),
                      Contains("index_add") && Contains("[3, 2]") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(index_add(self, 0, idx({0}), zeros({1, 2}, kFloat64)),
                      Contains("index_add") && Contains("float64"));
  REQUIRE_THROWS_WITH(index_add(self, 0, idx({3}), zeros({1, 2})),
                      Contains("index_add") && Contains("index 3") && Contains("size 3"));
  REQUIRE_THROWS_WITH(index_add(self, 0, tensor({0}), zeros({1, 2})),
                      Contains("index_add") && Contains("int64"));
  REQUIRE_THROWS_WITH(index_add(self, -3, idx({0}), zeros({1, 2})), Contains("index_add"));
  REQUIRE(index_add(self, 0, zeros({0}, kInt64), zeros({0, 2})).to_vector<float>() ==
          std::vector<float>(6, 0.0f));
}

// ---------------------------------------------------------------------------
// gather
// ---------------------------------------------------------------------------

TEST_CASE("gather reads x at the index along one dim", "[index]") {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  // dim 1: out[i][j] = x[i][index[i][j]]
  Tensor g1 = gather(x, 1, idx2({{2, 0}, {1, 1}}));
  REQUIRE(g1.to_vector<float>() == std::vector<float>{3, 1, 5, 5});
  // dim 0: out[i][j] = x[index[i][j]][j]
  Tensor g0 = gather(x, 0, idx2({{1, 0, 1}}));
  REQUIRE(g0.shape() == Shape{1, 3});
  REQUIRE(g0.to_vector<float>() == std::vector<float>{4, 2, 6});
  // An index smaller than x outside dim reads the top-left corner only.
  REQUIRE(gather(x, 1, idx2({{0}})).to_vector<float>() == std::vector<float>{1});
  REQUIRE(gather(x, 0, idx2({{1, 1}})).to_vector<float>() == std::vector<float>{4, 5});
  // Non-contiguous x and index.
  REQUIRE(gather(x.t(), 0, idx2({{1, 0}}).expand({2, 2})).to_vector<float>() ==
          std::vector<float>{2, 4, 2, 4});
  // int64 and bool; a 3-D middle dim.
  REQUIRE(gather(arange(6).reshape({2, 3}), 1, idx2({{1}, {2}})).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{1, 5});
  REQUIRE(gather(tensor({0, 1}) > 0.5, 0, idx({1, 1, 0})).to_vector<bool>() ==
          std::vector<bool>{true, true, false});
  Tensor y = arange(24).reshape({2, 3, 4});
  Tensor i3 = idx2({{2, 0, 1, 1}}).reshape({1, 1, 4}).expand({2, 1, 4}).contiguous();
  Tensor g3 = gather(y, 1, i3);
  REQUIRE(g3.shape() == Shape{2, 1, 4});
  REQUIRE(g3.to_vector<std::int64_t>() == std::vector<std::int64_t>{8, 1, 6, 7, 20, 13, 18, 19});
  // 0-dim x and index.
  REQUIRE(gather(scalar_tensor(3.0), 0, scalar_tensor(0, kInt64)).item() == 3.0);
}

TEST_CASE("max and min along a dim use gather for their values", "[index][reduce]") {
  Tensor x = tensor({{1, 7, 3}, {9, 2, 9}});
  auto [v, i] = max(x, 1);
  REQUIRE(v.to_vector<float>() == std::vector<float>{7, 9});
  REQUIRE(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  auto [mv, mi] = min(x, 0, /*keepdim=*/true);
  REQUIRE(mv.shape() == Shape{1, 3});
  REQUIRE(mv.to_vector<float>() == std::vector<float>{1, 2, 3});
  Tensor w = tensor({{1, 7, 3}, {9, 2, 9}}, kFloat64).requires_grad_();
  max(w, 1).first.sum().backward();
  REQUIRE(values(w.grad()) == std::vector<double>{0, 1, 0, 1, 0, 0});
}

TEST_CASE("gather gradients: scatter_add, to first and second order", "[index][grad]") {
  Tensor x = randn64({2, 3});
  gather(x, 1, idx2({{0, 0, 2}, {1, 1, 1}})).sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{2, 0, 1, 0, 3, 0});

  check_gradients([](const auto& in) { return gather(in[0], 1, idx2({{2, 0, 2}, {1, 1, 0}})); },
                  {randn64({2, 3})});
  check_gradients([](const auto& in) { return gather(in[0], 0, idx2({{1, 0}, {2, 2}})); },
                  {transposed64({3, 4})});
  // Sliced inside the function, and an index smaller than x.
  check_gradients(
      [](const auto& in) { return gather(in[0].slice(0, 1, 4), 1, idx2({{3}, {0}})); },
      {randn64({4, 4})});
  // Broadcast: x expanded inside the function.
  check_gradients(
      [](const auto& in) { return gather(in[0].expand({3, 4}), 1, idx2({{0, 3}, {3, 3}, {2, 1}})); },
      {randn64({1, 4})});
  check_second_gradients([](const auto& in) { return gather(in[0] * in[0], 1, idx2({{2, 0}, {1, 1}})); },
                         {randn64({2, 3})});
  check_second_gradients([](const auto& in) { return gather(in[0].t(), 0, idx2({{1, 0, 1}})); },
                         {randn64({3, 2})});
}

TEST_CASE("gather checks its index", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(gather(x, 1, zeros({2, 1})), Contains("gather") && Contains("int64"));
  REQUIRE_THROWS_WITH(gather(x, 1, idx2({{0}, {3}})),
                      Contains("gather") && Contains("index 3") && Contains("size 3"));
  REQUIRE_THROWS_WITH(gather(x, 0, idx2({{0, -2}})), Contains("gather") && Contains("index -2"));
  REQUIRE_THROWS_WITH(gather(x, 1, idx({0, 1})), Contains("gather") && Contains("dims"));
  REQUIRE_THROWS_WITH(gather(x, 1, zeros({3, 1}, kInt64)),
                      Contains("gather") && Contains("[3, 1]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(gather(x, 2, idx2({{0}})), Contains("gather") && Contains("dim 2"));
  // Zero-size: an empty index gives an empty result.
  REQUIRE(gather(x, 1, zeros({2, 0}, kInt64)).shape() == Shape{2, 0});
  REQUIRE(gather(zeros({0, 3}), 0, zeros({0, 3}, kInt64)).shape() == Shape{0, 3});
}

// ---------------------------------------------------------------------------
// scatter_add
// ---------------------------------------------------------------------------

TEST_CASE("scatter_add adds src at the index along one dim", "[index]") {
  // out[index[i][j]][j] += 1: column 0 gets both of its ones in row 0.
  Tensor src = ones({2, 5});
  Tensor index = idx2({{0, 1, 2, 0, 0}, {0, 0, 0, 1, 2}});
  Tensor out = scatter_add(zeros({3, 5}), 0, index, src);
  REQUIRE(out.to_vector<float>() ==
          std::vector<float>{2, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1});
  // dim 1, int64, self not zero.
  Tensor r = scatter_add(full({2, 3}, 10, kInt64), 1, idx2({{2, 2}, {0, 1}}),
                         arange(4).reshape({2, 2}));
  REQUIRE(r.to_vector<std::int64_t>() == std::vector<std::int64_t>{10, 10, 11, 12, 13, 10});
  // Index smaller than self and src: only the covered part of src is read.
  Tensor s = scatter_add(zeros({2, 3}), 1, idx2({{1}}), tensor({{5, 6}, {7, 8}}));
  REQUIRE(s.to_vector<float>() == std::vector<float>{0, 5, 0, 0, 0, 0});
  // Non-contiguous self and src.
  Tensor t = scatter_add(zeros({3, 2}).t(), 0, idx2({{1, 0, 1}}), tensor({1, 2, 3}).reshape({3, 1}).t());
  REQUIRE(t.to_vector<float>() == std::vector<float>{0, 2, 0, 1, 0, 3});
}

TEST_CASE("scatter_add gradients: identity for self, gather for src", "[index][grad]") {
  check_gradients(
      [](const auto& in) { return scatter_add(in[0], 0, idx2({{0, 1, 0}, {0, 0, 1}}), in[1]); },
      {randn64({2, 3}, 1), randn64({2, 3}, 2)});
  // src larger than the index: its uncovered part gets a zero gradient.
  check_gradients(
      [](const auto& in) { return scatter_add(in[0], 1, idx2({{2, 2}}), in[1]); },
      {transposed64({2, 3}), randn64({2, 3}, 3)});
  // self broadcast (expanded inside the function).
  check_gradients(
      [](const auto& in) { return scatter_add(in[0].expand({2, 3}), 1, idx2({{0}, {2}}), in[1]); },
      {randn64({1, 3}, 4), randn64({2, 1}, 5)});
  check_second_gradients(
      [](const auto& in) { return scatter_add(in[0] * in[0], 0, idx2({{1, 1}}), in[1] * in[0].sum()); },
      {randn64({2, 2}, 6), randn64({1, 2}, 7)});
}

TEST_CASE("scatter_add checks shapes, dtypes and indices", "[index][errors]") {
  Tensor self = zeros({2, 3});
  REQUIRE_THROWS_WITH(scatter_add(self, 0, idx2({{2, 0, 0}}), ones({1, 3})),
                      Contains("scatter_add") && Contains("index 2") && Contains("size 2"));
  REQUIRE_THROWS_WITH(scatter_add(self, 0, tensor({{0, 0, 0}}), ones({1, 3})),
                      Contains("scatter_add") && Contains("int64"));
  REQUIRE_THROWS_WITH(scatter_add(self, 0, idx2({{0, 0, 0}}), ones({1, 3}, kFloat64)),
                      Contains("scatter_add") && Contains("float64"));
  REQUIRE_THROWS_WITH(scatter_add(self, 0, idx2({{0, 0, 0}}), ones({1, 2})),
                      Contains("scatter_add") && Contains("[1, 2]"));
  REQUIRE_THROWS_WITH(scatter_add(self, 0, idx({0, 0}), ones({2})),
                      Contains("scatter_add") && Contains("dims"));
  REQUIRE_THROWS_WITH(scatter_add(self, 5, idx2({{0}}), ones({1, 1})),
                      Contains("scatter_add") && Contains("dim 5"));
  REQUIRE(scatter_add(self, 1, zeros({2, 0}, kInt64), ones({2, 0})).to_vector<float>() ==
          std::vector<float>(6, 0.0f));
}

TEST_CASE("index_add, scatter_add and gather are deterministic across thread counts",
          "[index][parallel]") {
  // Big enough to be split across threads; many repeated indices collide.
  Generator gen(3);
  const Tensor src = randn({64, 4096}, kFloat32, gen);
  const Tensor rows = randint(0, 5, {64}, kInt64, gen);
  const Tensor targets = randint(0, 5, {64, 4096}, kInt64, gen);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor a1 = index_add(zeros({5, 4096}), 0, rows, src);
  const Tensor s1 = scatter_add(zeros({5, 4096}), 0, targets, src);
  const Tensor g1 = gather(src, 0, targets);
  set_num_threads(2);
  const Tensor a2 = index_add(zeros({5, 4096}), 0, rows, src);
  const Tensor s2 = scatter_add(zeros({5, 4096}), 0, targets, src);
  const Tensor g2 = gather(src, 0, targets);
  set_num_threads(saved);
  REQUIRE(a1.to_vector<float>() == a2.to_vector<float>());
  REQUIRE(s1.to_vector<float>() == s2.to_vector<float>());
  REQUIRE(g1.to_vector<float>() == g2.to_vector<float>());
  // And right: compare with sums in float64 written out the slow way.
  const auto sv = src.to_vector<double>();
  const auto rv = rows.to_vector<std::int64_t>();
  const auto wv = targets.to_vector<std::int64_t>();
  std::vector<double> ref_a(5 * 4096, 0.0), ref_s(5 * 4096, 0.0);
  for (std::int64_t k = 0; k < 64; ++k)
    for (std::int64_t i = 0; i < 4096; ++i) {
      ref_a[rv[k] * 4096 + i] += sv[k * 4096 + i];
      ref_s[wv[k * 4096 + i] * 4096 + i] += sv[k * 4096 + i];
    }
  // (allclose rather than require_close, which would print these big tensors.)
  REQUIRE(allclose(a1.to(kFloat64), from_vector(ref_a, {5, 4096}), 1e-4, 1e-4));
  REQUIRE(allclose(s1.to(kFloat64), from_vector(ref_s, {5, 4096}), 1e-4, 1e-4));
  REQUIRE(g1.at<float>({7, 100}) == src.at<float>({wv[7 * 4096 + 100], 100}));
}

TEST_CASE("gather and scatter_add along the last dim, split across threads", "[index][parallel]") {
  // max_pool2d's layout: x (N, C, H·W), index (N, C, L), one element per (n, c, l) row.
  // The 21·2001 one-element rows are split in two chunks, the second starting in the
  // middle of an (n, c) row of the index: the kernel's stepped (o, k) must start there.
  Generator gen(5);
  const Tensor x = randn({3, 7, 2500}, kFloat32, gen);
  const Tensor index = randint(0, 2500, {3, 7, 2001}, kInt64, gen);
  const Tensor g = randn({3, 7, 2001}, kFloat32, gen);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor y1 = gather(x, 2, index);
  const Tensor s1 = scatter_add(zeros({3, 7, 2500}), 2, index, g);
  set_num_threads(2);
  const Tensor y2 = gather(x, 2, index);
  const Tensor s2 = scatter_add(zeros({3, 7, 2500}), 2, index, g);
  set_num_threads(saved);
  REQUIRE(y1.to_vector<float>() == y2.to_vector<float>());
  REQUIRE(s1.to_vector<float>() == s2.to_vector<float>());
  // Against plain loops: y[o, k] = x[o, index[o, k]], s[o, index[o, k]] += g[o, k].
  const auto xv = x.to_vector<float>(), gv = g.to_vector<float>();
  const auto iv = index.to_vector<std::int64_t>();
  std::vector<float> ref_y(iv.size());
  std::vector<double> ref_s(3 * 7 * 2500, 0.0);
  for (std::size_t r = 0; r < iv.size(); ++r) {
    const std::size_t o = r / 2001;
    ref_y[r] = xv[o * 2500 + iv[r]];
    ref_s[o * 2500 + iv[r]] += gv[r];
  }
  REQUIRE(y1.to_vector<float>() == ref_y);
  REQUIRE(allclose(s1.to(kFloat64), from_vector(ref_s, {3, 7, 2500}), 1e-5, 1e-5));
}

TEST_CASE("gather's backward adds into fresh zeros every time", "[index][grad]") {
  // The backward scatters straight into the zeros it creates: running it twice must not
  // add to the first result, and accumulating into .grad must still add up.
  Tensor x = randn64({2, 5});
  const Tensor y = gather(x, 1, idx2({{4, 4, 0}, {1, 2, 1}}));
  const Tensor w = tensor({{1, 2, 3}, {4, 5, 6}}, kFloat64);
  const Tensor first = autograd::grad({y}, {x}, {w}, {.retain_graph = true})[0];
  const Tensor second = autograd::grad({y}, {x}, {w}, {.retain_graph = true})[0];
  REQUIRE(values(first) == std::vector<double>{3, 0, 0, 0, 3, 0, 4 + 6, 5, 0, 0});
  REQUIRE(values(second) == values(first));
  (y * w).sum().backward(Tensor(), /*retain_graph=*/true);
  (y * w).sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{6, 0, 0, 0, 6, 0, 20, 10, 0, 0});
}

// ---------------------------------------------------------------------------
// masked_fill
// ---------------------------------------------------------------------------

TEST_CASE("masked_fill writes the value where the mask is true", "[index]") {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor mask = tensor({{1, 0, 0}, {0, 0, 1}}) > 0.5;
  REQUIRE(masked_fill(x, mask, -1).to_vector<float>() == std::vector<float>{-1, 2, 3, 4, 5, -1});
  // A broadcast mask (one row for every row) and -inf, as in attention masks.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor col = tensor({0, 1, 1}) > 0.5;
  Tensor y = masked_fill(x, col, -inf);
  REQUIRE(y.to_vector<float>() ==
          std::vector<float>{1, -INFINITY, -INFINITY, 4, -INFINITY, -INFINITY});
  // Non-contiguous x, int64 and bool.
  REQUIRE(masked_fill(x.t(), tensor({1, 0}) > 0.5, 0).to_vector<float>() ==
          std::vector<float>{0, 4, 0, 5, 0, 6});
  REQUIRE(masked_fill(arange(3), tensor({1, 0, 1}) > 0.5, 7).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{7, 1, 7});
  REQUIRE(masked_fill(tensor({0, 0}) > 0.5, tensor({0, 1}) > 0.5, 1).to_vector<bool>() ==
          std::vector<bool>{false, true});
  REQUIRE(masked_fill(zeros({0, 3}), col, 1).shape() == Shape{0, 3});
}

TEST_CASE("masked_fill gradient is zero where filled", "[index][grad]") {
  Tensor x = randn64({2, 2});
  masked_fill(x, tensor({1, 0}) > 0.5, 5).sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{0, 1, 0, 1});

  const Tensor mask = tensor({{0, 1, 1}, {1, 0, 0}}) > 0.5;
  check_gradients([mask](const auto& in) { return masked_fill(in[0], mask, 3.0); },
                  {randn64({2, 3})});
  check_gradients([](const auto& in) { return masked_fill(in[0], tensor({1, 0}) > 0.5, -2.0); },
                  {transposed64({3, 2})});
  // Broadcast mask and broadcast x (expanded inside the function).
  check_gradients(
      [](const auto& in) { return masked_fill(in[0].expand({3, 2}), tensor({1, 0, 1}).reshape({3, 1}) > 0.5, 0.0); },
      {randn64({1, 2})});
  check_second_gradients([mask](const auto& in) { return masked_fill(in[0] * in[0], mask, 1.0); },
                         {randn64({2, 3})});
}

TEST_CASE("masked_fill checks its mask", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(masked_fill(x, ones({2, 3}), 0), Contains("masked_fill") && Contains("bool"));
  REQUIRE_THROWS_WITH(masked_fill(x, zeros({4}) > 0.5, 0), Contains("masked_fill"));
  REQUIRE_THROWS_WITH(masked_fill(x, zeros({2, 2, 3}) > 0.5, 0),
                      Contains("masked_fill") && Contains("[2, 2, 3]"));
  REQUIRE_THROWS_WITH(masked_fill(arange(3), zeros({3}) > 0.5, 0.5),
                      Contains("masked_fill") && Contains("int64"));
}

// ---------------------------------------------------------------------------
// one_hot
// ---------------------------------------------------------------------------

TEST_CASE("one_hot turns class indices into rows of the identity", "[index]") {
  Tensor h = one_hot(idx({2, 0, 1}), 4);
  REQUIRE(h.dtype() == kInt64);
  REQUIRE(h.shape() == Shape{3, 4});
  REQUIRE(h.to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0});
  // Inferred number of classes (max + 1), a 2-D index, a non-contiguous index.
  REQUIRE(one_hot(idx({1, 3})).shape() == Shape{2, 4});
  Tensor h2 = one_hot(idx2({{0, 1}, {0, 1}}).t());  // [[0, 0], [1, 1]]
  REQUIRE(h2.shape() == Shape{2, 2, 2});
  REQUIRE(h2.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 1, 0, 0, 1, 0, 1});
  REQUIRE(one_hot(scalar_tensor(1, kInt64), 3).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{0, 1, 0});
  REQUIRE(one_hot(zeros({0}, kInt64), 3).shape() == Shape{0, 3});
}

TEST_CASE("one_hot checks its index", "[index][errors]") {
  REQUIRE_THROWS_WITH(one_hot(tensor({0, 1}), 2), Contains("one_hot") && Contains("int64"));
  REQUIRE_THROWS_WITH(one_hot(idx({0, 3}), 3), Contains("one_hot") && Contains("index 3"));
  REQUIRE_THROWS_WITH(one_hot(idx({-1}), 3), Contains("one_hot") && Contains("index -1"));
  REQUIRE_THROWS_WITH(one_hot(zeros({0}, kInt64)), Contains("one_hot") && Contains("empty"));
  REQUIRE_THROWS_WITH(one_hot(idx({0}), -2), Contains("one_hot") && Contains("-2"));
}

// ---------------------------------------------------------------------------
// embedding
// ---------------------------------------------------------------------------

TEST_CASE("embedding looks up rows for an index of any shape", "[index]") {
  Tensor w = tensor({{0, 1}, {10, 11}, {20, 21}});
  Tensor e = embedding(w, idx2({{2, 0}, {1, 2}}));
  REQUIRE(e.shape() == Shape{2, 2, 2});
  REQUIRE(e.to_vector<float>() == std::vector<float>{20, 21, 0, 1, 10, 11, 20, 21});
  REQUIRE(embedding(w, scalar_tensor(1, kInt64)).to_vector<float>() == std::vector<float>{10, 11});
  REQUIRE(embedding(w.t().contiguous().t(), idx({0})).to_vector<float>() == std::vector<float>{0, 1});
  REQUIRE(embedding(w, zeros({3, 0}, kInt64)).shape() == Shape{3, 0, 2});
}

TEST_CASE("embedding gradient rows of repeated indices add up", "[index][grad]") {
  Tensor w = randn64({4, 2});
  Tensor e = embedding(w, idx2({{1, 1}, {3, 1}}));
  (e * tensor({2.0, 3.0}, kFloat64)).sum().backward();
  // Row 1 is used three times, row 3 once; each use contributes (2, 3).
  REQUIRE(values(w.grad()) == std::vector<double>{0, 0, 6, 9, 0, 0, 2, 3});

  check_gradients([](const auto& in) { return embedding(in[0], idx2({{3, 0}, {3, 3}})); },
                  {randn64({4, 3})});
  check_gradients([](const auto& in) { return embedding(in[0], idx({1, 0, 1})); },
                  {transposed64({2, 3})});
}

TEST_CASE("embedding checks its weight and index", "[index][errors]") {
  Tensor w = zeros({5, 2});
  REQUIRE_THROWS_WITH(embedding(w, idx({5})),
                      Contains("embedding") && Contains("index 5") && Contains("size 5"));
  REQUIRE_THROWS_WITH(embedding(w, tensor({1})), Contains("embedding") && Contains("int64"));
  REQUIRE_THROWS_WITH(embedding(zeros({5}), idx({1})), Contains("embedding") && Contains("2-D"));
}

// ---------------------------------------------------------------------------
// topk
// ---------------------------------------------------------------------------

TEST_CASE("topk returns the k largest or smallest values and their indices", "[index]") {
  Tensor x = tensor({{3, 1, 4, 1, 5}, {9, 2, 6, 5, 3}});
  auto [v, i] = topk(x, 2);
  REQUIRE(v.shape() == Shape{2, 2});
  REQUIRE(v.to_vector<float>() == std::vector<float>{5, 4, 9, 6});
  REQUIRE(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 2, 0, 2});
  // Smallest; a tie (the two 1s) keeps the first index first.
  auto [sv, si] = topk(x, 3, 1, /*largest=*/false);
  REQUIRE(sv.to_vector<float>() == std::vector<float>{1, 1, 3, 2, 3, 5});
  REQUIRE(si.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 3, 0, 1, 4, 3});
  // Unsorted: the same k winners, in the order they appear.
  auto [uv, ui] = topk(x, 3, 1, true, /*sorted=*/false);
  REQUIRE(ui.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 4, 0, 2, 3});
  REQUIRE(uv.to_vector<float>() == std::vector<float>{3, 4, 5, 9, 6, 5});
  // Along dim 0 of a non-contiguous tensor; int64.
  auto [tv, ti] = topk(x.t(), 1, 0);
  REQUIRE(tv.to_vector<float>() == std::vector<float>{5, 9});
  REQUIRE(ti.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 0});
  REQUIRE(topk(arange(5), 2).first.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 3});
  // NaN counts as the largest value.
  auto [nv, ni] = topk(tensor({1, NAN, 2}), 2);
  REQUIRE(ni.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  REQUIRE(std::isnan(nv.to_vector<float>()[0]));
  // k = 0 and the whole dim.
  REQUIRE(topk(x, 0).first.shape() == Shape{2, 0});
  REQUIRE(topk(x, 5).second.to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{4, 2, 0, 1, 3, 0, 2, 3, 4, 1});
  REQUIRE(topk(scalar_tensor(2.0), 1).first.item() == 2.0);
}

TEST_CASE("topk values get their gradient through gather", "[index][grad]") {
  Tensor x = tensor({{3, 1, 4}, {9, 2, 6}}, kFloat64).requires_grad_();
  topk(x, 2, 1).first.sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{1, 0, 1, 1, 0, 1});

  check_gradients([](const auto& in) { return topk(in[0], 2, 1).first; }, {randn64({3, 4})});
  check_gradients([](const auto& in) { return topk(in[0], 2, 0, false, false).first; },
                  {transposed64({3, 4})});
}

TEST_CASE("topk checks k, dim and dtype", "[index][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(topk(x, 4), Contains("topk") && Contains("k 4") && Contains("size 3"));
  REQUIRE_THROWS_WITH(topk(x, -1), Contains("topk") && Contains("k -1"));
  REQUIRE_THROWS_WITH(topk(x, 1, 2), Contains("topk") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(topk(x > 0.0, 1), Contains("topk") && Contains("bool"));
}
