// Tutorial 08: a byte-level BPE tokenizer. Why bytes; pre-tokenization with a regex; the
// merges learned by hand on a word small enough to follow; the plain trainer and the
// efficient one, merge for merge; encoding, decoding and special tokens; the tokens of
// the Brown corpus; GPT-2's own tokenizer loaded into zoo; the model file. Read
// README.md alongside.
//
// Run: ./tutorial_08_bpe   (trains on the Brown corpus in data/brown, if
// data/fetch_brown.sh has put it there; CTest runs it with --quick, which uses the 40
// sentences of tests/data/bpe/brown_sample.txt, in well under a second)

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "lesson.h"
#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"
#include "models/bpe/reference_trainer.h"
#include "models/bpe/trainer.h"

using namespace zoo::models::bpe;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = ZOO_SOURCE_DIR;

/// A token as the model file and `zoo bpe show` write it: "\" the\"".
std::string as_token(std::string_view bytes) {
  std::string s = "\"";
  s.append(escape_bytes(bytes)).append("\"");  // append, not +: GCC 12 warns falsely (-Wrestrict)
  return s;
}

/// Ids as the tokens they stand for: ["The", " jury", " said"].
std::string show_tokens(const Tokenizer& t, const std::vector<TokenId>& ids) {
  std::vector<std::string> parts;
  for (const TokenId id : ids) parts.push_back(as_token(t.token_bytes(id)));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// 8.1 Why bytes
// ---------------------------------------------------------------------------

void why_bytes(lesson::Lesson& lesson) {
  lesson.section("8.1 Why bytes");
  const std::string text = "café 👍";
  std::vector<int> bytes;
  for (const char c : text) bytes.push_back(static_cast<unsigned char>(c));
  fmt::print("\"{}\" is {} characters but {} bytes of UTF-8: {}\n", text, 6, text.size(), bytes);

  // With no merges at all, a tokenizer's tokens are the 256 byte values.
  const Tokenizer bytes_only;
  const auto ids = bytes_only.encode(text);
  fmt::print("tokens of the bare byte vocabulary: {}\n", ids);
  lesson.check(ids == std::vector<TokenId>(bytes.begin(), bytes.end()), "with no merges, token id = byte value");

  // Any byte string has an encoding, even one that is not text at all.
  const std::string binary = std::string("\xff\xfe", 2) + '\0' + "\xc3";
  lesson.check(bytes_only.decode(bytes_only.encode(binary)) == binary,
               "invalid UTF-8 and NUL bytes encode and decode back exactly: no unknown token");
}

// ---------------------------------------------------------------------------
// 8.2 Pre-tokenization
// ---------------------------------------------------------------------------

void pretokenization(lesson::Lesson& lesson) {
  lesson.section("8.2 Pre-tokenization");
  const std::string text = "The jury's 12345 votes,  it said.\nI'LL go";
  const Pretokenizer gpt4, gpt2{std::string(kGpt2Pattern)};
  std::vector<std::string> a, b;
  for (const auto c : gpt4.chunks(text)) a.push_back(as_token(c));
  for (const auto c : gpt2.chunks(text)) b.push_back(as_token(c));
  fmt::print("GPT-4 pattern: {}\n", fmt::join(a, " "));
  fmt::print("GPT-2 pattern: {}\n", fmt::join(b, " "));
  lesson.check(std::find(a.begin(), a.end(), "\"123\"") != a.end() &&
                   std::find(b.begin(), b.end(), "\" 12345\"") != b.end(),
               "GPT-4 cuts numbers into runs of at most 3 digits; GPT-2 keeps them whole");
  lesson.check(std::find(a.begin(), a.end(), "\"'LL\"") != a.end(),
               "GPT-4's contractions ignore case: 'LL is one chunk");
}

// ---------------------------------------------------------------------------
// 8.3 Learning merges by hand
// ---------------------------------------------------------------------------

void merges_by_hand(lesson::Lesson& lesson) {
  lesson.section("8.3 Learning merges by hand");
  // One chunk, so the whole story fits on a screen. Token ids start as the bytes.
  std::vector<TokenId> ids;
  for (const char c : std::string("aaabdaaabac")) ids.push_back(c);
  std::map<TokenId, std::string> name = {{'a', "a"}, {'b', "b"}, {'c', "c"}, {'d', "d"}};
  const std::vector<std::string> new_names = {"Z", "Y", "X"};
  std::vector<Merge> merges;
  for (int step = 0; step < 3; ++step) {
    std::string word;
    for (const TokenId id : ids) word += name[id] + " ";
    // Count every adjacent pair.
    std::map<std::pair<TokenId, TokenId>, std::int64_t> counts;
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) ++counts[{ids[i], ids[i + 1]}];
    std::vector<std::string> shown;
    Merge best{0, 0};
    std::int64_t best_count = 0;
    for (const auto& [pair, count] : counts) {
      shown.push_back(fmt::format("{}{}:{}", name[pair.first], name[pair.second], count));
      if (chosen_before(count, {pair.first, pair.second}, best_count, best)) {
        best = {pair.first, pair.second};
        best_count = count;
      }
    }
    const auto merged = static_cast<TokenId>(256 + step);
    name[merged] = new_names[step];
    fmt::print("{:<22} pairs {:<36} merge {}{} -> {} (id {})\n", word, fmt::format("{}", fmt::join(shown, " ")), name[best.left],
               name[best.right], name[merged], merged);
    merge_pair(ids, best, merged);
    merges.push_back(best);
  }
  std::string word;
  for (const TokenId id : ids) word += name[id] + " ";
  fmt::print("{}\n", word);
  const std::vector<Merge> expected = {{'a', 'a'}, {'a', 'b'}, {256, 257}};
  lesson.check(merges == expected, "aa -> Z, then ab -> Y (a tie with Za, broken by the smaller ids), then ZY -> X");
  lesson.check(learn_merges({{"aaabdaaabac", 1}}, 10) == expected,
               "the efficient trainer learns the same three merges, then stops: every pair left occurs once");
}

