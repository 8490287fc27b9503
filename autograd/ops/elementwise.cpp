/// @file elementwise.cpp
/// @brief Element-wise ops: each forward is a typed kernel over `kernels::strided_loop`,
/// each backward is written with Tensor ops (so it is itself differentiable), except
/// where one pass pays: `relu_backward` (itself a differentiable op) and silu's gradient
/// when no graph of it is wanted.

#include "autograd/ops/elementwise.h"

#include <cmath>
#include <numbers>

#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/loop.h"
#include "autograd/kernels/vec_math.h"
#include "autograd/node.h"
#include "autograd/ops/reduce.h"

namespace zoo {
namespace {

using kernels::broadcast_strides;
using kernels::strided_loop;
using Offsets2 = std::array<std::int64_t, 2>;
using Offsets3 = std::array<std::int64_t, 3>;
using Offsets4 = std::array<std::int64_t, 4>;

/// `t` as `dtype`, without recording (the op that calls this records itself).
Tensor as_dtype(const Tensor& t, DType dtype) {
  return t.dtype() == dtype ? t : t.detach().to(dtype);
}

/// out[i] = f(x[i]); out is a new contiguous tensor of dtype R, x has dtype T.
template <class T, class R, class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor out = empty(x.shape(), dtype_of<R>());
  R* o = out.data_ptr<R>();
  const T* px = static_cast<const T*>(x.storage().data());
  strided_loop<2>(x.shape(), {out.strides(), x.strides()}, {0, x.offset()}, kGrainSize,
                  [&](const Offsets2& off, const Offsets2& st, std::int64_t n) {
                    R* op = o + off[0];
                    const T* xp = px + off[1];
                    if (st[1] == 1) {
                      for (std::int64_t i = 0; i < n; ++i) op[i] = f(xp[i]);
                    } else {
                      for (std::int64_t i = 0; i < n; ++i) op[i] = f(xp[i * st[1]]);
                    }
                  });
  return out;
}

/// out[i] = f(a[i], b[i]) with broadcasting; a and b have dtype T, out has dtype R.
template <class T, class R, class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, dtype_of<R>());
  R* o = out.data_ptr<R>();
  const T* pa = static_cast<const T*>(a.storage().data());
  const T* pb = static_cast<const T*>(b.storage().data());
  strided_loop<3>(
      shape,
      {out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
       broadcast_strides(b.shape(), b.strides(), shape)},
      {0, a.offset(), b.offset()}, kGrainSize,
      [&](const Offsets3& off, const Offsets3& st, std::int64_t n) {
        R* op = o + off[0];
        const T* ap = pa + off[1];
        const T* bp = pb + off[2];
        // The three common layouts get their own loops so that they vectorise.
        if (st[1] == 1 && st[2] == 1) {
          for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bp[i]);
        } else if (st[1] == 1 && st[2] == 0) {
          const T bv = *bp;
          for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bv);
        } else if (st[1] == 0 && st[2] == 1) {
          const T av = *ap;
          for (std::int64_t i = 0; i < n; ++i) op[i] = f(av, bp[i]);
        } else {
          for (std::int64_t i = 0; i < n; ++i) op[i] = f(ap[i * st[1]], bp[i * st[2]]);
        }
      });
  return out;
}

/// A floating unary op: int and bool inputs are computed in float32, as in PyTorch.
template <class F>
Tensor float_unary(const Tensor& x, const char* op, F f) {
  const Tensor in = is_floating(x.dtype()) ? x : as_dtype(x, kFloat32);
  return dispatch_floating(in.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, T>(in, [&](T v) { return f(v); });
  });
}

/// A numeric binary op computed in the promoted dtype of a and b.
template <class F>
Tensor numeric_binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  DType dtype = promote_types(a.dtype(), b.dtype());
  if (dtype == kBool) dtype = kInt64;
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  return dispatch_numeric(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    return map_binary<T, T>(x, y, op, [&](T p, T q) { return f(p, q); });
  });
}

