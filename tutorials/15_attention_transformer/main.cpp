// Tutorial 15: attention and the transformer. Attention by hand on four tokens, checked
// against attention_reference; the online softmax of FlashAttention by hand, the fused
// kernel against the reference in value and gradient, and the memory it saves; RoPE's
// relative positions; causality in the whole model; the model's pieces (RMSNorm, SwiGLU,
// tied embedding) and its parameter count; gradient checkpointing, same gradients for
// less memory; generation with a KV cache; training a small model. Read README.md alongside.
//
// Run: ./tutorial_15_attention_transformer   (section 15.8 trains on data/brown for 250
// steps if data/fetch_brown.sh has put it there, about a minute on one core; CTest runs
// it with --quick, which trains on a small generated text in about a second)

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "autograd/ops.h"
#include "autograd/storage.h"
#include "lesson.h"
#include "models/bpe/model_file.h"
#include "models/transformer/data.h"
#include "models/transformer/generate.h"
#include "models/transformer/model.h"
#include "models/transformer/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

using Matrix = std::vector<std::vector<double>>;
constexpr double kInf = std::numeric_limits<double>::infinity();

double max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(a - b)).item(); }

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_matrix(const char* name, const Matrix& m) {
  fmt::print("  {} =\n", name);
  for (const auto& row : m) {
    fmt::print("    ");
    for (double x : row) {
      if (std::isinf(x))
        fmt::print("{:>9}", x < 0 ? "-inf" : "inf");
      else
        fmt::print("{:9.4f}", x);
    }
    fmt::print("\n");
  }
}

/// (rows × cols) values as a float64 tensor of shape (1, 1, rows, cols): one batch, one head.
Tensor as_head(const Matrix& m) {
  std::vector<double> flat;
  for (const auto& row : m) flat.insert(flat.end(), row.begin(), row.end());
  return from_vector(flat, {1, 1, static_cast<std::int64_t>(m.size()), static_cast<std::int64_t>(m[0].size())});
}

// ---------------------------------------------------------------------------
// 15.1 Attention by hand
// ---------------------------------------------------------------------------

void attention_by_hand(lesson::Lesson& L) {
  L.section("15.1 Attention by hand: scores, mask, softmax, weighted sum");
  // Four tokens, heads of D = 2 features. Row i of Q is what token i looks for, row j of
  // K what token j offers, row j of V what it passes on when chosen.
  const Matrix Q = {{1.0, 0.0}, {0.0, 2.0}, {1.0, 1.0}, {-1.0, 0.5}};
  const Matrix K = {{1.0, 0.5}, {0.0, 1.0}, {2.0, 0.0}, {-1.0, -1.0}};
  const Matrix V = {{1.0, 0.0}, {0.0, 1.0}, {2.0, 2.0}, {-1.0, 3.0}};
  const std::size_t T = Q.size(), D = Q[0].size();
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  // S = QKᵀ/√D, then −∞ above the diagonal: token i may look at j ≤ i only.
  Matrix S(T, std::vector<double>(T)), P(T, std::vector<double>(T)), O(T, std::vector<double>(D, 0.0));
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t j = 0; j < T; ++j) {
      double dot = 0;
      for (std::size_t d = 0; d < D; ++d) dot += Q[i][d] * K[j][d];
      S[i][j] = j <= i ? dot * scale : -kInf;
    }
  // P = softmax of each row (e^{−∞} = 0: the future gets no weight), O = PV.
  for (std::size_t i = 0; i < T; ++i) {
    double m = -kInf, l = 0;
    for (double s : S[i]) m = std::max(m, s);
    for (std::size_t j = 0; j < T; ++j) l += P[i][j] = std::exp(S[i][j] - m);
    for (std::size_t j = 0; j < T; ++j) {
      P[i][j] /= l;
      for (std::size_t d = 0; d < D; ++d) O[i][d] += P[i][j] * V[j][d];
    }
  }
  print_matrix("S = QK^T/sqrt(D) + M", S);
  print_matrix("P = softmax(S) (rows sum to 1)", P);
  print_matrix("O = PV", O);
  const Tensor engine = attention_reference(as_head(Q), as_head(K), as_head(V), /*causal=*/true);
  const double diff = max_abs_diff(engine, as_head(O));
  fmt::print("  largest |O_by_hand - attention_reference| = {:.1e}\n", diff);
  L.check(diff < 1e-14, "attention by hand equals attention_reference (causal)");
  L.check(O[0][0] == V[0][0] && O[0][1] == V[0][1], "the first token sees only itself: its output is its own value");
}

