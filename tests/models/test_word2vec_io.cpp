// word2vec's vector files: text and binary round trips, format detection, and damaged
// files failing with a message that names the file and the problem.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <random>

#include "autograd/error.h"
#include "models/word2vec/vectors_io.h"

using namespace zoo;
using namespace zoo::models::word2vec;
namespace fs = std::filesystem;

namespace {

WordVectors sample_vectors() {
  WordVectors v;
  v.words = {"the", ",", "Fulton", "café", "x-ray"};
  v.dim = 7;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (std::size_t i = 0; i < v.words.size() * 7; ++i) v.values.push_back(normal(rng));
  v.values[3] = 1e-30f;  // tiny, huge and exact values round-trip too
  v.values[4] = -3.4e38f;
  v.values[5] = 0.0f;
  return v;
}

/// The message of the `zoo::Error` that parsing `bytes` throws ("" if none).
std::string error_of(const std::string& bytes, std::optional<VectorFormat> format = std::nullopt) {
  try {
    parse_vectors(bytes, "vectors.bin", format);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("word2vec: vectors round-trip exactly through the text and binary formats", "[word2vec]") {
  const WordVectors v = sample_vectors();
  const fs::path dir = fs::temp_directory_path() / "zoo_test_word2vec_io";
  fs::create_directories(dir);
  for (const VectorFormat f : {VectorFormat::text, VectorFormat::binary}) {
    const fs::path path = dir / (f == VectorFormat::text ? "v.txt" : "v.bin");
    save_vectors(path, v, f);
    const std::string bytes = format_vectors(v, f);
    CHECK(bytes.starts_with("5 7\n"));
    CHECK(detect_format(bytes) == f);
    for (const auto forced : {std::optional<VectorFormat>{}, std::optional<VectorFormat>{f}}) {
      const WordVectors back = load_vectors(path, forced);
      CHECK(back.words == v.words);
      CHECK(back.dim == v.dim);
      CHECK(back.values == v.values);  // bit for bit
    }
  }
  // The binary layout is word2vec.c's: "word " + 4·D bytes of little-endian float32 + "\n".
  const std::string bin = format_vectors(v, VectorFormat::binary);
  CHECK(bin.size() == 4 + (3 + 1 + 6 + std::strlen("café") + 5) + 5 * (1 + 28 + 1));  // header, words, " " vector "\n"
  float first = 0;
  std::memcpy(&first, bin.data() + 4 + 4, 4);
  CHECK(first == v.values[0]);
  // A text file as word2vec.c writes it (a space after every value, Windows line ends) reads too.
  const WordVectors c = parse_vectors("2 3\r\na 1.5 -2 0.25 \r\nb 0 1e-3 4 \r\n", "c.txt");
  CHECK(c.values == std::vector<float>{1.5f, -2.0f, 0.25f, 0.0f, 1e-3f, 4.0f});
  fs::remove_all(dir);
}

TEST_CASE("word2vec: damaged vector files fail with the file and the problem", "[word2vec]") {
  const WordVectors v = sample_vectors();
  const std::string text = format_vectors(v, VectorFormat::text);
  const std::string bin = format_vectors(v, VectorFormat::binary);
  const auto text_format = std::optional<VectorFormat>{VectorFormat::text};

  // Headers.
  CHECK(has(error_of(""), "vectors.bin:1"));
  CHECK(has(error_of("5 seven\nthe 1\n", text_format), "header must be 'WORDS DIMENSION'"));
  CHECK(has(error_of("5 0\n", text_format), "header"));
  CHECK(has(error_of("2000000000 300\na 1\n"), "dimension 300, more than the 4 bytes after it can hold"));
  // Text: a missing value, an extra value, a value that is not a number, too few or too many lines.
  // (Values longer than one digit: the header's count must fit in the file, see below.)
  CHECK(has(error_of("2 3\na 1.5 2.5 3.5\nb 1 2\n"), "vectors.bin:3: 'b' has 2 values, the header announces 3"));
  CHECK(has(error_of("2 3\na 1 2 3 4\nb 1 2 3\n", text_format), "vectors.bin:2: more than the 3 values"));
  CHECK(has(error_of("2 3\na 1 2 3\nb 1 two 3\n"), "vectors.bin:3: value 2 of 'b' is 'two', not a finite number"));
  CHECK(has(error_of("2 3\na 1 2 3\nb 1 nan 3\n"), "not a finite number"));
  CHECK(has(error_of("3 3\na 1.5 2.5 3.5\nb 1.5 2.5 3.5\n"), "2 entries, but the header announces 3"));
  CHECK(has(error_of("1 3\na 1 2 3\nb 1 2 3\n"), "vectors.bin:3: more entries than the 1 the header announces"));
  CHECK(has(error_of("2 3\na 1 2 3\na 1 2 3\n"), "the word 'a' appears twice"));
  CHECK(has(error_of(text.substr(0, text.size() - 20), text_format), "vectors.bin:"));

  // Binary: cut short anywhere, an extra byte, a wrong count, a non-finite value.
  const auto binary = std::optional<VectorFormat>{VectorFormat::binary};
  for (const std::size_t cut : {bin.size() - 2, bin.size() - 30, std::size_t{20}, std::size_t{5}}) {
    const std::string e = error_of(bin.substr(0, cut), binary);
    INFO("cut at " << cut << ": " << e);
    CHECK(has(e, "vectors.bin:"));
    CHECK((has(e, "cut short") || has(e, "the file ends")));
  }
  CHECK(has(error_of(bin.substr(0, bin.size() - 2), binary), "needs 28 bytes of vector, 27 are left"));
  CHECK(parse_vectors(bin.substr(0, bin.size() - 1), "v.bin").values == v.values);  // no final line break: fine
  std::string junk = bin;
  junk.append("junk");  // append, not +: GCC 12 warns falsely (-Wrestrict)
  CHECK(has(error_of(junk, binary), "4 more bytes after the 5 entries"));
  std::string six = bin;
  six[0] = '6';  // the header says 6 words: at least 6 × 30 bytes, more than the file holds
  CHECK(has(error_of(six, binary), "vectors.bin:1: the header announces 6 words of dimension 7, each at least 30"));
  // Room for two entries of one-letter words, but the one entry there has a long word.
  const std::string one_long = std::string("2 1\nlongword ") + std::string("\0\0\x80\x3f", 4) + "\n";
  CHECK(has(error_of(one_long, binary), "the file ends at byte 18 after 1 of the 2 entries"));
  std::string inf_bin = bin;
  const float inf = INFINITY;
  std::memcpy(inf_bin.data() + 4 + 4 + 8, &inf, 4);  // value 3 of "the"
  CHECK(has(error_of(inf_bin, binary), "value 3 of 'the' is not a finite number"));
  // A missing file names itself.
  try {
    load_vectors("/nonexistent/zoo/vectors.bin");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(has(e.what(), "/nonexistent/zoo/vectors.bin"));
  }
  // Words with white space cannot be written.
  WordVectors bad = v;
  bad.words[1] = "two words";
  CHECK_THROWS_AS(format_vectors(bad, VectorFormat::text), Error);
}

TEST_CASE("word2vec: a header announcing more entries than the file can hold is refused before reading",
          "[word2vec]") {
  // A text entry takes at least 2 + 2D bytes ("a 1 2" and a line break), a binary one
  // 2 + 4D; only the last line break may be missing. Checking this first keeps a damaged
  // header from making the reader reserve room for millions of words.
  const auto text = std::optional<VectorFormat>{VectorFormat::text};
  const auto binary = std::optional<VectorFormat>{VectorFormat::binary};
  CHECK(parse_vectors("2 2\na 1 2\nb 3 4", "v.txt", text).size() == 2);  // exactly at the bound
  CHECK(has(error_of("3 2\na 1 2\nb 3 4\n", text),
            "vectors.bin:1: the header announces 3 words of dimension 2, each at least 6 bytes, more than the 12 bytes"));
  const std::string one = std::string("2000000 1\na ") + std::string("\0\0\x80\x3f", 4) + "\n";
  CHECK(parse_vectors(std::string("1 1\na ") + std::string("\0\0\x80\x3f", 4), "v.bin", binary).size() == 1);
  CHECK(has(error_of(one, binary), "vectors.bin:1: the header announces 2000000 words of dimension 1, each at least 6"));
  CHECK(has(error_of("3 1000000\na 1\n", text), "vectors.bin:1: the header announces dimension 1000000, more than"));
}

TEST_CASE("word2vec: a word holding \\v or \\f, which the writer refuses, is refused by the readers",
          "[word2vec]") {
  // Tools that split at C's isspace (gensim among them) would read such a word as two.
  const auto text = std::optional<VectorFormat>{VectorFormat::text};
  const auto binary = std::optional<VectorFormat>{VectorFormat::binary};
  CHECK(has(error_of("1 1\na\vb 1\n", text), "vectors.bin:2: the word 'a' holds white space (byte 0x0b at position 1)"));
  CHECK(has(error_of("2 1\nok 1\nx\fy 2\n", text), "vectors.bin:3: the word 'x' holds white space (byte 0x0c"));
  const std::string vector = std::string("\0\0\x80\x3f", 4) + "\n";
  CHECK(has(error_of("1 1\na\fb " + vector, binary), "vectors.bin: byte offset 4: the word 'a' holds white space"));
  CHECK(has(error_of("1 1\na\tb " + vector, binary), "byte 0x09 at position 1"));
  WordVectors bad;
  bad.words = {"a\vb"};
  bad.dim = 1;
  bad.values = {1.0f};
  CHECK_THROWS_AS(format_vectors(bad, VectorFormat::text), Error);
}
