// The sample-quality metric: the Jacobi eigen-solver and the PSD square root against
// matrices built from known eigen-decompositions, the Fréchet distance against its
// closed form for diagonal covariances and its invariances (itself, swapped arguments,
// shuffled samples), confidence and accuracy on a classifier with known outputs, the
// CNN's features on the MNIST fixture (an untrained, seeded CNN: no trained weights
// needed), the samples file, and errors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "models/classifier/model.h"
#include "models/sample_quality/evaluate.h"
#include "models/sample_quality/features.h"
#include "models/sample_quality/frechet.h"
#include "models/sample_quality/matrix.h"
#include "models/sample_quality/samples_file.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"
#include "nn/layers.h"
#include "test_util.h"

using namespace zoo;
using models::Matrix;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

/// An n × n matrix of standard normal values.
Matrix random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix m(rows, cols);
  for (double& x : m.values) x = normal(rng);
  return m;
}

/// A random orthonormal n × n matrix: Gram–Schmidt on the columns of a Gaussian matrix.
Matrix random_orthonormal(std::int64_t n, std::uint64_t seed) {
  Matrix q = random_matrix(n, n, seed);
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t i = 0; i < n; ++i) dot += q(i, j) * q(i, k);
      for (std::int64_t i = 0; i < n; ++i) q(i, j) -= dot * q(i, k);
    }
    double norm = 0;
    for (std::int64_t i = 0; i < n; ++i) norm += q(i, j) * q(i, j);
    for (std::int64_t i = 0; i < n; ++i) q(i, j) /= std::sqrt(norm);
  }
  return q;
}

/// V diag(λ) Vᵀ.
Matrix compose(const Matrix& v, const std::vector<double>& lambda) {
  Matrix scaled = v;
  for (std::int64_t i = 0; i < v.rows; ++i)
    for (std::int64_t k = 0; k < v.cols; ++k) scaled(i, k) *= lambda[static_cast<std::size_t>(k)];
  return models::symmetrized(models::matmul(scaled, models::transpose(v)));
}

/// The largest |a_ij − b_ij|.
double max_difference(const Matrix& a, const Matrix& b) {
  REQUIRE(a.rows == b.rows);
  REQUIRE(a.cols == b.cols);
  double worst = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) worst = std::max(worst, std::abs(a.values[i] - b.values[i]));
  return worst;
}

/// N correlated D-dimensional points: Gaussian noise times a random mixing matrix, plus a shift.
Tensor correlated_features(std::int64_t n, std::int64_t d, std::uint64_t seed, double shift = 0) {
  Generator gen(seed);
  const Tensor mixing = randn({d, d}, kFloat64, gen);
  return add(matmul(randn({n, d}, kFloat64, gen), mixing), full({n, d}, shift, kFloat64));
}

/// Gaussian statistics given directly: mean μ and diagonal covariance diag(variances).
models::GaussianStats diagonal_gaussian(const std::vector<double>& mean, const std::vector<double>& variances) {
  const auto d = static_cast<std::int64_t>(mean.size());
  models::GaussianStats g{mean, Matrix(d, d), 100};
  for (std::size_t i = 0; i < variances.size(); ++i)
    g.covariance(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i)) = variances[i];
  return g;
}

std::string fixture_dir() { return std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini"; }

}  // namespace

TEST_CASE("sample_quality: the Jacobi eigen-solver recovers a known decomposition", "[sample_quality]") {
  const std::int64_t n = 24;
  const Matrix v = random_orthonormal(n, 1);
  // Positive, negative, a repeated eigenvalue and a zero one.
  std::vector<double> lambda(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) lambda[static_cast<std::size_t>(i)] = static_cast<double>(i) - 8.5;
  lambda[3] = lambda[4] = 2.0;
  lambda[5] = 0.0;
  const Matrix a = compose(v, lambda);

  const models::SymmetricEigen eig = models::symmetric_eigen(a);
  std::vector<double> expected = lambda;
  std::sort(expected.begin(), expected.end());
  for (std::size_t i = 0; i < expected.size(); ++i) REQUIRE(eig.values[i] == Approx(expected[i]).margin(1e-12));
  // V is orthonormal and A = V diag(λ) Vᵀ.
  REQUIRE(max_difference(models::matmul(models::transpose(eig.vectors), eig.vectors), Matrix::identity(n)) < 1e-13);
  REQUIRE(max_difference(compose(eig.vectors, eig.values), a) < 1e-12);
  // Each column is an eigenvector: A v_j = λ_j v_j.
  const Matrix av = models::matmul(a, eig.vectors);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = 0; i < n; ++i)
      REQUIRE(av(i, j) == Approx(eig.values[static_cast<std::size_t>(j)] * eig.vectors(i, j)).margin(1e-12));
}

