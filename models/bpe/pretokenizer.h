#pragma once
/// @file pretokenizer.h
/// @brief Pre-tokenization: cutting text into chunks with a Unicode-aware regex (PCRE2)
/// before byte-pair merges run inside each chunk.
///
/// A byte-level BPE never merges across chunk boundaries, so the regex decides which
/// bytes may ever become one token: letters with their leading space (" the"), runs of at
/// most three digits, punctuation, whitespace. The GPT-2 and GPT-4 patterns are given as
/// named constants. Matching runs on the bytes of the text, as UTF-8 with Unicode
/// properties (`\p{L}` letters, `\p{N}` numbers), compiled to machine code by PCRE2's JIT.
///
/// Every byte of the text lands in exactly one chunk, in order, so the chunks
/// concatenate back to the text. Bytes that no match covers (invalid UTF-8, which PCRE2
/// never matches; or text a custom pattern leaves out) form chunks of their own, one per
/// uncovered run. Lesson: @ref tutorial_08_bpe.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zoo::models::bpe {

/// GPT-4's split pattern (tiktoken's `cl100k_base`): contractions case-insensitively, a
/// letter run with at most one leading non-letter (" the", "(foo"), numbers in runs of at
/// most three digits, punctuation runs with the line breaks after them, line breaks, and
/// whitespace that leaves its last space to the next word.
inline constexpr std::string_view kGpt4Pattern =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";

/// GPT-2's split pattern (`encoder.py`): lower-case contractions, letter, number and
/// punctuation runs each with an optional leading space, then whitespace.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

/// "gpt4" and "gpt2" name the patterns above; any other string is taken as a regex.
std::string resolve_pattern(std::string_view name_or_regex);

/// Receives one chunk of the text: a view into the text being split.
using ChunkFn = std::function<void(std::string_view chunk)>;

/// A compiled split pattern. Copies share the compiled code; `split` may be called from
/// many threads at once (each call has its own match state).
class Pretokenizer {
 public:
  /// Compiles `pattern` (UTF-8 mode, Unicode properties, invalid UTF-8 allowed in the
  /// subject, JIT). A pattern PCRE2 rejects is a `zoo::Error` naming the offset and reason.
  explicit Pretokenizer(std::string pattern = std::string(kGpt4Pattern));

  /// The pattern's source text.
  const std::string& pattern() const;

  /// Calls `on_chunk` for each chunk of `text`, in order.
  void split(std::string_view text, const ChunkFn& on_chunk) const;
  /// The chunks of `text`, as views into it.
  std::vector<std::string_view> chunks(std::string_view text) const;

  /// Splits `text[begin, end)` exactly as `split(text)` would cut that stretch, provided
  /// a chunk of the whole text starts at `begin`: matching sees the whole text, so a
  /// lookahead such as `\s+(?!\S)` looks past `end`. Returns false, having stopped, if a
  /// chunk would run past `end` (then `end` was not a chunk boundary).
  bool split_range(std::string_view text, std::size_t begin, std::size_t end,
                   const ChunkFn& on_chunk) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

/// A stretch `[begin, end)` of a text.
struct Block {
  std::size_t begin;  ///< first byte
  std::size_t end;    ///< one past the last byte
};

/// Cuts `text` into blocks of about `target_bytes` for parallel splitting. Each cut is
/// right after a '\n' that is followed by a printable ASCII character other than space.
/// Neither pattern above can put that '\n' and that character in one chunk (a chunk that
/// holds a line break is whitespace or ends in line breaks), so every cut is a chunk
/// boundary and the blocks split to the same chunks as the whole text. For other
/// patterns `split_range` tells when a cut was not a boundary.
std::vector<Block> cut_blocks(std::string_view text, std::size_t target_bytes);

/// Runs `work(index, thread)` for index in [0, n) on `threads` OpenMP threads (dynamic
/// schedule), `thread` in [0, threads). The first exception thrown is rethrown after.
void parallel_for_each(std::size_t n, int threads, const std::function<void(std::size_t, int)>& work);

}  // namespace zoo::models::bpe
