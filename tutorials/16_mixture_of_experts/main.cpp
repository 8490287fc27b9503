// Tutorial 16: the mixture of experts. Routing by hand (top-k, softmax and sigmoid gates,
// capacity), checked against models::route; the batched dispatch written out and the
// layer against its per-token formula; why experts must be balanced, the Switch auxiliary
// loss and what its gradient does; DeepSeek-V3's auxiliary-loss-free bias, which settles
// with sigmoid affinities and cycles with softmax ones; active and total parameters; a
// dense model and a mixture of experts with the same active size, trained on the same
// tokens. Read README.md alongside.
//
// Run: ./tutorial_16_mixture_of_experts   (section 16.6 trains both models on data/brown
// for 200 steps if data/fetch_brown.sh has put it there, about a minute and a half on one
// core; CTest runs it with --quick, which trains them on a small generated text)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/transformer/moe.h"
#include "models/transformer/model.h"
#include "models/transformer/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(a - b)).item(); }

/// The ids of the k largest values, largest first (ties: lower id first), as route does.
std::vector<std::int64_t> top_k(const std::vector<double>& s, std::int64_t k) {
  std::vector<std::int64_t> ids(s.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](std::int64_t a, std::int64_t b) { return s[a] > s[b]; });
  ids.resize(static_cast<std::size_t>(k));
  return ids;
}

// ---------------------------------------------------------------------------
// 16.1 Routing by hand
// ---------------------------------------------------------------------------

void routing(lesson::Lesson& L) {
  L.section("16.1 Routing by hand: top-k, softmax and sigmoid gates, capacity");
  // Three tokens, four experts: the router's logits z = W_r x, one row per token.
  const std::vector<std::vector<double>> z = {{1.0, 2.5, 0.5, 2.0}, {3.0, 0.0, 1.0, -1.0}, {-0.5, 0.2, 0.4, 0.3}};
  const std::int64_t N = 3, E = 4, K = 2;
  std::vector<double> soft_flat, sig_flat;
  bool same = true;
  for (const char* gating : {"softmax", "sigmoid"}) {
    const bool softmax_gating = std::string(gating) == "softmax";
    fmt::print("  {} affinities, top-{}:\n", gating, K);
    std::vector<double> flat;
    std::vector<std::int64_t> chosen;
    std::vector<double> gates;
    for (const auto& row : z) {
      // Affinities: softmax over the experts, or a sigmoid for each expert on its own.
      std::vector<double> s(row.size());
      const double zmax = *std::max_element(row.begin(), row.end());
      double total = 0;
      for (std::size_t i = 0; i < row.size(); ++i)
        total += s[i] = softmax_gating ? std::exp(row[i] - zmax) : 1.0 / (1.0 + std::exp(-row[i]));
      if (softmax_gating)
        for (double& x : s) x /= total;
      // The K largest affinities; their gates are the affinities themselves (softmax, as
      // in DeepSeekMoE) or the affinities divided by their sum (sigmoid, DeepSeek-V3).
      const std::vector<std::int64_t> ids = top_k(s, K);
      double chosen_sum = 0;
      for (std::int64_t i : ids) chosen_sum += s[static_cast<std::size_t>(i)];
      for (std::int64_t i : ids) {
        chosen.push_back(i);
        gates.push_back(softmax_gating ? s[static_cast<std::size_t>(i)] : s[static_cast<std::size_t>(i)] / chosen_sum);
      }
      fmt::print("    s = {::.3f}  ->  experts {}, gates {::.3f} (sum {:.3f})\n", s, ids,
                 std::vector<double>(gates.end() - K, gates.end()),
                 gates[gates.size() - 2] + gates[gates.size() - 1]);
      flat.insert(flat.end(), s.begin(), s.end());
    }
    const models::Routing r = models::route(from_vector(flat, {N, E}), Tensor(), K, /*normalize=*/!softmax_gating);
    same = same && r.experts == chosen && max_abs_diff(r.gates, from_vector(gates, {N, K})) < 1e-15;
    (softmax_gating ? soft_flat : sig_flat) = flat;
  }
  L.check(same, "models::route chooses the same experts with the same gates, for both gatings");
  L.check(models::route(from_vector(soft_flat, {N, E}), Tensor(), K, false).experts ==
              models::route(from_vector(sig_flat, {N, E}), Tensor(), K, true).experts,
          "both are increasing in z: the same experts are chosen, only the gates differ");

  // Capacity: each expert takes at most C = ceil(c N K / E) assignments, in token order.
  const std::int64_t N2 = 8;
  Generator gen(161);
  Tensor scores = rand({N2, E}, kFloat64, gen);
  {
    NoGradGuard no_grad;
    scores.narrow(0, 0, 6).narrow(1, 0, 1).add_(1.0);  // tokens 0..5 all want expert 0
  }
  const double c = 1.0;
  const auto C = static_cast<std::int64_t>(std::ceil(c * static_cast<double>(N2 * K) / static_cast<double>(E)));
  const std::vector<double> sv = scores.to_vector<double>();
  std::vector<std::int64_t> taken(static_cast<std::size_t>(E), 0), load(static_cast<std::size_t>(E), 0);
  std::vector<bool> kept;
  std::int64_t dropped = 0;
  for (std::int64_t t = 0; t < N2; ++t)
    for (std::int64_t i : top_k(std::vector<double>(sv.begin() + t * E, sv.begin() + (t + 1) * E), K)) {
      ++load[static_cast<std::size_t>(i)];
      const bool fits = taken[static_cast<std::size_t>(i)]++ < C;
      kept.push_back(fits);
      dropped += !fits;
    }
  const models::Routing r = models::route(scores, Tensor(), K, false, c);
  fmt::print("  {} tokens, top-{} of {} experts, capacity factor {}: C = ceil({} x {} x {} / {}) = {} places each\n",
             N2, K, E, c, c, N2, K, E, C);
  fmt::print("  load (chosen) {}, dropped {}: the last tokens to choose a full expert lose that expert\n", load,
             dropped);
  L.check(r.load == load && r.kept == kept && r.dropped == dropped && dropped == load[0] - C,
          "route keeps the first C assignments of each expert and drops the rest");
}

