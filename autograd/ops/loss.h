#pragma once
/// @file loss.h
/// @brief Loss functions, with PyTorch's arguments and reductions.

#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// How a per-element loss is reduced to the result.
enum class Reduction { None, Mean, Sum };

/// Negative log-likelihood of class indices: \f$\ell_n = -\log p_{n, y_n}\f$.
/// `log_probs` is (N, C) or (N, C, d1, ...) (or a single (C) with a 0-dim target);
/// `target` is int64 (N) or (N, d1, ...), each value in [0, C) or equal to
/// `ignore_index`. Ignored targets give loss 0 and gradient 0, and Mean divides by the
/// number of targets that are not ignored (all ignored: 0/0 = NaN, as in PyTorch).
/// None returns the per-target losses, shaped like `target`.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, std::int64_t ignore_index = -100,
                Reduction reduction = Reduction::Mean);
/// `nll_loss(log_softmax(logits, 1), target)`, with label smoothing ε (PyTorch's
/// definition): \f$\ell_n = (1-\varepsilon)(-\log p_{n,y_n}) + \varepsilon\,\frac1C\sum_c(-\log p_{n,c})\f$,
/// the cross-entropy with the target distribution
/// \f$q = (1-\varepsilon)\,\text{onehot} + \varepsilon / C\f$. Its gradient with respect
/// to the logits is \f$p - q\f$ (divided by the number of non-ignored targets for Mean).
///
/// For logits (N, C) without label smoothing, reduced by Mean or Sum, it runs a fused
/// kernel (one pass forward, one backward, keeping only each row's log-sum-exp); every
/// other case, and the tests' reference, is `cross_entropy_reference`.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, std::int64_t ignore_index = -100,
                     double label_smoothing = 0.0, Reduction reduction = Reduction::Mean);
/// The same loss composed from `log_softmax`, `gather`, `where` and a reduction: the
/// readable definition, differentiable to any order through its ops.
Tensor cross_entropy_reference(const Tensor& logits, const Tensor& target, std::int64_t ignore_index = -100,
                               double label_smoothing = 0.0, Reduction reduction = Reduction::Mean);
/// \f$(x - y)^2\f$, reduced; input and target must have the same shape.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// \f$-[y\log p + (1-y)\log(1-p)]\f$ on probabilities p in [0, 1] (checked); the logs
/// are clamped at -100 as in PyTorch, so that p = 0 or 1 gives a finite loss, and the
/// gradient \f$(p-y)/\max(p(1-p), 10^{-12})\f$ stays finite there too.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target,
                            Reduction reduction = Reduction::Mean);
/// The same on logits x, computed stably as \f$\max(x,0) - xy + \log(1 + e^{-|x|})\f$
/// (= softplus(x) − xy). Gradient: \f$\sigma(x) - y\f$. Prefer it to a sigmoid followed
/// by `binary_cross_entropy`.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

}  // namespace zoo
