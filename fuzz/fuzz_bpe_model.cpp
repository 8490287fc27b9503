/// @file fuzz_bpe_model.cpp
/// @brief libFuzzer target: the BPE model loader (`zoo::models::bpe::load_tokenizer`, the
/// `zoo-bpe 1` text format, plain or gzipped) on any bytes.
///
/// The input is the file: the split pattern (a PCRE2 regex from the file), the byte ids,
/// the merges, the special tokens. A tokenizer that loads must be usable and exact:
/// a sample text (ASCII, UTF-8, invalid UTF-8, its own special tokens) encodes and
/// decodes back to itself, and writing the tokenizer out and parsing that again gives
/// the same file.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "models/bpe/model_file.h"

namespace bpe = zoo::models::bpe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("bpe-model");
  input.write(data, size);
  zoo::fuzz::accept_or_reject(input.name(), [&] {
    const bpe::Tokenizer tokenizer = bpe::load_tokenizer(input.path());
    std::string sample = "Hello world, it's 2024!\n  the café\xff\xfe ünïcödé\t\r\n";
    for (const bpe::SpecialToken& s : tokenizer.special_tokens()) sample += s.text + " x";
    bpe::EncodeOptions options;
    options.specials = bpe::SpecialPolicy::allow;
    options.threads = 1;
    const std::vector<bpe::TokenId> ids = tokenizer.encode(sample, options);
    zoo::fuzz::require(tokenizer.decode(ids) == sample, "decode(encode(sample)) != sample");
    const std::string text = bpe::tokenizer_to_text(tokenizer);
    const std::string again = bpe::tokenizer_to_text(bpe::tokenizer_from_text(text, input.name()));
    zoo::fuzz::require(again == text, "the tokenizer's file changed when written and read again");
  });
  return 0;
}
