#pragma once
/// @file features.h
/// @brief What a trained classifier says about a set of images: the features of its
/// penultimate layer, and its class probabilities, from which come its mean confidence
/// and its accuracy on requested labels.
///
/// FID measures images with the features of a network trained to recognise them
/// (Inception-v3 for natural images). For MNIST zoo's own CNN plays that part
/// (`make_cnn()`, trained by `zoo train cnn`): its layers up to and including the ReLU
/// after Linear(3136, 128) map an image to a 128-dimensional feature vector that is
/// linearly separable into the ten digits, and the last Linear(128, 10) reads the
/// class scores off it.
///
/// Shapes: N images, D feature dimensions, C classes.

#include <cstddef>
#include <cstdint>

#include "autograd/tensor.h"
#include "nn/containers.h"

namespace zoo::models {

/// How many of `make_cnn()`'s layers make its features: Conv2d, ReLU, MaxPool2d,
/// Conv2d, ReLU, MaxPool2d, Flatten, Linear(3136, 128), ReLU. The rest, Dropout (the
/// identity in eval mode) and Linear(128, 10), turn features into logits.
inline constexpr std::size_t kCnnFeatureLayers = 9;

/// A classifier's view of N images.
struct ClassifierOutputs {
  Tensor features;       ///< (N, D) float32: the output of the first `feature_layers` layers
  Tensor probabilities;  ///< (N, C) float32: softmax of the logits
};

/// Runs `net` on images in eval mode without recording a graph, `batch_size` images at
/// a time (it restores the training mode it found). The first `feature_layers`
/// modules of the Sequential give the features, which must come out 2-D (N, D); the
/// remaining modules give the logits (N, C). Errors: `feature_layers` not between 1 and
/// size − 1, no images, batch_size < 1.
ClassifierOutputs classifier_outputs(nn::Sequential& net, const Tensor& images, std::size_t feature_layers,
                                     std::int64_t batch_size = 1000);

/// `classifier_outputs` of `make_cnn()` on images (N, 1, 28, 28): features (N, 128),
/// probabilities (N, 10). Checks first that `cnn` has the layers of `make_cnn()`, with
/// an error that says what it found.
ClassifierOutputs cnn_outputs(nn::Sequential& cnn, const Tensor& images, std::int64_t batch_size = 1000);

/// The mean confidence \f$\frac1N \sum_n \max_c p_{n,c}\f$ of probabilities (N, C): near
/// 1 when every image looks clearly like one class, near 1/C when the classifier cannot
/// tell. Errors: not 2-D or no rows.
double mean_confidence(const Tensor& probabilities);

/// The fraction of images whose most probable class, \f$\arg\max_c p_{n,c}\f$, is the
/// requested label: how often a class-conditional model draws the digit it was asked
/// for. probabilities (N, C), labels (N) int64 in 0..C−1. Errors: shapes, dtypes,
/// labels out of range.
double label_accuracy(const Tensor& probabilities, const Tensor& labels);

}  // namespace zoo::models
