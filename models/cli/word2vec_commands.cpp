/// @file word2vec_commands.cpp
/// @brief `zoo word2vec train|neighbors|analogy|eval`: word vectors on the command line.

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/parallel.h"
#include "models/cli/commands.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/word2vec/evaluate.h"
#include "models/word2vec/train.h"
#include "models/word2vec/vectors_io.h"

namespace zoo::cli {
namespace {
namespace w2v = models::word2vec;
namespace fs = std::filesystem;

constexpr const char* kDefaultInput = "data/brown/train.txt";
constexpr const char* kDefaultVectors = "runs/word2vec/vectors.bin";

/// Words of the progress line's one step.
constexpr std::int64_t kWordsPerStep = 10000;

void add_train(CLI::App& parent) {
  struct Options {
    std::string input = kDefaultInput;
    std::string out = kDefaultVectors;
    std::string format = "auto";
    w2v::TrainOptions train;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  w2v::TrainOptions& t = o->train;
  CLI::App* cmd = parent.add_subcommand("train", "Learn word vectors from a text file (one sentence a line)");
  cmd->add_option("--input", o->input, "Plain text, one sentence a line, words separated by spaces")->capture_default_str();
  cmd->add_option("--out", o->out, "Where to write the vectors; metrics.jsonl goes in the same folder")
      ->capture_default_str();
  cmd->add_option("--format", o->format, "text, binary, or auto: binary if --out ends in .bin")->capture_default_str();
  cmd->add_flag("--cbow", t.cbow, "CBOW instead of skip-gram");
  cmd->add_option("--dim", t.dim, "Size of the vectors")->capture_default_str();
  cmd->add_option("--window", t.window, "Largest distance to a context word")->capture_default_str();
  cmd->add_option("--negative", t.negative, "Negative samples per pair (0: no negative sampling)")->capture_default_str();
  cmd->add_flag("--hs", t.hs, "Hierarchical softmax (with --negative 0 for it alone)");
  cmd->add_option("--min-count", t.min_count, "Drop words seen fewer times")->capture_default_str();
  cmd->add_option("--sample", t.sample, "Sub-sampling threshold for frequent words (0: off)")->capture_default_str();
  cmd->add_option("--epochs", t.epochs, "Passes over the text")->capture_default_str();
  cmd->add_option("--alpha", t.alpha, "Starting learning rate (default: 0.025 skip-gram, 0.05 CBOW)");
  cmd->add_option("--seed", t.seed, "Seed of the starting vectors and the random draws")->capture_default_str();
  cmd->add_option("--threads", t.threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->callback([o] {
    w2v::TrainOptions options = o->train;
    if (options.threads > 0) set_num_threads(options.threads);
    options.threads = num_threads();
    const auto format = o->format == "auto" ? (fs::path(o->out).extension() == ".bin" ? w2v::VectorFormat::binary
                                                                                       : w2v::VectorFormat::text)
                                            : w2v::parse_format_name(o->format).value();
    w2v::check_options(options);
    ZOO_CHECK(fs::exists(o->input), "zoo word2vec train: no input file '{}'{}", o->input,
              o->input == kDefaultInput ? " (fetch the Brown corpus with data/fetch_brown.sh)" : "");
    const std::string text = w2v::read_text_file(o->input);
    const fs::path out_dir = fs::path(o->out).has_parent_path() ? fs::path(o->out).parent_path() : fs::path(".");
    models::MetricsWriter metrics(out_dir.string());

    // The progress line counts steps of 10,000 corpus words; the trainer reports about
    // that often, from its first thread.
    std::unique_ptr<models::ProgressLine> progress;
    std::int64_t last_step = 0, last_words = 0, last_percent = 0;
    options.on_progress = [&](const w2v::TrainProgress& p) {
      if (!progress)
        progress = std::make_unique<models::ProgressLine>(
            "word2vec train", (p.words_total + kWordsPerStep - 1) / kWordsPerStep, 100, o->quiet ? nullptr : stderr);
      const std::int64_t step = std::min(p.words_done / kWordsPerStep, (p.words_total + kWordsPerStep - 1) / kWordsPerStep);
      for (std::int64_t s = last_step + 1; s <= step; ++s) {
        const std::int64_t words = s == step ? p.words_done - last_words : 0;
        progress->update(s, words, fmt::format("lr {:.5f}", p.alpha));
      }
      // metrics.jsonl: a record each time the run passes another 1% of its words.
      const std::int64_t percent = 100 * p.words_done / std::max<std::int64_t>(1, p.words_total);
      if (percent > last_percent) {
        metrics.write({{"words_done", p.words_done}, {"words_total", p.words_total}, {"alpha", p.alpha},
                       {"seconds", p.seconds}, {"words_per_second", p.words_done / std::max(p.seconds, 1e-9)}});
        last_percent = percent;
      }
      if (step > last_step) last_words = p.words_done;
      last_step = std::max(last_step, step);
    };
    const w2v::TrainResult r = w2v::train(text, options, "'" + o->input + "'");
    if (progress) progress->finish(fmt::format("{} words, vocabulary {}", r.stats.words_done, r.vocab.size()));

    w2v::save_vectors(o->out, {r.vocab.words(), r.model.dim, r.model.input}, format);
    const nlohmann::json summary{{"vectors", o->out},
                                      {"format", format == w2v::VectorFormat::binary ? "binary" : "text"},
                                      {"vocab_size", r.vocab.size()},
                                      {"dim", r.model.dim},
                                      {"raw_words", r.raw_words},
                                      {"corpus_words", r.corpus_words},
                                      {"words_done", r.stats.words_done},
                                      {"words_trained", r.stats.words_trained},
                                      {"epochs", options.epochs},
                                      {"prepare_seconds", r.prepare_seconds},
                                      {"seconds", r.stats.seconds},
                                      {"words_per_second", r.words_per_second(options.epochs)},
                                      {"threads", r.stats.threads}};
    metrics.write(summary);
    fmt::print("{}\n", summary.dump());
  });
}

void print_neighbors(const std::vector<w2v::Neighbor>& list) {
  for (std::size_t i = 0; i < list.size(); ++i) fmt::print("{:>3}  {:<24} {:.4f}\n", i + 1, list[i].word, list[i].similarity);
}

/// What `neighbors` and `analogy` answer with: the loaded vectors, the words, how many answers.
using Query = std::function<void(const w2v::CosineIndex&, const std::vector<std::string>&, std::int64_t)>;

/// A command that loads a vectors file and answers a question about some words:
/// `words` of them (-1: one or more).
void add_query(CLI::App& parent, const char* name, const char* help, const char* words_help, int words,
               Query answer) {
  struct Options {
    std::string vectors = kDefaultVectors;
    std::vector<std::string> words;
    std::int64_t top = 10;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->add_option("--vectors", o->vectors, "A word2vec file, text or binary")->capture_default_str();
  cmd->add_option("--top,-k", o->top, "How many answers")->capture_default_str();
  CLI::Option* w = cmd->add_option("words", o->words, words_help)->required();
  if (words > 0) w->expected(words);
  cmd->callback([o, answer] { answer(w2v::CosineIndex(w2v::load_vectors(o->vectors)), o->words, o->top); });
}

void add_neighbors(CLI::App& parent) {
  add_query(parent, "neighbors", "The nearest words by cosine similarity", "One or more words", -1,
            [](const w2v::CosineIndex& index, const std::vector<std::string>& words, std::int64_t top) {
              for (std::size_t i = 0; i < words.size(); ++i) {
                const auto list = index.neighbors(words[i], top);  // an unknown word fails before printing
                fmt::print("{}{}:\n", i == 0 ? "" : "\n", words[i]);
                print_neighbors(list);
              }
            });
}

void add_analogy(CLI::App& parent) {
  add_query(parent, "analogy", "a is to b as c is to ? (3CosAdd: the nearest to b - a + c)", "a b c", 3,
            [](const w2v::CosineIndex& index, const std::vector<std::string>& w, std::int64_t top) {
              fmt::print("{} is to {} as {} is to:\n", w[0], w[1], w[2]);
              print_neighbors(index.analogy(w[0], w[1], w[2], top));
            });
}

void add_eval(CLI::App& parent) {
  struct Options {
    std::string vectors = kDefaultVectors;
    std::string similarity, analogies;
    w2v::EvalOptions eval;
    bool case_sensitive = false;
    bool sections = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(
      "eval", "Score vectors on a word-similarity file (Spearman) and an analogy file (accuracy), as gensim does");
  cmd->add_option("--vectors", o->vectors, "A word2vec file, text or binary")->capture_default_str();
  cmd->add_option("--similarity", o->similarity, "Word pairs with human scores: word1 TAB word2 TAB score (WordSim-353)");
  cmd->add_option("--analogies", o->analogies, "Analogy questions in the questions-words.txt format");
  cmd->add_option("--restrict-vocab", o->eval.restrict_vocab, "Only the N most frequent words take part (0: all)")
      ->capture_default_str();
  cmd->add_flag("--case-sensitive", o->case_sensitive, "Compare words as spelled (default: in upper case, as gensim)");
  cmd->add_flag("--sections", o->sections, "Print the analogy accuracy of every section");
  cmd->callback([o] {
    ZOO_CHECK(!o->similarity.empty() || !o->analogies.empty(),
              "zoo word2vec eval: give --similarity FILE, --analogies FILE, or both");
    o->eval.case_insensitive = !o->case_sensitive;
    const w2v::CosineIndex index(w2v::load_vectors(o->vectors));
    nlohmann::json out{{"vectors", o->vectors}, {"words", index.size()}, {"dim", index.dim()}};
    if (!o->similarity.empty()) {
      const auto s = w2v::evaluate_word_pairs(index, w2v::read_text_file(o->similarity), o->similarity, o->eval);
      fmt::print(stderr, "{}: Spearman {:.4f}, Pearson {:.4f} on {} pairs ({} pairs out of vocabulary, {:.1f}%)\n",
                 o->similarity, s.spearman, s.pearson, s.pairs, s.oov, s.oov_percent());
      out["similarity"] = {{"file", o->similarity}, {"spearman", s.spearman}, {"pearson", s.pearson},
                           {"pairs", s.pairs}, {"oov", s.oov}};
    }
    if (!o->analogies.empty()) {
      const auto a = w2v::evaluate_analogies(index, w2v::read_text_file(o->analogies), o->analogies, o->eval);
      if (o->sections)
        for (const auto& s : a.sections)
          fmt::print(stderr, "  {:<28} {:6.2f}%  ({} of {}; {} out of vocabulary)\n", s.name, 100 * s.accuracy(),
                     s.correct, s.correct + s.incorrect, s.oov);
      fmt::print(stderr, "{}: accuracy {:.2f}% ({} of {} answered; {} questions out of vocabulary, {:.1f}%)\n",
                 o->analogies, 100 * a.total.accuracy(), a.total.correct, a.total.correct + a.total.incorrect,
                 a.total.oov, a.oov_percent());
      nlohmann::json sections = nlohmann::json::array();
      for (const auto& s : a.sections)
        sections.push_back({{"name", s.name}, {"correct", s.correct}, {"incorrect", s.incorrect}, {"oov", s.oov}});
      out["analogies"] = {{"file", o->analogies}, {"accuracy", a.total.accuracy()}, {"correct", a.total.correct},
                          {"answered", a.total.correct + a.total.incorrect}, {"oov", a.total.oov},
                          {"sections", sections}};
    }
    fmt::print("{}\n", out.dump());
  });
}

}  // namespace

void add_word2vec_commands(CLI::App& app) {
  CLI::App* w = app.add_subcommand(
      "word2vec", "Word vectors: skip-gram and CBOW (zoo word2vec train|neighbors|analogy|eval --help)");
  w->require_subcommand(1);
  add_train(*w);
  add_neighbors(*w);
  add_analogy(*w);
  add_eval(*w);
}

}  // namespace zoo::cli