// ---------------------------------------------------------------------------
// 16.2 The layer: dispatch, and the per-token formula
// ---------------------------------------------------------------------------

void the_layer(lesson::Lesson& L) {
  L.section("16.2 The layer: y = shared(x) + sum of g_i FFN_i(x) over the chosen experts");
  models::MoeConfig c;
  c.routed_experts = 6;
  c.shared_experts = 1;
  c.expert_hidden = 8;
  c.top_k = 2;
  const std::int64_t d = 8, E = c.routed_experts, K = c.top_k;
  manual_seed(162);
  models::MoeFeedForward layer(d, c);
  layer.to(kFloat64);
  Generator gen(162);
  const Tensor x = randn({1, 5, d}, kFloat64, gen);
  const std::int64_t N = 5;
  NoGradGuard no_grad;
  // The dispatch, step by step, as MoeFeedForward::forward does it.
  const Tensor xf = x.reshape({N, d});
  const models::Routing r = models::route(layer.affinities(xf), layer.expert_bias, K, /*normalize=*/true);
  // 1. Sort the N K assignments by expert (stable: token order within an expert).
  std::vector<std::int64_t> order(static_cast<std::size_t>(N * K)), sizes(static_cast<std::size_t>(E), 0);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return r.experts[a] < r.experts[b]; });
  std::vector<std::int64_t> rows, slots;
  for (std::int64_t a : order) {
    rows.push_back(a / K);  // the token of assignment a
    slots.push_back(a);     // its place among the N K gates
    ++sizes[static_cast<std::size_t>(r.experts[a])];
  }
  fmt::print("  chosen experts, token by token:");
  for (std::int64_t t = 0; t < N; ++t) fmt::print("  {}: {}", t, std::vector<std::int64_t>(r.experts.begin() + t * K, r.experts.begin() + (t + 1) * K));
  fmt::print("\n");
  fmt::print("  sorted by expert: tokens {}, block sizes {}\n", rows, sizes);
  // 2. Gather the tokens in that order, 3. split into one block per expert, 4. one SwiGLU
  // per block (three GEMMs each), 5. join, 6. weight by the gates, 7. add to the tokens' rows.
  const Tensor gathered = index_select(xf, 0, from_vector(rows, {N * K}));
  const std::vector<Tensor> blocks = split(gathered, sizes, 0);
  std::vector<Tensor> outputs;
  for (std::int64_t i = 0; i < E; ++i)
    if (sizes[static_cast<std::size_t>(i)] > 0) outputs.push_back(layer.expert(i).forward(blocks[static_cast<std::size_t>(i)]));
  const Tensor weights = index_select(r.gates.reshape({N * K}), 0, from_vector(slots, {N * K})).unsqueeze(1);
  Tensor y = index_add(zeros({N, d}, kFloat64), 0, from_vector(rows, {N * K}), cat(outputs, 0) * weights);
  y = y + layer.shared->forward(xf);
  L.check(max_abs_diff(y.reshape({1, N, d}), layer.forward(x)) < 1e-14, "the dispatch written out is the layer's");
  L.check(max_abs_diff(layer.forward(x), models::moe_forward_reference(layer, x)) < 1e-14,
          "the batched layer equals the per-token formula (moe_forward_reference)");
}

