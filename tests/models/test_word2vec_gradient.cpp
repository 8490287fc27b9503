// The hand-written skip-gram negative-sampling update against zoo's autograd: the loss
// −log σ(u_o·v_c) − Σ_k log σ(−u_k·v_c), summed over a small batch of pairs, built with
// zoo tensors in float64 and differentiated by the engine, gives the same gradients as
// word2vec's `output_step` (the code that trains), run in float64 with the exact sigmoid.
#include <catch2/catch.hpp>

#include <random>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/ops.h"
#include "models/word2vec/model.h"
#include "models/word2vec/train.h"

using namespace zoo;
using namespace zoo::models::word2vec;

namespace {

constexpr std::int64_t V = 12, D = 8, B = 6, K = 4;

struct Batch {
  std::vector<std::int64_t> centre, target;  // B input words c, B output words o
  std::vector<std::int64_t> negatives;       // B × K, distinct and ≠ o within a pair
};

Batch make_batch(std::mt19937& rng) {
  Batch b;
  for (std::int64_t i = 0; i < B; ++i) {
    b.centre.push_back(static_cast<std::int64_t>(rng() % V));
    b.target.push_back(static_cast<std::int64_t>(rng() % V));
    std::vector<std::int64_t> pool;
    for (std::int64_t w = 0; w < V; ++w)
      if (w != b.target.back()) pool.push_back(w);
    std::shuffle(pool.begin(), pool.end(), rng);
    b.negatives.insert(b.negatives.end(), pool.begin(), pool.begin() + K);
  }
  return b;
}

/// The batch's loss with zoo tensors: the autograd side.
Tensor sgns_loss(const Tensor& w_in, const Tensor& w_out, const Batch& b) {
  const Tensor v = embedding(w_in, from_vector(b.centre));                        // [B, D]
  const Tensor u_o = embedding(w_out, from_vector(b.target));                     // [B, D]
  const Tensor u_k = embedding(w_out, from_vector(b.negatives, {B, K}));          // [B, K, D]
  const Tensor positive = sum(mul(v, u_o), {1});                                  // [B]: u_o·v
  const Tensor negative = sum(mul(v.unsqueeze(1), u_k), {2});                     // [B, K]: u_k·v
  return neg(add(sum(log(sigmoid(positive))), sum(log(sigmoid(neg(negative))))));
}

/// The same gradients from the trainer's update, pair by pair at the same parameters:
/// with learning rate `alpha`, the increments are −alpha × the gradient.
void hand_written(const std::vector<double>& w_in, const std::vector<double>& w_out, const Batch& b, double alpha,
                  std::vector<double>& step_in, std::vector<double>& step_out) {
  step_in.assign(w_in.size(), 0.0);
  step_out.assign(w_out.size(), 0.0);
  for (std::int64_t i = 0; i < B; ++i) {
    std::vector<double> out = w_out;  // this pair's own copy: each pair starts from the same parameters
    std::vector<double> v_update(D, 0.0);
    const double* v = w_in.data() + b.centre[i] * D;
    output_step<OutputKind::negative_sampling>(v, out.data() + b.target[i] * D, 1.0, alpha, v_update.data(), D,
                                               ExactSigmoid{});
    for (std::int64_t k = 0; k < K; ++k)
      output_step<OutputKind::negative_sampling>(v, out.data() + b.negatives[i * K + k] * D, 0.0, alpha,
                                                 v_update.data(), D, ExactSigmoid{});
    for (std::int64_t d = 0; d < D; ++d) step_in[b.centre[i] * D + d] += v_update[d];
    for (std::size_t j = 0; j < out.size(); ++j) step_out[j] += out[j] - w_out[j];
  }
}

}  // namespace

TEST_CASE("word2vec: the skip-gram negative-sampling update is the gradient autograd computes", "[word2vec]") {
  std::mt19937 rng(2024);
  std::normal_distribution<double> normal(0.0, 0.6);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> w_in(V * D), w_out(V * D);
    for (auto& x : w_in) x = normal(rng);
    for (auto& x : w_out) x = normal(rng);
    const Batch batch = make_batch(rng);

    const Tensor t_in = from_vector(w_in, {V, D}).requires_grad_();
    const Tensor t_out = from_vector(w_out, {V, D}).requires_grad_();
    const std::vector<Tensor> g = autograd::grad({sgns_loss(t_in, t_out, batch)}, {t_in, t_out});
    const std::vector<double> g_in = g[0].to_vector<double>(), g_out = g[1].to_vector<double>();

    for (const double alpha : {1.0, 0.025}) {
      std::vector<double> step_in, step_out;
      hand_written(w_in, w_out, batch, alpha, step_in, step_out);
      for (std::size_t j = 0; j < g_in.size(); ++j) REQUIRE(step_in[j] == Approx(-alpha * g_in[j]).margin(1e-12));
      for (std::size_t j = 0; j < g_out.size(); ++j) REQUIRE(step_out[j] == Approx(-alpha * g_out[j]).margin(1e-12));
    }
  }
}

TEST_CASE("word2vec: the trainer's float update with the sigmoid table is close to the exact one", "[word2vec]") {
  // The same step in float with word2vec.c's table: the table's cells are 0.012 wide, so
  // σ is off by at most 0.003 and the update by that times |u| or |v|.
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.4f);
  const SigmoidTable table;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> v(D), u(D);
    for (auto& x : v) x = normal(rng);
    for (auto& x : u) x = normal(rng);
    const float label = static_cast<float>(trial % 2);
    std::vector<double> vd(v.begin(), v.end()), ud(u.begin(), u.end()), exact_update(D, 0.0);
    std::vector<float> u_table = u, table_update(D, 0.0f);
    output_step<OutputKind::negative_sampling>(vd.data(), ud.data(), double(label), 1.0, exact_update.data(), D,
                                               ExactSigmoid{});
    output_step<OutputKind::negative_sampling>(v.data(), u_table.data(), label, 1.0f, table_update.data(), D, table);
    for (std::int64_t d = 0; d < D; ++d) {
      REQUIRE(std::abs(table_update[d] - exact_update[d]) <= 0.004 * std::abs(u[d]) + 1e-6);
      REQUIRE(std::abs((u_table[d] - u[d]) - (ud[d] - u[d])) <= 0.004 * std::abs(v[d]) + 1e-6);
    }
  }
  // Outside (−6, 6) negative sampling saturates and hierarchical softmax skips the node.
  std::vector<float> v(D, 1.0f), u(D, 1.0f), update(D, 0.0f);  // u·v = 8
  output_step<OutputKind::negative_sampling>(v.data(), u.data(), 0.0f, 0.5f, update.data(), D, table);
  CHECK(update[0] == -0.5f);  // g = (0 − 1) · 0.5
  std::vector<float> u2(D, 1.0f), update2(D, 0.0f);
  output_step<OutputKind::hierarchical_softmax>(v.data(), u2.data(), 0.0f, 0.5f, update2.data(), D, table);
  CHECK(update2[0] == 0.0f);
  CHECK(u2[0] == 1.0f);
}
