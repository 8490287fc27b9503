/// @file conv.cpp
/// @brief 2-D convolution as im2col + GEMM.
///
/// Shape letters used throughout:
///   N  batch size              C  input channels        O  output channels
///   H, W   input height/width  kh, kw  kernel size       G  groups
///   OH, OW output height/width L = OH·OW output positions
///   K  = C·kh·kw, the length of one unfolded patch
///
/// Two primitives carry the gradients: `im2col` copies every kernel-sized patch of the
/// image into a column, and `col2im` adds the columns back into an image. They are
/// adjoint linear maps, so each one's backward is the other, and everything built from
/// them (convolution, its transpose, pooling) is differentiable to any order.
/// `conv2d_reference` and `conv_transpose2d` are compositions of im2col/col2im with
/// `matmul` and need no backward code: conv2d_reference multiplies each image's columns
/// (N, C·kh·kw, L); conv_transpose2d uses the batched layout (C·kh·kw, N, L), in which
/// the whole batch is one matrix product (see the comment in the function).
///
/// `conv2d`, the convolution of every CNN, is the one hot spot with kernels of its own:
/// the same maths image by image, with the columns of one image in cache and the weight
/// gradient summed over the batch in place. Profiling the MNIST CNN showed the composed
/// form spending its time writing and re-reading 29 MB of columns and a per-image weight
/// gradient (N, O, K) that `sum_to` then reduced. It is tested against the reference,
/// and with `create_graph` it differentiates the reference, so higher orders still work.

#include "autograd/ops/conv.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/winograd.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Everything an im2col/col2im kernel needs to know about the sliding window.
struct Window {
  std::int64_t H, W;    // image size
  std::int64_t kh, kw;  // kernel
  std::int64_t sh, sw;  // stride
  std::int64_t ph, pw;  // zero (or pad_value) padding on each side
  std::int64_t dh, dw;  // dilation
  std::int64_t OH, OW;  // number of window positions
};

/// Checks that kernel, stride and dilation are positive and padding is not negative.
void check_window_args(const char* op, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  ZOO_CHECK(kernel[0] > 0 && kernel[1] > 0, "{}: kernel size must be positive, got {}", op, kernel);
  ZOO_CHECK(stride[0] > 0 && stride[1] > 0, "{}: stride must be positive, got {}", op, stride);
  ZOO_CHECK(padding[0] >= 0 && padding[1] >= 0, "{}: padding must be non-negative, got {}", op,
            padding);
  ZOO_CHECK(dilation[0] > 0 && dilation[1] > 0, "{}: dilation must be positive, got {}", op,
            dilation);
}