/// A comparison: computed in the promoted dtype, returns bool.
template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  const DType dtype = promote_types(a.dtype(), b.dtype());
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  return dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    return map_binary<T, bool>(x, y, op, [&](T p, T q) { return f(p, q); });
  });
}

/// The gradient of a broadcast input: summed back to its shape, in its dtype.
Tensor reduce_grad(const Tensor& g, const Shape& shape, DType dtype) {
  return as_dtype(sum_to(g, shape), dtype);
}

/// A Python number next to tensor `t`: it takes t's dtype, except that a fractional
/// number next to an integer tensor makes float32.
Tensor wrap_scalar(double v, const Tensor& t) {
  DType dtype = t.dtype();
  if (!is_floating(dtype)) dtype = (v == std::floor(v)) ? kInt64 : kFloat32;
  return scalar_tensor(v, dtype);
}

Tensor floating_mask(const Tensor& mask, DType dtype) { return mask.to(dtype); }

}  // namespace

// ---------------------------------------------------------------------------
// sum_to: the one place broadcasting is undone
// ---------------------------------------------------------------------------

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const std::size_t lead = grad.shape().size() - shape.size();
  Dims dims;
  for (std::size_t d = 0; d < grad.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1))
      dims.push_back(static_cast<std::int64_t>(d));
  Tensor reduced = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  return reduced.reshape(shape);
}

