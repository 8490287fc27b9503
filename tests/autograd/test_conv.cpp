// Convolution: im2col/col2im by hand and as an adjoint pair (in both column layouts),
// conv2d against a direct seven-loop convolution, conv_transpose2d as conv2d's adjoint,
// gradients (first and second order), thread-count independence, non-contiguous inputs,
// errors and an empty batch.
#include "autograd/ops/winograd.h"
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

namespace {

/// Σ_i a_i b_i in double.
double dot(const Tensor& a, const Tensor& b) { return sum(a.detach() * b.detach()).item(); }

/// The reference: y[n, o, oh, ow] = b[o] + Σ_c Σ_i Σ_j w[o, c, i, j] · x[n, g·C/G + c,
/// oh·s − p + i·d, ow·s − p + j·d], seven plain loops in double.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Pair s, Pair p, Pair d,
                    std::int64_t groups) {
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t O = w.size(0), Cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const std::int64_t OH = (H + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1;
  const std::int64_t OW = (W + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
  std::vector<double> y(static_cast<std::size_t>(N * O * OH * OW));
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double acc = bv.empty() ? 0.0 : bv[o];
          const std::int64_t group = o / (O / groups);
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t ih = oh * s[0] - p[0] + i * d[0];
                const std::int64_t iw = ow * s[1] - p[1] + j * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const std::int64_t ci = group * Cg + c;
                acc += wv[((o * Cg + c) * kh + i) * kw + j] * xv[((n * C + ci) * H + ih) * W + iw];
              }
          y[((n * O + o) * OH + oh) * OW + ow] = acc;
        }
  return from_vector(y, {N, O, OH, OW});
}

/// conv ops are linear in each argument, so central differences are exact up to
/// rounding: a much tighter tolerance than the default catches a gradient off by 0.1%.
const GradcheckOptions kLinear{.eps = 1e-6, .atol = 1e-7, .rtol = 1e-6};

struct ConvCase {
  std::int64_t N, C, H, W, O, kh, kw;
  Pair stride, padding, dilation;
  std::int64_t groups;
  bool bias;
};

}  // namespace

TEST_CASE("im2col unfolds windows into columns", "[conv]") {
  const Tensor x = arange(1.0, 10.0, 1.0, kFloat64).reshape({1, 1, 3, 3});
  // 1 2 3 / 4 5 6 / 7 8 9, 2x2 windows at (0,0) (0,1) (1,0) (1,1)
  test::require_close(im2col(x, {2, 2}),
                      tensor({{1, 2, 4, 5}, {2, 3, 5, 6}, {4, 5, 7, 8}, {5, 6, 8, 9}}, kFloat64)
                          .reshape({1, 4, 4}));
  // Padding 1 with pad value -1, stride 2: the window corners are at -1 and 1.
  const Tensor padded = im2col(x, {2, 2}, {2, 2}, {1, 1}, {1, 1}, -1.0);
  test::require_close(
      padded, tensor({{-1, -1, -1, 5}, {-1, -1, 4, 6}, {-1, 2, -1, 8}, {1, 3, 7, 9}}, kFloat64)
                  .reshape({1, 4, 4}));
  // Dilation 2: one window that reads the four corners.
  test::require_close(im2col(x, {2, 2}, {1, 1}, {0, 0}, {2, 2}),
                      tensor({1, 3, 7, 9}, kFloat64).reshape({1, 4, 1}));
  // Channels stack their rows: channel c owns rows c·kh·kw .. (c+1)·kh·kw − 1, in (i, j)
  // order; one 2x2 window over two 2x2 channels reads them back in memory order.
  const Tensor two = arange(0.0, 8.0, 1.0, kFloat64).reshape({1, 2, 2, 2});
  test::require_close(im2col(two, {2, 2}), arange(0.0, 8.0, 1.0, kFloat64).reshape({1, 8, 1}));
}

