#pragma once
/// @file vectors_io.h
/// @brief Word vectors in word2vec's two file formats, which gensim's
/// `KeyedVectors.load_word2vec_format` and most other tools read.
///
/// Both start with a text line `V D` (the number of words and the dimension), then one
/// entry per word, in the vocabulary's order (most frequent first):
///
/// - **text**: `word x1 x2 ... xD` and a line break; zoo writes each value with the
///   fewest digits that read back to the same float, so a text file round-trips exactly;
/// - **binary**: `word`, a space, the \f$D\f$ values as raw little-endian float32 (4D
///   bytes), and a line break (word2vec.c's `-binary 1`).
///
/// Words may not contain white space (they come from white-space separated text).
/// Readers check everything: the header, the count of values on each line (text), that
/// values are finite numbers, that the file holds exactly \f$V\f$ entries, that no word
/// appears twice or holds white space, that a binary file is not cut short, and, before
/// reserving memory for \f$V\f$ entries, that the file is large enough to hold them. Errors name the file and the
/// line (text) or byte offset (binary), and what was expected there.
///
/// Lesson: @ref tutorial_09_word2vec.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zoo::models::word2vec {

/// A set of word vectors: what a vectors file holds.
struct WordVectors {
  std::vector<std::string> words;  ///< V words, in file order
  std::int64_t dim = 0;            ///< D
  std::vector<float> values;       ///< [V, D], row-major

  /// Number of words.
  std::int64_t size() const { return static_cast<std::int64_t>(words.size()); }
  /// Word `i`'s vector.
  std::span<const float> row(std::int64_t i) const {
    return {values.data() + i * dim, static_cast<std::size_t>(dim)};
  }
};

/// The two formats.
enum class VectorFormat {
  text,    ///< a line of decimal numbers per word
  binary,  ///< raw float32 values per word
};

/// The format of a vectors file's bytes: text if what follows the first word on its
/// line is exactly D numbers (D from the header), binary otherwise. A file with no
/// entry, or a bad header, counts as text (whose reader then reports the header).
VectorFormat detect_format(std::string_view bytes);

/// The file's bytes in the given format.
std::string format_vectors(const WordVectors& vectors, VectorFormat format);

/// Writes `vectors` to `path` atomically (a temporary file renamed into place).
void save_vectors(const std::filesystem::path& path, const WordVectors& vectors, VectorFormat format);

/// Reads vectors from the bytes of a file; `name` is the file's name for errors;
/// without a format, `detect_format` chooses.
WordVectors parse_vectors(std::string_view bytes, const std::string& name,
                          std::optional<VectorFormat> format = std::nullopt);

/// Reads a vectors file; without a format, `detect_format` chooses.
WordVectors load_vectors(const std::filesystem::path& path, std::optional<VectorFormat> format = std::nullopt);

/// "text" or "binary" to a format; "auto" or "" to none (detect). Other names throw.
std::optional<VectorFormat> parse_format_name(std::string_view name);

}  // namespace zoo::models::word2vec
