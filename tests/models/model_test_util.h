#pragma once
/// @file model_test_util.h
/// @brief What the models' tests share: the check that a resumed run ended with the
/// same weights as an uninterrupted one, and the small U-Net run on the MNIST fixture
/// that the DDPM and rectified-flow tests train.

#include <filesystem>

#include "models/unet/training.h"
#include "nn/io/safetensors.h"
#include "test_util.h"

namespace zoo::test {

/// REQUIREs that `a` and `b` (two model.safetensors files) hold the same tensors, bit for bit.
inline void require_same_weights(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto first = nn::load_safetensors(a).tensors;
  const auto second = nn::load_safetensors(b).tensors;
  REQUIRE(first.size() == second.size());
  for (const auto& [name, t] : first) {
    INFO("parameter " << name);
    REQUIRE(second.contains(name));
    REQUIRE(t.to_vector<float>() == second.at(name).to_vector<float>());
  }
}

/// Runs `train(o)` stopped after `stop_after` steps as if interrupted, then `--resume`d,
/// and REQUIREs that it ends with the loss and the weights of the uninterrupted run
/// `full`, which wrote its model to `full_out`. Returns the resumed options (o.resume set).
template <class Options, class Train>
Options require_exact_resume(Options o, std::int64_t stop_after, const Train& train,
                             const models::UNetTrainingResult& full, const std::string& full_out) {
  o.stop_after = stop_after;
  REQUIRE_FALSE(train(o).finished);
  o.stop_after = 0;
  o.resume = true;
  REQUIRE(train(o).train_loss == full.train_loss);
  require_same_weights(std::filesystem::path(full_out) / "model.safetensors",
                       std::filesystem::path(o.out) / "model.safetensors");
  return o;
}

/// Sets `o` to a small conditional U-Net (C = 8, levels 28/14) trained for 3 epochs of
/// 10 batches of 20 on the 200-image fixture, checkpointing every 4 steps, into a fresh
/// temporary folder named `out`.
inline void small_unet_run(models::UNetTraining& o, const std::string& out) {
  o.model = {.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2, .num_classes = 10};
  o.data_dir = std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini";
  o.out = (std::filesystem::temp_directory_path() / out).string();
  std::filesystem::remove_all(o.out);
  o.epochs = 3;
  o.batch_size = 20;
  o.lr = 2e-3;
  o.save_every = 4;
  o.quiet = true;
}

}  // namespace zoo::test
