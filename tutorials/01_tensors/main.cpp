// Tutorial 01: tensors. Storage, shape, strides and offset; views that share storage;
// contiguous copies; broadcasting; dtypes; printing. Read README.md alongside: every
// section here prints what one section there explains, and checks what it claims.
//
// Run: ./tutorial_01_tensors   (CTest runs it with --quick; both modes are instant)

#include <cstdint>
#include <vector>

#include "autograd/ops.h"
#include "lesson.h"

using namespace zoo;

namespace {

/// Prints the geometry of a tensor: the four numbers that say where its elements live.
void describe(std::string_view name, const Tensor& t) {
  fmt::print("  {:<20} shape {}  strides {}  offset {}  contiguous {}\n", name, t.shape(),
             t.strides(), t.offset(), t.is_contiguous() ? "yes" : "no");
}

// ---------------------------------------------------------------------------
// 1.1 Storage, shape, strides, offset
// ---------------------------------------------------------------------------
void storage_and_strides(lesson::Lesson& lesson) {
  lesson.section("1.1 Storage, shape, strides, offset");

  // Twelve floats in one flat block of memory, seen as a 3x4 matrix.
  Tensor x = arange(0.0, 12.0, 1.0, kFloat32).view({3, 4});
  fmt::print("x =\n{}\n", x);
  describe("x", x);
  fmt::print("  storage: {} bytes = {} elements of {} bytes\n", x.storage().nbytes(), x.numel(),
             element_size(x.dtype()));

  // By hand: element (i, j) lives at offset + i*strides[0] + j*strides[1] in the storage.
  const float* base = static_cast<const float*>(x.storage().data());
  const std::int64_t i = 2, j = 1;
  const std::int64_t address = x.offset() + i * x.stride(0) + j * x.stride(1);
  fmt::print("  x[{}, {}] is storage element {} + {}*{} + {}*{} = {}, which holds {}\n", i, j,
             x.offset(), i, x.stride(0), j, x.stride(1), address, base[address]);
  lesson.check(base[address] == x.at<float>({i, j}),
               "the address formula finds the same element as x.at({2, 1})");
  lesson.check(x.strides() == Strides{4, 1} && contiguous_strides({2, 3, 4}) == Strides{12, 4, 1},
               "row-major strides: the last dim moves fastest (shape (2,3,4) has strides (12,4,1))");
}

// ---------------------------------------------------------------------------
// 1.2 Views share storage
// ---------------------------------------------------------------------------
void views(lesson::Lesson& lesson) {
  lesson.section("1.2 Views: transpose, slice, expand share storage");

  Tensor x = arange(0.0, 12.0, 1.0, kFloat32).view({3, 4});
  describe("x", x);

  // Transposing swaps two strides. No element moves.
  Tensor xt = x.t();
  describe("x.t()", xt);
  fmt::print("x.t() =\n{}\n", xt);
  lesson.check(&xt.storage() == &x.storage(), "x.t() uses the same storage as x");
  lesson.check(xt.strides() == Strides{1, 4} && xt.at<float>({3, 2}) == x.at<float>({2, 3}),
               "x.t() has strides (1, 4), and x.t()[3, 2] is x[2, 3]");

  // Slicing moves the offset and multiplies a stride by the step: columns 1 and 3.
  Tensor cols = x.slice(/*dim=*/1, /*start=*/1, /*end=*/4, /*step=*/2);
  describe("cols", cols);
  fmt::print("x.slice(1, 1, 4, 2) =\n{}\n", cols);
  lesson.check(cols.offset() == 1 && cols.strides() == Strides{4, 2},
               "the slice starts 1 element in, and steps 2 elements per column");

  // Selecting a row removes a dim; x[1] starts at element 4.
  Tensor row = x[1];
  describe("x[1]", row);

  // Expanding repeats a size-1 dim with stride 0: one row seen three times.
  Tensor r = tensor({10, 20, 30, 40});
  Tensor rows = r.unsqueeze(0).expand({3, 4});
  describe("expanded r", rows);
  fmt::print("tensor({{10, 20, 30, 40}}).unsqueeze(0).expand({{3, 4}}) =\n{}\n", rows);
  lesson.check(rows.strides() == Strides{0, 1} && rows.storage().nbytes() == 4 * sizeof(float),
               "the expanded 3x4 tensor has stride 0 on dim 0 and still only 4 floats of storage");

  // A write through a view is a write to the storage, so the base sees it.
  const std::uint64_t version_before = x.version();
  cols.fill_(-1.0);
  fmt::print("after cols.fill_(-1), x =\n{}\n", x);
  lesson.check(x.at<float>({0, 1}) == -1.0f && x.at<float>({2, 3}) == -1.0f &&
                   x.at<float>({0, 0}) == 0.0f,
               "writing through the slice changed columns 1 and 3 of x, and nothing else");
  fmt::print("  the storage's version counter went from {} to {}\n", version_before, x.version());
  lesson.check(x.version() == version_before + 1,
               "every in-place write bumps the version counter of the shared storage");

  // view() needs a layout it can describe with strides; x.t() cannot be flattened that way.
  fmt::print("x.t().view({{12}}) fails:\n");
  const std::string message = lesson.expect_error([&] { (void)x.t().view({12}); });
  lesson.check(lesson::contains(message, "reshape"), "the error suggests reshape()");
  Tensor flat = x.t().reshape({12});
  lesson.check(&flat.storage() != &x.storage(), "reshape() of the transpose had to copy");
}

// ---------------------------------------------------------------------------
// 1.3 contiguous() copies (only when it must)
// ---------------------------------------------------------------------------
void contiguous_copies(lesson::Lesson& lesson) {
  lesson.section("1.3 contiguous() copies");

  Tensor x = arange(0.0, 6.0, 1.0, kFloat32).view({2, 3});
  Tensor xt = x.t();
  Tensor c = xt.contiguous();
  describe("x.t()", xt);
  describe("x.t().contiguous()", c);
  lesson.check(c.strides() == Strides{2, 1} && &c.storage() != &x.storage(),
               "contiguous() of the transpose is a new row-major copy");
  lesson.check(c.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5},
               "its storage holds x.t() row by row: 0 3 1 4 2 5");
  lesson.check(x.contiguous().is_same(x), "contiguous() of a contiguous tensor returns it unchanged");

