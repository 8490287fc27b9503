#include "nn/io/checkpoint.h"

#include <charconv>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "nn/io/safetensors.h"

namespace zoo::nn {
namespace {

constexpr const char* kFormatKey = "format";
constexpr const char* kFormat = "zoo-checkpoint";
constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimizerPrefix = "optim.";
constexpr const char* kExtraPrefix = "extra.";
constexpr const char* kRngPrefix = "rng.";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// A non-negative decimal integer stored in the metadata under `key`.
std::int64_t parse_count(const SafetensorsMetadata& metadata, const std::string& key,
                         const std::string& file) {
  auto it = metadata.find(key);
  ZOO_CHECK(it != metadata.end(), "{}: the checkpoint has no '{}' in its __metadata__", file, key);
  const std::string& text = it->second;
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  ZOO_CHECK(error == std::errc() && end == text.data() + text.size() && value >= 0,
            "{}: the checkpoint's '{}' is \"{}\", not a non-negative integer", file, key, text);
  return value;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  const std::string file = path.string();
  ZOO_CHECK(checkpoint.step >= 0 && checkpoint.epoch >= 0,
            "{}: cannot save a checkpoint with step {} and epoch {} (they count up from 0)", file,
            checkpoint.step, checkpoint.epoch);
  StateDict tensors;
  for (const auto& [name, tensor] : checkpoint.model) tensors.insert(kModelPrefix + name, tensor);
  for (const auto& [name, tensor] : checkpoint.optimizer)
    tensors.insert(kOptimizerPrefix + name, tensor);
  for (const auto& [name, tensor] : checkpoint.extra) tensors.insert(kExtraPrefix + name, tensor);

  SafetensorsMetadata metadata;
  for (const auto& [key, value] : checkpoint.metadata) {
    ZOO_CHECK(key != kFormatKey && key != "step" && key != "epoch" && !starts_with(key, kRngPrefix),
              "{}: the metadata key '{}' is reserved for the checkpoint itself", file, key);
    metadata[key] = value;
  }
  metadata[kFormatKey] = kFormat;
  metadata["step"] = std::to_string(checkpoint.step);
  metadata["epoch"] = std::to_string(checkpoint.epoch);
  for (const auto& [name, state] : checkpoint.generators) metadata[kRngPrefix + name] = state;

  save_safetensors(path, tensors, metadata);
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  SafetensorsFile contents = load_safetensors(path);
  auto format = contents.metadata.find(kFormatKey);
  ZOO_CHECK(format != contents.metadata.end() && format->second == kFormat,
            "{}: not a zoo checkpoint (its __metadata__ has no \"format\": \"{}\"); a file of "
            "weights alone is read with load_safetensors",
            file, kFormat);

  Checkpoint checkpoint;
  checkpoint.step = parse_count(contents.metadata, "step", file);
  checkpoint.epoch = parse_count(contents.metadata, "epoch", file);
  for (const auto& [key, value] : contents.metadata) {
    if (starts_with(key, kRngPrefix)) {
      // A damaged state is caught here, where the file's name is known, rather than
      // when a resumed run restores it.
      try {
        Generator().set_state(value);
      } catch (const Error& e) {
        throw Error(fmt::format("{}: the generator state '{}' is damaged ({})", file, key, e.what()));
      }
      checkpoint.generators[key.substr(std::string(kRngPrefix).size())] = value;
    } else if (key != kFormatKey && key != "step" && key != "epoch") {
      checkpoint.metadata[key] = value;
    }
  }
  const std::string model_prefix = kModelPrefix, optimizer_prefix = kOptimizerPrefix, extra_prefix = kExtraPrefix;
  for (const auto& [name, tensor] : contents.tensors) {
    if (starts_with(name, model_prefix))
      checkpoint.model.insert(name.substr(model_prefix.size()), tensor);
    else if (starts_with(name, optimizer_prefix))
      checkpoint.optimizer.insert(name.substr(optimizer_prefix.size()), tensor);
    else if (starts_with(name, extra_prefix))
      checkpoint.extra.insert(name.substr(extra_prefix.size()), tensor);
    else
      throw Error(fmt::format("{}: tensor '{}' is not under 'model.', 'optim.' or 'extra.'", file, name));
  }
  return checkpoint;
}

}  // namespace zoo::nn
