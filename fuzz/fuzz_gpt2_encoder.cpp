/// @file fuzz_gpt2_encoder.cpp
/// @brief libFuzzer target: GPT-2's `encoder.json` reader and check
/// (`zoo::models::bpe::check_gpt2_encoder_file`, plain or gzipped) on any bytes.
///
/// `encoder.json` is read apart from `vocab.bpe`: it is checked against a tokenizer that
/// is already loaded, here the one `gpt2_tiny_vocab.h` makes (282 ids), built once. The
/// input is the JSON file, checked as a sample and as the complete vocabulary. What it
/// accepts must be true: every entry's id is one of the tokenizer's, and the token
/// written in GPT-2's characters is the entry's name (or the name is the special token
/// itself); accepted as complete, it has one entry per id.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_input.h"
#include "fuzz/gpt2_tiny_vocab.h"
#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"

namespace bpe = zoo::models::bpe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("gpt2-encoder");
  static const bpe::Tokenizer tokenizer = bpe::gpt2_from_vocab_bpe(zoo::fuzz::kTinyGpt2VocabBpe, "tiny vocab.bpe");
  input.write(data, size);
  for (const bool complete : {false, true}) {
    zoo::fuzz::accept_or_reject(input.name(), [&] {
      bpe::check_gpt2_encoder_file(tokenizer, input.path(), complete);
      const auto encoder = nlohmann::json::parse(bpe::read_file_bytes(input.path()));
      for (const auto& [token, value] : encoder.items()) {
        const std::int64_t id = value.get<std::int64_t>();
        zoo::fuzz::require(id >= 0 && id < tokenizer.vocab_size(), "an id outside the vocabulary was accepted");
        const std::string& bytes = tokenizer.token_bytes(static_cast<bpe::TokenId>(id));
        zoo::fuzz::require(bpe::gpt2_token_string(bytes) == token || bytes == token,
                           "an entry was accepted that does not name its token");
      }
      if (complete)
        zoo::fuzz::require(encoder.size() == static_cast<std::size_t>(tokenizer.vocab_size()),
                           "accepted as complete without one entry per id");
    });
  }
  return 0;
}
