// Tutorial 10: recurrent networks. Backpropagation through time by hand on a scalar RNN,
// checked against the engine; vanishing gradients measured (the gradient norm that
// reaches early steps in an RNN and in an LSTM); the LSTM's gates, and the fused LSTM
// against its composed reference; a character language model with truncated BPTT, and
// samples from it. Read README.md alongside.
//
// Run: ./tutorial_10_rnn_lstm   (trains the character model on data/brown for 600 steps
// if data/fetch_brown.sh has put it there; CTest runs it with --quick, which trains on a
// short built-in text in about a second; --metrics-dir DIR also writes the gradient norms
// of 10.2 for `zoo plot`, as README.md shows)

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/char_lstm/model.h"
#include "models/char_lstm/train.h"
#include "models/common/metrics.h"
#include "nn/layers.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------
// 10.1 Backpropagation through time, by hand
// ---------------------------------------------------------------------------

void bptt_by_hand(lesson::Lesson& L) {
  L.section("10.1 Backpropagation through time, by hand");
  // A scalar RNN h_t = tanh(w h_{t-1} + u x_t), h_0 = 0, loss = h_T.
  const std::vector<double> x = {1.0, -0.5, 0.25, 2.0, -1.0};
  const double w = 0.8, u = 0.6;
  const std::size_t T = x.size();
  // Forward, keeping every h_t.
  std::vector<double> h(T + 1, 0.0);
  for (std::size_t t = 1; t <= T; ++t) h[t] = std::tanh(w * h[t - 1] + u * x[t - 1]);
  // Backward: δ_t = ∂L/∂h_t, from δ_T = 1 down; each step adds its share to w̄ and ū
  // and passes δ_{t-1} = δ_t (1 − h_t²) w to the step before.
  double dw = 0, du = 0, delta = 1.0;
  for (std::size_t t = T; t >= 1; --t) {
    const double da = delta * (1 - h[t] * h[t]);  // through tanh
    dw += da * h[t - 1];
    du += da * x[t - 1];
    delta = da * w;
  }
  fmt::print("  by hand:  h_T = {:.6f}, dL/dw = {:.6f}, dL/du = {:.6f}\n", h[T], dw, du);

  // The same with the engine: the loop builds the graph, backward walks it in reverse.
  Tensor tw = full({}, w, kFloat64).requires_grad_(), tu = full({}, u, kFloat64).requires_grad_();
  Tensor th = zeros({}, kFloat64);
  for (std::size_t t = 0; t < T; ++t) th = tanh(tw * th + tu * x[t]);
  th.backward();
  fmt::print("  autograd: h_T = {:.6f}, dL/dw = {:.6f}, dL/du = {:.6f}\n", th.item(),
             tw.grad().item(), tu.grad().item());
  L.check(std::fabs(tw.grad().item() - dw) < 1e-12 && std::fabs(tu.grad().item() - du) < 1e-12,
          "the hand-written BPTT equals the engine's gradients");
}

// ---------------------------------------------------------------------------
// 10.2 Vanishing gradients
// ---------------------------------------------------------------------------

/// ‖∂(Σ h_T)/∂x_t‖ for every t: how much the last state still feels each input.
template <class Run>
std::vector<double> gradient_reach(const Tensor& x0, Run run) {
  Tensor x = x0.clone().requires_grad_();
  run(x).sum().backward();
  const Tensor g = x.grad();  // (T, 1, I)
  std::vector<double> norms;
  for (std::int64_t t = 0; t < g.size(0); ++t) norms.push_back(std::sqrt(square(g[t]).sum().item()));
  return norms;
}

/// With `--metrics-dir DIR`: one model's gradient reach as
/// `DIR/10.2-gradient-reach/<name>/metrics.jsonl`, one record {"steps_back": k,
/// "gradient_norm": ‖∂(Σ h_T)/∂x_{T−k}‖} per input, for `zoo plot` (the chart in README.md).
void save_reach(const lesson::Lesson& L, const std::string& name, const std::vector<double>& norms) {
  if (L.metrics_dir().empty()) return;
  models::MetricsWriter metrics((fs::path(L.metrics_dir()) / "10.2-gradient-reach" / name).string());
  for (std::size_t back = 0; back < norms.size(); ++back)
    metrics.write({{"steps_back", back}, {"gradient_norm", norms[norms.size() - 1 - back]}});
}

void vanishing_gradients(lesson::Lesson& L) {
  L.section("10.2 Vanishing gradients: what reaches the early steps");
  const std::int64_t T = 60, H = 32, I = 8;
  manual_seed(10);
  const Tensor x = randn({T, 1, I}, kFloat64);
  nn::RNN rnn(I, H);
  nn::LSTM lstm(I, H);
  nn::LSTM remembering(I, H);
  rnn.to(kFloat64);
  lstm.to(kFloat64);
  remembering.to(kFloat64);
  remembering.load_state_dict(lstm.state_dict());
  {
    // Forget-gate bias +3 (rows H..2H of b_ih): f = σ(≈3) ≈ 0.95, the cell keeps its past.
    NoGradGuard no_grad;
    remembering.all_weights[0][2].narrow(0, H, H).fill_(3.0);
  }
  const auto r = gradient_reach(x, [&](const Tensor& v) { return std::get<1>(rnn.forward(v)); });
  const auto l = gradient_reach(x, [&](const Tensor& v) { return std::get<0>(std::get<1>(lstm.forward(v))); });
  const auto m =
      gradient_reach(x, [&](const Tensor& v) { return std::get<0>(std::get<1>(remembering.forward(v))); });
  save_reach(L, "RNN", r);
  save_reach(L, "LSTM", l);
  save_reach(L, "LSTM-forget-bias-3", m);
  fmt::print("  steps back   RNN (tanh)   LSTM (default init)   LSTM (forget bias 3)\n");
  for (std::int64_t back : {0, 5, 10, 20, 40, 59}) {
    const std::size_t t = static_cast<std::size_t>(T - 1 - back);
    fmt::print("  {:>10}   {:>10.2e}   {:>19.2e}   {:>20.2e}\n", back, r[t], l[t], m[t]);
  }
  L.check(r[0] < 1e-6 * r[T - 1], "the RNN: the gradient from 59 steps back has all but vanished");
  L.check(m[0] > 1e3 * r[0] && m[0] > 1e-3 * m[T - 1],
          "the LSTM with open forget gates still feels the first input");
}

