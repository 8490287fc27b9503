/// @file tokenizer.cpp
/// @brief Encoding by merge rank with a cache of chunk encodings, in parallel over
/// blocks of lines; decoding by concatenation.

#include "models/bpe/tokenizer.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <queue>

#include "autograd/error.h"
#include "autograd/parallel.h"

namespace zoo::models::bpe {
namespace {

constexpr TokenId kNoRank = std::numeric_limits<TokenId>::max();
constexpr std::size_t kLongChunk = 64;  // longer chunks are merged with a heap

std::uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

/// Hashes std::string and std::string_view alike, so the cache is probed with a view
/// of the text and a string is built only when a new chunk is stored.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// Chunk bytes -> ids, one per thread. Chunks are few and repeat (Brown's 1.2 million
/// words are about 50,000 distinct chunks), so most chunks are merged only once.
class ChunkCache {
 public:
  static constexpr std::size_t kMaxChunkBytes = 256;    // longer chunks are rare: not stored
  static constexpr std::size_t kMaxEntries = 1 << 20;  // then start afresh (bounded memory)

  /// Appends the ids of `chunk` to `out`.
  void encode(const Tokenizer& tokenizer, std::string_view chunk, std::vector<TokenId>& out) {
    if (chunk.size() == 1) {  // a byte is its own token: no lookup needed
      out.push_back(tokenizer.byte_ids()[static_cast<unsigned char>(chunk[0])]);
      return;
    }
    if (const auto it = map_.find(chunk); it != map_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
    std::vector<TokenId> ids = tokenizer.encode_chunk(chunk);
    out.insert(out.end(), ids.begin(), ids.end());
    if (chunk.size() <= kMaxChunkBytes) {
      if (map_.size() >= kMaxEntries) map_.clear();
      map_.emplace(std::string(chunk), std::move(ids));
    }
  }

 private:
  std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> map_;
};

/// Appends the ids of `text`, which holds no special token to be honoured, to `out`:
/// one thread per block of lines for long texts, each with its cache in `caches`.
void encode_ordinary(const Tokenizer& tokenizer, std::string_view text, std::vector<ChunkCache>& caches,
                     std::vector<TokenId>& out) {
  const auto threads = static_cast<int>(caches.size());
  const Pretokenizer& pretokenizer = tokenizer.pretokenizer();
  const std::vector<Block> blocks =
      cut_blocks(text, std::max<std::size_t>(std::size_t{1} << 16, text.size() / (8 * threads) + 1));
  if (blocks.size() > 1 && threads > 1) {
    std::vector<std::vector<TokenId>> ids(blocks.size());
    std::vector<char> crossed(blocks.size(), 0);
    parallel_for_each(blocks.size(), threads, [&](std::size_t b, int thread) {
      ids[b].reserve((blocks[b].end - blocks[b].begin) / 3);
      crossed[b] = !pretokenizer.split_range(text, blocks[b].begin, blocks[b].end, [&](std::string_view chunk) {
        caches[thread].encode(tokenizer, chunk, ids[b]);
      });
    });
    // A cut that was not a chunk boundary (a custom pattern): fall back to one thread.
    if (std::count(crossed.begin(), crossed.end(), 1) == 0) {
      for (const auto& block_ids : ids) out.insert(out.end(), block_ids.begin(), block_ids.end());
      return;
    }
  }
  pretokenizer.split(text, [&](std::string_view chunk) { caches[0].encode(tokenizer, chunk, out); });
}

}  // namespace

ByteIds identity_byte_ids() {
  ByteIds ids;
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

Tokenizer::Tokenizer() : Tokenizer({}, std::string(kGpt4Pattern)) {}

Tokenizer::Tokenizer(std::vector<Merge> merges, std::string pattern, std::vector<SpecialToken> specials,
                     ByteIds byte_ids)
    : pretokenizer_(std::move(pattern)), merges_(std::move(merges)), byte_ids_(byte_ids) {
  // The byte tokens: ids 0..255, in the order byte_ids says.
  tokens_.assign(256 + merges_.size(), std::string());
  used_.assign(tokens_.size(), true);
  std::vector<bool> seen(256, false);
  for (int b = 0; b < 256; ++b) {
    const TokenId id = byte_ids_[b];
    ZOO_CHECK(id >= 0 && id < 256 && !seen[id],
              "bpe tokenizer: byte ids must be a permutation of 0..255 (byte {} has id {})", b, id);
    seen[id] = true;
    tokens_[id] = std::string(1, static_cast<char>(b));
  }
  // The merges: rank r joins two existing tokens into token 256 + r.
  rank_.reserve(merges_.size());
  for (std::size_t r = 0; r < merges_.size(); ++r) {
    const auto [left, right] = merges_[r];
    const auto id = static_cast<TokenId>(256 + r);
    ZOO_CHECK(left >= 0 && left < id && right >= 0 && right < id,
              "bpe tokenizer: merge {} joins ids {} and {}, but only ids below {} exist before it", r, left,
              right, id);
    const bool fresh = rank_.emplace(pair_key(left, right), static_cast<TokenId>(r)).second;
    ZOO_CHECK(fresh, "bpe tokenizer: merge {} ({} {}) repeats an earlier merge", r, left, right);
    tokens_[id] = tokens_[left] + tokens_[right];
  }
  for (const SpecialToken& s : specials) add_special_token(s.text, s.id);
}

void Tokenizer::add_special_token(const std::string& text, TokenId id) {
  const auto first_free = static_cast<TokenId>(256 + merges_.size());
  if (id < 0) id = vocab_size();
  ZOO_CHECK(!text.empty(), "bpe tokenizer: a special token cannot be empty");
  ZOO_CHECK(id >= first_free, "bpe tokenizer: special token '{}' has id {}, but ids below {} are bytes and merges",
            text, id, first_free);
  ZOO_CHECK(id - vocab_size() <= kMaxSpecialIdGap,
            "bpe tokenizer: special token '{}' has id {}, which would leave {} unused ids after the last "
            "token ({} at most)",
            text, id, id - vocab_size(), kMaxSpecialIdGap);
  for (const SpecialToken& s : specials_) {
    ZOO_CHECK(s.text != text, "bpe tokenizer: special token '{}' is registered twice", text);
    ZOO_CHECK(s.id != id, "bpe tokenizer: special tokens '{}' and '{}' both have id {}", s.text, text, id);
  }
  if (id >= vocab_size()) {
    tokens_.resize(static_cast<std::size_t>(id) + 1);
    used_.resize(static_cast<std::size_t>(id) + 1, false);
  }
  tokens_[id] = text;
  used_[id] = true;
  specials_.push_back({text, id});
}

bool Tokenizer::has_token(TokenId id) const { return id >= 0 && id < vocab_size() && used_[id]; }

const std::string& Tokenizer::token_bytes(TokenId id) const {
  ZOO_CHECK(has_token(id), "bpe tokenizer: id {} is not in the vocabulary (size {})", id, vocab_size());
  return tokens_[id];
}

TokenId Tokenizer::rank_of(TokenId left, TokenId right) const {
  const auto it = rank_.find(pair_key(left, right));
  return it == rank_.end() ? kNoRank : it->second;
}

std::vector<TokenId> Tokenizer::encode_chunk(std::string_view chunk) const {
  std::vector<TokenId> ids;
  ids.reserve(chunk.size());
  for (const char c : chunk) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
  if (ids.size() > kLongChunk) {
    merge_long(ids);
    return ids;
  }
  // Each round: the adjacent pair of lowest rank, then every occurrence of it merged,
  // left to right ("a a a" with merge (a, a) -> "aa a"). Chunks are short: a scan per
  // round costs less than keeping a heap.
  while (ids.size() >= 2) {
    TokenId best = kNoRank;
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) best = std::min(best, rank_of(ids[i], ids[i + 1]));
    if (best == kNoRank) break;
    const auto [left, right] = merges_[best];
    const auto merged = static_cast<TokenId>(256 + best);
    std::size_t out = 0;
    for (std::size_t i = 0; i < ids.size();) {
      if (i + 1 < ids.size() && ids[i] == left && ids[i + 1] == right) {
        ids[out++] = merged;
        i += 2;
      } else {
        ids[out++] = ids[i++];
      }
    }
    ids.resize(out);
  }
  return ids;
}

void Tokenizer::merge_long(std::vector<TokenId>& ids) const {
  // A round per distinct merge costs O(n) each: quadratic on a long chunk (200 KB of
  // letters took seconds). Instead: the symbols in a linked list, the pairs in a
  // min-heap of (rank, position of the left symbol). Popping in that order merges the
  // lowest rank first and, within a rank, left to right, exactly as the rounds do: a
  // merge creates only pairs of higher rank (they hold the new token, made by this
  // merge). An entry whose symbols have changed since it was pushed is skipped.
  const std::size_t n = ids.size();
  std::vector<std::size_t> prev(n), next(n);  // neighbours; n means none
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? n : i - 1;
    next[i] = i + 1;
  }
  using Entry = std::pair<TokenId, std::size_t>;  // (rank, left position)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  const auto push = [&](std::size_t i) {
    if (i < n && next[i] < n) {
      const TokenId r = rank_of(ids[i], ids[next[i]]);
      if (r != kNoRank) heap.push({r, i});
    }
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [rank, i] = heap.top();
    heap.pop();
    if (!alive[i] || next[i] >= n || rank_of(ids[i], ids[next[i]]) != rank) continue;  // stale
    const std::size_t j = next[i];
    ids[i] = static_cast<TokenId>(256 + rank);
    alive[j] = false;
    next[i] = next[j];
    if (next[j] < n) prev[next[j]] = i;
    if (prev[i] < n) push(prev[i]);
    push(i);
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; i = next[i]) ids[out++] = ids[i];
  ids.resize(out);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const int threads = std::max(1, options.threads > 0 ? options.threads : num_threads());
  std::vector<ChunkCache> caches(static_cast<std::size_t>(threads));  // kept across stretches
  std::vector<TokenId> out;
  out.reserve(text.size() / 3);
  if (specials_.empty() || options.specials == SpecialPolicy::as_text) {
    encode_ordinary(*this, text, caches, out);
    return out;
  }
  // Ordinary stretches between special tokens; at each position the earliest special
  // wins, the longest if two start there. `next[k]` caches where special k occurs next.
  std::vector<std::size_t> next(specials_.size());
  for (std::size_t k = 0; k < specials_.size(); ++k) next[k] = text.find(specials_[k].text);
  std::size_t pos = 0;
  while (true) {
    std::size_t found = std::string_view::npos, which = 0;
    for (std::size_t k = 0; k < specials_.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(specials_[k].text, pos);
      if (next[k] < found || (next[k] == found && found != std::string_view::npos &&
                              specials_[k].text.size() > specials_[which].text.size())) {
        found = next[k];
        which = k;
      }
    }
    if (found == std::string_view::npos) break;
    ZOO_CHECK(options.specials == SpecialPolicy::allow,
              "bpe encode: the text holds the special token '{}' at byte {}; allow special tokens "
              "(SpecialPolicy::allow, --special allow) or encode them as text (as_text, --special text)",
              specials_[which].text, found);
    encode_ordinary(*this, text.substr(pos, found - pos), caches, out);
    out.push_back(specials_[which].id);
    pos = found + specials_[which].text.size();
  }
  encode_ordinary(*this, text.substr(pos), caches, out);
  return out;
}

std::string Tokenizer::decode(std::span<const TokenId> ids) const {
  std::size_t bytes = 0;
  for (const TokenId id : ids) bytes += token_bytes(id).size();
  std::string text;
  text.reserve(bytes);
  for (const TokenId id : ids) text += tokens_[id];
  return text;
}

}  // namespace zoo::models::bpe
