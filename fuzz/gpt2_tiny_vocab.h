#pragma once
/// @file gpt2_tiny_vocab.h
/// @brief A GPT-2 `vocab.bpe` small enough to fuzz with: the first 23 merges of GPT-2's
/// file, then two of our own that join non-ASCII characters ("Ã ©", the two bytes of
/// 'é'; "Ċ Ċ", two newlines). `fuzz_make_seeds` writes it as a seed of `fuzz_gpt2_vocab`
/// and builds the complete `encoder.json` seed of `fuzz_gpt2_encoder` from it;
/// `fuzz_gpt2_encoder` checks its inputs against the tokenizer it makes.

#include <string_view>

namespace zoo::fuzz {

/// The file's text: a `#version` line, then one merge "A B" per line, in rank order.
inline constexpr std::string_view kTinyGpt2VocabBpe =
    "#version: 0.2\n"
    "Ġ t\nĠ a\nh e\ni n\nr e\no n\nĠt he\ne r\nĠ s\na t\nĠ w\nĠ o\n"
    "e n\nĠ c\ni t\ni s\na n\no r\ne s\nĠ b\ne d\nĠ f\nin g\n"
    "Ã ©\nĊ Ċ\n";

}  // namespace zoo::fuzz
