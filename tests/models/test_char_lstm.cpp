// The byte-level LSTM language model: the stream layout of truncated BPTT, the state
// carried across chunks (and cut from the graph), sampling that a seed repeats, a tiny
// training run that learns a periodic text, and the saved model loading back.
#include <filesystem>
#include <fstream>
#include <string>

#include "models/char_lstm/model.h"
#include "models/char_lstm/train.h"
#include "test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

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
  fs::create_directories(dir / "data");
  std::string text;
  for (int i = 0; i < 600; ++i) text += "abcdef\n";
  std::ofstream(dir / "data" / "train.txt") << text;
  std::ofstream(dir / "data" / "valid.txt") << text.substr(0, 700);
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
