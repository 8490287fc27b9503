/// @file evaluate.cpp
/// @brief Fréchet distance, mean confidence and label accuracy of generated MNIST images.

#include "models/sample_quality/evaluate.h"

#include "autograd/error.h"
#include "models/classifier/model.h"
#include "models/sample_quality/features.h"
#include "models/sample_quality/samples_file.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

std::shared_ptr<nn::Sequential> load_cnn_classifier(const std::filesystem::path& path) {
  ZOO_CHECK(std::filesystem::exists(path),
            "no classifier weights at '{}': train the CNN first with `zoo train cnn --out runs/cnn` "
            "(it writes runs/cnn/model.safetensors)",
            path.string());
  auto cnn = make_cnn();
  cnn->load_state_dict(nn::load_safetensors(path).tensors);
  cnn->eval();
  return cnn;
}

GaussianStats reference_statistics(nn::Sequential& cnn, const Tensor& images) {
  return gaussian_statistics(cnn_outputs(cnn, checked_mnist_images(images, "reference_statistics")).features);
}

SampleQuality evaluate_samples(nn::Sequential& cnn, const Tensor& samples, const std::optional<Tensor>& labels,
                               const GaussianStats& reference) {
  const Tensor images = checked_mnist_images(samples, "evaluate_samples");
  if (labels) check_mnist_labels(*labels, images.size(0), "evaluate_samples");
  const ClassifierOutputs out = cnn_outputs(cnn, images);
  SampleQuality quality;
  quality.frechet_distance = frechet_distance(gaussian_statistics(out.features), reference);
  quality.mean_confidence = mean_confidence(out.probabilities);
  if (labels) quality.label_accuracy = label_accuracy(out.probabilities, *labels);
  quality.count = images.size(0);
  quality.reference_count = reference.count;
  return quality;
}

}  // namespace zoo::models
