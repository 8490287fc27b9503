#pragma once
/// @file attention.h
/// @brief Scaled dot-product attention: the readable composition and a fused,
/// FlashAttention-style kernel that never stores the (Tq, Tk) matrix of scores.
///
/// Shape letters: B batch, H heads, Tq queries, Tk keys (and values), D the width of
/// one head. Per (batch, head), with Q (Tq, D), K and V (Tk, D) and a scale s:
/// \f[ S = s\,QK^\top \;(T_q \times T_k), \qquad P = \mathrm{softmax}_{\text{rows}}(S + M),
///     \qquad O = PV \;(T_q \times D), \f]
/// where the mask M is 0 where query i may see key j and −∞ where it may not.
///
/// **Causal masking, bottom-right aligned.** Query i sits at absolute position
/// \f$T_k - T_q + i\f$ and sees the keys \f$j \le T_k - T_q + i\f$: the queries are the
/// *last* Tq positions of the sequence. With Tq = Tk this is the usual lower-triangular
/// mask. With Tq < Tk it is what a KV cache needs: Tq new tokens after Tk − Tq cached
/// ones, each seeing every cached key and the new keys up to itself. This differs from
/// PyTorch's `is_causal=True` when Tq ≠ Tk, which aligns the mask top-left (query i sees
/// keys j ≤ i, as in `torch.ones(Tq, Tk).tril()`). Causal with Tq > Tk is an error (the
/// first queries would see no key at all).

#include <optional>

#include "autograd/tensor.h"

namespace zoo {

/// Scaled dot-product attention composed from differentiable ops, the readable
/// definition: `matmul(q, kᵀ) · scale`, the causal mask (`masked_fill` with −∞),
/// `softmax` over the keys, `matmul` with v. It materialises the (B, H, Tq, Tk) scores
/// and probabilities, and every op of it records its own backward (so it can be
/// differentiated to any order). It is the reference `scaled_dot_product_attention` is
/// tested against, and what the fused op's backward differentiates under `create_graph`.
///
/// q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D); one floating dtype.
/// `scale` defaults to \f$1/\sqrt{D}\f$. `causal`: query i sees keys
/// \f$j \le T_k - T_q + i\f$ (bottom-right alignment, see the file comment; PyTorch's
/// `is_causal` aligns top-left when Tq ≠ Tk). With Tk = 0 the output is 0.
Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                           std::optional<double> scale = {});

/// Scaled dot-product attention, fused (FlashAttention-2 style):
/// \f$O = \mathrm{softmax}(s\,QK^\top + M)\,V\f$ per (batch, head), the same maths as
/// `attention_reference`, without ever holding the (Tq, Tk) scores in memory.
///
/// The forward walks the keys in blocks with the *online softmax*: for each query row it
/// keeps the running maximum m, the running sum l of \f$e^{S - m}\f$ and an unnormalised
/// output, rescaled by \f$e^{m_{old} - m_{new}}\f$ whenever m grows; it saves only O and
/// the row's log-sum-exp \f$L = m + \log l\f$ (B, H, Tq). The backward recomputes each
/// block of \f$P = e^{sQK^\top - L}\f$ from L and gives
/// \f$\bar V = P^\top \bar O\f$, \f$\bar Q = s\,dS\,K\f$, \f$\bar K = s\,dS^\top Q\f$ with
/// \f$dS = P \circ (\bar O V^\top - \Delta)\f$ and \f$\Delta_i = \sum_d \bar O_{id} O_{id}\f$
/// (see attention.cpp for the derivation). First-order gradients come from those fused
/// kernels; under `create_graph` the backward differentiates `attention_reference`
/// instead, so higher orders still work (slowly, with the full score matrix).
///
/// q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D); float32 or float64, all
/// three the same; any layout (non-contiguous inputs are copied). `scale` defaults to
/// \f$1/\sqrt{D}\f$. `causal`: query i sees keys \f$j \le T_k - T_q + i\f$ (bottom-right
/// alignment: **not** PyTorch's `is_causal` when Tq ≠ Tk; see the file comment), and
/// needs Tq ≤ Tk. Results are deterministic, and the same for any thread count.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal = false, std::optional<double> scale = {});

}  // namespace zoo
