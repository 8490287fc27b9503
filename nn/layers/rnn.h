#pragma once
/// @file rnn.h
/// @brief Recurrent layers, as in PyTorch: the cells `RNNCell`, `LSTMCell`, `GRUCell`
/// (one step) and the sequence layers `RNN`, `LSTM`, `GRU` (several layers, optionally
/// bidirectional, with PyTorch's parameter names, shapes, gate order and initialisation,
/// so that a PyTorch state dict loads and gives the same outputs).
///
/// Shape letters: T steps, B batch, I input features (`input_size`), H hidden units
/// (`hidden_size`), L layers, D directions (2 if bidirectional, else 1).
///
/// Lesson: @ref tutorial_10_rnn_lstm.

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/generator.h"
#include "nn/module.h"

namespace zoo::nn {

/// Settings of a cell: `RNNCellOptions(10, 20).bias(false)`; `LSTMCellOptions` and
/// `GRUCellOptions` are the same class (their cells reject a nonlinearity other than tanh).
class RNNCellOptions {
 public:
  /// A cell from `input_size` input features to `hidden_size` hidden units.
  RNNCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Size of each input vector x (I).
  std::int64_t input_size() const { return input_size_; }
  /// Sets the size of each input vector.
  RNNCellOptions& input_size(std::int64_t value) { input_size_ = value; return *this; }
  /// Size of the hidden state h (H).
  std::int64_t hidden_size() const { return hidden_size_; }
  /// Sets the size of the hidden state.
  RNNCellOptions& hidden_size(std::int64_t value) { hidden_size_ = value; return *this; }
  /// Whether the cell has the biases b_ih and b_hh (default true).
  bool bias() const { return bias_; }
  /// Sets whether the cell has biases.
  RNNCellOptions& bias(bool value) { bias_ = value; return *this; }
  /// "tanh" (default) or "relu": the activation of an `RNNCell`.
  const std::string& nonlinearity() const { return nonlinearity_; }
  /// Sets the activation of an `RNNCell`.
  RNNCellOptions& nonlinearity(std::string value) { nonlinearity_ = std::move(value); return *this; }

 private:
  std::int64_t input_size_;
  std::int64_t hidden_size_;
  bool bias_ = true;
  std::string nonlinearity_ = "tanh";
};

/// Settings of an `LSTMCell` (the same class as `RNNCellOptions`).
using LSTMCellOptions = RNNCellOptions;
/// Settings of a `GRUCell` (the same class as `RNNCellOptions`).
using GRUCellOptions = RNNCellOptions;

/// What the three cells share: the parameters, with PyTorch's names and shapes for a cell
/// with G gate blocks (G = 1 for RNNCell, 4 for LSTMCell, 3 for GRUCell):
/// `weight_ih` (G·H, I), `weight_hh` (G·H, H), `bias_ih` (G·H), `bias_hh` (G·H).
/// Initialisation (PyTorch's): every parameter from \f$U(-1/\sqrt H, 1/\sqrt H)\f$.
class RNNCellBase : public Module {
 public:
  /// Draws new parameters from `gen`, as described above.
  void reset_parameters(Generator& gen = default_generator());
  /// "10, 20" (plus ", bias=False" and the nonlinearity when they differ from the defaults).
  std::string extra_repr() const override;
  RNNCellOptions options;  ///< The settings the cell was built with.
  Tensor weight_ih;        ///< W_ih: (G·H, I), the gate blocks stacked in order.
  Tensor weight_hh;        ///< W_hh: (G·H, H).
  Tensor bias_ih;          ///< b_ih: (G·H), or undefined without biases.
  Tensor bias_hh;          ///< b_hh: (G·H), or undefined without biases.

 protected:
  /// Registers the parameters of a cell with `gates` gate blocks; `type` names it in errors.
  RNNCellBase(const RNNCellOptions& options, std::int64_t gates, const char* type);
  /// Checks x (B, I) or (I) and a state (B, H) or (H) (undefined: zeros); returns the
  /// state, made batched (zeros if undefined); `batched` says whether x was (B, I).
  Tensor check_input(const Tensor& x, const Tensor& h, const char* what, bool& batched) const;

