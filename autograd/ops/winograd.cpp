/// @file winograd.cpp
/// @brief F(2×2, 3×3): transform the weights and the input tiles, 16 GEMMs, transform
/// back. The maths is in winograd.h; the three transforms are written out below.

#include "autograd/ops/winograd.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "autograd/ops/linalg.h"
#include "autograd/parallel.h"

namespace zoo {
namespace {

/// Tiles (2×2 outputs each) in one GEMM: enough columns for BLAS to run at speed, few
/// enough that a thread's transformed tiles stay a few megabytes.
constexpr std::int64_t kTilesPerGemm = 512;

// The 1-D transforms; each 2-D one applies its 1-D transform to the rows, then to the
// columns of the result.

/// \f$B^\top d\f$: 4 inputs → 4.
template <class T>
void input_1d(const T d[4], T out[4]) {
  out[0] = d[0] - d[2];
  out[1] = d[1] + d[2];
  out[2] = d[2] - d[1];
  out[3] = d[1] - d[3];
}

/// \f$G g\f$: 3 filter taps → 4.
template <class T>
void filter_1d(const T g[3], T out[4]) {
  out[0] = g[0];
  out[1] = (g[0] + g[1] + g[2]) / 2;
  out[2] = (g[0] - g[1] + g[2]) / 2;
  out[3] = g[2];
}

/// \f$A^\top m\f$: 4 products → 2 outputs.
template <class T>
void output_1d(const T m[4], T out[2]) {
  out[0] = m[0] + m[1] + m[2];
  out[1] = m[1] - m[2] - m[3];
}

/// \f$A e\f$: 2 output gradients → 4 (the weight gradient's transform of ȳ).
template <class T>
void output_gradient_1d(const T e[2], T out[4]) {
  out[0] = e[0];
  out[1] = e[0] + e[1];
  out[2] = e[0] - e[1];
  out[3] = -e[1];
}

/// \f$G^\top s\f$: 4 sums → 3 filter taps (the weight gradient's last transform).
template <class T>
void filter_gradient_1d(const T s[4], T out[3]) {
  out[0] = s[0] + (s[1] + s[2]) / 2;
  out[1] = (s[1] - s[2]) / 2;
  out[2] = (s[1] + s[2]) / 2 + s[3];
}

/// \f$U = G g G^\top\f$ for every (o, c), stored as 16 matrices U[k] (O × C), k = 4ξ + ν.
template <class T>
std::vector<T> transform_filters(const T* w, std::int64_t O, std::int64_t C) {
  std::vector<T> u(static_cast<std::size_t>(16 * O * C));
  for (std::int64_t oc = 0; oc < O * C; ++oc) {
    const T* g = w + oc * 9;  // 3×3, row-major
    T rows[3][4], tile[4][4];
    for (int i = 0; i < 3; ++i) filter_1d(g + 3 * i, rows[i]);  // G applied along each row: g Gᵀ
    for (int j = 0; j < 4; ++j) {
      const T column[3] = {rows[0][j], rows[1][j], rows[2][j]};
      T out[4];
      filter_1d(column, out);  // then G along each column: G (g Gᵀ)
      for (int i = 0; i < 4; ++i) tile[i][j] = out[i];
    }
    for (int k = 0; k < 16; ++k) u[static_cast<std::size_t>(k * O * C + oc)] = tile[k / 4][k % 4];
  }
  return u;
}

/// The sizes of one call.
struct Tiling {
  std::int64_t C, H, W, O, pad;
  std::int64_t OH, OW;        // output size
  std::int64_t down, across;  // tiles down and across one image: ⌈OH/2⌉, ⌈OW/2⌉
  std::int64_t per_image() const { return down * across; }
};

/// \f$V = B^\top d B\f$ for the tiles of images [0, b) of `x` (C, H, W each), into 16
/// matrices V[k] (C × P), P = b · tiles per image; tile p = (n, ty, tx) reads the input
/// rows 2ty − pad .. 2ty − pad + 3 (zeros outside the image), likewise the columns.
template <class T>
void transform_inputs(const T* x, std::int64_t b, const Tiling& s, T* v) {
  const std::int64_t P = b * s.per_image();
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t n = 0; n < b; ++n) {
      const T* image = x + (n * s.C + c) * s.H * s.W;
      for (std::int64_t ty = 0; ty < s.down; ++ty) {
        for (std::int64_t tx = 0; tx < s.across; ++tx) {
          T d[4][4], rows[4][4];
          for (int i = 0; i < 4; ++i) {
            const std::int64_t ih = 2 * ty - s.pad + i;
            for (int j = 0; j < 4; ++j) {
              const std::int64_t iw = 2 * tx - s.pad + j;
              d[i][j] = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? image[ih * s.W + iw] : T(0);
            }
          }
          for (int i = 0; i < 4; ++i) input_1d(d[i], rows[i]);  // d B, row by row
          const std::int64_t p = (n * s.down + ty) * s.across + tx;
          for (int j = 0; j < 4; ++j) {
            const T column[4] = {rows[0][j], rows[1][j], rows[2][j], rows[3][j]};
            T out[4];
            input_1d(column, out);  // Bᵀ (d B), column by column
            for (int i = 0; i < 4; ++i) v[((4 * i + j) * s.C + c) * P + p] = out[i];
          }
        }
      }
    }
  }
}

