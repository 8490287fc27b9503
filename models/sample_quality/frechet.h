#pragma once
/// @file frechet.h
/// @brief The Fréchet distance between two sets of feature vectors, each summarised by
/// a Gaussian: the metric behind FID (Heusel et al., 2017), here on MNIST with the
/// features of zoo's CNN classifier (see evaluate.h).
///
/// Fit a Gaussian to each set of D-dimensional features: \f$\mathcal N(\mu_1, \Sigma_1)\f$
/// to the generated images, \f$\mathcal N(\mu_2, \Sigma_2)\f$ to the real ones. The
/// Fréchet (2-Wasserstein) distance between two Gaussians has a closed form (Dowson and
/// Landau, 1982):
/// \f[ d^2 = \|\mu_1 - \mu_2\|^2 + \mathrm{Tr}\big(\Sigma_1 + \Sigma_2 - 2\,(\Sigma_1\Sigma_2)^{1/2}\big). \f]
/// The first term sees a shift of the mean features (wrong classes, wrong stroke
/// thickness on average); the second a wrong spread (a model that draws the same few
/// digits has too small a covariance, a noisy one too large a covariance).
///
/// **Computing the trace term with symmetric matrices only.** \f$\Sigma_1\Sigma_2\f$ is
/// not symmetric, but write \f$S = \Sigma_1^{1/2}\f$ (the PSD square root) and
/// \f$M = S\,\Sigma_2\,S\f$. M is symmetric and PSD (\f$x^\top M x = (Sx)^\top \Sigma_2 (Sx) \ge 0\f$),
/// so its eigenvalues are real and \f$\ge 0\f$, and a symmetric eigen-solver finds them.
/// \f$\Sigma_1\Sigma_2 = S\,(S\,\Sigma_2)\f$ and \f$M = (S\,\Sigma_2)\,S\f$: the same two
/// factors in the other order. If \f$\Sigma_1\f$ is invertible the two products are
/// similar, \f$\Sigma_1\Sigma_2 = S\,M\,S^{-1}\f$, and similar matrices have the same
/// eigenvalues; if it is singular, AB and BA still have the same eigenvalues (the
/// characteristic polynomials of AB and BA agree for square A and B). So
/// \f$\Sigma_1\Sigma_2\f$ has the eigenvalues \f$\lambda_i \ge 0\f$ of M, its square root
/// (the one with non-negative eigenvalues) has \f$\sqrt{\lambda_i}\f$, and
/// \f[ \mathrm{Tr}\,(\Sigma_1\Sigma_2)^{1/2} = \sum_i \sqrt{\lambda_i} = \mathrm{Tr}\,M^{1/2}
///     = \mathrm{Tr}\big(\Sigma_1^{1/2}\,\Sigma_2\,\Sigma_1^{1/2}\big)^{1/2}. \f]
/// Two symmetric eigen-decompositions in float64 (one for S, one for M) give the
/// distance, with no complex numbers and none of the imaginary round-off that
/// `scipy.linalg.sqrtm` leaves on the non-symmetric product.
///
/// **Accuracy.** With full-rank covariances the distance is accurate to a few ε times
/// \f$\mathrm{Tr}\,\Sigma\f$ (ε ≈ 2.2e-16). The square root is ill-conditioned at a
/// singular covariance, though (fewer than D + 1 samples, or a feature that never varies
/// but by rounding): an eigenvalue that is 0 comes out of any float64 eigen-solver as
/// about \f$\pm\varepsilon\|\Sigma\|\f$, and \f$\sqrt{\varepsilon\|\Sigma\|}\f$ is about
/// \f$10^{-8}\|\Sigma\|^{1/2}\f$; the distance is then good to about 1e-8 of
/// \f$\mathrm{Tr}\,\Sigma\f$, still far below any difference that matters.
///
/// Like FID, `frechet_distance` returns the **squared** distance \f$d^2\f$; its unit is
/// squared feature units. Rounding can leave it slightly below 0 for two identical sets:
/// it is not clamped.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "models/sample_quality/matrix.h"

namespace zoo::models {

/// A Gaussian fitted to N feature vectors of dimension D.
struct GaussianStats {
  std::vector<double> mean;  ///< μ (D)
  Matrix covariance{0, 0};   ///< Σ (D × D), unbiased: normalised by N − 1
  std::int64_t count = 0;    ///< N, the number of vectors it was fitted to
};

/// The sample mean and covariance of features (N, D), any floating dtype, computed in
/// float64 in two passes (the mean, then the centred products, which loses no precision
/// to cancellation):
/// \f[ \mu = \frac1N \sum_n x_n, \qquad \Sigma = \frac{1}{N-1} \sum_n (x_n - \mu)(x_n - \mu)^\top. \f]
/// The covariance is the unbiased one, normalised by N − 1 as `numpy.cov` and the usual
/// FID code do (for N = 10,000 the choice changes Σ by 0.01%). Errors: not 2-D, fewer
/// than 2 rows, not floating, non-finite values.
GaussianStats gaussian_statistics(const Tensor& features);

/// The squared Fréchet distance between the Gaussians `a` and `b`,
/// \f[ d^2 = \|\mu_1 - \mu_2\|^2 + \mathrm{Tr}\,\Sigma_1 + \mathrm{Tr}\,\Sigma_2
///          - 2\,\mathrm{Tr}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2} \f]
/// (see the file's comment). Symmetric in a and b up to rounding. Errors: different dimensions.
double frechet_distance(const GaussianStats& a, const GaussianStats& b);

}  // namespace zoo::models
