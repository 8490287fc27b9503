/// @file attention.cpp
/// @brief Scaled dot-product attention: `attention_reference` (composed from matmul,
/// masked_fill and softmax) and `scaled_dot_product_attention`, a fused kernel in the
/// style of FlashAttention-2 (Dao, 2023) with its own backward.
///
/// Shape letters: B batch, H heads, Tq queries, Tk keys and values, D the width of a
/// head; within one (batch, head), Q is (Tq, D), K and V are (Tk, D), and s is the scale.
/// The maths, per (batch, head):
/// \f[ S = s\,QK^\top, \qquad P_{ij} = \frac{e^{S_{ij}}}{\sum_{k \in \text{vis}(i)} e^{S_{ik}}}
///     \;(j \in \text{vis}(i), \text{ else } 0), \qquad O = PV, \f]
/// where vis(i) is every key, or with `causal` the keys \f$j \le T_k - T_q + i\f$.
///
/// **Why fuse.** Composed, attention writes and re-reads S and P, two (Tq, Tk) matrices
/// per head (B·H·T² numbers: 4 MB for B = 16, H = 4, T = 128 in float32), and its
/// backward makes several more passes of that size. The fused forward keeps one
/// (Bq, Bk) block of scores in cache at a time and stores only O and one number per
/// query row; the backward recomputes the blocks of P from that number instead of
/// reading them back. Memory grows with T, not T².
///
/// **Forward: the online softmax.** The keys are visited in blocks t = 1, 2, ...; for
/// query row i, after block t, with \f$S^{(t)}\f$ the block's scores,
/// \f[ m^{(t)} = \max\big(m^{(t-1)}, \max_j S^{(t)}_{ij}\big), \qquad
///     l^{(t)} = e^{m^{(t-1)} - m^{(t)}}\, l^{(t-1)} + \sum_j e^{S^{(t)}_{ij} - m^{(t)}}, \f]
/// \f[ \tilde O^{(t)} = e^{m^{(t-1)} - m^{(t)}}\, \tilde O^{(t-1)}
///     + e^{S^{(t)} - m^{(t)}}\, V^{(t)}, \f]
/// starting from \f$m^{(0)} = -\infty\f$, \f$l^{(0)} = 0\f$, \f$\tilde O^{(0)} = 0\f$. The
/// invariant is \f$l^{(t)} = \sum_{j \le t\text{'s keys}} e^{S_{ij} - m^{(t)}}\f$ and
/// \f$\tilde O^{(t)} = \sum_j e^{S_{ij} - m^{(t)}} V_j\f$: every term is kept relative to
/// the largest score seen so far, so no exponent is positive and nothing overflows. At
/// the end \f$O = \tilde O / l\f$, and the log-sum-exp of the row,
/// \f$L_i = \log \sum_j e^{S_{ij}} = m + \log l\f$, is all the backward needs to rebuild
/// any block of P: \f$P_{ij} = e^{S_{ij} - L_i}\f$.
///
/// **Backward.** With \f$\bar O\f$ the incoming gradient (dO in the code):
/// - \f$O = PV\f$ gives \f$\bar V = P^\top \bar O\f$ and \f$\bar P = \bar O V^\top\f$.
/// - Softmax along a row, \f$\partial P_{ij} / \partial S_{ik} = P_{ij}(\delta_{jk} - P_{ik})\f$,
///   gives \f$\bar S_{ij} = P_{ij}(\bar P_{ij} - \Delta_i)\f$ with
///   \f$\Delta_i = \sum_k P_{ik} \bar P_{ik}\f$. That sum runs over all Tk keys, but
///   \f$\sum_k P_{ik} \sum_d \bar O_{id} V_{kd} = \sum_d \bar O_{id} O_{id}\f$: it is a sum
///   over D of \f$\bar O \circ O\f$, known before any block of P is rebuilt
///   (FlashAttention-2's trick, which lets each block be finished on its own).
/// - \f$S = s\,QK^\top\f$ gives \f$\bar Q = s\,\bar S K\f$ and \f$\bar K = s\,\bar S^\top Q\f$.
/// Masked entries have P = 0, hence \f$\bar S = 0\f$: the future gets no gradient.
///
/// `scaled_dot_product_attention` is tested against `attention_reference`, and with
/// `create_graph` its backward differentiates the reference (as `conv2d` and `group_norm`
/// do with theirs), so second derivatives still work.

