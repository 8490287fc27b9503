#include "nn/io/metadata_values.h"

#include <algorithm>
#include <charconv>
#include <type_traits>

#include "autograd/error.h"

namespace zoo::nn {
namespace {

/// A metadata value for an error message, cut short if a damaged file made it long.
std::string shown(const std::string& text) {
  constexpr std::size_t kMost = 40;
  return text.size() <= kMost ? text : text.substr(0, kMost) + "...";
}

/// `text`, all of it, as a T (`std::int64_t` or `double`).
template <class T>
T parse_whole(const std::string& text, const std::string& key, const std::filesystem::path& file) {
  constexpr bool kInteger = std::is_integral_v<T>;
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  ZOO_CHECK(error != std::errc::result_out_of_range, "{}: metadata '{}': '{}' is out of the range of {}",
            file.string(), key, shown(text), kInteger ? "a 64-bit integer" : "a double");
  ZOO_CHECK(error == std::errc() && end == text.data() + text.size(), "{}: metadata '{}': '{}' is not {}",
            file.string(), key, shown(text), kInteger ? "an integer" : "a number");
  return value;
}

}  // namespace

const std::string& metadata_text(const SafetensorsMetadata& metadata, const std::string& key,
                                 const std::filesystem::path& file) {
  const auto it = metadata.find(key);
  ZOO_CHECK(it != metadata.end(), "{}: metadata '{}' is missing", file.string(), key);
  return it->second;
}

std::int64_t metadata_int(const SafetensorsMetadata& metadata, const std::string& key,
                          const std::filesystem::path& file) {
  return parse_whole<std::int64_t>(metadata_text(metadata, key, file), key, file);
}

std::vector<std::int64_t> metadata_int_list(const SafetensorsMetadata& metadata, const std::string& key,
                                            const std::filesystem::path& file) {
  const std::string& text = metadata_text(metadata, key, file);
  std::vector<std::int64_t> values;
  if (text.empty()) return values;
  for (std::size_t at = 0; at <= text.size();) {  // "64," ends in an empty item: an error
    const std::size_t comma = std::min(text.find(',', at), text.size());
    values.push_back(parse_whole<std::int64_t>(text.substr(at, comma - at), key, file));
    at = comma + 1;
  }
  return values;
}

double metadata_double(const SafetensorsMetadata& metadata, const std::string& key,
                       const std::filesystem::path& file) {
  return parse_whole<double>(metadata_text(metadata, key, file), key, file);
}

}  // namespace zoo::nn
