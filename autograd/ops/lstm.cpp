/// @file lstm.cpp
/// @brief The fused LSTM layer (forward and hand-written backward through time) and its
/// readable reference composed of autograd ops.
///
/// Shape letters: T steps, B batch, I input features, H hidden units. Every buffer is
/// row-major and contiguous: x (T, B, I), gates (T, B, 4H), cells and output (T, B, H).

#include "autograd/ops/lstm.h"

#include <algorithm>
#include <array>
#include <vector>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/vec_math.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/join.h"
#include "autograd/ops/linalg.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Sizes of one LSTM layer's run, and the order in which it visits the steps.
struct LstmDims {
  std::int64_t T, B, I, H;
  bool reverse;
  /// The step visited s-th: s forwards, T−1−s when reversed.
  std::int64_t step(std::int64_t s) const { return reverse ? T - 1 - s : s; }
};

/// Element-wise work per fused pass below which it stays on one thread (each element
/// costs a few exponentials, so the grain is smaller than `kGrainSize`).
constexpr std::int64_t kLstmGrain = 4096;

/// Rows (sequences) of H units per task of a fused pass, at least one.
std::int64_t rows_per_task(std::int64_t H) { return std::max<std::int64_t>(1, kLstmGrain / H); }

template <class T>
T sigmoid_of(T v) {
  return T(1) / (T(1) + kernels::exp_fast(-v));
}

/// The fused pass of one sequence at one step: the pre-activations a^i, a^f, a^g, a^o
/// (H each) become the gates i, f, g, o in place, and c_t, h_t are written. Separate
/// restrict pointers, so that the loop vectorises.
template <class T>
void lstm_cell_row(std::int64_t H, T* __restrict ai, T* __restrict af, T* __restrict ag,
                   T* __restrict ao, const T* __restrict c_prev, T* __restrict c,
                   T* __restrict h) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T i = sigmoid_of(ai[j]), f = sigmoid_of(af[j]);
    const T g = kernels::tanh_fast(ag[j]), o = sigmoid_of(ao[j]);
    const T cj = f * c_prev[j] + i * g;  // c_t = f ⊙ c_{t-1} + i ⊙ g
    ai[j] = i;
    af[j] = f;
    ag[j] = g;
    ao[j] = o;
    c[j] = cj;
    h[j] = o * kernels::tanh_fast(cj);  // h_t = o ⊙ tanh(c_t)
  }
}

/// The fused gate-gradient pass of one sequence at one step: from the gates, c_t,
/// c_{t-1}, ȳ_t and the recurrent h̄, c̄ (updated in place: c̄ becomes c̄_{t-1}), the
/// gradients ā^i, ā^f, ā^g, ā^o of the pre-activations.
template <class T>
void lstm_cell_row_backward(std::int64_t H, const T* __restrict i_, const T* __restrict f_,
                            const T* __restrict g_, const T* __restrict o_,
                            const T* __restrict c, const T* __restrict c_prev,
                            const T* __restrict gy, const T* __restrict dh, T* __restrict dc,
                            T* __restrict di, T* __restrict df, T* __restrict dg,
                            T* __restrict dout) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T i = i_[j], f = f_[j], g = g_[j], o = o_[j];
    const T tc = kernels::tanh_fast(c[j]);
    const T dh_t = gy[j] + dh[j];                        // h̄_t = ȳ_t + recurrent part
    const T dc_t = dc[j] + dh_t * o * (T(1) - tc * tc);  // c̄_t += h̄_t o (1 − tanh² c_t)
    di[j] = dc_t * g * i * (T(1) - i);                   // ā^i
    df[j] = dc_t * c_prev[j] * f * (T(1) - f);           // ā^f
    dg[j] = dc_t * i * (T(1) - g * g);                   // ā^g
    dout[j] = dh_t * tc * o * (T(1) - o);                // ā^o
    dc[j] = dc_t * f;                                    // c̄_{t-1} = c̄_t ⊙ f_t
  }
}

