// The recurrent layers: PyTorch's parameter names and shapes, the initialisation, the
// shapes of outputs and states (batch-first, bidirectional, unbatched), values worked out
// by hand, layers against their cells stepped by hand, the fused LSTM against the
// composed one, float64 gradient checks with initial states, dropout between layers,
// and the errors.
#include <cmath>
#include <string>
#include <tuple>

#include "nn/layers.h"
#include "nn/layers/rnn.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::nn;
using Catch::Matchers::Contains;
using test::randn64;
using test::require_close;

namespace {

/// Overwrites a parameter with `values` (unrecorded, as an optimizer would).
void set(Tensor param, const Tensor& values) {
  NoGradGuard no_grad;
  param.copy_(values);
}

/// Names and shapes of a module's parameters: "weight_ih[3, 2] weight_hh[3, 3] ...".
std::string param_shapes(const Module& m) {
  std::string out;
  for (const auto& [name, p] : m.named_parameters())
    out += (out.empty() ? "" : " ") + name + fmt::format("{}", p.shape());
  return out;
}

/// Every parameter of `m`, to hand to gradcheck as inputs.
std::vector<Tensor> with_params(std::vector<Tensor> inputs, const Module& m) {
  for (const auto& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

/// The largest |value| of every parameter of `m`.
double max_abs_param(const Module& m) {
  double out = 0;
  for (const auto& p : m.parameters()) out = std::max(out, amax(abs(p.detach())).item());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// cells
// ---------------------------------------------------------------------------

TEST_CASE("RNN cells: names, shapes, init", "[layers][rnn]") {
  manual_seed(3);
  RNNCell rnn(4, 5);
  LSTMCell lstm(4, 5);
  GRUCell gru(GRUCellOptions(4, 5).bias(false));
  REQUIRE(param_shapes(rnn) == "weight_ih[5, 4] weight_hh[5, 5] bias_ih[5] bias_hh[5]");
  REQUIRE(param_shapes(lstm) == "weight_ih[20, 4] weight_hh[20, 5] bias_ih[20] bias_hh[20]");
  REQUIRE(param_shapes(gru) == "weight_ih[15, 4] weight_hh[15, 5]");
  // PyTorch's init: every parameter from U(±1/√H).
  const double bound = 1 / std::sqrt(5.0);
  for (const Module* m : {static_cast<Module*>(&rnn), static_cast<Module*>(&lstm)}) {
    REQUIRE(max_abs_param(*m) <= bound);
    REQUIRE(max_abs_param(*m) > 0.8 * bound);
  }
  REQUIRE(rnn(zeros({3, 4})).shape() == Shape{3, 5});
  REQUIRE(rnn(zeros({4})).shape() == Shape{5});  // unbatched
  const auto [h, c] = lstm.forward(zeros({3, 4}));
  REQUIRE(h.shape() == Shape{3, 5});
  REQUIRE(c.shape() == Shape{3, 5});
  REQUIRE(gru.forward(zeros({4}), zeros({5})).shape() == Shape{5});
  REQUIRE(to_string(lstm) == "LSTMCell(4, 5)");
  REQUIRE(to_string(RNNCell(RNNCellOptions(2, 3).nonlinearity("relu").bias(false))) ==
          "RNNCell(2, 3, bias=False, nonlinearity=relu)");
}

TEST_CASE("RNN cells: values worked out by hand", "[layers][rnn]") {
  // RNNCell, H = I = 1: h' = tanh(w_ih x + b_ih + w_hh h + b_hh) = tanh(2·1 + 0.5 + 3·(−1) + 0)
  RNNCell rnn(1, 1);
  rnn.to(kFloat64);
  set(rnn.weight_ih, full({1, 1}, 2, kFloat64));
  set(rnn.weight_hh, full({1, 1}, 3, kFloat64));
  set(rnn.bias_ih, tensor({0.5}));
  set(rnn.bias_hh, tensor({0}));
  require_close(rnn.forward(full({1, 1}, 1, kFloat64), full({1, 1}, -1, kFloat64)),
                full({1, 1}, std::tanh(-0.5), kFloat64));
  RNNCell relu_cell(RNNCellOptions(1, 1).nonlinearity("relu"));
  relu_cell.to(kFloat64);
  relu_cell.load_state_dict(rnn.state_dict());
  require_close(relu_cell.forward(full({1, 1}, 1, kFloat64), full({1, 1}, -1, kFloat64)),
                full({1, 1}, 0, kFloat64));

  // LSTMCell with zero weights: the gates are σ or tanh of the biases alone.
  // b = (i, f, g, o) = (0, ln 3, atanh ½, 0): i = ½, f = ¾, g = ½, o = ½;
  // c' = ¾·2 + ½·½ = 1.75, h' = ½ tanh(1.75).
  LSTMCell lstm(2, 1);
  lstm.to(kFloat64);
  set(lstm.weight_ih, zeros({4, 2}, kFloat64));
  set(lstm.weight_hh, zeros({4, 1}, kFloat64));
  set(lstm.bias_ih, tensor({0, std::log(3.0), std::atanh(0.5), 0}, kFloat64));
  set(lstm.bias_hh, zeros({4}, kFloat64));
  const auto [h, c] = lstm.forward(randn64({1, 2}).detach(),
                                   {ones({1, 1}, kFloat64), full({1, 1}, 2.0, kFloat64)});
  require_close(c, full({1, 1}, 1.75, kFloat64));
  require_close(h, full({1, 1}, 0.5 * std::tanh(1.75), kFloat64));

  // GRUCell with zero weights, biases b_ih = (r, z, n) = (0, ln 3, 0), b_hh = (0, 0, 2):
  // r = ½, z = ¾, n = tanh(0 + ½·2) = tanh 1, h' = ¼ tanh 1 + ¾ h.
  GRUCell gru(2, 1);
  gru.to(kFloat64);
  set(gru.weight_ih, zeros({3, 2}, kFloat64));
  set(gru.weight_hh, zeros({3, 1}, kFloat64));
  set(gru.bias_ih, tensor({0, std::log(3.0), 0}, kFloat64));
  set(gru.bias_hh, tensor({0, 0, 2}, kFloat64));
  require_close(gru.forward(randn64({1, 2}).detach(), full({1, 1}, 4.0, kFloat64)),
                full({1, 1}, 0.25 * std::tanh(1.0) + 3.0, kFloat64));
}

TEST_CASE("RNN cells: gradients with initial states", "[layers][rnn]") {
  RNNCell rnn(3, 2);
  rnn.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return rnn.forward(in[0], in[1]); },
                        with_params({randn64({2, 3}, 1), randn64({2, 2}, 2)}, rnn));
  LSTMCell lstm(3, 2);
  lstm.to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        const auto [h, c] = lstm.forward(in[0], {in[1], in[2]});
        return cat({h, c}, 1);
      },
      with_params({randn64({2, 3}, 3), randn64({2, 2}, 4), randn64({2, 2}, 5)}, lstm));
  GRUCell gru(3, 2);
  gru.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return gru.forward(in[0], in[1]); },
                        with_params({randn64({2, 3}, 6), randn64({2, 2}, 7)}, gru));
}