TEST_CASE("col2im adds overlapping windows back up", "[conv]") {
  // Every pixel receives one contribution per window that covers it.
  const Tensor counts = col2im(ones({1, 4, 4}, kFloat64), {3, 3}, {2, 2});
  test::require_close(counts,
                      tensor({{1, 2, 1}, {2, 4, 2}, {1, 2, 1}}, kFloat64).reshape({1, 1, 3, 3}));
  // Padded entries are dropped; stride 2 windows over 3x3 with padding 1 cover each pixel once.
  const Tensor once = col2im(ones({1, 4, 4}, kFloat64), {3, 3}, {2, 2}, {2, 2}, {1, 1});
  test::require_close(once, ones({1, 1, 3, 3}, kFloat64));
}

TEST_CASE("im2col and col2im are adjoint", "[conv]") {
  // <im2col(x), y> = <x, col2im(y)> for any x, y: col2im is im2col's transpose.
  const Pair k{3, 2}, s{2, 1}, p{1, 2}, d{2, 1};
  const Tensor x = test::randn64({2, 3, 6, 7}, 1).detach();
  const Tensor cols = im2col(x, k, s, p, d);
  const Tensor y = test::randn64(cols.shape(), 2).detach();
  REQUIRE(cols.shape() == Shape{2, 3 * 3 * 2, 2 * 10});
  REQUIRE(dot(cols, y) == Approx(dot(x, col2im(y, {6, 7}, k, s, p, d))).epsilon(1e-12));
}

TEST_CASE("col2im is deterministic and the same for any thread count", "[conv]") {
  const Tensor cols = test::randn64({2, 8 * 9, 30 * 30}, 3).detach().to(kFloat32);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor one = col2im(cols, {32, 32}, {3, 3});
  set_num_threads(2);
  const Tensor two = col2im(cols, {32, 32}, {3, 3});
  set_num_threads(saved);
  REQUIRE(one.to_vector<float>() == two.to_vector<float>());
  // And it equals the float64 result up to float32 rounding.
  REQUIRE(allclose(one.to(kFloat64), col2im(cols.to(kFloat64), {32, 32}, {3, 3}), 1e-5, 1e-5));
}

TEST_CASE("im2col's batched layout holds the same columns, batch inside", "[conv]") {
  // kBatched is (C·kh·kw, N, L): the per-image (N, C·kh·kw, L) with dims 0 and 1 swapped.
  const Pair k{3, 2}, s{2, 1}, p{1, 2}, d{2, 1};
  const Tensor x = test::randn64({3, 4, 6, 7}, 4).detach();
  const Tensor per_image = im2col(x, k, s, p, d, -0.5);
  const Tensor batched = im2col(x, k, s, p, d, -0.5, ColumnLayout::kBatched);
  REQUIRE(batched.shape() == Shape{4 * 3 * 2, 3, 2 * 10});
  REQUIRE(batched.to_vector<double>() == per_image.permute({1, 0, 2}).contiguous().to_vector<double>());
  // col2im reads either layout back into the same image.
  const Tensor y = test::randn64(batched.shape(), 5).detach();
  REQUIRE(col2im(y, {6, 7}, k, s, p, d, ColumnLayout::kBatched).to_vector<double>() ==
          col2im(y.permute({1, 0, 2}), {6, 7}, k, s, p, d).to_vector<double>());
  // And the pair is adjoint in this layout too.
  REQUIRE(dot(im2col(x, k, s, p, d, 0.0, ColumnLayout::kBatched), y) ==
          Approx(dot(x, col2im(y, {6, 7}, k, s, p, d, ColumnLayout::kBatched))).epsilon(1e-12));
}

