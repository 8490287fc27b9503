/// @file train.cpp
/// @brief The character LM's training loop: truncated BPTT over byte streams, gradient
/// clipping, validation in bits per character, a sample at the end.

#include "models/char_lstm/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "models/common/make_optimizer.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "nn/io/checkpoint.h"
#include "nn/io/metadata_values.h"
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

/// The model sizes as file metadata: what `load_char_lstm` reads back.
nn::SafetensorsMetadata size_metadata(const CharLstmConfig& c) {
  return {{"model", "char-lstm"},
          {"embed_dim", std::to_string(c.embed_dim)},
          {"hidden_size", std::to_string(c.hidden_size)},
          {"num_layers", std::to_string(c.num_layers)}};
}

/// Where a run is, everything a checkpoint holds besides the weights and Adam's moments.
struct Position {
  std::int64_t step = 0;        // optimizer steps taken
  LstmState state;              // the state carried into the next chunk (undefined: zeros)
  double loss_sum = 0;          // training losses since the last validation...
  std::int64_t loss_count = 0;  // ...and how many
  double seconds = 0;           // training time so far, validation left out
};

/// The options a checkpoint must agree with to be continued: anything else would not
/// be the same run.
std::map<std::string, std::string> run_identity(const CharLstmOptions& o) {
  return {{"dropout", fmt::format("{}", o.model.dropout)}, {"batch_size", std::to_string(o.batch_size)},
          {"seq_len", std::to_string(o.seq_len)},          {"train_bytes", std::to_string(o.train_bytes)},
          {"optimizer", o.optimizer},                      {"lr", fmt::format("{}", o.lr)},
          {"clip", fmt::format("{}", o.clip_grad_norm)},   {"seed", std::to_string(o.seed)}};
}

void save(const fs::path& path, CharLstm& model, const optim::Optimizer& optimizer, const Position& pos,
          const CharLstmOptions& o) {
  nn::Checkpoint ck;
  ck.model = model.state_dict();
  ck.optimizer = optimizer.state_dict();
  const auto& [h, c] = pos.state;
  if (h.defined()) {
    ck.extra.insert("state.h", h);
    ck.extra.insert("state.c", c);
  }
  ck.step = pos.step;
  ck.generators["default"] = default_generator().get_state();
  for (const auto& [key, value] : size_metadata(o.model)) ck.metadata[key] = value;
  for (const auto& [key, value] : run_identity(o)) ck.metadata[key] = value;
  ck.metadata["loss_sum"] = fmt::format("{:.17g}", pos.loss_sum);
  ck.metadata["loss_count"] = std::to_string(pos.loss_count);
  ck.metadata["seconds"] = fmt::format("{:.17g}", pos.seconds);
  nn::save_checkpoint(path, ck);
}

