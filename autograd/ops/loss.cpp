/// @file loss.cpp
/// @brief Loss functions, composed from differentiable ops (log_softmax, gather, where,
/// softplus, ...), so that their gradients, and second derivatives, need no code here.
/// Two exceptions: binary_cross_entropy, whose backward is written out to stay finite
/// where the probabilities are exactly 0 or 1, and the fused cross_entropy of (N, C)
/// logits, a language model's hot loss (see there); `cross_entropy_reference` keeps the
/// composition.
///
/// Shapes: N is the batch, C the number of classes, and d1, ... optional extra dims
/// (pixels of a segmentation map, positions of a sequence).

#include "autograd/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/kernels/vec_math.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

// ---------------------------------------------------------------------------
// checks shared by the losses
// ---------------------------------------------------------------------------

/// The dim that holds the classes: 1 for (N, C, d1, ...), 0 for one unbatched (C) input.
int class_dim(const Tensor& input) { return input.dim() == 1 ? 0 : 1; }

/// The shape `target` must have: `input`'s without the class dim.
Shape target_shape_for(const Tensor& input) {
  Shape shape = input.shape();
  shape.erase(shape.begin() + class_dim(input));
  return shape;
}

/// Checks class-index targets: `input` (`input_name`) is floating with a class dim,
/// `target` is int64 of the matching shape, and every target is in [0, C) or ignored.
void check_class_target(const char* op, const char* input_name, const Tensor& input,
                        const Tensor& target, std::int64_t ignore_index) {
  ZOO_CHECK(is_floating(input.dtype()), "{}: {} must be floating (float32 or float64), got {}",
            op, input_name, input.dtype());
  ZOO_CHECK(input.dim() >= 1,
            "{}: {} must have shape (N, C) or (N, C, d1, ...) (or (C) with a 0-dim target), "
            "got shape {}",
            op, input_name, input.shape());
  ZOO_CHECK(target.dtype() == kInt64, "{}: target must hold int64 class indices, got {}", op,
            target.dtype());
  ZOO_CHECK(target.shape() == target_shape_for(input),
            "{}: target shape {} does not match {} shape {} (expected target shape {})", op,
            target.shape(), input_name, input.shape(), target_shape_for(input));
  const std::int64_t classes = input.size(class_dim(input));
  for (std::int64_t t : target.to_vector<std::int64_t>())
    ZOO_CHECK(t == ignore_index || (t >= 0 && t < classes),
              "{}: target value {} is out of range for {} classes (expected 0 <= target < {}, "
              "or ignore_index {})",
              op, t, classes, classes, ignore_index);
}

/// Checks the element-wise losses: floating input and target of the same shape.
void check_same_shape(const char* op, const char* input_name, const Tensor& input,
                      const Tensor& target) {
  ZOO_CHECK(is_floating(input.dtype()), "{}: {} must be floating (float32 or float64), got {}",
            op, input_name, input.dtype());
  ZOO_CHECK(is_floating(target.dtype()),
            "{}: target must be floating (float32 or float64), got {}", op, target.dtype());
  ZOO_CHECK(input.shape() == target.shape(),
            "{}: {} shape {} and target shape {} must be equal", op, input_name, input.shape(),
            target.shape());
}

// ---------------------------------------------------------------------------
// the pieces
// ---------------------------------------------------------------------------

/// True where the target is a class to learn, false where it is `ignore_index`.
Tensor valid_mask(const Tensor& target, std::int64_t ignore_index) {
  return ne(target, scalar_tensor(static_cast<double>(ignore_index), kInt64));
}

/// \f$\ell_n = -\log p_{n, y_n}\f$ at every target position (shape of `target`), and 0
/// where the target is ignored. Ignored targets read class 0 (any valid index would
/// do) and `where` then drops the value and, in backward, its gradient.
Tensor nll_terms(const Tensor& log_probs, const Tensor& target, const Tensor& valid) {
  const int cdim = class_dim(log_probs);
  const Tensor index = where(valid, target, 0.0).unsqueeze(cdim);
  const Tensor picked = gather(log_probs, cdim, index).squeeze(cdim);
  return where(valid, neg(picked), 0.0);
}

