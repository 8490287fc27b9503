#include "models/unet/unet.h"

#include <cmath>

#include "autograd/ops.h"
#include "nn/containers.h"
#include "nn/init.h"

namespace zoo::models {
namespace {

std::shared_ptr<nn::Conv2d> conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride = 1) {
  return std::make_shared<nn::Conv2d>(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

std::shared_ptr<nn::Conv2d> conv1x1(std::int64_t in, std::int64_t out) {
  return std::make_shared<nn::Conv2d>(nn::Conv2dOptions(in, out, 1));
}

std::shared_ptr<nn::GroupNorm> group_norm(std::int64_t groups, std::int64_t channels) {
  ZOO_CHECK(groups > 0 && channels % groups == 0, "UNet: {} GroupNorm groups do not divide {} channels", groups,
            channels);
  return std::make_shared<nn::GroupNorm>(nn::GroupNormOptions(groups, channels));
}

}  // namespace

Tensor timestep_embedding(const Tensor& t, std::int64_t dim) {
  ZOO_CHECK(t.defined() && t.dim() == 1, "timestep_embedding: expected times (N), got {}",
            t.defined() ? t.shape() : Shape{});
  ZOO_CHECK(dim >= 2 && dim % 2 == 0, "timestep_embedding: the size must be even and positive, got {}", dim);
  const std::int64_t half = dim / 2;
  std::vector<float> omega(static_cast<std::size_t>(half));
  for (std::int64_t k = 0; k < half; ++k)
    omega[static_cast<std::size_t>(k)] = static_cast<float>(std::exp(-std::log(10000.0) * k / half));
  // angles (N, h) = t (N, 1) · ω (1, h)
  const Tensor angles = mul(t.to(kFloat32).unsqueeze(1), from_vector(omega, {1, half}));
  return cat({sin(angles), cos(angles)}, 1);
}

ResBlock::ResBlock(std::int64_t in, std::int64_t out, std::int64_t emb_dim, std::int64_t groups, double p)
    : dropout(p) {
  norm1 = register_module("norm1", group_norm(groups, in));
  conv1 = register_module("conv1", conv3x3(in, out));
  emb_proj = register_module("emb_proj", std::make_shared<nn::Linear>(emb_dim, out));
  norm2 = register_module("norm2", group_norm(groups, out));
  conv2 = register_module("conv2", conv3x3(out, out));
  if (in != out) skip = register_module("skip", conv1x1(in, out));
}

Tensor ResBlock::forward(const Tensor& x, const Tensor& emb) {
  // h = conv1(silu(norm1(x))) + W_e silu(emb), the embedding broadcast over H and W.
  Tensor h = conv1->forward(silu(norm1->forward(x)));
  const Tensor e = emb_proj->forward(silu(emb));  // (N, C_out)
  h = add(h, e.reshape({e.size(0), e.size(1), 1, 1}));
  h = conv2->forward(zoo::dropout(silu(norm2->forward(h)), dropout, is_training()));
  return add(skip ? skip->forward(x) : x, h);
}

SelfAttention2d::SelfAttention2d(std::int64_t channels, std::int64_t h, std::int64_t groups) : heads(h) {
  ZOO_CHECK(h > 0 && channels % h == 0, "SelfAttention2d: {} heads do not divide {} channels", h, channels);
  norm = register_module("norm", group_norm(groups, channels));
  qkv = register_module("qkv", conv1x1(channels, 3 * channels));
  out = register_module("out", conv1x1(channels, channels));
}

Tensor SelfAttention2d::forward(const Tensor& x) {
  ZOO_CHECK(x.defined() && x.dim() == 4, "SelfAttention2d: expected x (N, C, H, W), got {}",
            x.defined() ? x.shape() : Shape{});
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), d = C / heads, P = H * W;
  // q, k, v: (N, heads, d, P) each, from one 1×1 conv of the normalised input.
  const Tensor qkv_all = qkv->forward(norm->forward(x)).reshape({N, 3, heads, d, P});
  const auto part = [&](std::int64_t i) { return qkv_all.narrow(1, i, 1).reshape({N, heads, d, P}); };
  const Tensor q = part(0), k = part(1), v = part(2);
  // weights (N, heads, P, P) = softmax over keys of qᵀk / √d
  const Tensor scores = mul(matmul(q.transpose(2, 3), k), scalar_tensor(1.0 / std::sqrt(static_cast<double>(d))));
  const Tensor weights = softmax(scores, 3);
  // each position's output: Σ_keys weight · v, (N, heads, d, P)
  const Tensor attended = matmul(v, weights.transpose(2, 3));
  return add(x, out->forward(attended.reshape({N, C, H, W})));
}

UNet::UNet(const UNetConfig& c) : config(c) {
  ZOO_CHECK(c.in_channels > 0 && c.base_channels > 0 && !c.channel_mults.empty() && c.blocks_per_level > 0,
            "UNet: channels, levels and blocks per level must be positive");
  ZOO_CHECK(c.num_classes >= 0, "UNet: num_classes cannot be negative, got {}", c.num_classes);
  const std::int64_t C = c.base_channels;
  emb_dim_ = 4 * C;
  conv_in_ = register_module("conv_in", conv3x3(c.in_channels, C));
  time_fc1_ = register_module("time_fc1", std::make_shared<nn::Linear>(C, emb_dim_));
  time_fc2_ = register_module("time_fc2", std::make_shared<nn::Linear>(emb_dim_, emb_dim_));
  if (c.num_classes > 0)
    class_embedding_ = register_module("class_embedding", std::make_shared<nn::Embedding>(c.num_classes + 1, emb_dim_));

  // The way down: remember the channels of every activation a skip will carry up.
  const auto levels = static_cast<std::int64_t>(c.channel_mults.size());
  auto down = register_module("down", std::make_shared<nn::ModuleList>());
  auto downsample = register_module("downsample", std::make_shared<nn::ModuleList>());
  std::vector<std::int64_t> skip_channels = {C};
  std::int64_t ch = C;
  for (std::int64_t level = 0; level < levels; ++level) {
    const std::int64_t out = C * c.channel_mults[static_cast<std::size_t>(level)];
    auto blocks = down->push_back(std::make_shared<nn::ModuleList>());
    down_.emplace_back();
    for (std::int64_t b = 0; b < c.blocks_per_level; ++b) {
      down_.back().push_back(blocks->push_back(std::make_shared<ResBlock>(ch, out, emb_dim_, c.groups, c.dropout)));
      ch = out;
      skip_channels.push_back(ch);
    }
    if (level + 1 < levels) {
      downsample_.push_back(downsample->push_back(conv3x3(ch, ch, 2)));
      skip_channels.push_back(ch);
    }
  }
  mid1_ = register_module("mid1", std::make_shared<ResBlock>(ch, ch, emb_dim_, c.groups, c.dropout));
  mid_attention_ = register_module("mid_attention", std::make_shared<SelfAttention2d>(ch, c.attention_heads, c.groups));
  mid2_ = register_module("mid2", std::make_shared<ResBlock>(ch, ch, emb_dim_, c.groups, c.dropout));

  // The way up: each block takes one skip, in the reverse order they were made.
  auto up = register_module("up", std::make_shared<nn::ModuleList>());
  auto upsample = register_module("upsample", std::make_shared<nn::ModuleList>());
  for (std::int64_t level = levels - 1; level >= 0; --level) {
    const std::int64_t out = C * c.channel_mults[static_cast<std::size_t>(level)];
    auto blocks = up->push_back(std::make_shared<nn::ModuleList>());
    up_.emplace_back();
    for (std::int64_t b = 0; b <= c.blocks_per_level; ++b) {
      const std::int64_t from_skip = skip_channels.back();
      skip_channels.pop_back();
      up_.back().push_back(
          blocks->push_back(std::make_shared<ResBlock>(ch + from_skip, out, emb_dim_, c.groups, c.dropout)));
      ch = out;
    }
    if (level > 0) upsample_.push_back(upsample->push_back(conv3x3(ch, ch)));
  }
  norm_out_ = register_module("norm_out", group_norm(c.groups, ch));
  conv_out_ = register_module("conv_out", conv3x3(ch, c.in_channels));
  // The output starts at zero (DDPM's choice): the untrained network predicts 0.
  NoGradGuard no_grad;
  conv_out_->weight.zero_();
  conv_out_->bias.zero_();
}

Tensor UNet::forward(const Tensor& x, const Tensor& t, const Tensor& labels) {
  ZOO_CHECK(x.defined() && x.dim() == 4 && x.size(1) == config.in_channels,
            "UNet: expected x (N, {}, H, W), got {}", config.in_channels, x.defined() ? x.shape() : Shape{});
  ZOO_CHECK(t.defined() && t.dim() == 1 && t.size(0) == x.size(0), "UNet: expected times t ({}), got {}", x.size(0),
            t.defined() ? t.shape() : Shape{});
  // The embedding: an MLP on the sinusoidal time, plus the class's vector.
  Tensor emb = time_fc2_->forward(silu(time_fc1_->forward(timestep_embedding(t, config.base_channels))));
  if (class_embedding_) {
    const Tensor y = labels.defined() ? labels : full({x.size(0)}, static_cast<double>(config.num_classes), kInt64);
    ZOO_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "UNet: expected labels ({}), got {}", x.size(0), y.shape());
    emb = add(emb, class_embedding_->forward(y));
  } else {
    ZOO_CHECK(!labels.defined(), "UNet: labels given to an unconditional network (num_classes = 0)");
  }

  Tensor h = conv_in_->forward(x);
  std::vector<Tensor> skips = {h};
  for (std::size_t level = 0; level < down_.size(); ++level) {
    for (const auto& block : down_[level]) {
      h = block->forward(h, emb);
      skips.push_back(h);
    }
    if (level < downsample_.size()) {
      h = downsample_[level]->forward(h);
      skips.push_back(h);
    }
  }
  h = mid2_->forward(mid_attention_->forward(mid1_->forward(h, emb)), emb);
  for (std::size_t i = 0; i < up_.size(); ++i) {
    for (const auto& block : up_[i]) {
      h = block->forward(cat({h, skips.back()}, 1), emb);
      skips.pop_back();
    }
    if (i < upsample_.size()) {  // back to the size of the next skip, then a conv
      const Tensor& next = skips.back();
      h = upsample_[i]->forward(interpolate_nearest(h, {next.size(2), next.size(3)}));
    }
  }
  return conv_out_->forward(silu(norm_out_->forward(h)));
}

}  // namespace zoo::models
