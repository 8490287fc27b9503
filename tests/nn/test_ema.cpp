// The exponential moving average of the weights: the update rule step by step, the
// average of a constant, the state round trip, and errors.
#include <cmath>

#include "nn/layers/linear.h"
#include "nn/optim/ema.h"
#include "test_util.h"

using namespace zoo;

TEST_CASE("ema: each update moves the shadow (1 - d) of the way to the parameter", "[ema]") {
  nn::Linear layer(2, 1);
  {
    NoGradGuard no_grad;
    layer.weight.copy_(tensor({{1.0, 2.0}}));
  }
  optim::ExponentialMovingAverage ema(layer.named_parameters(), 0.9, false);
  {
    NoGradGuard no_grad;
    layer.weight.copy_(tensor({{11.0, 2.0}}));  // as if an optimizer step moved it
  }
  ema.update();  // 0.9·1 + 0.1·11 = 2, and 2 stays 2
  REQUIRE(allclose(ema.averaged().at("weight"), tensor({{2.0, 2.0}}), 1e-6, 1e-6));
  ema.update();  // 0.9·2 + 0.1·11 = 2.9
  REQUIRE(allclose(ema.averaged().at("weight"), tensor({{2.9, 2.0}}), 1e-6, 1e-6));
  // Held constant, the parameter's value is approached geometrically: the gap shrinks by d each step.
  for (int i = 0; i < 100; ++i) ema.update();
  REQUIRE(ema.averaged().at("weight").to_vector<float>()[0] == Approx(11 - 8.1 * std::pow(0.9, 100)).epsilon(1e-5));
  // The live parameter is untouched.
  REQUIRE(layer.weight.to_vector<float>() == std::vector<float>{11, 2});
}

TEST_CASE("ema: the warm-up follows the weights closely at first", "[ema]") {
  nn::Linear layer(1, 1);
  optim::ExponentialMovingAverage ema(layer.named_parameters(), 0.999);
  REQUIRE(ema.current_decay() == Approx(0.1));  // (1 + 0)/(10 + 0)
  ema.update();
  REQUIRE(ema.current_decay() == Approx(2.0 / 11));
  ema.set_updates(100000);
  REQUIRE(ema.current_decay() == 0.999);  // capped at d
  // After 1000 updates of a parameter that jumped from 0 to 1, the warm-up average is
  // within 1% of 1; without it, 0.999^1000 = 37% of the old value would remain.
  {
    NoGradGuard no_grad;
    layer.weight.fill_(0.0);
  }
  optim::ExponentialMovingAverage warm(layer.named_parameters(), 0.999), plain(layer.named_parameters(), 0.999, false);
  {
    NoGradGuard no_grad;
    layer.weight.fill_(1.0);
  }
  for (int i = 0; i < 1000; ++i) {
    warm.update();
    plain.update();
  }
  REQUIRE(warm.averaged().at("weight").item() > 0.99);
  REQUIRE(plain.averaged().at("weight").item() == Approx(1 - std::pow(0.999, 1000)).epsilon(1e-4));
}

TEST_CASE("ema: the state round-trips, and bad states are errors", "[ema]") {
  nn::Linear layer(3, 2);
  optim::ExponentialMovingAverage ema(layer.named_parameters(), 0.5);
  {
    NoGradGuard no_grad;
    layer.weight.add_(1.0);
  }
  ema.update();
  optim::ExponentialMovingAverage other(layer.named_parameters(), 0.5);
  other.load_state_dict(ema.state_dict());
  REQUIRE(allclose(other.averaged().at("weight"), ema.averaged().at("weight"), 0, 0));
  nn::StateDict wrong;
  wrong.insert("weight", zeros({3, 3}));
  wrong.insert("bias", zeros({2}));
  REQUIRE_THROWS_WITH(other.load_state_dict(wrong), Catch::Matchers::Contains("'weight' is [3, 3]"));
  REQUIRE_THROWS_WITH(optim::ExponentialMovingAverage(layer.named_parameters(), 1.0),
                      Catch::Matchers::Contains("[0, 1)"));
}