void layer_gradients(lesson::Lesson& L) {
  // And in gradient, for the input and every weight: the router learns through the gates.
  for (const char* gating : {"softmax", "sigmoid"}) {
    models::MoeConfig c;
    c.routed_experts = 6;
    c.shared_experts = 1;
    c.expert_hidden = 8;
    c.top_k = 2;
    c.gating = gating;
    manual_seed(163);
    models::MoeFeedForward layer(8, c);
    layer.to(kFloat64);
    Generator gen(163);
    const Tensor x0 = randn({2, 6, 8}, kFloat64, gen), w = randn({2, 6, 8}, kFloat64, gen);
    std::vector<Tensor> grads[2];
    for (int reference : {0, 1}) {
      layer.zero_grad();
      Tensor x = x0.clone().requires_grad_();
      sum((reference ? models::moe_forward_reference(layer, x) : layer.forward(x)) * w).backward();
      grads[reference].push_back(x.grad());
      for (const auto& [name, p] : layer.named_parameters()) grads[reference].push_back(p.grad().clone());
    }
    double worst = 0;
    for (std::size_t i = 0; i < grads[0].size(); ++i) worst = std::max(worst, max_abs_diff(grads[0][i], grads[1][i]));
    fmt::print("  {} gating: largest gradient difference, layer vs formula: {:.1e}\n", gating, worst);
    L.check(worst < 1e-13, fmt::format("{}: the same gradients for x and every weight", gating));
  }
}

// ---------------------------------------------------------------------------
// 16.3 Why balance: the auxiliary loss
// ---------------------------------------------------------------------------