  c.fill_(7.0);
  lesson.check(x.at<float>({0, 0}) == 0.0f, "writing into the copy leaves x alone");
}

// ---------------------------------------------------------------------------
// 1.4 Broadcasting
// ---------------------------------------------------------------------------
void broadcasting(lesson::Lesson& lesson) {
  lesson.section("1.4 Broadcasting");

  // A column (3, 1) plus a row (4): align on the right, stretch size-1 dims.
  //   shapes   (3, 1)
  //               (4)   ->  treated as (1, 4)
  //   result   (3, 4)
  Tensor col = tensor({0, 10, 20}).unsqueeze(1);  // (3, 1)
  Tensor row = tensor({1, 2, 3, 4});       // (4)
  Tensor sum = col + row;
  fmt::print("col {} + row {} = {}\n{}\n", col.shape(), row.shape(), sum.shape(), sum);
  lesson.check(broadcast_shapes({3, 1}, {4}, "example") == Shape{3, 4},
               "broadcast_shapes((3, 1), (4)) is (3, 4)");

  // By hand: out[i][j] = col[i][0] + row[j]. The size-1 dim of col is read with index 0.
  bool same = true;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j)
      same = same && sum.at<float>({i, j}) == col.at<float>({i, 0}) + row.at<float>({j});
  lesson.check(same, "every element equals col[i][0] + row[j], computed by hand");

  // Broadcasting is expand in disguise: stride 0 along the stretched dims, no copy.
  Tensor col_wide = col.expand({3, 4});
  Tensor row_tall = row.expand({3, 4});
  describe("col.expand({3, 4})", col_wide);
  describe("row.expand({3, 4})", row_tall);
  lesson.check(allclose(col_wide + row_tall, sum), "expanding both first gives the same sum");

  // Sizes that are neither equal nor 1 do not broadcast; the error names the op and shapes.
  fmt::print("a (2, 3) tensor plus a (2) tensor fails:\n");
  const std::string message = lesson.expect_error([] { (void)(ones({2, 3}) + ones({2})); });
  lesson.check(lesson::contains(message, "add") && lesson::contains(message, "cannot be broadcast"),
               "the error names the op (add) and says the shapes cannot be broadcast");
}