// ---------------------------------------------------------------------------
// 15.2 The online softmax, the fused kernel, the memory it saves
// ---------------------------------------------------------------------------

/// One query's attention output Σ_j softmax(s)_j v_j, the keys read in blocks of `block`
/// with a running maximum m, a running sum l and an unnormalised output o.
std::vector<double> online_softmax_output(const std::vector<double>& s, const Matrix& v, std::size_t block,
                                          bool verbose) {
  double m = -kInf, l = 0;
  std::vector<double> o(v[0].size(), 0.0);
  for (std::size_t start = 0; start < s.size(); start += block) {
    const std::size_t end = std::min(start + block, s.size());
    double m_new = m;
    for (std::size_t j = start; j < end; ++j) m_new = std::max(m_new, s[j]);
    const double rescale = std::exp(m - m_new);  // what was summed relative to m, now relative to m_new
    l *= rescale;
    for (double& x : o) x *= rescale;
    for (std::size_t j = start; j < end; ++j) {
      const double p = std::exp(s[j] - m_new);
      l += p;
      for (std::size_t d = 0; d < o.size(); ++d) o[d] += p * v[j][d];
    }
    m = m_new;
    if (verbose)
      fmt::print("  keys {}..{}: m = {:.2f}, rescale e^(m_old - m) = {:.4f}, l = {:.4f}, o = ({:.4f}, {:.4f})\n",
                 start, end - 1, m, rescale, l, o[0], o[1]);
  }
  for (double& x : o) x /= l;
  return o;
}

struct AttentionRun {
  Tensor o, dq, dk, dv;
};

AttentionRun run_attention(bool fused, const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& w,
                           bool causal) {
  Tensor q = q0.clone().requires_grad_(), k = k0.clone().requires_grad_(), v = v0.clone().requires_grad_();
  const Tensor o = fused ? scaled_dot_product_attention(q, k, v, causal) : attention_reference(q, k, v, causal);
  sum(o * w).backward();
  return {o.detach(), q.grad(), k.grad(), v.grad()};
}