void auxiliary_loss(lesson::Lesson& L) {
  L.section("16.3 Why balance; the Switch auxiliary loss");
  const double alpha = 0.01;
  {
    // Perfect balance: token i goes to expert i alone, so f_i = E/(K N) x 1 = 1 for all i.
    models::MoeConfig c;
    c.routed_experts = 4;
    c.top_k = 1;
    c.gating = "softmax";
    c.balance = "aux-loss";
    c.aux_loss_coef = alpha;
    models::MoeFeedForward layer(4, c);
    layer.to(kFloat64);
    {
      NoGradGuard no_grad;
      layer.router->weight.copy_(eye(4, 4, kFloat64) * 5.0);
    }
    const Tensor x = eye(4, 4, kFloat64).reshape({1, 4, 4});
    const models::MoeOutput out = layer.forward_with_aux(x);
    fmt::print("  perfect balance (load {}): L_aux = {:.6f}, alpha = {}\n", layer.take_load(), out.aux_loss.item(),
               alpha);
    L.check(std::fabs(out.aux_loss.item() - alpha) < 1e-12, "at perfect balance f_i = 1 and sum P_i = 1: L_aux = alpha");
  }
  // A router that favours expert 0: the tokens share a direction (mean 0.5 in every
  // feature) and expert 0's row of W_r points along it.
  models::MoeConfig c;
  c.routed_experts = 8;
  c.top_k = 2;
  c.gating = "softmax";
  c.balance = "aux-loss";
  c.aux_loss_coef = alpha;
  const std::int64_t d = 16, E = c.routed_experts, N = 512;
  manual_seed(164);
  models::MoeFeedForward layer(d, c);
  layer.to(kFloat64);
  Generator gen(164);
  {
    NoGradGuard no_grad;
    layer.router->weight.copy_(randn({E, d}, kFloat64, gen) * 0.3);
    layer.router->weight.narrow(0, 0, 1).add_(0.3);
  }
  const Tensor x = (randn({1, N, d}, kFloat64, gen) + 0.5).detach();
  // Train the router on the auxiliary loss alone (plain gradient descent), and watch
  // the load and the loss.
  const double lr = 20.0;
  double first_violation = 0, last_violation = 0, first_p0 = 0, last_p0 = 0;
  fmt::print("  {} tokens, top-{} of {} experts; gradient descent on L_aux alone (lr {}):\n", N, c.top_k, E, lr);
  fmt::print("   step   L_aux/alpha   P_0     load per expert                            max violation\n");
  for (int step = 0; step <= 200; ++step) {
    layer.zero_grad();
    const models::MoeOutput out = layer.forward_with_aux(x);
    const std::vector<std::int64_t> load = layer.take_load();
    const double p0 = mean(layer.affinities(x.reshape({N, d})).detach().narrow(1, 0, 1)).item();
    const double v = models::max_violation(load);
    if (step == 0) first_violation = v, first_p0 = p0;
    last_violation = v;
    last_p0 = p0;
    if (step == 0 || step == 10 || step == 50 || step == 100 || step == 200)
      fmt::print("  {:5}   {:11.4f}   {:.3f}   {:<42} {:.3f}\n", step, out.aux_loss.item() / alpha, p0,
                 fmt::format("{}", load), v);
    if (step == 0) {
      out.aux_loss.backward();
      // By hand: with f fixed, dL_aux/dz_ti = alpha/N s_ti (f_i - sum_j f_j s_tj) for the
      // logits z_t = W_r x_t, so dL_aux/dW_r = G^T X.
      const Tensor X = x.reshape({N, d});
      const Tensor s = layer.affinities(X).detach();
      std::vector<double> f;
      for (std::int64_t c_i : load)
        f.push_back(static_cast<double>(E) / static_cast<double>(c.top_k * N) * static_cast<double>(c_i));
      const Tensor fv = from_vector(f, {E});
      const Tensor G = s * (fv - sum(s * fv, {1}, true)) * (alpha / static_cast<double>(N));
      const Tensor by_hand = matmul(G.t(), X);
      const double diff = max_abs_diff(by_hand, layer.router->weight.grad());
      fmt::print("  dL_aux/dW_r by hand vs autograd: largest difference {:.1e}\n", diff);
      L.check(diff < 1e-15, "the gradient: dL_aux/dz_ti = alpha/N s_ti (f_i - sum_j f_j s_tj)");
      // Along the tokens' shared direction, the rows of overloaded experts are pushed
      // down (positive gradient: descent subtracts it), the idle ones up.
      const std::vector<double> along = sum(layer.router->weight.grad() * 0.5, {1}).to_vector<double>();
      fmt::print("  dL_aux/dW_r . (tokens' mean), per expert: {::.1e}\n", along);
      L.check(along[0] > 0, "gradient descent lowers the favoured expert's logits");
      layer.zero_grad();
      continue;
    }
    out.aux_loss.backward();
    NoGradGuard no_grad;
    layer.router->weight.sub_(layer.router->weight.grad() * lr);
  }
  L.check(first_violation > 1.5, "the favoured expert first takes several times its share");
  L.check(last_p0 < first_p0 && last_violation < 0.5 * first_violation,
          "the auxiliary loss's gradient moves the router toward even load");
}

// ---------------------------------------------------------------------------
// 16.4 Auxiliary-loss-free balancing: the bias
// ---------------------------------------------------------------------------

struct BiasRun {
  std::vector<double> violation;                      // per step, before the update
  std::vector<std::vector<std::int64_t>> loads;       // per step
};

