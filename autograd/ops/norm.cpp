/// @file norm.cpp
/// @brief Layer norm, RMS norm, group norm and dropout.
///
/// Layer norm and RMS norm have no backward code: each is a few lines of `mean`,
/// `rsqrt`, `*` and `+`, whose gradients (and second derivatives) the engine already
/// knows. Group norm, which each block of the U-Net runs twice, is the hot one and has
/// kernels of its own: composed, it made about eight passes over the activations (and
/// as many allocations) forward and more backward; fused, it reads x twice for the
/// statistics and once for the output, and its backward reads ȳ and x twice.
/// `group_norm_reference` keeps the composed form: the tests compare the two, and with
/// `create_graph` the fused backward differentiates the reference, so higher orders
/// still work (as `conv2d` does with `conv2d_reference`).
///
/// Shape letters of group norm: N samples, C channels, G groups, D = C/G channels per
/// group, S positions (the product of the dims after C), M = D·S values per (n, g).

#include "autograd/ops/norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// The last `normalized_shape.size()` dims of x, as a list of negative dims (−k..−1),
/// after checking that they equal `normalized_shape`.
Dims trailing_dims(const char* op, const Tensor& x, const Shape& normalized_shape) {
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  ZOO_CHECK(k > 0, "{}: normalized_shape must not be empty", op);
  ZOO_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {}", op, x.dtype());
  const bool matches =
      x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape;
  ZOO_CHECK(matches,
            "{}: normalized_shape {} does not match the last dims of the input of shape {}", op,
            normalized_shape, x.shape());
  Dims dims;
  for (std::int64_t d = -k; d < 0; ++d) dims.push_back(d);
  return dims;
}

/// Checks that an affine parameter (weight or bias), if given, has `shape` and x's dtype.
void check_param(const char* op, const char* name, const Tensor& p, const Shape& shape,
                 const Tensor& x) {
  if (!p.defined()) return;
  ZOO_CHECK(p.shape() == shape, "{}: {} must have shape {}, got {} (input shape {})", op, name,
            shape, p.shape(), x.shape());
  ZOO_CHECK(p.dtype() == x.dtype(), "{}: {} has dtype {}, the input {}", op, name, p.dtype(),
            x.dtype());
}

/// \f$y \cdot w + b\f$, skipping an undefined w or b.
Tensor affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

/// \f$(x - \mu) / \sqrt{\sigma^2 + \epsilon}\f$ with the mean and biased variance over `dims`.
Tensor standardize(const Tensor& x, const Dims& dims, double eps) {
  const Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  const Tensor variance = mean(centered * centered, dims, /*keepdim=*/true);  // biased: 1/n
  return centered * rsqrt(variance + eps);
}

/// The sizes of a group norm: N samples of C channels in G groups, S positions each.
struct GroupShape {
  std::int64_t N, C, G, S;
  std::int64_t D() const { return C / G; }    // channels per group
  std::int64_t M() const { return D() * S; }  // values per (sample, group)
  /// 1/M, and 0 for empty groups (S = 0), whose statistics are then 0 rather than NaN.
  double inv_M() const { return M() > 0 ? 1.0 / static_cast<double>(M()) : 0.0; }
};

/// Checks group_norm's arguments (errors name the op and the shapes) and returns its sizes.
GroupShape check_group_norm_args(const Tensor& x, std::int64_t num_groups, const Tensor& weight,
                                 const Tensor& bias) {
  // x: (N, C, *), weight and bias: (C)
  ZOO_CHECK(x.dim() >= 2,
            "group_norm: expected an input (N, C, ...) with at least 2 dims, got shape {}",
            x.shape());
  ZOO_CHECK(is_floating(x.dtype()), "group_norm: expected a floating tensor, got {}", x.dtype());
  const std::int64_t C = x.size(1), G = num_groups;
  ZOO_CHECK(G > 0 && C % G == 0,
            "group_norm: num_groups = {} must be positive and divide the {} channels (shape {})", G,
            C, x.shape());
  check_param("group_norm", "weight", weight, {C}, x);
  check_param("group_norm", "bias", bias, {C}, x);
  std::int64_t S = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  return {.N = x.size(0), .C = C, .G = G, .S = S};
}

/// (sample, group) pairs per parallel chunk: enough values to be worth a thread.
std::int64_t group_grain(const GroupShape& s) {
  return std::max<std::int64_t>(1, kGrainSize / std::max<std::int64_t>(1, s.M()));
}

