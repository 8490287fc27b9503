#include "nn/layers/rnn.h"

#include <cmath>
#include <string_view>

#include "autograd/factories.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/join.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/lstm.h"
#include "autograd/ops/norm.h"
#include "nn/init.h"
#include "nn/repr.h"

namespace zoo::nn {
namespace {

// One step of each recurrence, given the input's share of the pre-activations,
// xp = W_ih x + b_ih (B, G·H), computed by the caller: once per step in a cell, for the
// whole sequence at once in a layer.

/// h' = φ(xp + W_hh h + b_hh), φ = tanh or ReLU.  xp, h: (B, H).
Tensor rnn_step(const Tensor& xp, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh,
                bool use_relu) {
  const Tensor a = xp + linear(h, w_hh, b_hh);
  return use_relu ? relu(a) : tanh(a);
}

/// (h', c') of the LSTM, gates (i, f, g, o).  xp: (B, 4H); h, c: (B, H).
std::tuple<Tensor, Tensor> lstm_step(const Tensor& xp, const Tensor& h, const Tensor& c,
                                     const Tensor& w_hh, const Tensor& b_hh) {
  const std::vector<Tensor> a = chunk(xp + linear(h, w_hh, b_hh), 4, 1);
  const Tensor i = sigmoid(a[0]), f = sigmoid(a[1]), g = tanh(a[2]), o = sigmoid(a[3]);
  const Tensor c_next = f * c + i * g;
  return {o * tanh(c_next), c_next};
}

/// h' of the GRU, gates (r, z, n).  xp: (B, 3H); h: (B, H).
Tensor gru_step(const Tensor& xp, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const std::vector<Tensor> x3 = chunk(xp, 3, 1);                         // x's share of r, z, n
  const std::vector<Tensor> h3 = chunk(linear(h, w_hh, b_hh), 3, 1);  // h's share
  const Tensor r = sigmoid(x3[0] + h3[0]);
  const Tensor z = sigmoid(x3[1] + h3[1]);
  const Tensor n = tanh(x3[2] + r * h3[2]);  // r gates W_hn h + b_hn, bias included
  return n + z * (h - n);                    // (1 − z) ⊙ n + z ⊙ h
}

/// Zeros (B, H) in x's dtype where the state is undefined.
Tensor state_or_zeros(const Tensor& s, const Tensor& x, std::int64_t hidden) {
  return s.defined() ? s : zeros({x.size(-2), hidden}, x.dtype());
}

// One direction of one layer over a time-major sequence x (T, B, ·), for RNNBase::run.
// w = {w_ih, w_hh, b_ih, b_hh}.

std::tuple<Tensor, Tensor, Tensor> rnn_direction(const RNNBase& self, const Tensor& x,
                                                 const Tensor& h0, const Tensor&,
                                                 const std::vector<Tensor>& w, bool reverse) {
  const std::int64_t T = x.size(0), H = self.options.hidden_size();
  const bool use_relu = self.options.nonlinearity() == "relu";
  const Tensor xp = linear(x, w[0], w[2]);  // W_ih x_t + b_ih for every t: (T, B, H)
  Tensor h = state_or_zeros(h0, xp.select(0, 0), H);
  std::vector<Tensor> outputs(static_cast<std::size_t>(T));
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    h = rnn_step(xp.select(0, t), h, w[1], w[3], use_relu);
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outputs, 0), h, Tensor()};
}

std::tuple<Tensor, Tensor, Tensor> lstm_direction(const RNNBase& self, const Tensor& x,
                                                  const Tensor& h0, const Tensor& c0,
                                                  const std::vector<Tensor>& w, bool reverse) {
  if (self.options.fused()) return lstm_layer(x, h0, c0, w[0], w[1], w[2], w[3], reverse);
  return lstm_layer_reference(x, h0, c0, w[0], w[1], w[2], w[3], reverse);
}