TEST_CASE("sample_quality: the eigen-solver on a random symmetric matrix and on edge cases", "[sample_quality]") {
  const Matrix b = random_matrix(40, 40, 2);
  const Matrix a = models::symmetrized(b);  // (B + Bᵀ)/2
  const models::SymmetricEigen eig = models::symmetric_eigen(a);
  REQUIRE(std::is_sorted(eig.values.begin(), eig.values.end()));
  REQUIRE(max_difference(compose(eig.vectors, eig.values), a) < 1e-12);
  double sum = 0;
  for (double x : eig.values) sum += x;
  REQUIRE(sum == Approx(models::trace(a)).margin(1e-11));  // Tr A = Σ λ

  const models::SymmetricEigen zero = models::symmetric_eigen(Matrix(3, 3));
  REQUIRE(zero.values == std::vector<double>{0, 0, 0});
  REQUIRE(models::symmetric_eigen(Matrix(0, 0)).values.empty());

  REQUIRE_THROWS_WITH(models::symmetric_eigen(Matrix(2, 3)), Contains("symmetric_eigen") && Contains("2 x 3"));
  Matrix asymmetric = Matrix::identity(3);
  asymmetric(0, 2) = 1;
  REQUIRE_THROWS_WITH(models::symmetric_eigen(asymmetric), Contains("not symmetric"));
  Matrix infinite = Matrix::identity(2);
  infinite(1, 1) = INFINITY;
  REQUIRE_THROWS_WITH(models::symmetric_eigen(infinite), Contains("non-finite"));
}

TEST_CASE("sample_quality: the PSD square root squares back", "[sample_quality]") {
  for (const std::int64_t rank : {30, 7}) {  // full rank, and rank-deficient like few samples in many dims
    INFO("rank " << rank);
    const Matrix b = random_matrix(30, rank, 3);
    const Matrix a = models::symmetrized(models::matmul(b, models::transpose(b)));  // B Bᵀ is PSD
    const Matrix s = models::psd_sqrt(a);
    REQUIRE(max_difference(s, models::transpose(s)) == 0);
    REQUIRE(max_difference(models::matmul(s, s), a) < 1e-11);
    for (double x : models::psd_eigenvalues(s)) REQUIRE(x >= 0);
  }
  // √ of a known diagonal, in a rotated basis: to rounding (entries near 5, a few hundred
  // operations: 1e-11) when every eigenvalue is positive; a zero eigenvalue comes out as
  // ±ε‖A‖ and its root as about √(ε‖A‖) ≈ 1e-7 (the sanitizer build rounds differently).
  const Matrix v = random_orthonormal(5, 4);
  REQUIRE(max_difference(models::psd_sqrt(compose(v, {1, 4, 9, 16, 25})), compose(v, {1, 2, 3, 4, 5})) < 1e-11);
  REQUIRE(max_difference(models::psd_sqrt(compose(v, {0, 1, 4, 9, 16})), compose(v, {0, 1, 2, 3, 4})) < 1e-7);
  // Rounding negatives are clamped; a real negative eigenvalue is an error.
  REQUIRE(max_difference(models::psd_sqrt(compose(v, {-1e-15, 1, 4, 9, 16})), compose(v, {0, 1, 2, 3, 4})) < 1e-7);
  REQUIRE_THROWS_WITH(models::psd_sqrt(compose(v, {-1, 1, 4, 9, 16})), Contains("not positive semi-definite"));
}

TEST_CASE("sample_quality: mean and unbiased covariance of a small set by hand", "[sample_quality]") {
  // x = (1, 3, 5), y = (2, 4, 0): μ = (3, 2); deviations (−2, 0, 2) and (0, 2, −2);
  // var x = 8/2 = 4, var y = 8/2 = 4, cov = (0 + 0 − 4)/2 = −2 (normalised by N − 1 = 2).
  const models::GaussianStats g = models::gaussian_statistics(tensor({{1, 2}, {3, 4}, {5, 0}}));
  REQUIRE(g.mean == std::vector<double>{3, 2});
  REQUIRE(g.covariance.values == std::vector<double>{4, -2, -2, 4});
  REQUIRE(g.count == 3);
}

