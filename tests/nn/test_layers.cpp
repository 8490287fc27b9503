// The layers: parameter names and shapes, PyTorch's default initialisation, output shapes,
// a value worked out by hand, a float64 gradient check through each layer (input and
// parameters), the errors, and the printed summary line.
#include <cmath>
#include <string>

#include "nn/layers.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::nn;
using Catch::Matchers::Contains;

namespace {

/// Overwrites a parameter with `values` (unrecorded, as an optimizer would).
void set(Tensor param, const Tensor& values) {
  NoGradGuard no_grad;
  param.copy_(values);
}

/// Largest |value| of a tensor.
double max_abs(const Tensor& t) { return amax(abs(t.detach())).item(); }

/// Names and shapes of a module's parameters, as one string: "weight[3, 2] bias[3]".
std::string param_shapes(const Module& m) {
  std::string out;
  for (const auto& [name, p] : m.named_parameters())
    out += (out.empty() ? "" : " ") + name + fmt::format("{}", p.shape());
  return out;
}

/// REQUIREs that every element lies in [-bound, bound] and, for a big enough tensor, that
/// the extremes come close to ±bound and the standard deviation to bound/√3: a
/// U(-bound, bound) sample.
void require_uniform(const Tensor& t, double bound) {
  INFO("bound " << bound);
  const Tensor x = t.detach().to(kFloat64);
  REQUIRE(max_abs(x) <= bound);
  if (x.numel() < 500) return;
  REQUIRE(amax(x).item() > 0.9 * bound);
  REQUIRE(amin(x).item() < -0.9 * bound);
  const double std = std::sqrt(var(x).item());
  REQUIRE(std::fabs(std - bound / std::sqrt(3.0)) < 0.1 * bound / std::sqrt(3.0));
}

}  // namespace

// ---------------------------------------------------------------------------
// Linear
// ---------------------------------------------------------------------------

TEST_CASE("Linear: names, shapes, init, value", "[layers][linear]") {
  manual_seed(1);
  Linear lin(LinearOptions(20, 30));
  REQUIRE(param_shapes(lin) == "weight[30, 20] bias[30]");
  // PyTorch's init: kaiming_uniform_(a=√5) = U(±1/√in), bias U(±1/√in).
  require_uniform(lin.weight, 1 / std::sqrt(20.0));
  require_uniform(lin.bias, 1 / std::sqrt(20.0));
  REQUIRE(lin(zeros({7, 20})).shape() == Shape{7, 30});
  REQUIRE(lin(zeros({2, 3, 20})).shape() == Shape{2, 3, 30});  // any leading dims

  Linear small(2, 3);
  set(small.weight, tensor({{1, 2}, {3, 4}, {5, 6}}));
  set(small.bias, tensor({1, 0, -1}));
  // y = x Wᵀ + b: [1·1+2·1+1, 3+4+0, 5+6−1]
  REQUIRE(allclose(small(tensor({{1, 1}})), tensor({{4, 7, 10}}), 0, 0));
  Linear no_bias(LinearOptions(2, 3).bias(false));
  REQUIRE(param_shapes(no_bias) == "weight[3, 2]");
  REQUIRE_FALSE(no_bias.bias.defined());
  set(no_bias.weight, small.weight);
  REQUIRE(allclose(no_bias(tensor({{1, 1}})), tensor({{3, 7, 11}}), 0, 0));
  // functional::linear is the same map.
  REQUIRE(allclose(functional::linear(tensor({{1, 1}}), small.weight, small.bias),
                   tensor({{4, 7, 10}}), 0, 0));
}

TEST_CASE("Linear: gradients and errors", "[layers][linear]") {
  Linear lin(3, 2);
  lin.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return lin(in[0]); },
                        {test::randn64({4, 3}), lin.weight, lin.bias});
  REQUIRE_THROWS_WITH(lin(zeros({4, 5}, kFloat64)),
                      Contains("in_features = 3") && Contains("[4, 5]"));
  REQUIRE_THROWS_WITH(Linear(0, 2), Contains("positive"));
  REQUIRE_THROWS_WITH(functional::linear(zeros({2, 3}), zeros({4, 3}), zeros({5})),
                      Contains("bias") && Contains("[5]"));
}

// ---------------------------------------------------------------------------
// Conv2d and ConvTranspose2d
// ---------------------------------------------------------------------------