/// \f$\sum_{i<n} f(i)\f$ in double. A plain `acc += f(i)` loop cannot be vectorised
/// without -ffast-math (the compiler may not reorder the additions), so the sum is kept
/// in 16 independent lanes, which it can.
template <class F>
double lane_sum(std::int64_t n, const F& f) {
  constexpr std::int64_t kLanes = 16;
  double lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t k = 0; k < kLanes; ++k) lanes[k] += f(i + k);
  double total = 0;
  for (; i < n; ++i) total += f(i);
  for (double lane : lanes) total += lane;
  return total;
}

/// Group norm's forward, one (sample, group) q = n·G + g at a time; its M values are
/// contiguous in x. In double, two passes (so no cancellation in the variance):
///   \f$\mu_q = \frac1M \sum x\f$,  \f$\sigma^2_q = \frac1M \sum (x - \mu_q)^2\f$,
///   \f$\text{rstd}_q = 1/\sqrt{\sigma^2_q + \epsilon}\f$;
/// then, channel c of the group:  \f$y = (x - \mu_q) \cdot (\text{rstd}_q\, w_c) + b_c\f$.
/// `w` or `b` may be null (1 and 0). Keeps μ and rstd (N·G each) for the backward.
template <class T>
void group_norm_forward_kernel(const T* x, const T* w, const T* b, T* y, double* mean,
                               double* rstd, const GroupShape& s, double eps) {
  const std::int64_t D = s.D(), M = s.M();
  parallel_for(0, s.N * s.G, group_grain(s), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t q = begin; q < end; ++q) {
      const T* xq = x + q * M;
      const double mu = lane_sum(M, [&](std::int64_t i) { return double(xq[i]); }) * s.inv_M();
      const double var = lane_sum(M, [&](std::int64_t i) {
                           const double d = xq[i] - mu;
                           return d * d;
                         }) * s.inv_M();
      mean[q] = mu;
      rstd[q] = 1 / std::sqrt(var + eps);
      for (std::int64_t j = 0; j < D; ++j) {
        const std::int64_t c = (q % s.G) * D + j;
        const T m = static_cast<T>(mu), scale = static_cast<T>(rstd[q] * (w ? w[c] : T(1)));
        const T shift = b ? b[c] : T(0);
        const T* xc = xq + j * s.S;
        T* yc = y + q * M + j * s.S;
        for (std::int64_t i = 0; i < s.S; ++i) yc[i] = (xc[i] - m) * scale + shift;
      }
    }
  });
}

/// Group norm's backward, one (sample, group) q = n·G + g at a time, with
/// \f$\hat x = (x - \mu_q)\,\text{rstd}_q\f$ and \f$\hat g = \bar y\, w_c\f$. First the two
/// sums per channel that every gradient is made of,
///   \f$A_{n,c} = \sum_s \bar y\f$,  \f$B_{n,c} = \sum_s \bar y \hat x\f$,
/// which give the group's \f$\overline{\hat g} = \frac1M \sum_c w_c A_{n,c}\f$ and
/// \f$\overline{\hat g \hat x} = \frac1M \sum_c w_c B_{n,c}\f$; then, if `gx` is not null,
///   \f$\bar x = \text{rstd}_q\,(\hat g - \overline{\hat g} - \hat x\,\overline{\hat g \hat x})\f$.
/// A and B (N·C each) are left for w̄ and b̄. Each (n, c) entry is written by one thread.
template <class T>
void group_norm_backward_kernel(const T* x, const T* w, const T* gy, const double* mean,
                                const double* rstd, T* gx, double* A, double* B,
                                const GroupShape& s) {
  const std::int64_t D = s.D(), M = s.M();
  parallel_for(0, s.N * s.G, group_grain(s), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t q = begin; q < end; ++q) {
      const std::int64_t first = (q / s.G) * s.C + (q % s.G) * D;  // (n, c) of channel 0
      const double mu = mean[q], r = rstd[q];
      double mean_g = 0, mean_gx = 0;
      for (std::int64_t j = 0; j < D; ++j) {
        const T* xc = x + q * M + j * s.S;
        const T* gc = gy + q * M + j * s.S;
        A[first + j] = lane_sum(s.S, [&](std::int64_t i) { return double(gc[i]); });
        B[first + j] = r * lane_sum(s.S, [&](std::int64_t i) { return gc[i] * (xc[i] - mu); });
        const double w_c = w ? w[(q % s.G) * D + j] : 1.0;
        mean_g += w_c * A[first + j] * s.inv_M();
        mean_gx += w_c * B[first + j] * s.inv_M();
      }
      if (!gx) continue;
      // x̄ = (rstd·w_c)·ȳ − rstd·mean(ĝ) − (x − μ)·rstd²·mean(ĝx̂)
      const T m = static_cast<T>(mu), k_x = static_cast<T>(-r * r * mean_gx);
      const T k_0 = static_cast<T>(-r * mean_g);
      for (std::int64_t j = 0; j < D; ++j) {
        const T k_g = static_cast<T>(r * (w ? w[(q % s.G) * D + j] : T(1)));
        const T* xc = x + q * M + j * s.S;
        const T* gc = gy + q * M + j * s.S;
        T* out = gx + q * M + j * s.S;
        for (std::int64_t i = 0; i < s.S; ++i) out[i] = k_g * gc[i] + (xc[i] - m) * k_x + k_0;
      }
    }
  });
}