// ---------------------------------------------------------------------------
// 10.3 The gates, and the fused LSTM
// ---------------------------------------------------------------------------

void gates(lesson::Lesson& L) {
  L.section("10.3 The gates; the fused LSTM against its reference");
  // One LSTMCell step with zero weights: the gates are σ or tanh of the biases alone.
  nn::LSTMCell cell(2, 1);
  cell.to(kFloat64);
  {
    NoGradGuard no_grad;
    cell.weight_ih.zero_();
    cell.weight_hh.zero_();
    cell.bias_hh.zero_();
    cell.bias_ih.copy_(tensor({0, std::log(3.0), std::atanh(0.5), 0}, kFloat64));  // i f g o
  }
  const auto [h, c] = cell.forward(zeros({1, 2}, kFloat64),
                                   {zeros({1, 1}, kFloat64), full({1, 1}, 2.0, kFloat64)});
  fmt::print("  i = 1/2, f = 3/4, g = 1/2, o = 1/2, c = 2:  c' = {:.4f}, h' = {:.4f}\n",
             c.item(), h.item());
  L.check(std::fabs(c.item() - 1.75) < 1e-12, "c' = f c + i g = 3/4·2 + 1/2·1/2 = 1.75");

  // The fused op and the composed reference: same values, same gradients.
  manual_seed(11);
  const Tensor x0 = randn({12, 4, 6}, kFloat64);
  nn::LSTM fused(nn::LSTMOptions(6, 5).num_layers(2));
  nn::LSTM composed(nn::LSTMOptions(6, 5).num_layers(2).fused(false));
  fused.to(kFloat64);
  composed.to(kFloat64);
  composed.load_state_dict(fused.state_dict());
  double worst = 0;
  std::vector<Tensor> grads;
  for (nn::LSTM* m : {&fused, &composed}) {
    Tensor x = x0.clone().requires_grad_();
    square(std::get<0>(m->forward(x))).sum().backward();
    grads.push_back(x.grad());
  }
  worst = amax(abs(grads[0] - grads[1])).item();
  fmt::print("  largest |x̄_fused − x̄_reference| over 12 steps, 2 layers: {:.1e}\n", worst);
  L.check(worst < 1e-12, "the fused backward through time equals the reference's");
}

// ---------------------------------------------------------------------------
// 10.4 A character language model
// ---------------------------------------------------------------------------

void char_model(lesson::Lesson& L) {
  L.section("10.4 A character language model with truncated BPTT");
  const fs::path brown = fs::path(ZOO_SOURCE_DIR) / "data" / "brown";
  const bool real = !L.quick() && fs::exists(brown / "train.txt");
  models::CharLstmOptions o;
  o.quiet = true;
  o.out = (fs::temp_directory_path() / "zoo-tutorial-10").string();
  if (real) {
    o.data_dir = brown.string();
    o.steps = 600;
    o.eval_every = 600;
    o.valid_bytes = 50000;
  } else {
    if (!L.quick()) fmt::print("  (no data/brown: run data/fetch_brown.sh; using a built-in text)\n");
    const fs::path dir = fs::temp_directory_path() / "zoo-tutorial-10-data";
    fs::create_directories(dir);
    std::string text;
    for (int i = 0; i < 300; ++i) text += "the cat sat on the mat. the dog sat on the log.\n";
    std::ofstream(dir / "train.txt") << text;
    std::ofstream(dir / "valid.txt") << text.substr(0, 2000);
    o.data_dir = dir.string();
    o.model = {.embed_dim = 16, .hidden_size = 64};
    o.batch_size = 8;
    o.seq_len = 32;
    o.steps = 200;
    o.eval_every = 200;
    o.lr = 1e-2;
  }
  const models::CharLstmResult r = models::train_char_lstm(o);
  fmt::print("  {} steps of B = {} streams × T = {} bytes: validation {:.3f} bits per character\n",
             r.steps, o.batch_size, o.seq_len, r.valid_bpc);
  L.check(r.valid_bpc < 8.0 * 0.6, "far below the 8 bits of a uniform guess over bytes");
  auto model = models::load_char_lstm(o.out + "/model.safetensors");
  for (double temperature : {0.5, 1.0}) {
    Generator gen(1);
    fmt::print("  temperature {}: {:?}\n", temperature,
               models::sample_text(*model, "The ", 120, temperature, gen));
  }
  Generator a(5), b(5);
  L.check(models::sample_text(*model, "The ", 60, 0.8, a) == models::sample_text(*model, "The ", 60, 0.8, b),
          "a seed gives the same sample");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    bptt_by_hand(L);
    vanishing_gradients(L);
    gates(L);
    char_model(L);
  });
}
