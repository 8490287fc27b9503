/// @file features.cpp
/// @brief A classifier's penultimate features and class probabilities, batch by batch.

#include "models/sample_quality/features.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"

namespace zoo::models {

ClassifierOutputs classifier_outputs(nn::Sequential& net, const Tensor& images, std::size_t feature_layers,
                                     std::int64_t batch_size) {
  ZOO_CHECK(feature_layers >= 1 && feature_layers < net.size(),
            "classifier_outputs: feature_layers must be between 1 and {} (the Sequential has {} layers), got {}",
            net.size() - 1, net.size(), feature_layers);
  ZOO_CHECK(images.dim() >= 1 && images.size(0) > 0, "classifier_outputs: no images (shape {})", images.shape());
  ZOO_CHECK(batch_size >= 1, "classifier_outputs: batch_size must be at least 1, got {}", batch_size);
  const bool was_training = net.is_training();
  net.eval();
  NoGradGuard no_grad;
  const std::int64_t n = images.size(0);
  std::vector<Tensor> features, probabilities;
  for (std::int64_t start = 0; start < n; start += batch_size) {
    Tensor x = images.narrow(0, start, std::min(batch_size, n - start));
    for (std::size_t i = 0; i < feature_layers; ++i) x = (*net[i])(x);
    ZOO_CHECK(x.dim() == 2, "classifier_outputs: the first {} layers must give features (N, D), got shape {}",
              feature_layers, x.shape());
    features.push_back(x);
    for (std::size_t i = feature_layers; i < net.size(); ++i) x = (*net[i])(x);
    probabilities.push_back(softmax(x, 1));
  }
  net.train(was_training);
  return {cat(features, 0).to(kFloat32), cat(probabilities, 0).to(kFloat32)};
}

namespace {

/// "Conv2d, ReLU, ...": the layer names of a Sequential, for error messages.
std::string layer_names(const nn::Sequential& net) {
  std::string names;
  for (const auto& layer : net) names += (names.empty() ? "" : ", ") + layer->name();
  return names;
}

}  // namespace

ClassifierOutputs cnn_outputs(nn::Sequential& cnn, const Tensor& images, std::int64_t batch_size) {
  ZOO_CHECK(images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
            "cnn_outputs: images must be (N, 1, 28, 28), got shape {}", images.shape());
  // make_cnn(): 11 layers, the 8th (index 7) Linear(3136, 128), then ReLU, Dropout, Linear(128, 10).
  const auto hidden = cnn.size() == 11 ? std::dynamic_pointer_cast<nn::Linear>(cnn[7]) : nullptr;
  const auto relu = cnn.size() == 11 ? std::dynamic_pointer_cast<nn::ReLU>(cnn[8]) : nullptr;
  const auto last = cnn.size() == 11 ? std::dynamic_pointer_cast<nn::Linear>(cnn[10]) : nullptr;
  ZOO_CHECK(hidden && relu && last && hidden->options.in_features() == 64 * 7 * 7 &&
                hidden->options.out_features() == 128 && last->options.out_features() == 10,
            "cnn_outputs: the classifier is not make_cnn()'s network (11 layers, Linear(3136, 128) → ReLU at "
            "positions 7-8, Linear(128, 10) last); it has {} layers: {}",
            cnn.size(), layer_names(cnn));
  return classifier_outputs(cnn, images, kCnnFeatureLayers, batch_size);
}

double mean_confidence(const Tensor& probabilities) {
  ZOO_CHECK(probabilities.dim() == 2 && probabilities.size(0) > 0,
            "mean_confidence: probabilities must be (N, C) with N > 0, got shape {}", probabilities.shape());
  return mean(amax(probabilities.to(kFloat64), {1})).item();
}

double label_accuracy(const Tensor& probabilities, const Tensor& labels) {
  ZOO_CHECK(probabilities.dim() == 2 && probabilities.size(0) > 0,
            "label_accuracy: probabilities must be (N, C) with N > 0, got shape {}", probabilities.shape());
  const std::int64_t n = probabilities.size(0), c = probabilities.size(1);
  ZOO_CHECK(labels.dim() == 1 && labels.size(0) == n,
            "label_accuracy: labels must be (N) = ({}) to match probabilities {}, got shape {}", n,
            probabilities.shape(), labels.shape());
  ZOO_CHECK(labels.dtype() == kInt64, "label_accuracy: labels must be int64, got {}", dtype_name(labels.dtype()));
  const std::vector<std::int64_t> requested = labels.to_vector<std::int64_t>();
  const std::vector<std::int64_t> predicted = argmax(probabilities, 1).to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < requested.size(); ++i) {
    ZOO_CHECK(requested[i] >= 0 && requested[i] < c, "label_accuracy: label {} at position {} is not a class 0..{}",
              requested[i], i, c - 1);
    correct += predicted[i] == requested[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace zoo::models
