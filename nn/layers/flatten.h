#pragma once
/// @file flatten.h
/// @brief `Flatten`: merges a range of dims into one, e.g. images (N, C, H, W) into rows
/// (N, C·H·W) before a `Linear` layer.

#include <cstdint>
#include <string>

#include "nn/module.h"

namespace zoo::nn {

/// Settings of a `Flatten` layer: `FlattenOptions().start_dim(1).end_dim(-1)`.
class FlattenOptions {
 public:
  /// First dim to merge (default 1: keep the batch dim).
  std::int64_t start_dim() const { return start_dim_; }
  /// Sets the first dim to merge.
  FlattenOptions& start_dim(std::int64_t value) { start_dim_ = value; return *this; }
  /// Last dim to merge, included (default -1: the last).
  std::int64_t end_dim() const { return end_dim_; }
  /// Sets the last dim to merge.
  FlattenOptions& end_dim(std::int64_t value) { end_dim_ = value; return *this; }

 private:
  std::int64_t start_dim_ = 1;
  std::int64_t end_dim_ = -1;
};

/// Merges dims start_dim..end_dim, like `torch.nn.Flatten`: (N, C, H, W) -> (N, C·H·W)
/// with the defaults. A view when the layout allows it (see `Tensor::flatten`). No
/// parameters.
class Flatten : public Module {
 public:
  /// A layer with the given settings (the defaults: dims 1 to -1).
  explicit Flatten(const FlattenOptions& opts = FlattenOptions()) : options(opts) {}
  /// x (d0, ..., dn) -> the same with dims start_dim..end_dim merged.
  Tensor forward(const Tensor& x) override;
  /// "start_dim=1, end_dim=-1".
  std::string extra_repr() const override;

  FlattenOptions options;  ///< The settings the layer was built with.
};

}  // namespace zoo::nn
