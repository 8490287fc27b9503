/// @file rope.cpp
/// @brief Rotary position embedding: one pass over the rows with a table of cos and sin,
/// and a backward that is the same kernel with the angles negated.

#include "autograd/ops/rope.h"

#include <cmath>
#include <vector>

#include "autograd/factories.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/join.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

void check_rope_input(const Tensor& x, const char* op) {
  ZOO_CHECK(x.defined() && x.dim() >= 2, "{}: expected x (..., T, D), got shape {}", op,
            x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(x.size(-1) % 2 == 0, "{}: the feature size D must be even, got shape {}", op, x.shape());
  ZOO_CHECK(is_floating(x.dtype()), "{}: expected a floating-point tensor, got {}", op,
            dtype_name(x.dtype()));
}

/// The angles' cosines and sines, (T, D/2) each, in double: \f$\cos p\theta_i\f$,
/// \f$\sin p\theta_i\f$ for p = offset + t. `sign` = −1 gives the inverse rotation.
struct RotationTable {
  std::vector<double> cos, sin;
};
RotationTable rotation_table(std::int64_t T, std::int64_t half, std::int64_t offset, double base,
                             double sign) {
  RotationTable table{std::vector<double>(static_cast<std::size_t>(T * half)),
                      std::vector<double>(static_cast<std::size_t>(T * half))};
  const double D = static_cast<double>(2 * half);
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t i = 0; i < half; ++i) {
      const double theta = std::pow(base, -2.0 * static_cast<double>(i) / D);
      const double angle = sign * static_cast<double>(offset + t) * theta;
      table.cos[t * half + i] = std::cos(angle);
      table.sin[t * half + i] = std::sin(angle);
    }
  return table;
}

/// y = R(sign · angles) x on a contiguous (rows, T, D) layout.
Tensor rotate(const Tensor& x, std::int64_t offset, double base, double sign) {
  const Tensor xc = x.detach().contiguous();
  const std::int64_t D = x.size(-1), half = D / 2, T = x.size(-2);
  const std::int64_t rows = x.numel() / std::max<std::int64_t>(D, 1);  // rows of D, all (., t)
  const RotationTable table = rotation_table(T, half, offset, base, sign);
  Tensor y = empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "rotary_embedding", [&](auto tag) {
    using F = decltype(tag);
    const F* in = xc.data_ptr<F>();
    F* out = y.data_ptr<F>();
    parallel_for(0, rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(D, 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const std::int64_t t = r % T;
                     const double* c = &table.cos[t * half];
                     const double* s = &table.sin[t * half];
                     const F* a = in + r * D;
                     F* b = out + r * D;
                     for (std::int64_t i = 0; i < half; ++i) {
                       const F lo = a[i], hi = a[i + half];
                       const F ci = static_cast<F>(c[i]), si = static_cast<F>(s[i]);
                       b[i] = lo * ci - hi * si;
                       b[i + half] = hi * ci + lo * si;
                     }
                   }
                 });
  });
  return y;
}

/// The recorded rotation: forward by `sign`, backward by −`sign` (R⁻¹ = Rᵀ).
Tensor rotate_op(const Tensor& x, std::int64_t offset, double base, double sign) {
  return record("rotary_embedding", {x}, rotate(x, offset, base, sign),
                [offset, base, sign](const Tensor& grad, const std::vector<bool>&) {
                  return Grads{rotate_op(grad, offset, base, -sign)};
                });
}

}  // namespace

Tensor rotary_embedding(const Tensor& x, std::int64_t position_offset, double base) {
  check_rope_input(x, "rotary_embedding");
  ZOO_CHECK(position_offset >= 0 && base > 0,
            "rotary_embedding: position_offset must be >= 0 and base > 0, got {} and {}",
            position_offset, base);
  return rotate_op(x, position_offset, base, 1.0);
}

Tensor rotary_embedding_reference(const Tensor& x, std::int64_t position_offset, double base) {
  check_rope_input(x, "rotary_embedding_reference");
  const std::int64_t D = x.size(-1), half = D / 2, T = x.size(-2);
  const RotationTable table = rotation_table(T, half, position_offset, base, 1.0);
  const Tensor cos_t = from_vector(table.cos, {T, half}).to(x.dtype());
  const Tensor sin_t = from_vector(table.sin, {T, half}).to(x.dtype());
  const std::vector<Tensor> halves = split(x, half, -1);  // x_lo = x[..., :D/2], x_hi = x[..., D/2:]
  const Tensor& lo = halves[0];
  const Tensor& hi = halves[1];
  return cat({sub(mul(lo, cos_t), mul(hi, sin_t)), add(mul(hi, cos_t), mul(lo, sin_t))}, -1);
}

}  // namespace zoo