// ---------------------------------------------------------------------------
// 1.5 dtypes and conversion
// ---------------------------------------------------------------------------
void dtypes(lesson::Lesson& lesson) {
  lesson.section("1.5 dtypes and conversion");

  for (DType d : {kFloat32, kFloat64, kInt64, kBool})
    fmt::print("  {:<8} {} byte(s) per element, floating: {}\n", dtype_name(d), element_size(d),
               is_floating(d) ? "yes" : "no");

  // Mixed dtypes promote: bool < int64 < float32 < float64.
  Tensor i = arange(4);                        // int64: 0 1 2 3
  Tensor f = tensor({0.5, 0.5, 0.5, 0.5});     // float32
  Tensor d = tensor({1, 1, 1, 1}, kFloat64);   // float64
  fmt::print("  int64 + float32 -> {}, float32 + float64 -> {}, int64 / int64 -> {}, "
             "int64 < float32 -> {}\n",
             (i + f).dtype(), (f + d).dtype(), (i / i).dtype(), (i < f).dtype());
  lesson.check((i + f).dtype() == kFloat32 && (f + d).dtype() == kFloat64 &&
                   (i / i).dtype() == kFloat32 && (i < f).dtype() == kBool,
               "promotion and result dtypes follow PyTorch");

  // Conversion with to(): floats to int64 truncate toward zero; to bool means "nonzero".
  Tensor v = tensor({-1.7, -0.2, 0.0, 2.9});
  fmt::print("v = {}\nv.to(int64) = {}\nv.to(bool) = {}\n", v, v.to(kInt64), v.to(kBool));
  lesson.check(v.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, 0, 0, 2},
               "to(int64) truncates toward zero");
  lesson.check(v.to(kBool).to_vector<bool>() == std::vector<bool>{true, true, false, true},
               "to(bool) is true for every nonzero value");

  // float32 has a 24-bit significand: 2^24 + 1 is the first integer it cannot hold.
  const double big = 16777217.0;  // 2^24 + 1
  const double as32 = scalar_tensor(big, kFloat32).item();
  const double as64 = scalar_tensor(big, kFloat64).item();
  fmt::print("  2^24 + 1 stored as float32 reads back {:.1f}; as float64 {:.1f}\n", as32, as64);
  lesson.check(as32 == 16777216.0 && as64 == big, "float32 rounds 2^24 + 1, float64 keeps it");
}

// ---------------------------------------------------------------------------
// 1.6 Printing
// ---------------------------------------------------------------------------
void printing(lesson::Lesson& lesson) {
  lesson.section("1.6 Printing");

  // Whole floats print with a trailing dot, others with 4 decimals, mixed magnitudes
  // in scientific notation, float64 says so, and the autograd state comes last.
  const Tensor whole = tensor({1, 2, 3});
  const Tensor fixed = tensor({0.5, -1.25, 3.14159});
  const Tensor sci = tensor({1e-5, 1.0, 1e5});
  const Tensor f64 = tensor({{1, 2}, {3, 4}}, kFloat64);
  const Tensor ints = arange(5);
  const Tensor flags = arange(5) > 2.0;
  Tensor leaf = tensor({1.5, 2.5}, kFloat64).requires_grad_();
  const Tensor product = leaf * leaf;
  const Tensor long_one = arange(2000);
  for (const auto& [code, t] : std::vector<std::pair<std::string, Tensor>>{
           {"tensor({1, 2, 3})", whole},
           {"tensor({0.5, -1.25, 3.14159})", fixed},
           {"tensor({1e-5, 1.0, 1e5})", sci},
           {"tensor({{1, 2}, {3, 4}}, kFloat64)", f64},
           {"arange(5)", ints},
           {"arange(5) > 2.0", flags},
           {"leaf (requires grad)", leaf},
           {"leaf * leaf", product},
           {"arange(2000)", long_one}})
    fmt::print("{}\n{}\n\n", code, t);

  lesson.check(to_string(whole) == "tensor([1., 2., 3.])", "whole floats print as '1.'");
  lesson.check(to_string(product) == "tensor([2.2500, 6.2500], dtype=float64, grad_fn=<mul>)",
               "an op's output shows its dtype and the node that made it");
  lesson.check(lesson::contains(to_string(long_one), "..."),
               "more than 1000 elements are summarised with '...'");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    storage_and_strides(lesson);
    views(lesson);
    contiguous_copies(lesson);
    broadcasting(lesson);
    dtypes(lesson);
    printing(lesson);
  });
}
