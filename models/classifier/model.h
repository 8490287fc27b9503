#pragma once
/// @file model.h
/// @brief The MNIST classifiers: a multilayer perceptron and a small convolutional net.
///
/// Both map a batch of images x (N, 1, 28, 28) with pixels in [0, 1] to logits (N, 10);
/// the loss is cross-entropy, \f$-\log \mathrm{softmax}(z)_y\f$. They are `Sequential`s,
/// so their parameter names (`1.weight`, `4.bias`, ...) are those of the same
/// `torch.nn.Sequential` in PyTorch and the weights load there and back.
/// Lesson: @ref tutorial_07_mnist_classifier.

#include <memory>
#include <string>

#include "nn/containers.h"

namespace zoo::models {

/// Flatten → Linear(784, 512) → ReLU → Dropout → Linear(512, 512) → ReLU → Dropout →
/// Linear(512, 10): 669,706 parameters.
std::shared_ptr<nn::Sequential> make_mlp(double dropout = 0.2);

/// Two conv blocks and two linear layers:
/// Conv2d(1, 32, 3, pad 1) → ReLU → MaxPool 2 → Conv2d(32, 64, 3, pad 1) → ReLU →
/// MaxPool 2 → Flatten → Linear(64·7·7, 128) → ReLU → Dropout → Linear(128, 10).
/// The 3×3 convolutions keep 28×28 and 14×14, each pooling halves it: 28 → 14 → 7.
std::shared_ptr<nn::Sequential> make_cnn(double dropout = 0.25);

/// `make_mlp()` or `make_cnn()` by name ("mlp" or "cnn"); an error for anything else.
std::shared_ptr<nn::Sequential> make_classifier(const std::string& name);
/// The same with dropout probability `dropout` instead of the model's default.
std::shared_ptr<nn::Sequential> make_classifier(const std::string& name, double dropout);

}  // namespace zoo::models