/// \f$\sum_n \text{part}_{n,c}\f$ for each channel, in sample order (the same sums
/// for any thread count), as a (C) tensor of `dtype`. part: N·C values.
Tensor sum_over_samples(const std::vector<double>& part, const GroupShape& s, DType dtype) {
  std::vector<double> total(static_cast<std::size_t>(s.C), 0.0);
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t c = 0; c < s.C; ++c)
      total[static_cast<std::size_t>(c)] += part[static_cast<std::size_t>(n * s.C + c)];
  return from_vector(total, {s.C}).to(dtype);
}

/// Group norm's gradients with `create_graph`: those of `group_norm_reference` on the
/// same inputs, which the engine differentiates op by op, so that they can be
/// differentiated again. `needs` says which of (x, w, b) want one.
Grads group_norm_graph_grads(const std::vector<Tensor>& inputs, std::int64_t num_groups,
                             double eps, const Tensor& grad, const std::vector<bool>& needs) {
  std::vector<Tensor> wrt;
  for (std::size_t i = 0; i < 3; ++i)
    if (needs[i]) wrt.push_back(inputs[i]);
  const Tensor y = group_norm_reference(inputs[0], num_groups, inputs[1], inputs[2], eps);
  const std::vector<Tensor> found = autograd::grad({y}, wrt, {grad}, {.create_graph = true});
  Grads grads(3);
  for (std::size_t i = 0, k = 0; i < 3; ++i)
    if (needs[i]) grads[i] = found[k++];
  return grads;
}

/// Dropout's scaled mask m/(1 − p) in one pass: 1/(1 − p) where an element is kept, 0
/// where it is dropped.
///
/// Each 64-bit draw of the generator gives two elements their 32-bit uniform integers
/// u ∈ [0, 2³²) (its low half, then its high half), and an element is kept when
/// u ≥ round(p · 2³²): probability 1 − p, to within 2⁻³³. Half a draw per element, and
/// no conversion to floating point, because the random numbers are most of dropout's
/// cost (the MLP's two dropouts took 16% of its training step).
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen) {
  Tensor mask = empty(shape, dtype);
  const auto threshold = static_cast<std::uint64_t>(std::llround(p * 4294967296.0));  // p · 2³²
  dispatch_floating(dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    auto keep = [&](std::uint64_t u) { return u >= threshold ? scale : T(0); };
    T* m = mask.data_ptr<T>();
    const std::int64_t n = mask.numel();
    for (std::int64_t i = 0; i + 1 < n; i += 2) {
      const std::uint64_t bits = gen.next_u64();
      m[i] = keep(bits & 0xffffffffu);
      m[i + 1] = keep(bits >> 32);
    }
    if (n % 2 == 1) m[n - 1] = keep(gen.next_u64() & 0xffffffffu);
  });
  return mask;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  // x: (..., *normalized_shape), weight and bias: normalized_shape
  const Dims dims = trailing_dims("layer_norm", x, normalized_shape);
  check_param("layer_norm", "weight", weight, normalized_shape, x);
  check_param("layer_norm", "bias", bias, normalized_shape, x);
  return affine(standardize(x, dims, eps), weight, bias);
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps) {
  // x: (..., *normalized_shape), weight: normalized_shape
  // y = x / √(mean(x²) + ε) · w: like layer norm without centering and without bias.
  const Dims dims = trailing_dims("rms_norm", x, normalized_shape);
  check_param("rms_norm", "weight", weight, normalized_shape, x);
  const Tensor y = x * rsqrt(mean(x * x, dims, /*keepdim=*/true) + eps);
  return affine(y, weight, Tensor());
}