// ---------------------------------------------------------------------------
// binary arithmetic
// ---------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "add", [](auto p, auto q) { return p + q; });
  return record("add", {a, b}, out,
                [sa = a.shape(), sb = b.shape(), da = a.dtype(), db = b.dtype()](
                    const Tensor& g, const std::vector<bool>& needs) {
                  return Grads{needs[0] ? reduce_grad(g, sa, da) : Tensor(),
                               needs[1] ? reduce_grad(g, sb, db) : Tensor()};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "sub", [](auto p, auto q) { return p - q; });
  return record("sub", {a, b}, out,
                [sa = a.shape(), sb = b.shape(), da = a.dtype(), db = b.dtype()](
                    const Tensor& g, const std::vector<bool>& needs) {
                  return Grads{needs[0] ? reduce_grad(g, sa, da) : Tensor(),
                               needs[1] ? reduce_grad(neg(g), sb, db) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "mul", [](auto p, auto q) { return p * q; });
  // d(ab)/da = b, d(ab)/db = a
  return record("mul", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  return Grads{needs[0] ? reduce_grad(g * b, a.shape(), a.dtype()) : Tensor(),
                               needs[1] ? reduce_grad(g * a, b.shape(), b.dtype()) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  const DType dtype = is_floating(promote_types(a.dtype(), b.dtype()))
                          ? promote_types(a.dtype(), b.dtype())
                          : kFloat32;
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  Tensor out = dispatch_floating(dtype, "div", [&](auto tag) {
    using T = decltype(tag);
    return map_binary<T, T>(x, y, "div", [](T p, T q) { return p / q; });
  });
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
  return record("div", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  return Grads{needs[0] ? reduce_grad(g / b, a.shape(), a.dtype()) : Tensor(),
                               needs[1] ? reduce_grad(neg(g) * a / (b * b), b.shape(), b.dtype())
                                        : Tensor()};
                });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  const DType dtype = is_floating(promote_types(a.dtype(), b.dtype()))
                          ? promote_types(a.dtype(), b.dtype())
                          : kFloat32;
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  Tensor out = dispatch_floating(dtype, "pow", [&](auto tag) {
    using T = decltype(tag);
    return map_binary<T, T>(x, y, "pow", [](T p, T q) { return std::pow(p, q); });
  });
  // d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b ln a (taken as 0 where a = 0)
  return record("pow", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  Grads grads(2);
                  if (needs[0]) grads[0] = reduce_grad(g * b * pow(a, b - 1.0), a.shape(), a.dtype());
                  if (needs[1]) {
                    const Tensor safe_log = log(where(a == 0.0, ones_like(a), a));
                    grads[1] = reduce_grad(g * pow(a, b) * safe_log, b.shape(), b.dtype());
                  }
                  return grads;
                });
}

Tensor pow(const Tensor& a, double exponent) {
  Tensor out = float_unary(a, "pow", [exponent](auto v) {
    using T = decltype(v);
    if (exponent == 2.0) return v * v;
    return static_cast<T>(std::pow(v, static_cast<T>(exponent)));
  });
  // d(a^p)/da = p a^(p-1)
  return record("pow", {a}, out, [sa = SavedTensor::input(a), exponent](const Tensor& g, auto&) {
    const Tensor a = sa.get();
    if (exponent == 0.0) return Grads{zeros_like(g)};
    if (exponent == 2.0) return Grads{g * a * 2.0};
    return Grads{g * pow(a, exponent - 1.0) * exponent};
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "maximum", [](auto p, auto q) { return p > q || p != p ? p : q; });
  // The larger input gets the gradient; ties split it evenly, as in PyTorch.
  return record("maximum", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  const Tensor wa = floating_mask(a > b, g.dtype()) + floating_mask(a == b, g.dtype()) * 0.5;
                  return Grads{needs[0] ? reduce_grad(g * wa, a.shape(), a.dtype()) : Tensor(),
                               needs[1] ? reduce_grad(g * (1.0 - wa), b.shape(), b.dtype()) : Tensor()};
                });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = numeric_binary(a, b, "minimum", [](auto p, auto q) { return p < q || p != p ? p : q; });
  return record("minimum", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  const Tensor wa = floating_mask(a < b, g.dtype()) + floating_mask(a == b, g.dtype()) * 0.5;
                  return Grads{needs[0] ? reduce_grad(g * wa, a.shape(), a.dtype()) : Tensor(),
                               needs[1] ? reduce_grad(g * (1.0 - wa), b.shape(), b.dtype()) : Tensor()};
                });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, wrap_scalar(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(wrap_scalar(a, b), b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, wrap_scalar(b, a)); }
Tensor operator-(double a, const Tensor& b) { return sub(wrap_scalar(a, b), b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, wrap_scalar(b, a)); }
Tensor operator*(double a, const Tensor& b) { return mul(wrap_scalar(a, b), b); }
Tensor operator/(const Tensor& a, double b) { return div(a, wrap_scalar(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(wrap_scalar(a, b), b); }

// ---------------------------------------------------------------------------
// unary math
// ---------------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  Tensor out = dispatch_numeric(x.dtype(), "neg", [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, T>(x, [](T v) { return -v; });
  });
  return record("neg", {x}, out, [](const Tensor& g, auto&) { return Grads{neg(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor out = float_unary(x, "exp", [](auto v) { return kernels::exp_fast(v); });
  // d e^x / dx = e^x: reuse the output.
  return record("exp", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    return Grads{g * y.get()};
  });
}

Tensor log(const Tensor& x) {
  Tensor out = float_unary(x, "log", [](auto v) { return std::log(v); });
  return record("log", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    return Grads{g / sx.get()};
  });
}

Tensor log1p(const Tensor& x) {
  Tensor out = float_unary(x, "log1p", [](auto v) { return std::log1p(v); });
  return record("log1p", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    return Grads{g / (sx.get() + 1.0)};
  });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = float_unary(x, "sqrt", [](auto v) { return std::sqrt(v); });
  // d√x/dx = 1 / (2√x)
  return record("sqrt", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    return Grads{g / (y.get() * 2.0)};
  });
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = float_unary(x, "rsqrt", [](auto v) { return 1 / std::sqrt(v); });
  // d x^(-1/2) / dx = -1/2 x^(-3/2) = -y³/2
  return record("rsqrt", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    const Tensor r = y.get();
    return Grads{g * r * r * r * -0.5};
  });
}

Tensor square(const Tensor& x) { return pow(x, 2.0); }

Tensor abs(const Tensor& x) {
  Tensor out = dispatch_numeric(x.dtype(), "abs", [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, T>(x, [](T v) { return v < 0 ? -v : v; });
  });
  return record("abs", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    return Grads{g * sign(sx.get())};
  });
}