/// The test's simulation: 256 tokens, 4 experts, top-1, a router that favours expert 2;
/// after every forward the bias moves by gamma sign(mean load - load).
BiasRun bias_balancing(const std::string& gating, int steps) {
  models::MoeConfig c;
  c.routed_experts = 4;
  c.top_k = 1;
  c.gating = gating;
  c.balance = "bias";
  c.bias_update_rate = 0.01;
  manual_seed(3);
  models::MoeFeedForward layer(8, c);
  Generator gen(4);
  {
    NoGradGuard no_grad;
    layer.router->weight.copy_(randn({4, 8}, kFloat32, gen));
    layer.router->weight.narrow(0, 2, 1).add_(2.0);
  }
  const Tensor x = (randn({1, 256, 8}, kFloat32, gen) + 0.5).detach();
  NoGradGuard no_grad;
  BiasRun run;
  for (int step = 0; step <= steps; ++step) {
    layer.forward(x);
    run.loads.push_back(layer.load_counts);
    run.violation.push_back(models::max_violation(layer.load_counts));
    layer.update_bias();  // takes the load and moves the bias
  }
  return run;
}

void bias_balancing(lesson::Lesson& L) {
  L.section("16.4 Auxiliary-loss-free balancing: b_i += gamma sign(mean load - c_i)");
  const int steps = 300;
  const BiasRun sig = bias_balancing("sigmoid", steps), soft = bias_balancing("softmax", steps);
  fmt::print("  256 tokens, top-1 of 4 experts, gamma = 0.01, a router that favours expert 2\n");
  fmt::print("   step   sigmoid: load       violation   softmax: load       violation\n");
  for (int step : {0, 10, 25, 50, 100, 150, 200, 250, 300})
    fmt::print("  {:5}   {:<20} {:7.3f}    {:<20} {:7.3f}\n", step, fmt::format("{}", sig.loads[step]),
               sig.violation[step], fmt::format("{}", soft.loads[step]), soft.violation[step]);
  // The last steps, one by one.
  fmt::print("  sigmoid, steps 297..300: ");
  for (int step = 297; step <= steps; ++step) fmt::print("  {}", sig.loads[step]);
  fmt::print("\n  softmax, steps 289..300:");
  for (int step = 289; step <= steps; ++step) fmt::print("{}{}", (step - 289) % 3 == 0 ? "\n    " : "  ", soft.loads[step]);
  fmt::print("\n");
  double sig_last = 0, soft_min = 1e9, soft_mean = 0;
  for (int step = steps - 99; step <= steps; ++step) {
    sig_last = std::max(sig_last, sig.violation[step]);
    soft_min = std::min(soft_min, soft.violation[step]);
    soft_mean += soft.violation[step] / 100;
  }
  fmt::print("  over the last 100 steps: sigmoid's largest violation {:.3f}; softmax's smallest {:.3f}, mean {:.3f}\n",
             sig_last, soft_min, soft_mean);
  // Tokens that change expert from one step to the next: at least half the sum of |change of load|.
  const auto moved = [&](const BiasRun& run) {
    double total = 0;
    for (int step = steps - 99; step <= steps; ++step)
      for (std::size_t i = 0; i < run.loads[step].size(); ++i)
        total += 0.5 * static_cast<double>(std::abs(run.loads[step][i] - run.loads[step - 1][i]));
    return total / 100;
  };
  fmt::print("  tokens changing expert per step (at least), last 100 steps: sigmoid {:.1f}, softmax {:.1f}\n",
             moved(sig), moved(soft));
  L.check(sig.violation[0] > 1.5 && sig_last < 0.25, "sigmoid affinities: the bias evens the load (violation < 0.25)");
  L.check(soft_min > 2 * sig_last && soft_mean > 0.5,
          "softmax affinities: the sign rule keeps cycling between uneven loads");

  // Why: a token's softmax affinities, dominated by one expert, leave the others nearly
  // equal and tiny, so a bias that lifts them all lifts them past the leader together.
  models::MoeConfig c;
  c.routed_experts = 4;
  c.top_k = 1;
  c.gating = "softmax";
  manual_seed(3);
  models::MoeFeedForward layer(8, c);
  Generator gen(4);
  NoGradGuard no_grad;
  layer.router->weight.copy_(randn({4, 8}, kFloat32, gen));
  layer.router->weight.narrow(0, 2, 1).add_(2.0);
  const Tensor x = randn({256, 8}, kFloat32, gen) + 0.5;
  const Tensor s = layer.affinities(x);
  fmt::print("  softmax affinities of tokens 0..3:\n");
  for (std::int64_t t = 0; t < 4; ++t) fmt::print("    {::.4f}\n", s[t].to(kFloat64).to_vector<double>());
  c.gating = "sigmoid";
  models::MoeFeedForward sig_layer(8, c);
  sig_layer.router->weight.copy_(layer.router->weight);
  const Tensor s2 = sig_layer.affinities(x);
  fmt::print("  sigmoid affinities of the same tokens:\n");
  for (std::int64_t t = 0; t < 4; ++t) fmt::print("    {::.4f}\n", s2[t].to(kFloat64).to_vector<double>());
  // How much bias it takes to move a token off expert 2: its lead s_2 - max_{j != 2} s_j.
  // Softmax leads bunch near 1, so one bias value moves them all; sigmoid leads spread out.
  const auto leads = [](const Tensor& a) {
    std::vector<double> out;
    const std::vector<double> v = a.to(kFloat64).contiguous().to_vector<double>();
    for (std::size_t t = 0; t < v.size() / 4; ++t) {
      const double* row = &v[4 * t];
      const double rest = std::max({row[0], row[1], row[3]});
      if (row[2] > rest) out.push_back(row[2] - rest);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto quantile = [](const std::vector<double>& v, double q) {
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  const std::vector<double> lead_soft = leads(s), lead_sig = leads(s2);
  fmt::print("  lead of expert 2 over the runner-up, among the tokens it wins (10%, 50%, 90% quantiles):\n");
  fmt::print("    softmax ({} tokens): {:.3f} {:.3f} {:.3f}\n", lead_soft.size(), quantile(lead_soft, 0.1),
             quantile(lead_soft, 0.5), quantile(lead_soft, 0.9));
  fmt::print("    sigmoid ({} tokens): {:.3f} {:.3f} {:.3f}\n", lead_sig.size(), quantile(lead_sig, 0.1),
             quantile(lead_sig, 0.5), quantile(lead_sig, 0.9));
}

// ---------------------------------------------------------------------------
// 16.5 Active and total parameters
// ---------------------------------------------------------------------------

std::int64_t count_parameters(const models::Transformer& m) {
  std::int64_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) n += p.numel();
  return n;
}

void parameter_counts(lesson::Lesson& L) {
  L.section("16.5 Active and total parameters: zoo train transformer vs zoo train moe");
  models::TransformerConfig dense;  // zoo train transformer: d 256, L 4, V 4096, ffn 768
  models::TransformerConfig moe = dense;  // zoo train moe: 16 experts of 192, top-3, 1 shared
  moe.moe.routed_experts = 16;
  moe.moe.shared_experts = 1;
  moe.moe.expert_hidden = 192;
  moe.moe.top_k = 3;
  manual_seed(0);
  const std::int64_t dense_total = count_parameters(models::Transformer(dense));
  const std::int64_t moe_total = count_parameters(models::Transformer(moe));
  const std::int64_t dense_active = models::active_parameters(dense), moe_active = models::active_parameters(moe);
  const std::int64_t units = (moe.moe.top_k + moe.moe.shared_experts) * moe.moe.expert_hidden;
  fmt::print("  model         FFN units a token uses   active        total\n");
  fmt::print("  transformer   {:>22}   {:>10}   {:>10}\n", dense.ffn_hidden, dense_active, dense_total);
  fmt::print("  moe           {:>22}   {:>10}   {:>10}\n", fmt::format("(3 + 1) x 192 = {}", units), moe_active,
             moe_total);
  const std::int64_t routers = moe.n_layers * moe.moe.routed_experts * moe.d_model;
  fmt::print("  the MoE holds {:.2f}x the parameters; a token uses {:.0f}% of them. Active difference: {} = L E d "
             "(the routers)\n",
             static_cast<double>(moe_total) / static_cast<double>(dense_total),
             100.0 * static_cast<double>(moe_active) / static_cast<double>(moe_total), moe_active - dense_active);
  L.check(units == dense.ffn_hidden, "the same feed-forward width per token: (K + S) h = 768");
  L.check(moe_active - dense_active == routers, "equal active parameters up to the routers' L E d");
  L.check(dense_active == dense_total && moe_total > 3 * moe_active / 2,
          "the dense model uses all its parameters; the MoE holds far more than it uses");
  // The MoE's total by hand: the 13 routed experts a token skips are what it holds extra.
  const std::int64_t skipped = moe.n_layers * (moe.moe.routed_experts - moe.moe.top_k) * 3 * moe.d_model *
                               moe.moe.expert_hidden;
  L.check(moe_total == moe_active + skipped, "total = active + the routed experts a token skips, L (E - K) 3 d h");
}

// ---------------------------------------------------------------------------
// 16.6 Dense vs MoE at equal active parameters
// ---------------------------------------------------------------------------

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

void dense_vs_moe(lesson::Lesson& L) {
  L.section("16.6 Dense and MoE at the same active size, on the same tokens");
  const fs::path brown = fs::path(ZOO_SOURCE_DIR) / "data" / "brown";
  const bool real = !L.quick() && fs::exists(brown / "train.txt");
  const fs::path tmp = fs::temp_directory_path();
  models::TransformerTrainOptions o;
  o.quiet = true;
  if (real) {
    o.data_dir = brown.string();
    o.model.vocab_size = 2048;
    o.model.d_model = 128;
    o.model.n_layers = 4;
    o.model.n_heads = 4;
    o.model.context = 128;
    o.model.ffn_hidden = 384;
    o.batch_size = 16;
    o.steps = 200;
    o.warmup_steps = 20;
    o.lr = 3e-3;
    o.eval_every = 200;
    o.valid_bytes = 50000;
    o.tokenizer = (tmp / "zoo-tutorial-brown-2048.bpe").string();  // shared with tutorial 15
  } else {
    if (!L.quick()) fmt::print("  (no data/brown: run data/fetch_brown.sh; using a generated text)\n");
    const fs::path dir = tmp / "zoo-tutorial-16-data";
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
  // The MoE: K + S experts of h units per token, (K + S) h = the dense model's width.
  models::TransformerTrainOptions m = o;
  m.model.moe.routed_experts = 8;
  m.model.moe.shared_experts = 1;
  m.model.moe.top_k = real ? 3 : 2;
  m.model.moe.expert_hidden = o.model.ffn_hidden / (m.model.moe.top_k + m.model.moe.shared_experts);
  if (!real) m.model.moe.bias_update_rate = 0.01;
  o.out = (tmp / "zoo-tutorial-16-dense").string();
  m.out = (tmp / "zoo-tutorial-16-moe").string();
  fs::remove_all(o.out);
  fs::remove_all(m.out);
  const models::TransformerTrainResult a = models::train_transformer(o);
  const models::TransformerTrainResult b = models::train_transformer(m);
  fmt::print("  {}: {} steps of {} tokens each\n", real ? "data/brown" : "generated grammar", a.steps,
             o.batch_size * o.model.context);
  fmt::print("  model   experts                     active   total    valid loss   perplexity   tokens/s\n");
  fmt::print("  dense   {:<26} {:>7}  {:>7}    {:.4f}    {:9.2f}    {:7.0f}\n", fmt::format("SwiGLU of {}", o.model.ffn_hidden),
             a.active_parameters, a.parameters, a.valid_loss, a.valid_perplexity, a.tokens_per_second);
  fmt::print("  moe     {:<26} {:>7}  {:>7}    {:.4f}    {:9.2f}    {:7.0f}\n",
             fmt::format("{} of {}, top-{}, {} shared", m.model.moe.routed_experts, m.model.moe.expert_hidden,
                         m.model.moe.top_k, m.model.moe.shared_experts),
             b.active_parameters, b.parameters, b.valid_loss, b.valid_perplexity, b.tokens_per_second);
  for (std::size_t layer = 0; layer < b.expert_load.size(); ++layer)
    fmt::print("  moe layer {}: share of the validation load per expert {::.3f}\n", layer, b.expert_load[layer]);
  fmt::print("  moe: largest max violation over the layers {:.3f}\n", b.max_violation);
  L.check(a.tokens == b.tokens, "both models saw the same number of tokens");
  const double uniform = std::log(static_cast<double>(o.model.vocab_size));
  L.check(a.valid_loss < 0.8 * uniform && b.valid_loss < 0.8 * uniform, "both learned (loss well below ln V)");
  if (!real) L.check(b.valid_loss < 1.5, "the MoE learns the grammar too (validation loss below 1.5)");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    routing(L);
    the_layer(L);
    layer_gradients(L);
    auxiliary_loss(L);
    bias_balancing(L);
    parameter_counts(L);
    dense_vs_moe(L);
  });
}
