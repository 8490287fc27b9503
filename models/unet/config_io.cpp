#include "models/unet/config_io.h"

#include <charconv>

#include "autograd/error.h"

namespace zoo::models {
namespace {

std::int64_t parse_int(const std::string& text, const std::string& key, const std::string& path) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  ZOO_CHECK(error == std::errc() && end == text.data() + text.size(), "{}: '{}' is \"{}\", not an integer", path, key,
            text);
  return value;
}

}  // namespace

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
  const auto get = [&](const std::string& key) {
    const auto it = metadata.find(key);
    ZOO_CHECK(it != metadata.end(), "{}: no '{}' in the metadata (not a U-Net saved by zoo?)", path, key);
    return it->second;
  };
  UNetConfig c;
  c.in_channels = parse_int(get("unet.in_channels"), "unet.in_channels", path);
  c.base_channels = parse_int(get("unet.base_channels"), "unet.base_channels", path);
  c.channel_mults.clear();
  const std::string mults = get("unet.channel_mults");
  for (std::size_t at = 0; at <= mults.size();) {
    const std::size_t comma = std::min(mults.find(',', at), mults.size());
    c.channel_mults.push_back(parse_int(mults.substr(at, comma - at), "unet.channel_mults", path));
    at = comma + 1;
  }
  c.blocks_per_level = parse_int(get("unet.blocks_per_level"), "unet.blocks_per_level", path);
  c.groups = parse_int(get("unet.groups"), "unet.groups", path);
  c.attention_heads = parse_int(get("unet.attention_heads"), "unet.attention_heads", path);
  c.num_classes = parse_int(get("unet.num_classes"), "unet.num_classes", path);
  return c;
}

}  // namespace zoo::models
