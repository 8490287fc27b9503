#pragma once
/// @file metadata_values.h
/// @brief Reading numbers and strings back out of a safetensors `__metadata__`, with
/// errors that name the file, the key and what was wrong.
///
/// A safetensors file's metadata holds only strings (see safetensors.h), so zoo writes
/// numbers in decimal: `std::to_string` for integers, fmt's `{:.17g}` for doubles. The
/// readers here take the whole string or nothing: "12x", "" and "1e999" are errors,
/// not 12, 0 and infinity.
///
///     const auto file = nn::load_safetensors(path);
///     const std::int64_t steps = nn::metadata_int(file.metadata, "diffusion_steps", path);
///     // "model.safetensors: metadata 'diffusion_steps': 'ten' is not an integer"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nn/io/safetensors.h"

namespace zoo::nn {

/// The value of `key` in `metadata`, which was read from `file`; a missing key throws
/// `zoo::Error` naming the file and the key.
const std::string& metadata_text(const SafetensorsMetadata& metadata, const std::string& key,
                                 const std::filesystem::path& file);

/// The value of `key` as a decimal integer: the whole string, within the range of
/// `std::int64_t`; anything else throws `zoo::Error` naming the file, the key and the value.
std::int64_t metadata_int(const SafetensorsMetadata& metadata, const std::string& key,
                          const std::filesystem::path& file);

/// The value of `key` as comma-separated decimal integers ("64,128"), each checked as
/// `metadata_int` checks one; the empty string is the empty list.
std::vector<std::int64_t> metadata_int_list(const SafetensorsMetadata& metadata, const std::string& key,
                                            const std::filesystem::path& file);

/// The value of `key` as a floating-point number: the whole string, as `std::from_chars`
/// reads it ("0.25", "1e-3", "nan", "inf"), within the range of `double`; anything else
/// throws `zoo::Error` naming the file, the key and the value.
double metadata_double(const SafetensorsMetadata& metadata, const std::string& key,
                       const std::filesystem::path& file);

}  // namespace zoo::nn
