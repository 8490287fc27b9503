/// @file matrix.cpp
/// @brief Float64 matrix products, cyclic Jacobi eigen-decomposition, PSD square root.

#include "models/sample_quality/matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/error.h"

namespace zoo::models {

Matrix::Matrix(std::int64_t rows_, std::int64_t cols_)
    : rows(rows_), cols(cols_), values(static_cast<std::size_t>(rows_ * cols_), 0.0) {
  ZOO_CHECK(rows_ >= 0 && cols_ >= 0, "Matrix: negative size {} x {}", rows_, cols_);
}

Matrix Matrix::identity(std::int64_t n) {
  Matrix m(n, n);
  for (std::int64_t i = 0; i < n; ++i) m(i, i) = 1.0;
  return m;
}

Matrix matmul(const Matrix& a, const Matrix& b) {
  ZOO_CHECK(a.cols == b.rows, "matmul: cannot multiply a ({} x {}) matrix by a ({} x {}) one", a.rows, a.cols,
            b.rows, b.cols);
  Matrix c(a.rows, b.cols);
  // i-k-j order: the inner loop runs along rows of b and c, contiguous in memory.
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t k = 0; k < a.cols; ++k) {
      const double aik = a(i, k);
      for (std::int64_t j = 0; j < b.cols; ++j) c(i, j) += aik * b(k, j);
    }
  return c;
}

Matrix transpose(const Matrix& a) {
  Matrix t(a.cols, a.rows);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}

double trace(const Matrix& a) {
  ZOO_CHECK(a.rows == a.cols, "trace: the matrix is {} x {}, not square", a.rows, a.cols);
  double sum = 0;
  for (std::int64_t i = 0; i < a.rows; ++i) sum += a(i, i);
  return sum;
}

Matrix symmetrized(const Matrix& a) {
  ZOO_CHECK(a.rows == a.cols, "symmetrized: the matrix is {} x {}, not square", a.rows, a.cols);
  Matrix s(a.rows, a.cols);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < a.cols; ++j) s(i, j) = 0.5 * (a(i, j) + a(j, i));
  return s;
}

namespace {

double frobenius_norm(const Matrix& a) {
  return std::sqrt(std::inner_product(a.values.begin(), a.values.end(), a.values.begin(), 0.0));
}

/// A ← Jᵀ A J and V ← V J for the rotation J in the (p, q) plane that zeroes a_pq.
void rotate(Matrix& a, Matrix& v, std::int64_t p, std::int64_t q) {
  const double theta = (a(q, q) - a(p, p)) / (2 * a(p, q));
  // std::hypot(θ, 1) is √(θ² + 1) without overflow when a_pq is tiny and θ huge.
  const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::hypot(theta, 1.0));
  const double c = 1 / std::sqrt(t * t + 1), s = t * c;
  const std::int64_t n = a.rows;
  for (std::int64_t k = 0; k < n; ++k) {  // A J: columns p and q
    const double akp = a(k, p), akq = a(k, q);
    a(k, p) = c * akp - s * akq;
    a(k, q) = s * akp + c * akq;
  }
  for (std::int64_t k = 0; k < n; ++k) {  // Jᵀ (A J): rows p and q
    const double apk = a(p, k), aqk = a(q, k);
    a(p, k) = c * apk - s * aqk;
    a(q, k) = s * apk + c * aqk;
  }
  a(p, q) = a(q, p) = 0.0;  // zero in exact arithmetic; rounding would leave ~ε|A|
  for (std::int64_t k = 0; k < n; ++k) {  // V J
    const double vkp = v(k, p), vkq = v(k, q);
    v(k, p) = c * vkp - s * vkq;
    v(k, q) = s * vkp + c * vkq;
  }
}

}  // namespace

SymmetricEigen symmetric_eigen(const Matrix& input) {
  ZOO_CHECK(input.rows == input.cols, "symmetric_eigen: the matrix is {} x {}, not square", input.rows, input.cols);
  const std::int64_t n = input.rows;
  const double norm = frobenius_norm(input);
  ZOO_CHECK(std::isfinite(norm), "symmetric_eigen: the {} x {} matrix has non-finite elements", n, n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < i; ++j)
      ZOO_CHECK(std::abs(input(i, j) - input(j, i)) <= 1e-12 * norm,
                "symmetric_eigen: the {} x {} matrix is not symmetric: a({}, {}) = {} but a({}, {}) = {}", n, n, i,
                j, input(i, j), j, i, input(j, i));

  Matrix a = symmetrized(input);
  Matrix v = Matrix::identity(n);
  const double tolerance = std::numeric_limits<double>::epsilon() * norm;
  constexpr int kMaxSweeps = 100;
  bool converged = false;
  for (int sweep = 0; sweep < kMaxSweeps && !converged; ++sweep) {
    converged = true;
    for (std::int64_t p = 0; p < n; ++p)
      for (std::int64_t q = p + 1; q < n; ++q)
        if (std::abs(a(p, q)) > tolerance) {
          rotate(a, v, p, q);
          converged = false;
        }
  }
  ZOO_CHECK(converged, "symmetric_eigen: the Jacobi rotations did not converge in {} sweeps on a {} x {} matrix",
            kMaxSweeps, n, n);

  // Sort ascending, carrying each eigenvector (a column of V) with its eigenvalue.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) { return a(i, i) < a(j, j); });
  SymmetricEigen result{std::vector<double>(static_cast<std::size_t>(n)), Matrix(n, n)};
  for (std::int64_t j = 0; j < n; ++j) {
    const std::int64_t from = order[static_cast<std::size_t>(j)];
    result.values[static_cast<std::size_t>(j)] = a(from, from);
    for (std::int64_t i = 0; i < n; ++i) result.vectors(i, j) = v(i, from);
  }
  return result;
}

namespace {

/// Clamps the rounding negatives of a PSD matrix's eigenvalues to 0 (see `psd_sqrt`).
void clamp_rounding_negatives(std::vector<double>& values, const char* op) {
  double largest = 0;
  for (double x : values) largest = std::max(largest, std::abs(x));
  for (double& x : values) {
    ZOO_CHECK(x >= -1e-10 * largest,
              "{}: the matrix is not positive semi-definite: it has the eigenvalue {} (the largest in magnitude is {})",
              op, x, largest);
    x = std::max(x, 0.0);
  }
}

}  // namespace

std::vector<double> psd_eigenvalues(const Matrix& a) {
  std::vector<double> values = symmetric_eigen(a).values;
  clamp_rounding_negatives(values, "psd_eigenvalues");
  return values;
}

Matrix psd_sqrt(const Matrix& a) {
  SymmetricEigen eig = symmetric_eigen(a);
  clamp_rounding_negatives(eig.values, "psd_sqrt");
  // V diag(√λ) Vᵀ = Σ_k √λ_k v_k v_kᵀ: scale V's columns, then multiply by Vᵀ.
  Matrix scaled = eig.vectors;
  for (std::int64_t i = 0; i < scaled.rows; ++i)
    for (std::int64_t k = 0; k < scaled.cols; ++k) scaled(i, k) *= std::sqrt(eig.values[static_cast<std::size_t>(k)]);
  return symmetrized(matmul(scaled, transpose(eig.vectors)));
}

}  // namespace zoo::models
