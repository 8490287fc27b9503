#pragma once
/// @file tokenizer.h
/// @brief A byte-level BPE tokenizer: text → chunks → bytes → merged tokens, and back.
///
/// The vocabulary starts with the 256 byte values, so every byte string can be encoded:
/// no unknown token, no normalisation, `decode(encode(s)) == s` for any bytes, invalid
/// UTF-8 and NUL included. Each learned merge \f$(a, b) \to t\f$ adds one token whose
/// bytes are those of \f$a\f$ followed by those of \f$b\f$; merge \f$r\f$ (its *rank*,
/// from 0) makes token id \f$256 + r\f$. Special tokens (`<|endoftext|>`) come after.
///
/// Encoding a chunk: start from its bytes' ids; while some adjacent pair is a merge,
/// take the pair of lowest rank and merge every occurrence of it, left to right. This
/// replays training's merges in the order they were learned, and is what GPT-2 does.
/// Lesson: @ref tutorial_08_bpe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/bpe/pretokenizer.h"

namespace zoo::models::bpe {

/// A token id.
using TokenId = std::int32_t;

/// One learned merge: the adjacent tokens `left` `right` become one token.
struct Merge {
  TokenId left;   ///< id of the first token
  TokenId right;  ///< id of the second token
  /// Merges compare equal when they join the same two ids.
  bool operator==(const Merge&) const = default;
};

/// A special token: a string encoded atomically to one id, never split or merged.
struct SpecialToken {
  std::string text;  ///< e.g. "<|endoftext|>"
  TokenId id;        ///< its id, after the byte and merged tokens
};

/// What `encode` does with special-token strings found in the text.
enum class SpecialPolicy {
  refuse,   ///< a `zoo::Error` naming the token and where it is (the default, as tiktoken)
  allow,    ///< each occurrence becomes the special token's id
  as_text,  ///< they are ordinary text, split and merged like any other bytes
};

/// How to encode.
struct EncodeOptions {
  SpecialPolicy specials = SpecialPolicy::refuse;  ///< see `SpecialPolicy`
  int threads = 0;  ///< 0: `zoo::num_threads()`; texts under 64 KiB run on one thread
};

/// The 256 byte tokens' ids in byte order: 0..255 for zoo's models; GPT-2 numbers
/// them in the order of its bytes_to_unicode table.
using ByteIds = std::array<TokenId, 256>;

/// 0, 1, ..., 255.
ByteIds identity_byte_ids();

/// A byte-level BPE tokenizer. `encode` and `decode` are const and may run on many
/// threads at once; each `encode` call keeps its own chunk caches.
class Tokenizer {
 public:
  /// The 256 byte tokens, no merges, GPT-4's split pattern.
  Tokenizer();
  /// A tokenizer from its parts. Checks that each merge joins ids that exist before it,
  /// that `byte_ids` is a permutation of 0..255 and that special tokens are non-empty,
  /// distinct, and numbered after the merges without clashing.
  Tokenizer(std::vector<Merge> merges, std::string pattern, std::vector<SpecialToken> specials = {},
            ByteIds byte_ids = identity_byte_ids());

  /// Registers a special token; `id` -1 takes the next free id. An id may leave unused
  /// ids before it (GPT-4's tokenizer does), but at most `kMaxSpecialIdGap` of them:
  /// every id below the largest costs memory, and a damaged file must not ask for
  /// a billion of them.
  void add_special_token(const std::string& text, TokenId id = -1);

  /// How many unused ids a special token's id may skip past the last token.
  static constexpr TokenId kMaxSpecialIdGap = 1 << 16;

  /// The ids of `text`: split into chunks, each chunk's bytes merged (with a cache of
  /// chunk encodings), in parallel over blocks of lines for long texts.
  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;
  /// The ids of one chunk, merged as described in the file comment (no cache).
  std::vector<TokenId> encode_chunk(std::string_view chunk) const;
  /// The bytes the ids stand for. An id outside the vocabulary is a `zoo::Error`.
  std::string decode(std::span<const TokenId> ids) const;

  /// One more than the largest id.
  TokenId vocab_size() const { return static_cast<TokenId>(tokens_.size()); }
  /// The bytes of token `id` (a special token's text for a special).
  const std::string& token_bytes(TokenId id) const;
  /// True if `id` is a token (ids between the merges and a special may be unused).
  bool has_token(TokenId id) const;
  /// The merges in rank order; merge r made token 256 + r.
  const std::vector<Merge>& merges() const { return merges_; }
  /// The special tokens, in the order they were added.
  const std::vector<SpecialToken>& special_tokens() const { return specials_; }
  /// The id of each byte value.
  const ByteIds& byte_ids() const { return byte_ids_; }
  /// The split pattern.
  const Pretokenizer& pretokenizer() const { return pretokenizer_; }

 private:
  /// The merge rank of the pair (left, right), or INT32_MAX if it is not a merge.
  TokenId rank_of(TokenId left, TokenId right) const;
  /// `encode_chunk`'s merging for long chunks, in O(n log n) with a heap.
  void merge_long(std::vector<TokenId>& ids) const;

  Pretokenizer pretokenizer_;
  std::vector<Merge> merges_;
  std::vector<SpecialToken> specials_;
  ByteIds byte_ids_;
  std::vector<std::string> tokens_;  // id -> bytes ("" for unused ids)
  std::vector<bool> used_;           // id -> is a token
  std::unordered_map<std::uint64_t, TokenId> rank_;  // (left << 32 | right) -> merge rank
};

}  // namespace zoo::models::bpe
