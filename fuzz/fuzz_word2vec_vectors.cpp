/// @file fuzz_word2vec_vectors.cpp
/// @brief libFuzzer target: the word2vec vector reader (`zoo::models::word2vec::load_vectors`,
/// word2vec's text and binary formats) on any bytes.
///
/// The input is the file, read three times: with the format detected, as text, as
/// binary. Vectors that load must be what the header announces: V distinct words of D
/// finite values each.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "fuzz/fuzz_input.h"
#include "models/word2vec/vectors_io.h"

namespace w2v = zoo::models::word2vec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zoo::fuzz::InputFile input("word2vec-vectors");
  input.write(data, size);
  for (const std::optional<w2v::VectorFormat> format :
       {std::optional<w2v::VectorFormat>(), std::optional(w2v::VectorFormat::text),
        std::optional(w2v::VectorFormat::binary)}) {
    zoo::fuzz::accept_or_reject(input.name(), [&] {
      const w2v::WordVectors vectors = w2v::load_vectors(input.path(), format);
      zoo::fuzz::require(vectors.dim > 0, "vectors of dimension 0 were accepted");
      zoo::fuzz::require(vectors.values.size() == vectors.words.size() * static_cast<std::size_t>(vectors.dim),
                         "the values do not fill V x D");
      const std::set<std::string> distinct(vectors.words.begin(), vectors.words.end());
      zoo::fuzz::require(distinct.size() == vectors.words.size(), "a word appears twice");
      for (const float x : vectors.values) zoo::fuzz::require(std::isfinite(x), "a value is not finite");
    });
  }
  return 0;
}
