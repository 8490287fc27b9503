// The byte-level LSTM language model: the stream layout of truncated BPTT, the state
// carried across chunks (and cut from the graph), sampling that a seed repeats, a tiny
// training run that learns a periodic text, the saved model loading back, and a run
// interrupted and resumed from its checkpoint ending bit for bit as an uninterrupted one.
#include <filesystem>
#include <fstream>
#include <string>

#include "models/char_lstm/model.h"
#include "models/char_lstm/train.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"
#include "model_test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

/// `dir`/data/train.txt: `period` repeated `repeats` times; valid.txt: its first `valid_bytes`.
void write_periodic_data(const fs::path& dir, const std::string& period, int repeats, std::size_t valid_bytes) {
  fs::create_directories(dir / "data");
  std::string text;
  for (int i = 0; i < repeats; ++i) text += period;
  std::ofstream(dir / "data" / "train.txt") << text;
  std::ofstream(dir / "data" / "valid.txt") << text.substr(0, valid_bytes);
}

}  // namespace

TEST_CASE("char-lstm: the text becomes B streams side by side", "[char_lstm]") {
  const Tensor s = models::byte_streams("abcdefghij", 3);  // 10 bytes, 3 streams of 3
  REQUIRE(s.shape() == Shape{3, 3});
  REQUIRE(s.to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'});
  REQUIRE_THROWS_WITH(models::byte_streams("abc", 2), Catch::Matchers::Contains("too few"));
}

TEST_CASE("char-lstm: TBPTT carries the state across chunks and cuts the graph", "[char_lstm]") {
  manual_seed(3);
  models::CharLstm model({.embed_dim = 8, .hidden_size = 12, .num_layers = 2});
  const Tensor x = randint(0, 256, {10, 3});  // (T, B)
  // One pass over 10 steps equals 6 steps then 4 steps from the carried state.
  const auto [whole, whole_state] = model.forward(x, models::LstmState{});
  const auto [first, state] = model.forward(x.narrow(0, 0, 6), models::LstmState{});
  const models::LstmState carried = models::detach_state(state);
  REQUIRE(std::get<0>(carried).grad_fn() == nullptr);  // no history: BPTT stops here
  REQUIRE(std::get<0>(state).grad_fn() != nullptr);
  const auto [second, end_state] = model.forward(x.narrow(0, 6, 4), carried);
  REQUIRE(allclose(cat({first, second}, 0), whole, 1e-5, 1e-6));
  REQUIRE(allclose(std::get<1>(end_state), std::get<1>(whole_state), 1e-5, 1e-6));
  // The second chunk's loss depends on the first chunk's state by value only: no
  // gradient flows back into it (allow_unused: the graph does not reach it).
  const auto g = autograd::grad({second.sum()}, {std::get<0>(state), model.lstm->all_weights[0][0]},
                                {}, {.allow_unused = true});
  REQUIRE_FALSE(g[0].defined());
  REQUIRE(g[1].defined());
  // A new state differs from the carried one: the state is really used.
  const auto [fresh, fresh_state] = model.forward(x.narrow(0, 6, 4), models::LstmState{});
  REQUIRE_FALSE(allclose(fresh, second, 1e-5, 1e-6));
}

TEST_CASE("char-lstm: sampling is repeatable with a seed", "[char_lstm]") {
  manual_seed(4);
  models::CharLstm model({.embed_dim = 8, .hidden_size = 16});
  Generator a(7), b(7), c(8);
  const std::string s1 = models::sample_text(model, "Hello", 40, 1.0, a);
  const std::string s2 = models::sample_text(model, "Hello", 40, 1.0, b);
  const std::string s3 = models::sample_text(model, "Hello", 40, 1.0, c);
  REQUIRE(s1.size() == 45);
  REQUIRE(s1.rfind("Hello", 0) == 0);  // the prompt comes first
  REQUIRE(s1 == s2);
  REQUIRE(s1 != s3);  // 40 draws from nearly uniform bytes: equal only by a fluke
  // Temperature 0 always takes the most likely byte: the seed does not matter.
  Generator d(1), e(2);
  REQUIRE(models::sample_text(model, "x", 20, 0.0, d) == models::sample_text(model, "x", 20, 0.0, e));
}

TEST_CASE("char-lstm: training learns a periodic text, the model loads back", "[char_lstm]") {
  // A text with a period of 7 bytes is predictable after two bytes of context: the bpc
  // falls far below the 8 bits of a uniform guess.
  const fs::path dir = fs::temp_directory_path() / "zoo-test-char-lstm";
  fs::remove_all(dir);
  write_periodic_data(dir, "abcdef\n", 600, 700);
  models::CharLstmOptions o;
  o.model = {.embed_dim = 8, .hidden_size = 24};
  o.data_dir = (dir / "data").string();
  o.out = (dir / "run").string();
  o.steps = 150;
  o.batch_size = 8;
  o.seq_len = 16;
  o.lr = 1e-2;
  o.eval_every = 150;
  o.quiet = true;
  const models::CharLstmResult r = models::train_char_lstm(o);
  INFO("valid bpc " << r.valid_bpc);
  REQUIRE(r.valid_bpc < 1.0);
  REQUIRE(fs::exists(dir / "run" / "metrics.jsonl"));
  auto loaded = models::load_char_lstm((dir / "run" / "model.safetensors").string());
  REQUIRE(loaded->config.hidden_size == 24);
  // It continues the pattern.
  Generator gen(0);
  const std::string s = models::sample_text(*loaded, "abc", 11, 0.0, gen);
  REQUIRE(s == "abcdef\nabcdef\n");
}

namespace {

/// A small run on a periodic text in `dir`/data, with two LSTM layers and dropout
/// between them, so that a resumed run must restore the dropout generator as well as
/// the weights, Adam's moments and the carried state.
models::CharLstmOptions small_run(const fs::path& dir, const std::string& out) {
  write_periodic_data(dir, "the cat sat; ", 300, 500);
  models::CharLstmOptions o;
  o.model = {.embed_dim = 8, .hidden_size = 16, .num_layers = 2, .dropout = 0.2};
  o.data_dir = (dir / "data").string();
  o.out = (dir / out).string();
  o.steps = 30;
  o.batch_size = 4;
  o.seq_len = 16;  // 60 chunks a pass: the state is carried through every step here
  o.eval_every = 10;
  o.save_every = 8;
  o.lr = 1e-2;
  o.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("char-lstm: a run interrupted and resumed ends bit for bit as an uninterrupted one", "[char_lstm]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-char-lstm-resume";
  fs::remove_all(dir);
  const models::CharLstmOptions straight = small_run(dir, "straight");
  const models::CharLstmResult full = models::train_char_lstm(straight);
  REQUIRE(full.finished);

  // Stop after step 13: between two checkpoints (8, 16) and after a validation (10), so
  // the checkpoint must hold the running loss of steps 11-13 and the state after 13.
  models::CharLstmOptions o = small_run(dir, "resumed");
  o.stop_after = 13;
  const models::CharLstmResult stopped = models::train_char_lstm(o);
  REQUIRE_FALSE(stopped.finished);
  REQUIRE(stopped.steps == 13);
  const nn::Checkpoint ck = nn::load_checkpoint(fs::path(o.out) / "checkpoint.safetensors");
  REQUIRE(ck.step == 13);
  REQUIRE(ck.extra.at("state.h").shape() == Shape{2, 4, 16});  // (layers, B, H)

  o.stop_after = 0;
  o.resume = true;
  const models::CharLstmResult resumed = models::train_char_lstm(o);
  REQUIRE(resumed.finished);
  REQUIRE(resumed.valid_bpc == full.valid_bpc);
  REQUIRE(resumed.train_bpc == full.train_bpc);
  REQUIRE(resumed.sample == full.sample);
  test::require_same_weights(fs::path(straight.out) / "model.safetensors",
                             fs::path(o.out) / "model.safetensors");

  // zoo eval char-lstm's figure, from the weights or from the checkpoint, is the one
  // training reported.
  for (const char* file : {"model.safetensors", "checkpoint.safetensors"}) {
    INFO(file);
    auto model = models::load_char_lstm((fs::path(o.out) / file).string());
    REQUIRE(models::evaluate_bpc_on_file(*model, (dir / "data" / "valid.txt").string(), o.batch_size, o.seq_len) ==
            full.valid_bpc);
  }
}

TEST_CASE("char-lstm: resuming with other options, or without a checkpoint, is a clear error", "[char_lstm]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-char-lstm-resume-errors";
  fs::remove_all(dir);
  models::CharLstmOptions o = small_run(dir, "run");
  o.resume = true;
  REQUIRE_THROWS_WITH(models::train_char_lstm(o), Catch::Matchers::Contains("no checkpoint"));
  o.resume = false;
  o.stop_after = 5;
  models::train_char_lstm(o);
  o.stop_after = 0;
  o.resume = true;
  o.seq_len = 32;
  REQUIRE_THROWS_WITH(models::train_char_lstm(o), Catch::Matchers::Contains("seq_len = 16"));
  o.seq_len = 16;
  o.model.hidden_size = 32;
  REQUIRE_THROWS_WITH(models::train_char_lstm(o), Catch::Matchers::Contains("hidden_size"));
  REQUIRE_THROWS_WITH(models::evaluate_bpc_on_file(*models::load_char_lstm(o.out + "/checkpoint.safetensors"),
                                                   (dir / "data" / "missing.txt").string(), 4, 16),
                      Catch::Matchers::Contains("missing.txt"));
}
