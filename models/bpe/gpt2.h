#pragma once
/// @file gpt2.h
/// @brief GPT-2's published byte-level BPE (`vocab.bpe`, `encoder.json`) loaded into a
/// zoo `Tokenizer`, so that zoo encodes text to exactly GPT-2's token ids.
///
/// GPT-2's files do not hold bytes: every byte is first mapped to a printable Unicode
/// character by `bytes_to_unicode` (the 188 printable bytes of Latin-1 map to
/// themselves, the other 68, space and controls among them, to U+0100 onwards; so
/// " the" is written "Ġthe"). `vocab.bpe` lists the 50,000 merges in rank order, one
/// "A B" per line after a `#version` line; `encoder.json` maps each token's string to
/// its id. The ids follow from `vocab.bpe` alone: ids 0..255 are the bytes in the
/// order of that table, merge r makes id 256 + r, and `<|endoftext|>` is 50256.
/// `check_gpt2_encoder_file` confirms that against `encoder.json`.
///
/// Lesson: @ref tutorial_08_bpe.

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "models/bpe/tokenizer.h"

namespace zoo::models::bpe {

/// GPT-2's `bytes_to_unicode`: the code point that stands for each byte.
std::array<char32_t, 256> gpt2_byte_to_unicode();

/// GPT-2's id of each byte: its position in `bytes_to_unicode`'s order ('!' is 0,
/// 'a' is 64, space is 220).
ByteIds gpt2_byte_ids();

/// A token's bytes written as GPT-2's files write them (UTF-8 of the mapped characters).
std::string gpt2_token_string(std::string_view bytes);

/// GPT-2's tokenizer from the text of `vocab.bpe`: its merges, GPT-2's split pattern,
/// `<|endoftext|>` as 50256. `name` names the file in errors ("FILE:LINE: reason").
Tokenizer gpt2_from_vocab_bpe(std::string_view text, const std::string& name);

/// `gpt2_from_vocab_bpe` on a file (plain or gzipped).
Tokenizer load_gpt2(const std::filesystem::path& vocab_bpe);

/// Checks that every entry of `encoder` (an `encoder.json` object, string → id, or a
/// part of one) names the token with the same bytes in `tokenizer`; with `complete`,
/// also that the sizes agree. The first difference is a `zoo::Error` that begins with
/// `name` ("encoder.json: 'Ġthe' has id 1, but ...").
void check_gpt2_encoder(const Tokenizer& tokenizer, const nlohmann::json& encoder, bool complete,
                        const std::string& name);

/// `check_gpt2_encoder` on the file `encoder_json` (plain or gzipped). A file that is not
/// JSON, or that gives one token twice (JSON keeps only the last, which would hide the
/// first from the check), is a `zoo::Error` naming the file too.
void check_gpt2_encoder_file(const Tokenizer& tokenizer, const std::filesystem::path& encoder_json, bool complete);

}  // namespace zoo::models::bpe
