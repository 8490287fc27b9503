// Tensor basics: factories, metadata, element access, views sharing storage, copies,
// dtype conversion and printing.
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

TEST_CASE("factories fill the shapes and values asked for", "[tensor]") {
  Tensor z = zeros({2, 3});
  REQUIRE(z.shape() == Shape{2, 3});
  REQUIRE(z.dtype() == kFloat32);
  REQUIRE(z.strides() == Strides{3, 1});
  REQUIRE(z.to_vector<float>() == std::vector<float>(6, 0.0f));
  REQUIRE(full({2}, 2.5, kFloat64).to_vector<double>() == std::vector<double>{2.5, 2.5});
  REQUIRE(arange(5).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  REQUIRE(arange(1.0, 2.0, 0.25, kFloat64).to_vector<double>() ==
          std::vector<double>{1.0, 1.25, 1.5, 1.75});
  REQUIRE(linspace(0, 1, 5, kFloat64).to_vector<double>() ==
          std::vector<double>{0, 0.25, 0.5, 0.75, 1.0});
  REQUIRE(eye(2, 3).to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0});
  Tensor t = tensor({{1, 2}, {3, 4}});
  REQUIRE(t.at<float>({1, 0}) == 3.0f);
  REQUIRE(t.at<float>({-1, -1}) == 4.0f);
  REQUIRE(scalar_tensor(3.0).dim() == 0);
  REQUIRE(scalar_tensor(3.0).item() == 3.0);
  REQUIRE(from_vector(std::vector<double>{7.0}).shape() == Shape{1});
  REQUIRE(from_vector(std::vector<double>{7.0}, {}).shape() == Shape{});
}

TEST_CASE("random factories are reproducible from a seed and have the right moments",
          "[tensor]") {
  Generator g1(42), g2(42);
  REQUIRE(randn({100}, kFloat64, g1).to_vector<double>() ==
          randn({100}, kFloat64, g2).to_vector<double>());
  Generator g(3);
  Tensor n = randn({20000}, kFloat64, g);
  REQUIRE(mean(n).item() == Approx(0.0).margin(0.03));
  REQUIRE(var(n).item() == Approx(1.0).margin(0.03));
  Tensor u = rand({20000}, kFloat64, g);
  REQUIRE(amin(u).item() >= 0.0);
  REQUIRE(amax(u).item() < 1.0);
  REQUIRE(mean(u).item() == Approx(0.5).margin(0.01));
  Tensor r = randint(3, 7, {1000}, kInt64, g);
  REQUIRE(amin(r).item() == 3);
  REQUIRE(amax(r).item() == 6);
  auto perm = randperm(10, g).to_vector<std::int64_t>();
  std::sort(perm.begin(), perm.end());
  REQUIRE(perm == arange(10).to_vector<std::int64_t>());
}

TEST_CASE("a generator's state can be saved and restored exactly", "[tensor]") {
  Generator g(9);
  (void)g.normal();
  const std::string state = g.get_state();
  const double a = g.uniform();
  g.set_state(state);
  REQUIRE(g.uniform() == a);
  REQUIRE_THROWS_WITH(g.set_state("nonsense"), Contains("set_state"));
}

TEST_CASE("views share storage with their base", "[tensor][views]") {
  Tensor x = arange(0.0, 12.0, 1.0, kFloat32).reshape({3, 4});
  Tensor t = x.transpose(0, 1);
  REQUIRE(t.shape() == Shape{4, 3});
  REQUIRE(t.strides() == Strides{1, 4});
  REQUIRE_FALSE(t.is_contiguous());
  REQUIRE(&t.storage() == &x.storage());
  REQUIRE(t.at<float>({3, 2}) == 11.0f);

  Tensor s = x.slice(1, 1, 4, 2);  // columns 1 and 3
  REQUIRE(s.shape() == Shape{3, 2});
  REQUIRE(s.to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11});
  Tensor row = x[1];
  REQUIRE(row.to_vector<float>() == std::vector<float>{4, 5, 6, 7});
  row.fill_(0.0);  // writes through to x
  REQUIRE(x.at<float>({1, 2}) == 0.0f);

  Tensor e = tensor({1, 2, 3}).unsqueeze(0).expand({2, 3});
  REQUIRE(e.strides() == Strides{0, 1});
  REQUIRE(e.to_vector<float>() == std::vector<float>{1, 2, 3, 1, 2, 3});
  REQUIRE(x.permute({1, 0}).shape() == Shape{4, 3});
  REQUIRE(x.unsqueeze(1).shape() == Shape{3, 1, 4});
  REQUIRE(x.unsqueeze(-1).shape() == Shape{3, 4, 1});
  REQUIRE(x.unsqueeze(1).squeeze().shape() == Shape{3, 4});
  REQUIRE(x.narrow(0, 1, 2).shape() == Shape{2, 4});
  REQUIRE(x.flatten().shape() == Shape{12});
  REQUIRE(x.view({2, -1}).shape() == Shape{2, 6});
}