/// Checks the arguments of lstm_layer(_reference); returns the sizes.
LstmDims check_lstm_args(const char* op, const Tensor& x, const Tensor& h0, const Tensor& c0,
                         const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                         const Tensor& b_hh, bool reverse) {
  ZOO_CHECK(x.defined() && w_ih.defined() && w_hh.defined(),
            "{}: the input and both weights must be defined", op);
  ZOO_CHECK(x.dim() == 3, "{}: the input must be (T, B, I), got shape {}", op, x.shape());
  ZOO_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 4 * w_hh.size(1) && w_hh.size(1) > 0,
            "{}: weight_hh must be (4H, H), got shape {}", op, w_hh.shape());
  const LstmDims d{x.size(0), x.size(1), x.size(2), w_hh.size(1), reverse};
  ZOO_CHECK(d.T > 0 && d.B > 0, "{}: the input must have at least one step and one sequence, got shape {}",
            op, x.shape());
  ZOO_CHECK(w_ih.shape() == Shape({4 * d.H, d.I}),
            "{}: weight_ih must be (4H, I) = [{}, {}] for input {} and weight_hh {}, got shape {}",
            op, 4 * d.H, d.I, x.shape(), w_hh.shape(), w_ih.shape());
  for (const Tensor* b : {&b_ih, &b_hh})
    ZOO_CHECK(!b->defined() || b->shape() == Shape{4 * d.H},
              "{}: the biases must be (4H) = [{}], got shape {}", op, 4 * d.H, b->shape());
  for (const Tensor* s : {&h0, &c0})
    ZOO_CHECK(!s->defined() || s->shape() == Shape({d.B, d.H}),
              "{}: the initial states must be (B, H) = [{}, {}], got shape {}", op, d.B, d.H,
              s->shape());
  ZOO_CHECK(is_floating(x.dtype()), "{}: the input must be floating, got {}", op, x.dtype());
  for (const Tensor* t : {&h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh})
    ZOO_CHECK(!t->defined() || t->dtype() == x.dtype(),
              "{}: every tensor must have the input's dtype {}, got {}", op, x.dtype(),
              t->dtype());
  return d;
}

/// Pointer to the data of a contiguous tensor, or null for an undefined one.
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

/// The forward of `lstm_layer` on raw buffers. h0, c0, b_ih, b_hh may be null (zeros).
/// Writes the gate activations (i, f, g, o) of every step into `gates`, every c_t into
/// `cells` and every h_t into `out`.
template <class T>
void lstm_forward_kernel(const LstmDims& d, const T* x, const T* h0, const T* c0, const T* w_ih,
                         const T* w_hh, const T* b_ih, const T* b_hh, T* gates, T* cells, T* out) {
  const std::int64_t T_ = d.T, B = d.B, I = d.I, H = d.H, G = 4 * H, BH = B * H;
  // A = X W_ihᵀ + (b_ih + b_hh) for all T·B rows at once: every row starts as the
  // summed biases, then one GEMM adds the input projection (β = 1).
  for (std::int64_t r = 0; r < T_ * B; ++r)
    for (std::int64_t j = 0; j < G; ++j)
      gates[r * G + j] = (b_ih ? b_ih[j] : T(0)) + (b_hh ? b_hh[j] : T(0));
  if (I > 0) gemm<T>(false, true, T_ * B, G, I, T(1), x, I, w_ih, I, T(1), gates, G);

  const std::vector<T> zero(static_cast<std::size_t>(BH), T(0));
  for (std::int64_t s = 0; s < T_; ++s) {
    const std::int64_t t = d.step(s), prev = d.step(s - 1);
    const T* h_prev = s == 0 ? (h0 ? h0 : zero.data()) : out + prev * BH;
    const T* c_prev = s == 0 ? (c0 ? c0 : zero.data()) : cells + prev * BH;
    T* a = gates + t * B * G;  // (B, 4H)
    // a_t += h_{t-1} W_hhᵀ: the one sequential GEMM per step.
    gemm<T>(false, true, B, G, H, T(1), h_prev, H, w_hh, H, T(1), a, G);
    T* c_t = cells + t * BH;
    T* h_t = out + t * BH;
    // The gates and the cell update in one pass; the activations overwrite a_t. Rows
    // (sequences) go to threads; within a row each gate block is contiguous in j, so
    // the inner loop vectorises.
    parallel_for(0, B, rows_per_task(H), [&](std::int64_t b0, std::int64_t b1) {
      for (std::int64_t b = b0; b < b1; ++b) {
        T* ai = a + b * G;  // the row's four gate blocks: i, f, g, o
        lstm_cell_row<T>(H, ai, ai + H, ai + 2 * H, ai + 3 * H, c_prev + b * H, c_t + b * H,
                         h_t + b * H);
      }
    });
  }
}

