#pragma once
/// @file repr.h
/// @brief Python-style text for `extra_repr()`: `True`, `1e-05`, `(512,)`, so that zoo's
/// printed summaries read exactly like PyTorch's.

#include <cstdint>
#include <string>
#include <vector>

namespace zoo::nn {

/// "True" or "False".
std::string repr_bool(bool value);
/// A float as Python's `repr` writes it: the shortest text that reads back exactly, with
/// ".0" on whole numbers and a two-digit exponent (0.5, 1.0, 1e-05).
std::string repr_float(double value);
/// A Python tuple: "(512,)" for one element, "(3, 3)" for two.
std::string repr_tuple(const std::vector<std::int64_t>& values);
/// A size that may be given as one number: "2" if every element equals the first (as
/// PyTorch prints `kernel_size=2`), else the tuple "(2, 3)".
std::string repr_size(const std::vector<std::int64_t>& values);

}  // namespace zoo::nn
