#pragma once
/// @file feed_forward.h
/// @brief The SwiGLU feed-forward network of LLaMA-style transformers, also the shape
/// of one expert in the mixture of experts.

#include <cstdint>
#include <memory>

#include "nn/layers/linear.h"
#include "nn/module.h"

namespace zoo::models {

/// \f$\mathrm{FFN}(x) = W_2\,(\mathrm{silu}(W_1 x) \odot W_3 x)\f$ (Shazeer 2020, "GLU
/// variants"): the gate \f$\mathrm{silu}(W_1 x)\f$ decides, unit by unit, how much of the
/// linear feature \f$W_3 x\f$ passes. No biases. Parameters: `w1.weight` (h, d),
/// `w3.weight` (h, d), `w2.weight` (d, h).
class SwiGLU : public nn::Module {
 public:
  /// d = `dim` inputs and outputs, h = `hidden` units.
  SwiGLU(std::int64_t dim, std::int64_t hidden);
  /// x (..., d) -> (..., d).
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Linear> w1;  ///< the gate's projection
  std::shared_ptr<nn::Linear> w3;  ///< the value's projection
  std::shared_ptr<nn::Linear> w2;  ///< back to d
};

}  // namespace zoo::models
