#pragma once
/// @file vec_math.h
/// @brief exp and tanh for float32 written so that the compiler vectorises loops of them.
///
/// Why: `std::exp` is a call into libm, which the compiler cannot vectorise (glibc's
/// vector variants are only used under -ffast-math, which zoo refuses). A loop of the
/// functions below compiles to AVX instructions, 8 floats at a time: exp, sigmoid,
/// SiLU, tanh and softmax become several times faster. Both are accurate to a few ulp
/// over the whole float range (a test checks them against libm); float64 keeps libm.

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace zoo::kernels {

/// \f$e^x\f$ by range reduction (the Cephes method):
/// \f$x = n \ln 2 + r\f$ with \f$n = \mathrm{round}(x/\ln 2)\f$ and
/// \f$|r| \le \tfrac12\ln 2\f$ (n rounded to nearest); then \f$e^x = 2^n e^r\f$, with \f$e^r\f$ from a degree-7
/// polynomial (Cephes' minimax coefficients, close to Taylor's \f$1/k!\f$) and \f$2^n\f$
/// made by writing \f$n + 127\f$ into the float's exponent bits.
inline float exp_float(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split in two so that n·ln2 is exact in the high part (Cody–Waite reduction).
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kMax = 88.7228391f;   // ln(FLT_MAX): e^x overflows above
  constexpr float kMin = -87.3365448f;  // ln(FLT_MIN): below, the result is subnormal; give 0
  // Plain comparisons rather than std::fmin/fmax/floor, which would stop vectorisation.
  const float xc = x < kMin ? kMin : (x > kMax ? kMax : x);
  // Round to nearest integer: adding 1.5·2^23 pushes the fraction out of the mantissa
  // (valid for |v| < 2^22; the compiler may not fold it away without -ffast-math).
  constexpr float kRound = 12582912.0f;
  const float n = (xc * kLog2e + kRound) - kRound;
  const float r = xc - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors 2^(n/2)·2^(n - n/2), so that n = 128 or −126 (the ends of the
  // range) does not need an exponent field that a float lacks.
  const std::int32_t ni = static_cast<std::int32_t>(n);
  const std::int32_t half = ni >> 1;
  const float scale1 = std::bit_cast<float>((half + 127) << 23);
  const float scale2 = std::bit_cast<float>((ni - half + 127) << 23);
  const float y = p * scale1 * scale2;
  // Outside the range: +inf above, 0 below; NaN stays NaN.
  return x > kMax ? std::numeric_limits<float>::infinity() : (x < kMin ? 0.0f : (x != x ? x : y));
}

/// tanh: an odd polynomial in x near 0 (Cephes' coefficients, where the formula below
/// would lose relative precision), else \f$\tanh|x| = 1 - 2/(e^{2|x|} + 1)\f$ with the sign
/// put back.
inline float tanh_float(float x) {
  const float ax = x < 0 ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float large_abs = 1.0f - 2.0f / (exp_float(2.0f * ax) + 1.0f);
  const float large = x < 0 ? -large_abs : large_abs;
  return ax < 0.625f ? small : large;
}

/// The exponential for any floating type: vectorisable for float, libm for double.
template <class T>
inline T exp_fast(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_float(x);
  else return std::exp(x);
}

template <class T>
inline T tanh_fast(T x) {
  if constexpr (std::is_same_v<T, float>) return tanh_float(x);
  else return std::tanh(x);
}

}  // namespace zoo::kernels