/// Gradients the backward kernel writes; a null pointer means "not wanted".
template <class T>
struct LstmGrads {
  T* x = nullptr;     ///< (T, B, I)
  T* h0 = nullptr;    ///< (B, H)
  T* c0 = nullptr;    ///< (B, H)
  T* w_ih = nullptr;  ///< (4H, I)
  T* w_hh = nullptr;  ///< (4H, H)
  T* bias = nullptr;  ///< (4H): the same for b_ih and b_hh
};

/// The backward through time of `lstm_forward_kernel`. gy: (T, B, H), ghn, gcn: (B, H).
/// h0, c0 may be null (zeros).
template <class T>
void lstm_backward_kernel(const LstmDims& d, const T* x, const T* h0, const T* c0,
                          const T* w_ih, const T* w_hh, const T* gates, const T* cells,
                          const T* out, const T* gy, const T* ghn, const T* gcn,
                          const LstmGrads<T>& grad) {
  const std::int64_t T_ = d.T, B = d.B, I = d.I, H = d.H, G = 4 * H, BH = B * H;
  std::vector<T> da(static_cast<std::size_t>(T_ * B * G));  // Ā: gradient of the pre-activations
  // The gradients flowing back along the recurrence, into h_{t-1} and c_{t-1}.
  std::vector<T> dh(ghn, ghn + BH), dc(gcn, gcn + BH);
  const std::vector<T> zero(static_cast<std::size_t>(BH), T(0));

  for (std::int64_t s = T_ - 1; s >= 0; --s) {
    const std::int64_t t = d.step(s), prev = d.step(s - 1);
    const T* c_prev = s == 0 ? (c0 ? c0 : zero.data()) : cells + prev * BH;
    const T* act = gates + t * B * G;
    const T* c_t = cells + t * BH;
    const T* gy_t = gy + t * BH;
    T* da_t = da.data() + t * B * G;
    parallel_for(0, B, rows_per_task(H), [&](std::int64_t b0, std::int64_t b1) {
      for (std::int64_t b = b0; b < b1; ++b) {
        const T* ai = act + b * G;  // i, f, g, o of sequence b at step t
        T* di = da_t + b * G;       // ā^i, ā^f, ā^g, ā^o
        lstm_cell_row_backward<T>(H, ai, ai + H, ai + 2 * H, ai + 3 * H, c_t + b * H,
                                  c_prev + b * H, gy_t + b * H, dh.data() + b * H,
                                  dc.data() + b * H, di, di + H, di + 2 * H, di + 3 * H);
      }
    });
    // h̄_{t-1} (recurrent part) = ā_t W_hh: (B, 4H) @ (4H, H).
    gemm<T>(false, false, B, H, G, T(1), da_t, G, w_hh, H, T(0), dh.data(), H);
  }
  if (grad.h0) std::copy(dh.begin(), dh.end(), grad.h0);
  if (grad.c0) std::copy(dc.begin(), dc.end(), grad.c0);

  // Over all steps at once. Row r = t·B + b of Ā is step t's ā for sequence b.
  const std::int64_t rows = T_ * B;
  if (grad.x) {  // X̄ = Ā W_ih: (TB, 4H) @ (4H, I)
    if (I > 0) gemm<T>(false, false, rows, I, G, T(1), da.data(), G, w_ih, I, T(0), grad.x, I);
  }
  if (grad.w_ih) {  // W̄_ih = Āᵀ X: (4H, TB) @ (TB, I)
    std::fill(grad.w_ih, grad.w_ih + G * I, T(0));
    if (I > 0) gemm<T>(true, false, G, I, rows, T(1), da.data(), G, x, I, T(0), grad.w_ih, I);
  }
  if (grad.w_hh) {  // W̄_hh = Σ_t ā_tᵀ h_{t-1}: the steps after the first read the output
    std::fill(grad.w_hh, grad.w_hh + G * H, T(0));
    const std::int64_t first = d.step(0);
    if (T_ > 1) {
      // Forwards, ā_t for t ≥ 1 meets h_{t-1} = out[t-1]; reversed, ā_t for t ≤ T−2
      // meets out[t+1]. Either way two equally long contiguous blocks.
      const T* da_block = da.data() + (d.reverse ? 0 : B * G);
      const T* h_block = out + (d.reverse ? BH : 0);
      gemm<T>(true, false, G, H, (T_ - 1) * B, T(1), da_block, G, h_block, H, T(0), grad.w_hh, H);
    }
    if (h0)  // the first step visited meets h0
      gemm<T>(true, false, G, H, B, T(1), da.data() + first * B * G, G, h0, H, T(1), grad.w_hh, H);
  }
  if (grad.bias) {  // b̄ = Σ_{t,b} ā
    std::fill(grad.bias, grad.bias + G, T(0));
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < G; ++j) grad.bias[j] += da[static_cast<std::size_t>(r * G + j)];
  }
}

