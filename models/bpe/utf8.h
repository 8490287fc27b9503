#pragma once
/// @file utf8.h
/// @brief The two UTF-8 helpers the tokenizer files need: reading one character,
/// writing one code point.

#include <cstddef>
#include <string>
#include <string_view>

namespace zoo::models::bpe {

/// The length (2 to 4) of the valid multi-byte UTF-8 sequence at `s[i]`, with its code
/// point in `cp`; 0 if the bytes there are not one (ASCII bytes included: the callers
/// handle those first). Overlong forms, surrogates and values above U+10FFFF are invalid,
/// as the standard says.
int utf8_sequence(std::string_view s, std::size_t i, char32_t& cp);

/// Appends code point `cp` (at most U+10FFFF) to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

}  // namespace zoo::models::bpe
