// Checkpoints: a round trip of model, optimizer, position, generator states and config;
// the file is plain safetensors; damaged files and misuse are errors naming the file.
#include "io_test_util.h"
#include "nn/io/checkpoint.h"
#include "nn/io/metadata_values.h"
#include "nn/io/safetensors.h"

using namespace zoo;
using namespace zoo::nn;
using test::TempDir;

namespace {

/// A checkpoint as a trainer would fill it.
Checkpoint sample_checkpoint(Generator& model_rng, Generator& loader_rng) {
  Checkpoint c;
  c.model.insert("fc1.weight", randn({4, 3}, kFloat32, model_rng));
  c.model.insert("fc1.bias", zeros({4}));
  c.optimizer.insert("0.exp_avg", randn({4, 3}, kFloat32, model_rng));
  c.optimizer.insert("0.step", scalar_tensor(17, kInt64));
  c.extra.insert("lstm_state.h", randn({1, 2, 3}, kFloat32, model_rng));
  c.step = 1234;
  c.epoch = 3;
  c.generators["default"] = model_rng.get_state();
  c.generators["loader"] = loader_rng.get_state();
  c.metadata["config"] = R"({"model": "mlp", "lr": 0.001, "batch_size": 64})";
  return c;
}

}  // namespace

TEST_CASE("checkpoint: everything round-trips", "[checkpoint]") {
  TempDir dir;
  Generator model_rng(1), loader_rng(2);
  const Checkpoint saved = sample_checkpoint(model_rng, loader_rng);
  save_checkpoint(dir / "ckpt.safetensors", saved);
  const Checkpoint loaded = load_checkpoint(dir / "ckpt.safetensors");

  REQUIRE(loaded.model.size() == 2);
  REQUIRE(loaded.optimizer.size() == 2);
  REQUIRE(loaded.extra.size() == 1);
  CHECK(test::same_bytes(saved.extra.at("lstm_state.h"), loaded.extra.at("lstm_state.h")));
  for (const auto& [name, t] : saved.model) CHECK(test::same_bytes(t, loaded.model.at(name)));
  for (const auto& [name, t] : saved.optimizer)
    CHECK(test::same_bytes(t, loaded.optimizer.at(name)));
  CHECK(loaded.step == 1234);
  CHECK(loaded.epoch == 3);
  CHECK(loaded.generators == saved.generators);
  CHECK(loaded.metadata == saved.metadata);

  // Restored generators continue exactly where the saved ones were.
  Generator restored_model(99), restored_loader(99);
  restored_model.set_state(loaded.generators.at("default"));
  restored_loader.set_state(loaded.generators.at("loader"));
  for (int i = 0; i < 5; ++i) {
    CHECK(restored_model.next_u64() == model_rng.next_u64());
    CHECK(restored_loader.next_u64() == loader_rng.next_u64());
  }
}

TEST_CASE("checkpoint: the file is an ordinary safetensors file", "[checkpoint]") {
  TempDir dir;
  Generator a(1), b(2);
  save_checkpoint(dir / "ckpt.safetensors", sample_checkpoint(a, b));
  const SafetensorsFile raw = load_safetensors(dir / "ckpt.safetensors");
  for (const char* name :
       {"model.fc1.weight", "model.fc1.bias", "optim.0.exp_avg", "optim.0.step", "extra.lstm_state.h"}) {
    INFO(name);
    CHECK(raw.tensors.contains(name));
  }
  CHECK(raw.metadata.at("format") == "zoo-checkpoint");
  CHECK(raw.metadata.at("step") == "1234");
  CHECK(raw.metadata.at("epoch") == "3");
  CHECK(raw.metadata.count("rng.default") == 1);
  CHECK(raw.metadata.count("rng.loader") == 1);
  CHECK(raw.metadata.count("config") == 1);
}

TEST_CASE("checkpoint: saving again replaces the previous checkpoint", "[checkpoint]") {
  TempDir dir;
  Generator a(1), b(2);
  Checkpoint c = sample_checkpoint(a, b);
  save_checkpoint(dir / "ckpt.safetensors", c);
  c.step = 2000;
  c.model = StateDict();
  c.model.insert("w", ones({2}));
  save_checkpoint(dir / "ckpt.safetensors", c);
  const Checkpoint loaded = load_checkpoint(dir / "ckpt.safetensors");
  CHECK(loaded.step == 2000);
  CHECK(loaded.model.size() == 1);
  CHECK(loaded.model.contains("w"));
}

TEST_CASE("checkpoint: a truncated or damaged checkpoint is an error naming the file",
          "[checkpoint]") {
  TempDir dir;
  Generator a(1), b(2);
  save_checkpoint(dir / "full.safetensors", sample_checkpoint(a, b));
  const std::string bytes = test::read_bytes(dir / "full.safetensors");
  const auto path = dir / "damaged.safetensors";
  for (std::size_t cut : {std::size_t{0}, std::size_t{4}, std::size_t{8}, std::size_t{100},
                          bytes.size() / 2, bytes.size() - 1}) {
    INFO("cut after " << cut << " bytes");
    test::write_bytes(path, bytes.substr(0, cut));
    test::require_error_naming(path, [&] { load_checkpoint(path); });
  }
  std::string flipped = bytes;
  flipped[8] = '#';  // the header's opening brace
  test::write_bytes(path, flipped);
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "JSON");
}