TEST_CASE("Conv2d: names, shapes, init, value", "[layers][conv]") {
  manual_seed(2);
  Conv2d conv(Conv2dOptions(8, 64, 3).groups(2));
  REQUIRE(param_shapes(conv) == "weight[64, 4, 3, 3] bias[64]");
  const double bound = 1 / std::sqrt(4.0 * 3 * 3);  // fan_in = C/G·kh·kw = 36
  require_uniform(conv.weight, bound);
  require_uniform(conv.bias, bound);
  // OH = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1
  REQUIRE(Conv2d(Conv2dOptions(1, 32, 3).stride(1).padding(1))(zeros({2, 1, 28, 28})).shape() ==
          Shape{2, 32, 28, 28});
  REQUIRE(Conv2d(Conv2dOptions(3, 8, {3, 5}).stride(2))(zeros({1, 3, 9, 11})).shape() ==
          Shape{1, 8, 4, 4});
  REQUIRE(Conv2d(Conv2dOptions(1, 1, 3).dilation(2))(zeros({1, 1, 7, 7})).shape() ==
          Shape{1, 1, 3, 3});

  // A 3×3 box filter over ones with zero padding counts the pixels in each window.
  Conv2d box(Conv2dOptions(1, 1, 3).padding(1).bias(false));
  set(box.weight, ones({1, 1, 3, 3}));
  REQUIRE(allclose(box(ones({1, 1, 3, 3})),
                   tensor({{4, 6, 4}, {6, 9, 6}, {4, 6, 4}}).reshape({1, 1, 3, 3}), 0, 0));
}

TEST_CASE("Conv2d: gradients and errors", "[layers][conv]") {
  Conv2d conv(Conv2dOptions(4, 2, {2, 3}).stride({2, 1}).padding(1).groups(2));
  conv.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return conv(in[0]); },
                        {test::randn64({2, 4, 4, 5}), conv.weight, conv.bias});
  REQUIRE_THROWS_WITH(conv(zeros({2, 3, 4, 5}, kFloat64)),
                      Contains("Conv2d") && Contains("(N, 4, H, W)") && Contains("[2, 3, 4, 5]"));
  REQUIRE_THROWS_WITH(conv(zeros({4, 4, 5}, kFloat64)), Contains("[4, 4, 5]"));
  REQUIRE_THROWS_WITH(Conv2d(Conv2dOptions(3, 4, 3).groups(2)), Contains("groups = 2"));
  REQUIRE_THROWS_WITH(Conv2d(Conv2dOptions(3, 4, 3).stride(0)), Contains("positive"));
}

TEST_CASE("ConvTranspose2d: names, shapes, init, value, adjoint", "[layers][conv]") {
  manual_seed(3);
  ConvTranspose2d up(ConvTranspose2dOptions(16, 48, 4).stride(2).padding(1).groups(2));
  // PyTorch's layout: (C_in, C_out/groups, kh, kw).
  REQUIRE(param_shapes(up) == "weight[16, 24, 4, 4] bias[48]");
  const double bound = 1 / std::sqrt(24.0 * 4 * 4);  // PyTorch's fan_in: size(1)·kh·kw
  require_uniform(up.weight, bound);
  require_uniform(up.bias, bound);
  // OH = (H − 1)s − 2p + d(k − 1) + output_padding + 1: this layer doubles H and W.
  REQUIRE(up(zeros({2, 16, 5, 7})).shape() == Shape{2, 48, 10, 14});
  REQUIRE(ConvTranspose2d(ConvTranspose2dOptions(1, 1, 3).stride(2).output_padding(1))(
              zeros({1, 1, 4, 4}))
              .shape() == Shape{1, 1, 10, 10});

  // Each input pixel pastes the kernel, scaled by its value: stride 2, kernel 2.
  ConvTranspose2d paste(ConvTranspose2dOptions(1, 1, 2).stride(2).bias(false));
  set(paste.weight, tensor({{1, 2}, {3, 4}}).reshape({1, 1, 2, 2}));
  REQUIRE(allclose(paste(tensor({1, 10}).reshape({1, 1, 2, 1})),
                   tensor({{1, 2}, {3, 4}, {10, 20}, {30, 40}}).reshape({1, 1, 4, 2}), 0, 0));

  // The adjoint of Conv2d with the same weight: <conv(x), y> = <convT(y), x>.
  Conv2d conv(Conv2dOptions(3, 5, 3).stride(2).padding(1).bias(false));
  ConvTranspose2d convt(ConvTranspose2dOptions(5, 3, 3).stride(2).padding(1).bias(false));
  conv.to(kFloat64);
  convt.to(kFloat64);
  set(convt.weight, conv.weight);
  const Tensor x = test::randn64({2, 3, 7, 7}, 1).detach(), y = test::randn64({2, 5, 4, 4}, 2).detach();
  const double lhs = (conv(x) * y).sum().item(), rhs = (convt(y) * x).sum().item();
  REQUIRE(std::fabs(lhs - rhs) < 1e-10 * std::fabs(lhs) + 1e-12);
}

