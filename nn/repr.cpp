#include "nn/repr.h"

#include <algorithm>

#include <fmt/format.h>

namespace zoo::nn {

std::string repr_bool(bool value) { return value ? "True" : "False"; }

std::string repr_float(double value) {
  // fmt's "{}" is the shortest round-trip form, like Python's repr ("1e-05", "0.5"),
  // but writes whole numbers without ".0" ("1" where Python writes "1.0").
  std::string s = fmt::format("{}", value);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 'n': inf and nan
  return s;
}

std::string repr_tuple(const std::vector<std::int64_t>& values) {
  if (values.size() == 1) return fmt::format("({},)", values[0]);
  return fmt::format("({})", fmt::join(values, ", "));
}

std::string repr_size(const std::vector<std::int64_t>& values) {
  const bool uniform = !values.empty() &&
      std::all_of(values.begin(), values.end(), [&](std::int64_t v) { return v == values[0]; });
  return uniform ? fmt::format("{}", values[0]) : repr_tuple(values);
}

}  // namespace zoo::nn