 private:
  const char* type_;
};

/// The Elman cell, like `torch.nn.RNNCell`:
/// \f$h' = \phi(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})\f$ with \f$\phi\f$ = tanh or ReLU.
///
/// Shapes: x (B, I) or (I); h (B, H) or (H) -> h' of the same shape as h.
class RNNCell : public RNNCellBase {
 public:
  /// A cell with the given settings, initialised from the default generator.
  explicit RNNCell(const RNNCellOptions& options);
  /// `RNNCell(RNNCellOptions(input_size, hidden_size))`.
  RNNCell(std::int64_t input_size, std::int64_t hidden_size)
      : RNNCell(RNNCellOptions(input_size, hidden_size)) {}
  /// One step from h = 0.
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  /// One step: x, h -> h' (an undefined h means zeros).
  Tensor forward(const Tensor& x, const Tensor& h);
};

/// The LSTM cell, like `torch.nn.LSTMCell`, gates in PyTorch's order (i, f, g, o):
/// \f[
/// \begin{pmatrix} i \\ f \\ g \\ o \end{pmatrix} =
/// \begin{pmatrix} \sigma \\ \sigma \\ \tanh \\ \sigma \end{pmatrix}
/// \left(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}\right), \qquad
/// c' = f \odot c + i \odot g, \qquad h' = o \odot \tanh(c').
/// \f]
/// The input gate i says how much of the candidate g to write, the forget gate f how much
/// of the old cell c to keep, the output gate o how much of the cell to show.
///
/// Shapes: x (B, I) or (I); h, c (B, H) or (H) -> (h', c') of the same shapes.
class LSTMCell : public RNNCellBase {
 public:
  /// A cell with the given settings, initialised from the default generator.
  explicit LSTMCell(const LSTMCellOptions& options);
  /// `LSTMCell(LSTMCellOptions(input_size, hidden_size))`.
  LSTMCell(std::int64_t input_size, std::int64_t hidden_size)
      : LSTMCell(LSTMCellOptions(input_size, hidden_size)) {}
  /// One step: x, (h, c) -> (h', c'). Undefined states (the default) mean zeros.
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const std::tuple<Tensor, Tensor>& state = {});
  /// `cell(x, state)`, as in PyTorch: the same as `forward`.
  std::tuple<Tensor, Tensor> operator()(const Tensor& x,
                                        const std::tuple<Tensor, Tensor>& state = {}) {
    return forward(x, state);
  }
};

/// The gated recurrent unit (Cho et al., 2014), like `torch.nn.GRUCell`, gates in
/// PyTorch's order (r, z, n):
/// \f[
/// \begin{aligned}
/// r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
/// z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz})\\[2pt]
/// n &= \tanh\big(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})\big), \quad
/// h' = (1 - z) \odot n + z \odot h.
/// \end{aligned}
/// \f]
/// Note that the reset gate r multiplies \f$W_{hn} h + b_{hn}\f$, bias included, as in
/// PyTorch (and cuDNN), not h alone as in the paper.
///
/// Shapes: x (B, I) or (I); h (B, H) or (H) -> h' of the same shape as h.
class GRUCell : public RNNCellBase {
 public:
  /// A cell with the given settings, initialised from the default generator.
  explicit GRUCell(const GRUCellOptions& options);
  /// `GRUCell(GRUCellOptions(input_size, hidden_size))`.
  GRUCell(std::int64_t input_size, std::int64_t hidden_size)
      : GRUCell(GRUCellOptions(input_size, hidden_size)) {}
  /// One step from h = 0.
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  /// One step: x, h -> h' (an undefined h means zeros).
  Tensor forward(const Tensor& x, const Tensor& h);
};