TEST_CASE("batched im2col and col2im: gradients, and the same for any thread count", "[conv]") {
  const Pair k{2, 2}, s{2, 1}, p{1, 1}, d{1, 2};
  constexpr auto kB = ColumnLayout::kBatched;
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return im2col(in[0], k, s, p, d, 0.5, kB); },
      {test::randn64({2, 2, 4, 4}, 6)}, kLinear);
  const Tensor cols = im2col(zeros({2, 2, 4, 4}, kFloat64), k, s, p, d, 0.0, kB);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return col2im(in[0], {4, 4}, k, s, p, d, kB); },
      {test::randn64(cols.shape(), 7)}, kLinear);
  test::check_second_gradients(
      [&](const std::vector<Tensor>& in) { return square(im2col(in[0], k, s, p, d, 0.0, kB)); },
      {test::randn64({2, 1, 3, 4}, 8)});
  // Many planes, so that both kernels are split across threads.
  const Tensor big = test::randn64({8 * 9, 16, 30 * 30}, 9).detach().to(kFloat32);
  const Tensor img = test::randn64({16, 8, 32, 32}, 10).detach().to(kFloat32);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor fold1 = col2im(big, {32, 32}, {3, 3}, {1, 1}, {0, 0}, {1, 1}, kB);
  const Tensor unfold1 = im2col(img, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 0.0, kB);
  set_num_threads(2);
  const Tensor fold2 = col2im(big, {32, 32}, {3, 3}, {1, 1}, {0, 0}, {1, 1}, kB);
  const Tensor unfold2 = im2col(img, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 0.0, kB);
  set_num_threads(saved);
  REQUIRE(fold1.to_vector<float>() == fold2.to_vector<float>());
  REQUIRE(unfold1.to_vector<float>() == unfold2.to_vector<float>());
  REQUIRE(allclose(fold1.to(kFloat64),
                   col2im(big.to(kFloat64), {32, 32}, {3, 3}, {1, 1}, {0, 0}, {1, 1}, kB), 1e-5,
                   1e-5));
}

TEST_CASE("conv2d matches a direct convolution", "[conv]") {
  const std::vector<ConvCase> cases = {
      {2, 3, 6, 5, 4, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, true},
      {1, 2, 7, 8, 3, 2, 3, {2, 1}, {1, 2}, {1, 2}, 1, true},
      {2, 4, 7, 7, 6, 2, 3, {2, 2}, {1, 1}, {2, 2}, 2, false},
      {1, 4, 5, 5, 4, 3, 3, {1, 1}, {1, 1}, {1, 1}, 4, true},  // depthwise
      {1, 6, 4, 4, 3, 1, 1, {1, 1}, {0, 0}, {1, 1}, 3, true},  // 1x1, one output per group
      {5, 4, 6, 5, 6, 3, 3, {1, 2}, {1, 1}, {1, 1}, 2, true},  // a larger batch
  };
  std::uint64_t seed = 10;
  for (const auto& c : cases) {
    INFO("case N=" << c.N << " C=" << c.C << " O=" << c.O << " groups=" << c.groups);
    const Tensor x = test::randn64({c.N, c.C, c.H, c.W}, seed++).detach();
    const Tensor w = test::randn64({c.O, c.C / c.groups, c.kh, c.kw}, seed++).detach();
    const Tensor b = c.bias ? test::randn64({c.O}, seed++).detach() : Tensor();
    const Tensor y = conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
    test::require_close(y, naive_conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups), 1e-10,
                        1e-10);
    test::require_close(conv2d_reference(x, w, b, c.stride, c.padding, c.dilation, c.groups), y,
                        1e-10, 1e-10);
    // float32 gives the same numbers up to rounding.
    const Tensor y32 = conv2d(x.to(kFloat32), w.to(kFloat32), b.defined() ? b.to(kFloat32) : b,
                              c.stride, c.padding, c.dilation, c.groups);
    REQUIRE(y32.dtype() == kFloat32);
    REQUIRE(allclose(y32.to(kFloat64), y, 1e-4, 1e-4));
  }
}

TEST_CASE("conv2d of ones counts the window", "[conv]") {
  // Every 2x2 window of ones sums to 4, plus the bias.
  const Tensor y =
      conv2d(ones({1, 1, 3, 3}, kFloat64), ones({1, 1, 2, 2}, kFloat64), full({1}, 0.5, kFloat64));
  test::require_close(y, full({1, 1, 2, 2}, 4.5, kFloat64));
  // With padding 1 the corners see a single pixel.
  const Tensor p =
      conv2d(ones({1, 1, 2, 2}, kFloat64), ones({1, 1, 2, 2}, kFloat64), Tensor(), {1, 1}, {1, 1});
  test::require_close(p, tensor({{1, 2, 1}, {2, 4, 2}, {1, 2, 1}}, kFloat64).reshape({1, 1, 3, 3}));
}

