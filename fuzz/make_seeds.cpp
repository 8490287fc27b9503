/// @file make_seeds.cpp
/// @brief Writes the valid seed files of fuzz/corpus/ with zoo's own writers:
/// `fuzz_make_seeds fuzz/corpus` (from the top of the repository).
///
/// A fuzzer starts from these and mutates them: a valid file leads it past the magic
/// numbers and headers to the code that reads the contents, which random bytes would
/// rarely reach. Each seed is small (a few bytes to a few KB) so that one execution is
/// fast. The hand-made edge cases and the inputs of crashes found stay in the corpus
/// folders beside these and are not written here.

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/factories.h"
#include "autograd/generator.h"
#include "fuzz/gpt2_tiny_vocab.h"
#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"
#include "models/bpe/trainer.h"
#include "models/word2vec/vectors_io.h"
#include "nn/data/idx.h"
#include "nn/io/checkpoint.h"
#include "nn/io/safetensors.h"

namespace fs = std::filesystem;
namespace bpe = zoo::models::bpe;
namespace w2v = zoo::models::word2vec;

namespace {

/// A short English text with some UTF-8, used by several seeds.
constexpr const char* kText =
    "The Fulton County Grand Jury said Friday an investigation of recent primary elections\n"
    "produced no evidence that any irregularities took place .\n"
    "Le café était fermé ; l'été, les œuvres d'art restaient à l'intérieur .\n"
    "the the the jury said the jury said 1961 , 42 %\n";

void write_text(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
}

void idx_seeds(const fs::path& dir) {
  zoo::nn::IdxFile images{"", zoo::nn::IdxType::UInt8, {2, 4, 4}, {}};
  for (int i = 0; i < 32; ++i) images.data.push_back(static_cast<std::uint8_t>(i * 8));
  zoo::nn::write_idx(dir / "images-2x4x4.idx", images);
  zoo::nn::write_idx(dir / "images-2x4x4.idx.gz", images, true);
  zoo::nn::write_idx(dir / "labels-5.idx", {"", zoo::nn::IdxType::UInt8, {5}, {7, 2, 1, 0, 4}});
  zoo::nn::write_idx(dir / "int16-2x2.idx", {"", zoo::nn::IdxType::Int16, {2, 2}, {0, 1, 0xff, 0xfe, 0x80, 0, 0x7f, 0xff}});
  zoo::nn::write_idx(dir / "float32-3.idx", {"", zoo::nn::IdxType::Float32, {3}, {0x3f, 0x80, 0, 0, 0xbf, 0, 0, 0, 0x7f, 0xc0, 0, 0}});
  zoo::nn::write_idx(dir / "float64-1x1.idx", {"", zoo::nn::IdxType::Float64, {1, 1}, {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}});
  zoo::nn::write_idx(dir / "empty-0x3.idx", {"", zoo::nn::IdxType::Int32, {0, 3}, {}});
}

/// A few tensors of every dtype zoo reads, a scalar and an empty one among them.
zoo::nn::StateDict sample_tensors() {
  zoo::Generator gen(7);
  zoo::nn::StateDict tensors;
  tensors.insert("fc.weight", zoo::randn({3, 2}, zoo::kFloat32, gen));
  tensors.insert("fc.bias", zoo::tensor({0.5, -1.5, 2.0}));
  tensors.insert("scale", zoo::tensor({3.25}, zoo::kFloat64).reshape({}));
  tensors.insert("steps", zoo::arange(4));
  tensors.insert("mask", zoo::from_vector(std::vector<bool>{true, false, true}, {3}));
  tensors.insert("nothing", zoo::empty({0, 5}, zoo::kFloat32));
  return tensors;
}

void safetensors_seeds(const fs::path& dir) {
  zoo::nn::save_safetensors(dir / "tensors.safetensors", sample_tensors(), {{"format", "pt"}, {"note", "a seed"}});
  zoo::nn::save_safetensors(dir / "no-tensors.safetensors", {});
  zoo::nn::StateDict one;
  one.insert("w", zoo::tensor({1.0, 2.0}));
  zoo::nn::save_safetensors(dir / "one.safetensors", one);
}

void checkpoint_seeds(const fs::path& dir) {
  zoo::nn::Checkpoint ck;
  ck.model.insert("fc.weight", zoo::tensor({{1.0, 2.0}, {3.0, 4.0}}));
  ck.optimizer.insert("state.0.exp_avg", zoo::tensor({0.1, 0.2}));
  ck.optimizer.insert("state.0.step", zoo::tensor({5.0}, zoo::kFloat64));
  ck.extra.insert("h", zoo::tensor({0.0}));
  ck.step = 5;
  ck.epoch = 1;
  ck.generators["default"] = zoo::Generator(3).get_state();
  ck.metadata["config"] = R"({"lr":0.001})";
  zoo::nn::save_checkpoint(dir / "checkpoint.safetensors", ck);
  zoo::nn::save_checkpoint(dir / "empty.safetensors", zoo::nn::Checkpoint{});
}

void bpe_model_seeds(const fs::path& dir) {
  bpe::TrainOptions options;
  options.vocab_size = 256 + 24 + 1;
  options.special_tokens = {"<|endoftext|>"};
  options.threads = 1;
  const bpe::Tokenizer trained = bpe::train(kText, options).tokenizer;
  bpe::save_tokenizer(trained, dir / "trained.zoo-bpe");
  write_gzip(dir / "trained.zoo-bpe.gz", bpe::tokenizer_to_text(trained));
  bpe::save_tokenizer(bpe::Tokenizer(), dir / "bytes-only.zoo-bpe");
  // GPT-2's byte order and pattern, two merges: the "bytes" line with 256 ids.
  const std::vector<bpe::Merge> merges = {{bpe::gpt2_byte_ids()['t'], bpe::gpt2_byte_ids()['h']},
                                          {256, bpe::gpt2_byte_ids()['e']}};
  bpe::save_tokenizer(bpe::Tokenizer(merges, std::string(bpe::kGpt2Pattern), {{"<|endoftext|>", 258}},
                                     bpe::gpt2_byte_ids()),
                      dir / "gpt2-order.zoo-bpe");
}

void bpe_encode_seeds(const fs::path& dir) {
  write_text(dir / "english.txt", kText);
  write_text(dir / "special.txt", "one<|endoftext|>two <|endoftext|><|endoftext|>\n");
  write_text(dir / "mixed-bytes.txt", std::string("tabs\tand\r\nCRLF, NUL \0 and \xff\xfe invalid UTF-8, ünï\n", 48));
  write_text(dir / "long-word.txt", std::string(300, 'a') + " " + std::string(100, 'e'));
  write_gzip(dir / "english.txt.gz", kText);
}

void gpt2_vocab_seeds(const fs::path& dir) {
  const std::string vocab(zoo::fuzz::kTinyGpt2VocabBpe);
  write_text(dir / "vocab.bpe", vocab);
  write_gzip(dir / "vocab.bpe.gz", vocab);
  write_text(dir / "version-only.bpe", "#version: 0.2\n");
  // Saved on Windows, with blank lines and no newline at the end.
  write_text(dir / "crlf-blank-lines.bpe", "#version: 0.2\r\n\xc4\xa0 t\r\n\r\nh e\r\n\n\xc4\xa0t he");
}

/// `encoder.json` for the tiny vocabulary: every id, as GPT-2 writes it, and a sample.
void gpt2_encoder_seeds(const fs::path& dir) {
  const bpe::Tokenizer tiny = bpe::gpt2_from_vocab_bpe(zoo::fuzz::kTinyGpt2VocabBpe, "tiny vocab.bpe");
  nlohmann::json encoder = nlohmann::json::object();
  for (bpe::TokenId id = 0; id + 1 < tiny.vocab_size(); ++id) encoder[bpe::gpt2_token_string(tiny.token_bytes(id))] = id;
  encoder["<|endoftext|>"] = tiny.vocab_size() - 1;
  write_text(dir / "encoder.json", encoder.dump());
  write_gzip(dir / "encoder.json.gz", encoder.dump());
  write_text(dir / "sample.json", nlohmann::json{{"\xc4\xa0the", 262}, {"ing", 278}, {"!", 0}}.dump(1));
  write_text(dir / "empty.json", "{}");
}

w2v::WordVectors sample_vectors() {
  w2v::WordVectors v;
  v.words = {"the", ",", "jury", "café", "x-ray"};
  v.dim = 3;
  v.values = {0.1f, -0.2f, 0.3f, 1e-30f, -3.4e38f, 0.0f, 1, 2, 3, 0.5f, 0.25f, 0.125f, -1, -2, -3};
  return v;
}

void word2vec_vectors_seeds(const fs::path& dir) {
  w2v::save_vectors(dir / "vectors.txt", sample_vectors(), w2v::VectorFormat::text);
  w2v::save_vectors(dir / "vectors.bin", sample_vectors(), w2v::VectorFormat::binary);
}

/// Files in the formats of WordSim-353 and `questions-words.txt`, in the words of the
/// target's vectors (man, woman, king, queen, paris, france, apple, Apple, pear, zero).
void word2vec_eval_seeds(const fs::path& dir) {
  write_text(dir / "wordsim.tsv",
             "# Word 1\tWord 2\tHuman (mean)\nking\tqueen\t8.58\nman\twoman\t8.3\nApple\tpear\t7.5\n"
             "paris\tfrance\t9.0\nking\tapple\t0.92\nman\tbanana\t1.5\nzero\tking\t2\n");
  write_text(dir / "questions.txt",
             ": royal\nman king woman queen\nwoman queen man king\nman king woman banana\n"
             ": capital\nfrance paris FRANCE PARIS\n: fruit\napple pear man woman\nApple pear\n");
  write_text(dir / "crlf.tsv", "KING\tQUEEN\t1e1\r\nman\t woman \t-0.5\r\n");
}

void text_corpus_seeds(const fs::path& dir) {
  write_text(dir / "sentences.txt", kText);
  write_text(dir / "one-word.txt", "word\n");
  write_text(dir / "blank-lines.txt", "\n\n  \t \n a b\r\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR   (fuzz/corpus, from the top of the repository)\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  const auto folder = [&](const char* target) {
    fs::create_directories(corpus / target);
    return corpus / target;
  };
  idx_seeds(folder("idx"));
  safetensors_seeds(folder("safetensors"));
  checkpoint_seeds(folder("checkpoint"));
  bpe_model_seeds(folder("bpe_model"));
  bpe_encode_seeds(folder("bpe_encode"));
  gpt2_vocab_seeds(folder("gpt2_vocab"));
  gpt2_encoder_seeds(folder("gpt2_encoder"));
  word2vec_vectors_seeds(folder("word2vec_vectors"));
  word2vec_eval_seeds(folder("word2vec_eval"));
  text_corpus_seeds(folder("text_corpus"));
  std::printf("fuzz_make_seeds: wrote the valid seeds under %s\n", corpus.c_str());
  return 0;
}