/// Settings of the sequence layers: `RNNOptions(10, 20).num_layers(2).batch_first(true)`;
/// `LSTMOptions` and `GRUOptions` are the same class.
class RNNOptions {
 public:
  /// A layer from `input_size` input features to `hidden_size` hidden units.
  RNNOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Size of each input vector x_t (I).
  std::int64_t input_size() const { return input_size_; }
  /// Sets the size of each input vector.
  RNNOptions& input_size(std::int64_t value) { input_size_ = value; return *this; }
  /// Size of the hidden state of each layer and direction (H).
  std::int64_t hidden_size() const { return hidden_size_; }
  /// Sets the size of the hidden state.
  RNNOptions& hidden_size(std::int64_t value) { hidden_size_ = value; return *this; }
  /// Number of stacked layers L (default 1): layer l reads layer l−1's outputs.
  std::int64_t num_layers() const { return num_layers_; }
  /// Sets the number of stacked layers.
  RNNOptions& num_layers(std::int64_t value) { num_layers_ = value; return *this; }
  /// "tanh" (default) or "relu": the activation of an `RNN` (LSTM and GRU: tanh only).
  const std::string& nonlinearity() const { return nonlinearity_; }
  /// Sets the activation of an `RNN`.
  RNNOptions& nonlinearity(std::string value) { nonlinearity_ = std::move(value); return *this; }
  /// Whether every layer has the biases b_ih and b_hh (default true).
  bool bias() const { return bias_; }
  /// Sets whether the layers have biases.
  RNNOptions& bias(bool value) { bias_ = value; return *this; }
  /// True: input and output are (B, T, ·); false (default): (T, B, ·). The states are
  /// (L·D, B, H) either way, as in PyTorch.
  bool batch_first() const { return batch_first_; }
  /// Sets the layout of input and output.
  RNNOptions& batch_first(bool value) { batch_first_ = value; return *this; }
  /// Dropout probability on the outputs of every layer but the last (default 0),
  /// applied in training mode only.
  double dropout() const { return dropout_; }
  /// Sets the dropout probability between layers.
  RNNOptions& dropout(double value) { dropout_ = value; return *this; }
  /// Whether each layer also runs from the last step to the first (default false); the
  /// two directions' outputs are concatenated, so the next layer reads 2H features.
  bool bidirectional() const { return bidirectional_; }
  /// Sets whether the layers are bidirectional.
  RNNOptions& bidirectional(bool value) { bidirectional_ = value; return *this; }
  /// `LSTM` only, and zoo's own (PyTorch has no such flag): run each layer with the fused
  /// `lstm_layer` op (default true) or with `lstm_layer_reference`, the same recurrence
  /// composed of autograd ops. Both give the same values and gradients.
  bool fused() const { return fused_; }
  /// Sets whether `LSTM` uses the fused op.
  RNNOptions& fused(bool value) { fused_ = value; return *this; }

 private:
  std::int64_t input_size_;
  std::int64_t hidden_size_;
  std::int64_t num_layers_ = 1;
  std::string nonlinearity_ = "tanh";
  bool bias_ = true;
  bool batch_first_ = false;
  double dropout_ = 0.0;
  bool bidirectional_ = false;
  bool fused_ = true;
};

/// Settings of an `LSTM` (the same class as `RNNOptions`).
using LSTMOptions = RNNOptions;
/// Settings of a `GRU` (the same class as `RNNOptions`).
using GRUOptions = RNNOptions;

/// What `RNN`, `LSTM` and `GRU` share: the stack of layers and directions, its parameters
/// and the loop over them. Parameters, in PyTorch's order and names, for layer k and
/// suffix "" (forwards) or "_reverse" (the backward direction of a bidirectional layer):
/// `weight_ih_l{k}{suffix}` (G·H, I for k = 0, else D·H), `weight_hh_l{k}{suffix}`
/// (G·H, H), `bias_ih_l{k}{suffix}` and `bias_hh_l{k}{suffix}` (G·H), with G gate blocks
/// (1, 4 or 3). Initialisation (PyTorch's): every parameter from
/// \f$U(-1/\sqrt H, 1/\sqrt H)\f$.
class RNNBase : public Module {
 public:
  /// Draws new parameters from `gen`, as described above.
  void reset_parameters(Generator& gen = default_generator());
  /// Draws the dropout masks from `gen` from now on (it must outlive the module);
  /// nullptr goes back to the default generator.
  void set_generator(Generator* gen) { generator_ = gen; }
  /// "10, 20, num_layers=2, batch_first=True", as PyTorch prints it.
  std::string extra_repr() const override;
  /// Number of directions D: 2 if bidirectional, else 1.
  std::int64_t num_directions() const { return options.bidirectional() ? 2 : 1; }
  RNNOptions options;  ///< The settings the layer was built with.
  /// The parameters of layer k, direction d at index k·D + d: {w_ih, w_hh, b_ih, b_hh}
  /// (the biases undefined without biases), like PyTorch's `all_weights`.
  std::vector<std::vector<Tensor>> all_weights;

 protected:
  /// How one direction of one layer runs over a time-major sequence x (T, B, ·) from
  /// (h0, c0) (B, H) each (c0 undefined except for LSTM), with weights
  /// {w_ih, w_hh, b_ih, b_hh}: returns (output (T, B, H), h_n, c_n).
  using Direction = std::tuple<Tensor, Tensor, Tensor> (*)(const RNNBase& self, const Tensor& x,
                                                           const Tensor& h0, const Tensor& c0,
                                                           const std::vector<Tensor>& w,
                                                           bool reverse);
  /// Registers the parameters of a stack with `gates` gate blocks; `type` names it in errors.
  RNNBase(const RNNOptions& options, std::int64_t gates, const char* type);
  /// Runs every layer and direction: x as given (batch-first or not, batched or not),
  /// h0 and c0 (L·D, B, H) or undefined. Returns (output, h_n, c_n), c_n undefined
  /// unless `with_cell`.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                         bool with_cell, Direction direction);
  const char* type_;  ///< "RNN", "LSTM" or "GRU", for errors.

