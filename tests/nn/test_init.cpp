// The initialisers: gains and fans as PyTorch computes them, the statistics each
// initialiser promises (measured over a big tensor), in-place writes on parameters, and
// reproducibility from a seed.
#include <cmath>

#include "nn/init.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::nn;
using Catch::Matchers::Contains;

namespace {

double mean_of(const Tensor& t) { return mean(t.detach().to(kFloat64)).item(); }
double std_of(const Tensor& t) { return std::sqrt(var(t.detach().to(kFloat64)).item()); }
double max_abs(const Tensor& t) { return amax(abs(t.detach())).item(); }

}  // namespace

TEST_CASE("calculate_gain follows PyTorch", "[init]") {
  REQUIRE(init::calculate_gain("linear") == 1.0);
  REQUIRE(init::calculate_gain("conv2d") == 1.0);
  REQUIRE(init::calculate_gain("sigmoid") == 1.0);
  REQUIRE(init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  REQUIRE(init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  REQUIRE(init::calculate_gain("leaky_relu") == Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
  REQUIRE(init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  // a = √5, the Linear/Conv default: gain² = 2/6 = 1/3.
  REQUIRE(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));
  REQUIRE(init::calculate_gain("selu") == 0.75);
  REQUIRE_THROWS_WITH(init::calculate_gain("swish"), Contains("'swish'"));
}

TEST_CASE("fan in and fan out", "[init]") {
  // Linear weight (out, in).
  REQUIRE(init::calculate_fan_in_and_fan_out(empty({30, 20})) == std::pair<std::int64_t, std::int64_t>{20, 30});
  // Conv2d weight (O, C, kh, kw): the receptive field multiplies both.
  REQUIRE(init::calculate_fan_in_and_fan_out(empty({16, 3, 5, 5})) ==
          std::pair<std::int64_t, std::int64_t>{75, 400});
  REQUIRE_THROWS_WITH(init::calculate_fan_in_and_fan_out(empty({5})), Contains("[5]"));
  REQUIRE_THROWS_WITH(init::kaiming_uniform_(empty({5})), Contains("kaiming_uniform_") &&
                                                            Contains("[5]"));
}

TEST_CASE("uniform_, normal_ and constants", "[init]") {
  Generator gen(1);
  const Tensor u = init::uniform_(empty({200000}), -2.0, 3.0, gen);
  REQUIRE(amin(u).item() >= -2.0);
  REQUIRE(amax(u).item() < 3.0);
  REQUIRE(std::fabs(mean_of(u) - 0.5) < 0.02);
  REQUIRE(std::fabs(std_of(u) - 5 / std::sqrt(12.0)) < 0.01);

  const Tensor n = init::normal_(empty({200000}, kFloat64), 1.0, 0.5, gen);
  REQUIRE(std::fabs(mean_of(n) - 1.0) < 0.01);
  REQUIRE(std::fabs(std_of(n) - 0.5) < 0.01);

  REQUIRE(allclose(init::constant_(empty({3}), 2.5), full({3}, 2.5), 0, 0));
  REQUIRE(allclose(init::zeros_(ones({3})), zeros({3}), 0, 0));
  REQUIRE(allclose(init::ones_(zeros({3})), ones({3}), 0, 0));
  REQUIRE_THROWS_WITH(init::uniform_(zeros({3}, kInt64)), Contains("floating") && Contains("int64"));
  REQUIRE_THROWS_WITH(init::uniform_(zeros({3}), 1.0, 0.0), Contains("lower bound"));
}

TEST_CASE("kaiming_uniform_ and kaiming_normal_ scale by gain/sqrt(fan)", "[init]") {
  Generator gen(2);
  // ReLU, fan_in = 256: std = √2/16, bound = √3 · std.
  const Tensor w = init::kaiming_uniform_(empty({512, 256}), 0.0, init::FanMode::FanIn, "relu", gen);
  const double bound = std::sqrt(3.0) * std::sqrt(2.0) / 16.0;
  REQUIRE(max_abs(w) <= bound);
  REQUIRE(max_abs(w) > 0.999 * bound);
  REQUIRE(std::fabs(std_of(w) - bound / std::sqrt(3.0)) < 0.01 * bound);
  // fan_out = 512 for the same shape.
  const Tensor wo =
      init::kaiming_uniform_(empty({512, 256}), 0.0, init::FanMode::FanOut, "relu", gen);
  REQUIRE(max_abs(wo) <= bound / std::sqrt(2.0));
  REQUIRE(max_abs(wo) > 0.999 * bound / std::sqrt(2.0));
  // PyTorch's Linear default, a = √5: bound 1/√fan_in.
  const Tensor wl = init::kaiming_uniform_(empty({64, 100}), std::sqrt(5.0));
  REQUIRE(max_abs(wl) <= 0.1 + 1e-7);
  REQUIRE(max_abs(wl) > 0.099);

  // Normal: conv weight, fan_in = 8·3·3 = 72, leaky_relu slope 0.2.
  const Tensor c = init::kaiming_normal_(empty({256, 8, 3, 3}), 0.2, init::FanMode::FanIn,
                                         "leaky_relu", gen);
  const double expected = std::sqrt(2.0 / 1.04) / std::sqrt(72.0);
  REQUIRE(std::fabs(std_of(c) - expected) < 0.02 * expected);
  REQUIRE(std::fabs(mean_of(c)) < 0.02 * expected);
}

TEST_CASE("xavier_uniform_ and xavier_normal_ balance fan in and out", "[init]") {
  Generator gen(3);
  // fan_in 300, fan_out 500: std = gain · √(2/800) = gain / 20.
  const Tensor u = init::xavier_uniform_(empty({500, 300}), 1.0, gen);
  REQUIRE(max_abs(u) <= std::sqrt(6.0 / 800.0));
  REQUIRE(std::fabs(std_of(u) - 0.05) < 0.02 * 0.05);
  const Tensor n = init::xavier_normal_(empty({500, 300}), 2.0, gen);
  REQUIRE(std::fabs(std_of(n) - 0.1) < 0.02 * 0.1);
  REQUIRE(std::fabs(mean_of(n)) < 0.002);
}

TEST_CASE("initialisers are reproducible and write in place", "[init]") {
  Generator a(42), b(42), c(43);
  const Tensor x = init::xavier_uniform_(empty({10, 10}), 1.0, a);
  const Tensor y = init::xavier_uniform_(empty({10, 10}), 1.0, b);
  const Tensor z = init::xavier_uniform_(empty({10, 10}), 1.0, c);
  REQUIRE(allclose(x, y, 0, 0));
  REQUIRE_FALSE(allclose(x, z, 0, 0));
  // The default generator follows manual_seed.
  manual_seed(5);
  const Tensor d1 = init::normal_(empty({8}));
  manual_seed(5);
  REQUIRE(allclose(init::normal_(empty({8})), d1, 0, 0));

  // A parameter (a leaf that requires grad) is filled in place, without a graph.
  Tensor p = zeros({4, 3}).requires_grad_();
  const Tensor handle = p;
  const Tensor out = init::kaiming_normal_(p);
  REQUIRE(out.is_same(p));
  REQUIRE(max_abs(handle) > 0);
  REQUIRE(p.is_leaf());
  REQUIRE(p.requires_grad());
  // A view writes through to its base.
  Tensor base = zeros({4, 4});
  init::ones_(base.narrow(0, 1, 2));
  REQUIRE(sum(base).item() == 8);
}
