#pragma once
/// @file linalg.h
/// @brief Matrix products through BLAS (cblas_sgemm / cblas_dgemm).

#include "autograd/tensor.h"

namespace zoo {

/// The matrix product with NumPy's rules: 1-D·1-D is a dot product; a 1-D operand is
/// treated as a row (left) or column (right) vector and that dim is removed again; for
/// more dims the last two are matrices and the leading (batch) dims broadcast.
/// Gradients: \f$\bar A = \bar C B^\top\f$, \f$\bar B = A^\top \bar C\f$.
Tensor matmul(const Tensor& a, const Tensor& b);

/// The affine map of a `Linear` layer, \f$y = x W^\top + b\f$, for x of shape
/// (..., in), W (out, in) and b (out) or undefined (no bias); y is (..., out).
/// Gradients, with the leading dims of x flattened into rows:
/// \f$\bar x = \bar y W\f$, \f$\bar W = \bar y^\top x\f$, \f$\bar b = \sum_{rows} \bar y\f$.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

/// The low-level GEMM on raw row-major matrices, \f$C \leftarrow \alpha\,op(A)\,op(B)
/// + \beta C\f$ with op = transpose when asked: cblas for float and double, a plain
/// loop for int64. Exposed for fused kernels and benchmarks.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc);

}  // namespace zoo