TEST_CASE("sample_quality: the Fréchet distance of a set to itself is 0", "[sample_quality]") {
  // d² = 2 Tr Σ − 2 Tr Σ: the check is relative to Tr Σ, the size of the terms that cancel.
  const models::GaussianStats g = models::gaussian_statistics(correlated_features(500, 32, 5));
  INFO("Tr Σ = " << models::trace(g.covariance));
  REQUIRE(std::abs(models::frechet_distance(g, g)) < 1e-12 * models::trace(g.covariance));
  // A singular covariance (20 points in 32 dimensions): rounding leaves the 13 zero
  // eigenvalues at about ε‖Σ‖ instead of 0, whose square roots are about √ε‖Σ‖^{1/2}, so the
  // distance is only good to about 1e-8 of Tr Σ (see frechet.h).
  const models::GaussianStats few = models::gaussian_statistics(correlated_features(20, 32, 6));
  INFO("Tr Σ = " << models::trace(few.covariance) << ", d² = " << models::frechet_distance(few, few));
  REQUIRE(std::abs(models::frechet_distance(few, few)) < 1e-7 * models::trace(few.covariance));
}

TEST_CASE("sample_quality: the Fréchet distance of diagonal Gaussians is its closed form", "[sample_quality]") {
  // Commuting covariances: Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}) = Σ (√a − √b)².
  const std::vector<double> mu1{0.5, -1, 2, 0}, mu2{1.5, -1, 0, 0.25};
  const std::vector<double> a{1, 4, 0.25, 0}, b{9, 4, 1, 2};
  double expected = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    expected += std::pow(mu1[i] - mu2[i], 2) + std::pow(std::sqrt(a[i]) - std::sqrt(b[i]), 2);
  REQUIRE(models::frechet_distance(diagonal_gaussian(mu1, a), diagonal_gaussian(mu2, b)) ==
          Approx(expected).epsilon(1e-12));
  // The same two Gaussians seen in a rotated basis (x ↦ Vx): the distance does not change.
  const Matrix v = random_orthonormal(4, 7);
  models::GaussianStats r1 = diagonal_gaussian(mu1, a), r2 = diagonal_gaussian(mu2, b);
  r1.covariance = compose(v, a);
  r2.covariance = compose(v, b);
  for (std::int64_t i = 0; i < 4; ++i) {
    r1.mean[static_cast<std::size_t>(i)] = r2.mean[static_cast<std::size_t>(i)] = 0;
    for (std::int64_t k = 0; k < 4; ++k) {
      r1.mean[static_cast<std::size_t>(i)] += v(i, k) * mu1[static_cast<std::size_t>(k)];
      r2.mean[static_cast<std::size_t>(i)] += v(i, k) * mu2[static_cast<std::size_t>(k)];
    }
  }
  // Σ₁ is singular here (a = 0 in one direction), so the accuracy is ~√ε, not ε (see frechet.h).
  REQUIRE(models::frechet_distance(r1, r2) == Approx(expected).epsilon(1e-7));
  // Without the zero variance it is at the level of ε again.
  r1.covariance = compose(v, {1, 4, 0.25, 0.5});
  // The last dimension's (√0 − √2)² = 2 becomes (√½ − √2)².
  const double full_rank = expected - 2 + std::pow(std::sqrt(0.5) - std::sqrt(2), 2);
  REQUIRE(models::frechet_distance(r1, r2) == Approx(full_rank).epsilon(1e-12));
}

TEST_CASE("sample_quality: the Fréchet distance is symmetric and ignores the order of the samples",
          "[sample_quality]") {
  const Tensor x = correlated_features(400, 16, 8);
  const Tensor y = correlated_features(300, 16, 9, 0.3);
  const models::GaussianStats gx = models::gaussian_statistics(x), gy = models::gaussian_statistics(y);
  const double d = models::frechet_distance(gx, gy);
  REQUIRE(d > 1);
  REQUIRE(models::frechet_distance(gy, gx) == Approx(d).epsilon(1e-10));
  // The rows of x in reverse order give the same Gaussian, up to rounding.
  const std::vector<double> values = x.to_vector<double>();
  std::vector<double> reversed;
  for (std::int64_t row = 399; row >= 0; --row)
    reversed.insert(reversed.end(), values.begin() + row * 16, values.begin() + (row + 1) * 16);
  const models::GaussianStats shuffled = models::gaussian_statistics(from_vector(reversed, {400, 16}));
  REQUIRE(models::frechet_distance(shuffled, gy) == Approx(d).epsilon(1e-10));
  REQUIRE(models::frechet_distance(shuffled, gx) == Approx(0).margin(1e-9));

  REQUIRE_THROWS_WITH(models::frechet_distance(gx, models::gaussian_statistics(correlated_features(10, 3, 1))),
                      Contains("frechet_distance") && Contains("differ in dimension"));
  REQUIRE_THROWS_WITH(models::gaussian_statistics(zeros({1, 4})), Contains("at least 2"));
  REQUIRE_THROWS_WITH(models::gaussian_statistics(zeros({4})), Contains("(N, D)"));
}

