#pragma once
/// @file samples_file.h
/// @brief The file through which a generative model hands its MNIST samples to
/// `zoo eval-samples`.
///
/// A safetensors file (see nn/io/safetensors.h) holding
///
///     images   F32  (N, 1, 28, 28) or (N, 784)   pixels in [0, 1]
///     labels   I64  (N)                           optional: the class each image was asked to be
///
/// and, when zoo writes it, the metadata `{"content": "mnist-samples"}`. Anything that
/// writes safetensors can make one: in PyTorch,
/// `safetensors.torch.save_file({"images": x.float(), "labels": y.long()}, "samples.safetensors")`.

#include <filesystem>
#include <optional>
#include <string>

#include "autograd/tensor.h"

namespace zoo::models {

/// The contents of a samples file.
struct SamplesFile {
  Tensor images;                ///< (N, 1, 28, 28) float32 in [0, 1], whatever shape the file used
  std::optional<Tensor> labels;  ///< (N) int64 in 0..9, if the samples were class-conditional
};

/// Writes images (N, 1, 28, 28) or (N, 784) and optional labels (N) to `path`,
/// atomically (`nn::save_safetensors` writes a temporary file and renames it). The
/// images are stored as float32 (N, 1, 28, 28) and must lie in [0, 1]: clamp samples
/// first. Errors: shapes, dtypes, values out of range, labels not in 0..9.
void save_samples_file(const std::filesystem::path& path, const Tensor& images,
                       const std::optional<Tensor>& labels = std::nullopt);

/// Reads a samples file and checks it as `save_samples_file` does, with errors that
/// name the file and what is wrong. Other tensors in the file are ignored.
SamplesFile load_samples_file(const std::filesystem::path& path);

/// images (N, 1, 28, 28) or (N, 784), floating, every pixel finite and in [0, 1], N > 0,
/// as float32 (N, 1, 28, 28); an error that begins with `context` otherwise.
Tensor checked_mnist_images(const Tensor& images, const std::string& context);

/// labels (N) int64 in 0..9 for `count` images; an error that begins with `context` otherwise.
void check_mnist_labels(const Tensor& labels, std::int64_t count, const std::string& context);

}  // namespace zoo::models
