// Module and the containers: registration and dotted names, train/eval, zero_grad,
// parameter counts, dtype conversion, state_dict round trips and load errors, and the
// printed summary.
#include <sstream>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::nn;
using Catch::Matchers::Contains;

namespace {

/// A two-level model: an own parameter and buffer, a Sequential, a Linear.
struct Net : Module {
  Tensor scale;
  std::shared_ptr<Sequential> encoder;
  std::shared_ptr<Linear> head;

  Net() {
    encoder = register_module("encoder", std::make_shared<Sequential>(Linear(4, 3), ReLU(),
                                                                      Linear(3, 2)));
    scale = register_parameter("scale", ones({2}));
    register_buffer("steps", zeros({1}, kInt64));
    register_buffer("cache", zeros({2}), /*persistent=*/false);
    head = register_module("head", std::make_shared<Linear>(2, 1));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*encoder)(x) * scale); }
};

std::vector<std::string> names_of(const NamedTensors& items) {
  std::vector<std::string> out;
  for (const auto& [name, t] : items) out.push_back(name);
  return out;
}

/// The MLP of the classifier: 784-512-512-10.
Sequential make_mlp() {
  return Sequential(Linear(784, 512), ReLU(), Linear(512, 512), ReLU(), Linear(512, 10));
}

}  // namespace

TEST_CASE("parameters get dotted names in registration order, own ones first", "[module]") {
  Net net;
  // PyTorch's order: a module's own parameters, then each child's, depth first.
  REQUIRE(names_of(net.named_parameters()) ==
          std::vector<std::string>{"scale", "encoder.0.weight", "encoder.0.bias",
                                   "encoder.2.weight", "encoder.2.bias", "head.weight",
                                   "head.bias"});
  REQUIRE(names_of(net.named_parameters(/*recurse=*/false)) == std::vector<std::string>{"scale"});
  REQUIRE(names_of(net.named_buffers()) == std::vector<std::string>{"steps", "cache"});
  // The tensors are the modules' own members, not copies.
  const auto params = net.parameters();
  REQUIRE(params.size() == 7);
  REQUIRE(params[0].is_same(net.scale));
  REQUIRE(params[5].is_same(net.head->weight));
  REQUIRE(params[3].is_same(net.encoder->at<Linear>(2)->weight));
  for (const Tensor& p : params) REQUIRE(p.requires_grad());
  for (const Tensor& b : net.buffers()) REQUIRE_FALSE(b.requires_grad());

  std::vector<std::string> module_names;
  for (const auto& [name, m] : net.named_modules()) module_names.push_back(name);
  REQUIRE(module_names == std::vector<std::string>{"", "encoder", "encoder.0", "encoder.1",
                                                   "encoder.2", "head"});
  REQUIRE(net.named_modules()[3].second == net.encoder->at<ReLU>(1).get());
  const auto children = net.named_children();
  REQUIRE(children.size() == 2);
  REQUIRE(children[0].first == "encoder");
  REQUIRE(children[1].second.get() == net.head.get());
  REQUIRE(net.children().size() == 2);
}

TEST_CASE("module names are the C++ class names", "[module]") {
  Net net;
  REQUIRE(net.name() == "Net");
  REQUIRE(Linear(2, 3).name() == "Linear");
  REQUIRE(Sequential().name() == "Sequential");
  REQUIRE(ModuleList().name() == "ModuleList");
}

