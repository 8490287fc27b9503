#pragma once
/// @file dataset.h
/// @brief `Dataset`, what a `DataLoader` draws batches from, and `TensorDataset`, a data
/// set held in two tensors.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::nn {

/// An input and its target: one example, or a batch of them (then both tensors have a
/// leading batch dim B). For MNIST: input (B, 1, 28, 28) float32, target (B) int64.
struct Example {
  Tensor input;   ///< What the model sees.
  Tensor target;  ///< What it should predict (a label, a next token, the input itself...).
};

/// A data set of `size()` examples, read a batch at a time.
///
/// Why batches rather than one example at a time, as PyTorch's `Dataset.__getitem__`?
/// In C++ the obvious data set is a few big tensors, and the fast way to make a batch
/// from them is one copy per example straight into the batch tensor. Fetching examples
/// one by one would allocate B small tensors per batch and then stack them: more code
/// and several times slower. A data set that computes each example (decoding, random
/// crops) simply loops over the indices inside `get_batch`.
///
/// `get_batch` runs on the `DataLoader`'s background thread while the model trains on
/// the previous batch, so it must only read shared state (it is `const`) and should not
/// start parallel zoo ops of its own: those would start a second thread pool.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// The number of examples.
  virtual std::int64_t size() const = 0;
  /// The examples at `indices` (each in [0, size())), stacked along a new first dim.
  virtual Example get_batch(const std::vector<std::int64_t>& indices) const = 0;
  /// One example, without the batch dim: `get_batch({i})` with that dim removed.
  Example get(std::int64_t index) const;
};

/// A data set held in two tensors whose first dim indexes the examples, like PyTorch's
/// `TensorDataset`: example i is (inputs[i], targets[i]).
///
///     auto mnist = load_mnist("data/mnist");
///     auto train = std::make_shared<TensorDataset>(mnist.images, mnist.labels);
class TensorDataset : public Dataset {
 public:
  /// Both tensors need at least one dim, and equal sizes in it. They are stored
  /// contiguous and detached from any autograd graph (copied only if needed).
  TensorDataset(const Tensor& inputs, const Tensor& targets);

  /// The number of examples: the size of the first dim.
  std::int64_t size() const override { return inputs_.size(0); }
  /// Gathers the rows `indices` of both tensors, the same as `index_select(t, 0, indices)`
  /// but single-threaded (see `Dataset`): one `memcpy` per example.
  Example get_batch(const std::vector<std::int64_t>& indices) const override;

  /// All inputs, (N, ...).
  const Tensor& inputs() const { return inputs_; }
  /// All targets, (N, ...).
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};

}  // namespace zoo::nn
