#pragma once
/// @file model_file.h
/// @brief The tokenizer's file: a small versioned text format a person can read, and
/// the escaped strings it (and `zoo bpe show`) writes tokens as.
///
/// ```text
/// zoo-bpe 1
/// # comments and blank lines are ignored
/// pattern "'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|..."
/// bytes identity
/// merges 7936
/// 32 116 " t"
/// 104 101 "he"
/// 256 258 " the"
/// ...
/// special 8192 "<|endoftext|>"
/// end
/// ```
///
/// Line 1 names the format and its version. `pattern` is the split regex. `bytes` is
/// `identity` (byte b is token b) or the 256 ids of bytes 0..255. `merges N` is followed
/// by N lines, one merge each in rank order: the two ids it joins and, for the reader
/// (and as a check), the new token's bytes; merge r makes token 256 + r. Then the
/// special tokens with their ids, and `end`, so a cut-off file is noticed. Strings are
/// in double quotes with C-like escapes (see `escape_bytes`). Loading checks everything
/// and names the file, the line and the reason for the first problem found.
///
/// Lesson: @ref tutorial_08_bpe.

#include <filesystem>
#include <string>
#include <string_view>

#include "models/bpe/tokenizer.h"

namespace zoo::models::bpe {

/// The format's version, written on the first line ("zoo-bpe 1").
inline constexpr int kModelFileVersion = 1;

/// `bytes` as a readable string, without the quotes. Printable ASCII stays as it is,
/// and so does a complete UTF-8 character from U+00A0 up (so "café" reads as such),
/// except the line and paragraph separators U+2028, U+2029 and the BOM U+FEFF. The rest
/// is escaped as in C:
///
/// ```text
/// backslash  \\        double quote  \"        line feed  \n     tab  \t     carriage return  \r
/// any other byte (controls, NUL, DEL, a fragment of a UTF-8 sequence)  \xHH, two lower-case hex digits
/// ```
///
/// `unescape_bytes` inverts it exactly.
std::string escape_bytes(std::string_view bytes);

/// The bytes an escaped string (without quotes) stands for. A backslash followed by
/// anything but the escapes `escape_bytes` writes is a `zoo::Error`.
std::string unescape_bytes(std::string_view escaped);

/// Writes `tokenizer` to `path` in the format above, atomically.
void save_tokenizer(const Tokenizer& tokenizer, const std::filesystem::path& path);

/// The format above as a string (what `save_tokenizer` writes).
std::string tokenizer_to_text(const Tokenizer& tokenizer);

/// Reads a tokenizer written by `save_tokenizer`. A damaged file is a `zoo::Error`
/// "FILE:LINE: reason".
Tokenizer load_tokenizer(const std::filesystem::path& path);

/// Parses the format from a string; `name` stands for the file in error messages.
Tokenizer tokenizer_from_text(std::string_view text, const std::string& name);

/// Reads the line of `text` that starts at `pos` into `line` (without its "\n" or
/// "\r\n") and moves `pos` past it; false when `pos` is at the end.
bool next_line(std::string_view text, std::size_t& pos, std::string_view& line);

/// A whole file's bytes, gunzipped if it is gzip-compressed.
std::string read_file_bytes(const std::filesystem::path& path);

}  // namespace zoo::models::bpe
