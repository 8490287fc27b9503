#include "models/char_lstm/model.h"

#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace zoo::models {

CharLstm::CharLstm(const CharLstmConfig& c) : config(c) {
  embed = register_module("embed", std::make_shared<nn::Embedding>(256, c.embed_dim));
  lstm = register_module("lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(c.embed_dim, c.hidden_size)
                                                                .num_layers(c.num_layers)
                                                                .dropout(c.dropout)));
  head = register_module("head", std::make_shared<nn::Linear>(c.hidden_size, 256));
}

std::tuple<Tensor, LstmState> CharLstm::forward(const Tensor& x, const LstmState& state) {
  // x: (T, B) bytes -> e (T, B, E) -> h (T, B, H) -> logits (T, B, 256)
  ZOO_CHECK(x.defined() && x.dim() == 2 && x.dtype() == kInt64,
            "CharLstm: expected bytes (T, B) as int64, got {}", x.defined() ? x.shape() : Shape{});
  const Tensor e = embed->forward(x);
  auto [h, next] = lstm->forward(e, state);
  return {head->forward(h), next};
}

LstmState detach_state(const LstmState& state) {
  const auto& [h, c] = state;
  return {h.defined() ? h.detach() : h, c.defined() ? c.detach() : c};
}

std::string sample_text(CharLstm& model, const std::string& prompt, std::int64_t length,
                        double temperature, Generator& gen) {
  ZOO_CHECK(temperature >= 0, "sample: the temperature must be >= 0, got {}", temperature);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::string text = prompt;
  // Read the prompt (all of it in one call), then feed back one sampled byte at a time.
  const std::string start = prompt.empty() ? std::string("\n") : prompt;
  std::vector<std::int64_t> bytes;
  for (unsigned char ch : start) bytes.push_back(ch);
  Tensor input = from_vector(bytes, {static_cast<std::int64_t>(bytes.size()), 1});
  LstmState state;
  for (std::int64_t n = 0; n < length; ++n) {
    auto [logits, next] = model.forward(input, state);
    state = next;
    // The last step's logits, in double: z (256).
    const std::vector<double> z =
        logits.select(0, logits.size(0) - 1).reshape({256}).to(kFloat64).to_vector<double>();
    std::int64_t pick = 0;
    if (temperature == 0) {
      for (std::int64_t k = 1; k < 256; ++k)
        if (z[k] > z[pick]) pick = k;
    } else {
      // p_k ∝ exp((z_k − max z) / τ), then invert the cumulative sum at u ~ U(0, 1).
      double zmax = z[0];
      for (double v : z) zmax = std::max(zmax, v);
      std::vector<double> p(256);
      double total = 0;
      for (std::int64_t k = 0; k < 256; ++k) total += p[k] = std::exp((z[k] - zmax) / temperature);
      double u = gen.uniform() * total;
      pick = 255;
      for (std::int64_t k = 0; k < 256; ++k) {
        u -= p[k];
        if (u < 0) {
          pick = k;
          break;
        }
      }
    }
    text.push_back(static_cast<char>(pick));
    input = from_vector(std::vector<std::int64_t>{pick}, {1, 1});
  }
  model.train(was_training);
  return text;
}

}  // namespace zoo::models
