#pragma once
/// @file moe.h
/// @brief The mixture-of-experts feed-forward layer in the DeepSeekMoE style: many small
/// routed experts chosen per token, shared experts every token uses, and two ways to
/// keep the experts evenly loaded.
///
/// For a token x (d), with router weights \f$W_r\f$ (E, d) and affinities
/// \f$s = \mathrm{softmax}(W_r x)\f$ (or \f$s_i = \sigma(w_{r,i}^\top x)\f$), the token goes
/// to the K experts with the largest \f$s_i + b_i\f$ (b: the balancing bias, 0 unless
/// balance = "bias") and the layer's output is
/// \f[ y = \sum_{j=1}^{S} \mathrm{FFN}^{shared}_j(x) + \sum_{i \in \text{top-}K} g_i\,\mathrm{FFN}_i(x), \f]
/// with gates \f$g_i = s_i\f$ (softmax) or \f$g_i = s_i / \sum_{j \in \text{top-}K} s_j\f$
/// (sigmoid). The bias only chooses; it never weights an output, so it moves load without
/// changing what the chosen experts contribute. Gradients reach the router through the
/// gates \f$g_i\f$ (the choice itself is not differentiable).
///
/// Why many small experts (Dai et al. 2024): with E experts of h units and K chosen, a
/// token uses K·h units, the cost of a dense layer of K·h units, but the layer holds E·h
/// units of knowledge, and the \f$\binom{E}{K}\f$ combinations let experts specialise
/// finely; the shared experts hold what every token needs, so routed experts need not
/// each relearn it.
///
/// Load balance. If the router sends most tokens to a few experts, the rest never learn
/// (and, across machines, the busy ones set the pace). Two remedies:
/// - **auxiliary loss** (Switch Transformer, Fedus et al. 2021): add
///   \f$\mathcal{L}_{aux} = \alpha \sum_{i=1}^{E} f_i P_i\f$ with
///   \f$f_i = \frac{E}{K N} \#\{\text{tokens routed to } i\}\f$ (not differentiable) and
///   \f$P_i = \frac1N \sum_t \hat s_{t,i}\f$ (\f$\hat s_t\f$: the affinities normalised to
///   sum to 1). Its gradient lowers the affinity of overloaded experts. At perfect balance
///   \f$f_i = 1\f$ and \f$\sum_i P_i = 1\f$, so \f$\mathcal{L}_{aux} = \alpha\f$.
/// - **auxiliary-loss-free balancing** (DeepSeek-V3, Wang et al. 2024): after every
///   optimizer step, \f$b_i \leftarrow b_i + \gamma\,\mathrm{sign}(\bar c - c_i)\f$, with
///   \f$c_i\f$ the tokens expert i received in that step and \f$\bar c\f$ their mean: an
///   overloaded expert becomes a little less likely to be chosen, an idle one more. No
///   gradient interferes with the language-modelling loss.
///
/// Dispatch: the N·K (token, expert) assignments are sorted by expert, the tokens'
/// vectors gathered in that order (`index_select`), cut into one block per expert
/// (`split`), each block sent through its expert in one GEMM per weight, the outputs
/// joined (`cat`), weighted by their gates and added back to their tokens' rows
/// (`index_add`).
///
/// Lesson: @ref tutorial_16_mixture_of_experts.

#include <cstdint>
#include <memory>
#include <vector>

#include "models/transformer/config.h"
#include "models/transformer/feed_forward.h"
#include "nn/containers.h"
#include "nn/layers/linear.h"
#include "nn/module.h"