// ---------------------------------------------------------------------------
// 8.4 The efficient trainer
// ---------------------------------------------------------------------------

/// The training text: the Brown corpus if it is there (and not --quick), else the sample.
struct Corpus {
  std::string train, valid;
  bool real = false;
};

Corpus load_corpus(const lesson::Lesson& lesson) {
  const fs::path sample = kSource / "tests" / "data" / "bpe" / "brown_sample.txt";
  if (!lesson.quick()) {
    for (const fs::path& dir : {fs::path("data") / "brown", kSource / "data" / "brown"})
      if (fs::exists(dir / "train.txt") && fs::exists(dir / "valid.txt"))
        return {read_file_bytes(dir / "train.txt"), read_file_bytes(dir / "valid.txt"), true};
    fmt::print(
        "The Brown corpus is not in data/brown. To fetch it (2.9 MB, checked against its sha256),\n"
        "run\n\n    data/fetch_brown.sh\n\nfrom the repository's top folder, then run this program "
        "again. Until then, the lesson\nruns on the 40 sentences of {}.\n",
        sample.string());
  }
  const std::string text = read_file_bytes(sample);
  const std::size_t cut = text.find('\n', text.size() * 3 / 4) + 1;  // the last quarter held out
  return {text.substr(0, cut), text.substr(cut), false};
}

void efficient_trainer(lesson::Lesson& lesson, const Corpus& corpus) {
  lesson.section("8.4 The efficient trainer");
  const Pretokenizer gpt4;
  const auto chunks = count_chunks(corpus.train, gpt4);
  std::int64_t total = 0;
  for (const auto& c : chunks) total += c.count;
  const auto& top = *std::max_element(chunks.begin(), chunks.end(),
                                      [](const ChunkCount& a, const ChunkCount& b) { return a.count < b.count; });
  fmt::print("{} bytes of text: {} chunks, {} distinct; the most frequent is {} ({} times)\n", corpus.train.size(),
             total, chunks.size(), as_token(top.bytes), top.count);

  // The plain trainer reads every chunk at every merge; compare on a budget it can afford.
  const std::int64_t merges = corpus.real ? 200 : 300;
  auto start = std::chrono::steady_clock::now();
  const auto slow = reference_learn_merges(chunks, merges);
  const double slow_s = seconds_since(start);
  start = std::chrono::steady_clock::now();
  const auto fast = learn_merges(chunks, merges);
  const double fast_s = seconds_since(start);
  fmt::print("{} merges: reference trainer {:.3f} s, efficient trainer {:.3f} s\n", slow.size(), slow_s, fast_s);
  lesson.check(slow == fast, "the two trainers make the same merges in the same order");
}

// ---------------------------------------------------------------------------
// 8.5 Encoding, decoding, special tokens; 8.6 the tokens of Brown
// ---------------------------------------------------------------------------

