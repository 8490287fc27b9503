/// @file join.cpp
/// @brief Joining tensors (cat, stack) and splitting them (split, chunk).
///
/// `cat` is the one op here with a kernel and a backward: the gradient of each input
/// is its slice of the output's gradient, \f$\bar x_j = \bar y[\dots, o_j : o_j + n_j, \dots]\f$
/// with \f$o_j\f$ the offset of input j along `dim` and \f$n_j\f$ its size. `split` is
/// its mirror image: views of the pieces, with one backward for all of them that
/// concatenates the pieces' gradients, \f$\bar x = \mathrm{cat}(\bar y_1, \ldots, \bar y_n)\f$.
/// (Each piece could be a `narrow` view with its own backward, but then every piece
/// would send back a full-size gradient, zero outside its slice, and n pieces would cost
/// n full-size tensors; a mixture-of-experts layer splits its tokens into dozens of
/// pieces.) `stack` is `cat` of unsqueezed inputs, `chunk` is `split`.

#include "autograd/ops/join.h"

#include <algorithm>
#include <numeric>

#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/copy.h"
#include "autograd/node.h"

namespace zoo {
namespace {

/// PyTorch's legacy rule: a 1-D empty tensor (shape {0}) may be concatenated with
/// tensors of any shape and is skipped, so that `x = cat({x, y})` can start from an
/// empty x.
bool is_skipped(const Tensor& t, const Tensor& reference) {
  return t.shape() == Shape{0} && reference.dim() != 1;
}

/// Throws unless `t` (input `i`) can be concatenated with `reference` along `dim`:
/// the same number of dims and the same sizes outside `dim`.
void check_cat_shape(const Tensor& t, std::size_t i, const Tensor& reference, int dim) {
  ZOO_CHECK(t.dim() == reference.dim(),
            "cat: tensor {} has {} dims but the others have {} (shapes {} and {})", i, t.dim(),
            reference.dim(), t.shape(), reference.shape());
  for (int d = 0; d < t.dim(); ++d)
    ZOO_CHECK(d == dim || t.shape()[d] == reference.shape()[d],
              "cat: sizes must match except in dim {}, but tensor {} has shape {} and another has "
              "shape {}",
              dim, i, t.shape(), reference.shape());
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim_in) {
  ZOO_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    ZOO_CHECK(tensors[i].defined(), "cat: tensor {} is undefined", i);
    ZOO_CHECK(tensors[i].dim() > 0, "cat: tensor {} is 0-dim and cannot be concatenated", i);
  }
  // The shape to follow: the first tensor that is not skipped.
  Tensor reference = tensors[0];
  for (const Tensor& t : tensors)
    if (t.shape() != Shape{0}) {
      reference = t;
      break;
    }
  const int dim = normalize_dim(dim_in, reference.dim(), "cat");

  // Where each input goes along `dim` (-1 for a skipped one), and the result's dtype.
  std::vector<std::int64_t> starts(tensors.size(), -1);
  std::int64_t total = 0;
  DType dtype = tensors[0].dtype();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    dtype = promote_types(dtype, t.dtype());
    if (is_skipped(t, reference)) continue;
    check_cat_shape(t, i, reference, dim);
    starts[i] = total;
    total += t.shape()[dim];
  }
  Shape shape = reference.shape();
  shape[dim] = total;

  // Forward: copy each input into its slice of the output (converting the dtype).
  Tensor out = empty(shape, dtype);
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (starts[i] >= 0)
      kernels::copy_elements(out.narrow(dim, starts[i], tensors[i].shape()[dim]),
                             tensors[i].detach());

  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& t : tensors) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  return record("cat", tensors, out,
                [dim, starts, shapes, dtypes](const Tensor& g, const std::vector<bool>& needs) {
                  Grads grads(needs.size());
                  for (std::size_t i = 0; i < needs.size(); ++i) {
                    if (!needs[i]) continue;
                    grads[i] = starts[i] < 0 ? zeros(shapes[i], dtypes[i])
                                             : g.narrow(dim, starts[i], shapes[i][dim]).to(dtypes[i]);
                  }
                  return grads;
                });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim_in) {
  ZOO_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    ZOO_CHECK(tensors[i].defined(), "stack: tensor {} is undefined", i);
    ZOO_CHECK(tensors[i].shape() == tensors[0].shape(),
              "stack: all tensors must have the same shape, but tensor {} has shape {} and tensor "
              "0 has shape {}",
              i, tensors[i].shape(), tensors[0].shape());
  }
  // The new dim may go anywhere from before the first to after the last.
  const int dim = normalize_dim(dim_in, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> unsqueezed;
  unsqueezed.reserve(tensors.size());
  for (const Tensor& t : tensors) unsqueezed.push_back(t.unsqueeze(dim));
  return cat(unsqueezed, dim);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim_in) {
  ZOO_CHECK(x.dim() > 0, "split: cannot split a 0-dim tensor");
  const int dim = normalize_dim(dim_in, x.dim(), "split");
  const std::int64_t n = x.shape()[dim];
  ZOO_CHECK(split_size > 0 || (split_size == 0 && n == 0),
            "split: split_size must be positive, got {} (dim {} has size {})", split_size, dim, n);
  // ⌈n / split_size⌉ pieces, the last one shorter; an empty dim gives one empty piece.
  std::vector<std::int64_t> sizes;
  for (std::int64_t start = 0; start < n; start += split_size)
    sizes.push_back(std::min(split_size, n - start));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes,
                          std::int64_t dim_in) {
  ZOO_CHECK(x.dim() > 0, "split: cannot split a 0-dim tensor");
  const int dim = normalize_dim(dim_in, x.dim(), "split");
  const std::int64_t n = x.shape()[dim];
  for (std::int64_t s : sizes)
    ZOO_CHECK(s >= 0, "split: sizes {} contain the negative size {}", sizes, s);
  ZOO_CHECK(std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) == n,
            "split: sizes {} do not add up to the size {} of dim {} (shape {})", sizes, n, dim,
            x.shape());
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  {
    NoGradGuard views_only;  // the pieces get one shared backward below, not one each
    std::int64_t start = 0;
    for (std::int64_t s : sizes) {
      pieces.push_back(x.narrow(dim, start, s));
      start += s;
    }
  }
  // The engine hands every piece's gradient to the node (zeros for a piece that was
  // not used), so the input's gradient is their concatenation.
  record_multi("split", {x}, pieces, [dim](const Grads& grads, const std::vector<bool>&) {
    return Grads{cat(grads, dim)};
  });
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim_in) {
  ZOO_CHECK(x.dim() > 0, "chunk: cannot chunk a 0-dim tensor");
  ZOO_CHECK(chunks > 0, "chunk: the number of chunks must be positive, got {}", chunks);
  const int dim = normalize_dim(dim_in, x.dim(), "chunk");
  const std::int64_t n = x.shape()[dim];
  // Pieces of ⌈n / chunks⌉, as torch.chunk: there may be fewer than `chunks` of them
  // (5 elements in 4 chunks are 2 + 2 + 1). An empty dim gives `chunks` empty pieces.
  if (n == 0) return split(x, std::vector<std::int64_t>(chunks, 0), dim);
  return split(x, (n + chunks - 1) / chunks, dim);
}

}  // namespace zoo
