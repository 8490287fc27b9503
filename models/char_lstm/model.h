#pragma once
/// @file model.h
/// @brief A character (byte) language model: embedding → LSTM → linear over the 256 bytes,
/// and sampling from it with a temperature and a prompt.
///
/// The text is a sequence of bytes \f$x_1, x_2, \ldots\f$ (UTF-8 as it is: 256 symbols,
/// no vocabulary to build). The model reads one byte per step and predicts the next:
/// \f$p(x_{t+1} \mid x_{\le t}) = \mathrm{softmax}(W h_t + b)\f$, with \f$h_t\f$ the top
/// LSTM layer's state after reading \f$x_t\f$. Its loss is the mean cross-entropy
/// \f$-\frac1N\sum_t \ln p(x_{t+1} \mid x_{\le t})\f$; divided by \f$\ln 2\f$ that is the
/// number of bits per character (bpc) a coder driven by the model would need.
///
/// Lesson: @ref tutorial_10_rnn_lstm.

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "autograd/generator.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/rnn.h"
#include "nn/module.h"

namespace zoo::models {

/// Sizes of `CharLstm`.
struct CharLstmConfig {
  std::int64_t embed_dim = 64;     ///< E, the size of each byte's vector
  std::int64_t hidden_size = 256;  ///< H, the LSTM's hidden units per layer
  std::int64_t num_layers = 1;     ///< stacked LSTM layers
  double dropout = 0.0;            ///< dropout between LSTM layers
};

/// The recurrent state carried from one chunk of text to the next: (h, c), each
/// (L, B, H); undefined tensors mean zeros (the start of a text).
using LstmState = std::tuple<Tensor, Tensor>;

/// The byte-level LSTM language model: `Embedding(256, E)` → `LSTM(E, H, L)` (time-major)
/// → `Linear(H, 256)`. Parameters: `embed.weight` (256, E), `lstm.weight_ih_l0` (4H, E),
/// ..., `head.weight` (256, H), `head.bias` (256).
class CharLstm : public nn::Module {
 public:
  /// A model of the given sizes, initialised from the default generator.
  explicit CharLstm(const CharLstmConfig& config = {});
  /// Bytes x (T, B) int64 and the state after the previous chunk -> logits (T, B, 256)
  /// for the byte that follows each one, and the state after the last.
  std::tuple<Tensor, LstmState> forward(const Tensor& x, const LstmState& state);
  /// Logits only, from a zero state: x (T, B) -> (T, B, 256).
  Tensor forward(const Tensor& x) override { return std::get<0>(forward(x, LstmState{})); }
  CharLstmConfig config;              ///< The sizes it was built with.
  std::shared_ptr<nn::Embedding> embed;  ///< byte -> vector
  std::shared_ptr<nn::LSTM> lstm;         ///< the recurrence
  std::shared_ptr<nn::Linear> head;       ///< h_t -> logits of the next byte
};

/// The state's values without their history: truncated backpropagation through time
/// carries the state into the next chunk but stops gradients at the chunk boundary.
LstmState detach_state(const LstmState& state);

/// Continues `prompt` with `length` bytes drawn one at a time from
/// \f$\mathrm{softmax}(z / \tau)\f$, \f$\tau\f$ = `temperature` (below 1: more likely,
/// duller text; above 1: more surprising; 0: always the most likely byte). The prompt is
/// read first to set the state (an empty prompt starts from a newline). Draws from
/// `gen`, so a seed fixes the text. Returns the prompt followed by the new bytes.
std::string sample_text(CharLstm& model, const std::string& prompt, std::int64_t length,
                        double temperature, Generator& gen);

}  // namespace zoo::models
