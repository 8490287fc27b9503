#pragma once
/// @file functional.h
/// @brief `zoo::nn::functional`: the stateless forms of the layers, as
/// `torch.nn.functional`. They are the autograd ops themselves (using-declarations),
/// plus `linear`, which the ops do not have. A model that prefers functions to modules
/// writes `namespace F = zoo::nn::functional;` and `F::relu(F::linear(x, w, b))`.

#include "autograd/ops.h"

namespace zoo::nn::functional {

/// The affine map of a Linear layer: \f$y = x W^\top + b\f$.
/// x: (..., in); weight W: (out, in); bias b: (out) or undefined. Result: (..., out).
/// Gradients (from matmul and add): \f$\bar x = \bar y W\f$,
/// \f$\bar W = \bar y^\top x\f$ (summed over the leading dims), \f$\bar b = \sum \bar y\f$.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// Activations (autograd/ops/elementwise.h).
using zoo::relu;
using zoo::leaky_relu;
using zoo::gelu;
using zoo::silu;
using zoo::sigmoid;
using zoo::tanh;
using zoo::softplus;
// Softmax (autograd/ops/softmax.h).
using zoo::softmax;
using zoo::log_softmax;
// Losses (autograd/ops/loss.h).
using zoo::Reduction;
using zoo::cross_entropy;
using zoo::nll_loss;
using zoo::mse_loss;
using zoo::binary_cross_entropy;
using zoo::binary_cross_entropy_with_logits;
// Convolution, pooling, resizing (autograd/ops/conv.h, pool.h).
using zoo::conv2d;
using zoo::conv_transpose2d;
using zoo::max_pool2d;
using zoo::avg_pool2d;
using zoo::interpolate_nearest;
using zoo::im2col;
using zoo::col2im;
// Normalisation and dropout (autograd/ops/norm.h).
using zoo::layer_norm;
using zoo::rms_norm;
using zoo::group_norm;
using zoo::dropout;
// Lookups (autograd/ops/index.h).
using zoo::embedding;
using zoo::one_hot;

}  // namespace zoo::nn::functional