std::tuple<Tensor, Tensor, Tensor> gru_direction(const RNNBase& self, const Tensor& x,
                                                 const Tensor& h0, const Tensor&,
                                                 const std::vector<Tensor>& w, bool reverse) {
  const std::int64_t T = x.size(0), H = self.options.hidden_size();
  const Tensor xp = linear(x, w[0], w[2]);  // (T, B, 3H)
  Tensor h = state_or_zeros(h0, xp.select(0, 0), H);
  std::vector<Tensor> outputs(static_cast<std::size_t>(T));
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    h = gru_step(xp.select(0, t), h, w[1], w[3]);
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outputs, 0), h, Tensor()};
}

/// Checks a nonlinearity name: "tanh" or "relu", and only "tanh" unless `relu_allowed`.
void check_nonlinearity(const std::string& name, bool relu_allowed, const char* type) {
  ZOO_CHECK(name == "tanh" || (relu_allowed && name == "relu"),
            "{}: unknown nonlinearity '{}' (expected {})", type, name,
            relu_allowed ? "'tanh' or 'relu'" : "'tanh'");
}

}  // namespace

// ---------------------------------------------------------------------------
// cells
// ---------------------------------------------------------------------------

RNNCellBase::RNNCellBase(const RNNCellOptions& opts, std::int64_t gates, const char* type)
    : options(opts), type_(type) {
  const std::int64_t I = options.input_size(), H = options.hidden_size();
  ZOO_CHECK(I > 0 && H > 0, "{}: input_size and hidden_size must be positive, got {} and {}",
            type, I, H);
  check_nonlinearity(options.nonlinearity(), std::string_view(type) == "RNNCell", type);
  weight_ih = register_parameter("weight_ih", empty({gates * H, I}));
  weight_hh = register_parameter("weight_hh", empty({gates * H, H}));
  if (options.bias()) {
    bias_ih = register_parameter("bias_ih", empty({gates * H}));
    bias_hh = register_parameter("bias_hh", empty({gates * H}));
  }
  reset_parameters();
}

void RNNCellBase::reset_parameters(Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (const auto& [name, p] : named_parameters(false)) init::uniform_(p, -bound, bound, gen);
}

std::string RNNCellBase::extra_repr() const {
  std::string out = fmt::format("{}, {}", options.input_size(), options.hidden_size());
  if (!options.bias()) out += ", bias=False";
  if (options.nonlinearity() != "tanh") out += ", nonlinearity=" + options.nonlinearity();
  return out;
}

Tensor RNNCellBase::check_input(const Tensor& x, const Tensor& h, const char* what,
                                bool& batched) const {
  const std::int64_t I = options.input_size(), H = options.hidden_size();
  ZOO_CHECK(x.defined() && (x.dim() == 1 || x.dim() == 2) && x.size(-1) == I,
            "{}({}): expected an input (B, {}) or ({}), got shape {}", type_, extra_repr(), I, I,
            x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(x.dtype() == weight_ih.dtype(), "{}: the input is {} but the parameters are {}",
            type_, x.dtype(), weight_ih.dtype());
  batched = x.dim() == 2;
  if (!h.defined()) return zeros({batched ? x.size(0) : 1, H}, x.dtype());
  const Shape expected = batched ? Shape{x.size(0), H} : Shape{H};
  ZOO_CHECK(h.shape() == expected, "{}: the {} must have shape {} for input {}, got {}", type_,
            what, expected, x.shape(), h.shape());
  return batched ? h : h.unsqueeze(0);
}

RNNCell::RNNCell(const RNNCellOptions& opts) : RNNCellBase(opts, 1, "RNNCell") {}

Tensor RNNCell::forward(const Tensor& x, const Tensor& h_in) {
  // x: (B, I), h: (B, H)  ->  h' (B, H)
  bool batched = true;
  const Tensor h = check_input(x, h_in, "hidden state", batched);
  const Tensor xb = batched ? x : x.unsqueeze(0);
  const Tensor out = rnn_step(linear(xb, weight_ih, bias_ih), h, weight_hh, bias_hh,
                              options.nonlinearity() == "relu");
  return batched ? out : out.squeeze(0);
}

LSTMCell::LSTMCell(const LSTMCellOptions& opts) : RNNCellBase(opts, 4, "LSTMCell") {}

std::tuple<Tensor, Tensor> LSTMCell::forward(const Tensor& x,
                                             const std::tuple<Tensor, Tensor>& state) {
  // x: (B, I), h, c: (B, H)  ->  h', c' (B, H)
  bool batched = true;
  const Tensor h = check_input(x, std::get<0>(state), "hidden state", batched);
  const Tensor c = check_input(x, std::get<1>(state), "cell state", batched);
  const Tensor xb = batched ? x : x.unsqueeze(0);
  auto [h_next, c_next] = lstm_step(linear(xb, weight_ih, bias_ih), h, c, weight_hh, bias_hh);
  if (!batched) return {h_next.squeeze(0), c_next.squeeze(0)};
  return {h_next, c_next};
}

GRUCell::GRUCell(const GRUCellOptions& opts) : RNNCellBase(opts, 3, "GRUCell") {}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h_in) {
  // x: (B, I), h: (B, H)  ->  h' (B, H)
  bool batched = true;
  const Tensor h = check_input(x, h_in, "hidden state", batched);
  const Tensor xb = batched ? x : x.unsqueeze(0);
  const Tensor out = gru_step(linear(xb, weight_ih, bias_ih), h, weight_hh, bias_hh);
  return batched ? out : out.squeeze(0);
}