#include "autograd/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/vec_math.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/softmax.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Query rows (Bq) and keys (Bk) per block, forward and backward. At D = 64 in float32
/// a 64-row block of Q, K, V or O is 16 KB: one block's working set stays in L2, and the
/// block of scores, which every elementwise pass walks, in L1 (32 KB in the forward).
/// The products are 64×64×64 or larger, big enough for BLAS's micro-kernels to run near
/// full speed (the GEMMs are ~80% of the time), and the online softmax's rescaling (Bq·D
/// multiplies per key block) is small beside a block's 2·Bq·Bk·D of GEMM.
///
/// The two passes differ in what a big key block costs. The forward clips its last key
/// block at the causal horizon of the query block, so 128 keys per step only means fewer,
/// larger GEMMs and fewer rescalings (5-7% faster than 64 at B = 16, H = 4, T = 128,
/// D = 64, causal or not). The backward walks key blocks in the outer loop and starts
/// each at the first query that sees it, so the causal waste is a Bk×Bk triangle per key
/// block: 128 there made the causal backward 28% slower, for 2% gained without a mask.
/// Query blocks of 32 or 128 in the forward, 128 or 256 in the backward, were no faster.
constexpr std::int64_t kForwardBlockQ = 64, kForwardBlockK = 128;
constexpr std::int64_t kBackwardBlockQ = 64, kBackwardBlockK = 64;

/// The sizes of one attention call, and which keys each query sees.
struct AttentionShape {
  std::int64_t B, H, Tq, Tk, D;
  double scale;
  bool causal;
  /// Batch·heads: the number of independent (Tq, D) × (Tk, D) problems.
  std::int64_t BH() const { return B * H; }
  /// Query i sees keys [0, visible(i)): all Tk, or with `causal` the keys up to its
  /// absolute position Tk − Tq + i (bottom-right alignment).
  std::int64_t visible(std::int64_t i) const {
    return causal ? std::min(Tk, Tk - Tq + i + 1) : Tk;
  }
};

/// Checks the arguments of `op` (errors name the op and the shapes) and returns the sizes.
AttentionShape check_attention_args(const char* op, const Tensor& q, const Tensor& k,
                                    const Tensor& v, bool causal, std::optional<double> scale) {
  ZOO_CHECK(q.defined() && k.defined() && v.defined(), "{}: q, k and v must be defined", op);
  ZOO_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
            "{}: expected q (B, H, Tq, D), k and v (B, H, Tk, D), got shapes {}, {} and {}", op,
            q.shape(), k.shape(), v.shape());
  ZOO_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype() && is_floating(q.dtype()),
            "{}: q, k and v must have one floating dtype, got {}, {} and {} (shapes {}, {}, {})",
            op, q.dtype(), k.dtype(), v.dtype(), q.shape(), k.shape(), v.shape());
  const bool same_bhd = k.size(0) == q.size(0) && v.size(0) == q.size(0) &&
                        k.size(1) == q.size(1) && v.size(1) == q.size(1) &&
                        k.size(3) == q.size(3) && v.size(3) == q.size(3);
  ZOO_CHECK(same_bhd,
            "{}: q {}, k {} and v {} must agree on B, H and D (q (B, H, Tq, D), k and v "
            "(B, H, Tk, D))",
            op, q.shape(), k.shape(), v.shape());
  ZOO_CHECK(k.size(2) == v.size(2), "{}: k {} and v {} must have the same number of keys Tk", op,
            k.shape(), v.shape());
  const std::int64_t Tq = q.size(2), Tk = k.size(2), D = q.size(3);
  ZOO_CHECK(!causal || Tq <= Tk,
            "{}: causal attention needs Tq <= Tk (the queries are the last Tq of the Tk "
            "positions), got q {} and k {}",
            op, q.shape(), k.shape());
  return {.B = q.size(0), .H = q.size(1), .Tq = Tq, .Tk = Tk, .D = D,
          .scale = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(D)),
          .causal = causal};
}