TEST_CASE("conv_transpose2d spreads each pixel over a window", "[conv]") {
  const Tensor x = tensor({{1, 2}, {3, 4}}, kFloat64).reshape({1, 1, 2, 2});
  const Tensor w = ones({1, 1, 2, 2}, kFloat64);
  // Stride 1: overlapping 2x2 copies add up.
  test::require_close(conv_transpose2d(x, w),
                      tensor({{1, 3, 2}, {4, 10, 6}, {3, 7, 4}}, kFloat64).reshape({1, 1, 3, 3}));
  // Stride 2: each pixel becomes a 2x2 block (nearest upsampling), plus the bias.
  test::require_close(conv_transpose2d(x, w, full({1}, 0.5, kFloat64), {2, 2}),
                      tensor({{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}}, kFloat64)
                              .reshape({1, 1, 4, 4}) +
                          0.5);
  // Output size (H−1)·s − 2p + d·(k−1) + output_padding + 1.
  const Tensor y =
      conv_transpose2d(test::randn64({2, 4, 5, 6}).detach(), test::randn64({4, 3, 3, 2}).detach(),
                       Tensor(), {2, 3}, {1, 0}, {1, 2}, 1, {2, 1});
  REQUIRE(y.shape() == Shape{2, 3, 4 * 2 - 2 + 2 * 2 + 1 + 1, 5 * 3 + 1 + 2 + 1});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d", "[conv]") {
  // <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> when output_padding restores x's size.
  const std::vector<ConvCase> cases = {
      {2, 3, 6, 5, 4, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, false},
      {1, 2, 7, 8, 3, 2, 3, {2, 3}, {1, 2}, {1, 2}, 1, false},
      {2, 4, 8, 7, 6, 3, 2, {2, 2}, {1, 1}, {2, 1}, 2, false},
  };
  std::uint64_t seed = 30;
  for (const auto& c : cases) {
    INFO("case N=" << c.N << " C=" << c.C << " O=" << c.O << " groups=" << c.groups);
    const Tensor x = test::randn64({c.N, c.C, c.H, c.W}, seed++).detach();
    const Tensor w = test::randn64({c.O, c.C / c.groups, c.kh, c.kw}, seed++).detach();
    const Tensor y_shape = conv2d(x, w, Tensor(), c.stride, c.padding, c.dilation, c.groups);
    const Tensor y = test::randn64(y_shape.shape(), seed++).detach();
    Pair output_padding{};
    for (int a = 0; a < 2; ++a) {
      const std::int64_t n = a == 0 ? c.H : c.W, k = a == 0 ? c.kh : c.kw;
      output_padding[a] = (n + 2 * c.padding[a] - c.dilation[a] * (k - 1) - 1) % c.stride[a];
    }
    const Tensor xt =
        conv_transpose2d(y, w, Tensor(), c.stride, c.padding, output_padding, c.groups, c.dilation);
    REQUIRE(xt.shape() == x.shape());
    REQUIRE(dot(y_shape, y) == Approx(dot(x, xt)).epsilon(1e-12));
  }
}

TEST_CASE("im2col and col2im gradients match finite differences", "[conv]") {
  const Pair k{2, 2}, s{2, 1}, p{1, 1}, d{1, 2};
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return im2col(in[0], k, s, p, d, 0.5); },
      {test::randn64({1, 2, 4, 4})}, kLinear);
  const Tensor cols = im2col(zeros({1, 2, 4, 4}, kFloat64), k, s, p, d);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return col2im(in[0], {4, 4}, k, s, p, d);
      },
      {test::randn64(cols.shape())}, kLinear);
  // Each is the other's backward, so second derivatives flow too (both are linear: 0).
  test::check_second_gradients(
      [&](const std::vector<Tensor>& in) { return square(im2col(in[0], k, s, p, d)); },
      {test::randn64({1, 1, 3, 4})});
}