void online_softmax(lesson::Lesson& L) {
  L.section("15.2 The online softmax, and the fused kernel");
  // One query row: ten scores and the ten keys' values (D = 2), read in blocks of 4.
  const std::vector<double> s = {0.3, 1.2, -0.7, 2.5, 0.1, 3.1, 1.7, -1.0, 2.9, 0.4};
  Matrix v;
  for (std::size_t j = 0; j < s.size(); ++j)
    v.push_back({std::sin(static_cast<double>(j)), std::cos(static_cast<double>(j))});
  const std::vector<double> online = online_softmax_output(s, v, 4, true);
  // The one-pass softmax, with the whole row at hand.
  double m = -kInf, l = 0;
  for (double x : s) m = std::max(m, x);
  for (double x : s) l += std::exp(x - m);
  std::vector<double> one_pass(2, 0.0);
  for (std::size_t j = 0; j < s.size(); ++j)
    for (std::size_t d = 0; d < 2; ++d) one_pass[d] += std::exp(s[j] - m) / l * v[j][d];
  fmt::print("  online: ({:.12f}, {:.12f})\n  one pass: ({:.12f}, {:.12f})\n", online[0], online[1], one_pass[0],
             one_pass[1]);
  L.check(std::fabs(online[0] - one_pass[0]) < 1e-14 && std::fabs(online[1] - one_pass[1]) < 1e-14,
          "the softmax over blocks with a running max and sum equals the one-pass softmax");
  // The running maximum is not a detail: shift every score by 1000 (softmax does not
  // change) and e^s overflows, while the online form still gives the same output.
  std::vector<double> shifted = s;
  for (double& x : shifted) x += 1000;
  double naive_sum = 0;
  for (double x : shifted) naive_sum += std::exp(x);
  const std::vector<double> online_shifted = online_softmax_output(shifted, v, 4, false);
  fmt::print("  scores + 1000: sum of e^s = {}, online output ({:.12f}, {:.12f})\n", naive_sum, online_shifted[0],
             online_shifted[1]);
  L.check(std::isinf(naive_sum) && std::fabs(online_shifted[0] - online[0]) < 1e-12 &&
              std::fabs(online_shifted[1] - online[1]) < 1e-12,
          "subtracting the running max keeps e^(s - m) <= 1: no overflow, same output");

  // The fused kernel does this for whole blocks of 128 keys with GEMMs. T = 300 is off
  // the block grid on purpose (128 + 128 + 44).
  Generator gen(15);
  const Tensor q = randn({2, 3, 300, 16}, kFloat64, gen), k = randn({2, 3, 300, 16}, kFloat64, gen),
               v3 = randn({2, 3, 300, 16}, kFloat64, gen), w = randn({2, 3, 300, 16}, kFloat64, gen);
  for (bool causal : {true, false}) {
    const AttentionRun a = run_attention(true, q, k, v3, w, causal), b = run_attention(false, q, k, v3, w, causal);
    const double dout = max_abs_diff(a.o, b.o);
    const double dgrad = std::max({max_abs_diff(a.dq, b.dq), max_abs_diff(a.dk, b.dk), max_abs_diff(a.dv, b.dv)});
    fmt::print("  {}: largest |fused - reference|: output {:.1e}, gradients of q, k, v {:.1e}\n",
               causal ? "causal    " : "not causal", dout, dgrad);
    L.check(dout < 1e-12 && dgrad < 1e-12,
            causal ? "fused = reference, value and gradient (causal, float64)"
                   : "fused = reference, value and gradient (not causal, float64)");
  }

  // The memory: the reference stores (B, H, T, T) scores and probabilities for backward;
  // the fused kernel stores O and one log-sum-exp per row.
  const std::int64_t B = 4, H = 4, T = 512, D = 32;
  const Tensor q32 = randn({B, H, T, D}, kFloat32, gen), k32 = randn({B, H, T, D}, kFloat32, gen),
               v32 = randn({B, H, T, D}, kFloat32, gen), w32 = randn({B, H, T, D}, kFloat32, gen);
  const std::size_t scores_bytes = static_cast<std::size_t>(B * H * T * T) * sizeof(float);
  const std::size_t qkv_bytes = static_cast<std::size_t>(B * H * T * D) * sizeof(float);
  fmt::print("  B = {}, H = {}, T = {}, D = {}, float32: one (B, H, T, T) matrix is {:.1f} MiB, q (or k, v, o) "
             "{:.1f} MiB\n",
             B, H, T, D, mib(scores_bytes), mib(qkv_bytes));
  std::size_t peak[2] = {0, 0};
  for (bool fused : {false, true}) {
    const std::size_t before = storage_bytes_in_use();
    reset_storage_peak();
    const auto start = std::chrono::steady_clock::now();
    const AttentionRun r = run_attention(fused, q32, k32, v32, w32, true);
    const double seconds = seconds_since(start);
    peak[fused] = storage_peak_bytes() - before;
    fmt::print("  {}: peak {:6.1f} MiB above the inputs during forward + backward ({:.0f} ms)\n",
               fused ? "fused    " : "reference", mib(peak[fused]), 1000 * seconds);
  }
  fmt::print("  the fused kernel's peak is {:.1f}x smaller\n",
             static_cast<double>(peak[0]) / static_cast<double>(peak[1]));
  L.check(peak[1] < peak[0] && peak[1] < scores_bytes,
          "the fused kernel's peak is smaller, smaller even than one score matrix");
}