Tokenizer tokens_of_brown(lesson::Lesson& lesson, const Corpus& corpus) {
  lesson.section("8.5 The tokens of Brown");
  TrainOptions options;
  options.vocab_size = corpus.real ? 8192 : 256 + 400 + 1;
  options.special_tokens = {"<|endoftext|>"};
  options.min_count = corpus.real ? 2 : 1;
  const auto start = std::chrono::steady_clock::now();
  const TrainResult r = train(corpus.train, options);
  const Tokenizer& t = r.tokenizer;
  fmt::print("trained a vocabulary of {} ({} merges) in {:.2f} s\n", t.vocab_size(), t.merges().size(),
             seconds_since(start));
  const auto show = [&](std::size_t from, std::size_t to) {
    for (std::size_t r = from; r < to; ++r) {
      const Merge m = t.merges()[r];
      fmt::print("  {:>5} {:<16} = {} + {}\n", 256 + r, as_token(t.token_bytes(static_cast<TokenId>(256 + r))),
                 as_token(t.token_bytes(m.left)), as_token(t.token_bytes(m.right)));
    }
  };
  fmt::print("the first merges:\n");
  show(0, 12);
  fmt::print("the last merges:\n");
  show(t.merges().size() - 8, t.merges().size());

  const std::size_t end = corpus.valid.find('\n') + 1;
  const std::string sentence = corpus.valid.substr(0, end);
  const auto ids = t.encode(sentence);
  fmt::print("a held-out sentence, {} bytes -> {} tokens:\n{}\n", sentence.size(), ids.size(), show_tokens(t, ids));
  const auto valid_ids = t.encode(corpus.valid);
  const double bytes_per_token = static_cast<double>(corpus.valid.size()) / static_cast<double>(valid_ids.size());
  fmt::print("held-out text: {} bytes -> {} tokens, {:.2f} bytes per token\n", corpus.valid.size(), valid_ids.size(),
             bytes_per_token);
  lesson.check(bytes_per_token > (corpus.real ? 3.8 : 2.0), "merges compress: several bytes per token");
  lesson.check(t.decode(valid_ids) == corpus.valid && t.decode(t.encode(corpus.train)) == corpus.train,
               "decode(encode(text)) == text, byte for byte, on all the text");

  // Special tokens: refused unless allowed, then one atomic id.
  const std::string doc = "The end.<|endoftext|>";
  const std::string error = lesson.expect_error([&] { t.encode(doc); });
  lesson.check(lesson::contains(error, "special token '<|endoftext|>' at byte 8"), "refused by default, saying where");
  const auto allowed = t.encode(doc, {.specials = SpecialPolicy::allow});
  fmt::print("allowed: {}\n", show_tokens(t, allowed));
  lesson.check(allowed.back() == t.special_tokens()[0].id, "allowed, <|endoftext|> is one token");
  return t;
}

// ---------------------------------------------------------------------------
// 8.7 GPT-2's tokenizer; 8.8 the model file
// ---------------------------------------------------------------------------

void gpt2_tokenizer(lesson::Lesson& lesson) {
  lesson.section("8.6 GPT-2's tokenizer");
  const Tokenizer gpt2 = load_gpt2(kSource / "tests" / "data" / "bpe" / "gpt2_vocab.bpe.gz");
  const std::string text = "Hello world, I'm here.";
  const auto ids = gpt2.encode(text);
  fmt::print("GPT-2: {} merges, vocabulary {}\n\"{}\" -> {}\n{}\n", gpt2.merges().size(), gpt2.vocab_size(), text, ids,
             show_tokens(gpt2, ids));
  lesson.check(ids == std::vector<TokenId>{15496, 995, 11, 314, 1101, 994, 13}, "the ids GPT-2 gives this text");
  const fs::path encoder = kSource / "data" / "gpt2" / "encoder.json";
  if (!lesson.quick() && fs::exists(encoder)) {
    check_gpt2_encoder_file(gpt2, encoder, true);
    lesson.check(true, "all 50,257 ids agree with GPT-2's encoder.json");
  }
}

void model_file(lesson::Lesson& lesson, const Tokenizer& t) {
  lesson.section("8.7 The model file");
  const std::string file = tokenizer_to_text(t);
  std::size_t pos = 0;
  for (int line = 0; line < 9; ++line) pos = file.find('\n', pos) + 1;
  fmt::print("{}...\n{}", file.substr(0, pos), file.substr(file.rfind("special")));
  lesson.check(tokenizer_from_text(file, "model").merges() == t.merges(), "the file loads back to the same merges");
  const std::string damaged = file.substr(0, pos) + "1 2 \"oops\"\n";
  const std::string error = lesson.expect_error([&] { tokenizer_from_text(damaged, "model"); });
  lesson.check(lesson::contains(error, "model:10:"), "a damaged file is refused with its line number");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    why_bytes(lesson);
    pretokenization(lesson);
    merges_by_hand(lesson);
    const Corpus corpus = load_corpus(lesson);
    efficient_trainer(lesson, corpus);
    const Tokenizer t = tokens_of_brown(lesson, corpus);
    gpt2_tokenizer(lesson);
    model_file(lesson, t);
  });
}