TEST_CASE("conv2d gradients match finite differences", "[conv]") {
  // Groups, stride, padding and dilation at once; x, weight and bias all checked.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], {2, 1}, {1, 1}, {1, 2}, 2);
      },
      {test::randn64({2, 4, 5, 5}, 1), test::randn64({4, 2, 3, 3}, 2), test::randn64({4}, 3)},
      kLinear);
  // A non-contiguous input (H and W swapped by a transpose) takes the same path.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0].transpose(2, 3), in[1].permute({0, 1, 3, 2}), Tensor(), {1, 2}, {1, 0});
      },
      {test::randn64({1, 2, 5, 4}, 4), test::randn64({3, 2, 3, 2}, 5)}, kLinear);
  // A 3×3 stride-1 kernel takes the Winograd path (winograd.h), forward and backward;
  // odd sizes leave a half tile at the edge.
  REQUIRE(winograd_applies(3, 3, 1, 1, 1, 1, 1, 1, 1));
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], {1, 1}, {1, 1}); },
      {test::randn64({2, 3, 5, 4}, 9), test::randn64({2, 3, 3, 3}, 10), test::randn64({2}, 11)}, kLinear);
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), {1, 1}, {2, 2}); },
      {test::randn64({1, 2, 3, 3}, 12), test::randn64({3, 2, 3, 3}, 13)}, kLinear);
}

TEST_CASE("conv2d's image-by-image backward equals its composed reference", "[conv]") {
  // Gradients of the fused kernels against conv2d_reference's (im2col + matmul, which
  // the engine differentiates), over a batch larger than the thread count, with groups,
  // and at 1 and 2 threads: per-thread w̄ buffers must add up to the same sum.
  const Tensor x0 = test::randn64({5, 4, 6, 7}, 31).detach();
  const Tensor w0 = test::randn64({6, 2, 3, 2}, 32).detach();
  const Tensor b0 = test::randn64({6}, 33).detach();
  const Tensor gy = test::randn64({5, 6, 3, 7}, 34).detach();
  auto grads = [&](bool reference) {
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
    Tensor b = b0.clone().requires_grad_();
    const Tensor y = reference ? conv2d_reference(x, w, b, {2, 1}, {1, 1}, {1, 2}, 2)
                               : conv2d(x, w, b, {2, 1}, {1, 1}, {1, 2}, 2);
    y.backward(gy);
    return std::vector<Tensor>{x.grad(), w.grad(), b.grad()};
  };
  const auto expected = grads(true);
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const auto got = grads(false);
    for (std::size_t i = 0; i < 3; ++i) test::require_close(got[i], expected[i], 1e-12, 1e-12);
  }
  set_num_threads(saved);
  // Only the weight wants a gradient (the first layer of a network): x̄ is skipped.
  Tensor w = w0.clone().requires_grad_();
  conv2d(x0, w, Tensor(), {2, 1}, {1, 1}, {1, 2}, 2).backward(gy);
  test::require_close(w.grad(), expected[1], 1e-12, 1e-12);
}