/// Reduces per-target losses. Mean divides by the number of targets that are not
/// ignored, \f$\frac{1}{|V|}\sum_{n \in V} \ell_n\f$; with none, that is 0/0 = NaN, as in
/// PyTorch.
Tensor reduce_class_loss(const Tensor& losses, const Tensor& valid, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return losses;
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: break;
  }
  const auto count = static_cast<double>(sum(valid).item());
  return sum(losses) / count;
}

/// Reduces per-element losses: as they are, their sum, or their mean (NaN when empty).
Tensor reduce_loss(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return losses;
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: break;
  }
  return mean(losses);
}

}  // namespace

// ---------------------------------------------------------------------------
// classification
// ---------------------------------------------------------------------------

/// \f$\ell_n = -\log p_{n, y_n}\f$, read from `log_probs` with `gather` along the
/// class dim; targets equal to `ignore_index` contribute 0 and get zero gradient.
/// The gradient with respect to `log_probs` is −1 (÷|V| for Mean) at each valid target
/// and 0 elsewhere.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, std::int64_t ignore_index,
                Reduction reduction) {
  check_class_target("nll_loss", "log_probs", log_probs, target, ignore_index);
  const Tensor valid = valid_mask(target, ignore_index);
  return reduce_class_loss(nll_terms(log_probs, target, valid), valid, reduction);
}

