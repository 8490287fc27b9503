// The fused LSTM layer: values and gradients against its composed reference, finite
// differences for both, a hand-computable step, both directions, with and without
// initial states and biases, the second derivatives (through the reference), the errors.
#include <cmath>
#include <tuple>

#include "autograd/ops/lstm.h"
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::randn64;
using test::require_close;

namespace {

/// The three results of an LSTM layer as one vector, so that gradcheck covers the
/// gradients that flow from the output, from h_n and from c_n.
Tensor flat(const std::tuple<Tensor, Tensor, Tensor>& r) {
  const auto& [y, h, c] = r;
  return cat({y.reshape({-1}), h.reshape({-1}), c.reshape({-1})}, 0);
}

/// Inputs of a small layer, T = 3, B = 2, I = 3, H = 2, float64, requiring grad:
/// x, h0, c0, w_ih, w_hh, b_ih, b_hh.
std::vector<Tensor> small_inputs(std::uint64_t seed) {
  return {randn64({3, 2, 3}, seed),     randn64({2, 2}, seed + 1),
          randn64({2, 2}, seed + 2),    randn64({8, 3}, seed + 3) * 0.5,
          randn64({8, 2}, seed + 4) * 0.5, randn64({8}, seed + 5),
          randn64({8}, seed + 6)};
}

/// Leaves again (the scaled weights above are not).
std::vector<Tensor> as_leaves(const std::vector<Tensor>& in) {
  std::vector<Tensor> out;
  for (const auto& t : in) out.push_back(t.detach().clone().requires_grad_());
  return out;
}

}  // namespace

TEST_CASE("lstm_layer: one step worked out by hand", "[lstm]") {
  // H = 1, I = 1, zero weights but for the biases: a^i = a^f = a^o = 0, a^g = atanh(0.5),
  // so i = f = o = 1/2, g = 1/2; from c0 = 1: c = ½·1 + ½·½ = 0.75, h = ½·tanh(0.75).
  const Tensor x = zeros({1, 1, 1}, kFloat64);
  const Tensor w_ih = zeros({4, 1}, kFloat64), w_hh = zeros({4, 1}, kFloat64);
  const Tensor b_ih = tensor({0, 0, std::atanh(0.5), 0}, kFloat64);
  const Tensor c0 = ones({1, 1}, kFloat64);
  for (bool fused : {true, false}) {
    const auto [y, h, c] = fused ? lstm_layer(x, Tensor(), c0, w_ih, w_hh, b_ih, Tensor())
                                 : lstm_layer_reference(x, Tensor(), c0, w_ih, w_hh, b_ih, Tensor());
    require_close(c, full({1, 1}, 0.75, kFloat64));
    require_close(h, full({1, 1}, 0.5 * std::tanh(0.75), kFloat64));
    require_close(y, h.reshape({1, 1, 1}));
  }
}

TEST_CASE("lstm_layer equals its reference in value and gradient", "[lstm]") {
  // T = 5, B = 3, I = 4, H = 3, both directions, with and without states and biases.
  const Tensor x0 = randn64({5, 3, 4}, 11).detach();
  const Tensor h00 = randn64({3, 3}, 12).detach(), c00 = randn64({3, 3}, 13).detach();
  const Tensor wih0 = (randn64({12, 4}, 14) * 0.5).detach();
  const Tensor whh0 = (randn64({12, 3}, 15) * 0.5).detach();
  const Tensor bih0 = randn64({12}, 16).detach(), bhh0 = randn64({12}, 17).detach();
  const Tensor gy = randn64({5, 3, 3}, 18).detach();
  const Tensor gh = randn64({3, 3}, 19).detach(), gc = randn64({3, 3}, 20).detach();
  for (bool reverse : {false, true})
    for (bool with_state : {false, true})
      for (bool with_bias : {false, true}) {
        INFO("reverse " << reverse << ", states " << with_state << ", biases " << with_bias);
        auto run = [&](bool fused) {
          std::vector<Tensor> in = {x0, h00, c00, wih0, whh0, bih0, bhh0};
          for (auto& t : in) t = t.clone().requires_grad_();
          if (!with_state) in[1] = in[2] = Tensor();
          if (!with_bias) in[5] = in[6] = Tensor();
          const auto r = fused ? lstm_layer(in[0], in[1], in[2], in[3], in[4], in[5], in[6], reverse)
                               : lstm_layer_reference(in[0], in[1], in[2], in[3], in[4], in[5],
                                                      in[6], reverse);
          const auto& [y, h, c] = r;
          autograd::backward({y, h, c}, {gy, gh, gc});
          std::vector<Tensor> out = {y.detach(), h.detach(), c.detach()};
          for (const auto& t : in) out.push_back(t.defined() ? t.grad() : Tensor());
          return out;
        };
        const auto expected = run(false), got = run(true);
        for (std::size_t k = 0; k < got.size(); ++k) {
          INFO("result " << k);
          REQUIRE(got[k].defined() == expected[k].defined());
          if (got[k].defined()) require_close(got[k], expected[k], 1e-10, 1e-12);
        }
      }
}