/// The saved tensor, or an undefined one for an optional input that was not given.
Tensor get_if(const SavedTensor& saved, bool defined) { return defined ? saved.get() : Tensor(); }

/// A contiguous, detached copy (or view) of t; undefined stays undefined.
Tensor raw(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

}  // namespace

std::tuple<Tensor, Tensor, Tensor> lstm_layer_reference(const Tensor& x, const Tensor& h0,
                                                        const Tensor& c0, const Tensor& w_ih,
                                                        const Tensor& w_hh, const Tensor& b_ih,
                                                        const Tensor& b_hh, bool reverse) {
  const LstmDims d = check_lstm_args("lstm_layer_reference", x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse);
  const Tensor x_proj = linear(x, w_ih, b_ih);  // W_ih x_t + b_ih for every t: (T, B, 4H)
  Tensor h = h0.defined() ? h0 : zeros({d.B, d.H}, x.dtype());
  Tensor c = c0.defined() ? c0 : zeros({d.B, d.H}, x.dtype());
  std::vector<Tensor> outputs(static_cast<std::size_t>(d.T));
  for (std::int64_t s = 0; s < d.T; ++s) {
    const std::int64_t t = d.step(s);
    const Tensor a = x_proj.select(0, t) + linear(h, w_hh, b_hh);  // (B, 4H)
    const std::vector<Tensor> gate = chunk(a, 4, 1);              // a^i, a^f, a^g, a^o
    const Tensor i = sigmoid(gate[0]), f = sigmoid(gate[1]);
    const Tensor g = tanh(gate[2]), o = sigmoid(gate[3]);
    c = f * c + i * g;
    h = o * tanh(c);
    outputs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outputs, 0), h, c};
}