// ---------------------------------------------------------------------------
// sequence layers
// ---------------------------------------------------------------------------

TEST_CASE("RNN, LSTM, GRU: names, shapes, init", "[layers][rnn]") {
  manual_seed(4);
  LSTM lstm(LSTMOptions(3, 4).num_layers(2).bidirectional(true));
  REQUIRE(param_shapes(lstm) ==
          "weight_ih_l0[16, 3] weight_hh_l0[16, 4] bias_ih_l0[16] bias_hh_l0[16] "
          "weight_ih_l0_reverse[16, 3] weight_hh_l0_reverse[16, 4] bias_ih_l0_reverse[16] "
          "bias_hh_l0_reverse[16] "
          "weight_ih_l1[16, 8] weight_hh_l1[16, 4] bias_ih_l1[16] bias_hh_l1[16] "
          "weight_ih_l1_reverse[16, 8] weight_hh_l1_reverse[16, 4] bias_ih_l1_reverse[16] "
          "bias_hh_l1_reverse[16]");
  REQUIRE(max_abs_param(lstm) <= 0.5);  // U(±1/√4)
  REQUIRE(max_abs_param(lstm) > 0.45);
  REQUIRE(param_shapes(GRU(GRUOptions(3, 4).bias(false))) == "weight_ih_l0[12, 3] weight_hh_l0[12, 4]");
  REQUIRE(param_shapes(RNN(3, 4)) ==
          "weight_ih_l0[4, 3] weight_hh_l0[4, 4] bias_ih_l0[4] bias_hh_l0[4]");
  REQUIRE(to_string(lstm) == "LSTM(3, 4, num_layers=2, bidirectional=True)");
  REQUIRE(to_string(GRU(GRUOptions(3, 4).batch_first(true).dropout(0.5))) ==
          "GRU(3, 4, batch_first=True, dropout=0.5)");

  // (T, B, I) = (5, 2, 3) -> output (5, 2, D·H), states (L·D, B, H).
  const auto [y, state] = lstm.forward(zeros({5, 2, 3}));
  const auto [h, c] = state;
  REQUIRE(y.shape() == Shape{5, 2, 8});
  REQUIRE(h.shape() == Shape{4, 2, 4});
  REQUIRE(c.shape() == Shape{4, 2, 4});
  GRU gru(GRUOptions(3, 4).num_layers(3).batch_first(true));
  const auto [gy, gh] = gru.forward(zeros({2, 5, 3}));  // (B, T, I)
  REQUIRE(gy.shape() == Shape{2, 5, 4});
  REQUIRE(gh.shape() == Shape{3, 2, 4});
  RNN rnn(RNNOptions(3, 4).bidirectional(true));
  const auto [ry, rh] = rnn.forward(zeros({5, 3}));  // unbatched (T, I)
  REQUIRE(ry.shape() == Shape{5, 8});
  REQUIRE(rh.shape() == Shape{2, 4});
}