TEST_CASE("ConvTranspose2d: gradients and errors", "[layers][conv]") {
  ConvTranspose2d up(ConvTranspose2dOptions(2, 4, 3).stride(2).padding(1).groups(2));
  up.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return up(in[0]); },
                        {test::randn64({2, 2, 3, 3}), up.weight, up.bias});
  REQUIRE_THROWS_WITH(up(zeros({1, 4, 3, 3}, kFloat64)),
                      Contains("ConvTranspose2d") && Contains("(N, 2, H, W)"));
}

// ---------------------------------------------------------------------------
// Pooling and Flatten
// ---------------------------------------------------------------------------

TEST_CASE("MaxPool2d and AvgPool2d: values, shapes, gradients", "[layers][pool]") {
  const Tensor x = arange(0, 16, 1, kFloat32).reshape({1, 1, 4, 4});
  MaxPool2d max2(2);
  AvgPool2d avg2(2);
  REQUIRE(param_shapes(max2).empty());
  REQUIRE(allclose(max2(x), tensor({{5, 7}, {13, 15}}).reshape({1, 1, 2, 2}), 0, 0));
  REQUIRE(allclose(avg2(x), tensor({{2.5, 4.5}, {10.5, 12.5}}).reshape({1, 1, 2, 2}), 0, 0));
  // The stride defaults to the kernel size; an explicit one overlaps the windows.
  REQUIRE(MaxPool2d(MaxPool2dOptions(3).stride(1).padding(1))(zeros({2, 3, 5, 6})).shape() ==
          Shape{2, 3, 5, 6});
  REQUIRE(AvgPool2d(AvgPool2dOptions({2, 3}))(zeros({1, 2, 6, 6})).shape() == Shape{1, 2, 3, 2});
  REQUIRE(MaxPool2dOptions(2).stride() == Pair{2, 2});

  const Tensor r = test::randn64({2, 2, 5, 5});
  test::check_gradients([&](const std::vector<Tensor>& in) { return avg2(in[0]); }, {r});
  MaxPool2d max3(MaxPool2dOptions(3).stride(2).padding(1));
  test::check_gradients([&](const std::vector<Tensor>& in) { return max3(in[0]); }, {r});
  REQUIRE_THROWS_WITH(max2(zeros({4, 4})), Contains("MaxPool2d") && Contains("[4, 4]"));
  REQUIRE_THROWS_WITH(avg2(zeros({4, 4})), Contains("AvgPool2d") && Contains("[4, 4]"));
}

TEST_CASE("Flatten merges dims", "[layers][flatten]") {
  const Tensor x = test::randn64({2, 3, 4, 5});
  REQUIRE(Flatten()(x).shape() == Shape{2, 60});
  REQUIRE(Flatten(FlattenOptions().start_dim(0))(x).shape() == Shape{120});
  REQUIRE(Flatten(FlattenOptions().start_dim(1).end_dim(2))(x).shape() == Shape{2, 12, 5});
  REQUIRE(allclose(Flatten()(x), x.reshape({2, 60}), 0, 0));
  test::check_gradients([](const std::vector<Tensor>& in) { return Flatten()(in[0].mT()); }, {x});
  REQUIRE_THROWS_WITH(Flatten(FlattenOptions().start_dim(5))(x), Contains("Flatten"));
}

// ---------------------------------------------------------------------------
// Embedding
// ---------------------------------------------------------------------------