 private:
  Generator* generator_ = nullptr;
};

/// A multi-layer Elman RNN, like `torch.nn.RNN`: for each layer and step,
/// \f$h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})\f$, \f$\phi\f$ = tanh or ReLU,
/// where x_t is the input for the first layer and the previous layer's h_t (dropped out
/// in training if `dropout` > 0) for the others.
///
/// Shapes: x (T, B, I), or (B, T, I) with `batch_first`, or (T, I) unbatched; h0
/// (L·D, B, H) or (L·D, H), undefined for zeros. Returns (output, h_n): output (T, B, D·H)
/// (the last layer's h_t, both directions concatenated; (B, T, D·H) with `batch_first`),
/// h_n (L·D, B, H) the last state of every layer and direction.
class RNN : public RNNBase {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit RNN(const RNNOptions& options);
  /// `RNN(RNNOptions(input_size, hidden_size))`.
  RNN(std::int64_t input_size, std::int64_t hidden_size)
      : RNN(RNNOptions(input_size, hidden_size)) {}
  /// x, h0 -> (output, h_n), as described above.
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const Tensor& h0 = Tensor());
  /// `rnn(x, h0)`, as in PyTorch: the same as `forward`.
  std::tuple<Tensor, Tensor> operator()(const Tensor& x, const Tensor& h0 = Tensor()) {
    return forward(x, h0);
  }
};

/// A multi-layer LSTM, like `torch.nn.LSTM`: every layer and direction runs the
/// recurrence of `LSTMCell` (gates i, f, g, o) over the sequence. By default each runs
/// as one fused `lstm_layer` op (one GEMM for the input projection of all steps, one
/// per step for the recurrence, a hand-written backward through time); with
/// `fused(false)`, as `lstm_layer_reference`, built from autograd ops step by step.
///
/// Shapes: x (T, B, I), or (B, T, I) with `batch_first`, or (T, I) unbatched; h0, c0
/// (L·D, B, H) (or (L·D, H)), undefined for zeros. Returns (output, (h_n, c_n)): output
/// (T, B, D·H) (or (B, T, D·H)), h_n and c_n (L·D, B, H).
class LSTM : public RNNBase {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit LSTM(const LSTMOptions& options);
  /// `LSTM(LSTMOptions(input_size, hidden_size))`.
  LSTM(std::int64_t input_size, std::int64_t hidden_size)
      : LSTM(LSTMOptions(input_size, hidden_size)) {}
  /// x, (h0, c0) -> (output, (h_n, c_n)), as described above.
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(
      const Tensor& x, const std::tuple<Tensor, Tensor>& state = {});
  /// `lstm(x, (h0, c0))`, as in PyTorch: the same as `forward`.
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> operator()(
      const Tensor& x, const std::tuple<Tensor, Tensor>& state = {}) {
    return forward(x, state);
  }
};

/// A multi-layer GRU, like `torch.nn.GRU`: every layer and direction runs the recurrence
/// of `GRUCell` (gates r, z, n) over the sequence.
///
/// Shapes: as `RNN`: x (T, B, I) (or (B, T, I), or (T, I)), h0 (L·D, B, H) or undefined;
/// returns (output (T, B, D·H), h_n (L·D, B, H)).
class GRU : public RNNBase {
 public:
  /// A layer with the given settings, initialised from the default generator.
  explicit GRU(const GRUOptions& options);
  /// `GRU(GRUOptions(input_size, hidden_size))`.
  GRU(std::int64_t input_size, std::int64_t hidden_size)
      : GRU(GRUOptions(input_size, hidden_size)) {}
  /// x, h0 -> (output, h_n), as described above.
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const Tensor& h0 = Tensor());
  /// `gru(x, h0)`, as in PyTorch: the same as `forward`.
  std::tuple<Tensor, Tensor> operator()(const Tensor& x, const Tensor& h0 = Tensor()) {
    return forward(x, h0);
  }
};

}  // namespace zoo::nn