// ---------------------------------------------------------------------------
// 15.3 RoPE: relative positions
// ---------------------------------------------------------------------------

void rope(lesson::Lesson& L) {
  L.section("15.3 RoPE: the score depends on the offset only");
  Generator gen(153);
  const std::int64_t D = 8;
  const Tensor q = randn({1, 1, 1, D}, kFloat64, gen), k = randn({1, 1, 1, D}, kFloat64, gen);
  // The query at position p, the key at p + offset: rotary_embedding's position_offset
  // places a single row at any position.
  const auto score = [&](std::int64_t p, std::int64_t key_pos) {
    return sum(rotary_embedding(q, p) * rotary_embedding(k, key_pos)).item();
  };
  const std::vector<std::int64_t> positions = {0, 7, 100, 1000};
  fmt::print("  offset   q at 0     q at 7     q at 100   q at 1000  (score q~ . k~ with k at p + offset)\n");
  bool same = true, varies = false;
  for (std::int64_t offset : {-3, 0, 1, 2, 5, 20}) {
    fmt::print("  {:6}", offset);
    const double first = score(std::max<std::int64_t>(0, -offset), std::max<std::int64_t>(0, -offset) + offset);
    for (std::int64_t p : positions) {
      const std::int64_t qp = p + std::max<std::int64_t>(0, -offset);  // keep both positions >= 0
      const double x = score(qp, qp + offset);
      same = same && std::fabs(x - first) < 1e-12;
      fmt::print("  {:9.6f}", x);
    }
    varies = varies || std::fabs(first - score(0, 0)) > 1e-3;
    fmt::print("\n");
  }
  L.check(same, "each row is constant: the score of a rotated pair depends on the offset, not on p");
  L.check(varies, "different offsets give different scores: the position is seen, relative to the query");
  const double norm_change = std::fabs(sum(square(rotary_embedding(q, 123))).item() - sum(square(q)).item());
  L.check(norm_change < 1e-12, "a rotation keeps the length of q");
  L.check(max_abs_diff(rotary_embedding(q, 42), rotary_embedding_reference(q, 42)) < 1e-14,
          "the fused rotary_embedding equals its definition with Tensor ops");
}

// ---------------------------------------------------------------------------
// 15.4 Causality in the whole model
// ---------------------------------------------------------------------------

models::TransformerConfig tiny_config() {
  models::TransformerConfig c;
  c.vocab_size = 37;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.context = 12;
  c.ffn_hidden = 24;
  return c;
}

/// The model's forward pass written out (Transformer::forward does the same), starting
/// from the embedded tokens, so that their gradient can be read.
Tensor forward_from_embeddings(models::Transformer& model, const Tensor& h0) {
  Tensor h = h0;
  for (std::size_t i = 0; i < model.blocks->size(); ++i)
    h = model.blocks->at<models::TransformerBlock>(i)->forward(h);
  return linear(model.norm->forward(h), model.embed->weight);  // tied: the embedding scores the tokens
}

void causality(lesson::Lesson& L) {
  L.section("15.4 Causality: no position sees the future");
  Generator gen(154);
  const Tensor tokens = randint(0, 37, {1, 10}, kInt64, gen);
  const std::int64_t t = 4;
  for (bool fused : {true, false}) {
    models::TransformerConfig c = tiny_config();
    c.fused_attention = fused;
    manual_seed(154);
    models::Transformer model(c);
    model.to(kFloat64);
    Tensor h0 = model.embed->forward(tokens).detach().requires_grad_();
    const Tensor logits = forward_from_embeddings(model, h0);
    if (fused) L.check(max_abs_diff(logits, model.forward(tokens)) == 0.0, "the written-out forward is the model's");
    sum(logits.narrow(1, t, 1)).backward();  // z_t, the logits at position t
    std::vector<double> norms;
    for (std::int64_t s = 0; s < 10; ++s) norms.push_back(std::sqrt(sum(square(h0.grad().narrow(1, s, 1))).item()));
    fmt::print("  {} attention, |dz_{}/dh_s| for s = 0..9: {::.2e}\n", fused ? "fused    " : "reference", t, norms);
    bool past = true, future = true;
    for (std::int64_t s = 0; s < 10; ++s) {
      if (s <= t)
        past = past && norms[s] > 0;
      else
        future = future && norms[s] == 0.0;
    }
    L.check(past && future, fused ? "fused: z_4 depends on h_0..h_4, and its gradient after 4 is exactly 0"
                                  : "reference: the same, exactly 0 after position 4");
  }
}