TEST_CASE("Embedding looks up rows", "[layers][embedding]") {
  manual_seed(4);
  Embedding big(1000, 64);
  REQUIRE(param_shapes(big) == "weight[1000, 64]");
  // PyTorch's init: N(0, 1).
  REQUIRE(std::fabs(mean(big.weight).item()) < 0.02);
  REQUIRE(std::fabs(std::sqrt(var(big.weight.detach()).item()) - 1.0) < 0.02);

  Embedding emb(4, 3);
  set(emb.weight, arange(0, 12, 1, kFloat32).reshape({4, 3}));
  const Tensor idx = tensor({{3, 0}, {1, 1}}).to(kInt64);
  const Tensor y = emb(idx);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  REQUIRE(allclose(y[0][0], tensor({9, 10, 11}), 0, 0));
  REQUIRE(allclose(y[1][1], tensor({3, 4, 5}), 0, 0));
  // The gradient of a row adds up over the positions that picked it.
  y.sum().backward();
  REQUIRE(allclose(emb.weight.grad(), tensor({{1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}}), 0, 0));

  emb.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return emb(idx) * in[0]; },
                        {test::randn64({2, 2, 3}), emb.weight});
  REQUIRE_THROWS_WITH(emb(tensor({1, 2})), Contains("int64") && Contains("float32"));
  REQUIRE_THROWS(emb(tensor({4}).to(kInt64)));  // out of range
}

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

TEST_CASE("LayerNorm normalises the last dims", "[layers][norm]") {
  LayerNorm ln(LayerNormOptions(6));
  REQUIRE(param_shapes(ln) == "weight[6] bias[6]");
  REQUIRE(allclose(ln.weight, ones({6}), 0, 0));
  REQUIRE(allclose(ln.bias, zeros({6}), 0, 0));
  ln.to(kFloat64);
  const Tensor x = (test::randn64({4, 5, 6}, 1) * 3.0 + 2.0).detach();
  const Tensor y = ln(x);
  REQUIRE(y.shape() == x.shape());
  REQUIRE(max_abs(mean(y, {-1})) < 1e-12);
  REQUIRE(max_abs(var(y, {-1}, 0) - 1.0) < 1e-4);
  // Known value: [1, 2, 3, 4] has mean 2.5 and variance 1.25.
  LayerNorm four(LayerNormOptions(4).eps(0.0));
  REQUIRE(allclose(four(tensor({1, 2, 3, 4})), tensor({-1.5, -0.5, 0.5, 1.5}) / std::sqrt(1.25f),
                   1e-6, 1e-6));
  // Two normalised dims; no affine; no bias.
  REQUIRE(param_shapes(LayerNorm(LayerNormOptions({5, 6}))) == "weight[5, 6] bias[5, 6]");
  REQUIRE(param_shapes(LayerNorm(LayerNormOptions(6).elementwise_affine(false))).empty());
  REQUIRE(param_shapes(LayerNorm(LayerNormOptions(6).bias(false))) == "weight[6]");

  test::check_gradients([&](const std::vector<Tensor>& in) { return ln(in[0]); },
                        {test::randn64({3, 6}), ln.weight, ln.bias});
  REQUIRE_THROWS_WITH(ln(zeros({3, 5}, kFloat64)), Contains("LayerNorm") && Contains("[6]") &&
                                                       Contains("[3, 5]"));
}

TEST_CASE("RMSNorm divides by the root mean square", "[layers][norm]") {
  RMSNorm rms(RMSNormOptions(2).eps(0.0));
  REQUIRE(param_shapes(rms) == "weight[2]");
  REQUIRE(allclose(rms.weight, ones({2}), 0, 0));
  // [3, 4]: mean square 12.5.
  REQUIRE(allclose(rms(tensor({{3, 4}})), tensor({{3, 4}}) / std::sqrt(12.5f), 1e-6, 1e-6));
  RMSNorm r(RMSNormOptions({2, 3}));
  r.to(kFloat64);
  test::check_gradients([&](const std::vector<Tensor>& in) { return r(in[0]); },
                        {test::randn64({4, 2, 3}), r.weight});
  REQUIRE_THROWS_WITH(r(zeros({4, 3, 2}, kFloat64)), Contains("RMSNorm") && Contains("[4, 3, 2]"));
}

