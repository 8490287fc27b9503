// Tutorial 05: modules. An MLP built by hand from Linear layers, then with Sequential;
// parameters and their dotted names; why the initial scale of the weights matters (the
// spread of the activations layer by layer); train and eval; state_dict.
// Read README.md alongside.
//
// Run: ./tutorial_05_modules   (CTest runs it with --quick; both modes take well under a second)

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "lesson.h"
#include "nn/layers.h"

using namespace zoo;
using namespace zoo::nn;

namespace {

// ---------------------------------------------------------------------------
// 5.1 An MLP by hand
// ---------------------------------------------------------------------------

/// A multilayer perceptron for 28×28 images: 784 → 512 → 512 → 10, ReLU between.
/// The three layers are registered under the names they will have in the state_dict.
struct MLP : Module {
  std::shared_ptr<Linear> fc1, fc2, fc3;

  MLP() {
    fc1 = register_module("fc1", std::make_shared<Linear>(784, 512));
    fc2 = register_module("fc2", std::make_shared<Linear>(512, 512));
    fc3 = register_module("fc3", std::make_shared<Linear>(512, 10));
  }

  /// x: (N, 784) -> logits (N, 10).
  Tensor forward(const Tensor& x) override {
    Tensor h = relu((*fc1)(x));  // (N, 512)
    h = relu((*fc2)(h));         // (N, 512)
    return (*fc3)(h);            // (N, 10)
  }
};

void mlp_by_hand(lesson::Lesson& lesson) {
  lesson.section("5.1 An MLP by hand");

  manual_seed(0);
  MLP mlp;
  fmt::print("{}\n\n", to_string(mlp));

  const Tensor x = randn({32, 784});
  const Tensor logits = mlp(x);
  fmt::print("x {} -> logits {}\n", x.shape(), logits.shape());
  lesson.check(logits.shape() == Shape{32, 10}, "a batch of 32 images gives 32 rows of 10 logits");

  // The maths of one layer, by hand: y = x Wᵀ + b.
  const Tensor by_hand = matmul(x, mlp.fc1->weight.t()) + mlp.fc1->bias;
  lesson.check(allclose((*mlp.fc1)(x), by_hand, 1e-6, 1e-6), "Linear computes x Wᵀ + b");

  // 784·512 + 512 + 512·512 + 512 + 512·10 + 10
  fmt::print("parameters: {}\n", mlp.num_parameters());
  lesson.check(mlp.num_parameters() == 669706, "784-512-512-10 has 669,706 parameters");
}

// ---------------------------------------------------------------------------
// 5.2 The same with Sequential
// ---------------------------------------------------------------------------

Sequential make_sequential_mlp() {
  return Sequential(Linear(784, 512), ReLU(), Linear(512, 512), ReLU(), Linear(512, 10));
}

void with_sequential(lesson::Lesson& lesson) {
  lesson.section("5.2 The same with Sequential");

  Sequential seq = make_sequential_mlp();
  fmt::print("{}\n\n", to_string(seq));
  lesson.check(seq.num_parameters() == 669706, "the same number of parameters");

  // Same shapes, different names: "fc1.weight" by hand, "0.weight" in the Sequential.
  manual_seed(0);
  MLP mlp;
  const StateDict by_hand = mlp.state_dict();
  StateDict renamed;
  const std::vector<std::pair<std::string, std::string>> names = {
      {"fc1", "0"}, {"fc2", "2"}, {"fc3", "4"}};
  for (const auto& [from, to] : names)
    for (const std::string p : {"weight", "bias"})
      renamed.insert(to + "." + p, by_hand.at(from + "." + p));
  seq.load_state_dict(renamed);
  const Tensor x = randn({4, 784});
  lesson.check(allclose(seq(x), mlp(x), 0, 0),
               "with the weights copied across, both models compute the same function");
}

// ---------------------------------------------------------------------------
// 5.3 Parameters and their names
// ---------------------------------------------------------------------------

/// A model with a submodule of its own, to show how names nest.
struct Classifier : Module {
  std::shared_ptr<Sequential> features;
  std::shared_ptr<Linear> head;

  Classifier() {
    features = register_module("features", std::make_shared<Sequential>(Linear(4, 8), Tanh()));
    head = register_module("head", std::make_shared<Linear>(8, 3));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*features)(x)); }
};