// ---------------------------------------------------------------------------
// 15.5 The model: RMSNorm, SwiGLU, the tied embedding, the parameter count
// ---------------------------------------------------------------------------

void the_model(lesson::Lesson& L) {
  L.section("15.5 The model: RMSNorm, SwiGLU, tied embedding, parameter count");
  Generator gen(155);
  // RMSNorm by hand: y = x / sqrt(mean(x^2) + eps) * g, no mean subtracted, no bias.
  const Tensor x = randn({3, 8}, kFloat64, gen) * 3.0 + 1.0;
  nn::RMSNorm norm(nn::RMSNormOptions(8).eps(1e-5));
  norm.to(kFloat64);
  {
    NoGradGuard no_grad;
    norm.weight.copy_(randn({8}, kFloat64, gen));
  }
  const Tensor by_hand = x / sqrt(mean(square(x), {1}, true) + 1e-5) * norm.weight;
  L.check(max_abs_diff(norm.forward(x), by_hand) < 1e-14, "RMSNorm: x / sqrt(mean(x^2) + eps) * g");
  // SwiGLU by hand: W2 (silu(W1 x) * W3 x), silu(a) = a sigmoid(a).
  models::SwiGLU ffn(8, 12);
  ffn.to(kFloat64);
  const Tensor a = matmul(x, ffn.w1->weight.t()), b = matmul(x, ffn.w3->weight.t());
  const Tensor swiglu = matmul(a * sigmoid(a) * b, ffn.w2->weight.t());
  L.check(max_abs_diff(ffn.forward(x), swiglu) < 1e-14, "SwiGLU: W2 (silu(W1 x) * W3 x)");

  // The CLI's default model (`zoo train transformer`).
  const models::TransformerConfig c;  // V 4096, d 256, L 4, H 4, ffn 768, context 128
  manual_seed(0);
  models::Transformer model(c);
  std::int64_t total = 0, embedding_like = 0;
  fmt::print("  zoo train transformer's model: V = {}, d = {}, L = {}, H = {}, f = {}\n", c.vocab_size, c.d_model,
             c.n_layers, c.n_heads, c.ffn_hidden);
  for (const auto& [name, p] : model.named_parameters()) {
    total += p.numel();
    if (p.shape() == Shape{c.vocab_size, c.d_model}) ++embedding_like;
    if (!name.starts_with("blocks.") || name.starts_with("blocks.0."))
      fmt::print("    {:<26} {:>12} {:>9}\n", name, fmt::format("{}", p.shape()), p.numel());
  }
  fmt::print("    (blocks.1 .. blocks.{} like blocks.0)\n", c.n_layers - 1);
  const std::int64_t d = c.d_model, V = c.vocab_size, f = c.ffn_hidden;
  const std::int64_t block = 2 * d + 4 * d * d + 3 * d * f;  // two gains, W_qkv and W_o, W1 W3 W2
  const std::int64_t formula = V * d + c.n_layers * block + d;
  fmt::print("  V d + L (2d + 4d^2 + 3 d f) + d = {} + {} x {} + {} = {}; named_parameters: {}\n", V * d, c.n_layers,
             block, d, formula, total);
  L.check(formula == total && total == models::active_parameters(c),
          "the formula, named_parameters() and active_parameters() agree");
  L.check(embedding_like == 1, "one (V, d) matrix: the output layer is the embedding (tied weights)");
  fmt::print("  the embedding is {:.0f}% of the parameters\n", 100.0 * static_cast<double>(V * d) / static_cast<double>(total));
}

