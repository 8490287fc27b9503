// Joining and splitting: cat, stack, split, chunk. Known values by hand, float64
// gradient checks (first and second order, with non-contiguous inputs), error
// messages, zero-size cases.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using zoo::test::check_gradients;
using zoo::test::check_second_gradients;
using zoo::test::randn64;

namespace {

/// A float64 leaf that requires grad and is not contiguous (a transpose).
Tensor transposed64(const Shape& shape, std::uint64_t seed = 11) {
  Generator gen(seed);
  Tensor t = randn({shape[1], shape[0]}, kFloat64, gen).t();
  t.requires_grad_();
  return t;
}
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
std::vector<Shape> shapes_of(const std::vector<Tensor>& ts) {
  std::vector<Shape> out;
  for (const auto& t : ts) out.push_back(t.shape());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// cat
// ---------------------------------------------------------------------------

TEST_CASE("cat joins along an existing dim", "[join]") {
  Tensor a = tensor({{1, 2}, {3, 4}});
  Tensor b = tensor({{5, 6}});
  Tensor rows = cat({a, b}, 0);
  REQUIRE(rows.shape() == Shape{3, 2});
  REQUIRE(rows.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor cols = cat({a, b.t().expand({2, 1}), a}, -1);
  REQUIRE(cols.shape() == Shape{2, 5});
  REQUIRE(cols.to_vector<float>() == std::vector<float>{1, 2, 5, 1, 2, 3, 4, 6, 3, 4});
  // Non-contiguous inputs: a.t() is [[1, 3], [2, 4]].
  REQUIRE(cat({a.t(), a.slice(0, 1, 2)}).to_vector<float>() == std::vector<float>{1, 3, 2, 4, 3, 4});
  // int64, bool, and dtype promotion as in PyTorch.
  REQUIRE(cat({arange(2), arange(3)}).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{0, 1, 0, 1, 2});
  REQUIRE(cat({tensor({1}) > 0.5, tensor({0}) > 0.5}).to_vector<bool>() ==
          std::vector<bool>{true, false});
  Tensor mixed = cat({tensor({1.5}), tensor({2.25}, kFloat64), arange(1)});
  REQUIRE(mixed.dtype() == kFloat64);
  REQUIRE(mixed.to_vector<double>() == std::vector<double>{1.5, 2.25, 0});
  // A single tensor is copied, not aliased.
  Tensor c = cat({a});
  REQUIRE(&c.storage() != &a.storage());
  REQUIRE(c.to_vector<float>() == a.to_vector<float>());
}

TEST_CASE("cat handles zero-size pieces and skips 1-D empty tensors", "[join][empty]") {
  Tensor a = tensor({{1, 2}, {3, 4}});
  REQUIRE(cat({zeros({0, 2}), a, zeros({0, 2})}).to_vector<float>() ==
          std::vector<float>{1, 2, 3, 4});
  REQUIRE(cat({a, zeros({2, 0})}, 1).shape() == Shape{2, 2});
  // The legacy rule: shape {0} joins anything.
  REQUIRE(cat({zeros({0}), a}).shape() == Shape{2, 2});
  REQUIRE(cat({zeros({0}), zeros({0})}).shape() == Shape{0});
  Tensor w = randn64({2, 2});
  Tensor e = zeros({0}, kFloat64).requires_grad_();
  cat({e, w}).sum().backward();
  REQUIRE(e.grad().shape() == Shape{0});
  REQUIRE(values(w.grad()) == std::vector<double>(4, 1.0));
}

TEST_CASE("cat gradients are slices of the output gradient", "[join][grad]") {
  Tensor a = randn64({2, 2}, 1), b = randn64({1, 2}, 2);
  (cat({a, b}) * tensor({1, 2, 3}, kFloat64).reshape({3, 1})).sum().backward();
  REQUIRE(values(a.grad()) == std::vector<double>{1, 1, 2, 2});
  REQUIRE(values(b.grad()) == std::vector<double>{3, 3});
  // A float32 input of a float64 result gets a float32 gradient.
  Tensor f = tensor({1.0}).requires_grad_();
  cat({f, tensor({2.0}, kFloat64)}).sum().backward();
  REQUIRE(f.grad().dtype() == kFloat32);
  REQUIRE(f.grad().item() == 1.0);

  check_gradients([](const auto& in) { return cat({in[0], in[1], in[0]}, 1); },
                  {randn64({2, 3}, 1), transposed64({2, 2})});
  // Sliced and broadcast inside the function.
  check_gradients(
      [](const auto& in) { return cat({in[0].slice(1, 0, 3, 2), in[1].expand({2, 3})}, -1); },
      {randn64({2, 3}, 3), randn64({1, 3}, 4)});
  check_second_gradients([](const auto& in) { return cat({in[0] * in[1], in[1]}, 0); },
                         {randn64({2, 2}, 5), transposed64({2, 2})});
}

TEST_CASE("cat checks shapes and dims", "[join][errors]") {
  REQUIRE_THROWS_WITH(cat({}), Contains("cat") && Contains("non-empty"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 4})}, 0),
                      Contains("cat") && Contains("[2, 4]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({3})}), Contains("cat") && Contains("dims"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3})}, 2), Contains("cat") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(cat({scalar_tensor(1.0)}), Contains("cat") && Contains("0-dim"));
}

// ---------------------------------------------------------------------------
// stack
// ---------------------------------------------------------------------------

TEST_CASE("stack joins along a new dim", "[join]") {
  Tensor a = tensor({1, 2, 3}), b = tensor({4, 5, 6});
  Tensor s0 = stack({a, b});
  REQUIRE(s0.shape() == Shape{2, 3});
  REQUIRE(s0.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor s1 = stack({a, b}, 1);
  REQUIRE(s1.shape() == Shape{3, 2});
  REQUIRE(s1.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  REQUIRE(stack({a, b}, -1).to_vector<float>() == s1.to_vector<float>());
  // Scalars stack into a vector; matrices into a batch.
  REQUIRE(stack({scalar_tensor(7.0), scalar_tensor(8.0)}).to_vector<float>() ==
          std::vector<float>{7, 8});
  Tensor m = tensor({{1, 2}, {3, 4}});
  Tensor batch = stack({m, m.t()}, 2);
  REQUIRE(batch.shape() == Shape{2, 2, 2});
  REQUIRE(batch.to_vector<float>() == std::vector<float>{1, 1, 2, 3, 3, 2, 4, 4});
  REQUIRE(stack({zeros({0, 2}), zeros({0, 2})}).shape() == Shape{2, 0, 2});
}

TEST_CASE("stack gradients and errors", "[join][grad][errors]") {
  check_gradients([](const auto& in) { return stack({in[0], in[1], in[0]}, 1); },
                  {randn64({2, 3}, 1), transposed64({2, 3})});
  check_second_gradients([](const auto& in) { return stack({in[0] * in[0], in[1]}, 0); },
                         {randn64({3}, 2), randn64({3}, 3)});
  REQUIRE_THROWS_WITH(stack({}), Contains("stack") && Contains("non-empty"));
  REQUIRE_THROWS_WITH(stack({zeros({2}), zeros({3})}),
                      Contains("stack") && Contains("[3]") && Contains("[2]"));
  REQUIRE_THROWS_WITH(stack({zeros({2}), zeros({2})}, 2), Contains("stack") && Contains("dim 2"));
}

// ---------------------------------------------------------------------------
// split and chunk
// ---------------------------------------------------------------------------

TEST_CASE("split cuts into views of a given size", "[join]") {
  Tensor x = arange(10).reshape({5, 2});
  auto pieces = split(x, 2);
  REQUIRE(shapes_of(pieces) == std::vector<Shape>{{2, 2}, {2, 2}, {1, 2}});
  REQUIRE(pieces[1].to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 5, 6, 7});
  REQUIRE(pieces[2].to_vector<std::int64_t>() == std::vector<std::int64_t>{8, 9});
  // Views: writing to a piece writes to x.
  pieces[2].fill_(-1);
  REQUIRE(x.at<std::int64_t>({4, 1}) == -1);
  auto by_sizes = split(x, {1, 0, 4}, 0);
  REQUIRE(shapes_of(by_sizes) == std::vector<Shape>{{1, 2}, {0, 2}, {4, 2}});
  REQUIRE(by_sizes[2].to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 3, 4, 5, 6, 7, -1, -1});
  auto cols = split(x.t(), 3, -1);
  REQUIRE(shapes_of(cols) == std::vector<Shape>{{2, 3}, {2, 2}});
  REQUIRE(cols[1].to_vector<std::int64_t>() == std::vector<std::int64_t>{6, -1, 7, -1});
  // A split size larger than the dim gives one piece; an empty dim one empty piece.
  REQUIRE(split(x, 9).size() == 1);
  REQUIRE(shapes_of(split(zeros({0, 3}), 2)) == std::vector<Shape>{{0, 3}});
}

TEST_CASE("chunk cuts into a number of nearly equal views, as torch.chunk", "[join]") {
  Tensor x = arange(5);
  // ⌈5/4⌉ = 2: pieces 2 + 2 + 1, so only three chunks.
  REQUIRE(shapes_of(chunk(x, 4)) == std::vector<Shape>{{2}, {2}, {1}});
  REQUIRE(shapes_of(chunk(arange(6).reshape({2, 3}), 3, 1)) ==
          std::vector<Shape>{{2, 1}, {2, 1}, {2, 1}});
  REQUIRE(chunk(x, 2)[1].to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 4});
  REQUIRE(chunk(x, 1)[0].to_vector<std::int64_t>() == x.to_vector<std::int64_t>());
  REQUIRE(shapes_of(chunk(zeros({0}), 3)) == std::vector<Shape>{{0}, {0}, {0}});
}

TEST_CASE("split and chunk are differentiable", "[join][grad]") {
  Tensor x = randn64({4});
  auto p = chunk(x, 2);
  (p[0] * 2.0 + p[1] * 3.0).sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{2, 2, 3, 3});

