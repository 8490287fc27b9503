#pragma once
/// @file corpus.h
/// @brief A text file as sentences of word ids, ready for training.
///
/// Words that are not in the vocabulary (rarer than `min_count`) are dropped before
/// training, as word2vec.c and gensim do, so the context window spans the words that
/// remain. Lines are sentences (cut every `kMaxSentenceWords` words of the text);
/// sentences left with no word are dropped. Lesson: @ref tutorial_09_word2vec.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/word2vec/vocab.h"

namespace zoo::models::word2vec {

/// The sentences of a text as word ids, stored back to back.
class Corpus {
 public:
  /// An empty corpus.
  Corpus() = default;
  /// The sentences of `text` (see `for_each_word`) in the words of `vocab`.
  Corpus(std::string_view text, const Vocabulary& vocab);

  /// Number of sentences.
  std::int64_t num_sentences() const { return static_cast<std::int64_t>(starts_.size()) - 1; }
  /// The word ids of sentence `s`.
  std::span<const WordId> sentence(std::int64_t s) const {
    const auto i = static_cast<std::size_t>(s);
    return {words_.data() + starts_[i], static_cast<std::size_t>(starts_[i + 1] - starts_[i])};
  }
  /// Where sentence `s` starts among all the corpus's word ids (`num_sentences()` gives
  /// the end of the last one).
  std::int64_t sentence_start(std::int64_t s) const { return starts_[static_cast<std::size_t>(s)]; }
  /// Words kept for training: those in the vocabulary.
  std::int64_t num_words() const { return static_cast<std::int64_t>(words_.size()); }
  /// All words of the text, those not in the vocabulary too.
  std::int64_t num_raw_words() const { return raw_words_; }

 private:
  std::vector<WordId> words_;
  std::vector<std::int64_t> starts_{0};  // sentence s is [starts_[s], starts_[s + 1])
  std::int64_t raw_words_ = 0;
};

/// The bytes of a file; a `zoo::Error` naming the file if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace zoo::models::word2vec
