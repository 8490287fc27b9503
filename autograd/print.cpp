/// @file print.cpp
/// @brief Printing tensors the way PyTorch's repr does.

#include <cmath>
#include <ostream>

#include "autograd/node.h"

namespace zoo {
namespace {

/// How every element of one tensor is written, chosen once from all its values so the
/// columns line up (PyTorch's rules, simplified).
struct ElementFormat {
  enum class Mode { Integer, FloatWhole, Fixed, Scientific, Bool } mode;
  std::size_t width = 1;

  std::string format(double v) const {
    switch (mode) {
      case Mode::Bool: return v != 0 ? "True" : "False";
      case Mode::Integer: return fmt::format("{}", static_cast<std::int64_t>(v));
      case Mode::FloatWhole:
        if (!std::isfinite(v)) return fmt::format("{}", v);
        return fmt::format("{:.0f}.", v);
      case Mode::Fixed: return fmt::format("{:.4f}", v);
      case Mode::Scientific: return fmt::format("{:.4e}", v);
    }
    return "";
  }
};

ElementFormat choose_format(const std::vector<double>& values, DType dtype) {
  ElementFormat f{ElementFormat::Mode::Fixed};
  if (dtype == kBool) {
    f.mode = ElementFormat::Mode::Bool;
  } else if (dtype == kInt64) {
    f.mode = ElementFormat::Mode::Integer;
  } else {
    bool whole = true;
    double lo = INFINITY, hi = 0;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      if (v != std::floor(v)) whole = false;
      const double a = std::fabs(v);
      if (a > 0) lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    if (whole && hi < 1e8) {
      f.mode = ElementFormat::Mode::FloatWhole;
    } else if (lo != INFINITY && (hi / lo > 1000 || hi > 1e8 || lo < 1e-4)) {
      f.mode = ElementFormat::Mode::Scientific;
    }
  }
  for (double v : values) f.width = std::max(f.width, f.format(v).size());
  return f;
}

constexpr std::int64_t kSummarizeAbove = 1000;  // elements; then show 3 at each edge
constexpr std::int64_t kEdgeItems = 3;

/// Writes the sub-tensor at `t` (already contiguous, as doubles) recursively.
void write_nested(std::string& out, const std::vector<double>& data, const Shape& shape,
                  std::size_t dim, std::int64_t offset, const ElementFormat& f, std::size_t indent,
                  bool summarize) {
  const Strides strides = contiguous_strides(shape);
  const std::int64_t n = shape[dim];
  out += '[';
  const bool last = dim + 1 == shape.size();
  auto write_item = [&](std::int64_t i) {
    const std::int64_t pos = offset + i * strides[dim];
    if (last) {
      const std::string s = f.format(data[pos]);
      if (s.size() < f.width) out += std::string(f.width - s.size(), ' ');
      out += s;
    } else {
      write_nested(out, data, shape, dim + 1, pos, f, indent + 1, summarize);
    }
  };
  // Between items: ", " in the last dim; otherwise a comma, one newline per dim below
  // (a blank line between matrices), and the indentation. (Built with append:
  // GCC 12 warns falsely, -Wrestrict, about `"," + std::string(...)`.)
  std::string separator = ", ";
  if (!last) {
    separator = ",";
    separator.append(shape.size() - dim - 1, '\n');
    separator.append(indent + 1, ' ');
  }
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += "..." + separator;
      i = n - kEdgeItems;
    }
    write_item(i);
    if (i + 1 < n) out += separator;
  }
  out += ']';
}

/// The values that `write_nested` will print: all of them, or with `summarize` only the
/// first and last kEdgeItems along each dim. The format is chosen from these alone.
void collect_shown(const std::vector<double>& data, const Shape& shape, std::size_t dim,
                   std::int64_t offset, bool summarize, std::vector<double>& shown) {
  const std::int64_t stride = contiguous_strides(shape)[dim];
  const std::int64_t n = shape[dim];
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;
    if (dim + 1 == shape.size()) shown.push_back(data[offset + i * stride]);
    else collect_shown(data, shape, dim + 1, offset + i * stride, summarize, shown);
  }
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::string out = "tensor(";
  const Tensor c = t.detach().to(kFloat64).contiguous();
  std::vector<double> values(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  if (t.numel() == 0) {
    out += fmt::format("[], size=({})", fmt::join(t.shape(), ", "));
  } else if (t.dim() == 0) {
    out += choose_format(values, t.dtype()).format(values[0]);
  } else {
    const bool summarize = t.numel() > kSummarizeAbove;
    std::vector<double> shown;
    collect_shown(values, t.shape(), 0, 0, summarize, shown);
    write_nested(out, values, t.shape(), 0, 0, choose_format(shown, t.dtype()), 7, summarize);
  }
  if (t.dtype() == kFloat64) out += ", dtype=float64";
  if (t.grad_fn())
    out += fmt::format(", grad_fn=<{}>", t.grad_fn()->name());
  else if (t.requires_grad())
    out += ", requires_grad=True";
  out += ')';
  return out;
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << to_string(t); }

}  // namespace zoo