TEST_CASE("3x3 convolutions by Winograd's F(2x2, 3x3) equal the direct sum, with gradients", "[conv][winograd]") {
  // conv2d takes the Winograd kernel for 3×3, stride 1, padding ≤ 2: odd and even sizes
  // (a last half tile), images smaller than a tile, every padding, a batch spread over
  // threads and a batch of many tiles per GEMM.
  struct Case {
    std::int64_t N, C, H, W, O, pad;
  };
  for (const Case k : {Case{1, 1, 3, 3, 1, 0}, Case{2, 3, 5, 4, 2, 1}, Case{3, 2, 1, 1, 3, 1}, Case{1, 2, 2, 3, 2, 2},
                       Case{4, 5, 7, 9, 6, 1}, Case{2, 3, 6, 6, 4, 0}, Case{40, 2, 6, 5, 3, 1}}) {
    INFO("N " << k.N << " C " << k.C << " " << k.H << "x" << k.W << " O " << k.O << " padding " << k.pad);
    REQUIRE(winograd_applies(3, 3, 1, 1, k.pad, k.pad, 1, 1, 1));
    const Tensor x0 = test::randn64({k.N, k.C, k.H, k.W}, 41).detach();
    const Tensor w0 = test::randn64({k.O, k.C, 3, 3}, 42).detach();
    const Tensor b0 = test::randn64({k.O}, 43).detach();
    const Pair pad{k.pad, k.pad};
    test::require_close(conv2d(x0, w0, b0, {1, 1}, pad), naive_conv2d(x0, w0, b0, {1, 1}, pad, {1, 1}, 1), 1e-12,
                        1e-12);
    const Tensor gy = test::randn64({k.N, k.O, k.H + 2 * k.pad - 2, k.W + 2 * k.pad - 2}, 44).detach();
    auto grads = [&](bool reference) {
      Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
      (reference ? conv2d_reference(x, w, Tensor(), {1, 1}, pad) : conv2d(x, w, Tensor(), {1, 1}, pad)).backward(gy);
      return std::pair{x.grad(), w.grad()};
    };
    const auto [gx, gw] = grads(true);
    const int saved = num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      const auto [x_grad, w_grad] = grads(false);
      test::require_close(x_grad, gx, 1e-12, 1e-12);
      test::require_close(w_grad, gw, 1e-12, 1e-12);
    }
    set_num_threads(saved);
    // float32: Winograd's transforms round differently from the direct sum, by a few ulps.
    const Tensor y32 = conv2d(x0.to(kFloat32), w0.to(kFloat32), b0.to(kFloat32), {1, 1}, pad);
    test::require_close(y32.to(kFloat64), naive_conv2d(x0, w0, b0, {1, 1}, pad, {1, 1}, 1), 1e-5, 1e-5);
  }
  // What Winograd does not cover goes the im2col way.
  REQUIRE_FALSE(winograd_applies(3, 3, 2, 2, 1, 1, 1, 1, 1));  // stride 2
  REQUIRE_FALSE(winograd_applies(3, 3, 1, 1, 1, 0, 1, 1, 1));  // uneven padding
  REQUIRE_FALSE(winograd_applies(3, 3, 1, 1, 3, 3, 1, 1, 1));  // padding 3
  REQUIRE_FALSE(winograd_applies(5, 5, 1, 1, 2, 2, 1, 1, 1));
  REQUIRE_FALSE(winograd_applies(3, 3, 1, 1, 1, 1, 2, 2, 1));  // dilation
  REQUIRE_FALSE(winograd_applies(3, 3, 1, 1, 1, 1, 1, 1, 2));  // groups
}

TEST_CASE("conv2d second derivatives match finite differences", "[conv]") {
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], {1, 1}, {1, 1});
      },
      {test::randn64({1, 2, 3, 3}, 6), test::randn64({2, 2, 2, 2}, 7), test::randn64({2}, 8)},
      kLinear);
  // The Winograd path: its create_graph backward differentiates conv2d_reference.
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], {1, 1}, {1, 1}); },
      {test::randn64({1, 2, 4, 3}, 14), test::randn64({2, 2, 3, 3}, 15), test::randn64({2}, 16)}, kLinear);
}

TEST_CASE("conv_transpose2d gradients match finite differences", "[conv]") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv_transpose2d(in[0], in[1], in[2], {2, 2}, {1, 1}, {1, 0}, 2, {1, 1});
      },
      {test::randn64({1, 4, 3, 3}, 9), test::randn64({4, 1, 2, 3}, 10), test::randn64({2}, 11)},
      kLinear);
}

