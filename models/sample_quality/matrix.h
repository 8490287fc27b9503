#pragma once
/// @file matrix.h
/// @brief Small dense float64 matrices for the Fréchet distance: products, the
/// eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations, and the square
/// root of a positive semi-definite matrix.
///
/// The matrices here are covariances of classifier features, D × D with D = 128: small
/// enough that a readable O(D³) loop in float64 takes milliseconds, so there is no BLAS
/// and no autograd, only `std::vector<double>` in row-major order.

#include <cstdint>
#include <vector>

namespace zoo::models {

/// A dense row-major float64 matrix: element (i, j) is `values[i * cols + j]`.
struct Matrix {
  std::int64_t rows = 0;       ///< number of rows
  std::int64_t cols = 0;       ///< number of columns
  std::vector<double> values;  ///< rows × cols elements, row by row

  /// A rows × cols matrix of zeros.
  Matrix(std::int64_t rows_, std::int64_t cols_);
  /// The n × n identity.
  static Matrix identity(std::int64_t n);
  /// Element (i, j).
  double& operator()(std::int64_t i, std::int64_t j) { return values[static_cast<std::size_t>(i * cols + j)]; }
  /// Element (i, j).
  double operator()(std::int64_t i, std::int64_t j) const { return values[static_cast<std::size_t>(i * cols + j)]; }
};

/// The product A B of an (m × k) and a (k × n) matrix; an error naming both shapes if
/// the inner sizes differ.
Matrix matmul(const Matrix& a, const Matrix& b);

/// Aᵀ.
Matrix transpose(const Matrix& a);

/// \f$\mathrm{Tr}\,A = \sum_i A_{ii}\f$ of a square matrix.
double trace(const Matrix& a);

/// \f$\tfrac12 (A + A^\top)\f$: removes the asymmetry that rounding leaves in a product
/// such as \f$S\,B\,S\f$ that is symmetric in exact arithmetic.
Matrix symmetrized(const Matrix& a);

/// The eigen-decomposition \f$A = V \operatorname{diag}(\lambda) V^\top\f$ of a
/// symmetric matrix: `values` λ in ascending order, `vectors` V orthonormal, its column
/// j the eigenvector of λ_j (as `numpy.linalg.eigh` returns them).
struct SymmetricEigen {
  std::vector<double> values;  ///< λ, ascending
  Matrix vectors;              ///< V: column j is the unit eigenvector of λ_j
};

/// The eigen-decomposition of a symmetric n × n matrix by cyclic Jacobi rotations.
///
/// A rotation J in the (p, q) plane (\f$J_{pp} = J_{qq} = c\f$, \f$J_{pq} = s\f$,
/// \f$J_{qp} = -s\f$, \f$c = \cos\varphi\f$, \f$s = \sin\varphi\f$) turns A into
/// \f$A' = J^\top A J\f$, which has the same eigenvalues, and whose (p, q) element is
/// \f[ a'_{pq} = (c^2 - s^2)\,a_{pq} + c s\,(a_{pp} - a_{qq}). \f]
/// Choosing φ so that it vanishes: with \f$\theta = \cot 2\varphi = (a_{qq} - a_{pp}) / (2 a_{pq})\f$,
/// \f$t = \tan\varphi\f$ solves \f$t^2 + 2\theta t - 1 = 0\f$; the smaller root
/// \f$t = \operatorname{sign}(\theta) / (|\theta| + \sqrt{\theta^2 + 1})\f$ keeps
/// \f$|\varphi| \le \pi/4\f$, so the rotation disturbs the rest of A as little as possible;
/// then \f$c = 1/\sqrt{t^2 + 1}\f$, \f$s = t c\f$.
///
/// Each rotation lowers the sum of squares of the off-diagonal elements by exactly
/// \f$2 a_{pq}^2\f$ (rotations keep the Frobenius norm, and the diagonal gains what the
/// pair loses), so sweeping over all pairs p < q again and again drives A to a diagonal
/// matrix, quadratically fast once it is nearly diagonal; the accumulated product of
/// the rotations is V. A sweep skips the pairs with \f$|a_{pq}| \le \varepsilon \|A\|_F\f$
/// (ε the float64 machine epsilon, about 2.2e-16): they are at the level of A's own
/// rounding. The decomposition ends after the first sweep that rotates no pair, which on
/// 128 × 128 covariances takes about 8 to 12 sweeps; more than 100 sweeps is an error.
/// Errors: a non-square or non-symmetric matrix (a relative asymmetry above 1e-12),
/// non-finite elements.
SymmetricEigen symmetric_eigen(const Matrix& a);

/// The square root \f$A^{1/2} = V \operatorname{diag}(\sqrt{\lambda}) V^\top\f$ of a
/// symmetric positive semi-definite matrix: the unique PSD matrix whose square is A.
/// A covariance is PSD, but rounding can leave its zero eigenvalues (those of a feature
/// that never varies, or of a D-dimensional set with fewer than D + 1 points) at
/// −1e-17 or so: eigenvalues in \f$[-10^{-10} \max_i |\lambda_i|, 0)\f$ are clamped to 0
/// before the square root. A more negative eigenvalue means A is not PSD: an error.
Matrix psd_sqrt(const Matrix& a);

/// The eigenvalues of a symmetric PSD matrix with the rounding negatives clamped to 0,
/// as in `psd_sqrt` (ascending). An error if one is really negative.
std::vector<double> psd_eigenvalues(const Matrix& a);

}  // namespace zoo::models
