/// @file fuzz_bpe_encode.cpp
/// @brief libFuzzer target: the BPE encoder (`zoo::models::bpe::Tokenizer::encode`) on
/// any text, read as the transformer reads its corpus (`read_file_bytes`: plain or
/// gzipped).
///
/// The tokenizer is fixed: trained once, at start-up, on a short text with a special
/// token. The input is the text file. Its bytes must encode and decode back to
/// themselves with special tokens taken as text or allowed; with the default policy
/// (refuse), a special token in the text is a `zoo::Error` naming that token.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "models/bpe/model_file.h"
#include "models/bpe/trainer.h"

namespace bpe = zoo::models::bpe;

namespace {

/// The tokenizer every input is encoded with: 64 merges of a short mixed text, GPT-4's
/// split pattern, and "<|endoftext|>".
const bpe::Tokenizer& tokenizer() {
  static const bpe::Tokenizer trained = [] {
    bpe::TrainOptions options;
    options.vocab_size = 256 + 64 + 1;
    options.special_tokens = {"<|endoftext|>"};
    options.threads = 1;
    const std::string text =
        "the quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!\n"
        "Il était une fois, en été, un café où l'on parlait d'œuvres. 1234 5678 90\n"
        "  indented    lines\tand tabs\r\nthe the the there their then them these those\n";
    return bpe::train(text, options).tokenizer;
  }();
  return trained;
}

/// The ids of `text` under `policy`.
std::vector<bpe::TokenId> encode(const std::string& text, bpe::SpecialPolicy policy) {
  bpe::EncodeOptions options;
  options.specials = policy;
  options.threads = 1;
  return tokenizer().encode(text, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("bpe-encode");
  input.write(data, size);
  std::string text;
  if (!zoo::fuzz::accept_or_reject(input.name(), [&] { text = bpe::read_file_bytes(input.path()); })) return 0;

  const bpe::Tokenizer& t = tokenizer();
  zoo::fuzz::require(t.decode(encode(text, bpe::SpecialPolicy::as_text)) == text,
                     "decode(encode(text)) != text, special tokens as text");
  zoo::fuzz::require(t.decode(encode(text, bpe::SpecialPolicy::allow)) == text,
                     "decode(encode(text)) != text, special tokens allowed");
  bool refused = false;
  try {
    encode(text, bpe::SpecialPolicy::refuse);
  } catch (const zoo::Error& e) {
    refused = true;
    zoo::fuzz::require(std::string(e.what()).find("<|endoftext|>") != std::string::npos,
                       "a refused special token is not named");
  }
  zoo::fuzz::require(refused == (text.find("<|endoftext|>") != std::string::npos),
                     "the default policy refused a text without a special token, or let one through");
  return 0;
}
