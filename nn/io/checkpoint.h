#pragma once
/// @file checkpoint.h
/// @brief Checkpoints: everything `--resume` needs, in one safetensors file.
///
/// A checkpoint is an ordinary safetensors file (see safetensors.h), so any safetensors
/// reader can open it:
///
/// | where                  | what                                                  |
/// |------------------------|-------------------------------------------------------|
/// | tensors `model.NAME`   | the model's `state_dict()`                            |
/// | tensors `optim.NAME`   | the optimizer's state (moments, step counts)          |
/// | tensors `extra.NAME`   | anything else the run carries (a recurrent state, ...) |
/// | `__metadata__` `format`| "zoo-checkpoint", to recognise the file               |
/// | `step`, `epoch`        | the training position, as decimal integers            |
/// | `rng.NAME`             | each named generator's `Generator::get_state()`       |
/// | any other key          | free-form strings (the run's config as JSON, ...)     |
///
/// Saving is atomic: a crash while saving leaves the previous checkpoint intact.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "nn/state_dict.h"

namespace zoo::nn {

/// The state of a training run.
///
///     Checkpoint ckpt;
///     ckpt.model = model.state_dict();
///     ckpt.optimizer = optimizer.state_dict();
///     ckpt.step = step;
///     ckpt.epoch = epoch;
///     ckpt.generators["default"] = zoo::default_generator().get_state();
///     ckpt.metadata["config"] = config_json;
///     save_checkpoint(out_dir / "checkpoint.safetensors", ckpt);
///
/// A resumed run reads it back through the accessors, which throw `zoo::Error` naming
/// the file, the key and what is wrong, rather than `std::out_of_range` naming nothing:
///
///     const Checkpoint ckpt = load_checkpoint(path);
///     zoo::default_generator().set_state(ckpt.generator_state("default"));
///     const std::int64_t next_batch = ckpt.metadata_int("next_batch");
///     // "out/checkpoint.safetensors: metadata 'next_batch': '7x' is not an integer"
struct Checkpoint {
  /// The model's tensors, stored under "model." + name.
  StateDict model;
  /// The optimizer's tensors, stored under "optim." + name.
  StateDict optimizer;
  /// Other tensors the run needs to continue, stored under "extra." + name: for example
  /// the LSTM state that truncated backpropagation through time carries between batches.
  StateDict extra;
  /// Optimizer steps taken so far.
  std::int64_t step = 0;
  /// Epochs completed so far (or the epoch in progress: the trainer decides and documents).
  std::int64_t epoch = 0;
  /// Generator states by name (`Generator::get_state()`), restored with `set_state`.
  std::map<std::string, std::string> generators;
  /// Free-form strings; keys must not be "format", "step", "epoch" or start with "rng.".
  std::map<std::string, std::string> metadata;
  /// The file `load_checkpoint` read this from, for error messages (empty for a
  /// checkpoint built in memory).
  std::filesystem::path source;

  /// `metadata[key]`; an error naming the file and the key if there is none.
  const std::string& metadata_text(const std::string& key) const;
  /// `metadata[key]` as a decimal integer (see `nn::metadata_int`): the whole string, in range.
  std::int64_t metadata_int(const std::string& key) const;
  /// `metadata[key]` as a double (see `nn::metadata_double`): the whole string, in range.
  double metadata_double(const std::string& key) const;
  /// `generators[name]`; an error naming the file and "rng." + name if there is none.
  const std::string& generator_state(const std::string& name) const;
  /// `extra.at(name)`; an error naming the file and "extra." + name if there is none.
  const Tensor& extra_tensor(const std::string& name) const;
};

/// Writes `checkpoint` to `path` atomically.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

/// Reads a checkpoint written by `save_checkpoint`. A truncated or damaged file, or a
/// safetensors file that is not a zoo checkpoint, throws `zoo::Error` naming the file.
/// The checkpoint's `source` is `path`, so that its accessors name the file too.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace zoo::nn