TEST_CASE("RNN, LSTM, GRU: a layer is its cell stepped over the sequence", "[layers][rnn]") {
  // One layer, one direction, with an initial state: the layer's output at every step
  // and its final state equal a loop over the cell with the same weights; the reverse
  // direction of a bidirectional layer is the cell run from the last step to the first.
  const Tensor x = randn64({4, 2, 3}, 21).detach();
  const Tensor h0 = randn64({2, 2, 2}, 22).detach(), c0 = randn64({2, 2, 2}, 23).detach();
  auto copy_weights = [](Module& cell, const std::vector<Tensor>& w) {
    auto* base = dynamic_cast<RNNCellBase*>(&cell);
    set(base->weight_ih, w[0]);
    set(base->weight_hh, w[1]);
    set(base->bias_ih, w[2]);
    set(base->bias_hh, w[3]);
  };
  // A layer with one state (RNN, GRU) against a fresh cell from `make_cell`, per direction.
  auto check_one_state = [&](auto& layer, const auto& make_cell) {
    layer.to(kFloat64);
    const auto [y, h] = layer.forward(x, h0);
    for (std::int64_t d = 0; d < 2; ++d) {
      auto cell = make_cell();
      cell->to(kFloat64);
      copy_weights(*cell, layer.all_weights[static_cast<std::size_t>(d)]);
      Tensor state = h0[d];
      for (std::int64_t s = 0; s < 4; ++s) {
        const std::int64_t t = d == 0 ? s : 3 - s;
        state = cell->forward(x[t], state);
        require_close(y[t].narrow(1, 2 * d, 2), state);
      }
      require_close(h[d], state);
    }
  };
  SECTION("RNN") {
    RNN layer(RNNOptions(3, 2).nonlinearity("relu").bidirectional(true));
    check_one_state(layer, [] {
      return std::make_shared<RNNCell>(RNNCellOptions(3, 2).nonlinearity("relu"));
    });
  }
  SECTION("LSTM, fused and composed") {
    for (bool fused : {true, false}) {
      LSTM layer(LSTMOptions(3, 2).bidirectional(true).fused(fused));
      layer.to(kFloat64);
      const auto [y, state] = layer.forward(x, {h0, c0});
      const auto [h, c] = state;
      for (std::int64_t d = 0; d < 2; ++d) {
        LSTMCell cell(3, 2);
        cell.to(kFloat64);
        copy_weights(cell, layer.all_weights[static_cast<std::size_t>(d)]);
        Tensor hs = h0[d], cs = c0[d];
        for (std::int64_t s = 0; s < 4; ++s) {
          const std::int64_t t = d == 0 ? s : 3 - s;
          std::tie(hs, cs) = cell.forward(x[t], {hs, cs});
          require_close(y[t].narrow(1, 2 * d, 2), hs);
        }
        require_close(h[d], hs);
        require_close(c[d], cs);
      }
    }
  }
  SECTION("GRU") {
    GRU layer(GRUOptions(3, 2).bidirectional(true));
    check_one_state(layer, [] { return std::make_shared<GRUCell>(3, 2); });
  }
}

