#pragma once
/// @file train.h
/// @brief Training the byte-level LSTM language model on the Brown corpus with truncated
/// backpropagation through time: the recipe behind `zoo train char-lstm`.
///
/// The training text (N bytes) is cut into B equal streams laid side by side, (B, N/B):
/// stream b is bytes [b·N/B, (b+1)·N/B). Step k reads columns [kT, kT + T) of every
/// stream as one batch (T, B) and predicts columns [kT + 1, kT + T + 1). The LSTM state
/// after step k is the initial state of step k + 1, so each stream is read as one long
/// text; but it is detached, so the gradient flows back at most T steps (truncated
/// BPTT). When the streams are used up, reading starts again from a zero state.
///
/// Lesson: @ref tutorial_10_rnn_lstm.

#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "models/char_lstm/model.h"

namespace zoo::models {

/// Everything `zoo train char-lstm` can set.
struct CharLstmOptions {
  CharLstmConfig model;             ///< embedding, hidden size, layers
  std::string data_dir = "data/brown";  ///< holds train.txt and valid.txt
  std::int64_t steps = 3000;        ///< optimizer steps
  std::int64_t batch_size = 32;     ///< B, streams read side by side
  std::int64_t seq_len = 64;        ///< T, steps of backpropagation through time
  double lr = 2e-3;                 ///< Adam's learning rate, constant
  std::string optimizer = "adam";   ///< adam, adamw, sgd or muon
  double clip_grad_norm = 1.0;      ///< total gradient norm limit (0: off)
  std::int64_t eval_every = 500;    ///< validate every this many steps (and at the end)
  std::int64_t train_bytes = 0;     ///< use only the first N bytes of train.txt (0: all)
  std::int64_t valid_bytes = 0;     ///< validate on the first N bytes of valid.txt (0: all)
  std::uint64_t seed = 0;           ///< initialisation and sampling
  int threads = 0;                  ///< 0: ZOO_NUM_THREADS or all cores
  std::string out = "runs/char-lstm";  ///< metrics.jsonl, checkpoint.safetensors, model.safetensors
  bool resume = false;              ///< continue from out/checkpoint.safetensors
  std::int64_t save_every = 500;    ///< checkpoint every this many steps (and at the end)
  std::int64_t stop_after = 0;      ///< stop after this many steps, as if interrupted (tests)
  bool quiet = false;               ///< no progress line
};

/// What a run measured.
struct CharLstmResult {
  double valid_bpc = 0;          ///< bits per character on the validation text, at the end
  double train_bpc = 0;          ///< mean training loss in bits over the last eval period
  std::int64_t steps = 0;        ///< optimizer steps taken
  double seconds = 0;            ///< wall time of the training loop (validation excluded)
  double tokens_per_second = 0;  ///< training bytes per second
  std::string sample;            ///< 200 bytes sampled at temperature 0.8 after training
  bool finished = false;         ///< false if stopped early by `stop_after`
};

/// The bytes of `text` as B streams side by side: (B, ⌊N/B⌋) int64, stream b holding
/// bytes [b·⌊N/B⌋, (b+1)·⌊N/B⌋) (the tail that does not fill a stream is dropped).
Tensor byte_streams(const std::string& text, std::int64_t streams);

/// Bits per character of `model` on streams (B, N) (from `byte_streams`), read in chunks
/// of `seq_len` with the state carried across chunks, in eval mode without a graph:
/// \f$\frac{1}{\ln 2}\cdot\f$ the mean cross-entropy of every prediction.
double evaluate_bpc(CharLstm& model, const Tensor& streams, std::int64_t seq_len);

/// Bits per character of `model` on the text file `path` (its first `limit` bytes; 0:
/// all) cut into `streams` streams and read in chunks of `seq_len` (`evaluate_bpc`):
/// with the training run's B and T and valid.txt, the figure training reports. A missing
/// file is an error naming it.
double evaluate_bpc_on_file(CharLstm& model, const std::string& path, std::int64_t streams,
                            std::int64_t seq_len, std::int64_t limit = 0);

/// Trains as `options` say, writes `metrics.jsonl` and `model.safetensors` (with the
/// model sizes in its metadata, for `zoo generate char-lstm`) into `options.out`.
///
/// Every `save_every` steps, and at the end, it writes `checkpoint.safetensors`: the
/// weights, Adam's moments, the step, the dropout generator, the LSTM state carried into
/// the next chunk (`extra.state.h`, `extra.state.c`) and the running loss and time. A run
/// continued with `resume` ends with the same parameters, bit for bit, as one that was
/// never interrupted (same options, same thread count); resuming with a larger `steps`
/// trains on from where the run ended.
CharLstmResult train_char_lstm(const CharLstmOptions& options);

/// Loads the model of a `model.safetensors` or a `checkpoint.safetensors` written by
/// `train_char_lstm`, its sizes from the file's metadata.
std::shared_ptr<CharLstm> load_char_lstm(const std::string& path);

}  // namespace zoo::models