/// \f$Y = A^\top M A\f$ for every (o, tile) of images [0, b), plus the bias, into y
/// (O, OH, OW each); a last row or column of tiles past an odd OH or OW is dropped.
template <class T>
void transform_outputs(const T* m, const T* bias, std::int64_t b, const Tiling& s, T* y) {
  const std::int64_t P = b * s.per_image();
  for (std::int64_t n = 0; n < b; ++n) {
    for (std::int64_t o = 0; o < s.O; ++o) {
      T* out = y + (n * s.O + o) * s.OH * s.OW;
      const T b_o = bias ? bias[o] : T(0);
      for (std::int64_t ty = 0; ty < s.down; ++ty) {
        for (std::int64_t tx = 0; tx < s.across; ++tx) {
          const std::int64_t p = (n * s.down + ty) * s.across + tx;
          T rows[4][2], tile[2][2];
          for (int i = 0; i < 4; ++i) {
            T row[4];
            for (int j = 0; j < 4; ++j) row[j] = m[((4 * i + j) * s.O + o) * P + p];
            output_1d(row, rows[i]);  // M A, row by row
          }
          for (int j = 0; j < 2; ++j) {
            const T column[4] = {rows[0][j], rows[1][j], rows[2][j], rows[3][j]};
            T two[2];
            output_1d(column, two);  // Aᵀ (M A)
            tile[0][j] = two[0];
            tile[1][j] = two[1];
          }
          for (int i = 0; i < 2 && 2 * ty + i < s.OH; ++i)
            for (int j = 0; j < 2 && 2 * tx + j < s.OW; ++j)
              out[(2 * ty + i) * s.OW + 2 * tx + j] = tile[i][j] + b_o;
        }
      }
    }
  }
}

/// \f$\tilde Y = A\,\bar y\,A^\top\f$ for the 2×2 output-gradient tiles of images [0, b) of
/// `gy` (O, OH, OW each), into 16 matrices Ỹ[k] (O × P); entries past an odd OH or OW
/// count as zeros.
template <class T>
void transform_output_gradients(const T* gy, std::int64_t b, const Tiling& s, T* out) {
  const std::int64_t P = b * s.per_image();
  for (std::int64_t n = 0; n < b; ++n) {
    for (std::int64_t o = 0; o < s.O; ++o) {
      const T* grad = gy + (n * s.O + o) * s.OH * s.OW;
      for (std::int64_t ty = 0; ty < s.down; ++ty) {
        for (std::int64_t tx = 0; tx < s.across; ++tx) {
          T e[2][2], rows[2][4];
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j) {
              const std::int64_t oh = 2 * ty + i, ow = 2 * tx + j;
              e[i][j] = oh < s.OH && ow < s.OW ? grad[oh * s.OW + ow] : T(0);
            }
          for (int i = 0; i < 2; ++i) output_gradient_1d(e[i], rows[i]);  // ȳ Aᵀ, row by row
          const std::int64_t p = (n * s.down + ty) * s.across + tx;
          for (int j = 0; j < 4; ++j) {
            const T column[2] = {rows[0][j], rows[1][j]};
            T four[4];
            output_gradient_1d(column, four);  // A (ȳ Aᵀ)
            for (int i = 0; i < 4; ++i) out[((4 * i + j) * s.O + o) * P + p] = four[i];
          }
        }
      }
    }
  }
}

/// The sizes of a call from its arguments.
Tiling make_tiling(std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t O, std::int64_t padding) {
  Tiling s{.C = C, .H = H, .W = W, .O = O, .pad = padding, .OH = H + 2 * padding - 2, .OW = W + 2 * padding - 2};
  s.down = (s.OH + 1) / 2;
  s.across = (s.OW + 1) / 2;
  return s;
}

}  // namespace

bool winograd_applies(std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t ph,
                      std::int64_t pw, std::int64_t dh, std::int64_t dw, std::int64_t groups) {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && groups == 1 && ph == pw && ph <= 2;
}