/// Number of window positions along one axis:
/// \f$\lfloor (n + 2p - d(k-1) - 1) / s \rfloor + 1\f$.
/// The caller has checked that the (dilated) kernel fits in the padded input.
std::int64_t positions(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p,
                       std::int64_t d) {
  return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// The window geometry over an H×W image, or an error naming `op` if the dilated
/// kernel is larger than the padded image.
Window make_window(const char* op, std::int64_t H, std::int64_t W, Pair kernel, Pair stride,
                   Pair padding, Pair dilation) {
  check_window_args(op, kernel, stride, padding, dilation);
  const std::int64_t eh = dilation[0] * (kernel[0] - 1) + 1;  // effective (dilated) kernel
  const std::int64_t ew = dilation[1] * (kernel[1] - 1) + 1;
  ZOO_CHECK(H + 2 * padding[0] >= eh && W + 2 * padding[1] >= ew,
            "{}: the kernel {} (dilation {}, so {}x{}) is larger than the padded input "
            "({}x{} with padding {})",
            op, kernel, dilation, eh, ew, H, W, padding);
  return Window{.H = H,
                .W = W,
                .kh = kernel[0],
                .kw = kernel[1],
                .sh = stride[0],
                .sw = stride[1],
                .ph = padding[0],
                .pw = padding[1],
                .dh = dilation[0],
                .dw = dilation[1],
                .OH = positions(H, kernel[0], stride[0], padding[0], dilation[0]),
                .OW = positions(W, kernel[1], stride[1], padding[1], dilation[1])};
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// For kernel column j: the output columns ow whose input column
/// iw = ow·sw − pw + j·dw lies inside the image, as the range [lo, hi).
/// Columns outside it read padding.
std::pair<std::int64_t, std::int64_t> valid_columns(const Window& g, std::int64_t j) {
  const std::int64_t shift = j * g.dw - g.pw;  // iw = ow·sw + shift
  const std::int64_t lo = std::min(shift < 0 ? ceil_div(-shift, g.sw) : 0, g.OW);
  const std::int64_t hi = g.W - shift > 0 ? std::clamp(ceil_div(g.W - shift, g.sw), lo, g.OW) : lo;
  return {lo, hi};
}

/// Planes (one (n, c) image each) per parallel chunk: enough work to be worth a thread.
std::int64_t plane_grain(const Window& g) {
  return std::max<std::int64_t>(1,
                                kGrainSize / std::max<std::int64_t>(1, g.kh * g.kw * g.OH * g.OW));
}

/// How the im2col/col2im kernels find the rows of image n, channel c in a column
/// tensor of either layout, and in which order they visit the (n, c) planes.
struct ColumnWalk {
  std::int64_t image, row;  // row r = c·kh·kw + i·kw + j of image n starts at n·image + r·row
  std::int64_t N, C;
  bool channel_major;  // visit (c, n) planes channel by channel rather than image by image

  /// The (n, c) of the q-th plane visited. Batched, the rows of (c, n) and (c, n + 1)
  /// are neighbours in memory, so visiting the planes channel by channel reads (or
  /// writes) the column tensor in long runs; image by image would jump by kh·kw·N·L
  /// elements from plane to plane and miss the cache and the TLB at every row.
  std::pair<std::int64_t, std::int64_t> plane(std::int64_t q) const {
    return channel_major ? std::pair{q % N, q / N} : std::pair{q / C, q % C};
  }
};
ColumnWalk column_walk(ColumnLayout layout, std::int64_t N, std::int64_t C, std::int64_t rows,
                       std::int64_t L) {
  if (layout == ColumnLayout::kPerImage)  // (N, C·kh·kw, L)
    return {.image = rows * L, .row = L, .N = N, .C = C, .channel_major = false};
  return {.image = L, .row = N * L, .N = N, .C = C, .channel_major = true};  // (C·kh·kw, N, L)
}

/// cols[n, c, i·kw + j, oh·OW + ow] = x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] (or pad),
/// with the rows of cols where `cw` says. x: (N, C, H, W) contiguous. One thread per
/// group of (n, c) planes.
template <class T>
void im2col_kernel(const T* x, T* cols, const Window& g, const ColumnWalk& cw, T pad) {
  parallel_for(0, cw.N * cw.C, plane_grain(g), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t q = begin; q < end; ++q) {
      const auto [n, c] = cw.plane(q);
      const T* img = x + (n * cw.C + c) * g.H * g.W;
      for (std::int64_t i = 0; i < g.kh; ++i) {
        for (std::int64_t j = 0; j < g.kw; ++j) {
          T* row = cols + n * cw.image + ((c * g.kh + i) * g.kw + j) * cw.row;
          const auto [lo, hi] = valid_columns(g, j);
          const std::int64_t shift = j * g.dw - g.pw;
          for (std::int64_t oh = 0; oh < g.OH; ++oh) {
            T* dst = row + oh * g.OW;
            const std::int64_t ih = oh * g.sh - g.ph + i * g.dh;
            if (ih < 0 || ih >= g.H) {
              std::fill(dst, dst + g.OW, pad);
              continue;
            }
            const T* src = img + ih * g.W;  // input column of ow: ow·sw + shift
            std::fill(dst, dst + lo, pad);
            if (g.sw == 1) {
              std::copy(src + lo + shift, src + hi + shift, dst + lo);
            } else {
              for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * g.sw + shift];
            }
            std::fill(dst + hi, dst + g.OW, pad);
          }
        }
      }
    }
  });
}