/// \f$\max_{j<n} x_j\f$ (−∞ for n = 0), in 16 independent lanes so that the loop
/// vectorises (a single running maximum is a chain the compiler may not reorder).
template <class T>
T lane_max(const T* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
  T lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<T>::infinity());
  std::int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (std::int64_t t = 0; t < kLanes; ++t) lanes[t] = x[j + t] > lanes[t] ? x[j + t] : lanes[t];
  T m = -std::numeric_limits<T>::infinity();
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  for (T lane : lanes) m = lane > m ? lane : m;
  return m;
}

/// \f$\sum_{j<n} x_j y_j\f$ (y null: \f$\sum_j x_j\f$), in 16 lanes, for the same reason.
template <class T>
T lane_dot(const T* x, const T* y, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
  T lanes[kLanes] = {};
  std::int64_t j = 0;
  if (y) {
    for (; j + kLanes <= n; j += kLanes)
      for (std::int64_t t = 0; t < kLanes; ++t) lanes[t] += x[j + t] * y[j + t];
  } else {
    for (; j + kLanes <= n; j += kLanes)
      for (std::int64_t t = 0; t < kLanes; ++t) lanes[t] += x[j + t];
  }
  T total = 0;
  for (; j < n; ++j) total += y ? x[j] * y[j] : x[j];
  for (T lane : lanes) total += lane;
  return total;
}

/// Work items per parallel chunk, for items of `work` multiply-adds each: small
/// problems stay on one thread.
std::int64_t attention_grain(std::int64_t work) {
  return std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(1, work));
}

/// The fused forward, one item per (batch·head, block of Bq queries), items split over
/// threads (each item is computed by one thread, in a fixed order, so the result does not
/// depend on the thread count). For each key block \f$[j_0, j_0 + b_k)\f$ that some query
/// of the block sees:
///   \f$S = s\,Q_{blk} K_{blk}^\top\f$ (GEMM, into a Bq×Bk scratch),
///   per row: mask, \f$m' = \max(m, \max_j S_j)\f$, \f$\alpha = e^{m - m'}\f$,
///   \f$P_j = e^{S_j - m'}\f$, \f$l \leftarrow \alpha l + \sum_j P_j\f$,
///   \f$\tilde O \leftarrow \alpha \tilde O\f$;
///   \f$\tilde O \mathrel{+}= P V_{blk}\f$ (GEMM, accumulating straight into the output rows).
/// Then \f$O = \tilde O / l\f$ and \f$L = m + \log l\f$. Key blocks wholly in a causal
/// block's future are never visited. q, o: (BH, Tq, D); k, v: (BH, Tk, D); lse: (BH, Tq).
template <class T>
void attention_forward_kernel(const T* q, const T* k, const T* v, T* o, T* lse,
                              const AttentionShape& s) {
  const std::int64_t Tq = s.Tq, Tk = s.Tk, D = s.D;
  // Bq, Bk: the block sizes; bq, bk below: this block's (smaller at the edges).
  constexpr std::int64_t Bq = kForwardBlockQ, Bk = kForwardBlockK;
  const std::int64_t q_blocks = (Tq + Bq - 1) / Bq;
  const T scale = static_cast<T>(s.scale);
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const std::int64_t grain = attention_grain(std::min(Tq, Bq) * Tk * D);
  parallel_for(0, s.BH() * q_blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> scores(static_cast<std::size_t>(Bq * Bk));  // S, then P
    std::vector<T> m(Bq), l(Bq);
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t bh = item / q_blocks, i0 = (item % q_blocks) * Bq;
      const std::int64_t bq = std::min(Bq, Tq - i0);
      const T* Q = q + (bh * Tq + i0) * D;  // (bq, D)
      const T* K = k + bh * Tk * D;         // (Tk, D)
      const T* V = v + bh * Tk * D;         // (Tk, D)
      T* O = o + (bh * Tq + i0) * D;        // (bq, D): Õ, then O
      std::fill(m.begin(), m.end(), kNegInf);
      std::fill(l.begin(), l.end(), T(0));
      // The block's last query sees the most keys; later key blocks are all future.
      const std::int64_t key_end = s.visible(i0 + bq - 1);
      for (std::int64_t j0 = 0; j0 < key_end; j0 += Bk) {
        const std::int64_t bk = std::min(Bk, key_end - j0);
        // S = s·Q Kᵀ for this block: (bq, D) × (D, bk).
        gemm<T>(false, true, bq, bk, D, scale, Q, D, K + j0 * D, D, T(0), scores.data(),
                Bk);
        for (std::int64_t r = 0; r < bq; ++r) {
          T* row = scores.data() + r * Bk;
          // Keys [j0, j0 + n) of this block are visible to row r; the rest are masked (P = 0).
          const std::int64_t n = std::clamp<std::int64_t>(s.visible(i0 + r) - j0, 0, bk);
          std::fill(row + n, row + bk, T(0));
          if (n == 0) continue;  // nothing new for this row: m, l and Õ stay
          const T m_new = std::max(m[r], lane_max(row, n));
          const T alpha = kernels::exp_fast(m[r] - m_new);  // e^{m_old − m_new}; 0 at first
          for (std::int64_t j = 0; j < n; ++j) row[j] = kernels::exp_fast(row[j] - m_new);
          l[r] = alpha * l[r] + lane_dot<T>(row, nullptr, n);
          m[r] = m_new;
          if (j0 > 0 && alpha != T(1))
            for (std::int64_t d = 0; d < D; ++d) O[r * D + d] *= alpha;
        }
        // Õ += P V for this block: (bq, bk) × (bk, D). The first block starts Õ (β = 0).
        gemm<T>(false, false, bq, D, bk, T(1), scores.data(), Bk, V + j0 * D, D,
                j0 == 0 ? T(0) : T(1), O, D);
      }
      for (std::int64_t r = 0; r < bq; ++r) {
        // No key at all (Tk = 0): the output is 0, as the composed form gives, and L = −∞.
        const T inv = l[r] > T(0) ? T(1) / l[r] : T(0);
        for (std::int64_t d = 0; d < D; ++d)
          O[r * D + d] = key_end > 0 ? O[r * D + d] * inv : T(0);
        lse[bh * Tq + i0 + r] = m[r] + std::log(l[r]);
      }
    }
  });
}