Tensor group_norm_reference(const Tensor& x, std::int64_t num_groups, const Tensor& weight,
                            const Tensor& bias, double eps) {
  // x: (N, C, *), weight and bias: (C)
  const GroupShape s = check_group_norm_args(x, num_groups, weight, bias);

  // Statistics per (sample, group): over the C/G channels of the group and all positions.
  const Tensor grouped = x.reshape({s.N, s.G, s.M()});                 // (N, G, C/G · spatial)
  const Tensor y = standardize(grouped, {2}, eps).reshape(x.shape());  // (N, C, *)
  // The affine part is per channel: (C) viewed as (1, C, 1, ..., 1).
  Shape channel_shape(static_cast<std::size_t>(x.dim()), 1);
  channel_shape[1] = s.C;
  return affine(y, weight.defined() ? weight.reshape(channel_shape) : Tensor(),
                bias.defined() ? bias.reshape(channel_shape) : Tensor());
}

Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight,
                  const Tensor& bias, double eps) {
  // x: (N, C, *), weight and bias: (C)  ->  y: (N, C, *)
  const GroupShape s = check_group_norm_args(x, num_groups, weight, bias);
  const Tensor xc = x.detach().contiguous();
  const Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty(x.shape(), x.dtype());
  Tensor mean = empty({s.N, s.G}, kFloat64), rstd = empty({s.N, s.G}, kFloat64);  // per (n, g)
  dispatch_floating(x.dtype(), "group_norm", [&](auto tag) {
    using T = decltype(tag);
    group_norm_forward_kernel<T>(xc.data_ptr<T>(), wc.defined() ? wc.data_ptr<T>() : nullptr,
                                 bc.defined() ? bc.data_ptr<T>() : nullptr, y.data_ptr<T>(),
                                 mean.data_ptr<double>(), rstd.data_ptr<double>(), s, eps);
  });

  return record(
      "group_norm", {x, weight, bias}, y,
      [sx = SavedTensor::input(x), has_weight = weight.defined(),
       sw = weight.defined() ? SavedTensor::input(weight) : SavedTensor(),
       sb = bias.defined() ? SavedTensor::input(bias) : SavedTensor(), mean, rstd, s, num_groups,
       eps](const Tensor& grad, const std::vector<bool>& needs) {
        const Tensor x = sx.get(), w = has_weight ? sw.get() : Tensor();
        if (GradMode::is_enabled()) {
          // The bias only shifts y: x̄ and w̄ do not depend on it; needs[2] means it is defined.
          const Tensor b = needs[2] ? sb.get() : Tensor();
          return group_norm_graph_grads({x, w, b}, num_groups, eps, grad, needs);
        }
        const Tensor g = grad.contiguous();
        const Tensor xc = x.detach().contiguous();
        const Tensor wc = has_weight ? w.detach().contiguous() : Tensor();
        std::vector<double> A(static_cast<std::size_t>(s.N * s.C));
        std::vector<double> B(static_cast<std::size_t>(s.N * s.C));
        Grads grads(3);
        if (needs[0]) grads[0] = empty(x.shape(), x.dtype());
        dispatch_floating(x.dtype(), "group_norm backward", [&](auto tag) {
          using T = decltype(tag);
          group_norm_backward_kernel<T>(xc.data_ptr<T>(), has_weight ? wc.data_ptr<T>() : nullptr,
                                        g.data_ptr<T>(), mean.data_ptr<double>(),
                                        rstd.data_ptr<double>(),
                                        needs[0] ? grads[0].data_ptr<T>() : nullptr, A.data(),
                                        B.data(), s);
        });
        if (needs[1]) grads[1] = sum_over_samples(B, s, x.dtype());  // w̄_c = Σ_{n,s} ȳ·x̂
        if (needs[2]) grads[2] = sum_over_samples(A, s, x.dtype());  // b̄_c = Σ_{n,s} ȳ
        return grads;
      });
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  // y = x · m / (1 − p) with m_i ~ Bernoulli(1 − p), so that E[y] = x.
  ZOO_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got {}", p);
  ZOO_CHECK(is_floating(x.dtype()), "dropout: expected a floating tensor, got {}", x.dtype());
  if (!training || p == 0.0) return x;
  // Everything dropped: multiply by zero (not zeros_like), so the result stays in the
  // graph with a zero gradient, as in PyTorch.
  if (p == 1.0) return x * zeros({}, x.dtype());
  return x * dropout_mask(x.shape(), p, x.dtype(), gen);
}

}  // namespace zoo