template <class T>
void winograd_conv3x3(const T* x, const T* w, const T* bias, T* y, std::int64_t N, std::int64_t C,
                      std::int64_t H, std::int64_t W, std::int64_t O, std::int64_t padding) {
  const Tiling s = make_tiling(C, H, W, O, padding);
  if (N == 0 || s.OH <= 0 || s.OW <= 0) return;
  const std::vector<T> u = transform_filters(w, O, C);
  const std::int64_t chunk = std::max<std::int64_t>(1, kTilesPerGemm / s.per_image());
  // Whole images per thread, BLAS single-threaded inside (one image alone runs
  // serially with BLAS using every thread).
  parallel_for(0, N, 1, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t most = std::min(chunk, end - begin);
    std::vector<T> v(static_cast<std::size_t>(16 * C * most * s.per_image()));
    std::vector<T> m(static_cast<std::size_t>(16 * O * most * s.per_image()));
    for (std::int64_t n0 = begin; n0 < end; n0 += most) {
      const std::int64_t b = std::min(most, end - n0), P = b * s.per_image();
      transform_inputs(x + n0 * C * H * W, b, s, v.data());
      for (std::int64_t k = 0; k < 16; ++k)  // M[k] (O × P) = U[k] (O × C) @ V[k] (C × P)
        gemm<T>(false, false, O, P, C, T(1), u.data() + k * O * C, C, v.data() + k * C * P, P, T(0),
                m.data() + k * O * P, P);
      transform_outputs(m.data(), bias, b, s, y + n0 * O * s.OH * s.OW);
    }
  });
}

template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* gy, T* gw, std::int64_t N, std::int64_t C, std::int64_t H,
                                  std::int64_t W, std::int64_t O, std::int64_t padding) {
  const Tiling s = make_tiling(C, H, W, O, padding);
  std::fill(gw, gw + O * C * 9, T(0));
  if (N == 0 || s.OH <= 0 || s.OW <= 0) return;
  const std::int64_t chunk = std::max<std::int64_t>(1, kTilesPerGemm / s.per_image());
  // Each thread sums its images' 16 (O × C) matrices in its own buffer; the buffers are
  // added in image order afterwards, so a thread count always gives the same sums.
  std::mutex partials_mutex;
  std::map<std::int64_t, std::vector<T>> partials;
  parallel_for(0, N, 1, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t most = std::min(chunk, end - begin);
    std::vector<T> v(static_cast<std::size_t>(16 * C * most * s.per_image()));
    std::vector<T> e(static_cast<std::size_t>(16 * O * most * s.per_image()));
    std::vector<T> sums(static_cast<std::size_t>(16 * O * C), T(0));
    for (std::int64_t n0 = begin; n0 < end; n0 += most) {
      const std::int64_t b = std::min(most, end - n0), P = b * s.per_image();
      transform_inputs(x + n0 * C * H * W, b, s, v.data());
      transform_output_gradients(gy + n0 * O * s.OH * s.OW, b, s, e.data());
      for (std::int64_t k = 0; k < 16; ++k)  // S[k] (O × C) += Ỹ[k] (O × P) @ V[k]ᵀ (P × C)
        gemm<T>(false, true, O, C, P, T(1), e.data() + k * O * P, P, v.data() + k * C * P, P, T(1),
                sums.data() + k * O * C, C);
    }
    std::lock_guard lock(partials_mutex);
    partials.emplace(begin, std::move(sums));
  });
  std::vector<T> total(static_cast<std::size_t>(16 * O * C), T(0));
  for (const auto& [begin, part] : partials)  // in image order
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += part[i];
  // w̄[o, c] = Gᵀ S[o, c] G: each 4×4 tile of sums back to 3×3 taps.
  for (std::int64_t oc = 0; oc < O * C; ++oc) {
    T rows[4][3];
    for (int i = 0; i < 4; ++i) {
      T row[4];
      for (int j = 0; j < 4; ++j) row[j] = total[static_cast<std::size_t>((4 * i + j) * O * C + oc)];
      filter_gradient_1d(row, rows[i]);  // S G, row by row
    }
    for (int j = 0; j < 3; ++j) {
      const T column[4] = {rows[0][j], rows[1][j], rows[2][j], rows[3][j]};
      T three[3];
      filter_gradient_1d(column, three);  // Gᵀ (S G)
      for (int i = 0; i < 3; ++i) gw[oc * 9 + 3 * i + j] = three[i];
    }
  }
}

template void winograd_conv3x3<float>(const float*, const float*, const float*, float*, std::int64_t, std::int64_t,
                                      std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void winograd_conv3x3<double>(const double*, const double*, const double*, double*, std::int64_t,
                                       std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void winograd_conv3x3_weight_grad<float>(const float*, const float*, float*, std::int64_t, std::int64_t,
                                                  std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void winograd_conv3x3_weight_grad<double>(const double*, const double*, double*, std::int64_t, std::int64_t,
                                                   std::int64_t, std::int64_t, std::int64_t, std::int64_t);

}  // namespace zoo
