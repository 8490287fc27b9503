/// @file reference_trainer.cpp
/// @brief Count all pairs, take the best, merge it everywhere; repeat.

#include "models/bpe/reference_trainer.h"

#include <map>
#include <utility>

namespace zoo::models::bpe {

void merge_pair(std::vector<TokenId>& ids, Merge pair, TokenId merged) {
  std::vector<TokenId> out;
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i + 1 < ids.size() && ids[i] == pair.left && ids[i + 1] == pair.right) {
      out.push_back(merged);
      ++i;  // the right half is consumed too
    } else {
      out.push_back(ids[i]);
    }
  }
  ids = std::move(out);
}

std::vector<Merge> reference_learn_merges(const std::vector<ChunkCount>& chunks, std::int64_t num_merges,
                                          std::int64_t min_count) {
  // Every chunk as byte ids 0..255, with its count.
  std::vector<std::vector<TokenId>> words(chunks.size());
  for (std::size_t w = 0; w < chunks.size(); ++w)
    for (const char c : chunks[w].bytes) words[w].push_back(static_cast<unsigned char>(c));

  std::vector<Merge> merges;
  for (std::int64_t rank = 0; rank < num_merges; ++rank) {
    // c(a, b) = sum over chunks w of count(w) * (occurrences of "a b" in w).
    std::map<std::pair<TokenId, TokenId>, std::int64_t> pair_counts;
    for (std::size_t w = 0; w < words.size(); ++w)
      for (std::size_t i = 0; i + 1 < words[w].size(); ++i)
        pair_counts[{words[w][i], words[w][i + 1]}] += chunks[w].count;

    bool found = false;
    Merge best{0, 0};
    std::int64_t best_count = 0;
    for (const auto& [pair, count] : pair_counts) {
      const Merge candidate{pair.first, pair.second};
      if (!found || chosen_before(count, candidate, best_count, best)) {
        best = candidate;
        best_count = count;
        found = true;
      }
    }
    if (!found || best_count < min_count) break;

    merges.push_back(best);
    const auto merged = static_cast<TokenId>(256 + rank);
    for (auto& word : words) merge_pair(word, best, merged);
  }
  return merges;
}

}  // namespace zoo::models::bpe