TEST_CASE("registration checks names and tensors", "[module]") {
  Module m;
  m.register_parameter("w", zeros({2}));
  REQUIRE_THROWS_WITH(m.register_parameter("w", zeros({2})), Contains("'w'") && Contains("taken"));
  REQUIRE_THROWS_WITH(m.register_buffer("w", zeros({2})), Contains("taken"));
  REQUIRE_THROWS_WITH(m.register_module("w", std::make_shared<ReLU>()), Contains("taken"));
  REQUIRE_THROWS_WITH(m.register_parameter("a.b", zeros({2})), Contains("dot"));
  REQUIRE_THROWS_WITH(m.register_parameter("", zeros({2})), Contains("empty"));
  REQUIRE_THROWS_WITH(m.register_parameter("i", zeros({2}, kInt64)), Contains("floating"));
  const Tensor leaf = ones({2}).requires_grad_();
  REQUIRE_THROWS_WITH(m.register_parameter("y", leaf * 2.0), Contains("leaf"));
  REQUIRE_THROWS_WITH(m.register_module("n", std::shared_ptr<Linear>()), Contains("null"));
  // A registered tensor is the caller's tensor, now requiring grad.
  Tensor t = zeros({3});
  const Tensor p = m.register_parameter("t", t);
  REQUIRE(p.is_same(t));
  REQUIRE(t.requires_grad());
}

TEST_CASE("train and eval propagate to every submodule", "[module]") {
  Net net;
  REQUIRE(net.is_training());
  net.eval();
  for (const auto& [name, m] : net.named_modules()) {
    INFO(name);
    REQUIRE_FALSE(m->is_training());
  }
  net.train();
  for (const auto& [name, m] : net.named_modules()) REQUIRE(m->is_training());
  net.encoder->eval();  // a subtree only
  REQUIRE(net.is_training());
  REQUIRE_FALSE(net.encoder->at<Linear>(0)->is_training());
  REQUIRE(net.head->is_training());
}

TEST_CASE("zero_grad clears every gradient", "[module]") {
  Net net;
  net(ones({5, 4})).sum().backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
  }
  net.zero_grad();
  for (const Tensor& p : net.parameters()) REQUIRE_FALSE(p.grad().defined());
}

TEST_CASE("num_parameters counts elements, shared tensors once", "[module]") {
  // 784·512 + 512 + 512·512 + 512 + 512·10 + 10
  REQUIRE(make_mlp().num_parameters() == 669706);
  Net net;
  REQUIRE(net.num_parameters() == 2 + (4 * 3 + 3) + (3 * 2 + 2) + (2 * 1 + 1));

  // Weight tying: the same Linear twice, or one tensor under two names.
  auto shared = std::make_shared<Linear>(3, 3);
  Sequential tied(shared, ReLU(), shared);
  REQUIRE(tied.num_parameters() == 12);
  REQUIRE(tied.parameters().size() == 2);
  REQUIRE(tied.named_modules().size() == 3);  // "", "0", "1": the second "2" is the same module
  Module m;
  const Tensor w = zeros({4});
  m.register_parameter("a", w);
  m.register_parameter("b", w);
  REQUIRE(names_of(m.named_parameters()) == std::vector<std::string>{"a"});
  REQUIRE(m.state_dict().size() == 2);  // state_dict keeps both names, as PyTorch does
}

TEST_CASE("to(dtype) converts parameters and buffers in place", "[module]") {
  Net net;
  const Tensor weight_handle = net.head->weight;
  const auto before = net.head->weight.to_vector<float>();
  net(ones({1, 4})).sum().backward();
  Module& same = net.to(kFloat64);
  REQUIRE(&same == &net);
  // Every handle sees the converted tensor: the member, the registry, an outside copy.
  REQUIRE(weight_handle.dtype() == kFloat64);
  REQUIRE(net.head->weight.dtype() == kFloat64);
  for (const Tensor& p : net.parameters()) {
    REQUIRE(p.dtype() == kFloat64);
    REQUIRE(p.requires_grad());
    REQUIRE_FALSE(p.grad().defined());
  }
  REQUIRE(net.named_buffers()[0].second.dtype() == kInt64);   // integer buffers stay
  REQUIRE(net.named_buffers()[1].second.dtype() == kFloat64);  // floating ones convert
  const auto after = net.head->weight.to_vector<double>();
  for (std::size_t i = 0; i < before.size(); ++i) REQUIRE(after[i] == static_cast<double>(before[i]));
  // It still trains, now in float64.
  Tensor y = net(ones({2, 4}, kFloat64));
  REQUIRE(y.dtype() == kFloat64);
  y.sum().backward();
  REQUIRE(net.head->weight.grad().dtype() == kFloat64);
  REQUIRE_THROWS_WITH(net.to(kInt64), Contains("floating"));
}

