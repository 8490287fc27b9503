/// @file samples_file.cpp
/// @brief Writing and reading the safetensors file of generated MNIST images.

#include "models/sample_quality/samples_file.h"

#include <cmath>

#include "autograd/error.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

Tensor checked_mnist_images(const Tensor& images, const std::string& context) {
  const bool flat = images.dim() == 2 && images.size(1) == 784;
  const bool square = images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28;
  ZOO_CHECK(flat || square, "{}: images must be (N, 1, 28, 28) or (N, 784), got shape {}", context, images.shape());
  ZOO_CHECK(images.size(0) > 0, "{}: no images (shape {})", context, images.shape());
  ZOO_CHECK(images.is_floating_point(), "{}: images must be floating (float32), got {}", context,
            dtype_name(images.dtype()));
  const Tensor x = images.to(kFloat32).reshape({images.size(0), 1, 28, 28}).contiguous();
  const std::vector<float> pixels = x.to_vector<float>();
  for (std::size_t i = 0; i < pixels.size(); ++i)
    ZOO_CHECK(std::isfinite(pixels[i]) && pixels[i] >= 0.0f && pixels[i] <= 1.0f,
              "{}: pixel {} of image {} is {}, not in [0, 1] (clamp samples to [0, 1] first)", context, i % 784,
              i / 784, pixels[i]);
  return x;
}

void check_mnist_labels(const Tensor& labels, std::int64_t count, const std::string& context) {
  ZOO_CHECK(labels.dim() == 1 && labels.size(0) == count, "{}: labels must be (N) = ({}) like the images, got shape {}",
            context, count, labels.shape());
  ZOO_CHECK(labels.dtype() == kInt64, "{}: labels must be int64, got {}", context, dtype_name(labels.dtype()));
  const std::vector<std::int64_t> values = labels.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i)
    ZOO_CHECK(values[i] >= 0 && values[i] <= 9, "{}: label {} at position {} is not a digit 0..9", context,
              values[i], i);
}

void save_samples_file(const std::filesystem::path& path, const Tensor& images, const std::optional<Tensor>& labels) {
  const std::string context = "save_samples_file '" + path.string() + "'";
  nn::StateDict tensors;
  tensors.insert("images", checked_mnist_images(images, context));
  if (labels) {
    check_mnist_labels(*labels, images.size(0), context);
    tensors.insert("labels", labels->contiguous());
  }
  nn::save_safetensors(path, tensors, {{"content", "mnist-samples"}});
}

SamplesFile load_samples_file(const std::filesystem::path& path) {
  const std::string context = "samples file '" + path.string() + "'";
  ZOO_CHECK(std::filesystem::exists(path), "{}: no such file", context);
  const nn::SafetensorsFile file = nn::load_safetensors(path);
  ZOO_CHECK(file.tensors.contains("images"),
            "{}: no tensor named 'images' (it must hold images (N, 1, 28, 28) or (N, 784) float32)", context);
  SamplesFile samples{checked_mnist_images(file.tensors.at("images"), context), std::nullopt};
  if (file.tensors.contains("labels")) {
    samples.labels = file.tensors.at("labels");
    check_mnist_labels(*samples.labels, samples.images.size(0), context);
  }
  return samples;
}

}  // namespace zoo::models
