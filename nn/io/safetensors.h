#pragma once
/// @file safetensors.h
/// @brief Saving and loading named tensors in the safetensors format, which PyTorch,
/// JAX and the Hugging Face tools read and write.
///
/// A safetensors file is, byte by byte:
///
///     [ 8 bytes ]  N, the header length, an unsigned 64-bit little-endian integer
///     [ N bytes ]  the header: a JSON object, padded with spaces to a multiple of 8
///     [ rest    ]  the byte buffer: every tensor's elements, row-major, little-endian
///
/// The header maps each tensor name to its element type, shape and byte range in the
/// buffer, `[begin, end)` counted from the buffer's first byte; an optional
/// `__metadata__` entry holds free-form string pairs:
///
///     {"__metadata__":{"step":"100"},
///      "fc.weight":{"dtype":"F32","shape":[10,784],"data_offsets":[0,31360]},
///      "fc.bias":{"dtype":"F32","shape":[10],"data_offsets":[31360,31400]}}
///
/// The ranges tile the buffer exactly: sorted by offset, each starts where the previous
/// one ends, and the last ends at the end of the file. zoo reads the dtypes it has:
/// "F32", "F64", "I64" and "BOOL".
///
/// Lesson: @ref tutorial_07_mnist_classifier.

#include <filesystem>
#include <map>
#include <string>

#include "nn/state_dict.h"

namespace zoo::nn {

/// The string pairs of a safetensors header's `__metadata__` entry.
using SafetensorsMetadata = std::map<std::string, std::string>;

/// What a safetensors file holds.
struct SafetensorsFile {
  /// The tensors, in the order of their data in the file.
  StateDict tensors;
  /// The `__metadata__` pairs (empty if the file has none).
  SafetensorsMetadata metadata;
};

/// Writes `tensors` and `metadata` to `path` as a safetensors file, atomically (see
/// `AtomicFileWriter`). Tensors need not be contiguous; their values are written, not
/// their autograd history. As in the reference implementation, tensors with larger
/// elements come first in the buffer, so that each tensor's data is aligned to its
/// element size; tensors of one dtype keep the StateDict's order. Names must be
/// non-empty and differ from "__metadata__"; names and metadata must be valid UTF-8.
void save_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata = {});

/// Reads a safetensors file. Every check of the format is made before any tensor is
/// read: the header length against the file size, the JSON, each dtype, each shape
/// against its byte range, the ranges against each other and against the file size.
/// A failure throws `zoo::Error` naming the file and the problem. The tensors are new
/// leaves that do not require grad.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace zoo::nn