TEST_CASE("checkpoint: a damaged generator state is an error naming the file (fuzzing)",
          "[checkpoint]") {
  // Found by fuzz/fuzz_checkpoint.cpp: "rng.default" with digits inserted into one of
  // its numbers loaded, and restoring it threw Generator::set_state's error, which
  // cannot name the file.
  TempDir dir;
  const auto path = dir / "ckpt.safetensors";
  Checkpoint checkpoint;
  checkpoint.generators["default"] = "12 not the 312 words of an mt19937_64";
  save_checkpoint(path, checkpoint);
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "the generator state 'rng.default' is damaged");
}

TEST_CASE("checkpoint: files that are not checkpoints, and bad metadata", "[checkpoint]") {
  TempDir dir;
  const auto path = dir / "x.safetensors";
  StateDict weights;
  weights.insert("fc.weight", ones({2}));
  save_safetensors(path, weights);
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "not a zoo checkpoint");

  StateDict tagged;
  tagged.insert("model.w", ones({1}));
  save_safetensors(path, tagged, {{"format", "zoo-checkpoint"}, {"step", "-4"}, {"epoch", "0"}});
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "'step'");
  save_safetensors(path, tagged, {{"format", "zoo-checkpoint"}, {"step", "12x"}, {"epoch", "0"}});
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "12x");
  save_safetensors(path, tagged, {{"format", "zoo-checkpoint"}, {"step", "1"}});
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "'epoch'");

  StateDict stray;
  stray.insert("stray", ones({1}));
  save_safetensors(path, stray, {{"format", "zoo-checkpoint"}, {"step", "1"}, {"epoch", "0"}});
  test::require_error_naming(
      path, [&] { load_checkpoint(path); }, "'stray'");

  Checkpoint reserved;
  reserved.metadata["rng.sneaky"] = "1";
  test::require_error_naming(
      path, [&] { save_checkpoint(path, reserved); }, "reserved");
  Checkpoint negative;
  negative.step = -1;
  test::require_error_naming(
      path, [&] { save_checkpoint(path, negative); }, "step -1");
}

TEST_CASE("checkpoint: a missing or malformed value is an error naming the file and the key",
          "[checkpoint]") {
  // What a resumed trainer reads: std::stoll and map::at would throw std::invalid_argument
  // and std::out_of_range, naming neither the file nor the key.
  TempDir dir;
  const auto path = dir / "ckpt.safetensors";
  Checkpoint saved;
  saved.metadata = {{"next_batch", "7"},    {"loss_sum", "2.5"},   {"trailing", "12x"}, {"word", "abc"},
                    {"huge", "99999999999999999999"}, {"overflow", "1e999"}, {"empty", ""}};
  saved.extra.insert("state.h", zeros({2}));
  saved.generators["default"] = Generator(1).get_state();
  save_checkpoint(path, saved);
  const Checkpoint ck = load_checkpoint(path);

  CHECK(ck.source == path);
  CHECK(ck.metadata_text("word") == "abc");
  CHECK(ck.metadata_int("next_batch") == 7);
  CHECK(ck.metadata_double("loss_sum") == 2.5);
  CHECK(ck.metadata_double("next_batch") == 7.0);
  CHECK(ck.generator_state("default") == saved.generators.at("default"));
  CHECK(ck.extra_tensor("state.h").numel() == 2);

  const auto fails = [&](auto read, const std::string& fragment) { test::require_error_naming(path, read, fragment); };
  fails([&] { ck.metadata_text("epoch_loss_sum"); }, "metadata 'epoch_loss_sum' is missing");
  fails([&] { ck.metadata_int("epoch_loss_sum"); }, "metadata 'epoch_loss_sum' is missing");
  fails([&] { ck.metadata_int("trailing"); }, "metadata 'trailing': '12x' is not an integer");
  fails([&] { ck.metadata_int("word"); }, "metadata 'word': 'abc' is not an integer");
  fails([&] { ck.metadata_int("loss_sum"); }, "metadata 'loss_sum': '2.5' is not an integer");
  fails([&] { ck.metadata_int("empty"); }, "metadata 'empty': '' is not an integer");
  fails([&] { ck.metadata_int("huge"); }, "metadata 'huge': '99999999999999999999' is out of the range");
  fails([&] { ck.metadata_double("word"); }, "metadata 'word': 'abc' is not a number");
  fails([&] { ck.metadata_double("trailing"); }, "metadata 'trailing': '12x' is not a number");
  fails([&] { ck.metadata_double("overflow"); }, "metadata 'overflow': '1e999' is out of the range of a double");
  fails([&] { ck.generator_state("loader"); }, "no generator state 'rng.loader'");
  fails([&] { ck.extra_tensor("state.c"); }, "no tensor 'extra.state.c'");
}

TEST_CASE("metadata values: lists of integers, and a long damaged value is shown cut short",
          "[checkpoint]") {
  const std::filesystem::path file = "model.safetensors";
  const SafetensorsMetadata metadata = {
      {"mults", "1,2,2"}, {"none", ""}, {"trailing", "1,2,"}, {"gap", "1,,2"}, {"long", std::string(1000, '7') + "x"}};
  CHECK(metadata_int_list(metadata, "mults", file) == std::vector<std::int64_t>{1, 2, 2});
  CHECK(metadata_int_list(metadata, "none", file).empty());
  test::require_error_naming(file, [&] { metadata_int_list(metadata, "trailing", file); }, "'trailing': '' is not");
  test::require_error_naming(file, [&] { metadata_int_list(metadata, "gap", file); }, "'gap': '' is not");
  try {
    metadata_int(metadata, "long", file);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 200);
  }
}
