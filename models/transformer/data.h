#pragma once
/// @file data.h
/// @brief The Brown corpus as BPE tokens for the transformer: a tokenizer trained on the
/// training text, both texts encoded, and random windows of tokens as batches.
///
/// Lesson: @ref tutorial_15_attention_transformer.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/tensor.h"
#include "models/bpe/tokenizer.h"

namespace zoo::models {

/// A corpus as token ids, with the tokenizer that made them.
struct TokenizedCorpus {
  bpe::Tokenizer tokenizer;          ///< trained on the training text only
  std::vector<std::int64_t> train;   ///< ids of train.txt
  std::vector<std::int64_t> valid;   ///< ids of valid.txt
  bool trained_tokenizer = false;    ///< false if it was read from `tokenizer_path`
};

/// Reads `data_dir`/train.txt and valid.txt (their first `train_bytes` / `valid_bytes`
/// bytes; 0: all), and encodes both with a byte-level BPE tokenizer of `vocab_size`
/// tokens. The tokenizer is read from `tokenizer_path` if that file exists (a resumed
/// run, or another model on the same data); otherwise it is trained on the training
/// text, never the validation text, and saved there. A missing text is an error naming
/// it and the fetch script.
TokenizedCorpus tokenize_corpus(const std::string& data_dir, std::int64_t vocab_size,
                                const std::filesystem::path& tokenizer_path, std::int64_t train_bytes = 0,
                                std::int64_t valid_bytes = 0);

/// B windows of `length` consecutive tokens, each starting at a uniform random offset
/// in [0, n − length] drawn from `gen`: (B, length) int64. A language-model batch is
/// such windows of T + 1 tokens: inputs are the first T, targets the last T.
Tensor random_windows(const std::vector<std::int64_t>& tokens, std::int64_t batch, std::int64_t length,
                      Generator& gen);

}  // namespace zoo::models
