#include "nn/io/checkpoint.h"

#include "autograd/error.h"
#include "autograd/generator.h"
#include "nn/io/metadata_values.h"
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
                         const std::filesystem::path& path) {
  const std::int64_t value = metadata_int(metadata, key, path);
  ZOO_CHECK(value >= 0, "{}: the checkpoint's '{}' is {}, not a non-negative integer", path.string(), key, value);
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
  checkpoint.source = path;
  checkpoint.step = parse_count(contents.metadata, "step", path);
  checkpoint.epoch = parse_count(contents.metadata, "epoch", path);
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

const std::string& Checkpoint::metadata_text(const std::string& key) const {
  return nn::metadata_text(metadata, key, source);
}

std::int64_t Checkpoint::metadata_int(const std::string& key) const { return nn::metadata_int(metadata, key, source); }

double Checkpoint::metadata_double(const std::string& key) const { return nn::metadata_double(metadata, key, source); }

const std::string& Checkpoint::generator_state(const std::string& name) const {
  const auto it = generators.find(name);
  ZOO_CHECK(it != generators.end(), "{}: the checkpoint has no generator state '{}{}'", source.string(), kRngPrefix,
            name);
  return it->second;
}

const Tensor& Checkpoint::extra_tensor(const std::string& name) const {
  ZOO_CHECK(extra.contains(name), "{}: the checkpoint has no tensor '{}{}'", source.string(), kExtraPrefix, name);
  return extra.at(name);
}

}  // namespace zoo::nn