/// With \f$\log p = \text{log\_softmax}(x)\f$ over the C classes, and label smoothing ε:
/// \f[ \ell_n = (1-\varepsilon)\,(-\log p_{n,y_n}) + \varepsilon\,\frac1C\sum_c (-\log p_{n,c}), \f]
/// the cross-entropy between \f$p_n\f$ and the target distribution
/// \f$q_n = (1-\varepsilon)\,\text{onehot}(y_n) + \varepsilon/C\f$ (PyTorch's definition).
/// Since \f$\partial(-\log p_c)/\partial x_k = p_k - \delta_{ck}\f$, the gradient is
/// \f$\partial\ell_n/\partial x_n = p_n - q_n\f$ (÷|V| for Mean). Ignored targets
/// contribute 0 to both terms and to the count |V|.
namespace {

/// The fused cross-entropy of logits (N, C) against class indices, reduced to a sum or a
/// mean: what a language model's loss over a vocabulary of thousands is, where the
/// composition below would make about ten passes over (N, C) tensors (log-softmax,
/// gather, where, and their backwards). One pass per row computes
/// \f$\text{lse}_n = m_n + \log\sum_c e^{x_{nc} - m_n}\f$ (\f$m_n = \max_c x_{nc}\f$) and
/// \f$\ell_n = \text{lse}_n - x_{n y_n}\f$; it keeps only lse (N). The backward is one
/// more pass: \f$\bar x_{nc} = s\,\bar\ell\,(e^{x_{nc} - \text{lse}_n} - [c = y_n])\f$, i.e.
/// softmax minus one-hot, with s = 1 for a sum or 1/|V| for a mean, and 0 on ignored
/// rows. Under `create_graph` the backward is written with Tensor ops instead, so it can
/// be differentiated again. The composed definition stays as the reference
/// (`cross_entropy` with label smoothing or Reduction::None takes it, and the tests
/// compare the two).
Tensor fused_cross_entropy(const Tensor& logits, const Tensor& target, std::int64_t ignore_index,
                           Reduction reduction) {
  const std::int64_t N = logits.size(0), C = logits.size(1);
  const Tensor x = logits.detach().contiguous();
  const Tensor t = target.contiguous();
  const std::int64_t* labels = t.data_ptr<std::int64_t>();
  std::vector<double> lse(static_cast<std::size_t>(N));
  std::vector<double> row_loss(static_cast<std::size_t>(N), 0.0);
  std::int64_t count = 0;
  for (std::int64_t n = 0; n < N; ++n) count += labels[n] != ignore_index;
  dispatch_floating(x.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data_ptr<T>();
    parallel_for(0, N, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(C, 1)),
                 [&](std::int64_t n0, std::int64_t n1) {
      std::vector<T> e(static_cast<std::size_t>(C));
      for (std::int64_t n = n0; n < n1; ++n) {
        const T* row = xp + n * C;
        T m = row[0];
        for (std::int64_t c = 1; c < C; ++c) m = row[c] > m ? row[c] : m;
        for (std::int64_t c = 0; c < C; ++c) e[c] = kernels::exp_fast(row[c] - m);  // vectorises
        double total = 0;
        for (std::int64_t c = 0; c < C; ++c) total += e[c];
        lse[n] = static_cast<double>(m) + std::log(total);
        if (labels[n] != ignore_index) row_loss[n] = lse[n] - static_cast<double>(row[labels[n]]);
      }
    });
  });
  double loss = 0;
  for (double l : row_loss) loss += l;  // in row order: the same sum for any thread count
  // Mean over the targets that count (0/0 = NaN with none, as in PyTorch).
  const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(count) : 1.0;
  const Tensor out = scalar_tensor(loss * scale, logits.dtype());
  return record("cross_entropy", {logits}, out,
                [sx = SavedTensor::input(logits), t, lse = std::move(lse), ignore_index, scale, N, C](
                    const Tensor& grad, const std::vector<bool>&) {
                  const Tensor logits = sx.get();
                  const Tensor valid = valid_mask(t, ignore_index);
                  if (GradMode::is_enabled()) {  // create_graph: the same formula with Tensor ops
                    const Tensor onehot = one_hot(where(valid, t, 0.0), C).to(logits.dtype());
                    const Tensor keep = valid.unsqueeze(1).to(logits.dtype());
                    return Grads{(softmax(logits, 1) - onehot) * keep * (grad * scale)};
                  }
                  const Tensor xc = logits.detach().contiguous();
                  const std::int64_t* labels = t.data_ptr<std::int64_t>();
                  Tensor dx = empty(logits.shape(), logits.dtype());
                  const double g = grad.item() * scale;
                  dispatch_floating(xc.dtype(), "cross_entropy backward", [&](auto tag) {
                    using T = decltype(tag);
                    const T* xp = xc.data_ptr<T>();
                    T* dp = dx.data_ptr<T>();
                    parallel_for(0, N, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(C, 1)),
                                 [&](std::int64_t n0, std::int64_t n1) {
                      for (std::int64_t n = n0; n < n1; ++n) {
                        T* d = dp + n * C;
                        if (labels[n] == ignore_index) {
                          std::fill(d, d + C, T(0));
                          continue;
                        }
                        const T* row = xp + n * C;
                        const T l = static_cast<T>(lse[n]), gs = static_cast<T>(g);
                        for (std::int64_t c = 0; c < C; ++c) d[c] = gs * kernels::exp_fast(row[c] - l);
                        d[labels[n]] -= gs;
                      }
                    });
                  });
                  return Grads{dx};
                });
}

}  // namespace

Tensor cross_entropy_reference(const Tensor& logits, const Tensor& target, std::int64_t ignore_index,
                               double label_smoothing, Reduction reduction) {
  check_class_target("cross_entropy", "logits", logits, target, ignore_index);
  ZOO_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
            "cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  const int cdim = class_dim(logits);
  const Tensor log_probs = log_softmax(logits, cdim);
  const Tensor valid = valid_mask(target, ignore_index);
  Tensor losses = nll_terms(log_probs, target, valid);
  if (label_smoothing > 0.0) {
    const double classes = static_cast<double>(logits.size(cdim));
    const Tensor uniform_term = where(valid, neg(sum(log_probs, {cdim})) / classes, 0.0);
    losses = losses * (1.0 - label_smoothing) + uniform_term * label_smoothing;
  }
  return reduce_class_loss(losses, valid, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, std::int64_t ignore_index,
                     double label_smoothing, Reduction reduction) {
  if (logits.dim() == 2 && label_smoothing == 0.0 && reduction != Reduction::None) {
    check_class_target("cross_entropy", "logits", logits, target, ignore_index);
    return fused_cross_entropy(logits, target, ignore_index, reduction);
  }
  return cross_entropy_reference(logits, target, ignore_index, label_smoothing, reduction);
}

// ---------------------------------------------------------------------------
// regression and binary targets
// ---------------------------------------------------------------------------

/// \f$\ell_i = (x_i - y_i)^2\f$. Differentiable in both input and target.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("mse_loss", "input", input, target);
  return reduce_loss(square(input - target), reduction);
}

