#pragma once
/// @file error.h
/// @brief `zoo::Error`, the one exception type zoo throws, and the `ZOO_CHECK` macro.

#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zoo {

/// Every error zoo reports: a bad shape, a wrong dtype, an index out of range, a
/// damaged file. The message always names the operation and the offending values.
class Error : public std::runtime_error {
 public:
  /// An error whose `what()` is `message`.
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace zoo

/// Throws `zoo::Error` with a fmt-formatted message when `cond` is false.
/// The message is formatted only on failure, so checks cost nothing on the hot path.
#define ZOO_CHECK(cond, ...)                                   \
  do {                                                         \
    if (!(cond)) throw ::zoo::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)
