#pragma once
/// @file dtype.h
/// @brief Element types, type promotion, and `dispatch` from a runtime dtype to a C++ type.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "autograd/error.h"

namespace zoo {

/// The element type of a tensor. `Bool` is what comparisons return (one byte per element).
enum class DType : std::uint8_t { Float32, Float64, Int64, Bool };

inline constexpr DType kFloat32 = DType::Float32;  ///< 32-bit IEEE float, the default dtype.
inline constexpr DType kFloat64 = DType::Float64;  ///< 64-bit IEEE float (gradcheck's dtype).
inline constexpr DType kInt64 = DType::Int64;      ///< 64-bit signed integer (indices, labels).
inline constexpr DType kBool = DType::Bool;        ///< One byte per element (masks).

/// Bytes per element.
std::size_t element_size(DType dtype);
/// "float32", "float64", "int64" or "bool".
std::string_view dtype_name(DType dtype);
/// True for float32 and float64: the dtypes gradients can flow through.
bool is_floating(DType dtype);
/// The dtype of `a op b`, as in PyTorch: bool < int64 < float32 < float64.
DType promote_types(DType a, DType b);

/// The dtype of a C++ element type: `dtype_of<float>` is float32.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return kFloat32; }  ///< float is float32.
template <> constexpr DType dtype_of<double>() { return kFloat64; }  ///< double is float64.
template <> constexpr DType dtype_of<std::int64_t>() { return kInt64; }  ///< int64_t is int64.
template <> constexpr DType dtype_of<bool>() { return kBool; }  ///< bool is bool.

/// Calls `f(T{})` with T the C++ type of a floating dtype. Use it to write a kernel
/// once as a generic lambda: `dispatch_floating(x.dtype(), "exp", [&](auto tag) {
/// using T = decltype(tag); ... })`. Any other dtype is an error that names `op`.
template <class F>
decltype(auto) dispatch_floating(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default:
      throw Error(fmt::format("{}: expected a floating tensor (float32 or float64), got {}", op,
                              dtype_name(dtype)));
  }
}

/// Like `dispatch_floating`, and int64 too: for ops that make sense on integers.
template <class F>
decltype(auto) dispatch_numeric(DType dtype, std::string_view op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(std::int64_t{});
    default:
      throw Error(fmt::format("{}: expected a numeric tensor, got {}", op, dtype_name(dtype)));
  }
}

/// Every dtype, bool included: for copies, comparisons and selections.
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(std::int64_t{});
    case DType::Bool: return f(bool{});
  }
  throw Error("dispatch_all: unknown dtype");
}

}  // namespace zoo

// Lets fmt print a DType by name; hidden from Doxygen (it extends fmt, not zoo's API).
/// @cond
template <>
struct fmt::formatter<zoo::DType> : fmt::formatter<std::string_view> {
  auto format(zoo::DType d, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(zoo::dtype_name(d), ctx);
  }
};
/// @endcond