TEST_CASE("view refuses an incompatible layout and reshape copies instead", "[tensor][views]") {
  Tensor x = arange(0.0, 6.0, 1.0, kFloat32).reshape({2, 3}).t();
  REQUIRE_THROWS_WITH(x.view({6}), Contains("view") && Contains("reshape"));
  Tensor r = x.reshape({6});
  REQUIRE(r.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  REQUIRE(r.is_contiguous());
  // A transposed tensor whose dims can be split without copying still views.
  Tensor y = arange(0.0, 24.0, 1.0, kFloat32).reshape({2, 3, 4}).transpose(0, 1);
  REQUIRE(y.view({3, 2, 2, 2}).at<float>({1, 1, 0, 1}) == y.at<float>({1, 1, 1}));
}

TEST_CASE("contiguous, clone and to() copy; to() converts dtypes", "[tensor]") {
  Tensor x = tensor({{1.5, -2.5}, {3.0, 4.0}});
  Tensor c = x.clone();
  c.fill_(0.0);
  REQUIRE(x.at<float>({0, 0}) == 1.5f);
  REQUIRE(x.contiguous().is_same(x));
  REQUIRE(x.t().contiguous().to_vector<float>() == std::vector<float>{1.5, 3, -2.5, 4});
  REQUIRE(x.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 3, 4});
  REQUIRE(x.to(kFloat64).dtype() == kFloat64);
  REQUIRE((x > 2.0).dtype() == kBool);
  REQUIRE((x > 2.0).to_vector<bool>() == std::vector<bool>{false, false, true, true});
}

TEST_CASE("bad shapes, dims and indices throw errors that name the op", "[tensor][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(x.view({4}), Contains("view") && Contains("[4]"));
  REQUIRE_THROWS_WITH(x.transpose(0, 2), Contains("transpose") && Contains("out of range"));
  REQUIRE_THROWS_WITH(x.select(0, 2), Contains("select") && Contains("out of range"));
  REQUIRE_THROWS_WITH(x.narrow(1, 2, 2), Contains("narrow"));
  REQUIRE_THROWS_WITH(x.expand({3, 3}), Contains("expand"));
  REQUIRE_THROWS_WITH(x.permute({0, 0}), Contains("permute"));
  REQUIRE_THROWS_WITH(x.item(), Contains("item"));
  REQUIRE_THROWS_WITH(x.at<float>({0, 3}), Contains("out of range"));
  REQUIRE_THROWS_WITH(x.data_ptr<double>(), Contains("float32"));
  REQUIRE_THROWS_WITH(Tensor().shape(), Contains("undefined"));
  REQUIRE_THROWS_WITH(zeros({-1}), Contains("negative"));
  REQUIRE_THROWS_WITH(zeros({2}, kInt64).requires_grad_(), Contains("floating"));
}

TEST_CASE("zero-size tensors work through views and reductions", "[tensor]") {
  Tensor e = zeros({0, 3});
  REQUIRE(e.numel() == 0);
  REQUIRE(e.t().shape() == Shape{3, 0});
  REQUIRE(sum(e).item() == 0.0);
  REQUIRE(sum(e, {0}).shape() == Shape{3});
  REQUIRE((e + 1.0).shape() == Shape{0, 3});
  REQUIRE(to_string(e) == "tensor([], size=(0, 3))");
}

TEST_CASE("printing follows PyTorch's repr", "[tensor][print]") {
  REQUIRE(to_string(tensor({1, 2, 3})) == "tensor([1., 2., 3.])");
  REQUIRE(to_string(tensor({{1.5, 2}, {3, 4}})) ==
          "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])");
  REQUIRE(to_string(arange(3)) == "tensor([0, 1, 2])");
  REQUIRE(to_string(tensor({0.5}, kFloat64)) == "tensor([0.5000], dtype=float64)");
  Tensor w = tensor({1.0, -2.0}).requires_grad_();
  REQUIRE(to_string(w) == "tensor([ 1., -2.], requires_grad=True)");
  REQUIRE(to_string(w * 2.0) == "tensor([ 2., -4.], grad_fn=<mul>)");
  REQUIRE(to_string(tensor({1e-5, 1.0})) == "tensor([1.0000e-05, 1.0000e+00])");
  REQUIRE(to_string(tensor({1.0}) > 0.0) == "tensor([True])");
  REQUIRE(fmt::format("{}", scalar_tensor(2.0)) == "tensor(2.)");
  // Large tensors are summarised with "...".
  REQUIRE_THAT(to_string(arange(2000)), Contains("   0,    1,    2, ...") && Contains("1997, 1998, 1999])"));
}

TEST_CASE("summarised printing aligns every shown row", "[tensor][print]") {
  // The widest values sit in a middle row that is shown, not at the two ends.
  Tensor x = zeros({5, 4096});
  x[2].fill_(-123.5);
  const std::string s = to_string(x);
  REQUIRE_THAT(s, Contains("-123.5000") && Contains("..."));
  REQUIRE_THAT(s, Contains("[   0.0000,    0.0000,    0.0000,  ...") || Contains("[   0.0000,    0.0000,    0.0000, ..."));
}