/// The fused backward, one (batch·head) per item, items split over threads; each item
/// is computed by one thread in a fixed order, so the result does not depend on the
/// thread count. With \f$\bar O\f$ = `go`:
///   \f$\Delta_i = \sum_d \bar O_{id} O_{id}\f$ for every query row; then for each key
///   block \f$K_j, V_j\f$ and each query block \f$Q_i\f$ that sees some of it,
///   \f$P = e^{s Q_i K_j^\top - L_i}\f$ (rebuilt, masked entries 0),
///   \f$\bar V_j \mathrel{+}= P^\top \bar O_i\f$,  \f$\bar P = \bar O_i V_j^\top\f$,
///   \f$dS = P \circ (\bar P - \Delta_i)\f$,
///   \f$\bar Q_i \mathrel{+}= s\,dS\,K_j\f$,  \f$\bar K_j \mathrel{+}= s\,dS^\top Q_i\f$.
/// Five GEMMs of Bq×Bk×D per block pair (the forward has two). Each gradient block is
/// written (β = 0) by its first contribution and accumulated into (β = 1) after, so the
/// outputs need not be zeroed first: every query sees key block 0, and every key block
/// is seen by the query block that starts at `first` (below). A null gq, gk or gv is a
/// gradient nobody needs, and its GEMMs are skipped.
/// q, o, go, gq: (BH, Tq, D); k, v, gk, gv: (BH, Tk, D); lse: (BH, Tq).
template <class T>
void attention_backward_kernel(const T* q, const T* k, const T* v, const T* o, const T* lse,
                               const T* go, T* gq, T* gk, T* gv, const AttentionShape& s) {
  const std::int64_t Tq = s.Tq, Tk = s.Tk, D = s.D;
  constexpr std::int64_t Bq = kBackwardBlockQ, Bk = kBackwardBlockK;  // bq, bk: as forward
  const T scale = static_cast<T>(s.scale);
  const bool need_ds = gq || gk;  // dS feeds Q̄ and K̄; V̄ needs only P
  parallel_for(0, s.BH(), attention_grain(Tq * Tk * D), [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> p(static_cast<std::size_t>(Bq * Bk));   // P
    std::vector<T> dp(static_cast<std::size_t>(Bq * Bk));  // P̄, then dS
    std::vector<T> delta(static_cast<std::size_t>(Tq));
    for (std::int64_t bh = begin; bh < end; ++bh) {
      const T* Q = q + bh * Tq * D;
      const T* K = k + bh * Tk * D;
      const T* V = v + bh * Tk * D;
      const T* gO = go + bh * Tq * D;
      const T* L = lse + bh * Tq;
      if (need_ds)
        for (std::int64_t i = 0; i < Tq; ++i)  // Δ_i = Σ_d Ō_id O_id
          delta[i] = lane_dot(gO + i * D, o + (bh * Tq + i) * D, D);
      for (std::int64_t j0 = 0; j0 < Tk; j0 += Bk) {
        const std::int64_t bk = std::min(Bk, Tk - j0);
        // The first query that sees key j0: query i sees it when Tk − Tq + i >= j0.
        const std::int64_t first = s.causal ? std::max<std::int64_t>(0, j0 - (Tk - Tq)) : 0;
        for (std::int64_t i0 = first; i0 < Tq; i0 += Bq) {
          const std::int64_t bq = std::min(Bq, Tq - i0);
          // P = exp(s·Q_i K_jᵀ − L_i), masked entries 0.
          gemm<T>(false, true, bq, bk, D, scale, Q + i0 * D, D, K + j0 * D, D, T(0), p.data(),
                  Bk);
          for (std::int64_t r = 0; r < bq; ++r) {
            T* row = p.data() + r * Bk;
            const std::int64_t n = std::clamp<std::int64_t>(s.visible(i0 + r) - j0, 0, bk);
            const T Li = L[i0 + r];
            for (std::int64_t j = 0; j < n; ++j) row[j] = kernels::exp_fast(row[j] - Li);
            std::fill(row + n, row + bk, T(0));
          }
          // V̄_j += Pᵀ Ō_i: (bk, bq) × (bq, D).
          const T first_k = i0 == first ? T(0) : T(1);  // β: K̄_j, V̄_j start here
          if (gv)
            gemm<T>(true, false, bk, D, bq, T(1), p.data(), Bk, gO + i0 * D, D, first_k,
                    gv + (bh * Tk + j0) * D, D);
          if (!need_ds) continue;
          // P̄ = Ō_i V_jᵀ: (bq, D) × (D, bk).
          gemm<T>(false, true, bq, bk, D, T(1), gO + i0 * D, D, V + j0 * D, D, T(0), dp.data(),
                  Bk);
          // dS = P ∘ (P̄ − Δ_i), in place of P̄.
          for (std::int64_t r = 0; r < bq; ++r) {
            const T* prow = p.data() + r * Bk;
            T* drow = dp.data() + r * Bk;
            const T di = delta[i0 + r];
            for (std::int64_t j = 0; j < bk; ++j) drow[j] = prow[j] * (drow[j] - di);
          }
          // Q̄_i += s·dS K_j: (bq, bk) × (bk, D).
          if (gq)
            gemm<T>(false, false, bq, D, bk, scale, dp.data(), Bk, K + j0 * D, D,
                    j0 == 0 ? T(0) : T(1), gq + (bh * Tq + i0) * D, D);
          // K̄_j += s·dSᵀ Q_i: (bk, bq) × (bq, D).
          if (gk)
            gemm<T>(true, false, bk, D, bq, scale, dp.data(), Bk, Q + i0 * D, D, first_k,
                    gk + (bh * Tk + j0) * D, D);
        }
      }
    }
  });
}

}  // namespace

Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                           std::optional<double> scale) {
  // q (B, H, Tq, D), k and v (B, H, Tk, D)  ->  (B, H, Tq, D)
  const AttentionShape s = check_attention_args("attention_reference", q, k, v, causal, scale);
  Tensor scores = matmul(q, k.mT()) * s.scale;  // S = s·Q Kᵀ: (B, H, Tq, Tk)
  if (causal) {
    // Query i is at absolute position Tk − Tq + i and must not see the keys after it:
    // hide key j from query i when j > Tk − Tq + i.
    const Tensor key = arange(0, static_cast<double>(s.Tk), 1, kInt64).reshape({1, s.Tk});
    const Tensor position =
        arange(static_cast<double>(s.Tk - s.Tq), static_cast<double>(s.Tk), 1, kInt64)
            .reshape({s.Tq, 1});
    scores = masked_fill(scores, key > position, -std::numeric_limits<double>::infinity());
  }
  return matmul(softmax(scores, -1), v);  // O = softmax(S) V
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal, std::optional<double> scale) {
  // q (B, H, Tq, D), k and v (B, H, Tk, D)  ->  (B, H, Tq, D)
  const AttentionShape s =
      check_attention_args("scaled_dot_product_attention", q, k, v, causal, scale);
  // The kernels read raw row-major (BH, T, D) memory: contiguous copies where needed,
  // kept alive by these names (and kept for the backward, which needs the same layout:
  // a permuted input is then held twice, the view's storage and this copy, in exchange
  // for not copying it again in the backward).
  const Tensor qc = q.detach().contiguous(), kc = k.detach().contiguous();
  const Tensor vc = v.detach().contiguous();
  Tensor out = empty({s.B, s.H, s.Tq, s.D}, q.dtype());
  Tensor lse = empty({s.B, s.H, s.Tq}, q.dtype());  // L = m + log l per query row
  // An empty output (Tq = 0 or D = 0) has nothing to compute (and BLAS rejects D = 0).
  if (out.numel() == 0) {
    lse.fill_(-std::numeric_limits<double>::infinity());
  } else {
    dispatch_floating(q.dtype(), "scaled_dot_product_attention", [&](auto tag) {
      using T = decltype(tag);
      attention_forward_kernel<T>(qc.data_ptr<T>(), kc.data_ptr<T>(), vc.data_ptr<T>(),
                                  out.data_ptr<T>(), lse.data_ptr<T>(), s);
    });
  }

  // Backward, from O, L and Ō (the file comment derives it): Δ = rowsum(Ō ∘ O), and per
  // block P = e^{sQKᵀ − L}, V̄ += PᵀŌ, dS = P ∘ (ŌVᵀ − Δ), Q̄ += s·dS K, K̄ += s·dSᵀQ.
  return record(
      "scaled_dot_product_attention", {q, k, v}, out,
      [sq = SavedTensor::input(q), sk = SavedTensor::input(k), sv = SavedTensor::input(v),
       so = SavedTensor::output(out), qc, kc, vc, lse, s](const Tensor& grad,
                                                          const std::vector<bool>& needs) {
        // get() also checks that no input was modified in place since the forward.
        const Tensor q = sq.get(), k = sk.get(), v = sv.get(), o = so.get();
        Grads grads(3);
        if (GradMode::is_enabled()) {
          // create_graph: the gradients must themselves be differentiable. Rebuild the
          // composed reference on the same inputs and let the engine differentiate it.
          const std::vector<Tensor> inputs = {q, k, v};
          std::vector<Tensor> wrt;
          for (std::size_t i = 0; i < 3; ++i)
            if (needs[i]) wrt.push_back(inputs[i]);
          const Tensor y = attention_reference(q, k, v, s.causal, s.scale);
          const std::vector<Tensor> found =
              autograd::grad({y}, wrt, {grad}, {.create_graph = true});
          for (std::size_t i = 0, n = 0; i < 3; ++i)
            if (needs[i]) grads[i] = found[n++];
          return grads;
        }
        const Tensor go = grad.contiguous();  // Ō (B, H, Tq, D)
        const Tensor oc = o.detach().contiguous();
        // Nothing to do for empty tensors; with Tk = 0 the output was 0, so Q̄ = 0 too.
        const bool empty_problem = go.numel() == 0 || kc.numel() == 0;
        for (std::size_t i = 0; i < 3; ++i) {
          const Shape& shape = i == 0 ? qc.shape() : kc.shape();
          if (needs[i])
            grads[i] = empty_problem ? zeros(shape, qc.dtype()) : empty(shape, qc.dtype());
        }
        if (empty_problem) return grads;
        dispatch_floating(qc.dtype(), "scaled_dot_product_attention backward", [&](auto tag) {
          using T = decltype(tag);
          auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
          attention_backward_kernel<T>(qc.data_ptr<T>(), kc.data_ptr<T>(), vc.data_ptr<T>(),
                                       oc.data_ptr<T>(), lse.data_ptr<T>(), go.data_ptr<T>(),
                                       ptr(grads[0]), ptr(grads[1]), ptr(grads[2]), s);
        });
        return grads;
      });
}

}  // namespace zoo