TEST_CASE("conv2d and conv_transpose2d gradients over a batch", "[conv]") {
  // Several images and groups: conv_transpose2d puts the images' columns side by side
  // in one GEMM per group, so a mix-up between images or groups would show here.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], {1, 2}, {1, 0}, {1, 1}, 2);
      },
      {test::randn64({3, 4, 4, 5}, 21), test::randn64({6, 2, 2, 3}, 22), test::randn64({6}, 23)},
      kLinear);
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv_transpose2d(in[0], in[1], in[2], {2, 1}, {0, 1}, {1, 0}, 2, {1, 2});
      },
      {test::randn64({3, 4, 3, 2}, 24), test::randn64({4, 2, 2, 2}, 25), test::randn64({4}, 26)},
      kLinear);
  test::check_second_gradients(
      [](const std::vector<Tensor>& in) {
        return conv_transpose2d(in[0], in[1], Tensor(), {2, 2}, {1, 1});
      },
      {test::randn64({2, 2, 2, 2}, 27), test::randn64({2, 3, 2, 2}, 28)}, kLinear);
}

TEST_CASE("conv2d accepts non-contiguous inputs and weights", "[conv]") {
  const Tensor xt = test::randn64({2, 3, 7, 6}, 12).detach().transpose(2, 3);        // (2, 3, 6, 7)
  const Tensor wt = test::randn64({3, 4, 3, 2}, 13).detach().permute({1, 0, 3, 2});  // (4, 3, 2, 3)
  const Tensor bs = test::randn64({8}, 14).detach().slice(0, 0, 8, 2);               // stride 2
  REQUIRE_FALSE(xt.is_contiguous());
  REQUIRE_FALSE(wt.is_contiguous());
  test::require_close(
      conv2d(xt, wt, bs, {2, 1}, {1, 1}),
      naive_conv2d(xt.contiguous(), wt.contiguous(), bs.contiguous(), {2, 1}, {1, 1}, {1, 1}, 1),
      1e-10, 1e-10);
  // conv_transpose2d likewise.
  const Tensor y = test::randn64({2, 4, 3, 3}, 15).detach().transpose(2, 3);
  test::require_close(conv_transpose2d(y, wt, Tensor(), {2, 2}),
                      conv_transpose2d(y.contiguous(), wt.contiguous(), Tensor(), {2, 2}), 1e-12,
                      1e-12);
}

TEST_CASE("conv2d and conv_transpose2d handle an empty batch", "[conv]") {
  const Tensor x = zeros({0, 3, 5, 5}, kFloat64);
  const Tensor w = test::randn64({4, 3, 3, 3}, 16);
  const Tensor b = test::randn64({4}, 17);
  const Tensor y = conv2d(x, w, b, {2, 2}, {1, 1});
  REQUIRE(y.shape() == Shape{0, 4, 3, 3});
  y.sum().backward();
  REQUIRE(w.grad().shape() == w.shape());
  REQUIRE(all(w.grad() == 0.0));
  REQUIRE(all(b.grad() == 0.0));
  const Tensor t = conv_transpose2d(zeros({0, 4, 3, 3}, kFloat64), w.detach(), Tensor(), {2, 2});
  REQUIRE(t.shape() == Shape{0, 3, 7, 7});
  REQUIRE(im2col(x, {3, 3}).shape() == Shape{0, 27, 9});
  REQUIRE(col2im(zeros({0, 27, 9}, kFloat64), {5, 5}, {3, 3}).shape() == Shape{0, 3, 5, 5});
}