TEST_CASE("GroupNorm normalises groups of channels", "[layers][norm]") {
  GroupNorm gn(GroupNormOptions(2, 4));
  REQUIRE(param_shapes(gn) == "weight[4] bias[4]");
  gn.to(kFloat64);
  const Tensor x = (test::randn64({3, 4, 5, 5}, 4) * 2.0 + 1.0).detach();
  const Tensor y = gn(x);
  REQUIRE(y.shape() == x.shape());
  // Each (sample, group) of 2 channels × 25 pixels has mean 0 and variance 1.
  const Tensor groups = y.reshape({3, 2, 50});
  REQUIRE(max_abs(mean(groups, {-1})) < 1e-12);
  REQUIRE(max_abs(var(groups, {-1}, 0) - 1.0) < 1e-3);
  test::check_gradients([&](const std::vector<Tensor>& in) { return gn(in[0]); },
                        {test::randn64({2, 4, 2, 3}), gn.weight, gn.bias});
  REQUIRE_THROWS_WITH(gn(zeros({2, 3, 4, 4}, kFloat64)), Contains("GroupNorm") &&
                                                             Contains("(N, 4, ...)"));
  REQUIRE_THROWS_WITH(GroupNorm(GroupNormOptions(3, 4)), Contains("divide"));
}

// ---------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------

TEST_CASE("Dropout zeroes and rescales in training, is the identity in eval", "[layers][dropout]") {
  Dropout drop(0.3);
  Generator gen(11);
  drop.set_generator(&gen);
  const Tensor x = ones({100000}).requires_grad_();
  REQUIRE(drop.is_training());
  const Tensor y = drop(x);
  const double zero_fraction = (y == 0.0).to(kFloat64).mean().item();
  REQUIRE(std::fabs(zero_fraction - 0.3) < 0.01);
  // Survivors are scaled by 1/(1 − p), so E[y] = x.
  REQUIRE(allclose(amax(y), scalar_tensor(1 / 0.7), 1e-6, 0));
  REQUIRE(std::fabs(y.mean().item() - 1.0) < 0.02);
  // The gradient is the same mask, scaled.
  y.sum().backward();
  REQUIRE(allclose(x.grad(), y.detach(), 0, 0));

  // The same seed gives the same mask.
  gen.manual_seed(11);
  REQUIRE(allclose(drop(x), y, 0, 0));
  REQUIRE_FALSE(allclose(drop(x), y, 0, 0));  // and the next draw another

  drop.eval();
  REQUIRE(drop(x).is_same(x));
  Sequential seq(Linear(4, 4), Dropout(0.5));
  seq.eval();
  const Tensor z = randn({2, 4});
  REQUIRE(allclose(seq(z), (*seq.at<Linear>(0))(z), 0, 0));
  REQUIRE_THROWS_WITH(Dropout(1.5), Contains("[0, 1]") && Contains("1.5"));
}

// ---------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------