/// The adjoint of `im2col_kernel`: x[n, c, ih, iw] = Σ cols[n, c, i·kw + j, oh·OW + ow] over
/// every (i, j, oh, ow) that reads (ih, iw). Each plane is zeroed and summed by exactly
/// one thread, in a fixed order: no races, and the same sums for any thread count.
template <class T>
void col2im_kernel(const T* cols, T* x, const Window& g, const ColumnWalk& cw) {
  parallel_for(0, cw.N * cw.C, plane_grain(g), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t q = begin; q < end; ++q) {
      const auto [n, c] = cw.plane(q);
      T* img = x + (n * cw.C + c) * g.H * g.W;
      std::fill(img, img + g.H * g.W, T(0));
      for (std::int64_t i = 0; i < g.kh; ++i) {
        for (std::int64_t j = 0; j < g.kw; ++j) {
          const T* row = cols + n * cw.image + ((c * g.kh + i) * g.kw + j) * cw.row;
          const auto [lo, hi] = valid_columns(g, j);
          const std::int64_t shift = j * g.dw - g.pw;
          for (std::int64_t oh = 0; oh < g.OH; ++oh) {
            const std::int64_t ih = oh * g.sh - g.ph + i * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            const T* src = row + oh * g.OW;
            T* dst = img + ih * g.W;  // input column of ow: ow·sw + shift
            if (g.sw == 1) {
              for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow + shift] += src[ow];
            } else {
              for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow * g.sw + shift] += src[ow];
            }
          }
        }
      }
    }
  });
}

/// Checks x (N, C, H, W) and weight for conv2d / conv_transpose2d: both 4-D, with the
/// same floating dtype.
void check_conv_tensors(const char* op, const Tensor& x, const Tensor& weight) {
  ZOO_CHECK(x.defined() && weight.defined(), "{}: input and weight must be defined tensors", op);
  ZOO_CHECK(x.dim() == 4, "{}: expected a 4-D input (N, C, H, W), got shape {}", op, x.shape());
  ZOO_CHECK(weight.dim() == 4, "{}: expected a 4-D weight, got shape {}", op, weight.shape());
  ZOO_CHECK(is_floating(x.dtype()) && x.dtype() == weight.dtype(),
            "{}: input and weight must have the same floating dtype, got {} and {}", op, x.dtype(),
            weight.dtype());
}

/// Checks that bias, if given, has shape (O) and the input's dtype.
void check_bias(const char* op, const Tensor& bias, std::int64_t O, DType dtype) {
  if (!bias.defined()) return;
  ZOO_CHECK(bias.shape() == Shape{O},
            "{}: bias must have shape [{}] (one value per output channel), got {}", op, O,
            bias.shape());
  ZOO_CHECK(bias.dtype() == dtype, "{}: bias has dtype {}, the input {}", op, bias.dtype(), dtype);
}

/// Checks conv2d's arguments: shapes, dtypes, groups; errors name the op and the shapes.
void check_conv2d_args(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       std::int64_t groups) {
  check_conv_tensors("conv2d", x, weight);
  const std::int64_t C = x.size(1), O = weight.size(0);
  const std::int64_t G = groups;
  ZOO_CHECK(G > 0, "conv2d: groups must be positive, got {}", G);
  ZOO_CHECK(C % G == 0 && O % G == 0,
            "conv2d: groups = {} must divide the input channels ({}, input shape {}) and the "
            "output channels ({}, weight shape {})",
            G, C, x.shape(), O, weight.shape());
  ZOO_CHECK(weight.size(1) == C / G,
            "conv2d: weight of shape {} expects {} input channels per group, but the input of "
            "shape {} has {} channels in {} group(s)",
            weight.shape(), weight.size(1), x.shape(), C, G);
  check_bias("conv2d", bias, O, x.dtype());
}

/// The sizes of one conv2d: the window, N images of C channels, O outputs, G groups.
struct ConvShape {
  Window g;
  std::int64_t N, C, O, G;
  std::int64_t K() const { return (C / G) * g.kh * g.kw; }  // one group's patch length
  std::int64_t L() const { return g.OH * g.OW; }            // output positions
  std::int64_t rows() const { return C * g.kh * g.kw; }     // rows of one image's columns
};

/// conv2d's forward, one image at a time, each thread with its own column buffer (as
/// Caffe's and PyTorch's slow_conv2d do). Unfolding one image at a time keeps the
/// C·kh·kw × L columns in cache for the GEMM, instead of writing (and later reading)
/// columns for the whole batch. Per image n and group g, starting from the bias:
///   y[n, g] (O/G × L) = b + w[g] (O/G × K) @ cols[n, g] (K × L).
template <class T>
void conv2d_forward_kernel(const T* x, const T* w, const T* bias, T* y, const ConvShape& s) {
  const std::int64_t K = s.K(), L = s.L(), OG = s.O / s.G;
  const ColumnWalk one_image = column_walk(ColumnLayout::kPerImage, 1, s.C, s.rows(), L);
  // One image per chunk at least: whole images per thread, BLAS single-threaded
  // inside (a single image runs serially with BLAS using every thread).
  parallel_for(0, s.N, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> cols(static_cast<std::size_t>(s.rows() * L));
    for (std::int64_t n = begin; n < end; ++n) {
      im2col_kernel<T>(x + n * s.C * s.g.H * s.g.W, cols.data(), s.g, one_image, T(0));
      T* yn = y + n * s.O * L;
      for (std::int64_t o = 0; o < s.O; ++o) std::fill(yn + o * L, yn + (o + 1) * L, bias ? bias[o] : T(0));
      for (std::int64_t grp = 0; grp < s.G; ++grp)
        gemm<T>(false, false, OG, L, K, T(1), w + grp * OG * K, K, cols.data() + grp * K * L, L,
                T(1), yn + grp * OG * L, L);
    }
  });
}