TEST_CASE("RNN, LSTM, GRU: batch_first is a transpose", "[layers][rnn]") {
  const Tensor x = randn64({4, 3, 2}, 31).detach();  // (T, B, I)
  LSTM a(LSTMOptions(2, 3).num_layers(2));
  LSTM b(LSTMOptions(2, 3).num_layers(2).batch_first(true));
  a.to(kFloat64);
  b.to(kFloat64);
  b.load_state_dict(a.state_dict());
  const auto [ya, sa] = a.forward(x);
  const auto [yb, sb] = b.forward(x.transpose(0, 1));
  require_close(yb, ya.transpose(0, 1));
  require_close(std::get<0>(sb), std::get<0>(sa));
  require_close(std::get<1>(sb), std::get<1>(sa));
}

TEST_CASE("RNN, LSTM, GRU: calling a layer runs its forward, as in PyTorch", "[layers][rnn]") {
  const Tensor x = randn64({4, 3, 2}, 32).detach();
  LSTM lstm(2, 3);
  GRU gru(2, 3);
  RNN rnn(2, 3);
  LSTMCell cell(2, 3);
  for (Module* m : std::vector<Module*>{&lstm, &gru, &rnn, &cell}) m->to(kFloat64);
  const auto [y, state] = lstm(x);  // output, (h_n, c_n)
  require_close(y, std::get<0>(lstm.forward(x)));
  require_close(std::get<1>(state), std::get<1>(std::get<1>(lstm.forward(x))));
  require_close(std::get<0>(gru(x)), std::get<0>(gru.forward(x)));
  require_close(std::get<1>(rnn(x)), std::get<1>(rnn.forward(x)));
  require_close(std::get<1>(cell(x[0])), std::get<1>(cell.forward(x[0])));
}

TEST_CASE("RNN, LSTM, GRU: gradients with initial states", "[layers][rnn]") {
  // Two layers, bidirectional, batch-first, T = 3, B = 2, I = 2, H = 2, float64: the
  // input, the initial states and every parameter.
  const Tensor x = randn64({2, 3, 2}, 41);
  const Tensor h0 = randn64({4, 2, 2}, 42), c0 = randn64({4, 2, 2}, 43);
  SECTION("RNN") {
    RNN rnn(RNNOptions(2, 2).num_layers(2).bidirectional(true).batch_first(true));
    rnn.to(kFloat64);
    test::check_gradients(
        [&](const std::vector<Tensor>& in) {
          const auto [y, h] = rnn.forward(in[0], in[1]);
          return cat({y.reshape({-1}), h.reshape({-1})}, 0);
        },
        with_params({x, h0}, rnn));
  }
  SECTION("LSTM, fused and composed") {
    for (bool fused : {true, false}) {
      LSTM lstm(LSTMOptions(2, 2).num_layers(2).bidirectional(true).batch_first(true).fused(fused));
      lstm.to(kFloat64);
      test::check_gradients(
          [&](const std::vector<Tensor>& in) {
            const auto [y, state] = lstm.forward(in[0], {in[1], in[2]});
            const auto [h, c] = state;
            return cat({y.reshape({-1}), h.reshape({-1}), c.reshape({-1})}, 0);
          },
          with_params({x, h0, c0}, lstm));
    }
  }
  SECTION("GRU") {
    GRU gru(GRUOptions(2, 2).num_layers(2).bidirectional(true).batch_first(true));
    gru.to(kFloat64);
    test::check_gradients(
        [&](const std::vector<Tensor>& in) {
          const auto [y, h] = gru.forward(in[0], in[1]);
          return cat({y.reshape({-1}), h.reshape({-1})}, 0);
        },
        with_params({x, h0}, gru));
  }
}