std::tuple<Tensor, Tensor, Tensor> lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                              const Tensor& w_ih, const Tensor& w_hh,
                                              const Tensor& b_ih, const Tensor& b_hh,
                                              bool reverse) {
  const LstmDims d = check_lstm_args("lstm_layer", x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse);
  const Tensor xc = raw(x), h0c = raw(h0), c0c = raw(c0), wih = raw(w_ih), whh = raw(w_hh);
  const Tensor bih = raw(b_ih), bhh = raw(b_hh);
  const DType dtype = x.dtype();
  Tensor gates = empty({d.T, d.B, 4 * d.H}, dtype);
  Tensor cells = empty({d.T, d.B, d.H}, dtype);
  Tensor out = empty({d.T, d.B, d.H}, dtype);
  dispatch_floating(dtype, "lstm_layer", [&](auto tag) {
    using T = decltype(tag);
    lstm_forward_kernel<T>(d, xc.data_ptr<T>(), data_or_null<T>(h0c), data_or_null<T>(c0c),
                           wih.data_ptr<T>(), whh.data_ptr<T>(), data_or_null<T>(bih),
                           data_or_null<T>(bhh), gates.data_ptr<T>(), cells.data_ptr<T>(),
                           out.data_ptr<T>());
  });
  const std::int64_t last = d.step(d.T - 1);
  // h_n and c_n are copies, so that each output has storage of its own.
  Tensor h_n = out.select(0, last).clone();
  Tensor c_n = cells.select(0, last).clone();

  const std::vector<Tensor> inputs = {x, h0, c0, w_ih, w_hh, b_ih, b_hh};
  if (!any_requires_grad(inputs)) return {out, h_n, c_n};
  auto save = [](const Tensor& t) { return t.defined() ? SavedTensor::input(t) : SavedTensor(); };
  record_multi(
      "lstm_layer", inputs, {out, h_n, c_n},
      [d, has = std::array<bool, 4>{h0.defined(), c0.defined(), b_ih.defined(), b_hh.defined()},
       sx = save(x), sh0 = save(h0), sc0 = save(c0), swih = save(w_ih), swhh = save(w_hh),
       sbih = save(b_ih), sbhh = save(b_hh), sgates = save(gates), scells = save(cells),
       sout = save(out.detach())](const Grads& g, const std::vector<bool>& needs) {
        const Tensor x = sx.get(), w_ih = swih.get(), w_hh = swhh.get();
        Grads grads(7);
        if (GradMode::is_enabled()) {
          // create_graph: the gradients must themselves be differentiable. Rebuild the
          // composed reference on the same inputs and let the engine differentiate it.
          const std::vector<Tensor> in = {x, get_if(sh0, has[0]), get_if(sc0, has[1]), w_ih,
                                          w_hh, get_if(sbih, has[2]), get_if(sbhh, has[3])};
          std::vector<Tensor> wrt;
          for (std::size_t k = 0; k < in.size(); ++k)
            if (needs[k]) wrt.push_back(in[k]);
          const auto [y, hn, cn] =
              lstm_layer_reference(in[0], in[1], in[2], in[3], in[4], in[5], in[6], d.reverse);
          const std::vector<Tensor> found =
              autograd::grad({y, hn, cn}, wrt, {g[0], g[1], g[2]}, {.create_graph = true});
          for (std::size_t k = 0, n = 0; k < in.size(); ++k)
            if (needs[k]) grads[k] = found[n++];
          return grads;
        }
        const Tensor xc = raw(x), h0c = raw(get_if(sh0, has[0])), c0c = raw(get_if(sc0, has[1]));
        const Tensor wih = raw(w_ih), whh = raw(w_hh);
        const Tensor gy = raw(g[0]), ghn = raw(g[1]), gcn = raw(g[2]);
        const Tensor gates = sgates.get(), cells = scells.get(), out = sout.get();
        const DType dtype = x.dtype();
        if (needs[0]) grads[0] = empty(x.shape(), dtype);
        if (needs[1]) grads[1] = empty({d.B, d.H}, dtype);
        if (needs[2]) grads[2] = empty({d.B, d.H}, dtype);
        if (needs[3]) grads[3] = empty({4 * d.H, d.I}, dtype);
        if (needs[4]) grads[4] = empty({4 * d.H, d.H}, dtype);
        const bool need_bias = needs[5] || needs[6];
        Tensor bias_grad = need_bias ? empty({4 * d.H}, dtype) : Tensor();
        dispatch_floating(dtype, "lstm_layer backward", [&](auto tag) {
          using T = decltype(tag);
          auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
          const LstmGrads<T> out_grads{ptr(grads[0]), ptr(grads[1]), ptr(grads[2]),
                                       ptr(grads[3]), ptr(grads[4]), ptr(bias_grad)};
          lstm_backward_kernel<T>(d, xc.data_ptr<T>(), data_or_null<T>(h0c),
                                  data_or_null<T>(c0c), wih.data_ptr<T>(), whh.data_ptr<T>(),
                                  gates.data_ptr<T>(), cells.data_ptr<T>(), out.data_ptr<T>(),
                                  gy.data_ptr<T>(), ghn.data_ptr<T>(), gcn.data_ptr<T>(),
                                  out_grads);
        });
        if (needs[5]) grads[5] = bias_grad;
        if (needs[6]) grads[6] = needs[5] ? bias_grad.clone() : bias_grad;
        return grads;
      });
  return {out, h_n, c_n};
}

}  // namespace zoo