TEST_CASE("sample_quality: confidence and label accuracy of a classifier with known outputs", "[sample_quality]") {
  // Flatten → Linear(4, 2) with W = [[1, 0, 0, 0], [0, 1, 0, 0]], b = 0: the logits are
  // the first two pixels. Image 0: logits (ln 3, 0) → p = (3/4, 1/4); image 1: logits
  // (0, ln 9) → p = (1/10, 9/10).
  nn::Sequential net(nn::Flatten(), nn::Linear(4, 2));
  nn::StateDict weights;
  weights.insert("1.weight", tensor({{1, 0, 0, 0}, {0, 1, 0, 0}}));
  weights.insert("1.bias", tensor({0, 0}));
  net.load_state_dict(weights);
  const Tensor images = tensor({{std::log(3.0), 0, 0.5, 0.5}, {0, std::log(9.0), 0.5, 0.5}}).reshape({2, 1, 2, 2});
  const models::ClassifierOutputs out = models::classifier_outputs(net, images, 1, /*batch_size=*/1);
  test::require_close(out.features, images.reshape({2, 4}), 1e-6, 1e-7);
  test::require_close(out.probabilities, tensor({{0.75, 0.25}, {0.1, 0.9}}), 1e-5, 1e-6);
  REQUIRE(models::mean_confidence(out.probabilities) == Approx((0.75 + 0.9) / 2).epsilon(1e-6));
  REQUIRE(models::label_accuracy(out.probabilities, tensor({0, 1}, kInt64)) == 1.0);
  REQUIRE(models::label_accuracy(out.probabilities, tensor({0, 0}, kInt64)) == 0.5);
  REQUIRE(models::label_accuracy(out.probabilities, tensor({1, 0}, kInt64)) == 0.0);
  REQUIRE(net.is_training());  // the mode it found is restored

  REQUIRE_THROWS_WITH(models::label_accuracy(out.probabilities, tensor({0, 1, 1}, kInt64)),
                      Contains("label_accuracy") && Contains("[3]"));
  REQUIRE_THROWS_WITH(models::label_accuracy(out.probabilities, tensor({0, 2}, kInt64)), Contains("not a class 0..1"));
  REQUIRE_THROWS_WITH(models::label_accuracy(out.probabilities, tensor({0, 1})), Contains("int64"));
  REQUIRE_THROWS_WITH(models::classifier_outputs(net, images, 2), Contains("feature_layers"));
  REQUIRE_THROWS_WITH(models::mean_confidence(zeros({3})), Contains("mean_confidence") && Contains("[3]"));
}