// ---------------------------------------------------------------------------
// sequence layers
// ---------------------------------------------------------------------------

RNNBase::RNNBase(const RNNOptions& opts, std::int64_t gates, const char* type)
    : options(opts), type_(type) {
  const std::int64_t I = options.input_size(), H = options.hidden_size();
  const std::int64_t L = options.num_layers(), D = num_directions();
  ZOO_CHECK(I > 0 && H > 0 && L > 0,
            "{}: input_size, hidden_size and num_layers must be positive, got {}, {} and {}", type,
            I, H, L);
  ZOO_CHECK(options.dropout() >= 0 && options.dropout() <= 1,
            "{}: dropout must be in [0, 1], got {}", type, options.dropout());
  check_nonlinearity(options.nonlinearity(), std::string_view(type) == "RNN", type);
  for (std::int64_t k = 0; k < L; ++k)
    for (std::int64_t d = 0; d < D; ++d) {
      const std::string suffix = fmt::format("_l{}{}", k, d == 1 ? "_reverse" : "");
      const std::int64_t in = k == 0 ? I : D * H;
      std::vector<Tensor> w(4);
      w[0] = register_parameter("weight_ih" + suffix, empty({gates * H, in}));
      w[1] = register_parameter("weight_hh" + suffix, empty({gates * H, H}));
      if (options.bias()) {
        w[2] = register_parameter("bias_ih" + suffix, empty({gates * H}));
        w[3] = register_parameter("bias_hh" + suffix, empty({gates * H}));
      }
      all_weights.push_back(std::move(w));
    }
  reset_parameters();
}

void RNNBase::reset_parameters(Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (const auto& [name, p] : named_parameters(false)) init::uniform_(p, -bound, bound, gen);
}

std::string RNNBase::extra_repr() const {
  std::string out = fmt::format("{}, {}", options.input_size(), options.hidden_size());
  if (options.num_layers() != 1) out += fmt::format(", num_layers={}", options.num_layers());
  if (!options.bias()) out += ", bias=False";
  if (options.batch_first()) out += ", batch_first=True";
  if (options.dropout() != 0) out += ", dropout=" + repr_float(options.dropout());
  if (options.bidirectional()) out += ", bidirectional=True";
  return out;
}