Tensor sign(const Tensor& x) {
  return dispatch_numeric(x.dtype(), "sign", [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, T>(x, [](T v) { return static_cast<T>((T(0) < v) - (v < T(0))); });
  });
}

Tensor sin(const Tensor& x) {
  Tensor out = float_unary(x, "sin", [](auto v) { return std::sin(v); });
  return record("sin", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    return Grads{g * cos(sx.get())};
  });
}

Tensor cos(const Tensor& x) {
  Tensor out = float_unary(x, "cos", [](auto v) { return std::cos(v); });
  return record("cos", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    return Grads{neg(g * sin(sx.get()))};
  });
}

Tensor tanh(const Tensor& x) {
  Tensor out = float_unary(x, "tanh", [](auto v) { return kernels::tanh_fast(v); });
  // d tanh/dx = 1 - tanh²
  return record("tanh", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    const Tensor t = y.get();
    return Grads{g * (1.0 - t * t)};
  });
}

Tensor erf(const Tensor& x) {
  Tensor out = float_unary(x, "erf", [](auto v) { return std::erf(v); });
  // d erf/dx = 2/√π e^{-x²}
  return record("erf", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    const Tensor v = sx.get();
    return Grads{g * exp(neg(v * v)) * (2.0 / std::sqrt(std::numbers::pi))};
  });
}

// ---------------------------------------------------------------------------
// activations
// ---------------------------------------------------------------------------

Tensor sigmoid(const Tensor& x) {
  Tensor out = float_unary(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    return T(1) / (T(1) + kernels::exp_fast(-v));
  });
  // dσ/dx = σ(1 - σ)
  return record("sigmoid", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    const Tensor s = y.get();
    return Grads{g * s * (1.0 - s)};
  });
}

Tensor relu(const Tensor& x) {
  Tensor out = dispatch_numeric(x.dtype(), "relu", [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, T>(x, [](T v) { return v > T(0) ? v : T(0); });
  });
  return record("relu", {x}, out, [y = SavedTensor::output(out)](const Tensor& g, auto&) {
    return Grads{relu_backward(y.get(), g)};
  });
}

Tensor relu_backward(const Tensor& y, const Tensor& g) {
  ZOO_CHECK(y.shape() == g.shape() && y.dtype() == g.dtype(),
            "relu_backward: the output {} {} and its gradient {} {} must match", y.shape(),
            y.dtype(), g.shape(), g.dtype());
  // One pass instead of where(y > 0, g, 0), which would build a mask tensor first.
  Tensor out = dispatch_floating(g.dtype(), "relu_backward", [&](auto tag) {
    using T = decltype(tag);
    return map_binary<T, T>(y, g, "relu_backward", [](T yv, T gv) { return yv > T(0) ? gv : T(0); });
  });
  // Linear in g with the same mask; in y the derivative is 0 almost everywhere.
  return record("relu_backward", {y, g}, out,
                [sy = SavedTensor::input(y)](const Tensor& gg, auto&) {
                  return Grads{Tensor(), relu_backward(sy.get(), gg)};
                });
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  Tensor out = float_unary(x, "leaky_relu", [negative_slope](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : v * static_cast<T>(negative_slope);
  });
  return record("leaky_relu", {x}, out,
                [sx = SavedTensor::input(x), negative_slope](const Tensor& g, auto&) {
                  return Grads{where(sx.get() > 0.0, g, g * negative_slope)};
                });
}

