// The U-Net shared by DDPM and rectified flow: the sinusoidal time embedding against
// its formula, self-attention against a loop over positions, output shapes with and
// without classes, the zero-initialised output, gradients reaching every parameter,
// and errors.
#include <cmath>

#include "models/unet/unet.h"
#include "nn/init.h"
#include "test_util.h"

using namespace zoo;

namespace {

/// The parameter `name` of `net` (a handle: filling it fills the network's).
Tensor parameter(const nn::Module& net, const std::string& name) {
  for (const auto& [n, p] : net.named_parameters())
    if (n == name) return p;
  FAIL("no parameter " << name);
  return Tensor();
}

}  // namespace

TEST_CASE("unet: the time embedding is the sinusoids of its formula", "[unet]") {
  const Tensor e = models::timestep_embedding(tensor({0.0, 1.0, 250.0}), 4);  // ω = 1, 1/100
  REQUIRE(e.shape() == Shape{3, 4});
  const std::vector<float> v = e.to_vector<float>();
  const std::vector<double> expected = {0, 0, 1, 1,  //
                                        std::sin(1.0), std::sin(0.01), std::cos(1.0), std::cos(0.01),
                                        std::sin(250.0), std::sin(2.5), std::cos(250.0), std::cos(2.5)};
  for (std::size_t i = 0; i < v.size(); ++i) REQUIRE(v[i] == Approx(expected[i]).margin(1e-5));
  REQUIRE_THROWS_WITH(models::timestep_embedding(tensor({1.0}), 5), Catch::Matchers::Contains("even"));
}

TEST_CASE("unet: self-attention is softmax(qᵀk/√d) v at every position", "[unet]") {
  manual_seed(3);
  models::SelfAttention2d attention(4, 2, 2);  // C = 4, two heads of d = 2
  Generator gen(1);
  const Tensor x = randn({1, 4, 2, 3}, kFloat32, gen);  // 6 positions
  const Tensor y = attention.forward(x);
  // By hand: q, k, v from the 1×1 conv of the normalised input, position by position.
  NoGradGuard no_grad;
  const std::int64_t C = 4, P = 6, d = 2;
  const std::vector<float> qkv = attention.qkv->forward(attention.norm->forward(x)).reshape({3 * C, P}).to_vector<float>();
  const auto at = [&](std::int64_t channel, std::int64_t p) { return static_cast<double>(qkv[channel * P + p]); };
  std::vector<float> mixed(C * P, 0.0f);  // the heads' outputs before the last 1×1 conv
  for (std::int64_t head = 0; head < 2; ++head)
    for (std::int64_t p = 0; p < P; ++p) {
      std::vector<double> w(P);
      double total = 0;
      for (std::int64_t s = 0; s < P; ++s) {
        double dot = 0;
        for (std::int64_t i = 0; i < d; ++i) dot += at(head * d + i, p) * at(C + head * d + i, s);
        w[s] = std::exp(dot / std::sqrt(static_cast<double>(d)));
        total += w[s];
      }
      for (std::int64_t i = 0; i < d; ++i) {
        double sum = 0;
        for (std::int64_t s = 0; s < P; ++s) sum += w[s] / total * at(2 * C + head * d + i, s);
        mixed[(head * d + i) * P + p] = static_cast<float>(sum);
      }
    }
  const Tensor expected = add(x, attention.out->forward(from_vector(mixed, {1, C, 2, 3})));
  REQUIRE(allclose(y, expected, 1e-5, 1e-6));
}

TEST_CASE("unet: shapes, classes, and the zero output of a new network", "[unet]") {
  manual_seed(0);
  models::UNet net({.base_channels = 16, .num_classes = 10});
  Generator gen(2);
  const Tensor x = randn({2, 1, 28, 28}, kFloat32, gen);
  const Tensor t = tensor({3.0, 700.0});
  const Tensor y = net.forward(x, t, from_vector(std::vector<std::int64_t>{4, 10}, {2}));
  REQUIRE(y.shape() == Shape{2, 1, 28, 28});
  REQUIRE(max(abs(y)).item() == 0.0);  // conv_out starts at zero
  // Without labels a conditional network uses the "no class" row, index 10.
  NoGradGuard no_grad;
  nn::init::normal_(parameter(net, "conv_out.weight"), 0.0, 0.1, gen);
  const Tensor none = net.forward(x, t);
  const Tensor explicit_none = net.forward(x, t, from_vector(std::vector<std::int64_t>{10, 10}, {2}));
  REQUIRE(allclose(none, explicit_none, 0, 0));
  REQUIRE_FALSE(allclose(none, net.forward(x, t, from_vector(std::vector<std::int64_t>{4, 4}, {2})), 1e-6, 1e-6));
}

TEST_CASE("unet: the default network's size", "[unet]") {
  // 1,063,905 parameters: the count of bench/bench_train.py's PyTorch twin (make_unet),
  // which the speed comparison trains, so the two are the same network.
  models::UNet net({.num_classes = 10});
  std::int64_t count = 0;
  for (const auto& [name, p] : net.named_parameters()) count += p.numel();
  REQUIRE(count == 1063905);
}

TEST_CASE("unet: the loss reaches every parameter", "[unet]") {
  manual_seed(1);
  models::UNet net({.base_channels = 8, .channel_mults = {1, 2}, .groups = 4, .attention_heads = 2});
  Generator gen(5);
  {
    NoGradGuard no_grad;
    nn::init::normal_(parameter(net, "conv_out.weight"), 0.0, 0.1, gen);
  }
  const Tensor x = randn({2, 1, 12, 12}, kFloat32, gen);
  mean(square(net.forward(x, tensor({1.0, 2.0})))).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    REQUIRE(max(abs(p.grad())).item() > 0);
  }
}

TEST_CASE("unet: wrong inputs are clear errors", "[unet]") {
  models::UNet net({.base_channels = 8, .channel_mults = {1}, .groups = 4, .attention_heads = 2});
  REQUIRE_THROWS_WITH(net.forward(zeros({2, 3, 8, 8}), zeros({2})), Catch::Matchers::Contains("(N, 1, H, W)"));
  REQUIRE_THROWS_WITH(net.forward(zeros({2, 1, 8, 8}), zeros({3})), Catch::Matchers::Contains("times t (2)"));
  REQUIRE_THROWS_WITH(net.forward(zeros({2, 1, 8, 8}), zeros({2}), zeros({2}, kInt64)),
                      Catch::Matchers::Contains("unconditional"));
  REQUIRE_THROWS_WITH(models::UNet({.base_channels = 12, .groups = 8}), Catch::Matchers::Contains("do not divide"));
  REQUIRE_THROWS_WITH(net(zeros({1, 1, 8, 8})), Catch::Matchers::Contains("other inputs"));
}