/// conv2d's backward, one image at a time like the forward (the columns are unfolded
/// again rather than kept: recomputing them is cheaper than storing N·C·kh·kw·L values).
/// Per image n and group g, with ȳ[n, g] (O/G × L):
///   w̄[g] += ȳ[n, g] @ cols[n, g]ᵀ   (summed over the batch in one O × K buffer)
///   x̄[n]  = col2im(w[g]ᵀ @ ȳ[n, g])  (the column gradient folded back into the image)
/// Each thread sums its images' w̄ in its own buffer; the buffers are then added in a
/// fixed order, so the result is the same on every run with the same thread count.
/// `gx` or `gw` may be null (that gradient is not needed).
template <class T>
void conv2d_backward_kernel(const T* x, const T* w, const T* gy, T* gx, T* gw, const ConvShape& s) {
  const std::int64_t K = s.K(), L = s.L(), OG = s.O / s.G, image = s.C * s.g.H * s.g.W;
  const ColumnWalk one_image = column_walk(ColumnLayout::kPerImage, 1, s.C, s.rows(), L);
  std::mutex partials_mutex;
  std::map<std::int64_t, std::vector<T>> partials;  // w̄ of the images [begin, ...)
  parallel_for(0, s.N, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> cols(static_cast<std::size_t>(s.rows() * L));
    std::vector<T> w_grad(gw ? static_cast<std::size_t>(s.O * K) : 0, T(0));
    for (std::int64_t n = begin; n < end; ++n) {
      const T* gyn = gy + n * s.O * L;
      if (gw) {
        im2col_kernel<T>(x + n * image, cols.data(), s.g, one_image, T(0));
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          gemm<T>(false, true, OG, K, L, T(1), gyn + grp * OG * L, L, cols.data() + grp * K * L,
                  L, T(1), w_grad.data() + grp * OG * K, K);
      }
      if (gx) {
        for (std::int64_t grp = 0; grp < s.G; ++grp)  // the column gradient, into `cols`
          gemm<T>(true, false, K, L, OG, T(1), w + grp * OG * K, K, gyn + grp * OG * L, L, T(0),
                  cols.data() + grp * K * L, L);
        col2im_kernel<T>(cols.data(), gx + n * image, s.g, one_image);
      }
    }
    if (gw) {
      std::lock_guard lock(partials_mutex);
      partials.emplace(begin, std::move(w_grad));
    }
  });
  if (!gw) return;
  std::fill(gw, gw + s.O * K, T(0));
  for (const auto& [begin, part] : partials)  // in image order
    for (std::int64_t i = 0; i < s.O * K; ++i) gw[i] += part[static_cast<std::size_t>(i)];
}

/// w'[c, o, i, j] = w[o, c, 2 − i, 2 − j] for w (O, C, 3, 3): the weights whose
/// convolution of ȳ is x̄ (winograd.h).
template <class T>
std::vector<T> flip_and_transpose_3x3(const T* w, std::int64_t O, std::int64_t C) {
  std::vector<T> flipped(static_cast<std::size_t>(O * C * 9));
  for (std::int64_t o = 0; o < O; ++o)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t k = 0; k < 9; ++k)  // k = 3i + j, and 8 − k = 3(2 − i) + (2 − j)
        flipped[static_cast<std::size_t>((c * O + o) * 9 + k)] = w[(o * C + c) * 9 + 8 - k];
  return flipped;
}

/// out + bias broadcast over (N, ·, OH, OW); out: (N, O, OH, OW), bias: (O) or undefined.
Tensor add_bias(const Tensor& out, const Tensor& bias) {
  if (!bias.defined()) return out;
  return out + bias.reshape({1, bias.numel(), 1, 1});
}

}  // namespace

