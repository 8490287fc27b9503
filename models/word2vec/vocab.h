#pragma once
/// @file vocab.h
/// @brief The vocabulary of a corpus (words counted, rare ones dropped, sorted by
/// frequency) and the Huffman tree over it that hierarchical softmax walks.
///
/// **Reading text.** A corpus is plain text, one sentence a line, words separated by
/// white space (spaces, tabs), case kept: what gensim's `LineSentence` reads. word2vec.c
/// instead reads one stream and turns each line break into a word `</s>` that ends a
/// sentence; zoo keeps the lines as sentences and has no `</s>` word, like gensim, so the
/// two models of the benchmark see the same sentences. A line longer than
/// `kMaxSentenceWords` words is cut into pieces of that length (gensim does the same).
///
/// **The vocabulary.** Every word seen at least `min_count` times, most frequent first;
/// words with equal counts keep the order in which they first appear in the text (what
/// gensim does; word2vec.c's `qsort` leaves ties in no fixed order). Word ids are
/// positions in that order, so id 0 is the most frequent word.
///
/// **The Huffman tree** (word2vec.c's `CreateBinaryTree`). Hierarchical softmax
/// replaces the \f$V\f$-way softmax by \f$\lceil\log_2 V\rceil\f$-ish binary decisions:
/// the words are the leaves of a binary tree, each of the \f$V-1\f$ inner nodes \f$n\f$ has
/// an output vector \f$u_n\f$, and the probability of a word is the product of the
/// probabilities of the left/right turns on its path from the root,
/// \f[ p(w \mid v) = \prod_{j=1}^{L(w)} \sigma\big((1 - 2 c_j)\, u_{n_j} \cdot v\big), \f]
/// where \f$n_1, \dots, n_L\f$ are the inner nodes on the path (the *points*) and
/// \f$c_j \in \{0, 1\}\f$ the turns (the *code*). Built as a Huffman code from the
/// counts, frequent words get short paths, so the average cost per word is small.
/// Lesson: @ref tutorial_09_word2vec.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zoo::models::word2vec {

/// A word's id: its position in the vocabulary, most frequent first.
using WordId = std::int32_t;

/// Lines with more words than this are cut into sentences of this many words.
inline constexpr std::int64_t kMaxSentenceWords = 10000;

/// True for the bytes that separate words on a line: space, tab, carriage return,
/// vertical tab, form feed.
inline bool is_word_separator(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/// Calls `on_word(std::string_view word)` for every word of `text` (see
/// `is_word_separator`) and `on_line_end()` at the end of every line, also after a last
/// line with no line break. An empty line gives an `on_line_end()` with no words.
template <class OnWord, class OnLineEnd>
void for_each_word(std::string_view text, OnWord&& on_word, OnLineEnd&& on_line_end) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    while (pos < end) {
      while (pos < end && is_word_separator(text[pos])) ++pos;
      const std::size_t start = pos;
      while (pos < end && !is_word_separator(text[pos])) ++pos;
      if (pos > start) on_word(text.substr(start, pos - start));
    }
    on_line_end();
    pos = end + 1;
  }
}

/// A hash for `std::string` keys that also takes `std::string_view` lookups.
struct StringHash {
  using is_transparent = void;  ///< lets `find` take a string_view without a copy
  /// The hash of the characters.
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// The words of a corpus with their counts, most frequent first.
class Vocabulary {
 public:
  /// An empty vocabulary.
  Vocabulary() = default;
  /// A vocabulary from words and counts given in the order they should have; checks
  /// that the words are distinct and non-empty and the counts positive and non-increasing.
  Vocabulary(std::vector<std::string> words, std::vector<std::int64_t> counts);

  /// Counts the words of `text` (see `for_each_word`), keeps those seen at least
  /// `min_count` times and sorts them: higher count first, then first appearance.
  static Vocabulary from_text(std::string_view text, std::int64_t min_count);

  /// Number of words.
  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  /// The word with id `id`.
  const std::string& word(WordId id) const { return words_[static_cast<std::size_t>(id)]; }
  /// How often word `id` occurs in the text it was counted from.
  std::int64_t count(WordId id) const { return counts_[static_cast<std::size_t>(id)]; }
  /// All words, by id.
  const std::vector<std::string>& words() const { return words_; }
  /// All counts, by id (non-increasing).
  const std::vector<std::int64_t>& counts() const { return counts_; }
  /// The id of `word`, or -1 if it is not in the vocabulary.
  WordId find(std::string_view word) const;
  /// The sum of all counts: the corpus words that the vocabulary covers
  /// (word2vec.c's `train_words`).
  std::int64_t total_count() const { return total_count_; }

 private:
  std::vector<std::string> words_;
  std::vector<std::int64_t> counts_;
  std::unordered_map<std::string, WordId, StringHash, std::equal_to<>> index_;
  std::int64_t total_count_ = 0;
};

/// The Huffman tree of a vocabulary, stored as each word's path from the root.
///
/// Inner nodes are numbered 0..V-2 in the order they are created (the root is V-2);
/// hierarchical softmax keeps one output vector per inner node. Word `w`'s path has
/// `length(w)` steps: at step `j` it is at inner node `points(w)[j]` and goes to the
/// child `codes(w)[j]` (0 or 1).
class HuffmanTree {
 public:
  /// The tree of a vocabulary whose counts are sorted in non-increasing order, built
  /// exactly as word2vec.c's `CreateBinaryTree` does (same tie-breaking, hence the
  /// same codes). A vocabulary of one word gets an empty path.
  explicit HuffmanTree(const std::vector<std::int64_t>& counts);

  /// The turns (0 or 1) on word `w`'s path, root first.
  std::span<const std::uint8_t> codes(WordId w) const {
    return {codes_.data() + offsets_[static_cast<std::size_t>(w)], length(w)};
  }
  /// The inner nodes (0..V-2) on word `w`'s path, root first.
  std::span<const std::int32_t> points(WordId w) const {
    return {points_.data() + offsets_[static_cast<std::size_t>(w)], length(w)};
  }
  /// The length of word `w`'s path: the number of binary decisions for it.
  std::size_t length(WordId w) const {
    return static_cast<std::size_t>(offsets_[static_cast<std::size_t>(w) + 1] - offsets_[static_cast<std::size_t>(w)]);
  }
  /// Number of leaves (words).
  std::int64_t num_words() const { return static_cast<std::int64_t>(offsets_.size()) - 1; }

 private:
  std::vector<std::uint8_t> codes_;
  std::vector<std::int32_t> points_;
  std::vector<std::int64_t> offsets_;  // word w's path is [offsets_[w], offsets_[w + 1])
};

}  // namespace zoo::models::word2vec
