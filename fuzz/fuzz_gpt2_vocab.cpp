/// @file fuzz_gpt2_vocab.cpp
/// @brief libFuzzer target: GPT-2's `vocab.bpe` reader (`zoo::models::bpe::load_gpt2`,
/// plain or gzipped; `zoo bpe encode --model vocab.bpe` reads it the same way) on any
/// bytes.
///
/// The input is the file: a `#version` line, then merges "A B" written in GPT-2's
/// byte-to-character table. A tokenizer that loads must be exact and must say what the
/// file said: a sample text (with `<|endoftext|>`, id 256 + merges) encodes and decodes
/// back to itself, and writing its merges in GPT-2's characters gives the file's merge
/// lines again, so the table was read as its inverse.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"

namespace bpe = zoo::models::bpe;

namespace {

/// The tokenizer's merges as `vocab.bpe` lines, "A B\n" each, in rank order.
std::string merge_lines(const bpe::Tokenizer& tokenizer) {
  std::string lines;
  for (const bpe::Merge& m : tokenizer.merges())
    lines += bpe::gpt2_token_string(tokenizer.token_bytes(m.left)) + " " +
             bpe::gpt2_token_string(tokenizer.token_bytes(m.right)) + "\n";
  return lines;
}

/// The file's non-empty lines after the first, each ended by "\n", split as the reader
/// splits them (`next_line`: a "\r" before the "\n" is dropped).
std::string file_merge_lines(std::string_view file) {
  std::string lines;
  std::size_t pos = 0;
  std::string_view line;
  for (bool first = true; bpe::next_line(file, pos, line); first = false)
    if (!first && !line.empty()) lines += std::string(line) + "\n";
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("gpt2-vocab");
  input.write(data, size);
  zoo::fuzz::accept_or_reject(input.name(), [&] {
    const bpe::Tokenizer tokenizer = bpe::load_gpt2(input.path());
    const auto end_of_text = static_cast<bpe::TokenId>(256 + tokenizer.merges().size());
    zoo::fuzz::require(tokenizer.vocab_size() == end_of_text + 1 && tokenizer.token_bytes(end_of_text) == "<|endoftext|>",
                       "<|endoftext|> does not follow the merges");
    const std::string sample = "Hello world, it's 2024!\n\n  the café\xff\xfe<|endoftext|> ünïcödé\t\r\n";
    bpe::EncodeOptions options;
    options.specials = bpe::SpecialPolicy::allow;
    options.threads = 1;
    zoo::fuzz::require(tokenizer.decode(tokenizer.encode(sample, options)) == sample, "decode(encode(sample)) != sample");
    const std::string_view file(reinterpret_cast<const char*>(data), size);
    const bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!gzipped)
      zoo::fuzz::require(merge_lines(tokenizer) == file_merge_lines(file),
                         "the merges written in GPT-2's characters differ from the file's lines");
  });
  return 0;
}
