#pragma once
/// @file config_io.h
/// @brief A `UNetConfig` as safetensors metadata and back: how a saved DDPM or rectified
/// flow remembers the shape of its network.

#include <string>

#include "models/unet/unet.h"
#include "nn/io/safetensors.h"

namespace zoo::models {

/// The sizes under the keys `unet.in_channels`, `unet.base_channels`,
/// `unet.channel_mults` ("1,2,2"), `unet.blocks_per_level`, `unet.groups`,
/// `unet.attention_heads`, `unet.num_classes` (dropout is a training setting, not saved).
nn::SafetensorsMetadata unet_metadata(const UNetConfig& config);

/// The sizes back from `metadata` read from the file `path`; a missing or malformed key
/// is an error naming the file and the key.
UNetConfig unet_config_from(const nn::SafetensorsMetadata& metadata, const std::string& path);

}  // namespace zoo::models
