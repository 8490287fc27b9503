#include "models/unet/config_io.h"

#include "nn/io/metadata_values.h"

namespace zoo::models {

nn::SafetensorsMetadata unet_metadata(const UNetConfig& c) {
  std::string mults;
  for (const std::int64_t m : c.channel_mults) {
    if (!mults.empty()) mults += ',';
    mults += std::to_string(m);
  }
  return {{"unet.in_channels", std::to_string(c.in_channels)},
          {"unet.base_channels", std::to_string(c.base_channels)},
          {"unet.channel_mults", mults},
          {"unet.blocks_per_level", std::to_string(c.blocks_per_level)},
          {"unet.groups", std::to_string(c.groups)},
          {"unet.attention_heads", std::to_string(c.attention_heads)},
          {"unet.num_classes", std::to_string(c.num_classes)}};
}

UNetConfig unet_config_from(const nn::SafetensorsMetadata& metadata, const std::string& path) {
  const auto integer = [&](const char* key) { return nn::metadata_int(metadata, key, path); };
  UNetConfig c;
  c.in_channels = integer("unet.in_channels");
  c.base_channels = integer("unet.base_channels");
  c.channel_mults = nn::metadata_int_list(metadata, "unet.channel_mults", path);
  c.blocks_per_level = integer("unet.blocks_per_level");
  c.groups = integer("unet.groups");
  c.attention_heads = integer("unet.attention_heads");
  c.num_classes = integer("unet.num_classes");
  return c;
}

}  // namespace zoo::models