namespace {
/// binary_cross_entropy clamps its logs here, as PyTorch does: −log 0 counts as 100.
constexpr double kLogFloor = -100.0;
/// ... and keeps the denominator p(1 − p) of its gradient at least this large.
constexpr double kMinVariance = 1e-12;
}  // namespace

/// \f$\ell_i = -[y_i \max(\log p_i, -100) + (1-y_i)\max(\log(1-p_i), -100)]\f$.
///
/// Why a written-out backward: a sigmoid in float32 rounds to exactly 1 from x ≈ 17 on,
/// and the composite's `log` would then pass back \f$0/0\f$ = NaN even though the clamp
/// stops the gradient. Like PyTorch, the backward is
/// \f[ \bar p_i = \bar\ell_i\,\frac{p_i - y_i}{\max(p_i(1-p_i),\,10^{-12})}, \qquad
///     \bar y_i = \bar\ell_i\,[\max(\log(1-p_i), -100) - \max(\log p_i, -100)], \f]
/// the exact derivative wherever \f$p_i(1-p_i) \ge 10^{-12}\f$, and finite everywhere.
/// It is written with Tensor ops, so it can be differentiated again.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction) {
  check_same_shape("binary_cross_entropy", "probs", probs, target);
  for (double p : probs.to_vector<double>())
    ZOO_CHECK(p >= 0.0 && p <= 1.0,
              "binary_cross_entropy: probs must lie in [0, 1], got {} (shape {}); pass logits "
              "to binary_cross_entropy_with_logits instead",
              p, probs.shape());
  Tensor losses;
  {
    NoGradGuard no_grad;  // the forward is recorded as one op, just below
    const Tensor log_p = clamp_min(log(probs), kLogFloor);
    const Tensor log_q = clamp_min(log1p(neg(probs)), kLogFloor);
    losses = neg(target * log_p + (1.0 - target) * log_q);
  }
  losses = record("binary_cross_entropy", {probs, target}, losses,
                  [sp = SavedTensor::input(probs), sy = SavedTensor::input(target)](
                      const Tensor& g, const std::vector<bool>& needs) {
                    const Tensor p = sp.get(), y = sy.get();
                    Grads grads(2);
                    if (needs[0])
                      grads[0] = g * (p - y) / clamp_min(p * (1.0 - p), kMinVariance);
                    if (needs[1])
                      grads[1] = g * (clamp_min(log1p(neg(p)), kLogFloor) -
                                      clamp_min(log(p), kLogFloor));
                    return grads;
                  });
  return reduce_loss(losses, reduction);
}

/// \f$\ell_i = -[y_i\log\sigma(x_i) + (1-y_i)\log(1-\sigma(x_i))] = \text{softplus}(x_i) - x_i y_i\f$,
/// with \f$\text{softplus}(x) = \log(1+e^x) = \max(x,0) + \log(1+e^{-|x|})\f$: the stable
/// form, which never exponentiates a positive number. `softplus` computes exactly that,
/// and its gradient at x = 0 is \f$\sigma(0) = \tfrac12\f$ (the literal max/abs
/// composite would pass back 1 or 0 there). Gradient: \f$\bar x_i = \bar\ell_i(\sigma(x_i) - y_i)\f$.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction) {
  check_same_shape("binary_cross_entropy_with_logits", "logits", logits, target);
  // Above x = 40, log(1 + e^x) equals x to float64 precision (e^-40 < 1e-17).
  constexpr double kLinearAbove = 40.0;
  return reduce_loss(softplus(logits, 1.0, kLinearAbove) - logits * target, reduction);
}

}  // namespace zoo
