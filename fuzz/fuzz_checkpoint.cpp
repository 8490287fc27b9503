/// @file fuzz_checkpoint.cpp
/// @brief libFuzzer target: the checkpoint loader (`zoo::nn::load_checkpoint`) on any
/// bytes.
///
/// The input is the file, a safetensors file whose metadata makes it a zoo checkpoint.
/// One that loads has its generator states restored, as `--resume` does: a damaged
/// state must have been rejected by the loader, with the file's name.

#include <cstddef>
#include <cstdint>

#include "autograd/generator.h"
#include "fuzz/fuzz_input.h"
#include "nn/io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("checkpoint");
  input.write(data, size);
  zoo::fuzz::accept_or_reject(input.name(), [&] {
    const zoo::nn::Checkpoint checkpoint = zoo::nn::load_checkpoint(input.path());
    zoo::fuzz::require(checkpoint.step >= 0 && checkpoint.epoch >= 0, "a negative step or epoch was accepted");
    for (const auto& [name, state] : checkpoint.generators) {
      zoo::Generator generator;
      generator.set_state(state);
    }
  });
  return 0;
}
