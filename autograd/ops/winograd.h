#pragma once
/// @file winograd.h
/// @brief 3×3 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray,
/// 2016): the kernel `conv2d` uses for the 3×3 convolutions of a U-Net or a ResNet.
///
/// **The idea, in one dimension.** Two outputs of a 3-tap filter g over four inputs d,
/// \f$y_0 = d_0g_0 + d_1g_1 + d_2g_2\f$ and \f$y_1 = d_1g_0 + d_2g_1 + d_3g_2\f$, take six
/// multiplications done directly, but four this way:
/// \f[ m_1 = (d_0 - d_2)\,g_0,\quad m_2 = (d_1 + d_2)\,\tfrac{g_0 + g_1 + g_2}{2},\quad
///     m_3 = (d_2 - d_1)\,\tfrac{g_0 - g_1 + g_2}{2},\quad m_4 = (d_1 - d_3)\,g_2, \f]
/// \f[ y_0 = m_1 + m_2 + m_3,\qquad y_1 = m_2 - m_3 - m_4 \f]
/// (expand them to check). In matrices, \f$y = A^\top\big[(G g) \odot (B^\top d)\big]\f$ with
/// \f[ B^\top = \begin{pmatrix} 1 & 0 & -1 & 0\\ 0 & 1 & 1 & 0\\ 0 & -1 & 1 & 0\\ 0 & 1 & 0 & -1 \end{pmatrix},\quad
///     G = \begin{pmatrix} 1 & 0 & 0\\ \tfrac12 & \tfrac12 & \tfrac12\\ \tfrac12 & -\tfrac12 & \tfrac12\\ 0 & 0 & 1 \end{pmatrix},\quad
///     A^\top = \begin{pmatrix} 1 & 1 & 1 & 0\\ 0 & 1 & -1 & -1 \end{pmatrix}. \f]
/// **In two dimensions** the same transforms apply to rows and to columns: a 2×2 tile of
/// outputs comes from a 4×4 tile d of the input as
/// \f$Y = A^\top\big[(G g G^\top) \odot (B^\top d B)\big]A\f$: 16 multiplications instead of 36.
///
/// **Over channels** the products add up, \f$\sum_c U_c \odot V_c\f$ with
/// \f$U_{o,c} = G g_{o,c} G^\top\f$ and \f$V_{c,p} = B^\top d_{c,p} B\f$ for tile p, which is, for each
/// of the 16 positions (ξ, ν) of the 4×4 tile, a matrix product
/// \f[ M^{(\xi\nu)} = U^{(\xi\nu)}\,V^{(\xi\nu)}:\quad (O \times C)\,(C \times P), \f]
/// with P the tiles. So a convolution becomes: transform the weights (once), transform
/// the input tiles, 16 GEMMs, transform the results back. The GEMMs do 16/36 = 1/2.25 of
/// im2col's multiplications; the transforms are only additions.
///
/// **Gradients.** The input's gradient of a stride-1 3×3 convolution with padding p is
/// itself a 3×3 convolution, of ȳ with the weights flipped in space and transposed in
/// channels, \f$w'_{c,o,i,j} = w_{o,c,2-i,2-j}\f$, with padding 2 − p: `conv2d` runs it
/// through this same kernel. For the weights' gradient, write the tile's contribution to
/// \f$\sum \bar y \odot y\f$ as a sum over the 16 positions,
/// \f$\sum_{\xi\nu} (A\bar y A^\top)_{\xi\nu}\,(G g G^\top)_{\xi\nu}\,(B^\top d B)_{\xi\nu}\f$, and
/// differentiate in g:
/// \f[ \bar g_{o,c} = G^\top \Big[\sum_p (A\,\bar y_{o,p}\,A^\top) \odot (B^\top d_{c,p} B)\Big] G, \f]
/// again 16 GEMMs, \f$(O \times P)(P \times C)\f$, on the same transformed input tiles.
///
/// Winograd's transforms round differently from the direct sum (the ½ in G and the
/// additions in B), within a few float32 ulps of the result's scale for 3×3 filters;
/// the tests compare against `conv2d_reference`.

#include <cstdint>

namespace zoo {

/// True if `conv2d` computes this convolution with `winograd_conv3x3`: a 3×3 kernel,
/// stride 1, dilation 1, one group, and the same padding of at most 2 on every side.
bool winograd_applies(std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t ph,
                      std::int64_t pw, std::int64_t dh, std::int64_t dw, std::int64_t groups);

/// y (N, O, H + 2p − 2, W + 2p − 2) = the 3×3 convolution of x (N, C, H, W) with
/// w (O, C, 3, 3), padding p ≤ 2, plus `bias` (O) if not null. All contiguous.
template <class T>
void winograd_conv3x3(const T* x, const T* w, const T* bias, T* y, std::int64_t N, std::int64_t C,
                      std::int64_t H, std::int64_t W, std::int64_t O, std::int64_t padding);

/// gw (O, C, 3, 3) = the gradient of that convolution's weights, given x (N, C, H, W)
/// and the output's gradient gy (N, O, H + 2p − 2, W + 2p − 2). Deterministic for a
/// given thread count (per-thread sums added in a fixed order).
template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* gy, T* gw, std::int64_t N, std::int64_t C, std::int64_t H,
                                  std::int64_t W, std::int64_t O, std::int64_t padding);

}  // namespace zoo