void parameter_names(lesson::Lesson& lesson) {
  lesson.section("5.3 Parameters and their names");

  Classifier model;
  fmt::print("{}\n\n", to_string(model));
  std::vector<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) {
    fmt::print("  {:<20} {:<10} requires_grad={}\n", name, fmt::format("{}", p.shape()),
               p.requires_grad());
    names.push_back(name);
  }
  lesson.check(names == std::vector<std::string>{"features.0.weight", "features.0.bias",
                                                 "head.weight", "head.bias"},
               "names are dotted paths, in registration order");
  lesson.check(model.parameters()[2].is_same(model.head->weight),
               "parameters() hands out the layers' own tensors, not copies");

  // One training step's worth of gradients, then zero_grad.
  Tensor loss = cross_entropy(model(randn({5, 4})), tensor({0, 1, 2, 0, 1}).to(kInt64));
  loss.backward();
  fmt::print("\nafter backward: head.weight.grad() has shape {}\n",
             model.head->weight.grad().shape());
  model.zero_grad();
  bool all_cleared = true;
  for (const Tensor& p : model.parameters()) all_cleared = all_cleared && !p.grad().defined();
  lesson.check(all_cleared, "zero_grad() clears every gradient (sets it to undefined)");
}

// ---------------------------------------------------------------------------
// 5.4 Why the initial scale matters
// ---------------------------------------------------------------------------

/// The standard deviation of each layer's pre-activations y_l = W_l relu(y_{l-1}) through
/// `depth` layers of width `width` (no bias), with weights drawn by `init_weight`.
std::vector<double> activation_stds(const std::function<void(Tensor)>& init_weight,
                                    int depth, int width, int batch) {
  Generator gen(1);
  Sequential net;
  for (int l = 0; l < depth; ++l) {
    auto lin = net.push_back(Linear(LinearOptions(width, width).bias(false)));
    init_weight(lin->weight);
  }
  NoGradGuard no_grad;
  Tensor h = randn({batch, width}, kFloat32, gen);
  std::vector<double> stds;
  for (int l = 0; l < depth; ++l) {
    const Tensor y = (*net.at<Linear>(l))(l == 0 ? h : relu(h));
    stds.push_back(std::sqrt(var(y).item()));
    h = y;
  }
  return stds;
}

void initialisation(lesson::Lesson& lesson) {
  lesson.section("5.4 Why the initial scale matters");

  const int depth = 10, width = 256, batch = 1024;
  Generator gen(2);
  // Three ways to draw the weights of a width-256 layer:
  const auto unit_normal = [&](Tensor w) { init::normal_(w, 0.0, 1.0, gen); };
  const auto pytorch_default = [&](Tensor w) {  // what Linear does: U(±1/√fan_in)
    init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  };
  const auto kaiming_relu = [&](Tensor w) {  // N(0, 2/fan_in)
    init::kaiming_normal_(w, 0.0, init::FanMode::FanIn, "relu", gen);
  };
  const auto a = activation_stds(unit_normal, depth, width, batch);
  const auto b = activation_stds(pytorch_default, depth, width, batch);
  const auto c = activation_stds(kaiming_relu, depth, width, batch);

  fmt::print("std of y_l = W_l relu(y_(l-1)), 10 layers of width 256, no bias:\n\n");
  fmt::print("  layer   N(0, 1)      U(±1/√256) (default)   kaiming N(0, 2/256)\n");
  for (int l = 0; l < depth; ++l)
    fmt::print("  {:>5}   {:<12.4g} {:<22.4g} {:.4f}\n", l + 1, a[l], b[l], c[l]);

  // Var(y) = fan_in · Var(w) · E[relu(y_prev)²] = fan_in · Var(w) · Var(y_prev) / 2.
  const double growth_a = std::sqrt(width / 2.0);            // Var(w) = 1:        ×11.3 per layer
  const double growth_b = std::sqrt(width / (3.0 * width) / 2);  // Var(w) = 1/(3n): ×0.41
  fmt::print("\npredicted growth per layer: {:.2f}, {:.3f}, 1\n", growth_a, growth_b);
  lesson.check(a[depth - 1] / a[0] > 1e8, "N(0, 1) weights: the activations explode");
  lesson.check(b[depth - 1] / b[0] < 1e-3,
               "the default U(±1/√fan_in): they shrink by about 0.41 per ReLU layer");
  lesson.check(c[depth - 1] / c[0] > 0.5 && c[depth - 1] / c[0] < 2,
               "Kaiming's N(0, 2/fan_in): they keep their scale through all 10 layers");
  const double measured = std::pow(a[depth - 1] / a[0], 1.0 / (depth - 1));
  lesson.check(std::fabs(measured / growth_a - 1) < 0.1,
               fmt::format("the measured growth of N(0, 1), {:.2f} per layer, is the predicted √(n/2)",
                           measured));

  // To change the initialisation of a whole model, visit its layers with apply.
  Sequential model = make_sequential_mlp();
  model.apply([](Module& m) {
    if (auto* lin = dynamic_cast<Linear*>(&m))
      init::kaiming_normal_(lin->weight, 0.0, init::FanMode::FanIn, "relu");
  });
  const double std0 = std::sqrt(var(model.at<Linear>(0)->weight.detach()).item());
  fmt::print("\nafter apply: the first layer's weights have std {:.5f} (√(2/784) = {:.5f})\n", std0,
             std::sqrt(2.0 / 784));
  lesson.check(std::fabs(std0 / std::sqrt(2.0 / 784) - 1) < 0.02,
               "apply re-initialised every Linear layer of the model");
}