TEST_CASE("conv ops reject bad arguments with clear errors", "[conv]") {
  const Tensor x = zeros({1, 4, 5, 5}, kFloat64);
  const Tensor w = zeros({6, 2, 3, 3}, kFloat64);
  REQUIRE_THROWS_WITH(conv2d(zeros({4, 5, 5}, kFloat64), w), Contains("conv2d") && Contains("4-D"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({6, 2, 3}, kFloat64)),
                      Contains("conv2d") && Contains("weight"));
  REQUIRE_THROWS_WITH(conv2d(x, w),
                      Contains("conv2d") && Contains("[6, 2, 3, 3]"));  // 4 != 2 channels
  REQUIRE_NOTHROW(conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 1}, 2));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({5, 2, 3, 3}, kFloat64), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2),
                      Contains("conv2d") && Contains("groups"));
  REQUIRE_THROWS_WITH(conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 1}, 0), Contains("groups"));
  REQUIRE_THROWS_WITH(conv2d(x, w, zeros({4}, kFloat64), {1, 1}, {0, 0}, {1, 1}, 2),
                      Contains("conv2d") && Contains("bias"));
  REQUIRE_THROWS_WITH(conv2d(x.to(kFloat32), w), Contains("conv2d") && Contains("float32"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 4, 6, 3}, kFloat64)),
                      Contains("conv2d") && Contains("larger than the padded input"));
  REQUIRE_NOTHROW(conv2d(x, zeros({1, 4, 6, 3}, kFloat64), Tensor(), {1, 1}, {1, 0}));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 4, 3, 3}, kFloat64), Tensor(), {0, 1}),
                      Contains("conv2d") && Contains("stride"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 4, 3, 3}, kFloat64), Tensor(), {1, 1}, {-1, 0}),
                      Contains("conv2d") && Contains("padding"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 4, 3, 3}, kFloat64), Tensor(), {1, 1}, {0, 0}, {1, 0}),
                      Contains("conv2d") && Contains("dilation"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 4, 3, 3}, kFloat64), Tensor(), {1, 1}, {0, 0}, {3, 3}),
                      Contains("conv2d") && Contains("larger"));

  REQUIRE_THROWS_WITH(im2col(zeros({5, 5}), {2, 2}), Contains("im2col") && Contains("4-D"));
  REQUIRE_THROWS_WITH(im2col(zeros({1, 1, 5, 5}), {0, 2}),
                      Contains("im2col") && Contains("kernel"));
  REQUIRE_THROWS_WITH(im2col(zeros({1, 1, 5, 5}, kInt64), {2, 2}),
                      Contains("im2col") && Contains("int64"));
  REQUIRE_THROWS_WITH(col2im(zeros({1, 8, 15}), {5, 5}, {2, 2}),
                      Contains("col2im") && Contains("16"));
  REQUIRE_THROWS_WITH(col2im(zeros({1, 7, 16}), {5, 5}, {2, 2}),
                      Contains("col2im") && Contains("multiple"));
  REQUIRE_THROWS_WITH(col2im(zeros({8, 16}), {5, 5}, {2, 2}),
                      Contains("col2im") && Contains("3-D"));
  // Batched, the rows are dim 0: (C·kh·kw, N, L).
  REQUIRE_NOTHROW(col2im(zeros({8, 3, 16}), {5, 5}, {2, 2}, {1, 1}, {0, 0}, {1, 1},
                         ColumnLayout::kBatched));
  REQUIRE_THROWS_WITH(col2im(zeros({7, 3, 16}), {5, 5}, {2, 2}, {1, 1}, {0, 0}, {1, 1},
                             ColumnLayout::kBatched),
                      Contains("col2im") && Contains("dim 0") && Contains("multiple"));
  REQUIRE_THROWS_WITH(col2im(zeros({8, 3, 15}), {5, 5}, {2, 2}, {1, 1}, {0, 0}, {1, 1},
                             ColumnLayout::kBatched),
                      Contains("col2im") && Contains("16"));

  const Tensor wt = zeros({4, 3, 3, 3}, kFloat64);
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, Tensor(), {2, 2}, {0, 0}, {2, 0}),
                      Contains("conv_transpose2d") && Contains("output_padding"));
  REQUIRE_THROWS_WITH(conv_transpose2d(zeros({1, 3, 5, 5}, kFloat64), wt),
                      Contains("conv_transpose2d") && Contains("[4, 3, 3, 3]"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, zeros({4}, kFloat64)),
                      Contains("conv_transpose2d") && Contains("bias"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, Tensor(), {1, 1}, {4, 4}),
                      Contains("conv_transpose2d") && Contains("output of size"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, Tensor(), {1, 1}, {0, 0}, {0, 0}, 3),
                      Contains("conv_transpose2d") && Contains("groups"));
}