TEST_CASE("sample_quality: an untrained CNN's features and scores on the MNIST fixture", "[sample_quality]") {
  manual_seed(11);
  auto cnn = models::make_cnn();
  const nn::MnistData test = nn::load_mnist(fixture_dir(), false, 0);
  const nn::MnistData train = nn::load_mnist(fixture_dir(), true, 0);

  const models::ClassifierOutputs out = models::cnn_outputs(*cnn, test.images);
  REQUIRE(out.features.shape() == Shape{100, 128});
  REQUIRE(out.probabilities.shape() == Shape{100, 10});
  REQUIRE(min(out.features).item() >= 0);  // taken after the ReLU
  test::require_close(sum(out.probabilities, {1}), ones({100}), 1e-5, 1e-5);
  // Batching does not change the result; the logits are the last layer on the features.
  const models::ClassifierOutputs batched = models::cnn_outputs(*cnn, test.images, /*batch_size=*/7);
  test::require_close(batched.features, out.features, 1e-5, 1e-6);
  const Tensor logits = (*(*cnn)[10])(out.features);
  test::require_close(softmax(logits, 1).detach(), out.probabilities, 1e-5, 1e-6);

  const models::GaussianStats reference = models::reference_statistics(*cnn, test.images);
  REQUIRE(reference.count == 100);
  const models::SampleQuality itself = models::evaluate_samples(*cnn, test.images, test.labels, reference);
  REQUIRE(itself.frechet_distance == Approx(0).margin(1e-9));
  REQUIRE(itself.count == 100);
  REQUIRE(itself.reference_count == 100);
  REQUIRE(itself.mean_confidence == Approx(models::mean_confidence(out.probabilities)).epsilon(1e-12));
  REQUIRE(itself.label_accuracy.has_value());

  // Real training images are closer to the test set than the same images drowned in noise,
  // which (N, 784) input also exercises; without labels there is no accuracy.
  const models::SampleQuality real = models::evaluate_samples(*cnn, train.images, std::nullopt, reference);
  Generator gen(12);
  const Tensor noisy = clamp(add(train.images, randn(train.images.shape(), kFloat32, gen)), 0.0, 1.0);
  const models::SampleQuality bad = models::evaluate_samples(*cnn, noisy.reshape({200, 784}), std::nullopt, reference);
  INFO("real " << real.frechet_distance << ", noisy " << bad.frechet_distance);
  REQUIRE(real.frechet_distance > 0);
  REQUIRE(bad.frechet_distance > 2 * real.frechet_distance);
  REQUIRE_FALSE(real.label_accuracy.has_value());

  REQUIRE_THROWS_WITH(models::evaluate_samples(*cnn, zeros({5, 28, 28}), std::nullopt, reference),
                      Contains("evaluate_samples") && Contains("[5, 28, 28]"));
  REQUIRE_THROWS_WITH(models::evaluate_samples(*cnn, full({2, 784}, 1.5), std::nullopt, reference),
                      Contains("not in [0, 1]"));
  REQUIRE_THROWS_WITH(models::evaluate_samples(*cnn, test.images, tensor({1, 2}, kInt64), reference),
                      Contains("labels must be (N) = (100)"));
  auto mlp = models::make_mlp();
  REQUIRE_THROWS_WITH(models::cnn_outputs(*mlp, test.images), Contains("not make_cnn()") && Contains("Linear"));
}

TEST_CASE("sample_quality: the samples file round-trips and rejects what it cannot score", "[sample_quality]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-sample-quality";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Generator gen(13);
  const Tensor images = rand({6, 784}, kFloat32, gen);
  const Tensor labels = tensor({0, 1, 2, 3, 9, 9}, kInt64);
  models::save_samples_file(dir / "s.safetensors", images, labels);
  const models::SamplesFile loaded = models::load_samples_file(dir / "s.safetensors");
  REQUIRE(loaded.images.shape() == Shape{6, 1, 28, 28});
  REQUIRE(loaded.images.to_vector<float>() == images.to_vector<float>());
  REQUIRE(loaded.labels.has_value());
  REQUIRE(loaded.labels->to_vector<std::int64_t>() == labels.to_vector<std::int64_t>());
  models::save_samples_file(dir / "unlabelled.safetensors", images.reshape({6, 1, 28, 28}));
  REQUIRE_FALSE(models::load_samples_file(dir / "unlabelled.safetensors").labels.has_value());

  REQUIRE_THROWS_WITH(models::load_samples_file(dir / "missing.safetensors"),
                      Contains("missing.safetensors") && Contains("no such file"));
  nn::StateDict other;
  other.insert("x", images);
  nn::save_safetensors(dir / "other.safetensors", other);
  REQUIRE_THROWS_WITH(models::load_samples_file(dir / "other.safetensors"), Contains("no tensor named 'images'"));
  other = nn::StateDict();
  other.insert("images", images.reshape({6, 28, 28}));
  nn::save_safetensors(dir / "flat.safetensors", other);
  REQUIRE_THROWS_WITH(models::load_samples_file(dir / "flat.safetensors"),
                      Contains("flat.safetensors") && Contains("[6, 28, 28]"));
  other = nn::StateDict();
  other.insert("images", images);
  other.insert("labels", tensor({0, 1}, kInt64));
  nn::save_safetensors(dir / "labels.safetensors", other);
  REQUIRE_THROWS_WITH(models::load_samples_file(dir / "labels.safetensors"), Contains("labels must be (N) = (6)"));

  REQUIRE_THROWS_WITH(models::save_samples_file(dir / "x.safetensors", images, tensor({0, 1, 2, 3, 4, 10}, kInt64)),
                      Contains("label 10 at position 5"));
  REQUIRE_THROWS_WITH(models::save_samples_file(dir / "x.safetensors", images * 2.0), Contains("not in [0, 1]"));
  REQUIRE_THROWS_WITH(models::save_samples_file(dir / "x.safetensors", images.to(kInt64)), Contains("floating"));
  REQUIRE_FALSE(fs::exists(dir / "x.safetensors"));
  REQUIRE_THROWS_WITH(models::load_cnn_classifier(dir / "none.safetensors"), Contains("zoo train cnn"));
  fs::remove_all(dir);
}
