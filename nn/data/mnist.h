#pragma once
/// @file mnist.h
/// @brief MNIST and Fashion-MNIST: the four IDX files of a folder as tensors.
///
/// Both data sets come as the same four files (plain or gzipped, `.gz`):
///
///     train-images-idx3-ubyte   60000 × 28 × 28 pixels     train-labels-idx1-ubyte   60000 labels
///     t10k-images-idx3-ubyte    10000 × 28 × 28 pixels     t10k-labels-idx1-ubyte    10000 labels
///
/// `data/fetch_mnist.sh` puts MNIST in `data/mnist/`; `data/fetch_mnist.sh --fashion`
/// puts Fashion-MNIST in `data/fashion-mnist/`.
///
/// Lesson: @ref tutorial_07_mnist_classifier.

#include <cstdint>
#include <filesystem>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo::nn {

/// One split of MNIST, ready for a `TensorDataset`.
struct MnistData {
  Tensor images;  ///< (N, 1, 28, 28) float32, pixel / 255 in [0, 1]
  Tensor labels;  ///< (N) int64, digits (or clothing classes) 0..9
};

/// Reads the training split (`train = true`) or the test split of MNIST or
/// Fashion-MNIST from `dir`, taking each file plain or gzipped. Checks that the images
/// are 28 × 28, that there are as many labels as images, that every label is in 0..9,
/// and that the split has `expected_count` examples: -1 (the default) means the
/// standard 60000 / 10000, 0 means any number (for cut-down test fixtures).
/// Missing files throw `zoo::Error` saying how to fetch them.
///
///     MnistData train = load_mnist("data/mnist");
///     auto dataset = std::make_shared<TensorDataset>(train.images, train.labels);
MnistData load_mnist(const std::filesystem::path& dir, bool train = true,
                     std::int64_t expected_count = -1);

/// The first `limit` examples of `data` (all of them if `limit` is 0 or larger than the
/// split): how trainers use a cut-down split (`--train-limit`, tests).
MnistData first_examples(MnistData data, std::int64_t limit);

/// `per_class` examples of each of the 10 digits, drawn at random without replacement
/// from `gen` (a random permutation, then the first `per_class` of each digit in it),
/// grouped by digit: a class-balanced sample of a split. An error names the digit if a
/// split has fewer than `per_class` of it.
MnistData balanced_examples(const MnistData& data, std::int64_t per_class, Generator& gen);

}  // namespace zoo::nn