TEST_CASE("state_dict holds parameters and persistent buffers, detached, in order", "[module]") {
  Net net;
  const StateDict sd = net.state_dict();
  std::vector<std::string> keys;
  for (const auto& [key, t] : sd) keys.push_back(key);
  REQUIRE(keys == std::vector<std::string>{"scale", "steps", "encoder.0.weight", "encoder.0.bias",
                                           "encoder.2.weight", "encoder.2.bias", "head.weight",
                                           "head.bias"});
  for (const auto& [key, t] : sd) REQUIRE_FALSE(t.requires_grad());
  REQUIRE(sd.at("head.weight").shape() == Shape{1, 2});
  // Detached but sharing storage, as in PyTorch: clone to keep a snapshot.
  REQUIRE(&sd.at("head.weight").storage() == &net.head->weight.storage());
}

TEST_CASE("load_state_dict round trip reproduces the model", "[module]") {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  const Tensor x = randn({3, 4});
  REQUIRE_FALSE(allclose(a(x), b(x)));
  const auto result = b.load_state_dict(a.state_dict());
  REQUIRE(result.missing_keys.empty());
  REQUIRE(result.unexpected_keys.empty());
  REQUIRE(allclose(a(x), b(x), 0, 0));
  // Copied, not shared: changing a afterwards leaves b alone.
  {
    NoGradGuard no_grad;
    a.head->bias.add_(1.0);
  }
  REQUIRE_FALSE(allclose(a(x), b(x)));
  // The loaded parameters are still parameters: leaves that require grad.
  REQUIRE(b.head->weight.requires_grad());
  REQUIRE(b.head->weight.is_leaf());
}

TEST_CASE("load_state_dict reports mismatches by name", "[module]") {
  Net net;
  const Tensor before = net.head->weight.clone().detach();

  SECTION("a wrong shape names the key and both shapes, and changes nothing") {
    StateDict sd;
    for (const auto& [key, t] : net.state_dict())
      sd.insert(key, key == "encoder.2.weight" ? zeros({2, 5}) : zeros_like(t));
    REQUIRE_THROWS_WITH(net.load_state_dict(sd), Contains("'encoder.2.weight'") &&
                                                     Contains("[2, 5]") && Contains("[2, 3]"));
    REQUIRE_THROWS_WITH(net.load_state_dict(sd, /*strict=*/false), Contains("encoder.2.weight"));
    REQUIRE(allclose(net.head->weight, before, 0, 0));  // nothing was copied
  }
  SECTION("a wrong dtype names the key and both dtypes") {
    StateDict sd;
    for (const auto& [key, t] : net.state_dict())
      sd.insert(key, key == "head.bias" ? zeros({1}, kFloat64) : t.clone());
    REQUIRE_THROWS_WITH(net.load_state_dict(sd), Contains("'head.bias'") &&
                                                     Contains("float64") && Contains("float32"));
  }
  SECTION("strict: missing and unexpected keys are listed") {
    StateDict sd;
    for (const auto& [key, t] : net.state_dict())
      if (key != "head.bias" && key != "steps") sd.insert(key, zeros_like(t));
    sd.insert("head.extra", zeros({3}));
    REQUIRE_THROWS_WITH(net.load_state_dict(sd),
                        Contains("missing") && Contains("'steps', 'head.bias'") &&
                            Contains("unexpected") && Contains("'head.extra'"));
    REQUIRE(allclose(net.head->weight, before, 0, 0));
    // Not strict: the rest loads, and the result lists what was skipped.
    const auto result = net.load_state_dict(sd, /*strict=*/false);
    REQUIRE(result.missing_keys == std::vector<std::string>{"steps", "head.bias"});
    REQUIRE(result.unexpected_keys == std::vector<std::string>{"head.extra"});
    REQUIRE(allclose(net.head->weight, zeros({1, 2}), 0, 0));
    REQUIRE_FALSE(allclose(net.head->bias, zeros({1}), 0, 0));  // missing: left as it was
  }
}