// ---------------------------------------------------------------------------
// 15.6 Gradient checkpointing
// ---------------------------------------------------------------------------

/// One training step's loss on `tokens` (inputs all but the last, targets all but the first).
Tensor lm_loss(models::Transformer& model, const Tensor& tokens) {
  const std::int64_t B = tokens.size(0), T = tokens.size(1) - 1;
  const Tensor x = tokens.narrow(1, 0, T).contiguous(), y = tokens.narrow(1, 1, T).contiguous();
  return cross_entropy(model.forward(x).reshape({B * T, model.config.vocab_size}), y.reshape({B * T}));
}

void checkpointing(lesson::Lesson& L) {
  L.section("15.6 Gradient checkpointing: the same gradients for less memory");
  {
    models::TransformerConfig c = tiny_config();
    manual_seed(156);
    models::Transformer plain(c);
    plain.to(kFloat64);
    c.checkpoint_blocks = true;
    manual_seed(156);
    models::Transformer checkpointed(c);
    checkpointed.to(kFloat64);
    Generator gen(156);
    const Tensor tokens = randint(0, 37, {3, 13}, kInt64, gen);
    lm_loss(plain, tokens).backward();
    lm_loss(checkpointed, tokens).backward();
    double worst = 0;
    const auto a = plain.named_parameters(), b = checkpointed.named_parameters();
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, max_abs_diff(a[i].second.grad(), b[i].second.grad()));
    fmt::print("  largest difference between the parameters' gradients: {:.1e}\n", worst);
    L.check(worst < 1e-13, "checkpointed blocks give the plain gradients (float64)");
  }
  // The memory of one training step, plain and checkpointed, on a model whose blocks
  // hold much more than their inputs.
  models::TransformerConfig c;
  c.vocab_size = 512;
  c.d_model = L.quick() ? 64 : 128;
  c.n_layers = L.quick() ? 6 : 8;
  c.n_heads = 4;
  c.context = L.quick() ? 128 : 256;
  c.ffn_hidden = 3 * c.d_model;
  const std::int64_t B = L.quick() ? 4 : 8;
  Generator gen(1560);
  const Tensor tokens = randint(0, c.vocab_size, {B, c.context + 1}, kInt64, gen);
  const std::size_t stream = static_cast<std::size_t>(B * c.context * c.d_model) * sizeof(float);
  fmt::print("  d = {}, L = {}, f = {}, B = {}, T = {}: one (B, T, d) tensor is {:.2f} MiB\n", c.d_model, c.n_layers,
             c.ffn_hidden, B, c.context, mib(stream));
  std::size_t peak[2] = {0, 0}, held[2] = {0, 0};
  double loss[2] = {0, 0};
  for (bool ckpt : {false, true}) {
    c.checkpoint_blocks = ckpt;
    manual_seed(1561);
    models::Transformer model(c);
    const std::size_t before = storage_bytes_in_use();
    reset_storage_peak();
    const auto start = std::chrono::steady_clock::now();
    const Tensor l = lm_loss(model, tokens);
    held[ckpt] = storage_bytes_in_use() - before;
    l.backward();
    const double seconds = seconds_since(start);
    peak[ckpt] = storage_peak_bytes() - before;
    loss[ckpt] = l.item();
    fmt::print("  {}: held after the forward {:6.1f} MiB, peak {:6.1f} MiB, step {:.0f} ms (loss {:.6f})\n",
               ckpt ? "checkpointed" : "plain       ", mib(held[ckpt]), mib(peak[ckpt]), 1000 * seconds, loss[ckpt]);
  }
  fmt::print("  checkpointing keeps {:.1f}x less after the forward, and peaks {:.1f}x lower\n",
             static_cast<double>(held[0]) / static_cast<double>(held[1]),
             static_cast<double>(peak[0]) / static_cast<double>(peak[1]));
  L.check(loss[0] == loss[1], "the same loss (the forward computes the same thing)");
  L.check(peak[1] < peak[0], "the checkpointed step's peak memory is lower");
}