namespace zoo::models {

/// Which experts each of N tokens goes to, and with what weight.
struct Routing {
  /// (N, K) gates of the chosen experts, in the order of `experts`; differentiable with
  /// respect to the affinities. A dropped assignment keeps its gate here but is not used.
  Tensor gates;
  std::vector<std::int64_t> experts;  ///< N·K expert ids, token-major: token t's at [tK, tK+K)
  std::vector<bool> kept;             ///< N·K: false if the expert was full (capacity)
  std::vector<std::int64_t> load;     ///< E: tokens each expert was chosen by (before capacity)
  std::int64_t dropped = 0;           ///< assignments dropped for capacity
};

/// Routes N tokens with affinities `scores` (N, E): token t takes the `top_k` experts with
/// the largest \f$s_{t,i} + b_i\f$ (`bias` (E) or undefined for none; ties go to the lower
/// id), in decreasing order. Gates are the chosen \f$s_{t,i}\f$, divided by their sum if
/// `normalize`. With `capacity_factor` c > 0 every expert keeps at most ⌈c·N·K/E⌉
/// assignments, first come (token order) first served.
Routing route(const Tensor& scores, const Tensor& bias, std::int64_t top_k, bool normalize,
              double capacity_factor = 0);

/// The bias update of auxiliary-loss-free balancing:
/// \f$b_i \leftarrow b_i + \gamma\,\mathrm{sign}(\bar c - c_i)\f$, in place on `bias` (E),
/// with `load` the tokens each expert received (c) and \f$\bar c\f$ their mean.
void update_balance_bias(Tensor& bias, const std::vector<std::int64_t>& load, double rate);

/// The maximal violation of a load: \f$\max_i c_i / \bar c - 1\f$ (0 when perfectly even;
/// 1 means the busiest expert has twice its share). 0 for no tokens.
double max_violation(const std::vector<std::int64_t>& load);

/// The layer's output and its auxiliary loss (undefined unless balance = "aux-loss").
struct MoeOutput {
  Tensor y;         ///< (B, T, d)
  Tensor aux_loss;  ///< scalar, \f$\alpha\sum_i f_i P_i\f$
};

/// The DeepSeekMoE feed-forward layer (see the file comment). Parameters:
/// `router.weight` (E, d); `experts.i.w1.weight`, ... for each routed expert i
/// (`SwiGLU(d, h)`); `shared.w1.weight`, ... (one `SwiGLU(d, S·h)`: S shared experts of h
/// units side by side are one SwiGLU of S·h units) when S > 0. Buffer: `expert_bias` (E).
class MoeFeedForward : public nn::Module {
 public:
  /// d = `d_model`, the experts of `config.moe`.
  explicit MoeFeedForward(std::int64_t d_model, const MoeConfig& config);
  /// x (B, T, d) -> (B, T, d).
  Tensor forward(const Tensor& x) override { return forward_with_aux(x).y; }
  /// The output and the auxiliary loss. Adds the batch's load to `load_counts` when
  /// `count_load` is set.
  MoeOutput forward_with_aux(const Tensor& x);
  /// Returns the load counted since the last call and starts counting afresh.
  std::vector<std::int64_t> take_load();
  /// The auxiliary-loss-free step: moves `expert_bias` by the load counted since the last
  /// `take_load` (which it calls). Does nothing unless balance = "bias".
  void update_bias();

  MoeConfig config;                          ///< the experts' sizes and routing
  std::shared_ptr<nn::Linear> router;        ///< d -> E affinities' logits
  std::shared_ptr<nn::ModuleList> experts;   ///< E routed SwiGLU experts
  std::shared_ptr<SwiGLU> shared;            ///< the shared experts, or null
  Tensor expert_bias;                        ///< b (E), float32, only for choosing
  bool count_load = true;                    ///< whether forward adds to the load
  std::vector<std::int64_t> load_counts;     ///< tokens per expert since `take_load`

  /// The router's affinities for x (N, d): softmax or sigmoid of \f$W_r x\f$, (N, E).
  Tensor affinities(const Tensor& x);
  /// Expert i (a routed expert) as a SwiGLU.
  SwiGLU& expert(std::int64_t i);
};

/// The layer's output computed token by token, straight from the formula in the file
/// comment: each token's chosen experts run on that token alone. Slow; the reference
/// the batched dispatch is tested against. Does not count load.
Tensor moe_forward_reference(MoeFeedForward& layer, const Tensor& x);

}  // namespace zoo::models
