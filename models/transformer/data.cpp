/// @file data.cpp
/// @brief Tokenizing the corpus and drawing windows.

#include "models/transformer/data.h"

#include "autograd/factories.h"
#include "models/bpe/model_file.h"
#include "models/bpe/trainer.h"

namespace zoo::models {
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path, std::int64_t limit) {
  ZOO_CHECK(fs::exists(path), "transformer: cannot read '{}' (run data/fetch_brown.sh to fetch the Brown corpus)",
            path.string());
  std::string text = bpe::read_file_bytes(path);
  if (limit > 0 && static_cast<std::int64_t>(text.size()) > limit) text.resize(static_cast<std::size_t>(limit));
  return text;
}

std::vector<std::int64_t> encode(const bpe::Tokenizer& tokenizer, const std::string& text) {
  const std::vector<bpe::TokenId> ids = tokenizer.encode(text);
  return std::vector<std::int64_t>(ids.begin(), ids.end());
}

}  // namespace

TokenizedCorpus tokenize_corpus(const std::string& data_dir, std::int64_t vocab_size,
                                const fs::path& tokenizer_path, std::int64_t train_bytes,
                                std::int64_t valid_bytes) {
  const std::string train = read_text(fs::path(data_dir) / "train.txt", train_bytes);
  const std::string valid = read_text(fs::path(data_dir) / "valid.txt", valid_bytes);
  TokenizedCorpus corpus;
  if (fs::exists(tokenizer_path)) {
    corpus.tokenizer = bpe::load_tokenizer(tokenizer_path);
  } else {
    bpe::TrainOptions options;
    options.vocab_size = vocab_size;
    corpus.tokenizer = bpe::train(train, options).tokenizer;
    if (!tokenizer_path.parent_path().empty()) fs::create_directories(tokenizer_path.parent_path());
    bpe::save_tokenizer(corpus.tokenizer, tokenizer_path);
    corpus.trained_tokenizer = true;
  }
  ZOO_CHECK(corpus.tokenizer.vocab_size() <= vocab_size,
            "transformer: the tokenizer '{}' has {} tokens, more than the model's vocabulary of {}",
            tokenizer_path.string(), corpus.tokenizer.vocab_size(), vocab_size);
  corpus.train = encode(corpus.tokenizer, train);
  corpus.valid = encode(corpus.tokenizer, valid);
  return corpus;
}

Tensor random_windows(const std::vector<std::int64_t>& tokens, std::int64_t batch, std::int64_t length,
                      Generator& gen) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  ZOO_CHECK(batch > 0 && length > 0 && n >= length,
            "random_windows: {} windows of {} tokens from a text of {} tokens", batch, length, n);
  std::vector<std::int64_t> out(static_cast<std::size_t>(batch * length));
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t start = gen.randint(0, n - length + 1);
    std::copy(tokens.begin() + start, tokens.begin() + start + length, out.begin() + b * length);
  }
  return from_vector(out, {batch, length});
}

}  // namespace zoo::models