TEST_CASE("lstm_layer: float32 matches float64", "[lstm]") {
  const auto in = small_inputs(40);
  const auto [y64, h64, c64] = lstm_layer(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
  std::vector<Tensor> f;
  for (const auto& t : in) f.push_back(t.detach().to(kFloat32));
  const auto [y32, h32, c32] = lstm_layer(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
  REQUIRE(y32.dtype() == kFloat32);
  REQUIRE(allclose(y32.to(kFloat64), y64.detach(), 1e-5, 1e-5));
  REQUIRE(allclose(c32.to(kFloat64), c64.detach(), 1e-5, 1e-5));
}

TEST_CASE("lstm_layer gradients match finite differences", "[lstm]") {
  for (bool reverse : {false, true}) {
    INFO("reverse " << reverse);
    test::check_gradients(
        [reverse](const std::vector<Tensor>& in) {
          return flat(lstm_layer(in[0], in[1], in[2], in[3], in[4], in[5], in[6], reverse));
        },
        as_leaves(small_inputs(50)));
    test::check_gradients(
        [reverse](const std::vector<Tensor>& in) {
          return flat(lstm_layer_reference(in[0], in[1], in[2], in[3], in[4], in[5], in[6], reverse));
        },
        as_leaves(small_inputs(60)));
  }
  // Without initial states and biases.
  const auto in = as_leaves(small_inputs(70));
  test::check_gradients(
      [](const std::vector<Tensor>& v) {
        return flat(lstm_layer(v[0], Tensor(), Tensor(), v[1], v[2], Tensor(), Tensor()));
      },
      {in[0], in[3], in[4]});
}

TEST_CASE("lstm_layer second derivatives go through the reference", "[lstm]") {
  // T = 2, B = 1, I = 2, H = 1: small, since gradgradcheck perturbs every element.
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        return flat(lstm_layer(in[0], in[1], in[2], in[3], in[4], in[5], Tensor()));
      },
      {randn64({2, 1, 2}, 80), randn64({1, 1}, 81), randn64({1, 1}, 82), randn64({4, 2}, 83),
       randn64({4, 1}, 84), randn64({4}, 85)});
}

TEST_CASE("lstm_layer: only the weights want gradients", "[lstm]") {
  // The first layer of a network: x is data. Its gradient is skipped, the others agree.
  const auto in = as_leaves(small_inputs(90));
  const Tensor x = in[0].detach();
  const auto [y, h, c] = lstm_layer(x, Tensor(), Tensor(), in[3], in[4], in[5], in[6]);
  y.sum().backward();
  const auto [yr, hr, cr] = lstm_layer_reference(x, Tensor(), Tensor(), in[3].detach(),
                                                 in[4].detach(), in[5].detach(), in[6].detach());
  REQUIRE(allclose(y.detach(), yr, 1e-12, 1e-12));
  REQUIRE(in[3].grad().defined());
  REQUIRE(allclose(in[5].grad(), in[6].grad(), 0, 0));  // b̄_ih = b̄_hh
}

TEST_CASE("lstm_layer rejects wrong shapes and dtypes", "[lstm]") {
  const Tensor x = zeros({3, 2, 4}), w_ih = zeros({8, 4}), w_hh = zeros({8, 2});
  REQUIRE_THROWS_WITH(lstm_layer(zeros({2, 4}), Tensor(), Tensor(), w_ih, w_hh, Tensor(), Tensor()),
                      Contains("lstm_layer") && Contains("(T, B, I)"));
  REQUIRE_THROWS_WITH(lstm_layer(x, Tensor(), Tensor(), zeros({8, 3}), w_hh, Tensor(), Tensor()),
                      Contains("weight_ih must be (4H, I)"));
  REQUIRE_THROWS_WITH(lstm_layer(x, Tensor(), Tensor(), w_ih, zeros({6, 2}), Tensor(), Tensor()),
                      Contains("weight_hh must be (4H, H)"));
  REQUIRE_THROWS_WITH(lstm_layer(x, zeros({3, 2}), Tensor(), w_ih, w_hh, Tensor(), Tensor()),
                      Contains("initial states"));
  REQUIRE_THROWS_WITH(lstm_layer(x, Tensor(), Tensor(), w_ih.to(kFloat64), w_hh, Tensor(), Tensor()),
                      Contains("dtype"));
}

TEST_CASE("lstm_layer gives the same numbers at 1 and 2 threads", "[lstm]") {
  // B = 1100 sequences of H = 4 units: the fused passes split the rows over threads.
  const Tensor x0 = randn64({3, 1100, 2}, 100).detach();
  const Tensor w_ih = (randn64({16, 2}, 101) * 0.5).detach(), w_hh = (randn64({16, 4}, 102) * 0.5).detach();
  const Tensor b = randn64({16}, 103).detach();
  auto run = [&] {
    Tensor x = x0.clone().requires_grad_(), w = w_hh.clone().requires_grad_();
    const auto [y, h, c] = lstm_layer(x, Tensor(), Tensor(), w_ih, w, b, Tensor());
    (square(y).sum() + c.sum()).backward();
    return std::vector<Tensor>{y.detach(), c.detach(), x.grad(), w.grad()};
  };
  const int saved = num_threads();
  set_num_threads(1);
  const auto one = run();
  set_num_threads(2);
  const auto two = run();
  set_num_threads(saved);
  for (std::size_t k = 0; k < one.size(); ++k) require_close(two[k], one[k], 1e-13, 1e-13);
}
