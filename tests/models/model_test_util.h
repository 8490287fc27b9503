#pragma once
/// @file model_test_util.h
/// @brief What the models' tests share: the check that a resumed run ended with the
/// same weights as an uninterrupted one.

#include <filesystem>

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

}  // namespace zoo::test