// ---------------------------------------------------------------------------
// 5.5 Train and eval
// ---------------------------------------------------------------------------

void train_and_eval(lesson::Lesson& lesson) {
  lesson.section("5.5 Train and eval");

  manual_seed(5);

  Sequential net(Linear(8, 8), ReLU(), Dropout(0.5), Linear(8, 2));
  const Tensor x = randn({1, 8});
  fmt::print("training mode: two calls, two dropout masks:\n  {}\n  {}\n", net(x), net(x));
  lesson.check(!allclose(net(x), net(x)), "in training mode, Dropout draws a new mask each call");

  net.eval();
  bool all_eval = true;
  for (const auto& [name, m] : net.named_modules()) all_eval = all_eval && !m->is_training();
  lesson.check(all_eval, "eval() reaches every submodule");
  fmt::print("eval mode:\n  {}\n  {}\n", net(x), net(x));
  lesson.check(allclose(net(x), net(x), 0, 0), "in eval mode, Dropout is the identity");
  net.train();
  lesson.check(net.at<Dropout>(2)->is_training(), "train() switches back");
}

// ---------------------------------------------------------------------------
// 5.6 state_dict
// ---------------------------------------------------------------------------

void state_dict_lesson(lesson::Lesson& lesson) {
  lesson.section("5.6 state_dict");

  manual_seed(3);
  Classifier trained;
  const StateDict sd = trained.state_dict();
  for (const auto& [name, t] : sd) fmt::print("  {:<20} {}\n", name, t.shape());

  manual_seed(4);
  Classifier fresh;
  const Tensor x = randn({2, 4});
  lesson.check(!allclose(fresh(x), trained(x)), "a fresh model computes something else");
  fresh.load_state_dict(sd);
  lesson.check(allclose(fresh(x), trained(x), 0, 0), "after load_state_dict, the same outputs");

  // Mistakes are reported by name.
  fmt::print("\nloading the Classifier's state into an MLP:\n");
  MLP mlp;
  std::string message = lesson.expect_error([&] { mlp.load_state_dict(sd); });
  lesson.check(lesson::contains(message, "missing") && lesson::contains(message, "'fc1.weight'"),
               "strict loading lists the missing and unexpected keys");

  fmt::print("\na head with 4 classes instead of 3:\n");
  StateDict wrong;
  for (const auto& [name, t] : sd) wrong.insert(name, name == "head.weight" ? zeros({4, 8}) : t);
  message = lesson.expect_error([&] { fresh.load_state_dict(wrong); });
  lesson.check(lesson::contains(message, "'head.weight'") && lesson::contains(message, "[4, 8]") &&
                   lesson::contains(message, "[3, 8]"),
               "a shape mismatch names the key and both shapes");

  // strict = false: load what matches, report the rest (e.g. fine-tuning a new head).
  StateDict features_only;
  for (const auto& [name, t] : sd)
    if (name.rfind("features.", 0) == 0) features_only.insert(name, t);
  const auto result = fresh.load_state_dict(features_only, /*strict=*/false);
  fmt::print("\nnon-strict load of the features only: missing {}\n", result.missing_keys);
  lesson.check(result.missing_keys == std::vector<std::string>{"head.weight", "head.bias"},
               "non-strict loading returns the keys it skipped");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    mlp_by_hand(lesson);
    with_sequential(lesson);
    parameter_names(lesson);
    initialisation(lesson);
    train_and_eval(lesson);
    state_dict_lesson(lesson);
  });
}