// ---------------------------------------------------------------------------
// im2col / col2im: the two primitives
// ---------------------------------------------------------------------------

Tensor im2col(const Tensor& x, Pair kernel, Pair stride, Pair padding, Pair dilation,
              double pad_value, ColumnLayout layout) {
  // x: (N, C, H, W)  ->  cols: (N, C·kh·kw, OH·OW), or (C·kh·kw, N, OH·OW) batched
  ZOO_CHECK(x.dim() == 4, "im2col: expected a 4-D input (N, C, H, W), got shape {}", x.shape());
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const Window g = make_window("im2col", H, W, kernel, stride, padding, dilation);
  const std::int64_t rows = C * g.kh * g.kw, L = g.OH * g.OW;
  const Tensor xc = x.detach().contiguous();
  Tensor cols = empty(layout == ColumnLayout::kPerImage ? Shape{N, rows, L} : Shape{rows, N, L},
                      x.dtype());
  dispatch_floating(x.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<T>(xc.data_ptr<T>(), cols.data_ptr<T>(), g, column_walk(layout, N, C, rows, L),
                     static_cast<T>(pad_value));
  });
  // Each input pixel was copied into some columns: its gradient is the sum of theirs.
  return record("im2col", {x}, cols,
                [H, W, kernel, stride, padding, dilation, layout](const Tensor& grad, auto&) {
                  return Grads{col2im(grad, {H, W}, kernel, stride, padding, dilation, layout)};
                });
}

Tensor col2im(const Tensor& cols, Pair output_size, Pair kernel, Pair stride, Pair padding,
              Pair dilation, ColumnLayout layout) {
  // cols: (N, C·kh·kw, OH·OW), or (C·kh·kw, N, OH·OW) batched  ->  x: (N, C, H, W)
  const bool per_image = layout == ColumnLayout::kPerImage;
  ZOO_CHECK(cols.dim() == 3, "col2im: expected a 3-D input ({}), got shape {}",
            per_image ? "N, C·kh·kw, L" : "C·kh·kw, N, L", cols.shape());
  ZOO_CHECK(output_size[0] >= 0 && output_size[1] >= 0,
            "col2im: output size must be non-negative, got {}", output_size);
  const Window g =
      make_window("col2im", output_size[0], output_size[1], kernel, stride, padding, dilation);
  const std::int64_t N = cols.size(per_image ? 0 : 1), rows = cols.size(per_image ? 1 : 0);
  ZOO_CHECK(rows % (g.kh * g.kw) == 0,
            "col2im: dim {} of the input (shape {}) must be a multiple of kh·kw = {} (kernel {})",
            per_image ? 1 : 0, cols.shape(), g.kh * g.kw, kernel);
  ZOO_CHECK(cols.size(2) == g.OH * g.OW,
            "col2im: input of shape {} has {} columns, but an output of size {} with kernel {}, "
            "stride {}, padding {} and dilation {} has {}x{} = {} window positions",
            cols.shape(), cols.size(2), output_size, kernel, stride, padding, dilation, g.OH, g.OW,
            g.OH * g.OW);
  const std::int64_t C = rows / (g.kh * g.kw), L = g.OH * g.OW;
  const Tensor cc = cols.detach().contiguous();
  Tensor x = empty({N, C, g.H, g.W}, cols.dtype());
  dispatch_floating(cols.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    col2im_kernel<T>(cc.data_ptr<T>(), x.data_ptr<T>(), g, column_walk(layout, N, C, rows, L));
  });
  // col2im is linear and its adjoint is im2col (with zero padding).
  return record("col2im", {cols}, x,
                [kernel, stride, padding, dilation, layout](const Tensor& grad, auto&) {
                  return Grads{im2col(grad, kernel, stride, padding, dilation, 0.0, layout)};
                });
}

// ---------------------------------------------------------------------------
// convolution and its transpose: compositions, no backward code
// ---------------------------------------------------------------------------

