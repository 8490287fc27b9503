#pragma once
/// @file lstm.h
/// @brief One direction of one LSTM layer over a whole sequence: a fused op
/// (`lstm_layer`) with a hand-written backward through time, and the same recurrence
/// composed of autograd ops (`lstm_layer_reference`), which defines it.
///
/// Shape letters, as in the code: T steps, B batch, I input features, H hidden units;
/// the four gates are stacked in PyTorch's order (i, f, g, o), so a gate tensor is 4H wide.

#include <tuple>

#include "autograd/tensor.h"

namespace zoo {

/// The LSTM recurrence (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et
/// al., 2000), in PyTorch's formulation, for t = 0, ..., T−1 (or T−1, ..., 0 when
/// `reverse`, the backward half of a bidirectional layer):
/// \f[
/// \begin{aligned}
/// a_t &= W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh} \quad (4H:\ a^i, a^f, a^g, a^o)\\[2pt]
/// i_t &= \sigma(a^i_t),\ f_t = \sigma(a^f_t),\ g_t = \tanh(a^g_t),\ o_t = \sigma(a^o_t)\\[2pt]
/// c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
/// \end{aligned}
/// \f]
/// x: (T, B, I), time-major; h0, c0: (B, H), or undefined for zeros; w_ih: (4H, I);
/// w_hh: (4H, H); b_ih, b_hh: (4H) or undefined. Returns (output, h_n, c_n) with output
/// (T, B, H) holding every \f$h_t\f$ (at position t also when `reverse`), and the last
/// step's h and c, each (B, H).
///
/// Fused for speed: the input projection of all T steps is one GEMM
/// \f$(TB, I)\,W_{ih}^\top\f$; each step then adds one GEMM \f$h_{t-1} W_{hh}^\top\f$
/// and runs one pass over (B, H) that applies the four non-linearities and updates c and
/// h, keeping the gate activations for the backward. The backward through time, per
/// step in reverse order, with \f$\bar h_t = \bar y_t + \bar h^{rec}_t\f$:
/// \f[
/// \begin{aligned}
/// \bar o_t &= \bar h_t \odot \tanh c_t, \quad
/// \bar c_t \mathrel{+}= \bar h_t \odot o_t \odot (1 - \tanh^2 c_t)\\[2pt]
/// \bar a^i_t &= \bar c_t g_t\, i_t(1-i_t),\ \bar a^f_t = \bar c_t c_{t-1} f_t(1-f_t),
/// \quad \bar a^g_t = \bar c_t i_t (1-g_t^2),\ \bar a^o_t = \bar o_t\, o_t(1-o_t)\\[2pt]
/// \bar c_{t-1} &= \bar c_t \odot f_t, \qquad \bar h^{rec}_{t-1} = \bar a_t W_{hh}
/// \end{aligned}
/// \f]
/// and at the end three GEMMs over all steps at once: \f$\bar W_{ih} = \bar A^\top X\f$,
/// \f$\bar W_{hh} = \bar A^\top H_{prev}\f$, \f$\bar X = \bar A W_{ih}\f$, and
/// \f$\bar b_{ih} = \bar b_{hh} = \sum_{t,b} \bar a_t\f$. With `create_graph` the
/// gradients are those of `lstm_layer_reference`, so they can be differentiated again.
/// Floating dtypes; every tensor must have x's dtype.
std::tuple<Tensor, Tensor, Tensor> lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                              const Tensor& w_ih, const Tensor& w_hh,
                                              const Tensor& b_ih, const Tensor& b_hh,
                                              bool reverse = false);

/// The same recurrence as `lstm_layer`, with the same arguments and results, composed of
/// differentiable ops (`linear`, `chunk`, `sigmoid`, `tanh`, `stack`): one step per loop
/// iteration, no backward code of its own. The readable definition, the reference the
/// fused op is tested against, and the path of its higher-order gradients.
std::tuple<Tensor, Tensor, Tensor> lstm_layer_reference(const Tensor& x, const Tensor& h0,
                                                        const Tensor& c0, const Tensor& w_ih,
                                                        const Tensor& w_hh, const Tensor& b_ih,
                                                        const Tensor& b_hh, bool reverse = false);

}  // namespace zoo
