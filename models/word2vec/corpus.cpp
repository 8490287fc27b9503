/// @file corpus.cpp
/// @brief Text to sentences of word ids; reading a file.

#include "models/word2vec/corpus.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "autograd/error.h"

namespace zoo::models::word2vec {

Corpus::Corpus(std::string_view text, const Vocabulary& vocab) {
  std::int64_t line_words = 0;  // words of the current piece of line, counted in the text
  const auto end_sentence = [&] {
    if (static_cast<std::int64_t>(words_.size()) > starts_.back()) starts_.push_back(static_cast<std::int64_t>(words_.size()));
    line_words = 0;
  };
  for_each_word(
      text,
      [&](std::string_view w) {
        if (line_words == kMaxSentenceWords) end_sentence();
        ++line_words;
        ++raw_words_;
        const WordId id = vocab.find(w);
        if (id >= 0) words_.push_back(id);
      },
      end_sentence);
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  ZOO_CHECK(in.good(), "word2vec: cannot open '{}': {}", path.string(), std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  ZOO_CHECK(!in.bad(), "word2vec: reading '{}' failed", path.string());
  return std::move(bytes).str();
}

}  // namespace zoo::models::word2vec
