#pragma once
/// @file idx.h
/// @brief Reading IDX files, the format of MNIST and Fashion-MNIST, plain or gzipped.
///
/// An IDX file is a small big-endian header followed by the elements, row-major:
///
///     bytes 0-1   0x00 0x00
///     byte  2     the element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
///                 0x0C int32, 0x0D float32, 0x0E float64 (all big-endian)
///     byte  3     D, the number of dimensions
///     then        D sizes, each a big-endian 32-bit integer, outermost first
///     then        the elements: exactly size_0 · ... · size_{D-1} of them
///
/// MNIST's image files start 00 00 08 03 (unsigned bytes, 3 dims: N × 28 × 28), its
/// label files 00 00 08 01 (N labels).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::nn {

/// The element types an IDX file can hold; the value is the type byte of the header.
enum class IdxType : std::uint8_t {
  UInt8 = 0x08,    ///< unsigned byte (MNIST pixels and labels)
  Int8 = 0x09,     ///< signed byte
  Int16 = 0x0B,    ///< big-endian 16-bit integer
  Int32 = 0x0C,    ///< big-endian 32-bit integer
  Float32 = 0x0D,  ///< big-endian IEEE float
  Float64 = 0x0E,  ///< big-endian IEEE double
};

/// Bytes per element of an IDX type.
std::size_t idx_element_size(IdxType type);

/// The contents of an IDX file, as read: the type, the shape and the elements' bytes
/// exactly as in the file (big-endian for multi-byte types).
struct IdxFile {
  std::string path;                ///< The file it came from (for error messages).
  IdxType type = IdxType::UInt8;   ///< The element type.
  Shape shape;                     ///< The sizes from the header, outermost first.
  std::vector<std::uint8_t> data;  ///< The payload: numel · element size bytes.
};

/// Reads an IDX file, plain or gzip-compressed (recognised by its first two bytes,
/// 1f 8b). Checks the magic (two zero bytes, a known type, 1 to 8 dims), the sizes, and
/// that the payload has exactly the length the header announces: a truncated file, or
/// bytes after the data, throw `zoo::Error` naming the file and both byte counts.
IdxFile read_idx(const std::filesystem::path& path);

/// Writes `idx` as an IDX file at `path`, gzip-compressed if `compress` (then the name
/// should end in ".gz"). Checks that the data has the length the shape needs. Used to
/// make test files and cut-down data sets.
void write_idx(const std::filesystem::path& path, const IdxFile& idx, bool compress = false);

/// The elements as a tensor of the IDX shape: integer types become int64, float32 stays
/// float32, float64 stays float64.
Tensor idx_to_tensor(const IdxFile& idx);

/// MNIST images: an unsigned-byte IDX of shape (N, rows, cols) as a float32 tensor of
/// shape (N, 1, rows, cols) with values pixel / 255 in [0, 1].
Tensor idx_images_to_float(const IdxFile& idx);

/// MNIST labels: an unsigned-byte IDX of shape (N) as an int64 tensor of shape (N).
Tensor idx_labels(const IdxFile& idx);

}  // namespace zoo::nn
