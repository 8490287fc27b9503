/// @file fuzz_idx.cpp
/// @brief libFuzzer target: the IDX reader (`zoo::nn::read_idx`, MNIST's format, plain or
/// gzipped) on any bytes.
///
/// The input is the file. One that reads is turned into a tensor (`idx_to_tensor`), and
/// into MNIST images or labels when its type and rank are theirs, as `load_mnist` does.
/// A header announcing more data than the file holds must be rejected, never allocated
/// (the run's `-malloc_limit_mb` catches an allocation the file cannot back).

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "nn/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("idx");
  input.write(data, size);
  zoo::fuzz::accept_or_reject(input.name(), [&] {
    const zoo::nn::IdxFile idx = zoo::nn::read_idx(input.path());
    const zoo::Tensor t = zoo::nn::idx_to_tensor(idx);
    zoo::fuzz::require(t.shape() == idx.shape, "idx_to_tensor changed the shape");
    if (idx.type == zoo::nn::IdxType::UInt8 && idx.shape.size() == 3) zoo::nn::idx_images_to_float(idx);
    if (idx.type == zoo::nn::IdxType::UInt8 && idx.shape.size() == 1) zoo::nn::idx_labels(idx);
  });
  return 0;
}