TEST_CASE("to_string prints PyTorch's summary", "[module]") {
  REQUIRE(to_string(make_mlp()) ==
          "Sequential(\n"
          "  (0): Linear(in_features=784, out_features=512, bias=True)\n"
          "  (1): ReLU()\n"
          "  (2): Linear(in_features=512, out_features=512, bias=True)\n"
          "  (3): ReLU()\n"
          "  (4): Linear(in_features=512, out_features=10, bias=True)\n"
          ")");
  // Nested modules are indented by two more spaces per level.
  REQUIRE(to_string(Net()) ==
          "Net(\n"
          "  (encoder): Sequential(\n"
          "    (0): Linear(in_features=4, out_features=3, bias=True)\n"
          "    (1): ReLU()\n"
          "    (2): Linear(in_features=3, out_features=2, bias=True)\n"
          "  )\n"
          "  (head): Linear(in_features=2, out_features=1, bias=True)\n"
          ")");
  REQUIRE(to_string(Module()) == "Module()");
  std::ostringstream out;
  out << Linear(LinearOptions(3, 4).bias(false));
  REQUIRE(out.str() == "Linear(in_features=3, out_features=4, bias=False)");
}

TEST_CASE("Sequential chains its modules", "[module]") {
  Sequential seq(Linear(4, 3), Tanh(), Linear(3, 2));
  REQUIRE(seq.size() == 3);
  const Tensor x = randn({5, 4});
  const auto l0 = seq.at<Linear>(0), l2 = seq.at<Linear>(2);
  REQUIRE(allclose(seq(x), (*l2)(tanh((*l0)(x))), 0, 0));
  // push_back takes a shared_ptr or a value, and names it by position.
  auto last = seq.push_back(std::make_shared<Sigmoid>());
  seq.push_back(Flatten());
  REQUIRE(seq.size() == 5);
  REQUIRE(seq[3].get() == last.get());
  REQUIRE(seq.named_children()[4].first == "4");
  REQUIRE(Sequential()(x).is_same(x));  // empty: the identity
  REQUIRE_THROWS_WITH(seq.at<ReLU>(1), Contains("Tanh"));
  REQUIRE_THROWS_WITH(seq[7], Contains("out of range"));
  // An error inside the chain says which link failed.
  REQUIRE_THROWS_WITH(seq(randn({5, 7})), Contains("module (0) Linear") && Contains("[5, 7]"));
  // Iteration visits the modules in order.
  std::size_t n = 0;
  for (const auto& m : seq) REQUIRE(m.get() == seq[n++].get());
  REQUIRE(n == 5);
}

TEST_CASE("ModuleList names by position and has no forward", "[module]") {
  ModuleList list(Linear(2, 2), Linear(2, 2));
  list.push_back(Linear(2, 3));
  REQUIRE(names_of(list.named_parameters()) ==
          std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "2.weight",
                                   "2.bias"});
  REQUIRE(list.at<Linear>(2)->options.out_features() == 3);
  REQUIRE_THROWS_WITH(list(zeros({1, 2})), Contains("ModuleList") && Contains("not implemented"));
}

TEST_CASE("apply visits every module, children first", "[module]") {
  Net net;
  std::vector<std::string> visited;
  net.apply([&](Module& m) { visited.push_back(m.name()); });
  REQUIRE(visited == std::vector<std::string>{"Linear", "ReLU", "Linear", "Sequential", "Linear",
                                              "Net"});
  // A typical use: re-initialise every Linear layer.
  net.apply([](Module& m) {
    if (auto* lin = dynamic_cast<Linear*>(&m)) init::zeros_(lin->weight);
  });
  REQUIRE(allclose(net.head->weight, zeros({1, 2}), 0, 0));
}
