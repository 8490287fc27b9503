#include "autograd/dtype.h"

namespace zoo {

std::size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

DType promote_types(DType a, DType b) {
  // The enum is not ordered by "width", so rank explicitly.
  auto rank = [](DType d) {
    switch (d) {
      case DType::Bool: return 0;
      case DType::Int64: return 1;
      case DType::Float32: return 2;
      case DType::Float64: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace zoo
