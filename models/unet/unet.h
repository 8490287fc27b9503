#pragma once
/// @file unet.h
/// @brief The small U-Net that DDPM and rectified flow share (Ho et al., 2020, sized
/// for 28×28 MNIST on two cores): it maps a noisy image and a time to an image-sized
/// prediction (the noise ε for DDPM, the velocity for rectified flow).
///
/// **Shape.** x (N, 1, 28, 28) → 3×3 conv to C channels → one level per entry of
/// `channel_mults` (28×28, 14×14, 7×7 by default), each `blocks_per_level` residual
/// blocks, a stride-2 conv between levels → a middle of residual block, self-attention,
/// residual block at the lowest resolution → the levels again in reverse, each block
/// fed the matching activation from the way down (a *skip connection*, concatenated on
/// the channels), nearest-neighbour upsampling and a 3×3 conv between levels →
/// GroupNorm, SiLU and a 3×3 conv back to 1 channel. The skips let fine detail bypass
/// the coarse middle; the middle sees the whole digit.
///
/// **Time and class.** The time t (a float per image) enters every residual block as a
/// learned projection of its sinusoidal embedding (`timestep_embedding`); a class label
/// adds a learned vector to that embedding, with one extra row, `num_classes`, meaning
/// "no class" (what classifier-free guidance trains with and samples from).
/// Lesson: @ref tutorial_13_ddpm.

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/module.h"

namespace zoo::models {

/// Sizes of a `UNet`.
struct UNetConfig {
  std::int64_t in_channels = 1;                     ///< image channels (in and out)
  std::int64_t base_channels = 32;                  ///< C, the channels at full resolution
  std::vector<std::int64_t> channel_mults = {1, 2, 2};  ///< channels C·m per level; each level after the first halves the size
  std::int64_t blocks_per_level = 1;                ///< residual blocks per level on the way down (one more on the way up)
  std::int64_t groups = 8;                          ///< GroupNorm groups (must divide every channel count)
  std::int64_t attention_heads = 4;                 ///< heads of the self-attention at the lowest resolution
  std::int64_t num_classes = 0;                     ///< 0: unconditional; else labels 0..K-1, and K for "no class"
  double dropout = 0.0;                             ///< inside the residual blocks
};

/// \f$e(t) = [\sin(t\,\omega_0), \ldots, \sin(t\,\omega_{h-1}), \cos(t\,\omega_0), \ldots,
/// \cos(t\,\omega_{h-1})]\f$ with \f$\omega_k = 10000^{-k/h}\f$, \f$h = \f$ `dim`/2 (the
/// Transformer's positional encoding, applied to a time): t (N) → (N, dim). Nearby times
/// get nearby vectors at every scale of frequency.
Tensor timestep_embedding(const Tensor& t, std::int64_t dim);

/// GroupNorm → SiLU → 3×3 conv → + the time embedding's projection (per channel) →
/// GroupNorm → SiLU → dropout → 3×3 conv, added to the input (through a 1×1 conv when
/// the channel count changes): x (N, C_in, H, W), emb (N, E) → (N, C_out, H, W).
class ResBlock : public nn::Module {
 public:
  /// A block from `in` to `out` channels taking an embedding of size `emb_dim`.
  ResBlock(std::int64_t in, std::int64_t out, std::int64_t emb_dim, std::int64_t groups, double dropout);
  /// The block on x with embedding emb.
  Tensor forward(const Tensor& x, const Tensor& emb);

  std::shared_ptr<nn::GroupNorm> norm1;  ///< before the first conv
  std::shared_ptr<nn::Conv2d> conv1;     ///< C_in → C_out
  std::shared_ptr<nn::Linear> emb_proj;  ///< E → C_out, added to every pixel
  std::shared_ptr<nn::GroupNorm> norm2;  ///< before the second conv
  std::shared_ptr<nn::Conv2d> conv2;     ///< C_out → C_out
  std::shared_ptr<nn::Conv2d> skip;      ///< 1×1, C_in → C_out; null when C_in = C_out
  double dropout;                        ///< probability, in training mode
};

/// Multi-head self-attention over the H·W positions of a feature map, added to its input:
/// with \f$Q, K, V\f$ 1×1 convolutions of GroupNorm(x) split into heads of d channels,
/// each position takes \f$\mathrm{softmax}(q^\top K / \sqrt d)\, V\f$, and a 1×1 conv
/// mixes the heads: x (N, C, H, W) → (N, C, H, W). At 7×7 that is 49 positions, so every
/// part of the digit can look at every other.
class SelfAttention2d : public nn::Module {
 public:
  /// Attention over `channels` channels in `heads` heads (heads must divide channels).
  SelfAttention2d(std::int64_t channels, std::int64_t heads, std::int64_t groups);
  /// x + attention(x).
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::GroupNorm> norm;  ///< before the projections
  std::shared_ptr<nn::Conv2d> qkv;      ///< 1×1, C → 3C
  std::shared_ptr<nn::Conv2d> out;      ///< 1×1, C → C
  std::int64_t heads;                   ///< number of heads
};

/// The U-Net (see the file comment). Its modules are registered as conv_in, time_fc1,
/// time_fc2, class_embedding (if conditional), down.L.B (residual block B of level L),
/// downsample.L, mid1, mid_attention, mid2, up.L.B, upsample.L, norm_out and conv_out, so
/// a parameter is named like "down.1.0.conv1.weight".
class UNet : public nn::Module {
 public:
  /// A network of the given sizes, initialised from the default generator. The last
  /// conv starts at zero, so the untrained network predicts 0 everywhere.
  explicit UNet(const UNetConfig& config = {});
  /// x (N, C_in, H, W), t (N) times (any float scale; DDPM passes step indices 0..T-1,
  /// rectified flow 1000·t), labels (N) int64 in 0..K (K: no class) or undefined
  /// (unconditional; a conditional network then uses "no class") → (N, C_in, H, W).
  /// H and W must halve evenly (or from odd to (n+1)/2) at every level.
  Tensor forward(const Tensor& x, const Tensor& t, const Tensor& labels = Tensor());

  UNetConfig config;  ///< the sizes it was built with

 private:
  std::int64_t emb_dim_;  // E = 4C
  std::shared_ptr<nn::Conv2d> conv_in_;
  std::shared_ptr<nn::Linear> time_fc1_, time_fc2_;
  std::shared_ptr<nn::Embedding> class_embedding_;
  std::vector<std::vector<std::shared_ptr<ResBlock>>> down_, up_;  // [level][block]
  std::vector<std::shared_ptr<nn::Conv2d>> downsample_, upsample_;  // between levels
  std::shared_ptr<ResBlock> mid1_, mid2_;
  std::shared_ptr<SelfAttention2d> mid_attention_;
  std::shared_ptr<nn::GroupNorm> norm_out_;
  std::shared_ptr<nn::Conv2d> conv_out_;
};

}  // namespace zoo::models