// ---------------------------------------------------------------------------
// 15.7 Generation with a KV cache
// ---------------------------------------------------------------------------

void kv_cache(lesson::Lesson& L) {
  L.section("15.7 Generation: the KV cache gives the same tokens, faster");
  models::TransformerConfig c;
  c.vocab_size = 512;
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.context = L.quick() ? 64 : 256;
  c.ffn_hidden = 192;
  manual_seed(157);
  models::Transformer model(c);
  model.to(kFloat64);  // float64, so that both ways round to the same logits' order
  const std::vector<std::int64_t> prompt = {1, 2, 3, 4, 5};
  models::GenerateOptions o;
  o.max_new_tokens = L.quick() ? 100 : 400;
  o.temperature = 1.0;
  o.top_k = 0;
  std::vector<std::int64_t> out[2];
  double seconds[2] = {0, 0};
  for (bool cache : {true, false}) {
    o.use_cache = cache;
    Generator gen(1570);
    const auto start = std::chrono::steady_clock::now();
    out[cache] = models::generate(model, prompt, o, gen);
    seconds[cache] = seconds_since(start);
  }
  fmt::print("  {} new tokens, context {}: with the cache {:.3f} s, recomputing the window {:.3f} s\n",
             o.max_new_tokens, c.context, seconds[1], seconds[0]);
  fmt::print("  first tokens: {}\n", fmt::join(out[1].begin(), out[1].begin() + 20, " "));
  L.check(out[0] == out[1], "the cached generation draws exactly the tokens of full recomputation");
}

// ---------------------------------------------------------------------------
// 15.8 Training
// ---------------------------------------------------------------------------

/// Sentences from a tiny grammar (subject, verb, object), as tests/models/test_transformer_train.cpp.
void write_grammar_text(const fs::path& dir) {
  const std::vector<std::string> subjects{"the cat", "a dog", "my friend", "the old man", "she"};
  const std::vector<std::string> verbs{"sees", "likes", "finds", "follows"};
  const std::vector<std::string> objects{"the ball", "a red bird", "the river", "him", "our house"};
  Generator gen(42);
  const auto text = [&](int sentences) {
    std::string s;
    for (int i = 0; i < sentences; ++i)
      s += subjects[gen.randint(0, 5)] + " " + verbs[gen.randint(0, 4)] + " " + objects[gen.randint(0, 5)] + " .\n";
    return s;
  };
  fs::create_directories(dir);
  std::ofstream(dir / "train.txt") << text(1500);
  std::ofstream(dir / "valid.txt") << text(100);
}

/// Cross-entropy per token of the validation text under the training text's token
/// frequencies (add-one smoothed): what a model that ignores the context can reach.
double unigram_loss(const models::TokenizedCorpus& corpus, std::int64_t V) {
  std::vector<double> count(static_cast<std::size_t>(V), 1.0);
  for (std::int64_t id : corpus.train) count[static_cast<std::size_t>(id)] += 1;
  const double total = static_cast<double>(corpus.train.size() + static_cast<std::size_t>(V));
  double nats = 0;
  for (std::int64_t id : corpus.valid) nats -= std::log(count[static_cast<std::size_t>(id)] / total);
  return nats / static_cast<double>(corpus.valid.size());
}

