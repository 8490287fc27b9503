/// @file vocab.cpp
/// @brief Counting words, sorting the vocabulary, and word2vec.c's Huffman tree.

#include "models/word2vec/vocab.h"

#include <limits>
#include <numeric>

#include "autograd/error.h"

namespace zoo::models::word2vec {

Vocabulary::Vocabulary(std::vector<std::string> words, std::vector<std::int64_t> counts)
    : words_(std::move(words)), counts_(std::move(counts)) {
  ZOO_CHECK(words_.size() == counts_.size(), "word2vec::Vocabulary: {} words but {} counts", words_.size(),
            counts_.size());
  ZOO_CHECK(words_.size() < static_cast<std::size_t>(std::numeric_limits<WordId>::max()),
            "word2vec::Vocabulary: {} words is too many for 32-bit word ids", words_.size());
  index_.reserve(words_.size());
  for (std::size_t i = 0; i < words_.size(); ++i) {
    ZOO_CHECK(!words_[i].empty(), "word2vec::Vocabulary: word {} is empty", i);
    ZOO_CHECK(counts_[i] > 0, "word2vec::Vocabulary: word '{}' has count {}, not a positive number", words_[i],
              counts_[i]);
    ZOO_CHECK(i == 0 || counts_[i] <= counts_[i - 1],
              "word2vec::Vocabulary: counts must not increase, but '{}' ({}) follows '{}' ({})", words_[i],
              counts_[i], words_[i - 1], counts_[i - 1]);
    const bool added = index_.emplace(words_[i], static_cast<WordId>(i)).second;
    ZOO_CHECK(added, "word2vec::Vocabulary: the word '{}' appears twice", words_[i]);
    total_count_ += counts_[i];
  }
}

Vocabulary Vocabulary::from_text(std::string_view text, std::int64_t min_count) {
  // Count in order of first appearance: `seen` keeps that order, `slot` finds a word's place.
  std::unordered_map<std::string_view, std::size_t> slot;
  std::vector<std::pair<std::string_view, std::int64_t>> seen;
  for_each_word(
      text,
      [&](std::string_view w) {
        const auto [it, added] = slot.try_emplace(w, seen.size());
        if (added) seen.emplace_back(w, 0);
        ++seen[it->second].second;
      },
      [] {});
  // Keep the frequent words; a stable sort by count leaves ties in order of appearance.
  std::erase_if(seen, [&](const auto& wc) { return wc.second < min_count; });
  std::stable_sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> words;
  std::vector<std::int64_t> counts;
  words.reserve(seen.size());
  counts.reserve(seen.size());
  for (const auto& [w, c] : seen) {
    words.emplace_back(w);
    counts.push_back(c);
  }
  return Vocabulary(std::move(words), std::move(counts));
}

WordId Vocabulary::find(std::string_view word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? -1 : it->second;
}

HuffmanTree::HuffmanTree(const std::vector<std::int64_t>& counts) {
  const std::size_t V = counts.size();
  offsets_.assign(V + 1, 0);
  if (V < 2) return;  // one word (or none): nothing to decide
  for (std::size_t i = 1; i < V; ++i)
    ZOO_CHECK(counts[i] <= counts[i - 1], "word2vec::HuffmanTree: counts must be sorted in non-increasing order");

  // word2vec.c's CreateBinaryTree. Nodes 0..V-1 are the words (leaves), sorted by
  // non-increasing count; nodes V..2V-2 are the inner nodes in the order they are made,
  // and since each one weighs at least as much as the one before, they are sorted in
  // non-decreasing order too. So the two lightest nodes are always found at one of two
  // cursors: `leaf` walking the leaves from the lightest (V-1) down, `inner` walking the
  // inner nodes up. On equal weights the inner node is taken, as word2vec.c does
  // (`count[pos1] < count[pos2]` picks the leaf only when it is strictly lighter).
  std::vector<std::int64_t> weight(2 * V - 1, std::numeric_limits<std::int64_t>::max());
  std::copy(counts.begin(), counts.end(), weight.begin());
  std::vector<std::size_t> parent(2 * V - 1, 0);
  std::vector<std::uint8_t> turn(2 * V - 1, 0);  // 1 if the node is its parent's second child
  std::ptrdiff_t leaf = static_cast<std::ptrdiff_t>(V) - 1;
  std::size_t inner = V;
  const auto take_lightest = [&]() -> std::size_t {
    if (leaf >= 0 && weight[static_cast<std::size_t>(leaf)] < weight[inner]) return static_cast<std::size_t>(leaf--);
    return inner++;
  };
  for (std::size_t a = 0; a + 1 < V; ++a) {
    const std::size_t min1 = take_lightest();
    const std::size_t min2 = take_lightest();
    weight[V + a] = weight[min1] + weight[min2];
    parent[min1] = V + a;
    parent[min2] = V + a;
    turn[min2] = 1;
  }

  // Each word's path: climb from the leaf to the root (node 2V-2), then store it root
  // first. Inner node V+a is stored as a: the row of its output vector.
  const std::size_t root = 2 * V - 2;
  std::vector<std::uint8_t> code;
  std::vector<std::int32_t> point;
  for (std::size_t w = 0; w < V; ++w) {
    code.clear();
    point.clear();
    for (std::size_t node = w; node != root; node = parent[node]) {
      code.push_back(turn[node]);
      point.push_back(static_cast<std::int32_t>(parent[node] - V));
    }
    codes_.insert(codes_.end(), code.rbegin(), code.rend());
    points_.insert(points_.end(), point.rbegin(), point.rend());
    offsets_[w + 1] = static_cast<std::int64_t>(codes_.size());
  }
}

}  // namespace zoo::models::word2vec
