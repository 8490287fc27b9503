/// @file train.cpp
/// @brief The character LM's training loop: truncated BPTT over byte streams, gradient
/// clipping, validation in bits per character, a sample at the end.

#include "models/char_lstm/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "models/common/make_optimizer.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "nn/io/safetensors.h"
#include "nn/optim/clip_grad.h"

namespace zoo::models {
namespace fs = std::filesystem;

namespace {

/// The whole file as bytes; an error naming the file and the fetch script if missing.
std::string read_bytes(const fs::path& path, std::int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  ZOO_CHECK(in.good(), "char-lstm: cannot read '{}' (run data/fetch_brown.sh to fetch the Brown corpus)",
            path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (limit > 0 && static_cast<std::int64_t>(text.size()) > limit) text.resize(static_cast<std::size_t>(limit));
  return text;
}

/// Chunk k of the streams: inputs (T, B) = columns [kT, kT + T), targets shifted by one.
std::pair<Tensor, Tensor> chunk_at(const Tensor& streams, std::int64_t start, std::int64_t len) {
  const Tensor x = streams.narrow(1, start, len).t().contiguous();
  const Tensor y = streams.narrow(1, start + 1, len).t().contiguous();
  return {x, y};
}

}  // namespace

Tensor byte_streams(const std::string& text, std::int64_t streams) {
  ZOO_CHECK(streams > 0, "byte_streams: the number of streams must be positive, got {}", streams);
  const std::int64_t per = static_cast<std::int64_t>(text.size()) / streams;
  ZOO_CHECK(per >= 2, "byte_streams: {} bytes are too few for {} streams", text.size(), streams);
  std::vector<std::int64_t> bytes(static_cast<std::size_t>(streams * per));
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(text[i]);
  return from_vector(bytes, {streams, per});
}

double evaluate_bpc(CharLstm& model, const Tensor& streams, std::int64_t seq_len) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const std::int64_t B = streams.size(0), N = streams.size(1);
  double nats = 0;
  std::int64_t count = 0;
  LstmState state;
  for (std::int64_t start = 0; start + 1 < N; start += seq_len) {
    const std::int64_t len = std::min(seq_len, N - 1 - start);
    const auto [x, y] = chunk_at(streams, start, len);
    auto [logits, next] = model.forward(x, state);
    state = next;
    nats += cross_entropy(logits.reshape({len * B, 256}), y.reshape({len * B}), -100, 0.0,
                          Reduction::Sum)
                .item();
    count += len * B;
  }
  model.train(was_training);
  return nats / static_cast<double>(count) / std::numbers::ln2;
}

CharLstmResult train_char_lstm(const CharLstmOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.steps > 0 && o.batch_size > 0 && o.seq_len > 0,
            "train char-lstm: --steps, --batch-size and --seq-len must be positive");
  const fs::path dir(o.data_dir);
  const Tensor train = byte_streams(read_bytes(dir / "train.txt", o.train_bytes), o.batch_size);
  const Tensor valid = byte_streams(read_bytes(dir / "valid.txt", o.valid_bytes), o.batch_size);
  const std::int64_t T = o.seq_len, B = o.batch_size;
  const std::int64_t chunks = (train.size(1) - 1) / T;  // chunks per pass over the streams
  ZOO_CHECK(chunks > 0, "train char-lstm: the training text is too short for B = {}, T = {}", B, T);

  manual_seed(o.seed);
  CharLstm model(o.model);
  auto optimizer = make_optimizer(o.optimizer, model.named_parameters(), o.lr);
  fs::create_directories(o.out);
  MetricsWriter metrics(o.out, false);

  CharLstmResult result;
  LstmState state;
  double seconds = 0, loss_sum = 0;
  std::int64_t loss_count = 0;
  ProgressLine progress("char-lstm", o.steps, 100, o.quiet ? nullptr : stderr);
  auto started = std::chrono::steady_clock::now();
  for (std::int64_t step = 1; step <= o.steps; ++step) {
    const std::int64_t k = (step - 1) % chunks;
    if (k == 0) state = LstmState{};  // a new pass over the streams starts from zeros
    const auto [x, y] = chunk_at(train, k * T, T);
    auto [logits, next] = model.forward(x, state);
    const Tensor loss = cross_entropy(logits.reshape({T * B, 256}), y.reshape({T * B}));
    optimizer->zero_grad();
    loss.backward();
    if (o.clip_grad_norm > 0) optim::clip_grad_norm_(model.parameters(), o.clip_grad_norm);
    optimizer->step();
    state = detach_state(next);  // carry the values, cut the graph: truncated BPTT

    const double value = loss.item();
    loss_sum += value;
    ++loss_count;
    progress.update(step, T * B, fmt::format("loss {:.4f} bpc {:.3f}", value, value / std::numbers::ln2));
    if (step % o.eval_every == 0 || step == o.steps) {
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      result.valid_bpc = evaluate_bpc(model, valid, T);
      result.train_bpc = loss_sum / static_cast<double>(loss_count) / std::numbers::ln2;
      loss_sum = 0;
      loss_count = 0;
      const double tps = static_cast<double>(step * T * B) / seconds;
      metrics.write({{"step", step}, {"train_bpc", result.train_bpc},
                     {"valid_bpc", result.valid_bpc}, {"seconds", seconds},
                     {"tokens_per_second", tps}});
      if (!o.quiet)
        fmt::print(stderr, "\nstep {}: train bpc {:.3f}, valid bpc {:.3f}, {:.0f} tokens/s\n", step,
                   result.train_bpc, result.valid_bpc, tps);
      started = std::chrono::steady_clock::now();
    }
  }
  progress.finish();
  result.steps = o.steps;
  result.seconds = seconds;
  result.tokens_per_second = static_cast<double>(o.steps * T * B) / seconds;
  nn::save_safetensors(fs::path(o.out) / "model.safetensors", model.state_dict(),
                       {{"model", "char-lstm"},
                        {"embed_dim", std::to_string(o.model.embed_dim)},
                        {"hidden_size", std::to_string(o.model.hidden_size)},
                        {"num_layers", std::to_string(o.model.num_layers)}});
  Generator gen(o.seed);
  result.sample = sample_text(model, "The ", 200, 0.8, gen);
  return result;
}

std::shared_ptr<CharLstm> load_char_lstm(const std::string& path) {
  const nn::SafetensorsFile file = nn::load_safetensors(path);
  auto get = [&](const char* key) {
    const auto it = file.metadata.find(key);
    ZOO_CHECK(it != file.metadata.end(),
              "char-lstm: '{}' has no '{}' in its metadata (not written by zoo train char-lstm?)",
              path, key);
    return std::stoll(it->second);
  };
  CharLstmConfig config;
  config.embed_dim = get("embed_dim");
  config.hidden_size = get("hidden_size");
  config.num_layers = get("num_layers");
  auto model = std::make_shared<CharLstm>(config);
  model->load_state_dict(file.tensors);
  return model;
}

}  // namespace zoo::models
