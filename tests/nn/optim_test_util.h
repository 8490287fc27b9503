#pragma once
/// @file optim_test_util.h
/// @brief Helpers for the optimizer tests: a quadratic whose gradient is known by hand,
/// and checks of zoo tensors against values computed with plain doubles.

#include <cmath>
#include <vector>

#include "test_util.h"

namespace zoo::optim_test {

using Vec = std::vector<double>;

// ---------------------------------------------------------------------------
// A separable quadratic with a known gradient:
//   f(w) = Σᵢ ½ hᵢ wᵢ² + cᵢ wᵢ,    ∂f/∂wᵢ = hᵢ wᵢ + cᵢ.
// The curvatures hᵢ differ, so adaptive and plain methods take different paths.
// ---------------------------------------------------------------------------
inline Vec curvatures(std::size_t n) {
  Vec h(n);
  for (std::size_t i = 0; i < n; ++i) h[i] = 0.5 + 0.75 * static_cast<double>(i);
  return h;
}
inline Vec offsets(std::size_t n) {
  Vec c(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = 0.3 * static_cast<double>(i % 3) - 0.4;
  return c;
}

/// ∂f/∂w by hand.
inline Vec quadratic_grad(const Vec& w) {
  const Vec h = curvatures(w.size()), c = offsets(w.size());
  Vec g(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) g[i] = h[i] * w[i] + c[i];
  return g;
}

/// Fills every parameter's .grad() with ∂f/∂w by autograd (one f per parameter, summed).
inline void quadratic_backward(const std::vector<Tensor>& params) {
  Tensor loss = scalar_tensor(0.0, kFloat64);
  for (const Tensor& w : params) {
    const auto n = static_cast<std::size_t>(w.numel());
    const Tensor h = from_vector(curvatures(n), w.shape()), c = from_vector(offsets(n), w.shape());
    loss = loss + sum(h * w * w * 0.5 + c * w);
  }
  loss.backward();
}

inline Vec values(const Tensor& t) { return t.detach().contiguous().to_vector<double>(); }

/// REQUIREs that a zoo tensor holds the hand-computed values (float64, tight tolerance).
inline void require_values(const Tensor& t, const Vec& expected, double rtol = 1e-12) {
  const Vec got = values(t);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    REQUIRE(std::fabs(got[i] - expected[i]) <= rtol * std::fabs(expected[i]) + 1e-14);
  }
}

inline Tensor param(const Vec& v, const Shape& shape) {
  return from_vector(v, shape).requires_grad_();
}

inline const Vec kW0 = {1.0, -2.0, 0.5, 3.0};

}  // namespace zoo::optim_test