TEST_CASE("activation modules compute their functions", "[layers][activation]") {
  const Tensor x = tensor({-2.0, 0.0, 1.5}, kFloat64);
  const double s_m2 = 1 / (1 + std::exp(2.0)), s_15 = 1 / (1 + std::exp(-1.5));
  test::require_close(ReLU()(x), tensor({0, 0, 1.5}, kFloat64));
  test::require_close(LeakyReLU(LeakyReLUOptions().negative_slope(0.2))(x),
                      tensor({-0.4, 0, 1.5}, kFloat64));
  test::require_close(LeakyReLU()(x), tensor({-0.02, 0, 1.5}, kFloat64));
  test::require_close(Sigmoid()(x), tensor({s_m2, 0.5, s_15}, kFloat64));
  test::require_close(Tanh()(x), tensor({std::tanh(-2.0), 0, std::tanh(1.5)}, kFloat64));
  test::require_close(SiLU()(x), tensor({-2 * s_m2, 0, 1.5 * s_15}, kFloat64));
  const auto phi = [&](double v) { return 0.5 * (1 + std::erf(v / std::sqrt(2.0))); };
  test::require_close(GELU()(x), tensor({-2 * phi(-2), 0, 1.5 * phi(1.5)}, kFloat64));
  const auto gelu_tanh = [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  test::require_close(GELU(GELUOptions().approximate("tanh"))(x),
                      tensor({gelu_tanh(-2), 0, gelu_tanh(1.5)}, kFloat64));
  test::require_close(Softplus()(x), tensor({std::log1p(std::exp(-2.0)), std::log(2.0),
                                             std::log1p(std::exp(1.5))}, kFloat64));
  test::require_close(Softplus(SoftplusOptions().beta(2))(x),
                      tensor({std::log1p(std::exp(-4.0)) / 2, std::log(2.0) / 2,
                              std::log1p(std::exp(3.0)) / 2}, kFloat64));
  REQUIRE_THROWS_WITH(GELU(GELUOptions().approximate("erf")), Contains("'erf'"));
}

TEST_CASE("activation modules have correct gradients", "[layers][activation]") {
  // Away from the kinks of ReLU and LeakyReLU at 0.
  const Tensor x = tensor({{-1.3, -0.4, 0.3}, {0.8, 1.7, -2.2}}, kFloat64).requires_grad_();
  std::vector<std::shared_ptr<Module>> modules = {
      std::make_shared<ReLU>(), std::make_shared<LeakyReLU>(), std::make_shared<GELU>(),
      std::make_shared<GELU>(GELUOptions().approximate("tanh")), std::make_shared<SiLU>(),
      std::make_shared<Sigmoid>(), std::make_shared<Tanh>(), std::make_shared<Softplus>()};
  for (const auto& m : modules) {
    INFO(to_string(*m));
    REQUIRE(param_shapes(*m).empty());
    test::check_gradients([&](const std::vector<Tensor>& in) { return (*m)(in[0]); }, {x});
  }
}

// ---------------------------------------------------------------------------
// Printed summaries
// ---------------------------------------------------------------------------

TEST_CASE("each layer prints as PyTorch prints it", "[layers][repr]") {
  REQUIRE(to_string(Linear(784, 10)) == "Linear(in_features=784, out_features=10, bias=True)");
  REQUIRE(to_string(Conv2d(Conv2dOptions(1, 32, 3).stride(1).padding(1))) ==
          "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  REQUIRE(to_string(Conv2d(Conv2dOptions(4, 8, {3, 5}).stride(2).dilation(2).groups(2).bias(false))) ==
          "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)");
  REQUIRE(to_string(ConvTranspose2d(
              ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1).output_padding(1))) ==
          "ConvTranspose2d(64, 32, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), "
          "output_padding=(1, 1))");
  REQUIRE(to_string(MaxPool2d(2)) ==
          "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  REQUIRE(to_string(AvgPool2d(AvgPool2dOptions({2, 3}).stride(1))) ==
          "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0)");
  REQUIRE(to_string(Flatten()) == "Flatten(start_dim=1, end_dim=-1)");
  REQUIRE(to_string(Embedding(10, 3)) == "Embedding(10, 3)");
  REQUIRE(to_string(LayerNorm(LayerNormOptions(512))) ==
          "LayerNorm((512,), eps=1e-05, elementwise_affine=True)");
  REQUIRE(to_string(RMSNorm(RMSNormOptions({4, 8}))) ==
          "RMSNorm((4, 8), eps=1e-06, elementwise_affine=True)");
  REQUIRE(to_string(GroupNorm(GroupNormOptions(2, 4))) == "GroupNorm(2, 4, eps=1e-05, affine=True)");
  REQUIRE(to_string(Dropout(0.1)) == "Dropout(p=0.1, inplace=False)");
  REQUIRE(to_string(ReLU()) == "ReLU()");
  REQUIRE(to_string(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)");
  REQUIRE(to_string(GELU()) == "GELU(approximate='none')");
  REQUIRE(to_string(SiLU()) == "SiLU()");
  REQUIRE(to_string(Sigmoid()) == "Sigmoid()");
  REQUIRE(to_string(Tanh()) == "Tanh()");
  REQUIRE(to_string(Softplus()) == "Softplus(beta=1.0, threshold=20.0)");
}

TEST_CASE("repr helpers write Python's forms", "[layers][repr]") {
  REQUIRE(repr_float(1e-5) == "1e-05");
  REQUIRE(repr_float(1.0) == "1.0");
  REQUIRE(repr_float(0.5) == "0.5");
  REQUIRE(repr_float(20) == "20.0");
  REQUIRE(repr_tuple({512}) == "(512,)");
  REQUIRE(repr_tuple({3, 3}) == "(3, 3)");
  REQUIRE(repr_size({2, 2}) == "2");
  REQUIRE(repr_size({2, 3}) == "(2, 3)");
  REQUIRE(repr_bool(false) == "False");
}
