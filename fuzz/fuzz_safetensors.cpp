/// @file fuzz_safetensors.cpp
/// @brief libFuzzer target: the safetensors reader (`zoo::nn::load_safetensors`) on any
/// bytes.
///
/// The input is the file: an 8-byte header length, the JSON header, the tensors' bytes.
/// One that loads is saved again and read back, which must give the same tensors and
/// metadata (the writer accepts whatever the reader accepts). A header length, shape or
/// offset the file cannot back must be rejected before anything is allocated.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz/fuzz_input.h"
#include "nn/io/safetensors.h"

namespace {

/// The same names with the same dtypes, shapes and bytes. The order may differ: the
/// writer puts larger elements first, whatever order the file it came from had.
bool same_tensors(const zoo::nn::StateDict& a, const zoo::nn::StateDict& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, x] : a) {
    const zoo::Tensor y = b.find(name);
    if (!y.defined() || x.dtype() != y.dtype() || x.shape() != y.shape()) return false;
    const std::size_t bytes = static_cast<std::size_t>(x.numel()) * zoo::element_size(x.dtype());
    if (bytes > 0 && std::memcmp(x.storage().data(), y.storage().data(), bytes) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("safetensors");
  static const zoo::fuzz::InputFile again("safetensors-again");
  input.write(data, size);
  zoo::fuzz::accept_or_reject(input.name(), [&] {
    const zoo::nn::SafetensorsFile file = zoo::nn::load_safetensors(input.path());
    zoo::nn::save_safetensors(again.path(), file.tensors, file.metadata);
    const zoo::nn::SafetensorsFile reread = zoo::nn::load_safetensors(again.path());
    zoo::fuzz::require(reread.metadata == file.metadata, "the metadata changed on a save and load");
    zoo::fuzz::require(same_tensors(reread.tensors, file.tensors), "the tensors changed on a save and load");
  });
  return 0;
}
