#pragma once
/// @file loss.h
/// @brief Loss functions, with PyTorch's arguments and reductions.

#include <cstdint>

#include "autograd/tensor.h"

namespace zoo {

/// How a per-element loss is reduced to the result.
enum class Reduction { None, Mean, Sum };

/// Negative log-likelihood of class indices: \f$-\log p_{y_n}\f$ averaged over the
/// targets that are not `ignore_index`. `log_probs` is (N, C) or (N, C, d1, ...);
/// `target` is int64 (N) or (N, d1, ...).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, std::int64_t ignore_index = -100,
                Reduction reduction = Reduction::Mean);
/// `nll_loss(log_softmax(logits, 1), target)`, with label smoothing ε: the target
/// distribution is \f$(1-\varepsilon)\,\text{onehot} + \varepsilon / C\f$.
/// Its gradient with respect to the logits is softmax minus that target distribution.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, std::int64_t ignore_index = -100,
                     double label_smoothing = 0.0, Reduction reduction = Reduction::Mean);
/// \f$(x - y)^2\f$, reduced.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// \f$-[y\log p + (1-y)\log(1-p)]\f$ on probabilities p; the logs are clamped at -100 as
/// in PyTorch so that p = 0 or 1 gives a finite loss.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target,
                            Reduction reduction = Reduction::Mean);
/// The same on logits x, computed stably as \f$\max(x,0) - xy + \log(1 + e^{-|x|})\f$.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

}  // namespace zoo
