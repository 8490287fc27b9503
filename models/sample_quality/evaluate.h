#pragma once
/// @file evaluate.h
/// @brief The sample-quality metric for MNIST behind `zoo eval-samples`: the Fréchet
/// distance between the CNN features of generated and of real test images, the CNN's
/// mean confidence on the samples and, for class-conditional samples, its accuracy on
/// the requested labels.
///
/// The three numbers answer three questions about a generative model's samples:
/// - **Fréchet distance** (frechet.h; FID's recipe with zoo's CNN in place of
///   Inception-v3): do the samples, as a set, look like the test set? It sees both
///   quality (features of smudges are far from features of digits) and diversity
///   (a model that draws only 1s has the wrong mean and too small a covariance).
///   Lower is better; it is a squared distance in the CNN's 128-dimensional feature
///   space, so figures are comparable only when computed with the same classifier
///   weights and the same number of samples (its estimate is biased upwards at small N).
/// - **Mean confidence** (features.h): does each sample look clearly like *some*
///   digit? (Blind to diversity: ten thousand perfect 1s score near 1.)
/// - **Label accuracy**, for samples drawn for requested classes: does the model draw
///   the digit it was asked for?
///
/// **The floor.** Even real images are not at distance 0 from the test set: a finite
/// sample of the same distribution has a slightly different mean and covariance. The
/// distance between real training images and the test set is the best a model can
/// hope for with as many samples. Measured on 2026-11-27, 1 thread, with the CNN trained
/// by `zoo train cnn --threads 1 --out runs/cnn` (6 epochs, seed 0, test accuracy 99.22%),
/// against the 10,000 test images; each run takes about 6 s:
///
/// | samples (`zoo eval-samples --threads 1 ...`)             | N      | d²     | confidence | label accuracy |
/// |----------------------------------------------------------|--------|--------|------------|----------------|
/// | `--floor`: training images 0..9999 (the floor)           | 10,000 | 3.63   | 0.9928     | 0.9954         |
/// | `--floor --count 60000`: all training images             | 60,000 | 1.82   | 0.9929     | 0.9955         |
/// | `--floor --per-class 50 --seed 1`, `2`, `3` (2 threads)  |    500 | 10.0–13.2 | 0.991–0.993 | 0.992–0.996 |
/// | `--floor --count 500`: training images 0..499            |    500 | 23.2   | 0.9906     | 0.99           |
/// | the test images themselves                               | 10,000 | −8e-11 | 0.9911     | 0.9922         |
/// | test images + Gaussian noise σ = 0.1, clamped to [0, 1]  | 10,000 | 10.2   | 0.9892     |                |
/// | test images + Gaussian noise σ = 0.5, clamped to [0, 1]  | 10,000 | 420    | 0.7995     |                |
/// | only the test set's 1s (no diversity)                    |  1,135 | 1033   | 0.9947     | 0.9974         |
/// | test images, requested labels shifted by one             | 10,000 | −8e-11 | 0.9911     | 0.0007         |
///
/// Read with the floor in mind: a model at d² ≈ 4 with 10,000 samples is as close to the
/// test set as real training digits are. The estimate shrinks with N (3.63 at 10,000,
/// 1.82 at 60,000: a finite sample's covariance is noisy), so compare models at the
/// same N. With few samples, draw the floor class-balanced (`--per-class`), as the samples
/// of a conditional model are: the first 500 training images are not, and score 23.2. The rows of 1s and of shifted labels show why three numbers: confidence is
/// blind to diversity, and the distance is blind to which digit was asked for.
///
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "autograd/tensor.h"
#include "models/sample_quality/frechet.h"
#include "nn/containers.h"

namespace zoo::models {

/// What `evaluate_samples` measured.
struct SampleQuality {
  double frechet_distance = 0;          ///< d², squared Fréchet distance to the reference features
  double mean_confidence = 0;           ///< mean over samples of the CNN's largest class probability
  std::optional<double> label_accuracy;  ///< fraction classified as their requested label, if labels were given
  std::int64_t count = 0;               ///< N, the number of samples
  std::int64_t reference_count = 0;     ///< how many real images the reference statistics came from
};

/// `make_cnn()` with the weights in `path` (written by `zoo train cnn`); if the file is
/// missing, an error that says to train it.
std::shared_ptr<nn::Sequential> load_cnn_classifier(const std::filesystem::path& path);

/// The Gaussian statistics (mean, covariance) of the CNN features of real images
/// (N, 1, 28, 28) or (N, 784) in [0, 1]: the reference samples are compared against.
GaussianStats reference_statistics(nn::Sequential& cnn, const Tensor& images);

/// Scores samples (N, 1, 28, 28) or (N, 784) in [0, 1], N ≥ 2, with the trained
/// `make_cnn()` network `cnn`: the Fréchet distance between the Gaussian of their
/// features and `reference`, the mean confidence and, if `labels` (N) int64 are given,
/// the accuracy on them. Errors name the shapes.
SampleQuality evaluate_samples(nn::Sequential& cnn, const Tensor& samples, const std::optional<Tensor>& labels,
                               const GaussianStats& reference);

}  // namespace zoo::models