void training(lesson::Lesson& L) {
  L.section("15.8 Training a small language model");
  const fs::path brown = fs::path(ZOO_SOURCE_DIR) / "data" / "brown";
  const bool real = !L.quick() && fs::exists(brown / "train.txt");
  const fs::path tmp = fs::temp_directory_path();
  models::TransformerTrainOptions o;
  o.quiet = true;
  o.out = (tmp / "zoo-tutorial-15").string();
  fs::remove_all(o.out);
  if (real) {
    o.data_dir = brown.string();
    o.model.vocab_size = 2048;
    o.model.d_model = 128;
    o.model.n_layers = 4;
    o.model.n_heads = 4;
    o.model.context = 128;
    o.model.ffn_hidden = 384;
    o.batch_size = 16;
    o.steps = 250;
    o.warmup_steps = 25;
    o.lr = 3e-3;
    o.eval_every = 250;
    o.valid_bytes = 50000;
    // The BPE tokenizer of Brown, trained once and shared with tutorial 16.
    o.tokenizer = (tmp / "zoo-tutorial-brown-2048.bpe").string();
  } else {
    if (!L.quick()) fmt::print("  (no data/brown: run data/fetch_brown.sh; using a generated text)\n");
    const fs::path dir = tmp / "zoo-tutorial-15-data";
    write_grammar_text(dir);
    o.data_dir = dir.string();
    o.model.vocab_size = 300;
    o.model.d_model = 32;
    o.model.n_layers = 2;
    o.model.n_heads = 2;
    o.model.context = 16;
    o.model.ffn_hidden = 48;
    o.batch_size = 8;
    o.steps = 150;
    o.warmup_steps = 10;
    o.lr = 3e-3;
    o.eval_every = 150;
    o.tokenizer = (dir / "tokenizer.bpe").string();
    fs::remove(o.tokenizer);
  }
  const models::TransformerTrainResult r = models::train_transformer(o);
  const models::TokenizedCorpus corpus =
      models::tokenize_corpus(o.data_dir, o.model.vocab_size, o.tokenizer, o.train_bytes, o.valid_bytes);
  const double unigram = unigram_loss(corpus, o.model.vocab_size);
  fmt::print("  {}: {} parameters, {} steps of B = {} windows of T = {} tokens ({} tokens, {:.1f} s, {:.0f} tokens/s)\n",
             real ? "data/brown" : "generated grammar", r.parameters, r.steps, o.batch_size, o.model.context,
             r.tokens, r.seconds, r.tokens_per_second);
  fmt::print("  validation: {:.3f} nats per token, perplexity {:.1f}; token frequencies alone: {:.3f} nats "
             "(perplexity {:.1f}); uniform: ln {} = {:.3f}\n",
             r.valid_loss, r.valid_perplexity, unigram, std::exp(unigram), o.model.vocab_size,
             std::log(static_cast<double>(o.model.vocab_size)));
  L.check(r.valid_loss < unigram, "the model beats the token frequencies: it uses the context");
  if (!real) L.check(r.valid_loss < 1.5, "the grammar is learned: validation loss below 1.5 nats per token");
  // Samples from the saved model and tokenizer: greedy, then drawn at temperature 0.8.
  auto model = models::load_transformer(o.out + "/model.safetensors");
  const auto continue_text = [&](const std::string& prompt, double temperature, std::int64_t tokens) {
    const auto ids = corpus.tokenizer.encode(prompt);
    models::GenerateOptions g;
    g.max_new_tokens = tokens;
    g.temperature = temperature;
    Generator gen(158);
    const auto out = models::generate(*model, std::vector<std::int64_t>(ids.begin(), ids.end()), g, gen);
    return corpus.tokenizer.decode(std::vector<models::bpe::TokenId>(out.begin(), out.end()));
  };
  const std::string prompt = real ? "The jury said" : "the cat";
  fmt::print("  greedy: {:?}\n", continue_text(prompt, 0.0, real ? 30 : 8));
  fmt::print("  temperature 0.8, top-k 40: {:?}\n", continue_text(prompt, 0.8, real ? 60 : 30));
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    attention_by_hand(L);
    online_softmax(L);
    rope(L);
    causality(L);
    the_model(L);
    checkpointing(L);
    kv_cache(L);
    training(L);
  });
}