Tensor gelu(const Tensor& x, bool approximate) {
  constexpr double kSqrt2OverPi = 0.7978845608028654;  // √(2/π)
  constexpr double kCubic = 0.044715;
  if (approximate) {
    Tensor out = float_unary(x, "gelu", [](auto v) {
      using T = decltype(v);
      return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(kCubic) * v * v * v)));
    });
    // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
    // dy/dx = ½(1 + tanh u) + ½x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²)
    return record("gelu", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
      const Tensor v = sx.get();
      const Tensor t = tanh((v + v * v * v * kCubic) * kSqrt2OverPi);
      const Tensor du = (v * v * (3 * kCubic) + 1.0) * kSqrt2OverPi;
      return Grads{g * ((t + 1.0) * 0.5 + v * 0.5 * (1.0 - t * t) * du)};
    });
  }
  Tensor out = float_unary(x, "gelu", [](auto v) {
    using T = decltype(v);
    return T(0.5) * v * (T(1) + std::erf(v * T(std::numbers::sqrt2 / 2)));
  });
  // y = xΦ(x):  dy/dx = Φ(x) + xφ(x), φ(x) = e^{-x²/2}/√(2π)
  return record("gelu", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    const Tensor v = sx.get();
    const Tensor cdf = (erf(v * (std::numbers::sqrt2 / 2)) + 1.0) * 0.5;
    const Tensor pdf = exp(v * v * -0.5) * (1.0 / std::sqrt(2 * std::numbers::pi));
    return Grads{g * (cdf + v * pdf)};
  });
}

Tensor silu(const Tensor& x) {
  Tensor out = float_unary(x, "silu", [](auto v) {
    using T = decltype(v);
    return v / (T(1) + kernels::exp_fast(-v));
  });
  // d(xσ(x))/dx = σ(x)(1 + x(1 - σ(x)))
  return record("silu", {x}, out, [sx = SavedTensor::input(x)](const Tensor& g, auto&) {
    const Tensor v = sx.get();
    if (GradMode::is_enabled()) {  // create_graph: composed, so that it differentiates again
      const Tensor s = sigmoid(v);
      return Grads{g * s * (v * (1.0 - s) + 1.0)};
    }
    // One pass instead of six (sigmoid, 1 − s, ·x, +1 and two products): the U-Net runs
    // silu after every group norm.
    return Grads{dispatch_floating(g.dtype(), "silu backward", [&](auto tag) {
      using T = decltype(tag);
      return map_binary<T, T>(as_dtype(v, g.dtype()), g, "silu backward", [](T xv, T gv) {
        const T s = T(1) / (T(1) + kernels::exp_fast(-xv));
        return gv * s * (xv * (T(1) - s) + T(1));
      });
    })};
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  Tensor out = float_unary(x, "softplus", [beta, threshold](auto v) {
    using T = decltype(v);
    const T bx = static_cast<T>(beta) * v;
    return bx > static_cast<T>(threshold) ? v : std::log1p(std::exp(bx)) / static_cast<T>(beta);
  });
  // d/dx (1/β)log(1 + e^{βx}) = σ(βx)
  return record("softplus", {x}, out,
                [sx = SavedTensor::input(x), beta, threshold](const Tensor& g, auto&) {
                  const Tensor bx = sx.get() * beta;
                  return Grads{where(bx > threshold, g, g * sigmoid(bx))};
                });
}

Tensor clamp(const Tensor& x, double min, double max) {
  ZOO_CHECK(!(min > max), "clamp: min {} is larger than max {}", min, max);
  Tensor out = dispatch_numeric(x.dtype(), "clamp", [&](auto tag) {
    using T = decltype(tag);
    const T lo = static_cast<T>(std::max(min, -1e308)), hi = static_cast<T>(std::min(max, 1e308));
    return map_unary<T, T>(x, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); });
  });
  return record("clamp", {x}, out, [sx = SavedTensor::input(x), min, max](const Tensor& g, auto&) {
    const Tensor v = sx.get();
    return Grads{where(logical_and(v >= min, v <= max), g, 0.0)};
  });
}

Tensor clamp_min(const Tensor& x, double min) { return clamp(x, min, INFINITY); }
Tensor clamp_max(const Tensor& x, double max) { return clamp(x, -INFINITY, max); }

