// PyTorch parity: state dicts of torch.nn.RNN, LSTM, GRU, LSTMCell and GRUCell, saved as
// safetensors by bench/make_rnn_fixture.py, load into zoo's layers by name and give
// PyTorch's outputs (computed in float64 from the same float32 weights and inputs).
#include <string>
#include <tuple>

#include "nn/io/safetensors.h"
#include "nn/layers/rnn.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::nn;

namespace {

/// The fixture's tensors.
const StateDict& fixture() {
  static const StateDict tensors =
      load_safetensors(std::string(ZOO_TEST_DATA_DIR) + "/rnn/rnn_parity.safetensors").tensors;
  return tensors;
}

/// The module's state dict: the fixture's entries under `prefix`, without the prefix,
/// leaving out the inputs and outputs ("in.", "out.").
StateDict weights(const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : fixture()) {
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    if (rest.rfind("in.", 0) == 0 || rest.rfind("out.", 0) == 0) continue;
    out.insert(rest, t);
  }
  return out;
}

/// Input `name` of module `prefix`, in `dtype`.
Tensor input(const std::string& prefix, const std::string& name, DType dtype) {
  return fixture().at(prefix + "in." + name).to(dtype);
}

/// REQUIREs that zoo's result equals PyTorch's `prefix + "out." + name`: to 1e-10 in
/// float64, to 1e-5 in float32.
void require_torch(const Tensor& got, const std::string& prefix, const std::string& name) {
  INFO(prefix << "out." << name);
  const Tensor expected = fixture().at(prefix + "out." + name);
  const bool f64 = got.dtype() == kFloat64;
  test::require_close(got.to(kFloat64), expected, f64 ? 1e-10 : 1e-5, f64 ? 1e-12 : 1e-5);
}

}  // namespace

TEST_CASE("RNN parity with PyTorch: a state dict loads and gives its outputs", "[layers][rnn][parity]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    INFO("dtype " << fmt::format("{}", dtype));
    {
      RNN rnn(RNNOptions(3, 4).num_layers(2).nonlinearity("relu").batch_first(true));
      rnn.load_state_dict(weights("rnn."));  // strict: the names and shapes are PyTorch's
      rnn.to(dtype);
      const auto [y, h] = rnn.forward(input("rnn.", "x", dtype), input("rnn.", "h0", dtype));
      require_torch(y, "rnn.", "y");
      require_torch(h, "rnn.", "h_n");
    }
    for (bool fused : {true, false}) {
      LSTM lstm(LSTMOptions(3, 4).num_layers(2).bidirectional(true).fused(fused));
      lstm.load_state_dict(weights("lstm."));
      lstm.to(dtype);
      const auto [y, state] = lstm.forward(input("lstm.", "x", dtype),
                                           {input("lstm.", "h0", dtype), input("lstm.", "c0", dtype)});
      require_torch(y, "lstm.", "y");
      require_torch(std::get<0>(state), "lstm.", "h_n");
      require_torch(std::get<1>(state), "lstm.", "c_n");
    }
    {
      GRU gru(GRUOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true));
      gru.load_state_dict(weights("gru."));
      gru.to(dtype);
      const auto [y, h] = gru.forward(input("gru.", "x", dtype), input("gru.", "h0", dtype));
      require_torch(y, "gru.", "y");
      require_torch(h, "gru.", "h_n");
    }
    {
      LSTMCell cell(3, 4);
      cell.load_state_dict(weights("lstmcell."));
      cell.to(dtype);
      const auto [h, c] = cell.forward(input("lstmcell.", "x", dtype),
                                       {input("lstmcell.", "h0", dtype), input("lstmcell.", "c0", dtype)});
      require_torch(h, "lstmcell.", "h");
      require_torch(c, "lstmcell.", "c");
    }
    {
      GRUCell cell(3, 4);
      cell.load_state_dict(weights("grucell."));
      cell.to(dtype);
      require_torch(cell.forward(input("grucell.", "x", dtype), input("grucell.", "h0", dtype)),
                    "grucell.", "h");
    }
  }
}
