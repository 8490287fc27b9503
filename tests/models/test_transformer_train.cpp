// Training the transformer language model end to end on a small generated text: it
// learns, its files load back, and an interrupted run resumes bit for bit.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "model_test_util.h"
#include "models/bpe/model_file.h"
#include "models/transformer/generate.h"
#include "models/transformer/train.h"

using namespace zoo;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

/// Sentences from a tiny grammar (subject, verb, object), drawn with a fixed seed: a text
/// with structure a small model can learn, written to `dir`/data/{train,valid}.txt.
void write_grammar_text(const fs::path& dir) {
  const std::vector<std::string> subjects{"the cat", "a dog", "my friend", "the old man", "she"};
  const std::vector<std::string> verbs{"sees", "likes", "finds", "follows"};
  const std::vector<std::string> objects{"the ball", "a red bird", "the river", "him", "our house"};
  Generator gen(42);
  const auto text = [&](int sentences) {
    std::string s;
    for (int i = 0; i < sentences; ++i)
      s += subjects[gen.randint(0, 5)] + " " + verbs[gen.randint(0, 4)] + " " + objects[gen.randint(0, 5)] + " .\n";
    return s;
  };
  fs::create_directories(dir / "data");
  std::ofstream(dir / "data" / "train.txt") << text(1500);
  std::ofstream(dir / "data" / "valid.txt") << text(100);
}

models::TransformerTrainOptions tiny_run(const fs::path& dir, const std::string& out, bool moe) {
  models::TransformerTrainOptions o;
  o.model.vocab_size = 300;
  o.model.d_model = 32;
  o.model.n_layers = 2;
  o.model.n_heads = 2;
  o.model.context = 16;
  o.model.ffn_hidden = 48;
  if (moe) {
    o.model.moe.routed_experts = 4;
    o.model.moe.shared_experts = 1;
    o.model.moe.expert_hidden = 16;
    o.model.moe.top_k = 2;
    o.model.moe.bias_update_rate = 0.01;
  }
  o.data_dir = (dir / "data").string();
  o.out = (dir / out).string();
  o.tokenizer = (dir / "tokenizer.bpe").string();  // trained once, shared by the runs
  o.batch_size = 8;
  o.lr = 3e-3;
  o.warmup_steps = 10;
  o.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("transformer: training learns a small grammar, and the model loads back", "[transformer][train]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-transformer-learn";
  fs::remove_all(dir);
  write_grammar_text(dir);
  for (bool moe : {false, true}) {
    models::TransformerTrainOptions o = tiny_run(dir, moe ? "moe" : "dense", moe);
    o.steps = 150;
    o.eval_every = 150;
    const models::TransformerTrainResult r = models::train_transformer(o);
    INFO((moe ? "moe" : "dense") << ": valid loss " << r.valid_loss);
    // Each sentence is 3 independent choices among 5, 4 and 5: about ln 100 = 4.6 nats
    // of real uncertainty spread over ~10 tokens; a uniform guess over 300 tokens costs
    // ln 300 = 5.7 nats per token. Learning the grammar brings the loss far below 1.5.
    REQUIRE(r.valid_loss < 1.5);
    REQUIRE(r.finished);
    if (moe) {
      REQUIRE(r.expert_load.size() == 2);  // one load per MoE layer
      REQUIRE(r.max_violation >= 0);
    }
    // The saved model and tokenizer give the same validation loss.
    auto model = models::load_transformer(o.out + "/model.safetensors");
    const models::bpe::Tokenizer tokenizer = models::bpe::load_tokenizer(fs::path(o.out) / "tokenizer.bpe");
    const auto ids = tokenizer.encode(models::bpe::read_file_bytes(dir / "data" / "valid.txt"));
    REQUIRE(models::evaluate_loss(*model, std::vector<std::int64_t>(ids.begin(), ids.end()), o.batch_size) ==
            Approx(r.valid_loss).epsilon(1e-6));
    // Greedy generation after "the cat" continues with a verb of the grammar.
    Generator gen(0);
    models::GenerateOptions g;
    g.max_new_tokens = 6;
    g.temperature = 0;
    const auto prompt = tokenizer.encode("the cat");
    const auto out = models::generate(*model, std::vector<std::int64_t>(prompt.begin(), prompt.end()), g, gen);
    const std::string text = tokenizer.decode(std::vector<models::bpe::TokenId>(out.begin(), out.end()));
    INFO(text);
    REQUIRE((text.find("sees") != std::string::npos || text.find("likes") != std::string::npos ||
             text.find("finds") != std::string::npos || text.find("follows") != std::string::npos));
  }
}

TEST_CASE("transformer: Muon trains the hidden matrices as well as AdamW", "[transformer][train]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-transformer-muon";
  fs::remove_all(dir);
  write_grammar_text(dir);
  models::TransformerTrainOptions o = tiny_run(dir, "muon", /*moe=*/true);
  o.optimizer = "muon";
  o.lr = 0.02;  // Muon's own scale; the embedding and routers use adamw_lr
  o.steps = 150;
  o.eval_every = 150;
  const models::TransformerTrainResult r = models::train_transformer(o);
  INFO("valid loss " << r.valid_loss);
  REQUIRE(r.valid_loss < 1.5);
}

TEST_CASE("transformer: an interrupted MoE run resumes bit for bit", "[transformer][train]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-transformer-resume";
  fs::remove_all(dir);
  write_grammar_text(dir);
  models::TransformerTrainOptions full = tiny_run(dir, "full", true);
  full.steps = 24;
  full.eval_every = 10;
  full.save_every = 7;
  const models::TransformerTrainResult a = models::train_transformer(full);

  models::TransformerTrainOptions part = tiny_run(dir, "part", true);
  part.steps = 24;
  part.eval_every = 10;
  part.save_every = 7;
  part.stop_after = 15;  // between two checkpoints: the resumed run starts from step 15
  REQUIRE_FALSE(models::train_transformer(part).finished);
  part.stop_after = 0;
  part.resume = true;
  const models::TransformerTrainResult b = models::train_transformer(part);
  REQUIRE(b.valid_loss == a.valid_loss);
  REQUIRE(b.train_loss == a.train_loss);
  // The weights and the balancing biases (buffers of the state dict) are equal.
  test::require_same_weights(fs::path(full.out) / "model.safetensors", fs::path(part.out) / "model.safetensors");

  // A resume with other options is refused with the reason.
  part.lr = 1e-2;
  REQUIRE_THROWS_WITH(models::train_transformer(part), Contains("lr"));
}