TEST_CASE("LSTM: fused and composed agree on a deep stack", "[layers][rnn]") {
  // Three layers, bidirectional, batch-first, 6 steps: values and every gradient.
  const Tensor x0 = randn64({3, 6, 4}, 51).detach();
  const Tensor h0 = randn64({6, 3, 5}, 52).detach(), c0 = randn64({6, 3, 5}, 53).detach();
  LSTM fused(LSTMOptions(4, 5).num_layers(3).bidirectional(true).batch_first(true));
  LSTM composed(LSTMOptions(4, 5).num_layers(3).bidirectional(true).batch_first(true).fused(false));
  fused.to(kFloat64);
  composed.to(kFloat64);
  composed.load_state_dict(fused.state_dict());
  auto run = [&](LSTM& m) {
    Tensor x = x0.clone().requires_grad_();
    const auto [y, state] = m.forward(x, {h0, c0});
    const auto [h, c] = state;
    (square(y).sum() + h.sum() + 2.0 * c.sum()).backward();
    std::vector<Tensor> out = {y.detach(), h.detach(), c.detach(), x.grad()};
    for (const auto& p : m.parameters()) out.push_back(p.grad());
    return out;
  };
  const auto a = run(fused), b = run(composed);
  for (std::size_t k = 0; k < a.size(); ++k) {
    INFO("result " << k);
    require_close(a[k], b[k], 1e-10, 1e-12);
  }
}

TEST_CASE("RNN, LSTM, GRU: dropout between layers", "[layers][rnn]") {
  const Tensor x = randn64({5, 2, 3}, 61).detach();
  GRU gru(GRUOptions(3, 4).num_layers(2).dropout(0.5));
  GRU plain(GRUOptions(3, 4).num_layers(2));
  gru.to(kFloat64);
  plain.to(kFloat64);
  plain.load_state_dict(gru.state_dict());
  // In evaluation mode dropout is off: the same as without it.
  gru.eval();
  require_close(std::get<0>(gru.forward(x)), std::get<0>(plain.forward(x)));
  // In training mode it changes the second layer's input, and a seeded generator makes
  // it repeatable.
  gru.train();
  Generator gen(5);
  gru.set_generator(&gen);
  const Tensor y1 = std::get<0>(gru.forward(x));
  REQUIRE_FALSE(allclose(y1, std::get<0>(plain.forward(x))));
  gen.manual_seed(5);
  require_close(std::get<0>(gru.forward(x)), y1);
  gru.set_generator(nullptr);
}

TEST_CASE("RNN, LSTM, GRU: errors", "[layers][rnn]") {
  LSTM lstm(LSTMOptions(3, 4).num_layers(2));
  REQUIRE_THROWS_WITH(lstm.forward(zeros({5, 2, 2})), Contains("LSTM") && Contains("[5, 2, 2]"));
  REQUIRE_THROWS_WITH(lstm.forward(zeros({5, 2, 3}), {zeros({1, 2, 4}), Tensor()}),
                      Contains("initial hidden state") && Contains("[2, 2, 4]"));
  REQUIRE_THROWS_WITH(RNN(RNNOptions(3, 4).nonlinearity("gelu")), Contains("nonlinearity"));
  REQUIRE_THROWS_WITH(GRU(GRUOptions(3, 4).nonlinearity("relu")), Contains("nonlinearity"));
  REQUIRE_THROWS_WITH(RNN(RNNOptions(3, 4).dropout(1.5)), Contains("dropout"));
  REQUIRE_THROWS_WITH(LSTMCell(0, 4), Contains("positive"));
  REQUIRE_THROWS_WITH(GRUCell(3, 4).forward(zeros({2, 3}), zeros({3, 4})),
                      Contains("GRUCell") && Contains("hidden state"));
}