  // Pieces used unevenly (one twice, one not at all) and re-joined.
  check_gradients(
      [](const auto& in) {
        auto s = split(in[0], {1, 2, 1}, 1);
        return cat({s[1] * s[1], s[0], s[1]}, 1);
      },
      {transposed64({2, 4})});
  check_gradients(
      [](const auto& in) {
        auto c = chunk(in[0], 3, 0);
        return c[0] * c[2].sum() + c[1];
      },
      {randn64({6, 2})});
  // Second derivatives flow through the concatenation in the backward.
  check_second_gradients(
      [](const auto& in) {
        auto s = split(in[0], {2, 3}, 0);
        return cat({s[0] * s[0], s[1] * s[1] * s[1]}, 0);
      },
      {randn64({5})});
}

TEST_CASE("the pieces of a split share one backward node", "[join][grad]") {
  // One node for all pieces: a mixture-of-experts layer splits its tokens into dozens of
  // pieces, and one full-size gradient per piece would cost dozens of full-size tensors.
  Tensor x = randn64({5, 2});
  auto pieces = split(x, {2, 0, 3}, 0);
  REQUIRE(pieces[0].grad_fn() == pieces[2].grad_fn());
  REQUIRE(pieces[0].grad_fn()->name() == "split");
  // Only the last piece used: the others' rows get zeros.
  (pieces[2] * 4.0).sum().backward();
  REQUIRE(values(x.grad()) == std::vector<double>{0, 0, 0, 0, 4, 4, 4, 4, 4, 4});
}

TEST_CASE("split and chunk check their arguments", "[join][errors]") {
  Tensor x = zeros({4, 2});
  REQUIRE_THROWS_WITH(split(x, {1, 2}), Contains("split") && Contains("size 4"));
  REQUIRE_THROWS_WITH(split(x, {5, -1}), Contains("split") && Contains("-1"));
  REQUIRE_THROWS_WITH(split(x, 0), Contains("split") && Contains("positive"));
  REQUIRE_THROWS_WITH(split(x, 2, 2), Contains("split") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(split(scalar_tensor(1.0), 1), Contains("split") && Contains("0-dim"));
  REQUIRE_THROWS_WITH(chunk(x, 0), Contains("chunk") && Contains("positive"));
  REQUIRE_THROWS_WITH(chunk(x, 2, -3), Contains("chunk") && Contains("dim -3"));
  REQUIRE_THROWS_WITH(chunk(scalar_tensor(1.0), 1), Contains("chunk") && Contains("0-dim"));
}