// ---------------------------------------------------------------------------
// comparisons and logic
// ---------------------------------------------------------------------------

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto p, auto q) { return p == q; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto p, auto q) { return p != q; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto p, auto q) { return p < q; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto p, auto q) { return p <= q; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto p, auto q) { return p > q; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto p, auto q) { return p >= q; }); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
// A comparison with a number happens in the tensor's dtype if floating, else in double.
static Tensor compare_scalar(double v, const Tensor& t) {
  return scalar_tensor(v, is_floating(t.dtype()) ? t.dtype() : kFloat64);
}
Tensor operator==(const Tensor& a, double b) { return eq(a, compare_scalar(b, a)); }
Tensor operator!=(const Tensor& a, double b) { return ne(a, compare_scalar(b, a)); }
Tensor operator<(const Tensor& a, double b) { return lt(a, compare_scalar(b, a)); }
Tensor operator<=(const Tensor& a, double b) { return le(a, compare_scalar(b, a)); }
Tensor operator>(const Tensor& a, double b) { return gt(a, compare_scalar(b, a)); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, compare_scalar(b, a)); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return map_binary<bool, bool>(as_dtype(a, kBool), as_dtype(b, kBool), "logical_and",
                                [](bool p, bool q) { return p && q; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return map_binary<bool, bool>(as_dtype(a, kBool), as_dtype(b, kBool), "logical_or",
                                [](bool p, bool q) { return p || q; });
}
Tensor logical_not(const Tensor& a) {
  return map_unary<bool, bool>(as_dtype(a, kBool), [](bool p) { return !p; });
}

Tensor isfinite(const Tensor& x) {
  return dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return map_unary<T, bool>(x, [](T v) {
      if constexpr (std::is_floating_point_v<T>) return std::isfinite(v);
      else return true;
    });
  });
}

bool all(const Tensor& x) {
  for (bool v : as_dtype(x, kBool).to_vector<bool>())
    if (!v) return false;
  return true;
}

bool any(const Tensor& x) {
  for (bool v : as_dtype(x, kBool).to_vector<bool>())
    if (v) return true;
  return false;
}

// ---------------------------------------------------------------------------
// selection
// ---------------------------------------------------------------------------

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  ZOO_CHECK(condition.dtype() == kBool, "where: the condition must be a bool tensor, got {}",
            condition.dtype());
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"),
                                       b.shape(), "where");
  const DType dtype = promote_types(a.dtype(), b.dtype());
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  Tensor out = dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    Tensor o = empty(shape, dtype);
    T* po = o.data_ptr<T>();
    const bool* pc = static_cast<const bool*>(condition.storage().data());
    const T* px = static_cast<const T*>(x.storage().data());
    const T* py = static_cast<const T*>(y.storage().data());
    strided_loop<4>(shape,
                    {o.strides(), broadcast_strides(condition.shape(), condition.strides(), shape),
                     broadcast_strides(x.shape(), x.strides(), shape),
                     broadcast_strides(y.shape(), y.strides(), shape)},
                    {0, condition.offset(), x.offset(), y.offset()}, kGrainSize,
                    [&](const Offsets4& off, const Offsets4& st, std::int64_t n) {
                      for (std::int64_t i = 0; i < n; ++i)
                        po[off[0] + i] = pc[off[1] + i * st[1]] ? px[off[2] + i * st[2]]
                                                                : py[off[3] + i * st[3]];
                    });
    return o;
  });
  return record("where", {a, b}, out,
                [c = SavedTensor::input(condition), sa = a.shape(), sb = b.shape(),
                 da = a.dtype(), db = b.dtype()](const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor cond = c.get();
                  const Tensor zero = zeros({}, g.dtype());
                  return Grads{needs[0] ? reduce_grad(where(cond, g, zero), sa, da) : Tensor(),
                               needs[1] ? reduce_grad(where(cond, zero, g), sb, db) : Tensor()};
                });
}

Tensor where(const Tensor& condition, const Tensor& a, double b) {
  return where(condition, a, wrap_scalar(b, a));
}
Tensor where(const Tensor& condition, double a, const Tensor& b) {
  return where(condition, wrap_scalar(a, b), b);
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return false;
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return false;
    if (x[i] == y[i]) continue;  // equal infinities
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]))) return false;
  }
  return true;
}

}  // namespace zoo