Position restore(const fs::path& path, CharLstm& model, optim::Optimizer& optimizer, const CharLstmOptions& o) {
  const nn::Checkpoint ck = nn::load_checkpoint(path);
  const auto get = [&](const std::string& key) {
    const auto it = ck.metadata.find(key);
    ZOO_CHECK(it != ck.metadata.end(), "resume: '{}' has no '{}' (not a char-lstm checkpoint?)", path.string(), key);
    return it->second;
  };
  ZOO_CHECK(get("model") == "char-lstm", "resume: '{}' is a checkpoint of '{}', not char-lstm", path.string(),
            get("model"));
  auto expected = size_metadata(o.model);
  for (const auto& [key, value] : run_identity(o)) expected[key] = value;
  for (const auto& [key, value] : expected)
    ZOO_CHECK(get(key) == value, "resume: '{}' was saved with {} = {}, this run asks for {}", path.string(), key,
              get(key), value);
  model.load_state_dict(ck.model);
  optimizer.load_state_dict(ck.optimizer);
  default_generator().set_state(ck.generator_state("default"));
  Position pos;
  pos.step = ck.step;
  if (ck.extra.contains("state.h")) pos.state = LstmState{ck.extra_tensor("state.h"), ck.extra_tensor("state.c")};
  pos.loss_sum = ck.metadata_double("loss_sum");
  pos.loss_count = ck.metadata_int("loss_count");
  pos.seconds = ck.metadata_double("seconds");
  return pos;
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

double evaluate_bpc_on_file(CharLstm& model, const std::string& path, std::int64_t streams,
                            std::int64_t seq_len, std::int64_t limit) {
  ZOO_CHECK(streams > 0 && seq_len > 0, "char-lstm: streams and seq_len must be positive, got {} and {}",
            streams, seq_len);
  return evaluate_bpc(model, byte_streams(read_bytes(path, limit), streams), seq_len);
}

CharLstmResult train_char_lstm(const CharLstmOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  ZOO_CHECK(o.steps > 0 && o.batch_size > 0 && o.seq_len > 0,
            "train char-lstm: --steps, --batch-size and --seq-len must be positive");
  ZOO_CHECK(o.eval_every > 0 && o.save_every >= 0, "train char-lstm: --eval-every must be positive and "
            "--save-every not negative, got {} and {}", o.eval_every, o.save_every);
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
  const fs::path checkpoint_path = fs::path(o.out) / "checkpoint.safetensors";
  Position pos;
  if (o.resume) {
    ZOO_CHECK(fs::exists(checkpoint_path), "resume: no checkpoint at '{}'", checkpoint_path.string());
    pos = restore(checkpoint_path, model, *optimizer, o);
  }
  MetricsWriter metrics(o.out, o.resume ? std::optional(pos.step) : std::nullopt);

  CharLstmResult result;
  std::int64_t evaluated_at = -1;
  ProgressLine progress("char-lstm", o.steps, 100, o.quiet ? nullptr : stderr);
  auto started = std::chrono::steady_clock::now();
  // Training time so far, this process's share included; validation is left out.
  const auto seconds_now = [&] {
    return pos.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  while (pos.step < o.steps) {
    const std::int64_t step = pos.step + 1;
    const std::int64_t k = (step - 1) % chunks;
    if (k == 0) pos.state = LstmState{};  // a new pass over the streams starts from zeros
    const auto [x, y] = chunk_at(train, k * T, T);
    auto [logits, next] = model.forward(x, pos.state);
    const Tensor loss = cross_entropy(logits.reshape({T * B, 256}), y.reshape({T * B}));
    optimizer->zero_grad();
    loss.backward();
    if (o.clip_grad_norm > 0) optim::clip_grad_norm_(model.parameters(), o.clip_grad_norm);
    optimizer->step();
    pos.state = detach_state(next);  // carry the values, cut the graph: truncated BPTT

    const double value = loss.item();
    pos.loss_sum += value;
    ++pos.loss_count;
    pos.step = step;
    progress.update(step, T * B, fmt::format("loss {:.4f} bpc {:.3f}", value, value / std::numbers::ln2));
    if (step % o.eval_every == 0 || step == o.steps) {
      pos.seconds = seconds_now();
      result.valid_bpc = evaluate_bpc(model, valid, T);
      result.train_bpc = pos.loss_sum / static_cast<double>(pos.loss_count) / std::numbers::ln2;
      evaluated_at = step;
      pos.loss_sum = 0;
      pos.loss_count = 0;
      const double tps = static_cast<double>(step * T * B) / pos.seconds;
      metrics.write({{"step", step}, {"train_bpc", result.train_bpc},
                     {"valid_bpc", result.valid_bpc}, {"seconds", pos.seconds},
                     {"tokens_per_second", tps}});
      if (!o.quiet)
        fmt::print(stderr, "\nstep {}: train bpc {:.3f}, valid bpc {:.3f}, {:.0f} tokens/s\n", step,
                   result.train_bpc, result.valid_bpc, tps);
      started = std::chrono::steady_clock::now();
    }
    const bool interrupted = o.stop_after > 0 && step >= o.stop_after && step < o.steps;
    if (interrupted || step == o.steps || (o.save_every > 0 && step % o.save_every == 0)) {
      Position saved = pos;
      saved.seconds = seconds_now();
      save(checkpoint_path, model, *optimizer, saved, o);
    }
    if (interrupted) {
      result.steps = step;
      return result;  // the checkpoint holds everything
    }
  }
  progress.finish();
  pos.seconds = seconds_now();
  if (evaluated_at != o.steps) {  // resumed from a run that had already ended
    result.valid_bpc = evaluate_bpc(model, valid, T);
    result.train_bpc = std::nan("");
  }
  result.steps = o.steps;
  result.seconds = pos.seconds;
  result.tokens_per_second = static_cast<double>(o.steps * T * B) / pos.seconds;
  nn::save_safetensors(fs::path(o.out) / "model.safetensors", model.state_dict(), size_metadata(o.model));
  Generator gen(o.seed);
  result.sample = sample_text(model, "The ", 200, 0.8, gen);
  result.finished = true;
  return result;
}

std::shared_ptr<CharLstm> load_char_lstm(const std::string& path) {
  nn::SafetensorsFile file = nn::load_safetensors(path);
  if (file.metadata.contains("format")) {  // a checkpoint: its weights are its model.* tensors
    nn::Checkpoint ck = nn::load_checkpoint(path);
    file.tensors = std::move(ck.model);
  }
  const auto get = [&](const char* key) { return nn::metadata_int(file.metadata, key, path); };
  CharLstmConfig config;
  config.embed_dim = get("embed_dim");
  config.hidden_size = get("hidden_size");
  config.num_layers = get("num_layers");
  auto model = std::make_shared<CharLstm>(config);
  model->load_state_dict(file.tensors);
  return model;
}

}  // namespace zoo::models
