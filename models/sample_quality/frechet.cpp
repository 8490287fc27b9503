/// @file frechet.cpp
/// @brief Gaussian statistics of features and the Fréchet distance between two of them.

#include "models/sample_quality/frechet.h"

#include <cmath>

#include "autograd/error.h"

namespace zoo::models {

GaussianStats gaussian_statistics(const Tensor& features) {
  ZOO_CHECK(features.dim() == 2, "gaussian_statistics: features must be (N, D), got shape {}", features.shape());
  ZOO_CHECK(features.is_floating_point(), "gaussian_statistics: features must be floating, got {}",
            dtype_name(features.dtype()));
  const std::int64_t n = features.size(0), d = features.size(1);
  ZOO_CHECK(n >= 2, "gaussian_statistics: a covariance needs at least 2 feature vectors, got shape {}",
            features.shape());
  const std::vector<double> x = features.to(kFloat64).to_vector<double>();  // row-major (N, D)
  const auto at = [&](std::int64_t row, std::int64_t col) { return x[static_cast<std::size_t>(row * d + col)]; };
  for (double value : x)
    ZOO_CHECK(std::isfinite(value), "gaussian_statistics: the features {} hold a non-finite value ({})",
              features.shape(), value);

  GaussianStats stats{std::vector<double>(static_cast<std::size_t>(d), 0.0), Matrix(d, d), n};
  // μ = (1/N) Σ_n x_n
  for (std::int64_t row = 0; row < n; ++row)
    for (std::int64_t i = 0; i < d; ++i) stats.mean[static_cast<std::size_t>(i)] += at(row, i);
  for (double& m : stats.mean) m /= static_cast<double>(n);

  // Σ = (1/(N−1)) Σ_n (x_n − μ)(x_n − μ)ᵀ: the upper triangle, then mirrored, so that Σ
  // is exactly symmetric.
  std::vector<double> centred(static_cast<std::size_t>(d));
  for (std::int64_t row = 0; row < n; ++row) {
    for (std::size_t i = 0; i < centred.size(); ++i) centred[i] = at(row, static_cast<std::int64_t>(i)) - stats.mean[i];
    for (std::int64_t i = 0; i < d; ++i) {
      const double ci = centred[static_cast<std::size_t>(i)];
      if (ci == 0) continue;  // a dead ReLU unit: a whole row of zeros to skip
      for (std::int64_t j = i; j < d; ++j) stats.covariance(i, j) += ci * centred[static_cast<std::size_t>(j)];
    }
  }
  for (std::int64_t i = 0; i < d; ++i)
    for (std::int64_t j = i; j < d; ++j) {
      stats.covariance(i, j) /= static_cast<double>(n - 1);
      stats.covariance(j, i) = stats.covariance(i, j);
    }
  return stats;
}

double frechet_distance(const GaussianStats& a, const GaussianStats& b) {
  const auto d = static_cast<std::int64_t>(a.mean.size());
  ZOO_CHECK(b.mean.size() == a.mean.size() && a.covariance.rows == d && a.covariance.cols == d &&
                b.covariance.rows == d && b.covariance.cols == d,
            "frechet_distance: the two Gaussians differ in dimension: mean ({}) and covariance ({} x {}) "
            "against mean ({}) and covariance ({} x {})",
            a.mean.size(), a.covariance.rows, a.covariance.cols, b.mean.size(), b.covariance.rows, b.covariance.cols);
  // ‖μ₁ − μ₂‖²
  double mean_term = 0;
  for (std::size_t i = 0; i < a.mean.size(); ++i) mean_term += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
  // Tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} = Σ_i √λ_i(M), M symmetrised against rounding.
  const Matrix s = psd_sqrt(a.covariance);
  const Matrix m = symmetrized(matmul(matmul(s, b.covariance), s));
  double cross_term = 0;
  for (double lambda : psd_eigenvalues(m)) cross_term += std::sqrt(lambda);
  return mean_term + trace(a.covariance) + trace(b.covariance) - 2 * cross_term;
}

}  // namespace zoo::models