Tensor conv2d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride,
                        Pair padding, Pair dilation, std::int64_t groups) {
  // x: (N, C, H, W), weight: (O, C/G, kh, kw), bias: (O)  ->  (N, O, OH, OW)
  check_conv2d_args(x, weight, bias, groups);
  const std::int64_t N = x.size(0), C = x.size(1), O = weight.size(0);
  const std::int64_t kh = weight.size(2), kw = weight.size(3), G = groups;
  const Window g = make_window("conv2d", x.size(2), x.size(3), {kh, kw}, stride, padding, dilation);

  // Each output pixel is a dot product of a weight row with one unfolded patch: one
  // (O/G, K) @ (K, L) product per image and group, which matmul runs in parallel,
  //   y[n, g, o, l] = Σ_k w[g, o, k] · cols[n, g, k, l],  k over (c, i, j) of group g.
  const std::int64_t K = (C / G) * kh * kw, L = g.OH * g.OW;
  const Tensor cols = im2col(x, {kh, kw}, stride, padding, dilation);  // (N, C·kh·kw, L)
  const Tensor w = weight.reshape({1, G, O / G, K});                   // (1, G, O/G, K)
  const Tensor out = matmul(w, cols.reshape({N, G, K, L}));            // (N, G, O/G, L)
  return add_bias(out.reshape({N, O, g.OH, g.OW}), bias);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
              Pair dilation, std::int64_t groups) {
  check_conv2d_args(x, weight, bias, groups);
  const std::int64_t N = x.size(0), C = x.size(1), O = weight.size(0);
  const Window g = make_window("conv2d", x.size(2), x.size(3), {weight.size(2), weight.size(3)},
                               stride, padding, dilation);
  const ConvShape shape{.g = g, .N = N, .C = C, .O = O, .G = groups};
  const Tensor xc = x.detach().contiguous(), wc = weight.detach().contiguous();
  Tensor y = empty({N, O, g.OH, g.OW}, x.dtype());
  const bool winograd = winograd_applies(g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, groups);
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const T* b = bc.defined() ? bc.data_ptr<T>() : nullptr;
    if (winograd)
      winograd_conv3x3<T>(xc.data_ptr<T>(), wc.data_ptr<T>(), b, y.data_ptr<T>(), N, C, g.H, g.W, O, g.ph);
    else
      conv2d_forward_kernel<T>(xc.data_ptr<T>(), wc.data_ptr<T>(), b, y.data_ptr<T>(), shape);
  });

  return record(
      "conv2d", {x, weight, bias}, y,
      [sx = SavedTensor::input(x), sw = SavedTensor::input(weight), sb = bias.defined() ? SavedTensor::input(bias) : SavedTensor(),
       shape, stride, padding, dilation, groups](const Tensor& grad, const std::vector<bool>& needs) {
        const Tensor x = sx.get(), w = sw.get();
        if (GradMode::is_enabled()) {
          // create_graph: the gradients must themselves be differentiable. Rebuild the
          // composed reference (im2col, matmul) on the same inputs and let the engine
          // differentiate it, so higher orders come from ops that know theirs.
          const Tensor b = needs[2] ? sb.get() : Tensor();  // needs[2]: a bias that wants b̄
          const std::vector<Tensor> inputs = {x, w, b};
          std::vector<Tensor> wrt;
          for (std::size_t i = 0; i < 3; ++i)
            if (needs[i]) wrt.push_back(inputs[i]);
          const Tensor y = conv2d_reference(x, w, b, stride, padding, dilation, groups);
          const std::vector<Tensor> found = autograd::grad({y}, wrt, {grad}, {.create_graph = true});
          Grads grads(3);
          for (std::size_t i = 0, k = 0; i < 3; ++i)
            if (needs[i]) grads[i] = found[k++];
          return grads;
        }
        Grads grads(3);
        const Tensor g = grad.contiguous();
        const Tensor xc = x.detach().contiguous(), wc = w.detach().contiguous();
        if (needs[0]) grads[0] = empty(x.shape(), x.dtype());
        if (needs[1]) grads[1] = empty(w.shape(), w.dtype());
        const bool winograd = winograd_applies(shape.g.kh, shape.g.kw, shape.g.sh, shape.g.sw, shape.g.ph,
                                               shape.g.pw, shape.g.dh, shape.g.dw, groups);
        dispatch_floating(x.dtype(), "conv2d backward", [&](auto tag) {
          using T = decltype(tag);
          if (!winograd) {
            conv2d_backward_kernel<T>(xc.data_ptr<T>(), wc.data_ptr<T>(), g.data_ptr<T>(),
                                      needs[0] ? grads[0].data_ptr<T>() : nullptr,
                                      needs[1] ? grads[1].data_ptr<T>() : nullptr, shape);
            return;
          }
          // x̄ of a 3×3 stride-1 convolution is the convolution of ȳ with the weights
          // flipped and transposed, w'[c, o, i, j] = w[o, c, 2 − i, 2 − j], padding 2 − p;
          // w̄ comes from the same transformed input tiles (winograd.h).
          if (needs[0]) {
            const std::vector<T> flipped = flip_and_transpose_3x3(wc.data_ptr<T>(), shape.O, shape.C);
            winograd_conv3x3<T>(g.data_ptr<T>(), flipped.data(), nullptr, grads[0].data_ptr<T>(), shape.N, shape.O,
                                shape.g.OH, shape.g.OW, shape.C, 2 - shape.g.ph);
          }
          if (needs[1])
            winograd_conv3x3_weight_grad<T>(xc.data_ptr<T>(), g.data_ptr<T>(), grads[1].data_ptr<T>(), shape.N,
                                            shape.C, shape.g.H, shape.g.W, shape.O, shape.g.ph);
        });
        if (needs[2]) grads[2] = sum(g, {0, 2, 3});  // b̄_o = Σ_{n, oh, ow} ȳ
        return grads;
      });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride,
                        Pair padding, Pair output_padding, std::int64_t groups, Pair dilation) {
  // x: (N, C, H, W), weight: (C, O/G, kh, kw), bias: (O)  ->  (N, O, OH, OW)
  check_conv_tensors("conv_transpose2d", x, weight);
  check_window_args("conv_transpose2d", {weight.size(2), weight.size(3)}, stride, padding,
                    dilation);
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t kh = weight.size(2), kw = weight.size(3), G = groups;
  ZOO_CHECK(G > 0, "conv_transpose2d: groups must be positive, got {}", G);
  ZOO_CHECK(weight.size(0) == C,
            "conv_transpose2d: weight of shape {} expects {} input channels, the input of shape "
            "{} has {}",
            weight.shape(), weight.size(0), x.shape(), C);
  ZOO_CHECK(C % G == 0,
            "conv_transpose2d: groups = {} must divide the input channels ({}, shape {})", G, C,
            x.shape());
  for (int a = 0; a < 2; ++a)
    ZOO_CHECK(output_padding[a] >= 0 && output_padding[a] < stride[a],
              "conv_transpose2d: output_padding {} must be non-negative and smaller than the "
              "stride {}",
              output_padding, stride);
  const std::int64_t O = weight.size(1) * G;
  check_bias("conv_transpose2d", bias, O, x.dtype());
  // The size of the image whose conv2d has H×W positions (plus output_padding extra rows
  // and columns that the stride would otherwise leave ambiguous).
  const std::int64_t OH =
      (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1;
  const std::int64_t OW =
      (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1;
  ZOO_CHECK(H > 0 && W > 0 && OH > 0 && OW > 0,
            "conv_transpose2d: input of shape {} with kernel {}, stride {}, padding {}, dilation "
            "{} and output_padding {} gives an output of size {}x{}",
            x.shape(), Pair{kh, kw}, stride, padding, dilation, output_padding, OH, OW);

  // The adjoint of conv2d: every input pixel spreads w[c]ᵀ x[n, c] into a column, and
  // col2im adds the columns back into the (larger) image. The batch sits inside the
  // columns (ColumnLayout::kBatched), so that this is one GEMM per group:
  //   cols[g, k, (n, l)] = Σ_c w[g, c, k] · x[g, c, (n, l)],  k over (o, i, j) of group g.
  // A transposed convolution usually upsamples a small map, and one product per image
  // would have only H·W columns (49 for 7×7): measured on 2 cores, the single GEMM is
  // 10–15% faster, permute-copy of x included.
  const std::int64_t K = (O / G) * kh * kw;
  const Tensor w = weight.reshape({G, C / G, K}).mT();                        // (G, K, C/G)
  const Tensor xs = x.reshape({N, C, H * W}).permute({1, 0, 2});              // (C, N, H·W)
  const Tensor cols = matmul(w, xs.reshape({G, C / G, N * H * W}));           // (G, K, N·H·W)
  const Tensor out = col2im(cols.reshape({O * kh * kw, N, H * W}), {OH, OW}, {kh, kw}, stride,
                            padding, dilation, ColumnLayout::kBatched);  // (N, O, OH, OW)
  return add_bias(out, bias);
}

}  // namespace zoo
