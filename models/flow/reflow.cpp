/// @file reflow.cpp
/// @brief Drawing reflow's (noise, image) pairs from a trained flow, resumably.

#include "models/flow/reflow.h"

#include <filesystem>
#include <vector>

#include "autograd/ops.h"
#include "models/common/progress.h"
#include "models/flow/train.h"

namespace zoo::models {
namespace fs = std::filesystem;

namespace {

/// The seed of chunk k's generator: a 64-bit mix of (seed, k), so that chunks are
/// independent of one another and of how often the run was interrupted.
std::uint64_t chunk_seed(std::uint64_t seed, std::int64_t k) {
  return seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(k + 1) * 0xBF58476D1CE4E5B9ULL;
}

/// The pairs already in `file` (if it exists), checked against `identity`.
ReflowPairs load_pairs(const std::string& file, const nn::SafetensorsMetadata& identity) {
  if (!fs::exists(file)) return {};
  const nn::SafetensorsFile f = nn::load_safetensors(file);
  for (const auto& [key, value] : identity) {
    const auto it = f.metadata.find(key);
    ZOO_CHECK(it != f.metadata.end() && it->second == value,
              "reflow: '{}' holds pairs drawn with {} = {}, this run asks for {} (delete it to draw new pairs)", file,
              key, it == f.metadata.end() ? "(nothing)" : it->second, value);
  }
  for (const char* name : {"noise", "samples", "labels"})
    ZOO_CHECK(f.tensors.contains(name), "reflow: '{}' has no tensor '{}'", file, name);
  return {f.tensors.at("noise"), f.tensors.at("samples"), f.tensors.at("labels")};
}

}  // namespace

ReflowPairs draw_reflow_pairs(UNet& teacher, const ReflowPairing& how, const std::string& file,
                              const nn::SafetensorsMetadata& identity, std::uint64_t seed, bool quiet) {
  ZOO_CHECK(how.pairs > 0 && how.chunk > 0 && how.steps > 0,
            "reflow: the number of pairs, the chunk and the steps must be positive (got {}, {}, {})", how.pairs,
            how.chunk, how.steps);
  ReflowPairs done = load_pairs(file, identity);
  const std::int64_t have = done.noise.defined() ? done.noise.size(0) : 0;
  ZOO_CHECK(have % how.chunk == 0 || have == how.pairs, "reflow: '{}' holds {} pairs, not whole chunks of {}", file,
            have, how.chunk);
  if (have >= how.pairs) return done;

  const std::int64_t classes = teacher.config.num_classes, channels = teacher.config.in_channels;
  std::vector<Tensor> noise{}, samples{}, labels{};
  if (have > 0) noise = {done.noise}, samples = {done.samples}, labels = {done.labels};
  FlowSampling sampling;
  sampling.sampler = how.sampler;
  sampling.steps = how.steps;
  const std::int64_t chunks = (how.pairs + how.chunk - 1) / how.chunk;
  ProgressLine progress("reflow pairs", chunks, 1, quiet ? nullptr : stderr);
  for (std::int64_t k = have / how.chunk; k < chunks; ++k) {
    const std::int64_t first = k * how.chunk, n = std::min(how.chunk, how.pairs - first);
    Generator gen(chunk_seed(seed, k));
    const Tensor z = randn({n, channels, 28, 28}, kFloat32, gen);
    std::vector<std::int64_t> y(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < n; ++j) y[static_cast<std::size_t>(j)] = classes > 0 ? (first + j) % classes : 0;
    const Tensor chunk_labels = from_vector(y, {n});
    noise.push_back(z);
    samples.push_back(integrate_flow(teacher, z, classes > 0 ? chunk_labels : Tensor(), sampling));
    labels.push_back(chunk_labels);
    done = {cat(noise, 0), cat(samples, 0), cat(labels, 0)};
    nn::StateDict tensors;
    tensors.insert("noise", done.noise);
    tensors.insert("samples", done.samples);
    tensors.insert("labels", done.labels);
    nn::save_safetensors(file, tensors, identity);
    progress.update(k + 1, n, fmt::format("{} pairs", first + n));
  }
  progress.finish();
  return done;
}

}  // namespace zoo::models
