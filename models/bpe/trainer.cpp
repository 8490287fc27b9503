/// @file trainer.cpp
/// @brief The efficient trainer: chunk counts, pair counts with their places, local
/// updates around each merge, a max-heap with lazy deletion.

#include "models/bpe/trainer.h"

#include <algorithm>
#include <chrono>
#include <queue>
#include <unordered_map>

#include "autograd/error.h"
#include "autograd/parallel.h"

namespace zoo::models::bpe {
namespace {

using PairKey = std::uint64_t;  // left << 32 | right

PairKey key_of(TokenId left, TokenId right) {
  return (static_cast<PairKey>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
}
Merge pair_of(PairKey key) { return {static_cast<TokenId>(key >> 32), static_cast<TokenId>(key & 0xffffffffu)}; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// A distinct chunk as token ids, with its count.
struct Word {
  std::vector<TokenId> ids;
  std::int64_t count;
};

/// A heap entry: a pair and its count when pushed (stale once the count changed).
struct Entry {
  std::int64_t count;
  PairKey pair;
  /// std::priority_queue keeps the *largest* on top: "less" means "chosen later".
  bool operator<(const Entry& other) const {
    return chosen_before(other.count, pair_of(other.pair), count, pair_of(pair));
  }
};

/// The trainer's state: pair counts, where each pair occurs, the heap.
class MergeLearner {
 public:
  explicit MergeLearner(const std::vector<ChunkCount>& chunks) {
    for (const ChunkCount& chunk : chunks) {
      if (chunk.bytes.size() < 2) continue;  // a single byte holds no pair
      Word word{{}, chunk.count};
      for (const char c : chunk.bytes) word.ids.push_back(static_cast<unsigned char>(c));
      words_.push_back(std::move(word));
    }
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      for (std::size_t i = 0; i + 1 < word.ids.size(); ++i) {
        const PairKey key = key_of(word.ids[i], word.ids[i + 1]);
        counts_[key] += word.count;
        where_[key].push_back(static_cast<std::int32_t>(w));  // repeats are skipped later
      }
    }
    for (const auto& [key, count] : counts_) heap_.push({count, key});
    last_visit_.assign(words_.size(), -1);
  }

  /// The best pair by the tie rule, or false if none occurs `min_count` times.
  bool best(std::int64_t min_count, PairKey& key, std::int64_t& count) {
    while (!heap_.empty()) {
      const Entry top = heap_.top();
      const auto it = counts_.find(top.pair);
      const std::int64_t current = it == counts_.end() ? 0 : it->second;
      if (current == top.count) {
        if (current < min_count) return false;
        key = top.pair;
        count = current;
        return true;
      }
      // Stale: the count fell since this entry was pushed. Put it back as it is now.
      heap_.pop();
      if (current > 0 && current < top.count) heap_.push({current, top.pair});
    }
    return false;
  }

  /// Merges `key` into token `merged` in every chunk it occurs in.
  void merge(PairKey key, TokenId merged, std::int64_t rank) {
    const Merge pair = pair_of(key);
    const std::vector<std::int32_t> places = std::move(where_[key]);
    where_.erase(key);
    delta_.clear();
    for (const std::int32_t w : places) {
      if (last_visit_[w] == rank) continue;  // listed twice: done already
      last_visit_[w] = rank;
      merge_in_word(w, pair, merged);
    }
    for (const auto& [k, d] : delta_) {
      if (d == 0) continue;
      const std::int64_t now = (counts_[k] += d);
      if (now == 0) counts_.erase(k);
      else if (d > 0) heap_.push({now, k});  // a pair holding the new token
    }
    ZOO_CHECK(counts_.find(key) == counts_.end(), "bpe train: merged pair still counted (a bug)");
  }

 private:
  /// One chunk: "x a b y" becomes "x t y". The left neighbour is read from the part
  /// already rewritten (so "a b a b" gives the pair (t, t), not (b, t)); the right one
  /// from the part not yet read.
  void merge_in_word(std::int32_t w, Merge pair, TokenId merged) {
    std::vector<TokenId>& ids = words_[w].ids;
    const std::int64_t n = words_[w].count;
    std::size_t out = 0;
    for (std::size_t i = 0; i < ids.size();) {
      if (i + 1 < ids.size() && ids[i] == pair.left && ids[i + 1] == pair.right) {
        if (out > 0) {
          const TokenId x = ids[out - 1];
          delta_[key_of(x, pair.left)] -= n;
          add(key_of(x, merged), n, w);
        }
        delta_[key_of(pair.left, pair.right)] -= n;
        if (i + 2 < ids.size()) {
          const TokenId y = ids[i + 2];
          delta_[key_of(pair.right, y)] -= n;
          add(key_of(merged, y), n, w);
        }
        ids[out++] = merged;
        i += 2;
      } else {
        ids[out++] = ids[i++];
      }
    }
    ids.resize(out);
  }

  void add(PairKey key, std::int64_t n, std::int32_t w) {
    delta_[key] += n;
    where_[key].push_back(w);
  }

  std::vector<Word> words_;
  std::unordered_map<PairKey, std::int64_t> counts_;                // c(a, b)
  std::unordered_map<PairKey, std::vector<std::int32_t>> where_;     // pair -> chunks
  std::unordered_map<PairKey, std::int64_t> delta_;                 // one merge's changes
  std::priority_queue<Entry> heap_;
  std::vector<std::int64_t> last_visit_;  // chunk -> last rank that visited it
};

}  // namespace

bool chosen_before(std::int64_t count_a, Merge a, std::int64_t count_b, Merge b) {
  if (count_a != count_b) return count_a > count_b;
  if (a.left != b.left) return a.left < b.left;
  return a.right < b.right;
}

std::vector<ChunkCount> count_chunks(std::string_view text, const Pretokenizer& pretokenizer, int threads) {
  threads = std::max(1, threads > 0 ? threads : num_threads());
  // Blocks of at least 1 MiB, a few per thread so that the dynamic schedule balances.
  const std::vector<Block> blocks =
      cut_blocks(text, std::max<std::size_t>(std::size_t{1} << 20, text.size() / (4 * threads) + 1));
  std::vector<std::unordered_map<std::string_view, std::int64_t>> maps(static_cast<std::size_t>(threads));
  std::vector<char> crossed(blocks.size(), 0);
  parallel_for_each(blocks.size(), threads, [&](std::size_t b, int thread) {
    crossed[b] = !pretokenizer.split_range(text, blocks[b].begin, blocks[b].end,
                                           [&](std::string_view chunk) { ++maps[thread][chunk]; });
  });
  if (std::count(crossed.begin(), crossed.end(), 1) > 0) {  // a custom pattern: one thread
    maps.assign(1, {});
    pretokenizer.split(text, [&](std::string_view chunk) { ++maps[0][chunk]; });
  }
  for (std::size_t t = 1; t < maps.size(); ++t)
    for (const auto& [chunk, count] : maps[t]) maps[0][chunk] += count;
  std::vector<ChunkCount> out;
  out.reserve(maps[0].size());
  for (const auto& [chunk, count] : maps[0]) out.push_back({std::string(chunk), count});
  std::sort(out.begin(), out.end(), [](const ChunkCount& a, const ChunkCount& b) { return a.bytes < b.bytes; });
  return out;
}

std::vector<Merge> learn_merges(const std::vector<ChunkCount>& chunks, std::int64_t num_merges,
                                std::int64_t min_count, const MergeCallback& on_merge) {
  ZOO_CHECK(num_merges >= 0, "bpe train: the number of merges must be >= 0, got {}", num_merges);
  ZOO_CHECK(min_count >= 1, "bpe train: min_count must be >= 1, got {}", min_count);
  MergeLearner learner(chunks);
  std::vector<Merge> merges;
  merges.reserve(static_cast<std::size_t>(num_merges));
  for (std::int64_t rank = 0; rank < num_merges; ++rank) {
    PairKey key = 0;
    std::int64_t count = 0;
    if (!learner.best(min_count, key, count)) break;
    learner.merge(key, static_cast<TokenId>(256 + rank), rank);
    merges.push_back(pair_of(key));
    if (on_merge) on_merge({rank, num_merges, merges.back(), count});
  }
  return merges;
}

TrainResult train(std::string_view text, const TrainOptions& options) {
  const auto specials = static_cast<std::int64_t>(options.special_tokens.size());
  ZOO_CHECK(options.vocab_size >= 256 + specials,
            "bpe train: --vocab-size {} is too small: the 256 byte tokens and {} special token(s) need {}",
            options.vocab_size, specials, 256 + specials);
  Pretokenizer pretokenizer(options.pattern);
  TrainResult result;
  result.text_bytes = static_cast<std::int64_t>(text.size());

  auto start = std::chrono::steady_clock::now();
  const std::vector<ChunkCount> chunks = count_chunks(text, pretokenizer, options.threads);
  result.count_seconds = seconds_since(start);
  result.unique_chunks = static_cast<std::int64_t>(chunks.size());
  for (const ChunkCount& c : chunks) result.chunks += c.count;

  start = std::chrono::steady_clock::now();
  std::vector<Merge> merges = learn_merges(chunks, options.vocab_size - 256 - specials, options.min_count,
                                           options.on_merge);
  result.merge_seconds = seconds_since(start);

  result.tokenizer = Tokenizer(std::move(merges), options.pattern);
  for (const std::string& s : options.special_tokens) result.tokenizer.add_special_token(s);
  return result;
}

}  // namespace zoo::models::bpe