std::tuple<Tensor, Tensor, Tensor> RNNBase::run(const Tensor& x, const Tensor& h0_in,
                                                const Tensor& c0_in, bool with_cell,
                                                Direction direction) {
  const std::int64_t I = options.input_size(), H = options.hidden_size();
  const std::int64_t L = options.num_layers(), D = num_directions();
  ZOO_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3) && x.size(-1) == I,
            "{}({}): expected an input ({}, {}) or unbatched (T, {}), got shape {}", type_,
            extra_repr(), options.batch_first() ? "B, T" : "T, B", I, I,
            x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(x.dtype() == all_weights[0][0].dtype(),
            "{}: the input is {} but the parameters are {}", type_, x.dtype(),
            all_weights[0][0].dtype());
  const bool batched = x.dim() == 3;
  // Time-major (T, B, I) inside; an unbatched sequence is a batch of one.
  const Tensor input = !batched ? x.unsqueeze(1) : options.batch_first() ? x.transpose(0, 1) : x;
  const std::int64_t B = input.size(1);
  ZOO_CHECK(input.size(0) > 0, "{}: the input has no steps (shape {})", type_, x.shape());
  auto check_state = [&](const Tensor& s, const char* what) {
    if (!s.defined()) return s;
    const Shape expected = batched ? Shape{L * D, B, H} : Shape{L * D, H};
    ZOO_CHECK(s.shape() == expected, "{}: the initial {} must have shape {} for input {}, got {}",
              type_, what, expected, x.shape(), s.shape());
    return batched ? s : s.unsqueeze(1);
  };
  const Tensor h0 = check_state(h0_in, "hidden state");
  const Tensor c0 = check_state(c0_in, "cell state");

  std::vector<Tensor> h_n, c_n;
  Tensor layer_input = input;
  for (std::int64_t k = 0; k < L; ++k) {
    std::vector<Tensor> outputs;
    for (std::int64_t d = 0; d < D; ++d) {
      const std::int64_t idx = k * D + d;
      auto [out, h, c] = direction(*this, layer_input, h0.defined() ? h0.select(0, idx) : Tensor(),
                                   c0.defined() ? c0.select(0, idx) : Tensor(),
                                   all_weights[static_cast<std::size_t>(idx)], d == 1);
      outputs.push_back(out);
      h_n.push_back(h);
      c_n.push_back(c);
    }
    layer_input = D == 1 ? outputs[0] : cat(outputs, 2);  // (T, B, D·H)
    if (k + 1 < L && options.dropout() > 0 && is_training())
      layer_input = dropout(layer_input, options.dropout(), true,
                            generator_ ? *generator_ : default_generator());
  }
  Tensor output = !batched ? layer_input.squeeze(1)
                  : options.batch_first() ? layer_input.transpose(0, 1)
                                          : layer_input;
  Tensor hn = stack(h_n, 0), cn = with_cell ? stack(c_n, 0) : Tensor();
  if (!batched) {
    hn = hn.squeeze(1);
    if (with_cell) cn = cn.squeeze(1);
  }
  return {output, hn, cn};
}

RNN::RNN(const RNNOptions& opts) : RNNBase(opts, 1, "RNN") {}

std::tuple<Tensor, Tensor> RNN::forward(const Tensor& x, const Tensor& h0) {
  auto [output, h_n, c_n] = run(x, h0, Tensor(), false, rnn_direction);
  return {output, h_n};
}

LSTM::LSTM(const LSTMOptions& opts) : RNNBase(opts, 4, "LSTM") {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTM::forward(
    const Tensor& x, const std::tuple<Tensor, Tensor>& state) {
  auto [output, h_n, c_n] = run(x, std::get<0>(state), std::get<1>(state), true, lstm_direction);
  return {output, {h_n, c_n}};
}

GRU::GRU(const GRUOptions& opts) : RNNBase(opts, 3, "GRU") {}

std::tuple<Tensor, Tensor> GRU::forward(const Tensor& x, const Tensor& h0) {
  auto [output, h_n, c_n] = run(x, h0, Tensor(), false, gru_direction);
  return {output, h_n};
}

}  // namespace zoo::nn
